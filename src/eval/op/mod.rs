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
        OpIr::DetectSqli => sqli::detect_sqli(&value[..value.len().min(SQLI_MAX_BYTES)]).then_some((0, value.len())),
        OpIr::DetectXss => libinjectionrs::detect_xss(value).is_injection().then_some((0, value.len())),
        OpIr::InvalidUtf8 => std::str::from_utf8(value).err().map(|e| (e.valid_up_to(), value.len())),
        OpIr::InvalidUrlEncoding => crate::request::percent::has_invalid_percent(value).then_some((0, value.len())),
        OpIr::ByteRange(allowed) => {
            value.iter().position(|&b| allowed[usize::from(b >> 6)] & (1 << (b & 63)) == 0).map(|at| (at, at + 1))
        }
    }
}
