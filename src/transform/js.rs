//! `js_decode`: JavaScript string escapes.
//!
//! # Reference
//! ```text
//! transform js_decode, lowercase
//! ```
//! - `\xHH` is the byte `0xHH` (raw, as ModSecurity: `\xe9` is the byte E9,
//!   not UTF-8 `é`; the byte is what a WAF wants to see, and `\x00` stays a
//!   NUL).
//! - `\uHHHH` is the code point: full-width ASCII U+FF01..=U+FF5E folds to
//!   ASCII (as in `url_decode_uni`), any other is written as **UTF-8**
//!   (`\u00e9` is `C3 A9`; ModSecurity keeps only the low byte, which turns
//!   `\u013c` into `<`). A surrogate pair `\ud83d\ude00` is one UTF-8
//!   character; a lone surrogate is U+FFFD.
//! - `\u{H...}` (ES2015): any number of hex digits with a value <= 0x10FFFF,
//!   handled like `\uHHHH` (lone surrogates are U+FFFD).
//! - `\n \r \t \b \f \v` are the control characters; `\0` is NUL.
//! - Octal `\NNN`: one to three octal digits, as many as keep the value
//!   <= 0xFF (`\101` is `A`, `\400` is a space followed by `0`).
//! - Any other `\c` is `c` (`\'` is `'`, `\\` is `\`, `\q` is `q`), and so is a
//!   malformed `\x` or `\u` (`\x4` is `x4`, `\u12` is `u12`), as in JavaScript's
//!   non-strict mode and ModSecurity.
//!
//! # Edge cases
//! - A `\` at the end of the input is kept.
//! - Bytes that are not ASCII, after `\` too, are copied unchanged.
//! - Fast path: input without `\` is returned unchanged (`false`).
//! - Output length <= input length (every escape's value is shorter in UTF-8
//!   than its source text).

use super::common::{decode_backslash_escapes, hex_pair, hex4, leading_digits, octal, push_code_point, push_utf8};

/// `js_decode`.
pub(super) fn js_decode(input: &[u8], out: &mut Vec<u8>) -> bool {
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
    let c = s[0];
    let simple = match c {
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'b' => 0x08,
        b'f' => 0x0c,
        b'v' => 0x0b,
        b'x' => match hex_pair(&s[1..]) {
            Some(v) => {
                out.push(v);
                return 3;
            }
            None => c,
        },
        b'u' => match unicode(&s[1..], out) {
            Some(used) => return 1 + used,
            None => c,
        },
        b'0'..=b'7' => match octal(s) {
            Some((v, used)) => {
                out.push(v);
                return used;
            }
            None => c,
        },
        _ => c,
    };
    out.push(simple);
    1
}

/// `HHHH`, `HHHH\uHHHH` (a surrogate pair) or `{H...}` at the start of `s`
/// (just after `\u`): writes the character, returns the bytes of `s` used.
fn unicode(s: &[u8], out: &mut Vec<u8>) -> Option<usize> {
    if s.first() == Some(&b'{') {
        let (cp, digits) = leading_digits(&s[1..], 16, usize::MAX);
        if digits == 0 || s.get(1 + digits) != Some(&b'}') || cp > 0x10_FFFF {
            return None;
        }
        push_code_point(out, cp);
        return Some(digits + 2);
    }
    let cp = hex4(s)?;
    if (0xD800..=0xDBFF).contains(&cp)
        && s.get(4..6) == Some(b"\\u")
        && let Some(low @ 0xDC00..=0xDFFF) = hex4(&s[6..])
    {
        push_utf8(out, 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00));
        return Some(10);
    }
    push_code_point(out, cp);
    Some(4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::common::assert_table;

    #[test]
    fn decode_table() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"", b""),
            (b"plain", b"plain"),
            (br"\x41\x42", b"AB"),
            (br"\x3C\x3c", b"<<"),
            (br"\xe9", b"\xe9"),
            (br"\x4", b"x4"),
            (br"\xzz", b"xzz"),
            (br"\u0041", b"A"),
            (br"\uFF1C\uff1e", b"<>"),
            (br"\u00e9", "é".as_bytes()),
            (br"\u013c", "\u{13c}".as_bytes()),
            (br"\ud83d\ude00", "\u{1F600}".as_bytes()),
            (br"\ud83d", "\u{FFFD}".as_bytes()),
            (br"\ude00\ud83d", "\u{FFFD}\u{FFFD}".as_bytes()),
            (br"\ud83dx", "\u{FFFD}x".as_bytes()),
            (br"\ud83d\u0041", "\u{FFFD}A".as_bytes()),
            (br"\u12", b"u12"),
            (br"\u{41}", b"A"),
            (br"\u{0000000041}", b"A"),
            (br"\u{1F600}", "\u{1F600}".as_bytes()),
            (br"\u{110000}", b"u{110000}"),
            (br"\u{}", b"u{}"),
            (br"\u{41", b"u{41"),
            (br"\n\r\t\b\f\v", b"\n\r\t\x08\x0c\x0b"),
            (br"\0", b"\0"),
            (br"\101\102", b"AB"),
            (br"\377", b"\xff"),
            (br"\400", b" 0"),
            (br"\08", b"\x008"),
            (br"\8\9", b"89"),
            (br#"\'\"\\\/"#, br#"'"\/"#),
            (br"\q", b"q"),
            (br"abc\", br"abc\"),
            (br"\\x41", br"\x41"),
            (b"\\\xff", b"\xff"),
        ];
        assert_table(js_decode, cases);
    }
}
