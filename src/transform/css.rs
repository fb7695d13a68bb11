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

use super::common::{full_width_to_ascii, hex_val, push_utf8};

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
    out.clear();
    out.reserve(input.len());
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        match input.get(i + 1) {
            Some(_) if b == b'\\' => i += 1 + escape(&input[i + 1..], out),
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
}

/// Decodes the escape whose body starts `s` (just after `\`; not empty) into
/// `out`; returns how many bytes of `s` it used (at least 1).
fn escape(s: &[u8], out: &mut Vec<u8>) -> usize {
    let digits = s.iter().take(6).take_while(|b| hex_val(**b).is_some()).count();
    if digits > 0 {
        let cp = s[..digits].iter().fold(0u32, |cp, &b| (cp << 4) | u32::from(hex_val(b).unwrap_or(0)));
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

/// Writes the code point of a hex escape (see the module docs).
fn push_code_point(out: &mut Vec<u8>, cp: u32) {
    if cp == 0 {
        out.push(0);
    } else if let Some(b) = full_width_to_ascii(cp) {
        out.push(b);
    } else {
        push_utf8(out, cp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        if css_decode(input, &mut out) { out } else { input.to_vec() }
    }

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
        for (input, want) in cases {
            assert_eq!(run(input), *want, "{:?}", input.escape_ascii().to_string());
        }
    }
}
