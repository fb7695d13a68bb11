//! `lowercase` and `uppercase`: ASCII case folding.
//!
//! # Reference
//! ```text
//! transform url_decode, lowercase
//! ```
//! - `lowercase` maps `A-Z` to `a-z`; `uppercase` maps `a-z` to `A-Z`.
//! - Only ASCII letters change: bytes >= 0x80 (UTF-8 or not) are copied, so
//!   `É` stays `É` and the output is always the input's length. Locale-aware
//!   folding would make results depend on the host and could change lengths.
//!
//! # Edge cases
//! - Fast path: input with no letter to change is returned unchanged (`false`),
//!   including the empty value.
//! - Idempotent.

/// `lowercase`.
pub(super) fn lowercase(input: &[u8], out: &mut Vec<u8>) -> bool {
    if !input.iter().any(u8::is_ascii_uppercase) {
        return false;
    }
    to_lower(input, out);
    true
}

/// `uppercase`.
pub(super) fn uppercase(input: &[u8], out: &mut Vec<u8>) -> bool {
    if !input.iter().any(u8::is_ascii_lowercase) {
        return false;
    }
    to_upper(input, out);
    true
}

/// Writes `input` lowercased into `out`.
pub(super) fn to_lower(input: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.extend(input.iter().map(u8::to_ascii_lowercase));
}

/// Writes `input` uppercased into `out`.
pub(super) fn to_upper(input: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.extend(input.iter().map(u8::to_ascii_uppercase));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::common::run;

    #[test]
    fn case_table() {
        // (input, lowercase, uppercase)
        let cases: &[(&[u8], &[u8], &[u8])] = &[
            (b"", b"", b""),
            (b"SeLeCt", b"select", b"SELECT"),
            (b"123 -_", b"123 -_", b"123 -_"),
            ("ÉcOLE".as_bytes(), "École".as_bytes(), "ÉCOLE".as_bytes()),
            (b"\xffA\x00z", b"\xffa\x00z", b"\xffA\x00Z"),
            (b"@[`{", b"@[`{", b"@[`{"),
        ];
        for (input, lower, upper) in cases {
            let name = input.escape_ascii().to_string();
            assert_eq!(run(lowercase, input), *lower, "lowercase {name}");
            assert_eq!(run(uppercase, input), *upper, "uppercase {name}");
        }
    }
}
