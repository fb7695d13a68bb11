//! The planner: groups rules so that work is shared.
//!
//! For each value source (query argument values, header values, ...) the
//! rules that scan it are grouped by transform pipeline and by the keys they
//! read (rules on `headers["user-agent"]` form groups apart from rules on every
//! header, in scanners of their own, so other headers never run their
//! patterns), and the pipelines form a *trie*, so pipelines that share a
//! prefix share its transform runs.
//! All groups of a source share one *merged scanner* (up to 64 groups per
//! scanner; more make several): every member of the scanner carries its
//! group's bit. Per request value the matcher walks the trie, collects the
//! distinct transformed texts (pipelines whose outputs are byte-identical,
//! which is most of them for ordinary values, form one class) and runs the
//! merged scanner once per distinct text, with a mask of the groups that text
//! stands for:
//!
//! - one Aho-Corasick pass (ASCII case-insensitive, overlapping) over every
//!   literal: phrase lists, `contains`/`starts_with`/`ends_with`/`equals`
//!   strings (verified exactly after the hit), and the required literals of
//!   regexes, which only make a regex a *candidate*;
//! - one multi-pattern regex pass (`which_overlapping_matches`) over the
//!   regexes that have no usable literal, or a few when their unanchored
//!   regexes are too many for one lazy DFA (see [`SetChunk`]);
//! - candidate regexes are confirmed one by one; operators that are not
//!   pattern matches (`detect_sqli`, numeric comparisons, ...) run directly.
//!
//! Adding a rule adds patterns to automata, not passes (but for a set pass
//! per ~500 NFA states of unanchored literal-less regexes): cost grows with
//! the bytes inspected and the number of distinct transformed texts, not
//! with the number of rules. Sources with the same groups share their scanners.

use std::collections::HashMap;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex_automata::meta;
use regex_syntax::hir::Hir;

use super::ir::*;
use super::literal_dfa::LiteralDfa;
use super::regex::{
    CLEAN_TEXT_TIERS, SET_CHUNK_COMPLEXITY, SET_COMPLEXITY_LIMIT, clean_text_literals, compile_set, complexity,
    required_bytes,
};
use crate::eval::quick::{QuickConds, QuickRange};
use crate::request::Source;
use crate::transform::Transform;
use crate::transform::byteset::{ByteSet, CaseEffect, commonness};

/// Where an operator's match must sit, for literal operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Anchor {
    Anywhere,
    Start,
    End,
    Whole,
}

/// What a hit on one Aho-Corasick pattern means.
#[derive(Clone, Debug)]
pub(crate) enum AcOwner {
    /// A phrase of member `m`: a hit (case-insensitive, anywhere).
    Phrase(u32),
    /// A literal of member `m`: a hit if it sits at `anchor` and equals
    /// `exact` byte for byte.
    Literal { member: u32, anchor: Anchor, exact: Box<[u8]> },
    /// A required literal of member `m`'s regex: run the regex.
    Candidate(u32),
}

/// How a member's operator is evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MemberKind {
    /// Through the Aho-Corasick pass.
    Literal,
    /// Through the multi-regex pass.
    Set,
    /// A regex confirmed when one of its literals occurs.
    Prefiltered(RegexId),
    /// A regex with no required literal, but with some on texts that have
    /// no byte of `CLEAN_TEXT_TIERS[tier]`: on such a text it is confirmed
    /// when one of those literals occurs; on other texts it runs directly.
    Conditional(RegexId, u8),
    /// Evaluated directly on the value.
    Direct,
}

/// Largest Aho-Corasick DFA kept; above it the contiguous NFA is used. (With
/// keyed rules in scanners of their own, the every-header scanner is small
/// enough for a DFA; 8 KiB / 1 MiB measured best of 4 / 8 / 16 KiB and 0.5 / 1
/// / 2 MiB on benign-api with `rampart bench`, 2026-11-28; 16 KiB pushed the
/// compile time over 200 ms.)
const DFA_MEMORY_LIMIT: usize = 1 << 20;
/// Largest table of our own [`LiteralDfa`] (an upper bound it checks before
/// building: one state per pattern byte), which takes a fraction of the
/// crate's DFA's memory for the same patterns (byte classes with ASCII case
/// folded): the argument sources' sets of 1,700-1,900 patterns take 2.5-2.9
/// MiB, shared by the sources with the same patterns, and run in about a
/// third of the contiguous NFA's instructions. Their hot states (the root's
/// row and the first levels) stay in cache.
const LITERAL_DFA_MEMORY_LIMIT: usize = 8 << 20;
/// Pattern bytes above which no DFA is tried (it would exceed the limits,
/// and building it costs compile time).
const DFA_PATTERN_BYTES: usize = 32 << 10;

/// A set of header names, looked up by exact bytes: sorted by length, so
/// that a lookup compares only the few names of the key's length.
#[derive(Debug, Default)]
pub(crate) struct HeaderNames {
    /// The names sorted by length, one after the other.
    bytes: Vec<u8>,
    /// Per length `n`: where the names of length `n` start in `bytes` and
    /// where the next length's start (`n` bytes each).
    by_len: Vec<u32>,
    /// The empty name is in the set.
    empty: bool,
}

impl HeaderNames {
    pub(crate) fn new(mut names: Vec<Box<[u8]>>) -> HeaderNames {
        names.sort_unstable_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
        names.dedup();
        let longest = names.last().map_or(0, |n| n.len());
        let mut bytes = Vec::new();
        let mut by_len = Vec::with_capacity(longest + 2);
        let mut next = names.iter().peekable();
        for n in 0..=longest + 1 {
            by_len.push(bytes.len() as u32);
            while let Some(name) = next.next_if(|x| x.len() == n) {
                bytes.extend_from_slice(name);
            }
        }
        let empty = names.first().is_some_and(|n| n.is_empty());
        HeaderNames { bytes, by_len, empty }
    }

    pub(crate) fn contains(&self, name: &[u8]) -> bool {
        let n = name.len();
        if n + 1 >= self.by_len.len() {
            return false;
        }
        if n == 0 {
            return self.empty;
        }
        self.bytes[self.by_len[n] as usize..self.by_len[n + 1] as usize].chunks_exact(n).any(|x| x == name)
    }
}

/// Scanner masks a trie node keeps inline (see [`TrieNode::subtree_groups`]).
pub(crate) const INLINE_CHUNKS: usize = 4;

/// Most groups one merged scanner serves (one bit each in a `u64` mask).
pub(crate) const GROUPS_PER_SCANNER: usize = 64;

/// A rule inside a scanner.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Member {
    pub(crate) rule: RuleIdx,
    pub(crate) op: OpId,
    pub(crate) negated: bool,
    pub(crate) kind: MemberKind,
    /// The bit of the member's group in the scanner's masks.
    pub(crate) group: u8,
}

/// When a direct member's operator runs on a text.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DirectFilter {
    /// The shortest text the operator can match (regexes; 0 for others).
    pub(crate) min_len: usize,
    /// Bytes one of which it needs (regexes, and the detectors and
    /// validators of `op::required_bytes`). A text failing either test
    /// cannot match, so the operator does not run.
    pub(crate) required: Option<ByteSet>,
    /// For a [`MemberKind::Conditional`] regex: it runs directly only on
    /// texts with one of these bytes; on others the Aho-Corasick pass makes
    /// it a candidate.
    pub(crate) only_with: Option<ByteSet>,
}

/// The compiled matchers for the groups of one or more sources.
#[derive(Debug)]
pub(crate) struct Scanner {
    pub(crate) members: Vec<Member>,
    /// Shared by the scanners whose pattern lists are equal (the argument
    /// sources of the query, a form and a JSON body have the same).
    pub(crate) ac: Option<Arc<Literals>>,
    /// Owners of each Aho-Corasick pattern.
    pub(crate) ac_owners: Vec<Vec<AcOwner>>,
    /// The regex sets for members without literals (see [`SetChunk`]).
    pub(crate) sets: Vec<SetChunk>,
    /// Members evaluated directly.
    pub(crate) direct: Vec<u32>,
    /// Per direct member (same order): when its operator runs.
    pub(crate) direct_filters: Vec<DirectFilter>,
    /// Per group bit with direct members: (bit, range of `direct`). Members
    /// are made group by group, so each group's direct members are adjacent,
    /// and a value skips the groups its mask leaves out without looking at
    /// their members.
    pub(crate) direct_ranges: Vec<(u8, u32, u32)>,
    /// Negated members (the rule matches when the operator does not).
    pub(crate) negated: Vec<u32>,
    /// Groups with a member in the Aho-Corasick automaton.
    pub(crate) ac_groups: u64,
    /// Shortest text the Aho-Corasick patterns can match: shorter texts skip the pass.
    pub(crate) ac_min_len: usize,
    /// Bytes one of which any Aho-Corasick hit needs (both cases of letters):
    /// texts without them skip the pass. None: no filter.
    pub(crate) ac_required: Option<ByteSet>,
}

/// A scanner's literal automaton (ASCII case ignored, overlapping matches).
#[derive(Debug)]
pub(crate) enum Literals {
    /// Small sets: our own DFA, which runs the overlapping search in a
    /// fraction of the crate's instructions per byte.
    Dfa(Box<LiteralDfa>),
    /// Sets whose DFA would not fit [`DFA_MEMORY_LIMIT`]: the crate's
    /// automaton (a contiguous NFA for the large phrase sets).
    Crate(AhoCorasick),
}

impl Literals {
    /// Calls `f(pattern, start, end)` for every match in `t`, overlapping
    /// ones included, by end position.
    #[inline]
    pub(crate) fn for_each_match(&self, t: &[u8], mut f: impl FnMut(usize, usize, usize)) {
        match self {
            Literals::Dfa(dfa) => dfa.for_each_match(t, f),
            Literals::Crate(ac) => {
                for m in ac.find_overlapping_iter(t) {
                    f(m.pattern().as_usize(), m.start(), m.end());
                }
            }
        }
    }
}

/// One regex-set pass of a scanner: literal-less regexes matched together
/// (`which_overlapping_matches`). A scanner's set regexes are split into
/// chunks of bounded total [`complexity`]: the lazy DFA of a set grows with
/// the product of its members' states, and one set of CRS's 25 paranoia-2
/// SQLi/XSS regexes outgrew any reasonable cache, cleared it on nearly
/// every value and fell back to the PikeVM (6.2M instructions per benign
/// request; chunked, ~1M). Each chunk has its own cache and filters.
#[derive(Debug)]
pub(crate) struct SetChunk {
    pub(crate) regex: meta::Regex,
    /// Member of each pattern of `regex`.
    pub(crate) members: Vec<u32>,
    /// Groups with a member in this chunk.
    pub(crate) groups: u64,
    /// Shortest text any regex of the chunk can match: shorter texts skip it.
    pub(crate) min_len: usize,
    /// Bytes one of which any match of the chunk needs. None: no filter.
    pub(crate) required: Option<ByteSet>,
    /// Every regex of the chunk is anchored at the start of the value (`^`
    /// without multi-line): every match starts at 0, so the pass runs as an
    /// anchored search, which stops where no regex can go on matching
    /// instead of reading the rest of the value.
    pub(crate) anchored: bool,
}

/// The rules of one source that share a transform pipeline.
#[derive(Debug)]
pub(crate) struct Group {
    pub(crate) pipeline: PipelineId,
    /// The merged scanner (index into [`SourcePlan::scanners`]) and the group's bit in it.
    pub(crate) chunk: u16,
    pub(crate) bit: u8,
    /// When every rule of the group only reads some keys of this source: those keys.
    pub(crate) keys: Option<Vec<KeyMatch>>,
    /// The group's rules, in rule order.
    pub(crate) rules: Vec<RuleIdx>,
}

/// One step of a source's pipeline trie. Nodes are in depth-first order, so
/// when a node runs, the outputs of its ancestors are still in place.
#[derive(Debug)]
pub(crate) struct TrieNode {
    /// The transform this node applies to its parent's output; None for the root.
    pub(crate) transform: Option<Transform>,
    /// 0 for the root (the value itself), 1 for a first transform, ...
    pub(crate) depth: u8,
    /// Groups whose pipeline ends here: a range of [`SourcePlan::node_groups`]
    /// (kept in one array so that the walk reads no pointer per node).
    pub(crate) groups: (u32, u32),
    /// The index one past this node's subtree in the depth-first order.
    pub(crate) subtree_end: u32,
    /// The groups in this node's subtree, as one mask per merged scanner
    /// (the groups' bits in their scanners), inline for up to
    /// [`INLINE_CHUNKS`] scanners (every source of the built-in rules and of
    /// CRS), so the walk follows no pointer per node.
    pub(crate) subtree_groups: [u64; INLINE_CHUNKS],
    /// The rest, for sources with more scanners.
    pub(crate) subtree_more: Box<[u64]>,
}

/// Everything the matcher does with the values of one source.
#[derive(Debug, Default)]
pub(crate) struct SourcePlan {
    pub(crate) trie: Vec<TrieNode>,
    pub(crate) groups: Vec<Group>,
    /// Groups that read every key, one mask per merged scanner (they are
    /// active for every value). Group sets below are all such masks: the
    /// groups' bits in their scanners, so the matcher ORs whole masks.
    pub(crate) unkeyed: Vec<u64>,
    /// The distinct key matchers of the groups that read only some keys, each
    /// with the groups it selects: per value each matcher runs once, however
    /// many groups name it.
    pub(crate) key_matchers: Vec<(KeyMatch, Vec<u64>)>,
    /// The bytes one of which every key contains that some regex of
    /// `key_matchers` without a plain prefix matches (the first bytes of the
    /// regexes' required literals, both cases), when there are such regexes
    /// and each has required literals: a key with none of these bytes skips
    /// them (JSON keys against `args[\`(?:^|\.)@type$\`]`). Prefix and exact
    /// matchers are cheaper than the check and always run.
    pub(crate) key_regex_bytes: Option<ByteSet>,
    /// The lengths of the exact key names of `key_matchers` (bit `len`, bit
    /// 63 for 63 and longer) and their first bytes (both cases): a key of
    /// another length or first byte skips the exact matchers (a JSON path
    /// such as `items.12.name` against `args["page", "file", ...]`).
    pub(crate) exact_lengths: u64,
    pub(crate) exact_first: ByteSet,
    /// The values of JSON bodies, when no rule reading them leaves keys out
    /// (see [`Plan::key_checked`]): the scan of a value whose key no key
    /// matcher selects is a function of the value alone, and the value cache
    /// keeps it without its key, so the same value in every item of an array
    /// (`items.0.status`, `items.1.status`, ...) is scanned once. The key
    /// matchers then run before the lookup. Other sources keep their keys in
    /// the entries: their keys repeat from request to request, and a hit
    /// there skips the key matchers (header values, query arguments).
    pub(crate) key_free: bool,
    /// The texts of values that only change case in the source's pipelines
    /// (see [`CaseOnly`]); None when a transform may change any value.
    pub(crate) case_only: Option<CaseOnly>,
    /// The same for values with single spaces between words, which the
    /// pipelines may also take out (`remove_whitespace`): see
    /// [`Transform::spaced_triggers`].
    pub(crate) spaced: Option<CaseOnly>,
    /// The groups of every trie node, node after node (see [`TrieNode::groups`]):
    /// (scanner chunk, mask of its groups ending at the node).
    pub(crate) node_groups: Vec<(u16, u64)>,
    /// Merged scanners (indices into [`Plan::scanners`]), 64 groups each.
    pub(crate) scanners: Vec<u32>,
}

/// The distinct texts of a value that has none of [`CaseOnly::triggers`]: its
/// pipelines can then only change its case (each gives the value, its
/// lowercase or its uppercase, by the last step that changes case; see
/// [`Transform::case_effect`]), and, in the plan for values with single
/// spaces between words ([`SourcePlan::spaced`]), take the spaces out; so
/// the matcher makes those texts directly instead of walking the trie.
/// Numbers, identifiers, single words, most tokens and enum values take
/// this way, and plain prose (`Product 2 blue cotton shirt`).
#[derive(Debug, Default)]
pub(crate) struct CaseOnly {
    /// The union of the pipelines' [`Transform::case_triggers`] (or
    /// [`Transform::spaced_triggers`]).
    pub(crate) triggers: ByteSet,
    /// The union of their [`Transform::case_exceptions`]: values that take
    /// the walk although they have none of the triggers.
    pub(crate) exceptions: Vec<&'static [u8]>,
    /// By text, [`CaseOnly::text`]: per merged scanner, the groups whose
    /// pipeline gives that text.
    pub(crate) groups: [Vec<u64>; 6],
    /// Per merged scanner: the groups whose pipeline has a step.
    pub(crate) transformed: Vec<u64>,
}

impl CaseOnly {
    /// The index into [`CaseOnly::groups`] of the text a pipeline gives: by
    /// its case effect, then whether it takes the spaces out.
    pub(crate) fn text(effect: CaseEffect, spaces_removed: bool) -> usize {
        effect as usize * 2 + usize::from(spaces_removed)
    }

    /// The plan of a source's groups; `spaced` for values with single spaces.
    fn of(program: &Program, groups: &[Group], chunks: usize, spaced: bool) -> Option<CaseOnly> {
        let mut plan = CaseOnly {
            triggers: ByteSet::EMPTY,
            exceptions: Vec::new(),
            groups: std::array::from_fn(|_| vec![0; chunks]),
            transformed: vec![0; chunks],
        };
        for group in groups {
            let pipeline = &program.pipelines[group.pipeline as usize];
            let mut effect = CaseEffect::Same;
            let mut removed = false;
            for &t in pipeline {
                let triggers = if spaced { t.spaced_triggers()? } else { t.case_triggers()? };
                plan.triggers = plan.triggers.union(triggers);
                for &e in t.case_exceptions() {
                    if !plan.exceptions.contains(&e) {
                        plan.exceptions.push(e);
                    }
                }
                if t.case_effect() != CaseEffect::Same {
                    effect = t.case_effect();
                }
                removed |= spaced && t.removes_spaces();
            }
            let (chunk, bit) = (usize::from(group.chunk), 1u64 << group.bit);
            plan.groups[CaseOnly::text(effect, removed)][chunk] |= bit;
            if !pipeline.is_empty() {
                plan.transformed[chunk] |= bit;
            }
        }
        Some(plan)
    }
}

/// The whole plan.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    /// By [`Source::index`].
    pub(crate) sources: Vec<SourcePlan>,
    pub(crate) scanners: Vec<Scanner>,
    /// Rules without a scan, by the phase they are decided in, each with
    /// its condition in [`Plan::quick`] when it could be laid out there.
    pub(crate) unscanned: [Vec<(RuleIdx, Option<QuickRange>)>; 2],
    /// The conditions of rules without a scan, laid out flat.
    pub(crate) quick: QuickConds,
    /// Per rule: the sources whose keys must still be checked against the
    /// rule's targets when it hits, because a target leaves keys out
    /// (`!cookies["__utm"]`). For other sources the group being active for
    /// the key already means a target takes it.
    pub(crate) key_checked: Vec<crate::request::SourceSet>,
    /// Rules with a scan and a cheap `when` that reads only the request line
    /// and a few named headers (say, `headers["content-type"] regex `xml``):
    /// the condition is checked before the scan, and a rule whose condition
    /// fails skips its scanning work (its direct checks and regex
    /// confirmations; its patterns stay in the shared automata). By the
    /// phases whose values the rule scans.
    pub(crate) gated: [Vec<RuleIdx>; 2],
    /// The largest scanner's member count.
    pub(crate) max_members: usize,
    /// The deepest trie node (the longest pipeline).
    pub(crate) max_depth: usize,
    /// The most merged scanners of one source.
    pub(crate) max_chunks: usize,
    /// Per rule, the phases (bit `1 << phase`) whose scan goes on confirming
    /// the rule after its first hit and records each matching pair
    /// (`Results::pair_hits`), so that the SecLang walk tests only those: for
    /// the IR rules of SecLang rules, the phases up to the rule's own (a later
    /// phase's values cannot reach a walk that has run).
    pub(crate) tracks_pairs: Vec<u8>,
    /// Common header names whose scan finds nothing (see
    /// `eval::exec::clean_header_names`): their scan is skipped.
    pub(crate) clean_header_names: HeaderNames,
}

/// Builds the plan. Errors are internal (an automaton over its size limit).
pub(crate) fn plan(program: &Program) -> Result<Plan, String> {
    let mut plan = Plan::default();
    for (i, rule) in program.rules.iter().enumerate() {
        if rule.scan.is_none() && rule.kind == RuleKind::Native {
            let quick = rule.when.as_ref().and_then(|c| plan.quick.add(c, program));
            plan.unscanned[rule.phase as usize].push((i as RuleIdx, quick));
        }
    }
    for (i, rule) in program.rules.iter().enumerate() {
        if let Some(scan) = &rule.scan
            && rule.kind == RuleKind::Native
            && rule.when.as_ref().is_some_and(cheap_header_condition)
        {
            for phase in [crate::eval::Phase::RequestHeaders, crate::eval::Phase::RequestBody] {
                if scan.sources().iter().any(|s| s.phase() == phase) {
                    plan.gated[phase as usize].push(i as RuleIdx);
                }
            }
        }
    }
    plan.tracks_pairs = program
        .rules
        .iter()
        .map(|r| match r.kind {
            RuleKind::SecLang(_) | RuleKind::SecPrefilter => (2u8 << r.phase as u8) - 1,
            RuleKind::Native => 0,
        })
        .collect();
    plan.key_checked = program
        .rules
        .iter()
        .map(|rule| {
            let targets = rule.scan.iter().flat_map(|s| &s.targets);
            targets
                .filter(|t| !t.exclude.is_empty())
                .fold(crate::request::SourceSet::EMPTY, |acc, t| acc.union(t.sources))
        })
        .collect();
    let mut scanners_by_content: HashMap<Vec<Vec<RuleIdx>>, u32> = HashMap::new();
    let mut literals = HashMap::new();
    for source in Source::ALL {
        // Rules reading this source, by pipeline and by the keys they read,
        // in rule order: a rule on `headers["user-agent"]` does not share a
        // group with a rule on every header even when their pipelines agree,
        // so the values of other keys never run its patterns.
        let mut groups: Vec<(PipelineId, Option<Vec<KeyMatch>>, Vec<RuleIdx>)> = Vec::new();
        for (i, rule) in program.rules.iter().enumerate() {
            let Some(scan) = &rule.scan else { continue };
            if !scan.sources().contains(source) {
                continue;
            }
            let r = i as RuleIdx;
            let keys = key_filter(program, r, source);
            match groups.iter_mut().find(|(p, k, _)| *p == scan.pipeline && *k == keys) {
                Some((_, _, rules)) => rules.push(r),
                None => groups.push((scan.pipeline, keys, vec![r])),
            }
        }
        let mut sp = SourcePlan::default();
        // Groups that read every key come first, then the keyed groups, in
        // scanners of their own: the values of keys no keyed group reads (most
        // headers) run only the every-key scanners.
        groups.sort_by_key(|(_, keys, _)| keys.is_some());
        let mut chunks: Vec<Vec<usize>> = Vec::new();
        for (n, (pipeline, keys, rules)) in groups.into_iter().enumerate() {
            let start_new = match chunks.last() {
                None => true,
                Some(last) => last.len() == GROUPS_PER_SCANNER || sp.groups[last[0]].keys.is_some() != keys.is_some(),
            };
            if start_new {
                chunks.push(Vec::new());
            }
            let chunk = chunks.len() - 1;
            let bit = chunks[chunk].len();
            chunks[chunk].push(n);
            sp.groups.push(Group { pipeline, chunk: chunk as u16, bit: bit as u8, keys, rules });
        }
        for chunk in &chunks {
            let content: Vec<Vec<RuleIdx>> = chunk.iter().map(|&g| sp.groups[g].rules.clone()).collect();
            let id = match scanners_by_content.get(&content) {
                Some(&id) => id,
                None => {
                    let s = build_scanner(program, &content, &mut literals)?;
                    plan.max_members = plan.max_members.max(s.members.len());
                    plan.scanners.push(s);
                    let id = (plan.scanners.len() - 1) as u32;
                    scanners_by_content.insert(content, id);
                    id
                }
            };
            sp.scanners.push(id);
        }
        let (trie, node_groups) = build_trie(program, &sp.groups, sp.scanners.len());
        sp.trie = trie;
        sp.node_groups = node_groups;
        sp.unkeyed = vec![0; sp.scanners.len()];
        for group in &sp.groups {
            let (chunk, bit) = (usize::from(group.chunk), group.bit);
            match &group.keys {
                None => sp.unkeyed[chunk] |= 1 << bit,
                Some(keys) => {
                    for k in keys {
                        let i = match sp.key_matchers.iter().position(|(m, _)| same_key(program, m, k)) {
                            Some(i) => i,
                            None => {
                                sp.key_matchers.push((k.clone(), vec![0; sp.unkeyed.len()]));
                                sp.key_matchers.len() - 1
                            }
                        };
                        sp.key_matchers[i].1[chunk] |= 1 << bit;
                    }
                }
            }
        }
        sp.key_regex_bytes = key_regex_bytes(program, &sp.key_matchers);
        for (k, _) in &sp.key_matchers {
            if let KeyMatch::Exact(name) = k {
                sp.exact_lengths |= 1 << name.len().min(63);
                if let Some(&b) = name.first() {
                    sp.exact_first.insert(b.to_ascii_lowercase());
                    sp.exact_first.insert(b.to_ascii_uppercase());
                }
            }
        }
        sp.case_only = CaseOnly::of(program, &sp.groups, sp.scanners.len(), false);
        sp.spaced = CaseOnly::of(program, &sp.groups, sp.scanners.len(), true);
        sp.key_free = source == Source::JsonValue
            && !program.rules.iter().zip(&plan.key_checked).any(|(rule, checked)| {
                checked.contains(source) && rule.scan.as_ref().is_some_and(|s| s.sources().contains(source))
            });
        plan.max_depth = plan.max_depth.max(sp.trie.iter().map(|n| usize::from(n.depth)).max().unwrap_or(0));
        plan.max_chunks = plan.max_chunks.max(sp.scanners.len());
        plan.sources.push(sp);
    }
    Ok(plan)
}

/// Whether `cond` reads only headers-phase data and few values: request-line
/// parts and headers named exactly (not every header, not arguments), so that
/// checking it before scanning costs less than the scan it can save.
fn cheap_header_condition(cond: &Cond) -> bool {
    let cheap_target = |t: &TargetIr| {
        t.sources.phase() == crate::eval::Phase::RequestHeaders
            && t.sources.iter().all(|s| {
                Source::SCALARS.contains(&s)
                    || (s == Source::HeaderValue
                        && !t.include.is_empty()
                        && t.include.iter().all(|k| matches!(k, KeyMatch::Exact(_))))
            })
    };
    match cond {
        Cond::And(parts) | Cond::Or(parts) => parts.iter().all(cheap_header_condition),
        Cond::Not(inner) => cheap_header_condition(inner),
        Cond::Flag(_) => false,
        Cond::Values { target, .. } | Cond::Count { target, .. } => cheap_target(target),
    }
}

/// The pipeline trie of one source's groups, flattened depth-first, and the
/// nodes' groups (see [`SourcePlan::node_groups`]).
#[allow(clippy::type_complexity)]
fn build_trie(program: &Program, groups: &[Group], chunks: usize) -> (Vec<TrieNode>, Vec<(u16, u64)>) {
    if groups.is_empty() {
        return (Vec::new(), Vec::new());
    }
    // A tree of (transform, children, groups), then flattened.
    struct Node {
        transform: Option<Transform>,
        children: Vec<Node>,
        groups: Vec<u16>,
    }
    let mut root = Node { transform: None, children: Vec::new(), groups: Vec::new() };
    for (g, group) in groups.iter().enumerate() {
        let mut node = &mut root;
        for &t in &program.pipelines[group.pipeline as usize] {
            let i = match node.children.iter().position(|c| c.transform == Some(t)) {
                Some(i) => i,
                None => {
                    node.children.push(Node { transform: Some(t), children: Vec::new(), groups: Vec::new() });
                    node.children.len() - 1
                }
            };
            node = &mut node.children[i];
        }
        node.groups.push(g as u16);
    }
    fn flatten(
        node: Node,
        depth: u8,
        chunks: usize,
        all: &[Group],
        out: &mut Vec<TrieNode>,
        node_groups: &mut Vec<(u16, u64)>,
    ) -> Vec<u64> {
        let at = out.len();
        let mut here = vec![0u64; chunks];
        for &g in &node.groups {
            let group = &all[usize::from(g)];
            here[usize::from(group.chunk)] |= 1 << group.bit;
        }
        let start = node_groups.len() as u32;
        node_groups.extend(here.iter().enumerate().filter(|(_, m)| **m != 0).map(|(k, &m)| (k as u16, m)));
        let mut subtree = here;
        out.push(TrieNode {
            transform: node.transform,
            depth,
            groups: (start, node_groups.len() as u32),
            subtree_end: 0,
            subtree_groups: [0; INLINE_CHUNKS],
            subtree_more: Box::new([]),
        });
        for child in node.children {
            let below = flatten(child, depth + 1, chunks, all, out, node_groups);
            for (w, b) in subtree.iter_mut().zip(below) {
                *w |= b;
            }
        }
        out[at].subtree_end = out.len() as u32;
        let inline = subtree.len().min(INLINE_CHUNKS);
        out[at].subtree_groups[..inline].copy_from_slice(&subtree[..inline]);
        out[at].subtree_more = subtree[inline..].into();
        subtree
    }
    let mut out = Vec::new();
    let mut node_groups = Vec::new();
    flatten(root, 0, chunks, groups, &mut out, &mut node_groups);
    (out, node_groups)
}

/// Whether two key matchers select the same keys (regexes compiled from the
/// same pattern in different rules compare equal).
/// See [`SourcePlan::key_regex_bytes`].
fn key_regex_bytes(program: &Program, matchers: &[(KeyMatch, Vec<u64>)]) -> Option<ByteSet> {
    let mut bytes = ByteSet::EMPTY;
    let mut any = false;
    for (m, _) in matchers {
        let regex = match m {
            KeyMatch::Regex(id) if program.regexes[*id as usize].prefix.is_none() => &program.regexes[*id as usize],
            _ => continue,
        };
        for l in regex.literals.as_ref()? {
            let b = *l.first()?;
            bytes.insert(b.to_ascii_lowercase());
            bytes.insert(b.to_ascii_uppercase());
        }
        any = true;
    }
    any.then_some(bytes)
}

/// Whether the matcher must run on a key even when the key has none of
/// [`SourcePlan::key_regex_bytes`]: exact names and plain prefixes.
pub(crate) fn key_always_checked(program: &Program, m: &KeyMatch) -> bool {
    match m {
        KeyMatch::Exact(_) => true,
        KeyMatch::Regex(id) => program.regexes[*id as usize].prefix.is_some(),
    }
}

fn same_key(program: &Program, a: &KeyMatch, b: &KeyMatch) -> bool {
    match (a, b) {
        (KeyMatch::Exact(a), KeyMatch::Exact(b)) => a.eq_ignore_ascii_case(b),
        (KeyMatch::Regex(a), KeyMatch::Regex(b)) => {
            a == b || program.regexes[*a as usize].hir == program.regexes[*b as usize].hir
        }
        _ => false,
    }
}

/// The keys rule `r` reads from `source`, when every target of it that reads
/// the source names keys; None when one reads every key.
fn key_filter(program: &Program, r: RuleIdx, source: Source) -> Option<Vec<KeyMatch>> {
    let scan = program.rules[r as usize].scan.as_ref()?;
    let mut keys: Vec<KeyMatch> = Vec::new();
    for t in scan.targets.iter().filter(|t| t.sources.contains(source)) {
        if t.include.is_empty() {
            return None;
        }
        for k in &t.include {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
    }
    Some(keys)
}

/// Splits a scanner's set regexes into chunks and compiles each. Regexes
/// anchored at the start of the value (`^` without multi-line) go into
/// chunks of their own, run as anchored searches: such a pass stops as soon
/// as no regex can go on matching from the first byte, and the unanchored
/// chunks keep byte filters of their own (a chunk with one regex that needs
/// no particular byte would run on every value). The unanchored regexes (in
/// member order, so a group's regexes stay together) are split into chunks
/// whose total [`complexity`] is at most [`SET_CHUNK_COMPLEXITY`]. An
/// anchored regex is live only while the value keeps matching it from its
/// first byte, so it cannot multiply the states of the others the way an
/// unanchored one does (which restarts at every byte): anchored chunks are
/// not bounded.
fn chunk_sets(hirs: &[&Hir], set_members: &[u32], members: &[Member]) -> Result<Vec<SetChunk>, String> {
    let is_anchored = |h: &Hir| h.properties().look_set_prefix().contains(regex_syntax::hir::Look::Start);
    let mut chunks = Vec::new();
    for anchored in [true, false] {
        let (part_hirs, part_members): (Vec<&Hir>, Vec<u32>) =
            hirs.iter().zip(set_members).filter(|(h, _)| is_anchored(h) == anchored).map(|(&h, &m)| (h, m)).unzip();
        let weights: Vec<usize> = part_hirs.iter().map(|h| if anchored { 0 } else { complexity(h) }).collect();
        let mut start = 0;
        while start < part_hirs.len() {
            let mut end = start + 1;
            let mut total = weights[start];
            while end < part_hirs.len() && total + weights[end] <= SET_CHUNK_COMPLEXITY {
                total += weights[end];
                end += 1;
            }
            let part = &part_hirs[start..end];
            let chunk_members = part_members[start..end].to_vec();
            chunks.push(SetChunk {
                regex: compile_set(part).map_err(|e| format!("regex set: {e}"))?,
                groups: chunk_members.iter().fold(0, |g, &m| g | 1u64 << members[m as usize].group),
                members: chunk_members,
                min_len: part.iter().map(|h| h.properties().minimum_len().unwrap_or(0)).min().unwrap_or(0),
                required: part
                    .iter()
                    .map(|h| required_bytes(h))
                    .try_fold(ByteSet::EMPTY, |acc, r| r.map(|r| acc.union(r))),
                anchored,
            });
            start = end;
        }
    }
    Ok(chunks)
}

/// A merged scanner for up to 64 groups (`groups[bit]` = the group's rules).
/// `literals`: the automata built so far, by pattern list.
fn build_scanner(
    program: &Program,
    groups: &[Vec<RuleIdx>],
    literals: &mut HashMap<Vec<Vec<u8>>, Arc<Literals>>,
) -> Result<Scanner, String> {
    let mut members = Vec::new();
    let mut patterns: Vec<Vec<u8>> = Vec::new();
    let mut index: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut owners: Vec<Vec<AcOwner>> = Vec::new();
    let mut set_hirs = Vec::new();
    let mut set_members = Vec::new();
    let mut direct = Vec::new();
    let mut direct_filters = Vec::new();
    let mut negated = Vec::new();
    let mut ac_groups = 0u64;
    let mut add_pattern = |pattern: &[u8], owner: AcOwner| {
        let lower = pattern.to_ascii_lowercase();
        match index.get(&lower) {
            Some(&i) => owners[i].push(owner),
            None => {
                index.insert(lower.clone(), patterns.len());
                patterns.push(lower);
                owners.push(vec![owner]);
            }
        }
    };
    for (bit, rules) in groups.iter().enumerate() {
        let mask = 1u64 << bit;
        for &r in rules {
            let rule = &program.rules[r as usize];
            let Some(scan) = &rule.scan else { continue };
            let m = members.len() as u32;
            let op = &program.ops[scan.op as usize];
            let kind = match op {
                OpIr::Phrases { phrases, .. } => {
                    for p in phrases {
                        add_pattern(p, AcOwner::Phrase(m));
                    }
                    MemberKind::Literal
                }
                OpIr::Contains(s) | OpIr::StartsWith(s) | OpIr::EndsWith(s) | OpIr::Equals(s) if !s.is_empty() => {
                    let anchor = match op {
                        OpIr::Contains(_) => Anchor::Anywhere,
                        OpIr::StartsWith(_) => Anchor::Start,
                        OpIr::EndsWith(_) => Anchor::End,
                        _ => Anchor::Whole,
                    };
                    add_pattern(s, AcOwner::Literal { member: m, anchor, exact: s.clone() });
                    MemberKind::Literal
                }
                OpIr::Regex(id) => {
                    let compiled = &program.regexes[*id as usize];
                    match &compiled.literals {
                        Some(lits) => {
                            for l in lits {
                                add_pattern(l, AcOwner::Candidate(m));
                            }
                            MemberKind::Prefiltered(*id)
                        }
                        None if complexity(&compiled.hir) > SET_COMPLEXITY_LIMIT => {
                            match clean_text_literals(&compiled.hir) {
                                Some((tier, lits)) => {
                                    for l in &lits {
                                        add_pattern(l, AcOwner::Candidate(m));
                                    }
                                    MemberKind::Conditional(*id, tier)
                                }
                                None => MemberKind::Direct,
                            }
                        }
                        None => {
                            set_hirs.push(&compiled.hir);
                            set_members.push(m);
                            MemberKind::Set
                        }
                    }
                }
                _ => MemberKind::Direct,
            };
            match kind {
                MemberKind::Direct | MemberKind::Conditional(..) => {
                    direct.push(m);
                    let (min_len, required) = match op {
                        OpIr::Regex(id) => {
                            let hir = &program.regexes[*id as usize].hir;
                            (hir.properties().minimum_len().unwrap_or(0), required_bytes(hir))
                        }
                        _ => (0, crate::eval::op::required_bytes(op)),
                    };
                    let only_with = match kind {
                        MemberKind::Conditional(_, tier) => {
                            ac_groups |= mask;
                            Some(CLEAN_TEXT_TIERS[usize::from(tier)])
                        }
                        _ => None,
                    };
                    direct_filters.push(DirectFilter { min_len, required, only_with });
                }
                MemberKind::Set => {}
                MemberKind::Literal | MemberKind::Prefiltered(_) => ac_groups |= mask,
            }
            if scan.negated {
                negated.push(m);
            }
            members.push(Member { rule: r, op: scan.op, negated: scan.negated, kind, group: bit as u8 });
        }
    }
    let ac = if patterns.is_empty() {
        None
    } else if let Some(shared) = literals.get(&patterns) {
        Some(shared.clone())
    } else {
        // A full DFA: our own, whose byte classes keep even the argument
        // sources' 1,700-1,900 patterns under 3 MiB (one automaton for the
        // scanners with equal pattern lists), else the crate's while it stays
        // under 1 MiB; the contiguous NFA for larger sets. (Measured
        // 2026-11-27: the crate's DFA for every set took 3.5 MB per scanner
        // and tripled benign-api's p99; 2026-12-07: our DFA of those sets,
        // shared, took benign-api's median and p99 down in four alternating
        // runs of `rampart bench`, for 8.5 MiB more peak RSS.)
        let build = |kind| {
            AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .kind(Some(kind))
                .match_kind(MatchKind::Standard)
                .build(&patterns)
                .map_err(|e| format!("literal automaton: {e}"))
        };
        let total: usize = patterns.iter().map(Vec::len).sum();
        let ac = if total > DFA_PATTERN_BYTES {
            Literals::Crate(build(aho_corasick::AhoCorasickKind::ContiguousNFA)?)
        } else if let Some(dfa) = LiteralDfa::new(&patterns, LITERAL_DFA_MEMORY_LIMIT) {
            Literals::Dfa(Box::new(dfa))
        } else {
            let dfa = build(aho_corasick::AhoCorasickKind::DFA)?;
            if dfa.memory_usage() > DFA_MEMORY_LIMIT {
                Literals::Crate(build(aho_corasick::AhoCorasickKind::ContiguousNFA)?)
            } else {
                Literals::Crate(dfa)
            }
        };
        let ac = Arc::new(ac);
        literals.insert(patterns.clone(), ac.clone());
        Some(ac)
    };
    let ac_min_len = patterns.iter().map(Vec::len).min().unwrap_or(0);
    // For each pattern its least common byte (both cases: the automaton is
    // ASCII case-insensitive); a text with none of them cannot hit.
    let mut ac_required = ByteSet::EMPTY;
    for p in &patterns {
        if let Some(b) = p.iter().copied().min_by_key(|&b| commonness(b)) {
            ac_required.insert(b.to_ascii_lowercase());
            ac_required.insert(b.to_ascii_uppercase());
        }
    }
    let ac_required = (!patterns.is_empty()).then_some(ac_required);
    let sets = chunk_sets(&set_hirs, &set_members, &members)?;
    let mut direct_ranges: Vec<(u8, u32, u32)> = Vec::new();
    for (i, &m) in direct.iter().enumerate() {
        let bit = members[m as usize].group;
        match direct_ranges.last_mut() {
            Some((b, _, end)) if *b == bit => *end = i as u32 + 1,
            _ => direct_ranges.push((bit, i as u32, i as u32 + 1)),
        }
    }
    Ok(Scanner {
        members,
        ac,
        ac_owners: owners,
        sets,
        direct_ranges,
        direct,
        direct_filters,
        negated,
        ac_groups,
        ac_min_len,
        ac_required,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{HeaderNames, Literals};
    use crate::request::Source;

    /// The argument sources' large literal sets run on our DFA, and
    /// scanners with equal pattern lists share one automaton.
    #[test]
    fn large_literal_sets_are_shared_dfas() {
        let rs = crate::Ruleset::default_rules().unwrap();
        let literals = |source: Source| {
            let sp = &rs.plan.sources[source.index()];
            let id = sp.scanners[0] as usize;
            rs.plan.scanners[id].ac.clone().expect("argument scanners have literals")
        };
        // Different scanners (their rule lists differ)...
        let first = |source: Source| rs.plan.sources[source.index()].scanners[0];
        assert_ne!(first(Source::QueryValue), first(Source::FormValue));
        assert_ne!(first(Source::FormValue), first(Source::JsonValue));
        // ... with one automaton.
        let (query, form, json) =
            (literals(Source::QueryValue), literals(Source::FormValue), literals(Source::JsonValue));
        assert!(matches!(*json, Literals::Dfa(_)));
        assert!(Arc::ptr_eq(&query, &form) && Arc::ptr_eq(&form, &json));
    }

    #[test]
    fn header_names_find_exact_bytes_only() {
        let names = HeaderNames::new(
            ["Host", "Accept", "accept", "Cookie", "X-Api-Key", "Host"].iter().map(|n| n.as_bytes().into()).collect(),
        );
        for n in ["Host", "Accept", "accept", "Cookie", "X-Api-Key"] {
            assert!(names.contains(n.as_bytes()), "{n}");
        }
        for n in ["host", "ACCEPT", "Cookies", "", "X-Api-Ke", "a-much-longer-header-name-than-any"] {
            assert!(!names.contains(n.as_bytes()), "{n}");
        }
        assert!(!HeaderNames::default().contains(b"Host"));
        assert!(!HeaderNames::new(Vec::new()).contains(b""));
        assert!(HeaderNames::new(vec![b"".as_slice().into(), b"a".as_slice().into()]).contains(b""));
    }

    proptest::proptest! {
        #[test]
        fn header_names_answer_as_a_set(
            names in proptest::collection::vec("[a-cA-C-]{0,5}", 0..12),
            probes in proptest::collection::vec("[a-cA-C-]{0,6}", 0..12),
        ) {
            let set: std::collections::HashSet<&str> = names.iter().map(String::as_str).collect();
            let table = HeaderNames::new(names.iter().map(|n| n.as_bytes().into()).collect());
            for n in names.iter().chain(&probes) {
                proptest::prop_assert_eq!(table.contains(n.as_bytes()), set.contains(n.as_str()), "{}", n);
            }
        }
    }
}
