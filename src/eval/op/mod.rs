//! Operators evaluated on one value, outside the shared automaton passes (in
//! `when` conditions, and for operators that are not pattern matches).

mod sqli;

/// Most bytes of a value `detect_sqli` looks at. libinjection decides from the
/// first five tokens after folding, so a longer prefix rarely changes the
/// answer; the bound keeps hostile values cheap, since the tokenizer we reuse is
/// quadratic on one shape (a 64 KiB word of `a.a.a...` took 30 ms, measured
/// 2026-11-27 with `rampart scan` on such a request; 4 KiB takes 0.1 ms).
pub(crate) const SQLI_MAX_BYTES: usize = 4096;

use regex_automata::Input;

use super::scratch::Work;
use crate::compile::ir::{OpIr, Program};
use crate::transform::byteset::ByteSet;

/// True for values libinjection cannot flag, decided without running it: all
/// ASCII letters and `_`, or all digits (ids, numbers, single words are most
/// argument values).
///
/// Why it is sound: such a value is one token for the SQLi tokenizer (a
/// bareword, keyword or number), in every context libinjection tries (no
/// quote opens a quote context, no comment a MySQL reparse). A one-token
/// fingerprint is SQLi only if it is `X` (the table's only one-character
/// fingerprint), a type that no word or number gets. For XSS, the HTML5
/// tokenizer sees plain text in the data state and an unbroken attribute value
/// in the value states: no tag, no attribute name, no URL. The differential
/// tests below check both against the full detectors.
pub(crate) fn single_token(value: &[u8]) -> bool {
    !value.is_empty()
        && (value.iter().all(|&b| b.is_ascii_alphabetic() || b == b'_') || value.iter().all(u8::is_ascii_digit))
}

/// False for values libinjection's XSS detector cannot flag: those without
/// `<` and without `=`.
///
/// Why it is sound: the detector flags a doctype, a comment or a black-listed
/// tag (all start with `<`), or an attribute value that follows a black-listed
/// attribute name; its HTML5 tokenizer yields an attribute value after a name
/// only past `=`. (The first value of the attribute-value contexts has no
/// name before it, so it is never flagged.) A differential test over the
/// shared corpora and a property test check it.
pub(crate) fn xss_possible(value: &[u8]) -> bool {
    memchr::memchr2(b'<', b'=', value).is_some()
}

/// Bytes one of which a text needs for `op` (not a regex) to match it, when
/// `op` is one whose matches need some: invalid UTF-8 has a byte >= 0x80
/// (ASCII is valid UTF-8, as ModSecurity's check agrees), an invalid
/// percent-encoding a `%`, and what `detect_xss` can flag a `<` or a `=`
/// ([`xss_possible`]). The scanner skips the operator on texts without them
/// (`DirectFilter::required`); a property test checks each.
pub(crate) fn required_bytes(op: &OpIr) -> Option<ByteSet> {
    match op {
        OpIr::InvalidUtf8 | OpIr::InvalidUtf8Modsec => Some(ByteSet::range(0x80, 0xff)),
        OpIr::InvalidUrlEncoding => Some(ByteSet::of(b"%")),
        OpIr::DetectXss => Some(ByteSet::of(b"<=")),
        _ => None,
    }
}

/// Evaluates `op` on `value`; the place of the match, if it matches.
pub(crate) fn eval(op: &OpIr, value: &[u8], program: &Program, work: &mut Work) -> Option<(usize, usize)> {
    let whole = Some((0, value.len()));
    match op {
        OpIr::Regex(id) if program.regexes[*id as usize].whole => whole,
        OpIr::Regex(id) => {
            let compiled = &program.regexes[*id as usize];
            let cache = work.regex_cache(*id, &compiled.regex);
            compiled.regex.search_with(cache, &Input::new(value)).map(|m| (m.start(), m.end()))
        }
        OpIr::Phrases { ac, .. } => ac.find(value).map(|m| (m.start(), m.end())),
        OpIr::Contains(s) => memchr::memmem::find(value, s).map(|at| (at, at + s.len())),
        OpIr::StartsWith(s) => value.starts_with(s).then_some((0, s.len())),
        OpIr::EndsWith(s) => value.ends_with(s).then(|| (value.len() - s.len(), value.len())),
        OpIr::Equals(s) => (value == &**s).then_some((0, value.len())),
        OpIr::InStrings(items) => items.binary_search_by(|i| (**i).cmp(value)).ok().and(whole),
        OpIr::InNetworks(nets) => {
            let ip = crate::compile::ir::parse_ip(value)?;
            nets.iter().any(|n| n.contains(ip)).then_some((0, value.len()))
        }
        OpIr::Compare(cmp, n) => {
            let v = crate::compile::ir::parse_integer(value)?;
            cmp.holds(v, *n).then_some((0, value.len()))
        }
        OpIr::Length(cmp, n) => cmp.holds(value.len() as u64, *n).then_some((0, value.len())),
        OpIr::DetectSqli => {
            let value = &value[..value.len().min(SQLI_MAX_BYTES)];
            (!single_token(value) && sqli::detect_sqli(value)).then_some((0, value.len()))
        }
        OpIr::DetectXss => {
            (xss_possible(value) && libinjectionrs::detect_xss(value).is_injection()).then_some((0, value.len()))
        }
        OpIr::InvalidUtf8 => std::str::from_utf8(value).err().map(|e| (e.valid_up_to(), value.len())),
        OpIr::InvalidUrlEncoding => crate::request::percent::has_invalid_percent(value).then_some((0, value.len())),
        OpIr::ByteRange(allowed) => {
            value.iter().position(|&b| allowed[usize::from(b >> 6)] & (1 << (b & 63)) == 0).map(|at| (at, at + 1))
        }
        OpIr::Within(list) => within(value, list),
        OpIr::Num(cmp, n) => cmp.holds(crate::compile::ir::atoi(value), *n).then_some((0, value.len())),
        OpIr::ContainsWord(word) => contains_word(value, word),
        OpIr::InvalidUtf8Modsec => invalid_utf8_modsec(value).map(|at| (at, value.len())),
        OpIr::Always => whole,
    }
}

/// Builds the SQL injection detector's keyword index now (it is built once
/// per process, on first use otherwise).
pub(crate) fn warm_sqli() {
    sqli::warm();
}

/// Whether `op` matches `value`, where the place does not matter (`when`
/// conditions): a regex stops at its first match state and runs no reverse
/// search for the match's start.
#[inline]
pub(crate) fn matches(op: &OpIr, value: &[u8], program: &Program, work: &mut Work) -> bool {
    match op {
        OpIr::Regex(id) if !program.regexes[*id as usize].whole => {
            let compiled = &program.regexes[*id as usize];
            let cache = work.regex_cache(*id, &compiled.regex);
            compiled.regex.search_half_with(cache, &Input::new(value).earliest(true)).is_some()
        }
        _ => eval(op, value, program, work).is_some(),
    }
}

/// Evaluates `op` once, outside a request (compile-time checks): true when
/// it matches `value`.
pub(crate) fn eval_once(op: &OpIr, value: &[u8], program: &Program) -> bool {
    let mut work = Work::default();
    work.regex_caches.resize_with(program.regexes.len(), || None);
    eval(op, value, program, &mut work).is_some()
}

/// SecLang `@within`: `value` occurs in `list` (an empty value always does).
pub(crate) fn within(value: &[u8], list: &[u8]) -> Option<(usize, usize)> {
    if value.is_empty() {
        return Some((0, 0));
    }
    memchr::memmem::find(list, value).map(|_| (0, value.len()))
}

/// SecLang `@containsWord`: `word` occurs in `value` with no word character
/// (ASCII letter, digit or `_`) right before or after it.
pub(crate) fn contains_word(value: &[u8], word: &[u8]) -> Option<(usize, usize)> {
    if word.is_empty() {
        return Some((0, 0));
    }
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    memchr::memmem::find_iter(value, word).find_map(|at| {
        let end = at + word.len();
        let before = at == 0 || !is_word(value[at - 1]);
        let after = end == value.len() || !is_word(value[end]);
        (before && after).then_some((at, end))
    })
}

/// Where ModSecurity's `@validateUtf8Encoding` finds a bad sequence: a byte
/// that cannot start one, a sequence cut short or with a bad continuation
/// byte, an overlong form, or a code point above U+10FFFF. (Unlike Rust's
/// check, encoded surrogates pass, as in ModSecurity.)
pub(crate) fn invalid_utf8_modsec(value: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < value.len() {
        let c = value[i];
        if c < 0x80 {
            i += 1;
            continue;
        }
        let (len, min, init) = if c & 0xE0 == 0xC0 {
            (2, 0x80, u32::from(c & 0x1F))
        } else if c & 0xF0 == 0xE0 {
            (3, 0x800, u32::from(c & 0x0F))
        } else if c & 0xF8 == 0xF0 {
            (4, 0x1_0000, u32::from(c & 0x07))
        } else {
            return Some(i);
        };
        if i + len > value.len() {
            return Some(i);
        }
        let mut d = init;
        for &b in &value[i + 1..i + len] {
            if b & 0xC0 != 0x80 {
                return Some(i);
            }
            d = d << 6 | u32::from(b & 0x3F);
        }
        if d < min || d > 0x10_FFFF {
            return Some(i);
        }
        i += len;
    }
    None
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn keywords() -> Vec<&'static str> {
        libinjectionrs::sqli::sqli_data::SQL_KEYWORDS.iter().map(|k| k.word).collect()
    }

    #[test]
    fn seclang_operators() {
        assert_eq!(within(b"GET", b"GET HEAD POST"), Some((0, 3)));
        assert_eq!(within(b"", b"x"), Some((0, 0)));
        assert_eq!(within(b"PUT", b"GET HEAD"), None);
        assert_eq!(contains_word(b"a select b", b"select"), Some((2, 8)));
        assert_eq!(contains_word(b"selected", b"select"), None);
        assert_eq!(invalid_utf8_modsec("é€😀".as_bytes()), None);
        assert_eq!(invalid_utf8_modsec(b"a\xc3"), Some(1));
        assert_eq!(invalid_utf8_modsec(b"\xc0\xaf"), Some(0), "overlong");
        assert_eq!(invalid_utf8_modsec(b"\xed\xa0\x80"), None, "surrogates pass");
        assert_eq!(invalid_utf8_modsec(b"\xf4\x90\x80\x80"), Some(0), "above U+10FFFF");
        assert_eq!(invalid_utf8_modsec(b"\x80"), Some(0));
    }

    #[test]
    fn no_single_word_or_number_is_an_injection() {
        for word in keywords().into_iter().chain(["1", "42", "0", "union", "select", "or", "and", "x", "_", "SLEEP"]) {
            let bytes = word.as_bytes();
            if single_token(bytes) {
                assert!(!sqli::detect_sqli(bytes), "{word} is flagged as SQLi");
                assert!(!libinjectionrs::detect_xss(bytes).is_injection(), "{word} is flagged as XSS");
            }
        }
    }

    #[test]
    fn corpus_xss_detections_all_have_a_tag_or_an_equals_sign() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus");
        let Ok(entries) = std::fs::read_dir(dir) else {
            eprintln!("skipped: ../shared/corpus not found");
            return;
        };
        let mut flagged = 0;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "jsonl") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for line in text.lines() {
                let Ok(r) = serde_json::from_str::<serde_json::Value>(line) else { continue };
                let mut values: Vec<Vec<u8>> = Vec::new();
                if let Some(uri) = r["uri"].as_str() {
                    let query = uri.split_once('?').map_or("", |(_, q)| q);
                    for part in query.split('&') {
                        let mut decoded = Vec::new();
                        crate::request::percent::percent_decode_into(part.as_bytes(), true, &mut decoded);
                        values.push(decoded);
                    }
                }
                if let Some(body) = r["body"].as_str() {
                    values.push(body.as_bytes().to_vec());
                }
                if let Some(headers) = r["headers"].as_array() {
                    values.extend(headers.iter().filter_map(|h| h[1].as_str()).map(|v| v.as_bytes().to_vec()));
                }
                for v in values {
                    if libinjectionrs::detect_xss(&v).is_injection() {
                        flagged += 1;
                        assert!(xss_possible(&v), "XSS without `<` or `=`: {:?}", String::from_utf8_lossy(&v));
                    }
                }
            }
        }
        assert!(flagged > 100, "the corpora hold XSS: {flagged} flagged");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        #[test]
        fn nothing_without_a_tag_or_an_equals_sign_is_xss(value in "[^<=]{0,40}") {
            prop_assert!(!libinjectionrs::detect_xss(value.as_bytes()).is_injection());
        }

        /// HTML-shaped fragments, everything but `<` and `=`.
        #[test]
        fn html_fragments_without_a_tag_or_an_equals_sign_are_not_xss(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "x", " ", "\t", "\n", "/", ">", "!", "--", "?", "\"", "'", "`", ":", ";", "&", "#", "(", ")",
                "onclick", "onerror", "onload", "style", "src", "href", "formaction", "javascript:", "vbscript:",
                "data:text/html", "alert(1)", "script", "svg", "DOCTYPE", "ENTITY", "[if", "xml", "import",
                "expression(", "url(", "\x00", "&#x3c;", "%3c",
            ]), 0..12)
        ) {
            let value = parts.concat();
            prop_assert!(!libinjectionrs::detect_xss(value.as_bytes()).is_injection(), "{:?}", value);
        }

        /// A text without the bytes `required_bytes` names for an operator
        /// never matches it (bytes drawn so that `%`, `<`, `=` and high bytes
        /// are common, and each operator's bytes filtered out).
        #[test]
        fn operators_need_their_required_bytes(
            value in proptest::collection::vec(
                prop_oneof![any::<u8>(), proptest::sample::select(&b"%<=\x80\xc3\xff0aF "[..])],
                0..40,
            )
        ) {
            let program = Program::default();
            let mut work = Work::default();
            for op in [OpIr::InvalidUtf8, OpIr::InvalidUtf8Modsec, OpIr::InvalidUrlEncoding, OpIr::DetectXss] {
                let required = required_bytes(&op).expect("these operators need bytes");
                let text: Vec<u8> = value.iter().copied().filter(|b| !required.contains(*b)).collect();
                prop_assert!(eval(&op, &text, &program, &mut work).is_none(), "{:?} {:?}", op, text);
            }
        }

        #[test]
        fn the_shortcut_agrees_with_the_detectors(word in "[A-Za-z_]{1,40}|[0-9]{1,40}") {
            prop_assert!(single_token(word.as_bytes()));
            prop_assert!(!sqli::detect_sqli(word.as_bytes()));
            prop_assert!(!libinjectionrs::detect_xss(word.as_bytes()).is_injection());
        }
    }
}
