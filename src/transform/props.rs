//! Property tests: the laws every transform keeps, round trips, and
//! differential tests against simple reference implementations.
//!
//! Inputs mix arbitrary bytes with concatenations of tokens that the decoders
//! care about (`%u`, `&#x`, `\u{`, `/../`, `C2 A0`, ...), so that the
//! interesting paths are reached far more often than by chance.

use super::Transform;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

const TOKENS: &[&[u8]] = &[
    b"%",
    b"%4",
    b"%41",
    b"%2f",
    b"%u",
    b"%U",
    b"%uff1c",
    b"%u00",
    b"+",
    b"&",
    b"&#",
    b"&#x",
    b"&lt",
    b"&nbsp",
    b";",
    b"&amp;",
    b"\\",
    b"\\x",
    b"\\X",
    b"\\u",
    b"\\u{",
    b"}",
    b"{",
    b"\\0",
    b"\\1",
    b"\\r\n",
    b"0x",
    b"0X",
    b"/*",
    b"*/",
    b"<!--",
    b"-->",
    b"--",
    b"#",
    b"/",
    b"//",
    b".",
    b"..",
    b"/../",
    b"./",
    b"\\..\\",
    b" ",
    b"  ",
    b"\t",
    b"\n",
    b"\r\n",
    b"\x0b",
    b"\x0c",
    b"\xa0",
    b"\xc2\xa0",
    b"\xc2",
    b"\x00",
    b"A",
    b"z",
    b"Q",
    b"=",
    b"4",
    b"f",
    b"F",
    b"9",
    b"7",
    b"d83d",
    b"de00",
    b"^",
    b"'",
    b"\"",
    b",",
    b"(",
    b"\xe9",
    b"\xc3\xa9",
    b"\xef\xbc\x9c",
    b"\xf0\x9f\x98\x80",
    b"\xff",
    b"\xed\xa0\x80",
];

fn arb_input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![vec(any::<u8>(), 0..64), vec(select(TOKENS), 0..24).prop_map(|tokens| tokens.concat()),]
}

/// The value after `t`: `out` if `apply` wrote it, else the input.
fn result(t: Transform, input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    if t.apply(input, &mut out) { out } else { input.to_vec() }
}

fn full(t: Transform, input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    t.apply_full(input, &mut out);
    out
}

fn is_space(b: u8) -> bool {
    b" \t\n\r\x0b\x0c".contains(&b)
}

fn hex_digits(b: u8, upper: bool) -> String {
    if upper { format!("{b:02X}") } else { format!("{b:02x}") }
}

/// A plain base64 encoder, independent of the decoder under test.
fn base64_encode(data: &[u8], pad: bool) -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    for chunk in data.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, &b| (n << 8) | u32::from(b)) << (8 * (3 - chunk.len()));
        let symbols = chunk.len() + 1;
        for k in 0..4 {
            if k < symbols {
                out.push(ALPHABET[((n >> (18 - 6 * k)) & 63) as usize]);
            } else if pad {
                out.push(b'=');
            }
        }
    }
    out
}

// Reference implementations: slow, allocating, written for clarity.

fn ref_compress_whitespace(s: &[u8]) -> Vec<u8> {
    let spaced: Vec<u8> = replace_all(s, b"\xc2\xa0", b" ")
        .into_iter()
        .map(|b| if is_space(b) || b == 0xA0 { b' ' } else { b })
        .collect();
    let mut out: Vec<u8> = Vec::new();
    for b in spaced {
        if !(b == b' ' && out.last() == Some(&b' ')) {
            out.push(b);
        }
    }
    out
}

fn ref_remove_whitespace(s: &[u8]) -> Vec<u8> {
    replace_all(s, b"\xc2\xa0", b"").into_iter().filter(|&b| !is_space(b) && b != 0xA0).collect()
}

fn replace_all(s: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        if s[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    out
}

fn ref_trim(s: &[u8], left: bool, right: bool) -> Vec<u8> {
    let mut v = s.to_vec();
    while right && v.last().is_some_and(|&b| is_space(b)) {
        v.pop();
    }
    while left && v.first().is_some_and(|&b| is_space(b)) {
        v.remove(0);
    }
    v
}

fn ref_url_decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let escape = (s[i] == b'%' && i + 2 < s.len())
            .then(|| std::str::from_utf8(&s[i + 1..i + 3]).ok())
            .flatten()
            .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match escape {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(if s[i] == b'+' { b' ' } else { s[i] });
                i += 1;
            }
        }
    }
    out
}

/// `url_decode` with IIS `%uXXXX` escapes first: full-width ASCII
/// (U+FF01..=U+FF5E) to its ASCII twin, any other code point to its low byte.
fn ref_url_decode_uni(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let uni = (s[i] == b'%' && matches!(s.get(i + 1), Some(b'u' | b'U')))
            .then(|| s.get(i + 2..i + 6))
            .flatten()
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .and_then(|h| u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        if let Some(cp) = uni {
            out.push(if (0xff01..=0xff5e).contains(&cp) { (cp - 0xfee0) as u8 } else { (cp & 0xff) as u8 });
            i += 6;
            continue;
        }
        let end = s[i + 1..].iter().position(|&b| b == b'%').map_or(s.len(), |p| i + 1 + p);
        // Up to the next `%`: plain url_decode (a `%uXXXX` cannot start inside).
        out.extend(ref_url_decode(&s[i..end]));
        i = end;
    }
    out
}

/// ModSecurity's documented steps for `t:cmdLine`, one pass each.
fn ref_cmd_line(s: &[u8]) -> Vec<u8> {
    let deleted: Vec<u8> = s.iter().copied().filter(|b| !b"\\\"'^".contains(b)).collect();
    let spaced: Vec<u8> =
        deleted.into_iter().map(|b| if b == b',' || b == b';' || is_space(b) { b' ' } else { b }).collect();
    let mut compressed: Vec<u8> = Vec::new();
    for b in spaced {
        if !(b == b' ' && compressed.last() == Some(&b' ')) {
            compressed.push(b);
        }
    }
    let mut out: Vec<u8> = Vec::new();
    for b in compressed {
        if (b == b'/' || b == b'(') && out.last() == Some(&b' ') {
            out.pop();
        }
        out.push(b.to_ascii_lowercase());
    }
    out
}

fn ref_normalize_path(s: &[u8], win: bool) -> Vec<u8> {
    if s.is_empty() {
        return Vec::new();
    }
    let s: Vec<u8> = s.iter().map(|&b| if win && b == b'\\' { b'/' } else { b }).collect();
    let mut stack: Vec<&[u8]> = Vec::new();
    for seg in s.split(|&b| b == b'/') {
        match seg {
            b"" | b"." => {}
            b".." => {
                stack.pop();
            }
            _ => stack.push(seg),
        }
    }
    let mut out = Vec::new();
    if s[0] == b'/' {
        out.push(b'/');
    }
    out.extend_from_slice(&stack.join(&b'/'));
    let last = s.rsplit(|&b| b == b'/').next().unwrap_or(b"");
    if matches!(last, b"" | b"." | b"..") && !stack.is_empty() {
        out.push(b'/');
    }
    out
}

fn reference(t: Transform, s: &[u8]) -> Option<Vec<u8>> {
    Some(match t {
        Transform::UrlDecode => ref_url_decode(s),
        Transform::UrlDecodeUni => ref_url_decode_uni(s),
        Transform::HexEncode => s.iter().flat_map(|&b| hex_digits(b, false).into_bytes()).collect(),
        Transform::Lowercase => s.to_ascii_lowercase(),
        Transform::Uppercase => s.to_ascii_uppercase(),
        Transform::CompressWhitespace => ref_compress_whitespace(s),
        Transform::RemoveWhitespace => ref_remove_whitespace(s),
        Transform::RemoveNulls => s.iter().copied().filter(|&b| b != 0).collect(),
        Transform::ReplaceNulls => s.iter().map(|&b| if b == 0 { b' ' } else { b }).collect(),
        Transform::NormalizePath => ref_normalize_path(s, false),
        Transform::NormalizePathWin => ref_normalize_path(s, true),
        Transform::CmdLine => ref_cmd_line(s),
        Transform::Trim => ref_trim(s, true, true),
        Transform::TrimLeft => ref_trim(s, true, false),
        Transform::TrimRight => ref_trim(s, false, true),
        Transform::Length => s.len().to_string().into_bytes(),
        _ => return None,
    })
}

const IDEMPOTENT: &[Transform] = &[
    Transform::Lowercase,
    Transform::Uppercase,
    Transform::CompressWhitespace,
    Transform::RemoveWhitespace,
    Transform::RemoveNulls,
    Transform::ReplaceNulls,
    Transform::Trim,
    Transform::TrimLeft,
    Transform::TrimRight,
    Transform::NormalizePath,
    Transform::NormalizePathWin,
    Transform::NormalizePathRel,
    Transform::NormalizePathRelWin,
    Transform::CmdLine,
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn never_panics_and_stays_within_max_output_len(input in arb_input()) {
        for &t in Transform::ALL {
            let mut out = Vec::new();
            if t.apply(&input, &mut out) {
                prop_assert!(out.len() <= t.max_output_len(input.len()), "{t:?}");
            }
            prop_assert!(full(t, &input).len() <= t.max_output_len(input.len()), "{t:?}");
        }
    }

    #[test]
    fn fast_paths_agree_with_the_full_transform(input in arb_input()) {
        // When `apply` says "unchanged", transforming anyway gives the input
        // back; when it writes, it writes what the full transform does.
        for &t in Transform::ALL {
            prop_assert_eq!(result(t, &input), full(t, &input), "{:?}", t);
        }
    }

    #[test]
    fn out_is_cleared_first(input in arb_input(), junk in vec(any::<u8>(), 0..16)) {
        for &t in Transform::ALL {
            let mut out = junk.clone();
            if t.apply(&input, &mut out) {
                prop_assert_eq!(&out, &full(t, &input), "{:?}", t);
            }
        }
    }

    #[test]
    fn agrees_with_reference_implementations(input in arb_input()) {
        for &t in Transform::ALL {
            if let Some(want) = reference(t, &input) {
                prop_assert_eq!(result(t, &input), want, "{:?}", t);
            }
        }
    }

    #[test]
    fn idempotent_transforms(input in arb_input()) {
        for &t in IDEMPOTENT {
            let once = result(t, &input);
            prop_assert_eq!(result(t, &once), once.clone(), "{:?}", t);
        }
    }

    #[test]
    fn path_like_inputs_match_the_reference(
        segments in vec(select(&["a", "bc", ".", "..", "", "...", "a\\..", "\\"][..]), 0..10),
        separators in vec(select(&["/", "\\", "//"][..]), 10),
    ) {
        let mut path = String::new();
        for (i, segment) in segments.iter().enumerate() {
            path.push_str(segment);
            if i + 1 < segments.len() || i % 2 == 0 {
                path.push_str(separators[i]);
            }
        }
        for t in [Transform::NormalizePath, Transform::NormalizePathWin] {
            let once = result(t, path.as_bytes());
            prop_assert_eq!(&once, &reference(t, path.as_bytes()).unwrap_or_default(), "{:?}", t);
            prop_assert_eq!(result(t, &once), once.clone(), "{:?}", t);
        }
    }

    #[test]
    fn url_decode_inverts_percent_encoding(
        bytes in vec((any::<u8>(), any::<bool>(), any::<bool>()), 0..64),
    ) {
        // Each byte escaped (in either case) or, when safe, written as is.
        let mut encoded = Vec::new();
        for &(b, escape, upper) in &bytes {
            if escape || b == b'%' || b == b'+' {
                encoded.push(b'%');
                encoded.extend_from_slice(hex_digits(b, upper).as_bytes());
            } else {
                encoded.push(b);
            }
        }
        let plain: Vec<u8> = bytes.iter().map(|&(b, _, _)| b).collect();
        prop_assert_eq!(result(Transform::UrlDecode, &encoded), plain.clone());
        prop_assert_eq!(result(Transform::UrlDecodeUni, &encoded), plain);
    }

    #[test]
    fn hex_decode_inverts_hex_encode(bytes in vec(any::<u8>(), 0..64)) {
        let encoded = result(Transform::HexEncode, &bytes);
        prop_assert_eq!(encoded.len(), bytes.len() * 2);
        prop_assert_eq!(result(Transform::HexDecode, &encoded), bytes.clone());
        let upper = result(Transform::Uppercase, &encoded);
        prop_assert_eq!(result(Transform::HexDecode, &upper), bytes);
    }

    #[test]
    fn base64_decoders_invert_an_encoder(
        bytes in vec(any::<u8>(), 1..64),
        pad in any::<bool>(),
        junk in vec((any::<usize>(), select(&b"\n\r !-_=.\xff"[..])), 0..8),
    ) {
        let encoded = base64_encode(&bytes, pad);
        prop_assert_eq!(result(Transform::Base64Decode, &encoded), bytes.clone());
        prop_assert_eq!(result(Transform::Base64DecodeExt, &encoded), bytes.clone());
        let mut out = Vec::new();
        prop_assert!(super::base64_decode_strict(&encoded, &mut out));
        prop_assert_eq!(&out, &bytes);
        // The forgiving decoder skips junk anywhere.
        let mut noisy = encoded.clone();
        for &(at, b) in &junk {
            noisy.insert(at % (noisy.len() + 1), b);
        }
        prop_assert_eq!(result(Transform::Base64DecodeExt, &noisy), bytes.clone());
        // The prefix decoder stops at junk: it decodes the clean prefix.
        if let Some(&(at, b)) = junk.first() {
            let at = at % (encoded.len() + 1);
            let mut cut = encoded[..at].to_vec();
            let clean_prefix = result(Transform::Base64Decode, &cut);
            cut.push(b);
            cut.extend_from_slice(&encoded[at..]);
            prop_assert_eq!(result(Transform::Base64Decode, &cut), clean_prefix);
        }
    }

    #[test]
    fn numeric_references_decode_to_the_character(c in any::<char>()) {
        let utf8 = c.to_string().into_bytes();
        let n = u32::from(c);
        let folded = if (0xFF01..=0xFF5E).contains(&n) {
            vec![u8::try_from(n - 0xFEE0).unwrap_or(0)]
        } else {
            utf8.clone()
        };
        let html = Transform::HtmlEntityDecode;
        prop_assert_eq!(result(html, format!("&#{n};").as_bytes()), utf8.clone());
        prop_assert_eq!(result(html, format!("&#x{n:X}").as_bytes()), utf8.clone());
        prop_assert_eq!(result(html, format!("&#x000{n:x};").as_bytes()), utf8.clone());

        let js = Transform::JsDecode;
        prop_assert_eq!(result(js, format!("\\u{{{n:x}}}").as_bytes()), folded.clone());
        let mut units = [0u16; 2];
        let escaped: String = c
            .encode_utf16(&mut units)
            .iter()
            .map(|u| format!("\\u{u:04X}"))
            .collect();
        prop_assert_eq!(result(js, escaped.as_bytes()), folded.clone());

        if n != 0 {
            let css = Transform::CssDecode;
            prop_assert_eq!(result(css, format!("\\{n:x} ").as_bytes()), folded);
        }
    }

    #[test]
    fn utf8_to_unicode_output_is_ascii_for_text(s in any::<String>()) {
        let encoded = result(Transform::Utf8ToUnicode, s.as_bytes());
        prop_assert!(encoded.is_ascii());
        prop_assert!(encoded.len() <= s.len() * 3);
    }

    #[test]
    fn full_width_text_folds_to_ascii(s in "[!-$&-*,-~]{0,32}") {
        // utf8_to_unicode then url_decode_uni turns full-width ASCII back
        // into ASCII (`%` and `+` are left out: they would decode).
        let wide: String = s
            .chars()
            .filter_map(|c| char::from_u32(u32::from(c) + 0xFEE0))
            .collect();
        let escaped = result(Transform::Utf8ToUnicode, wide.as_bytes());
        prop_assert_eq!(result(Transform::UrlDecodeUni, &escaped), s.into_bytes());
    }
}

#[test]
fn huge_inputs_are_linear_and_bounded() {
    // Degenerate inputs that would be quadratic for a naive rescanning
    // decoder; each must finish quickly (well under a second in debug).
    let n = 200_000;
    let inputs: Vec<Vec<u8>> = vec![
        b"&".repeat(n),
        b"&#".repeat(n),
        [b"&#".as_slice(), &b"0".repeat(n)].concat(),
        b"&aaaaaaaaaaaaaaaaaaaaaaaaaaaaa".repeat(n / 30),
        b"\\u{".repeat(n),
        [b"\\u{".as_slice(), &b"0".repeat(n)].concat(),
        b"/*".repeat(n),
        b"<!--".repeat(n),
        b"--".repeat(n),
        b"/a/..".repeat(n),
        b"a/".repeat(n),
        b"0x".repeat(n),
        b"%u".repeat(n),
        b"\xc2\xa0".repeat(n),
        b"\xff".repeat(n),
    ];
    let start = std::time::Instant::now();
    for input in &inputs {
        for &t in Transform::ALL {
            let mut out = Vec::new();
            if t.apply(input, &mut out) {
                assert!(out.len() <= t.max_output_len(input.len()), "{t:?}");
            }
        }
    }
    // Generous: a quadratic pass over 200k bytes takes minutes.
    assert!(start.elapsed().as_secs() < 30, "{:?}", start.elapsed());
}

#[test]
fn warm_buffer_is_not_reallocated() {
    // Once `out` has `max_output_len` capacity, apply must not reallocate it.
    let input = b"%41&lt;\\u0041 /*x*/ \xc3\xa9 0x41 QUJD /a/../b";
    for &t in Transform::ALL {
        let mut out = Vec::with_capacity(t.max_output_len(input.len()));
        let before = out.as_ptr();
        t.apply(input, &mut out);
        assert_eq!(out.as_ptr(), before, "{t:?}");
    }
}
