//! `remove_nulls` and `replace_nulls`.
//!
//! # Reference
//! ```text
//! transform url_decode, remove_nulls
//! ```
//! - `remove_nulls` drops every NUL byte (`0x00`): `sel\0ect` is `select`.
//! - `replace_nulls` turns every NUL byte into a space (`0x20`).
//!
//! # Edge cases
//! - Only the byte `0x00` counts: the text `%00` or `\0` must be decoded first
//!   (`url_decode`, `js_decode`).
//! - Fast path: input without NUL is returned unchanged (`false`).
//! - `remove_nulls` is idempotent; output length <= input length.

/// `remove_nulls`.
pub(super) fn remove_nulls(input: &[u8], out: &mut Vec<u8>) -> bool {
    if !input.contains(&0) {
        return false;
    }
    remove(input, out);
    true
}

/// Writes `input` without NUL bytes into `out`.
pub(super) fn remove(input: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.extend(input.iter().copied().filter(|&b| b != 0));
}

/// `replace_nulls`.
pub(super) fn replace_nulls(input: &[u8], out: &mut Vec<u8>) -> bool {
    if !input.contains(&0) {
        return false;
    }
    replace(input, out);
    true
}

/// Writes `input` with NUL bytes as spaces into `out`.
pub(super) fn replace(input: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.extend(input.iter().map(|&b| if b == 0 { b' ' } else { b }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::common::run;

    #[test]
    fn nulls_table() {
        // (input, remove_nulls, replace_nulls)
        let cases: &[(&[u8], &[u8], &[u8])] = &[
            (b"", b"", b""),
            (b"select", b"select", b"select"),
            (b"sel\x00ect", b"select", b"sel ect"),
            (b"\x00\x00", b"", b"  "),
            (b"%00", b"%00", b"%00"),
            (b"\xff\x00\x80", b"\xff\x80", b"\xff \x80"),
        ];
        for (input, removed, replaced) in cases {
            let name = input.escape_ascii().to_string();
            assert_eq!(run(remove_nulls, input), *removed, "remove {name}");
            assert_eq!(run(replace_nulls, input), *replaced, "replace {name}");
        }
    }
}
