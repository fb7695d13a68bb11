//! Byte helpers shared by the transforms: hex, decimal and octal digits,
//! ASCII whitespace, UTF-8 output, the full-width ASCII fold and the loop of
//! the `\`-escape decoders; and, for the unit tests at the bottom of each
//! transform's file, [`run`] and [`assert_table`].
//!
//! Everything here is total (no panics on short input) and allocation-free
//! apart from pushing into the caller's buffer.

/// Lowercase hex digits, indexed by nibble.
const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";

/// Appends `b` as two lowercase hex digits (`0x3c` is `3c`).
pub(super) fn push_hex(out: &mut Vec<u8>, b: u8) {
    out.push(HEX_LOWER[usize::from(b >> 4)]);
    out.push(HEX_LOWER[usize::from(b & 0xF)]);
}

/// The value of one ASCII hex digit (either case).
pub(super) fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The byte written by the two hex digits at the start of `s`, if both are hex.
pub(super) fn hex_pair(s: &[u8]) -> Option<u8> {
    match s {
        [hi, lo, ..] => Some((hex_val(*hi)? << 4) | hex_val(*lo)?),
        _ => None,
    }
}

/// The value of the four hex digits at the start of `s`, if all four are hex.
pub(super) fn hex4(s: &[u8]) -> Option<u32> {
    match s {
        [a, b, c, d, ..] => Some(
            (u32::from(hex_val(*a)?) << 12)
                | (u32::from(hex_val(*b)?) << 8)
                | (u32::from(hex_val(*c)?) << 4)
                | u32::from(hex_val(*d)?),
        ),
        _ => None,
    }
}

/// The digits at the start of `s` in `radix` (10, or 16 with hex digits of
/// either case), at most `max` of them: their value and how many there are.
/// The value saturates at `u32::MAX`, so a huge number stays huge (and
/// invalid to the caller) without overflow while every digit is still counted.
pub(super) fn leading_digits(s: &[u8], radix: u32, max: usize) -> (u32, usize) {
    let mut value: u32 = 0;
    let mut used = 0;
    for &b in s.iter().take(max) {
        let Some(digit) = char::from(b).to_digit(radix) else {
            break;
        };
        value = value.saturating_mul(radix).saturating_add(digit);
        used += 1;
    }
    (value, used)
}

/// An octal escape body at the start of `s`: up to three octal digits, as many
/// as keep the value <= 0xFF (so `\400` is `\40` followed by `0`, as in C and
/// JavaScript). Returns the byte and the digits used; `None` if `s` does not
/// start with an octal digit.
pub(super) fn octal(s: &[u8]) -> Option<(u8, usize)> {
    let mut value: u32 = 0;
    let mut used = 0;
    while used < 3 {
        let Some(&d @ b'0'..=b'7') = s.get(used) else {
            break;
        };
        let next = value * 8 + u32::from(d - b'0');
        if next > 0xFF {
            break;
        }
        value = next;
        used += 1;
    }
    // `value` <= 0xFF by the check above, so the conversion cannot fail.
    (used > 0).then(|| (u8::try_from(value).unwrap_or(u8::MAX), used))
}

/// C's `isspace` in the "C" locale: space, `\t`, `\n`, `\v`, `\f`, `\r`.
pub(super) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Appends code point `cp` as UTF-8; a value that is not a Unicode scalar
/// value (a surrogate, or above U+10FFFF) is written as U+FFFD.
pub(super) fn push_utf8(out: &mut Vec<u8>, cp: u32) {
    let c = char::from_u32(cp).unwrap_or(char::REPLACEMENT_CHARACTER);
    let mut buf = [0; 4];
    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

/// Full-width ASCII (U+FF01..=U+FF5E, `！`..`～`) folded to ASCII `!`..`~`,
/// as IIS and ModSecurity do.
pub(super) fn full_width_to_ascii(cp: u32) -> Option<u8> {
    if (0xFF01..=0xFF5E).contains(&cp) { u8::try_from(cp - 0xFEE0).ok() } else { None }
}

/// Appends the code point of an escape as the decoders that write UTF-8 do
/// (`js_decode`, `css_decode`): full-width ASCII folded to ASCII, as in
/// `url_decode_uni`; anything else as UTF-8 by [`push_utf8`] (U+0000 is a NUL
/// byte; a surrogate or a value above U+10FFFF is U+FFFD).
pub(super) fn push_code_point(out: &mut Vec<u8>, cp: u32) {
    match full_width_to_ascii(cp) {
        Some(b) => out.push(b),
        None => push_utf8(out, cp),
    }
}

/// The loop of the decoders whose escapes are `\` and a body (`js_decode`,
/// `css_decode`): clears `out`, then copies `input` into it, except that each
/// `\` followed by at least one byte is decoded by `escape`, which gets the
/// bytes after the `\`, writes the escape's value into `out` and returns how
/// many of those bytes it used (at least 1). A `\` at the end is kept.
pub(super) fn decode_backslash_escapes(input: &[u8], out: &mut Vec<u8>, escape: impl Fn(&[u8], &mut Vec<u8>) -> usize) {
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

/// Position of `needle` in `hay`. Needles here are 2-4 bytes, so the naive
/// scan is linear in `hay`.
pub(super) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Test helper: the value a pipeline holds after transform `f`, which is
/// `input` itself when `f` takes its fast path (returns `false`).
#[cfg(test)]
pub(super) fn run(f: fn(&[u8], &mut Vec<u8>) -> bool, input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    if f(input, &mut out) { out } else { input.to_vec() }
}

/// Test helper: asserts that transform `f` turns each input of `cases` into
/// its output (see [`run`]); a failure names the input, ASCII-escaped.
#[cfg(test)]
pub(super) fn assert_table(f: fn(&[u8], &mut Vec<u8>) -> bool, cases: &[(&[u8], &[u8])]) {
    for (input, want) in cases {
        assert_eq!(run(f, input), *want, "{}", input.escape_ascii());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_digits_counts_every_digit_and_saturates() {
        assert_eq!(leading_digits(b"", 16, 6), (0, 0));
        assert_eq!(leading_digits(b"6a avascript", 16, 6), (0x6a, 2));
        assert_eq!(leading_digits(b"0000410", 16, 6), (0x41, 6));
        assert_eq!(leading_digits(b"fFg", 16, usize::MAX), (0xff, 2));
        assert_eq!(leading_digits(b"060;", 10, usize::MAX), (60, 3));
        assert_eq!(leading_digits(b"3c", 10, usize::MAX), (3, 1));
        assert_eq!(leading_digits(b"99999999999999999999;", 10, usize::MAX), (u32::MAX, 20));
        assert_eq!(leading_digits(b"\xff1", 16, usize::MAX), (0, 0));
    }

    #[test]
    fn push_hex_and_push_code_point() {
        let mut out = Vec::new();
        for b in [0x3c, 0x00, 0xff] {
            push_hex(&mut out, b);
        }
        assert_eq!(out, b"3c00ff");
        out.clear();
        for cp in [0, 0xFF1C, 0xE9, 0xD800] {
            push_code_point(&mut out, cp);
        }
        assert_eq!(out, "\0<é\u{FFFD}".as_bytes());
    }

    #[test]
    fn octal_stops_before_overflow() {
        type Case = (&'static [u8], Option<(u8, usize)>);
        let cases: &[Case] = &[
            (b"0", Some((0, 1))),
            (b"101x", Some((b'A', 3))),
            (b"377", Some((0xFF, 3))),
            (b"400", Some((0o40, 2))),
            (b"7777", Some((0o77, 2))),
            (b"08", Some((0, 1))),
            (b"8", None),
            (b"", None),
        ];
        for (input, want) in cases {
            assert_eq!(octal(input), *want, "{input:?}");
        }
    }

    #[test]
    fn hex_helpers_need_every_digit() {
        assert_eq!(hex_pair(b"4a"), Some(0x4a));
        assert_eq!(hex_pair(b"4"), None);
        assert_eq!(hex_pair(b"4g"), None);
        assert_eq!(hex4(b"FF01"), Some(0xff01));
        assert_eq!(hex4(b"ff0"), None);
        assert_eq!(hex4(b"ff0z"), None);
    }

    #[test]
    fn full_width_range_is_exact() {
        assert_eq!(full_width_to_ascii(0xFF00), None);
        assert_eq!(full_width_to_ascii(0xFF01), Some(b'!'));
        assert_eq!(full_width_to_ascii(0xFF5E), Some(b'~'));
        assert_eq!(full_width_to_ascii(0xFF5F), None);
    }

    #[test]
    fn push_utf8_replaces_non_scalars() {
        let mut out = Vec::new();
        push_utf8(&mut out, 0xD800);
        push_utf8(&mut out, 0x11_0000);
        push_utf8(&mut out, 0xE9);
        assert_eq!(out, "\u{FFFD}\u{FFFD}é".as_bytes());
    }
}
