//! `length`: the value's length in bytes, as decimal text.
//!
//! # Reference
//! ```text
//! transform length
//! ```
//! - `abc` is `3`; the empty value is `0`. Bytes are counted, not characters
//!   (`é` is `2`). Compare numerically with an operator such as `>`.
//!
//! # Edge cases
//! - Always writes (`true`), even where the text equals the input (`1`).
//! - Output: at most 20 digits (`usize::MAX` on 64-bit), at least 1.

/// `length`.
pub(super) fn length(input: &[u8], out: &mut Vec<u8>) -> bool {
    let mut digits = [0u8; 20];
    let mut n = input.len();
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10).to_le_bytes()[0];
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.clear();
    out.extend_from_slice(&digits[start..]);
    true
}

/// Number of decimal digits in `n` (1 for 0).
pub(super) fn decimal_digits(n: usize) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_table() {
        let cases: &[(&[u8], &[u8])] =
            &[(b"", b"0"), (b"a", b"1"), (b"1", b"1"), (b"abc", b"3"), ("é".as_bytes(), b"2"), (&[0; 1234], b"1234")];
        let mut out = Vec::new();
        for (input, want) in cases {
            assert!(length(input, &mut out));
            assert_eq!(out, *want);
            assert_eq!(decimal_digits(input.len()), want.len());
        }
    }

    #[test]
    fn decimal_digits_edges() {
        assert_eq!(decimal_digits(0), 1);
        assert_eq!(decimal_digits(9), 1);
        assert_eq!(decimal_digits(10), 2);
        assert_eq!(decimal_digits(99), 2);
        assert_eq!(decimal_digits(100), 3);
        assert_eq!(decimal_digits(usize::MAX), usize::MAX.to_string().len());
    }
}
