//! `url_decode` and `url_decode_uni`: percent-decoding.
//!
//! # Reference
//! ```text
//! transform url_decode_uni, lowercase
//! ```
//! - `url_decode`: `%XX` (hex digits in either case) becomes the byte `0xXX`
//!   and `+` becomes a space.
//! - `url_decode_uni`: the same, plus the IIS form `%uXXXX` (also `%UXXXX`):
//!   full-width ASCII U+FF01..=U+FF5E becomes its ASCII twin (`%uff1c` is
//!   `<`), any other code point becomes its **low byte** (`%u0041` is `A`,
//!   `%u2215` is `0x15`). The low byte is ModSecurity's choice and the CRS is
//!   tuned for it; it keeps the output no longer than the input. UTF-8 output
//!   would be more faithful, but would change what CRS patterns see.
//!
//! # Edge cases
//! - Invalid escapes are kept literally: `%zz`, `%4`, a trailing `%`, and a
//!   `%u` not followed by four hex digits (`%u12` stays `%u12`; `%u4` + `1` is
//!   not a `%XX` escape either, as `u` is not hex).
//! - No double decoding: `%2541` becomes `%41`.
//! - Fast path: input without `%` or `+` is returned unchanged (`false`).
//! - Output length <= input length.

use super::common::{full_width_to_ascii, hex_pair, hex4};
use crate::request::percent;

/// `url_decode`: `%XX` and `+`.
pub(super) fn url_decode(input: &[u8], out: &mut Vec<u8>) -> bool {
    if !has_escapes(input) {
        return false;
    }
    decode(input, out, false);
    true
}

/// `url_decode_uni`: `%XX`, `+` and `%uXXXX`.
pub(super) fn url_decode_uni(input: &[u8], out: &mut Vec<u8>) -> bool {
    if !has_escapes(input) {
        return false;
    }
    decode(input, out, true);
    true
}

fn has_escapes(input: &[u8]) -> bool {
    input.iter().any(|&b| b == b'%' || b == b'+')
}

/// Decodes all of `input` into `out`; `uni` enables `%uXXXX`. The text
/// between escapes is copied a run at a time, its `+`s turned into spaces in
/// place.
pub(super) fn decode(input: &[u8], out: &mut Vec<u8>, uni: bool) {
    out.clear();
    out.reserve(input.len());
    let mut i = 0;
    while i < input.len() {
        let rest = &input[i..];
        let run = percent::find_byte(b'%', rest).unwrap_or(rest.len());
        percent::extend_plus_as_space(out, &rest[..run]);
        i += run;
        let Some(escape) = input.get(i + 1..) else { break };
        if uni
            && matches!(escape.first(), Some(b'u' | b'U'))
            && let Some(cp) = hex4(&escape[1..])
        {
            out.push(uni_byte(cp));
            i += 6;
        } else if let Some(v) = hex_pair(escape) {
            out.push(v);
            i += 3;
        } else {
            out.push(b'%');
            i += 1;
        }
    }
}

/// The byte a `%uXXXX` escape stands for (see the module docs).
fn uni_byte(cp: u32) -> u8 {
    full_width_to_ascii(cp).unwrap_or(cp.to_le_bytes()[0])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::common::assert_table;

    #[test]
    fn url_decode_table() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"", b""),
            (b"plain", b"plain"),
            (b"a+b", b"a b"),
            (b"%41%42%43", b"ABC"),
            (b"%3c%3C", b"<<"),
            (b"%00", b"\0"),
            (b"%ff%FF", b"\xff\xff"),
            (b"%zz", b"%zz"),
            (b"%4", b"%4"),
            (b"%", b"%"),
            (b"%%41", b"%A"),
            (b"%2541", b"%41"),
            (b"%u0041", b"%u0041"),
            (b"100%", b"100%"),
            (b"%4g%41", b"%4gA"),
            (b"\xff%41\x80", b"\xffA\x80"),
        ];
        assert_table(url_decode, cases);
    }

    #[test]
    fn url_decode_uni_table() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"%u0041", b"A"),
            (b"%U0041", b"A"),
            (b"%uff1cscript%uFF1E", b"<script>"),
            (b"%uff01%uff5e", b"!~"),
            (b"%uff00", b"\x00"),
            (b"%uff5f", b"\x5f"),
            (b"%u2215", b"\x15"),
            (b"%u12", b"%u12"),
            (b"%u", b"%u"),
            (b"%u004", b"%u004"),
            (b"%u00zz", b"%u00zz"),
            (b"%41+%u0042", b"A B"),
            (b"%uu0041", b"%uu0041"),
            (b"%%u0041", b"%A"),
        ];
        assert_table(url_decode_uni, cases);
    }

    #[test]
    fn fast_path_only_without_percent_or_plus() {
        let mut out = Vec::new();
        assert!(!url_decode(b"abc/def?x=1", &mut out));
        assert!(url_decode(b"a+", &mut out));
        assert!(url_decode_uni(b"%zz", &mut out));
        assert_eq!(out, b"%zz");
    }
}
