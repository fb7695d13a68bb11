//! `compress_whitespace` and `remove_whitespace`.
//!
//! # Reference
//! ```text
//! transform compress_whitespace, lowercase
//! transform remove_whitespace
//! ```
//! Whitespace is the ASCII set of C's `isspace` (space, `\t`, `\n`, `\v`,
//! `\f`, `\r`), the non-breaking space byte `A0` (Latin-1 NBSP, as in
//! ModSecurity), and the UTF-8 NBSP `C2 A0` as one unit (what
//! `html_entity_decode` writes for `&nbsp;`; ModSecurity would leave a stray
//! `C2`).
//! - `compress_whitespace`: each run of whitespace becomes one space, at the
//!   ends too (`  a \t b ` is ` a b `; trimming is `trim`'s job).
//! - `remove_whitespace`: every whitespace byte (or `C2 A0` pair) is dropped.
//!
//! # Edge cases
//! - A lone `A0` counts even inside a UTF-8 character (`à` is `C3 A0`, so
//!   `voilà` loses its `A0`): the transforms are byte-oriented, as in
//!   ModSecurity, and only ASCII matters to rule patterns.
//! - Fast path: input that would not change (no whitespace other than single
//!   spaces for `compress_whitespace`, none at all for `remove_whitespace`) is
//!   returned unchanged (`false`).
//! - Both are idempotent; output length <= input length.

use super::common::is_space;

/// Length of the whitespace unit at the start of `s`: 2 for UTF-8 NBSP, 1 for
/// a whitespace byte, 0 if `s` does not start with whitespace.
fn space_len(s: &[u8]) -> usize {
    match s {
        [0xC2, 0xA0, ..] => 2,
        [b, ..] if is_space(*b) || *b == 0xA0 => 1,
        _ => 0,
    }
}

/// `compress_whitespace`.
pub(super) fn compress_whitespace(input: &[u8], out: &mut Vec<u8>) -> bool {
    // Unchanged unless some whitespace byte is not a space, or two are
    // adjacent (`C2 A0` contains `A0`, which is not a space).
    let mut previous = false;
    let changes = input.iter().any(|&b| {
        let space = is_space(b) || b == 0xA0;
        let change = space && (b != b' ' || previous);
        previous = space;
        change
    });
    if !changes {
        return false;
    }
    compress(input, out);
    true
}

/// Writes `input` with whitespace runs compressed into `out`.
pub(super) fn compress(input: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.reserve(input.len());
    let mut i = 0;
    let mut in_run = false;
    while let Some(&b) = input.get(i) {
        match space_len(&input[i..]) {
            0 => {
                out.push(b);
                in_run = false;
                i += 1;
            }
            n => {
                if !in_run {
                    out.push(b' ');
                    in_run = true;
                }
                i += n;
            }
        }
    }
}

/// `remove_whitespace`.
pub(super) fn remove_whitespace(input: &[u8], out: &mut Vec<u8>) -> bool {
    if !input.iter().any(|&b| is_space(b) || b == 0xA0) {
        return false;
    }
    remove(input, out);
    true
}

/// Writes `input` without whitespace into `out`.
pub(super) fn remove(input: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.reserve(input.len());
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        match space_len(&input[i..]) {
            0 => {
                out.push(b);
                i += 1;
            }
            n => i += n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::common::run;

    #[test]
    fn whitespace_table() {
        // (input, compress_whitespace, remove_whitespace)
        let cases: &[(&[u8], &[u8], &[u8])] = &[
            (b"", b"", b""),
            (b"a b c", b"a b c", b"abc"),
            (b"  a \t b ", b" a b ", b"ab"),
            (b"a\r\n\x0b\x0cb", b"a b", b"ab"),
            (b"a\xa0b", b"a b", b"ab"),
            (b"a\xc2\xa0b", b"a b", b"ab"),
            (b"a\xc2\xc2\xa0b", b"a\xc2 b", b"a\xc2b"),
            (b"a\xc2 \xa0b", b"a\xc2 b", b"a\xc2b"),
            (b"\xc3\xa0", b"\xc3 ", b"\xc3"),
            (b"\xc2", b"\xc2", b"\xc2"),
            (b"\t", b" ", b""),
            (b"union\x0bselect", b"union select", b"unionselect"),
            (b"a\x00b", b"a\x00b", b"a\x00b"),
        ];
        for (input, compressed, removed) in cases {
            let name = input.escape_ascii().to_string();
            assert_eq!(run(compress_whitespace, input), *compressed, "compress {name}");
            assert_eq!(run(remove_whitespace, input), *removed, "remove {name}");
        }
    }
}
