//! The intermediate representation: what every front end (the rule language
//! today, SecLang tomorrow) compiles to, and what the planner and matcher use.
//!
//! A rule is an optional *scan* (targets, a transform pipeline, an operator:
//! the part that runs inside shared automaton passes) and an optional
//! *condition* (a boolean tree of further tests, evaluated only for rules whose
//! scan matched, or for rules without a scan). A SecLang chain is a scan plus a
//! condition that is the AND of the chained rules' tests.

use std::net::IpAddr;
use std::sync::Arc;

use aho_corasick::AhoCorasick;

use crate::dsl::ast::{Cidr, CmpOp, Flag, Severity};
use crate::eval::Phase;
use crate::request::{Source, SourceSet};
use crate::transform::Transform;

use super::regex::CompiledRegex;

/// Index of a rule in [`Program::rules`].
pub(crate) type RuleIdx = u32;
/// Index of an operator in [`Program::ops`].
pub(crate) type OpId = u32;
/// Index of a regex in [`Program::regexes`].
pub(crate) type RegexId = u32;
/// Index of a pipeline in [`Program::pipelines`].
pub(crate) type PipelineId = u32;

/// Everything compiled from the rule files, before planning.
#[derive(Debug, Default)]
pub(crate) struct Program {
    pub(crate) rules: Vec<RuleIr>,
    pub(crate) ops: Vec<OpIr>,
    pub(crate) regexes: Vec<CompiledRegex>,
    /// Distinct transform pipelines; index 0 is the empty pipeline.
    pub(crate) pipelines: Vec<Vec<Transform>>,
    /// Exclusions whose condition is evaluated per request.
    pub(crate) exclusions: Vec<ExclusionIr>,
    /// The SecLang rules, when the rule set has some.
    pub(crate) sec: Option<super::sec_ir::SecProgram>,
    /// The header names (lower case) that conditions name exactly, indexed
    /// once per request (see [`Program::index_condition_headers`]).
    pub(crate) cond_headers: Vec<Box<[u8]>>,
    /// The same names by length, for the per-request index.
    pub(crate) cond_header_ids: crate::request::NameIds,
}

impl Program {
    /// The id of a pipeline, adding it if new.
    pub(crate) fn pipeline(&mut self, transforms: &[Transform]) -> PipelineId {
        if self.pipelines.is_empty() {
            self.pipelines.push(Vec::new());
        }
        match self.pipelines.iter().position(|p| p == transforms) {
            Some(i) => i as PipelineId,
            None => {
                self.pipelines.push(transforms.to_vec());
                (self.pipelines.len() - 1) as PipelineId
            }
        }
    }

    /// Adds an operator.
    pub(crate) fn add_op(&mut self, op: OpIr) -> OpId {
        self.ops.push(op);
        (self.ops.len() - 1) as OpId
    }

    /// Gives every condition target that reads only header values, named
    /// exactly or not at all, a [`KeyIndex`] so that evaluating it looks up
    /// a per-request index of the headers (`request::HeaderIndex`) instead
    /// of comparing each request field's key with each name. Run once, after
    /// every rule and exclusion is lowered.
    pub(crate) fn index_condition_headers(&mut self) {
        let mut names = std::mem::take(&mut self.cond_headers);
        for rule in &mut self.rules {
            if let Some(when) = &mut rule.when {
                when.index_headers(&mut names);
            }
        }
        for ex in &mut self.exclusions {
            ex.when.index_headers(&mut names);
        }
        self.cond_header_ids = crate::request::NameIds::new(&names);
        self.cond_headers = names;
    }

    /// Adds a compiled regex.
    pub(crate) fn add_regex(&mut self, regex: CompiledRegex) -> RegexId {
        self.regexes.push(regex);
        (self.regexes.len() - 1) as RegexId
    }
}

/// What a matched rule does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RuleAction {
    /// Adds to the anomaly score.
    Score(u32),
    /// Blocks with this status (in block mode).
    Deny(u16),
    /// Lets the request through; nothing can block it afterwards.
    Allow,
    /// Records the match only.
    Log,
}

/// Which front end a rule comes from, and who decides it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RuleKind {
    /// A rule-language rule, decided in rule order after the scan.
    Native,
    /// A SecLang rule (index into the SecLang program's rules): decided by
    /// the SecLang walk; its scan, if any, only prefilters its first link.
    SecLang(u32),
    /// An extra prefilter scan of a SecLang rule (multiMatch); never reported.
    SecPrefilter,
}

/// One rule.
#[derive(Debug)]
pub(crate) struct RuleIr {
    pub(crate) kind: RuleKind,
    pub(crate) id: u32,
    pub(crate) message: Arc<str>,
    pub(crate) severity: Option<Severity>,
    pub(crate) paranoia: u8,
    pub(crate) tags: Vec<Arc<str>>,
    pub(crate) action: RuleAction,
    pub(crate) scan: Option<Scan>,
    pub(crate) when: Option<Cond>,
    /// The phase the rule is decided in: the latest phase its condition needs
    /// (or an explicit `phase`). Scan hits from earlier phases wait for it.
    pub(crate) phase: Phase,
    /// Exclusions that apply to this rule (indices into [`Program::exclusions`]
    /// for conditional ones, inline for static ones).
    pub(crate) exclusions: Vec<RuleExclusion>,
    /// `file:line` of the rule, for messages.
    pub(crate) origin: Arc<str>,
}

/// The part of a rule that runs inside shared automaton passes.
#[derive(Debug)]
pub(crate) struct Scan {
    pub(crate) targets: Vec<TargetIr>,
    pub(crate) pipeline: PipelineId,
    pub(crate) op: OpId,
    /// The rule matches a value the operator does not match.
    pub(crate) negated: bool,
}

impl Scan {
    /// The sources any target reads.
    pub(crate) fn sources(&self) -> SourceSet {
        self.targets.iter().fold(SourceSet::EMPTY, |acc, t| acc.union(t.sources))
    }

    /// True when some target that reads `source` accepts `key`.
    pub(crate) fn accepts(&self, source: Source, key: &[u8], regexes: &[CompiledRegex]) -> bool {
        self.targets.iter().any(|t| t.sources.contains(source) && t.accepts_key(key, regexes))
    }
}

/// A set of sources with key selectors.
#[derive(Clone, Debug)]
pub(crate) struct TargetIr {
    pub(crate) sources: SourceSet,
    /// Keys taken; empty means every key.
    pub(crate) include: Vec<KeyMatch>,
    /// Keys left out.
    pub(crate) exclude: Vec<KeyMatch>,
    /// How a condition finds this target's values (always
    /// [`KeyIndex::Keys`] in scans).
    pub(crate) index: KeyIndex,
}

/// How a condition target's values are found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) enum KeyIndex {
    /// Every request field's key is checked against the selectors.
    #[default]
    Keys,
    /// The target is the headers with these names: ids into
    /// [`Program::cond_headers`] (distinct).
    Headers(Box<[u16]>),
    /// The target is every header.
    AllHeaders,
}

impl TargetIr {
    /// True when both read the same values: the same sources and key selectors.
    pub(crate) fn same_values(&self, other: &TargetIr) -> bool {
        self.sources == other.sources && self.include == other.include && self.exclude == other.exclude
    }

    /// A target of `sources` with every key.
    pub(crate) fn of(sources: SourceSet) -> TargetIr {
        TargetIr { sources, include: Vec::new(), exclude: Vec::new(), index: KeyIndex::Keys }
    }

    /// The [`KeyIndex`] of this target, adding its names to `names`: a target
    /// of header values only, without exclusions, with no selector or only
    /// exact names (at most `u16::MAX` names in all).
    fn header_index(&self, names: &mut Vec<Box<[u8]>>) -> KeyIndex {
        if self.sources != SourceSet::of(&[Source::HeaderValue]) || !self.exclude.is_empty() {
            return KeyIndex::Keys;
        }
        if self.include.is_empty() {
            return KeyIndex::AllHeaders;
        }
        let mut ids: Vec<u16> = Vec::new();
        for k in &self.include {
            let KeyMatch::Exact(name) = k else { return KeyIndex::Keys };
            let lower: Box<[u8]> = name.to_ascii_lowercase().into();
            let id = match names.iter().position(|n| *n == lower) {
                Some(i) => i,
                None if names.len() < usize::from(u16::MAX) => {
                    names.push(lower);
                    names.len() - 1
                }
                None => return KeyIndex::Keys,
            };
            if !ids.contains(&(id as u16)) {
                ids.push(id as u16);
            }
        }
        KeyIndex::Headers(ids.into())
    }

    /// True when the selectors accept `key`.
    pub(crate) fn accepts_key(&self, key: &[u8], regexes: &[CompiledRegex]) -> bool {
        (self.include.is_empty() || self.include.iter().any(|k| k.matches(key, regexes)))
            && !self.exclude.iter().any(|k| k.matches(key, regexes))
    }
}

/// A key selector.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum KeyMatch {
    /// The key, ASCII case-insensitively.
    Exact(Box<[u8]>),
    /// A case-insensitive regex over the key.
    Regex(RegexId),
}

impl KeyMatch {
    pub(crate) fn matches(&self, key: &[u8], regexes: &[CompiledRegex]) -> bool {
        match self {
            KeyMatch::Exact(k) => k.eq_ignore_ascii_case(key),
            // Key regexes run outside the per-thread scratch: they are rare and
            // use the regex's internal cache pool, which does not allocate once warm.
            KeyMatch::Regex(id) => regexes.get(*id as usize).is_some_and(|r| r.is_match(key)),
        }
    }
}

/// A compiled operator.
#[derive(Debug)]
pub(crate) enum OpIr {
    Regex(RegexId),
    /// ASCII case-insensitive phrases (any occurrence).
    Phrases {
        phrases: Vec<Box<[u8]>>,
        ac: AhoCorasick,
    },
    Contains(Box<[u8]>),
    StartsWith(Box<[u8]>),
    EndsWith(Box<[u8]>),
    Equals(Box<[u8]>),
    /// Sorted, for binary search.
    InStrings(Vec<Box<[u8]>>),
    InNetworks(Vec<Cidr>),
    Compare(CmpOp, i64),
    Length(CmpOp, u64),
    DetectSqli,
    DetectXss,
    InvalidUtf8,
    InvalidUrlEncoding,
    /// Bitmap of allowed bytes; matches when some byte is not allowed.
    ByteRange([u64; 4]),
    /// SecLang `@within`: the value occurs in this text (an empty value does).
    Within(Box<[u8]>),
    /// SecLang `@eq`/`@gt`/...: both sides read as C's `atoi` (leading
    /// blanks, a sign, digits; anything else is 0).
    Num(CmpOp, i64),
    /// SecLang `@containsWord`: the text occurs with no word character on
    /// either side.
    ContainsWord(Box<[u8]>),
    /// SecLang `@validateUtf8Encoding`: ModSecurity's check (truncated,
    /// invalid, overlong or above U+10FFFF sequences; surrogates pass).
    InvalidUtf8Modsec,
    /// SecLang `@unconditionalMatch`.
    Always,
}

/// C's `atoi` as ModSecurity uses it (`std::stoi`, 0 on failure): leading
/// whitespace, an optional sign, then digits up to the first non-digit.
pub(crate) fn atoi(value: &[u8]) -> i64 {
    let mut i = 0;
    while i < value.len() && matches!(value[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
        i += 1;
    }
    let neg = match value.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let mut n: i64 = 0;
    let start = i;
    while i < value.len() && value[i].is_ascii_digit() {
        match n.checked_mul(10).and_then(|n| n.checked_add(i64::from(value[i] - b'0'))) {
            Some(next) if next <= i64::from(i32::MAX) + 1 => n = next,
            // std::stoi throws on overflow: ModSecurity then uses 0.
            _ => return 0,
        }
        i += 1;
    }
    if i == start {
        return 0;
    }
    let n = if neg { -n } else { n };
    if n > i64::from(i32::MAX) { 0 } else { n }
}

/// A boolean condition over the request.
#[derive(Debug)]
pub(crate) enum Cond {
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    Flag(Flag),
    /// Some value of the target, transformed, satisfies the operator (or, when
    /// negated, none does).
    Values {
        target: TargetIr,
        pipeline: PipelineId,
        op: OpId,
        negated: bool,
    },
    /// The number of values of the target satisfies the comparison.
    Count {
        target: TargetIr,
        op: CmpOp,
        value: i64,
        negated: bool,
    },
}

impl Cond {
    /// Sets the [`KeyIndex`] of every target in the condition.
    fn index_headers(&mut self, names: &mut Vec<Box<[u8]>>) {
        match self {
            Cond::And(parts) | Cond::Or(parts) => parts.iter_mut().for_each(|c| c.index_headers(names)),
            Cond::Not(inner) => inner.index_headers(names),
            Cond::Flag(_) => {}
            Cond::Values { target, .. } | Cond::Count { target, .. } => target.index = target.header_index(names),
        }
    }

    /// The latest phase whose data the condition reads.
    pub(crate) fn phase(&self) -> Phase {
        match self {
            Cond::And(parts) | Cond::Or(parts) => parts.iter().map(Cond::phase).max().unwrap_or(Phase::RequestHeaders),
            Cond::Not(inner) => inner.phase(),
            Cond::Flag(_) => Phase::RequestBody,
            Cond::Values { target, .. } | Cond::Count { target, .. } => target.sources.phase(),
        }
    }
}

/// An exclusion as it applies to one rule.
#[derive(Debug, Clone)]
pub(crate) struct RuleExclusion {
    /// Which values it removes; None means the whole rule.
    pub(crate) target: Option<TargetIr>,
    /// The conditional exclusion it belongs to, or None for an unconditional one.
    pub(crate) condition: Option<u32>,
}

/// A conditional exclusion: evaluated at the start of each phase.
#[derive(Debug)]
pub(crate) struct ExclusionIr {
    pub(crate) when: Cond,
}

/// Parses a value as a decimal integer (surrounding ASCII whitespace allowed).
pub(crate) fn parse_integer(value: &[u8]) -> Option<i64> {
    let v = value.trim_ascii();
    let (neg, digits) = match v.first() {
        Some(b'-') => (true, &v[1..]),
        Some(b'+') => (false, &v[1..]),
        _ => (false, v),
    };
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = digits.iter().try_fold(0i64, |acc, d| acc.checked_mul(10)?.checked_add(i64::from(d - b'0')))?;
    Some(if neg { -n } else { n })
}

/// Parses a client address as sent (IPv4, IPv6, optionally in brackets).
pub(crate) fn parse_ip(value: &[u8]) -> Option<IpAddr> {
    // Most client addresses are plain dotted quads: read them directly.
    if let Some(v4) = dotted_quad(value) {
        return Some(IpAddr::V4(v4));
    }
    let s = std::str::from_utf8(value).ok()?.trim();
    let s = s.strip_prefix('[').and_then(|s| s.strip_suffix(']')).unwrap_or(s);
    s.parse().ok()
}

/// `a.b.c.d` with four decimal octets of at most 255 and no leading zeros,
/// as the standard library reads an IPv4 address; `None` for anything else
/// (which [`parse_ip`] then reads the general way).
fn dotted_quad(value: &[u8]) -> Option<std::net::Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = value.split(|&b| b == b'.');
    for octet in &mut octets {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || (part.len() > 1 && part[0] == b'0') {
            return None;
        }
        let mut n: u16 = 0;
        for &b in part {
            if !b.is_ascii_digit() {
                return None;
            }
            n = n * 10 + u16::from(b - b'0');
        }
        *octet = u8::try_from(n).ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(std::net::Ipv4Addr::from(octets))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The general reading of an address, without the dotted-quad shortcut.
    fn parse_ip_general(value: &[u8]) -> Option<IpAddr> {
        let s = std::str::from_utf8(value).ok()?.trim();
        let s = s.strip_prefix('[').and_then(|s| s.strip_suffix(']')).unwrap_or(s);
        s.parse().ok()
    }

    #[test]
    fn dotted_quads_read_like_the_standard_library() {
        for text in [
            "127.0.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "1..2.3",
            "1.2.3.",
            ".1.2.3",
            " 1.2.3.4",
            "1.2.3.4 ",
            "[1.2.3.4]",
            "1.2.3.0004",
            "1.2.3.a",
            "::1",
            "2001:db8::1",
            "::ffff:1.2.3.4",
            "",
            "1.2.3.-4",
            "1.2.3.+4",
        ] {
            assert_eq!(parse_ip(text.as_bytes()), parse_ip_general(text.as_bytes()), "{text:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_text_reads_as_before(text in "[0-9.:\\[\\] a-f]{0,20}") {
            proptest::prop_assert_eq!(parse_ip(text.as_bytes()), parse_ip_general(text.as_bytes()));
        }

        #[test]
        fn any_quad_reads_as_before(a in 0u16..300, b in 0u16..300, c in 0u16..300, d in 0u16..300, zero in 0usize..5) {
            let mut parts = [a, b, c, d].map(|n| n.to_string());
            if let Some(p) = parts.get_mut(zero) {
                p.insert(0, '0');
            }
            let text = parts.join(".");
            proptest::prop_assert_eq!(parse_ip(text.as_bytes()), parse_ip_general(text.as_bytes()));
        }
    }

    #[test]
    fn integers() {
        assert_eq!(parse_integer(b" 42 "), Some(42));
        assert_eq!(parse_integer(b"-7"), Some(-7));
        assert_eq!(parse_integer(b"4x"), None);
        assert_eq!(parse_integer(b""), None);
        assert_eq!(parse_integer(b"99999999999999999999"), None);
    }

    #[test]
    fn atoi_reads_like_stoi() {
        assert_eq!(atoi(b" 42abc"), 42);
        assert_eq!(atoi(b"-7"), -7);
        assert_eq!(atoi(b"abc"), 0);
        assert_eq!(atoi(b""), 0);
        assert_eq!(atoi(b"99999999999"), 0);
    }
}
