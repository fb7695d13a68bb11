//! What a transaction found: hits, matched rules, score, counters.

use std::sync::Arc;

use super::{Phase, Verdict};
use crate::compile::Ruleset;
use crate::compile::ir::RuleIdx;
use crate::dsl::ast::Severity;
use crate::request::{ByteRange, Source};

/// The pairs whose scan results [`Results::pair_hits`] records: the first 64
/// of a request (those past it are tested by the SecLang walk as if flagged).
pub(crate) const PAIR_BITS: u32 = 64;

/// Rule states in [`Results::rule_state`].
pub(crate) const UNSEEN: u8 = 0;
pub(crate) const HIT: u8 = 1;
pub(crate) const MATCHED: u8 = 2;
pub(crate) const REJECTED: u8 = 3;
/// Its `when` failed before this phase's scan (see `Plan::gated`): not scanned
/// in this phase, and back to `UNSEEN` after it.
pub(crate) const GATED: u8 = 4;

/// Bytes of the matched value kept for logs.
pub(crate) const SNIPPET_MAX: usize = 64;

/// Work counters of one transaction, for tests and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Request values that at least one group inspected.
    pub values_inspected: u64,
    /// Transform pipelines run (one per value and distinct non-empty pipeline).
    pub pipeline_runs: u64,
    /// Automaton passes: Aho-Corasick and multi-regex scans over a value.
    pub automaton_passes: u64,
    /// Single regexes run to confirm a prefilter hit or find a match's place.
    pub regex_confirmations: u64,
    /// Operators evaluated directly (detect_sqli, comparisons, ...).
    pub direct_checks: u64,
    /// Single transform steps run (pipelines sharing a prefix share its steps).
    pub transform_steps: u64,
    /// Literal occurrences the Aho-Corasick passes reported.
    pub literal_hits: u64,
    /// Values the SecLang walk tested (transforms and operator).
    pub sec_values_tested: u64,
    /// Values not scanned because the scratch's value cache knew them clean
    /// (see [`crate::Config::value_cache_bytes`]); not in `values_inspected`.
    pub values_cached: u64,
}

/// Where bytes sit in a [`StableText`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TextRange {
    chunk: u32,
    start: u32,
    end: u32,
}

/// An arena whose bytes never move until it is cleared: it is a list of
/// chunks, each filled only up to the capacity it was made with. Views into it
/// (the field names and snippets a C host reads through `rampart_match`) stay
/// valid across later evaluations of the same transaction. Chunks are kept
/// between requests, so a warmed-up arena allocates nothing.
#[derive(Debug, Default)]
pub(crate) struct StableText {
    chunks: Vec<Vec<u8>>,
    current: usize,
}

impl StableText {
    const CHUNK: usize = 4096;

    pub(crate) fn clear(&mut self) {
        for c in &mut self.chunks {
            c.clear();
        }
        self.current = 0;
    }

    /// Makes room for `len` more bytes in one chunk; returns where they go.
    pub(crate) fn reserve(&mut self, len: usize) -> TextRange {
        loop {
            match self.chunks.get(self.current) {
                Some(c) if c.capacity() - c.len() >= len => break,
                Some(_) => self.current += 1,
                None => {
                    self.chunks.push(Vec::with_capacity(len.max(Self::CHUNK)));
                    self.current = self.chunks.len() - 1;
                }
            }
        }
        let at = self.chunks[self.current].len() as u32;
        TextRange { chunk: self.current as u32, start: at, end: at }
    }

    /// Appends bytes after a [`StableText::reserve`] for at least their length.
    pub(crate) fn push(&mut self, range: &mut TextRange, bytes: &[u8]) {
        let chunk = &mut self.chunks[range.chunk as usize];
        let room = chunk.capacity() - chunk.len();
        let bytes = &bytes[..bytes.len().min(room)];
        chunk.extend_from_slice(bytes);
        range.end = chunk.len() as u32;
    }

    pub(crate) fn get(&self, r: TextRange) -> &[u8] {
        self.chunks.get(r.chunk as usize).and_then(|c| c.get(r.start as usize..r.end as usize)).unwrap_or(&[])
    }
}

/// The first hit of a rule (or the decision of a rule without a scan).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Hit {
    pub(crate) rule: RuleIdx,
    pub(crate) source: Option<Source>,
    /// The key, in the request's arena.
    pub(crate) key: ByteRange,
    pub(crate) offset: u32,
    /// In [`Results::text`].
    pub(crate) snippet: TextRange,
    /// In [`Results::text`], written when the rule is decided.
    pub(crate) field: TextRange,
    pub(crate) phase: Phase,
}

/// A transaction's results. Cleared, not freed, between requests.
#[derive(Debug, Default)]
pub(crate) struct Results {
    pub(crate) rule_state: Vec<u8>,
    /// Per rule the scan tracks (`Plan::tracks_pairs`): bit `i` set when
    /// pair `i` of the request (`i` < [`PAIR_BITS`]) matched the rule's scan.
    /// Empty without SecLang rules.
    pub(crate) pair_hits: Vec<u64>,
    pub(crate) hits: Vec<Hit>,
    /// Indices into `hits` of matched rules, in decision order.
    pub(crate) matched: Vec<u32>,
    /// Snippets and field names of hits.
    pub(crate) text: StableText,
    pub(crate) score: u32,
    pub(crate) deny: Option<u16>,
    pub(crate) allowed: bool,
    pub(crate) done: [bool; 2],
    pub(crate) stats: Stats,
    pub(crate) exclusion_active: Vec<bool>,
    pub(crate) verdict: Verdict,
    /// SecLang state: TX variables, matched variables, run-time removals.
    pub(crate) sec: super::sec::SecState,
}

impl Results {
    pub(crate) fn for_ruleset(rs: &Ruleset) -> Results {
        let mut r = Results::default();
        r.clear(rs);
        r
    }

    pub(crate) fn clear(&mut self, rs: &Ruleset) {
        self.rule_state.clear();
        self.rule_state.resize(rs.program.rules.len(), UNSEEN);
        self.pair_hits.clear();
        if rs.program.sec.is_some() {
            self.pair_hits.resize(rs.program.rules.len(), 0);
        }
        self.hits.clear();
        self.matched.clear();
        self.text.clear();
        self.score = 0;
        self.deny = None;
        self.allowed = false;
        self.done = [false; 2];
        self.stats = Stats::default();
        self.exclusion_active.clear();
        self.exclusion_active.resize(rs.program.exclusions.len(), false);
        self.verdict = Verdict::default();
        self.sec.clear(rs);
    }

    pub(crate) fn text(&self, r: TextRange) -> &[u8] {
        self.text.get(r)
    }
}

/// One matched rule, as reported to the host.
#[derive(Clone, Copy, Debug)]
pub struct Match<'a> {
    pub(crate) id: u32,
    pub(crate) message: &'a str,
    pub(crate) severity: Option<Severity>,
    pub(crate) tags: &'a [Arc<str>],
    pub(crate) field: &'a str,
    pub(crate) offset: u32,
    pub(crate) snippet: &'a [u8],
    pub(crate) phase: Phase,
}

impl<'a> Match<'a> {
    /// The rule id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The rule's message.
    pub fn message(&self) -> &'a str {
        self.message
    }

    /// The rule's severity, if it has one.
    pub fn severity(&self) -> Option<Severity> {
        self.severity
    }

    /// The rule's tags.
    pub fn tags(&self) -> impl Iterator<Item = &'a str> {
        self.tags.iter().map(|t| &**t)
    }

    /// The field that matched, as a rule author writes it: `args["q"]`,
    /// `headers["user-agent"]` (header names lowercased, as they compare),
    /// `path`; empty for rules decided by `when` alone. Non-printable key
    /// bytes are escaped as `\xNN`.
    pub fn field(&self) -> &'a str {
        self.field
    }

    /// Byte offset of the match in the transformed value.
    pub fn offset(&self) -> u32 {
        self.offset
    }

    /// The matched bytes of the transformed value, at most 64.
    pub fn snippet(&self) -> &'a [u8] {
        self.snippet
    }

    /// The phase the rule matched in.
    pub fn phase(&self) -> Phase {
        self.phase
    }
}
