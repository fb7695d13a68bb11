//! `css_decode`: CSS escapes (CSS Syntax Level 3, section 4.3.7).
//!
//! # Reference
//! ```text
//! transform css_decode, lowercase
//! ```
//! - `\` followed by 1 to 6 hex digits is that code point; one whitespace
//!   character right after the digits ends the escape and is consumed (`\r\n`
//!   counts as one): `\6a avascript` is `javascript`, `\00006a` is `j`.
//! - The code point is written as **UTF-8** (`\e9` is `C3 A9`), as a browser
//!   reads it. ModSecurity keeps only the low byte, which makes `\16a` a `j`
//!   that no browser sees. Full-width ASCII U+FF01..=U+FF5E folds to ASCII as
//!   in `url_decode_uni`; U+0000 is a NUL byte (CSS says U+FFFD; a NUL lets
//!   `remove_nulls` see it and keeps `\0` within its 2 bytes); a surrogate or a
//!   value above U+10FFFF is U+FFFD, as CSS says.
//! - `\` followed by a newline (`\n`, `\r\n`, `\r` or `\f`) is removed: a line
//!   continuation inside a string.
//! - `\` followed by any other byte `c` is `c` (`\"` is `"`, `\\` is `\`).
//!
//! # Edge cases
//! - A `\` at the end of the input is kept.
//! - More than 6 hex digits: the 7th starts ordinary text (`\0000410` is
//!   `A0`).
//! - Fast path: input without `\` is returned unchanged (`false`).
//! - Output length <= input length (n hex digits name a code point needing at
//!   most n UTF-8 bytes, and U+FFFD's 3 bytes only come from 4 or more
//!   digits).

use super::common::{decode_backslash_escapes, leading_digits, push_code_point};

/// `css_decode`.
pub(super) fn css_decode(input: &[u8], out: &mut Vec<u8>) -> bool {
    if !input.contains(&b'\\') {
        return false;
    }
    decode(input, out);
    true
}

/// Decodes all of `input` into `out`.
pub(super) fn decode(input: &[u8], out: &mut Vec<u8>) {
    decode_backslash_escapes(input, out, escape);
}

/// Decodes the escape whose body starts `s` (just after `\`; not empty) into
/// `out`; returns how many bytes of `s` it used (at least 1).
fn escape(s: &[u8], out: &mut Vec<u8>) -> usize {
    let (cp, digits) = leading_digits(s, 16, 6);
    if digits > 0 {
        // U+0000 comes out as a NUL byte (see the module docs).
        push_code_point(out, cp);
        let space = match (s.get(digits), s.get(digits + 1)) {
            (Some(b'\r'), Some(b'\n')) => 2,
            (Some(b' ' | b'\t' | b'\n' | b'\r' | 0x0c), _) => 1,
            _ => 0,
        };
        return digits + space;
    }
    match (s[0], s.get(1)) {
        (b'\r', Some(b'\n')) => 2,
        (b'\n' | b'\r' | 0x0c, _) => 1,
        (c, _) => {
            out.push(c);
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::common::assert_table;

    #[test]
    fn decode_table() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"", b""),
            (b"color: red", b"color: red"),
            (br"\6a avascript", b"javascript"),
            (br"\6A\61", b"ja"),
            (br"\00006a", b"j"),
            (br"\0000410", b"A0"),
            (b"\\41\tB", b"AB"),
            (b"\\41\r\nB", b"AB"),
            (b"\\41\n\nB", b"A\nB"),
            (b"\\41  B", b"A B"),
            (br"\e9", "é".as_bytes()),
            (br"\16a", "\u{16a}".as_bytes()),
            (br"\ff1c", b"<"),
            (br"\0", b"\0"),
            (br"\d800", "\u{FFFD}".as_bytes()),
            (br"\110000", "\u{FFFD}".as_bytes()),
            (br"\10ffff", "\u{10FFFF}".as_bytes()),
            (br"\ffffff", "\u{FFFD}".as_bytes()),
            (b"a\\\nb", b"ab"),
            (b"a\\\r\nb", b"ab"),
            (b"a\\\rb", b"ab"),
            (b"a\\\x0cb", b"ab"),
            (br#"\"\'\\"#, br#""'\"#),
            (br"\g", b"g"),
            (br"\ ", b" "),
            (br"abc\", br"abc\"),
            (b"\\\xff", b"\xff"),
            (br"java\script", b"javascript"),
        ];
        assert_table(css_decode, cases);
    }
}
