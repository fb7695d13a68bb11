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

/// Evaluates `op` on `value`; the place of the match, if it matches.
pub(crate) fn eval(op: &OpIr, value: &[u8], program: &Program, work: &mut Work) -> Option<(usize, usize)> {
    let whole = Some((0, value.len()));
    match op {
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
            (!single_token(value) && libinjectionrs::detect_xss(value).is_injection()).then_some((0, value.len()))
        }
        OpIr::InvalidUtf8 => std::str::from_utf8(value).err().map(|e| (e.valid_up_to(), value.len())),
        OpIr::InvalidUrlEncoding => crate::request::percent::has_invalid_percent(value).then_some((0, value.len())),
        OpIr::ByteRange(allowed) => {
            value.iter().position(|&b| allowed[usize::from(b >> 6)] & (1 << (b & 63)) == 0).map(|at| (at, at + 1))
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn keywords() -> Vec<&'static str> {
        libinjectionrs::sqli::sqli_data::SQL_KEYWORDS.iter().map(|k| k.word).collect()
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

    proptest! {
        #[test]
        fn the_shortcut_agrees_with_the_detectors(word in "[A-Za-z_]{1,40}|[0-9]{1,40}") {
            prop_assert!(single_token(word.as_bytes()));
            prop_assert!(!sqli::detect_sqli(word.as_bytes()));
            prop_assert!(!libinjectionrs::detect_xss(word.as_bytes()).is_injection());
        }
    }
}
