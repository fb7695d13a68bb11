//! `utf8_to_unicode`: multi-byte UTF-8 characters to `%uXXXX` escapes.
//!
//! # Reference
//! ```text
//! transform utf8_to_unicode, url_decode_uni
//! ```
//! - Each valid multi-byte UTF-8 character becomes `%u` and four lowercase
//!   hex digits of its code point: `é` (`C3 A9`) is `%u00e9`, `＜` (`EF BC
//!   9C`) is `%uff1c`. Followed by `url_decode_uni`, full-width evasions fold
//!   to ASCII.
//! - A character outside the BMP becomes its UTF-16 surrogate pair, as IIS
//!   `%u` and JavaScript spell it: U+1F600 is `%ud83d%ude00` (12 bytes for 4).
//!   Emitting five or six digits (`%u1f600`) would be read back by
//!   `url_decode_uni` as `%u1f60` followed by `0`.
//! - ASCII bytes are copied unchanged (`%` too: the output is not escaped
//!   for unambiguous decoding, it is a matching form).
//!
//! # Edge cases
//! - Invalid UTF-8 (stray continuation bytes, truncated or overlong
//!   sequences, encoded surrogates, values above U+10FFFF) is copied byte by
//!   byte, unchanged.
//! - Fast path: all-ASCII input is returned unchanged (`false`).
//! - Output length <= 3 x input length (a 2-byte character becomes 6 bytes).

use super::common::push_hex;

/// `utf8_to_unicode`.
pub(super) fn utf8_to_unicode(input: &[u8], out: &mut Vec<u8>) -> bool {
    if input.is_ascii() {
        return false;
    }
    encode(input, out);
    true
}

/// Writes `input` with multi-byte characters escaped into `out`.
pub(super) fn encode(input: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.reserve(input.len().saturating_mul(2));
    for chunk in input.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_ascii() {
                // ASCII fits one byte: `c as u8` is exact here.
                out.push(c as u8);
                continue;
            }
            let mut units = [0u16; 2];
            for &unit in c.encode_utf16(&mut units).iter() {
                push_escape(out, unit);
            }
        }
        out.extend_from_slice(chunk.invalid());
    }
}

/// Appends `%u` and four lowercase hex digits.
fn push_escape(out: &mut Vec<u8>, unit: u16) {
    out.extend_from_slice(b"%u");
    for b in unit.to_be_bytes() {
        push_hex(out, b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::common::assert_table;

    #[test]
    fn utf8_to_unicode_table() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"", b""),
            (b"plain %41", b"plain %41"),
            ("é".as_bytes(), b"%u00e9"),
            ("a＜b".as_bytes(), b"a%uff1cb"),
            ("€".as_bytes(), b"%u20ac"),
            ("\u{1F600}".as_bytes(), b"%ud83d%ude00"),
            ("\u{10FFFF}".as_bytes(), b"%udbff%udfff"),
            (b"\xff", b"\xff"),
            (b"\x80a", b"\x80a"),
            (b"\xc3", b"\xc3"),
            (b"\xc3\xa9\xc3", b"%u00e9\xc3"),
            (b"\xc0\xaf", b"\xc0\xaf"),
            (b"\xed\xa0\x80", b"\xed\xa0\x80"),
            (b"\xf4\x90\x80\x80", b"\xf4\x90\x80\x80"),
            (b"\xe2\x82", b"\xe2\x82"),
        ];
        assert_table(utf8_to_unicode, cases);
    }
}
