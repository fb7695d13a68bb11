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

/// Whitespace bytes: C's `isspace` set and `A0`.
const WHITE: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] = matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0xA0);
        i += 1;
    }
    table
};

/// The first whitespace unit of `s`: its start and length (2 for the UTF-8
/// NBSP `C2 A0`, else 1). A `C2` is not whitespace alone, so it sits in the
/// run of other bytes before the `A0` it pairs with.
fn next_space(s: &[u8]) -> Option<(usize, usize)> {
    let at = s.iter().position(|&b| WHITE[usize::from(b)])?;
    Some(if s[at] == 0xA0 && at > 0 && s[at - 1] == 0xC2 { (at - 1, 2) } else { (at, 1) })
}

/// True when `input` has a whitespace byte that is not a space.
fn has_other_space(input: &[u8]) -> bool {
    memchr::memchr3(b'\t', b'\n', b'\r', input).is_some() || memchr::memchr3(0x0b, 0x0c, 0xA0, input).is_some()
}

/// `compress_whitespace`.
pub(super) fn compress_whitespace(input: &[u8], out: &mut Vec<u8>) -> bool {
    // Unchanged unless some whitespace byte is not a space, or two spaces are
    // adjacent (`C2 A0` contains `A0`, which is not a space).
    let changes = has_other_space(input) || memchr::memchr_iter(b' ', input).any(|i| input.get(i + 1) == Some(&b' '));
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
    let mut rest = input;
    // The last byte written is the space of a run.
    let mut in_run = false;
    while let Some((at, len)) = next_space(rest) {
        if at > 0 {
            out.extend_from_slice(&rest[..at]);
            in_run = false;
        }
        if !in_run {
            out.push(b' ');
            in_run = true;
        }
        rest = &rest[at + len..];
    }
    out.extend_from_slice(rest);
}

/// `remove_whitespace`.
pub(super) fn remove_whitespace(input: &[u8], out: &mut Vec<u8>) -> bool {
    if memchr::memchr(b' ', input).is_none() && !has_other_space(input) {
        return false;
    }
    remove(input, out);
    true
}

/// Writes `input` without whitespace into `out`.
pub(super) fn remove(input: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.reserve(input.len());
    let mut rest = input;
    while let Some((at, len)) = next_space(rest) {
        out.extend_from_slice(&rest[..at]);
        rest = &rest[at + len..];
    }
    out.extend_from_slice(rest);
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
