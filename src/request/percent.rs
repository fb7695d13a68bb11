//! Percent-decoding (`%XX`, and `+` as space in form data), lenient as
//! ModSecurity's: an invalid escape is kept as it was sent and reported.
//!
//! Reference:
//! - `a%20b` gives `a b`; `%41%6a` gives `Aj` (hex digits in either case).
//! - With `plus_as_space`, `a+b` gives `a b`; without it `+` stays.
//! - Invalid escapes are kept literally and make the result false: `%zz` gives
//!   `%zz`, a final `%4` gives `%4`, a final `%` gives `%`. Only the `%` is
//!   treated as literal, so `%%41` gives `%A`.
//! - Empty input gives empty output and true.

/// The value of an ASCII hex digit.
fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The byte encoded by the escape starting at `input[i]` (a `%`), if it is valid.
fn escape_at(input: &[u8], i: usize) -> Option<u8> {
    let high = hex_value(*input.get(i + 1)?)?;
    let low = hex_value(*input.get(i + 2)?)?;
    Some(high << 4 | low)
}

/// The first position of `byte` in `hay`: a plain loop for short inputs
/// (most names and values), where setting up `memchr` costs more than it saves.
pub(crate) fn find_byte(byte: u8, hay: &[u8]) -> Option<usize> {
    if hay.len() < 32 { hay.iter().position(|&b| b == byte) } else { memchr::memchr(byte, hay) }
}

/// Appends `input` percent-decoded to `out` (and `+` as a space when
/// `plus_as_space`). Returns false if an invalid escape was seen; such a `%` is
/// appended as it is and decoding goes on after it.
pub(crate) fn percent_decode_into(input: &[u8], plus_as_space: bool, out: &mut Vec<u8>) -> bool {
    // Decoding never lengthens: one reservation covers the whole output.
    out.reserve(input.len());
    let mut valid = true;
    let mut i = 0;
    while i < input.len() {
        // The run up to the next `%`, copied in one go (`+` mapped inside it:
        // form text has one every few bytes).
        let rest = &input[i..];
        let run = find_byte(b'%', rest).unwrap_or(rest.len());
        if plus_as_space {
            extend_plus_as_space(out, &rest[..run]);
        } else {
            out.extend_from_slice(&rest[..run]);
        }
        i += run;
        if i == input.len() {
            break;
        }
        match escape_at(input, i) {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(b'%');
                valid = false;
                i += 1;
            }
        }
    }
    valid
}

/// Appends `run` to `out` with every `+` turned into a space: copied in one
/// go, then mapped branch-free, with a store for every byte, so that the
/// compiler vectorises it (`+` xor (`+` ^ ` `) is ` `).
pub(crate) fn extend_plus_as_space(out: &mut Vec<u8>, run: &[u8]) {
    let at = out.len();
    out.extend_from_slice(run);
    for b in &mut out[at..] {
        *b ^= u8::from(*b == b'+') * (b'+' ^ b' ');
    }
}

/// True if `input` holds a `%` that does not start a valid `%XX` escape.
pub(crate) fn has_invalid_percent(input: &[u8]) -> bool {
    let mut from = 0;
    while let Some(i) = find_byte(b'%', &input[from..]) {
        if escape_at(input, from + i).is_none() {
            return true;
        }
        from += i + 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    #[test]
    fn decodes_escapes_and_keeps_invalid_ones() {
        // (input, plus_as_space, output, valid)
        let cases: &[(&[u8], bool, &[u8], bool)] = &[
            (b"", true, b"", true),
            (b"plain", true, b"plain", true),
            (b"a%20b", false, b"a b", true),
            (b"%41%6a%6A", false, b"Ajj", true),
            (b"a+b", true, b"a b", true),
            (b"a+b", false, b"a+b", true),
            (b"%2B+", true, b"+ ", true),
            (b"%zz", true, b"%zz", false),
            (b"a=%zz", true, b"a=%zz", false),
            (b"%4", true, b"%4", false),
            (b"x%", true, b"x%", false),
            (b"%", true, b"%", false),
            (b"%%41", true, b"%A", false),
            (b"%4g%41", true, b"%4gA", false),
            (b"%+1", true, b"% 1", false),
            (b"%00%ff%FF", true, b"\0\xff\xff", true),
            (b"\xff\xfe%20", true, b"\xff\xfe ", true),
        ];
        for &(input, plus, want, valid) in cases {
            let mut out = b"kept".to_vec();
            let got_valid = percent_decode_into(input, plus, &mut out);
            assert_eq!(&out[4..], want, "{:?}", String::from_utf8_lossy(input));
            assert_eq!(got_valid, valid, "{:?}", String::from_utf8_lossy(input));
            assert_eq!(has_invalid_percent(input), !valid, "{:?}", String::from_utf8_lossy(input));
        }
    }

    /// Encodes every byte that is not alphanumeric, with random hex case.
    fn encode(bytes: &[u8], upper: bool) -> Vec<u8> {
        let digits: &[u8; 16] = if upper { b"0123456789ABCDEF" } else { b"0123456789abcdef" };
        let mut out = Vec::new();
        for &b in bytes {
            if b.is_ascii_alphanumeric() {
                out.push(b);
            } else if b == b' ' {
                out.push(b'+');
            } else {
                out.extend_from_slice(&[b'%', digits[usize::from(b >> 4)], digits[usize::from(b & 15)]]);
            }
        }
        out
    }

    proptest! {
        #[test]
        fn find_byte_is_the_first_position(hay in vec(prop::sample::select(&b"ab&="[..]), 0..80), byte in prop::sample::select(&b"&=x"[..])) {
            prop_assert_eq!(find_byte(byte, &hay), hay.iter().position(|&b| b == byte));
        }

        #[test]
        fn decoding_inverts_encoding(bytes in vec(any::<u8>(), 0..100), upper: bool) {
            let mut out = Vec::new();
            prop_assert!(percent_decode_into(&encode(&bytes, upper), true, &mut out));
            prop_assert_eq!(out, bytes);
        }

        #[test]
        fn agrees_with_a_byte_by_byte_reference(
            input in vec(prop::sample::select(&b"%+aF0g9 &=\xff"[..]), 0..64),
            plus: bool,
        ) {
            // One byte at a time: `%XX` decodes, `+` is a space in forms,
            // anything else (an invalid `%` included) is copied.
            let mut expected = Vec::new();
            let mut ok = true;
            let mut i = 0;
            while i < input.len() {
                let b = input[i];
                if b == b'%' {
                    if let Some(byte) = escape_at(&input, i) {
                        expected.push(byte);
                        i += 3;
                        continue;
                    }
                    ok = false;
                }
                expected.push(if plus && b == b'+' { b' ' } else { b });
                i += 1;
            }
            let mut out = b"kept".to_vec();
            let valid = percent_decode_into(&input, plus, &mut out);
            prop_assert_eq!(&out[..4], b"kept", "appends");
            prop_assert_eq!(&out[4..], &expected[..]);
            prop_assert_eq!(valid, ok);
        }

        #[test]
        fn never_longer_and_flag_agrees(input in vec(any::<u8>(), 0..100), plus: bool) {
            let mut out = Vec::new();
            let valid = percent_decode_into(&input, plus, &mut out);
            prop_assert!(out.len() <= input.len());
            prop_assert_eq!(valid, !has_invalid_percent(&input));
        }
    }
}
