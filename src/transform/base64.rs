//! `base64_decode`, `base64_decode_ext`, and [`base64_decode_strict`] for
//! callers outside rules.
//!
//! # Reference
//! ```text
//! transform base64_decode
//! transform base64_decode_ext, lowercase
//! ```
//! All three use the standard alphabet (`A-Z a-z 0-9 + /`, RFC 4648 section
//! 4).
//! - `base64_decode` decodes the longest prefix made of alphabet bytes and
//!   stops at the first other byte, padding `=` included: `QUJD=junk` is
//!   `ABC`, `QQ==QkM=` is `A`.
//! - `base64_decode_ext` skips every byte outside the alphabet, `=` included,
//!   wherever it is (ModSecurity's forgiving decoder, and what lenient
//!   back ends such as PHP's `base64_decode` do): `Q U\nJ-D` is `ABC`.
//! - A final group of 2 or 3 symbols gives 1 or 2 bytes (missing padding is
//!   fine); a lone final symbol gives nothing; leftover low bits are ignored.
//!
//! # Edge cases
//! - Empty input is returned unchanged (`false`); any other input is decoded
//!   (`true`), even when the result is empty (`!!!!` gives the empty value).
//! - The URL-safe alphabet (`-`, `_`) is not recognised: those bytes stop
//!   `base64_decode` and are skipped by `base64_decode_ext`.
//! - Output length <= `len / 4 * 3 + (len % 4) * 3 / 4`.

/// Marks a byte outside the alphabet in [`DECODE`].
const INVALID: u8 = 0xFF;

/// Byte to 6-bit value, or [`INVALID`].
const DECODE: [u8; 256] = {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < alphabet.len() {
        table[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// `base64_decode`: the alphabet prefix.
pub(super) fn base64_decode(input: &[u8], out: &mut Vec<u8>) -> bool {
    if input.is_empty() {
        return false;
    }
    decode_prefix(input, out);
    true
}

/// `base64_decode_ext`: every alphabet byte.
pub(super) fn base64_decode_ext(input: &[u8], out: &mut Vec<u8>) -> bool {
    if input.is_empty() {
        return false;
    }
    decode_skipping(input, out);
    true
}

/// Decodes the alphabet prefix of `input` into `out`.
pub(super) fn decode_prefix(input: &[u8], out: &mut Vec<u8>) {
    let end = input.iter().position(|&b| DECODE[usize::from(b)] == INVALID).unwrap_or(input.len());
    let mut sink = Sextets::new(out, end);
    for &b in &input[..end] {
        sink.push(DECODE[usize::from(b)]);
    }
}

/// Decodes every alphabet byte of `input` into `out`, skipping the others.
pub(super) fn decode_skipping(input: &[u8], out: &mut Vec<u8>) {
    let mut sink = Sextets::new(out, input.len());
    for &b in input {
        let v = DECODE[usize::from(b)];
        if v != INVALID {
            sink.push(v);
        }
    }
}

/// The bound documented above: 3 bytes per 4 symbols, 1 or 2 for a tail of 2
/// or 3 symbols.
pub(super) fn max_decoded_len(len: usize) -> usize {
    len / 4 * 3 + (len % 4) * 3 / 4
}

/// Decodes standard base64 (RFC 4648 section 4) strictly: for corpus files
/// and other data outside rules, where bad input is an error.
///
/// ASCII whitespace anywhere is ignored (wrapped lines are fine) and the `=`
/// padding may be left out, but when present it must complete the last group
/// and nothing but whitespace may follow it. Any other byte outside the
/// alphabet, or a lone final symbol, makes the input invalid. Non-zero
/// leftover bits in the last symbol are accepted. `out` is cleared first.
///
/// Returns `true` with the decoded bytes in `out`, or `false` for invalid
/// input (then `out` holds a partial result; do not use it).
///
/// # Example
/// ```
/// use rampart::base64_decode_strict;
///
/// let mut out = Vec::new();
/// assert!(base64_decode_strict(b"SGVs\nbG8=", &mut out));
/// assert_eq!(out, b"Hello");
/// assert!(base64_decode_strict(b"SGVsbG8", &mut out));
/// assert!(!base64_decode_strict(b"SGVsbG8!", &mut out));
/// assert!(!base64_decode_strict(b"SGVsbG8==", &mut out));
/// ```
pub fn base64_decode_strict(input: &[u8], out: &mut Vec<u8>) -> bool {
    let mut sink = Sextets::new(out, input.len());
    let mut symbols = 0usize;
    let mut padding = 0usize;
    for &b in input {
        if b.is_ascii_whitespace() || b == 0x0b {
            continue;
        }
        if b == b'=' {
            padding += 1;
            continue;
        }
        let v = DECODE[usize::from(b)];
        if v == INVALID || padding > 0 {
            return false;
        }
        sink.push(v);
        symbols += 1;
    }
    match (symbols % 4, padding) {
        (1, _) => false,
        (_, 0) => true,
        (tail, pad) => tail + pad == 4,
    }
}

/// Packs 6-bit values into bytes appended to a cleared buffer.
struct Sextets<'a> {
    out: &'a mut Vec<u8>,
    bits: u32,
    held: u32,
}

impl<'a> Sextets<'a> {
    /// Clears `out` and reserves room for `symbols` symbols.
    fn new(out: &'a mut Vec<u8>, symbols: usize) -> Sextets<'a> {
        out.clear();
        out.reserve(max_decoded_len(symbols));
        Sextets { out, bits: 0, held: 0 }
    }

    fn push(&mut self, v: u8) {
        self.bits = (self.bits << 6) | u32::from(v);
        self.held += 6;
        if self.held >= 8 {
            self.held -= 8;
            self.out.push((self.bits >> self.held).to_le_bytes()[0]);
            self.bits &= (1 << self.held) - 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::common::run;

    #[test]
    fn decode_table() {
        // (input, base64_decode, base64_decode_ext)
        let cases: &[(&[u8], &[u8], &[u8])] = &[
            (b"", b"", b""),
            (b"QUJD", b"ABC", b"ABC"),
            (b"QUI=", b"AB", b"AB"),
            (b"QUI", b"AB", b"AB"),
            (b"QQ==", b"A", b"A"),
            (b"QQ", b"A", b"A"),
            (b"Q", b"", b""),
            (b"QUJDR", b"ABC", b"ABC"),
            (b"QUJD=junk", b"ABC", b"ABC\x8e\xe9\xe4"),
            (b"QQ==QkM=", b"A", b"A\x04\x24"),
            (b"Q U\nJ-D", b"", b"ABC"),
            (b"!!!!", b"", b""),
            (b"/+/+", b"\xff\xef\xfe", b"\xff\xef\xfe"),
            (b"PHNjcmlwdD4=", b"<script>", b"<script>"),
            (b"PHNj\xffcmlwdD4=", b"<sc", b"<script>"),
            (b"PHNj_cmlwdD4", b"<sc", b"<script>"),
        ];
        for (input, prefix, skipping) in cases {
            let name = input.escape_ascii().to_string();
            assert_eq!(run(base64_decode, input), *prefix, "prefix {name}");
            assert_eq!(run(base64_decode_ext, input), *skipping, "ext {name}");
        }
    }

    #[test]
    fn strict_table() {
        let cases: &[(&[u8], Option<&[u8]>)] = &[
            (b"", Some(b"")),
            (b"  \r\n", Some(b"")),
            (b"SGVsbG8=", Some(b"Hello")),
            (b"SGVsbG8", Some(b"Hello")),
            (b"SGVs\r\nbG8=\n", Some(b"Hello")),
            (b"QQ==", Some(b"A")),
            (b"QQ", Some(b"A")),
            (b"QQ=", None),
            (b"QQ===", None),
            (b"QUJD=", None),
            (b"Q", None),
            (b"QQ==QQ==", None),
            (b"QQ== ", Some(b"A")),
            (b"SGVsbG8!", None),
            (b"SGVs-G8=", None),
            (b"=", None),
            (b"QR==", Some(b"A")),
        ];
        for (input, want) in cases {
            let mut out = Vec::new();
            let ok = base64_decode_strict(input, &mut out);
            let name = input.escape_ascii().to_string();
            assert_eq!(ok.then_some(out.as_slice()), *want, "{name}");
        }
    }

    #[test]
    fn max_decoded_len_is_tight() {
        let mut out = Vec::new();
        for len in 0..40 {
            let input = vec![b'Q'; len];
            decode_prefix(&input, &mut out);
            assert_eq!(out.len(), max_decoded_len(len), "{len}");
        }
    }
}
