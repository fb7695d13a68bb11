//! `hex_decode`, `hex_encode` and `sql_hex_decode`.
//!
//! # Reference
//! ```text
//! transform hex_decode
//! transform hex_encode
//! transform sql_hex_decode, lowercase
//! ```
//! - `hex_encode`: each byte as two lowercase hex digits (`<a` is `3c61`).
//! - `hex_decode`: each pair of hex digits (either case) is one byte. Where no
//!   pair starts, the byte is copied and decoding resumes at the next byte, so
//!   a stray character does not shift every later pair: `41 42` is `A B`,
//!   `4g41` is `4gA`, and an odd trailing digit is kept (`414` is `A4`).
//!   ModSecurity decodes blindly and turns invalid pairs into garbage; keeping
//!   them keeps the output meaningful. `hex_decode(hex_encode(x)) == x`.
//! - `sql_hex_decode`: every SQL hex literal `0x` / `0X` followed by at least
//!   one pair of hex digits, anywhere in the text, is replaced by the bytes of
//!   its pairs; other text is kept. An odd trailing digit is kept
//!   (`0x414` is `A4`), as is a `0x` without a pair (`0x`, `0xg1`). No word
//!   boundary is required before `0x` (`a0x41` is `aA`), as in ModSecurity.
//!   MySQL's `x'41'` form is not decoded.
//!
//! # Edge cases
//! - Empty input is unchanged (`false`) for `hex_decode` and `hex_encode`;
//!   `sql_hex_decode` returns `false` unless a `0x` is followed by a pair.
//! - Output length: `hex_encode` is exactly twice the input; the decoders
//!   never grow.

use super::common::{hex_pair, push_hex};

/// `hex_decode`.
pub(super) fn hex_decode(input: &[u8], out: &mut Vec<u8>) -> bool {
    if input.is_empty() {
        return false;
    }
    decode(input, out);
    true
}

/// Decodes every hex pair of `input` into `out`, copying the other bytes.
pub(super) fn decode(input: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.reserve(input.len() / 2 + 1);
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        if let Some(v) = hex_pair(&input[i..]) {
            out.push(v);
            i += 2;
        } else {
            out.push(b);
            i += 1;
        }
    }
}

/// `hex_encode`.
pub(super) fn hex_encode(input: &[u8], out: &mut Vec<u8>) -> bool {
    if input.is_empty() {
        return false;
    }
    encode(input, out);
    true
}

/// Writes `input` as lowercase hex digits into `out`.
pub(super) fn encode(input: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.reserve(input.len().saturating_mul(2));
    for &b in input {
        push_hex(out, b);
    }
}

/// `sql_hex_decode`.
pub(super) fn sql_hex_decode(input: &[u8], out: &mut Vec<u8>) -> bool {
    if !(0..input.len()).any(|i| literal_at(input, i)) {
        return false;
    }
    sql_decode(input, out);
    true
}

/// True if a hex literal `0x` + pair starts at `i`.
fn literal_at(input: &[u8], i: usize) -> bool {
    matches!(input.get(i..i + 2), Some(b"0x" | b"0X")) && input.get(i + 2..).and_then(hex_pair).is_some()
}

/// Decodes every hex literal of `input` into `out`, copying other text.
pub(super) fn sql_decode(input: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.reserve(input.len());
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        if literal_at(input, i) {
            i += 2;
            while let Some(v) = input.get(i..).and_then(hex_pair) {
                out.push(v);
                i += 2;
            }
        } else {
            out.push(b);
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::common::assert_table;

    #[test]
    fn hex_decode_table() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"", b""),
            (b"414243", b"ABC"),
            (b"3C3c", b"<<"),
            (b"00ff", b"\x00\xff"),
            (b"414", b"A4"),
            (b"4", b"4"),
            (b"41 42", b"A B"),
            (b"4g41", b"4gA"),
            (b"zz", b"zz"),
            (b"x414", b"xA4"),
            (b"\xff41", b"\xffA"),
        ];
        assert_table(hex_decode, cases);
    }

    #[test]
    fn hex_encode_table() {
        let cases: &[(&[u8], &[u8])] =
            &[(b"", b""), (b"<a", b"3c61"), (b"\x00\xff", b"00ff"), (b"ABC", b"414243"), (b"\n", b"0a")];
        assert_table(hex_encode, cases);
    }

    #[test]
    fn sql_hex_decode_table() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"", b""),
            (b"select 1", b"select 1"),
            (b"0x414243", b"ABC"),
            (b"select 0x61646d696e from t", b"select admin from t"),
            (b"0X41", b"A"),
            (b"0x414", b"A4"),
            (b"0x", b"0x"),
            (b"0xg1", b"0xg1"),
            (b"0x4", b"0x4"),
            (b"a0x41", b"aA"),
            (b"00x41", b"0A"),
            (b"0x410x42", b"AB"),
            (b"0x4100x42", b"A\x00x42"),
            (b"0x41,0x42", b"A,B"),
            (b"x'41'", b"x'41'"),
            (b"\xff0x41", b"\xffA"),
        ];
        assert_table(sql_hex_decode, cases);
    }
}
