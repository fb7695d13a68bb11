//! `trim`, `trim_left` and `trim_right`.
//!
//! # Reference
//! ```text
//! transform trim, lowercase
//! ```
//! - Drop whitespace at both ends (`trim`), at the start (`trim_left`), or at
//!   the end (`trim_right`). Whitespace is C's `isspace`: space, `\t`, `\n`,
//!   `\v`, `\f`, `\r`.
//!
//! # Edge cases
//! - NBSP (`A0`, `C2 A0`) and NUL are not trimmed (ModSecurity trims ASCII
//!   only); use `compress_whitespace` or `remove_nulls` first if needed.
//! - All-whitespace input becomes empty.
//! - Fast path: nothing to trim returns `false`; idempotent.

use super::common::is_space;

/// `trim`.
pub(super) fn trim(input: &[u8], out: &mut Vec<u8>) -> bool {
    trim_ends(input, out, true, true)
}

/// `trim_left`.
pub(super) fn trim_left(input: &[u8], out: &mut Vec<u8>) -> bool {
    trim_ends(input, out, true, false)
}

/// `trim_right`.
pub(super) fn trim_right(input: &[u8], out: &mut Vec<u8>) -> bool {
    trim_ends(input, out, false, true)
}

fn trim_ends(input: &[u8], out: &mut Vec<u8>, left: bool, right: bool) -> bool {
    if trimmed(input, left, right).len() == input.len() {
        return false;
    }
    copy_trimmed(input, out, left, right);
    true
}

/// Writes `input` trimmed at the chosen ends into `out`.
pub(super) fn copy_trimmed(input: &[u8], out: &mut Vec<u8>, left: bool, right: bool) {
    out.clear();
    out.extend_from_slice(trimmed(input, left, right));
}

fn trimmed(input: &[u8], left: bool, right: bool) -> &[u8] {
    let mut s = input;
    if left {
        let start = s.iter().position(|&b| !is_space(b)).unwrap_or(s.len());
        s = &s[start..];
    }
    if right {
        let end = s.iter().rposition(|&b| !is_space(b)).map_or(0, |i| i + 1);
        s = &s[..end];
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::common::run;

    #[test]
    fn trim_table() {
        // (input, trim, trim_left, trim_right)
        type Case = (&'static [u8], &'static [u8], &'static [u8], &'static [u8]);
        let cases: &[Case] = &[
            (b"", b"", b"", b""),
            (b"abc", b"abc", b"abc", b"abc"),
            (b"  a b  ", b"a b", b"a b  ", b"  a b"),
            (b"\t\r\n\x0b\x0cx\x0c\x0b\n\r\t", b"x", b"x\x0c\x0b\n\r\t", b"\t\r\n\x0b\x0cx"),
            (b" \t ", b"", b"", b""),
            (b"\xa0x\xa0", b"\xa0x\xa0", b"\xa0x\xa0", b"\xa0x\xa0"),
            (b"\x00 x \x00", b"\x00 x \x00", b"\x00 x \x00", b"\x00 x \x00"),
        ];
        for (input, both, left, right) in cases {
            let name = input.escape_ascii().to_string();
            assert_eq!(run(trim, input), *both, "trim {name}");
            assert_eq!(run(trim_left, input), *left, "trim_left {name}");
            assert_eq!(run(trim_right, input), *right, "trim_right {name}");
        }
    }
}
