//! `escape_seq_decode`: ANSI C escape sequences.
//!
//! # Reference
//! ```text
//! transform escape_seq_decode, lowercase
//! ```
//! - `\a \b \f \n \r \t \v` are the control characters 07 08 0C 0A 0D 09 0B.
//! - `\\ \? \' \"` are the character after the backslash.
//! - `\xHH` / `\XHH`: exactly two hex digits give one byte (`\x414` is `A4`).
//! - `\NNN`: one to three octal digits, as many as keep the value <= 0xFF
//!   (`\101` is `A`, `\0` is NUL, `\400` is a space followed by `0`).
//! - Anything else is not an escape and is kept whole, backslash included
//!   (`\z` stays `\z`, `\x4` stays `\x4`), as in ModSecurity; unlike
//!   `js_decode`, which drops the backslash.
//!
//! # Edge cases
//! - A `\` at the end of the input is kept.
//! - `\\x41` is `\x41` (the first escape is `\\`; no double decoding).
//! - Fast path: input without `\` is returned unchanged (`false`).
//! - Output length <= input length.

use super::common::{hex_pair, octal};

/// `escape_seq_decode`.
pub(super) fn escape_seq_decode(input: &[u8], out: &mut Vec<u8>) -> bool {
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
        let escape = match (b, input.get(i + 1)) {
            (b'\\', Some(&c)) => sequence(c, &input[i + 1..]),
            _ => None,
        };
        match escape {
            Some((value, used)) => {
                out.push(value);
                i += 1 + used;
            }
            None => {
                out.push(b);
                i += 1;
            }
        }
    }
}

/// The value and length of the escape body `s` (just after `\`, starting
/// with `c`), or `None` if it is not an escape.
fn sequence(c: u8, s: &[u8]) -> Option<(u8, usize)> {
    let value = match c {
        b'a' => 0x07,
        b'b' => 0x08,
        b'f' => 0x0c,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'v' => 0x0b,
        b'\\' | b'?' | b'\'' | b'"' => c,
        b'x' | b'X' => return hex_pair(&s[1..]).map(|v| (v, 3)),
        b'0'..=b'7' => return octal(s),
        _ => return None,
    };
    Some((value, 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::common::assert_table;

    #[test]
    fn escape_seq_decode_table() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"", b""),
            (b"plain", b"plain"),
            (br"\a\b\f\n\r\t\v", b"\x07\x08\x0c\n\r\t\x0b"),
            (br#"\\\?\'\""#, br#"\?'""#),
            (br"\x41\X42", b"AB"),
            (br"\x414", b"A4"),
            (br"\x4", br"\x4"),
            (br"\xzz", br"\xzz"),
            (br"\101\0", b"A\0"),
            (br"\377\400", b"\xff 0"),
            (br"\z", br"\z"),
            (br"\8", br"\8"),
            (br"abc\", br"abc\"),
            (br"\\x41", br"\x41"),
            (b"\\\xff", b"\\\xff"),
        ];
        assert_table(escape_seq_decode, cases);
    }
}
