//! The planner: groups rules so that work is shared.
//!
//! For each value source (query argument values, header values, ...) and each
//! transform pipeline used on it, one *group* holds every rule that scans that
//! source with that pipeline. Per request value the matcher then runs each
//! pipeline once and each group's *scanner* once:
//!
//! - one Aho-Corasick pass (ASCII case-insensitive, overlapping) over every
//!   literal of the group: phrase lists, `contains`/`starts_with`/`ends_with`/
//!   `equals` strings (verified exactly after the hit), and the required
//!   literals of regexes, which only make a regex a *candidate*;
//! - one multi-pattern regex pass (`which_overlapping_matches`) over the
//!   regexes that have no usable literal;
//! - candidate regexes are confirmed one by one; operators that are not
//!   pattern matches (`detect_sqli`, numeric comparisons, ...) run directly.
//!
//! Adding a rule to a group adds patterns to its automata, not passes: cost
//! grows with the bytes inspected, not with the number of rules. Groups with
//! the same rules share one scanner.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex_automata::meta;

use super::ir::*;
use super::regex::compile_set;
use crate::eval::Phase;
use crate::request::{SOURCE_COUNT, Source};

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
    /// Evaluated directly on the value.
    Direct,
}

/// A rule inside a scanner.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Member {
    pub(crate) rule: RuleIdx,
    pub(crate) op: OpId,
    pub(crate) negated: bool,
    pub(crate) kind: MemberKind,
}

/// The compiled matchers for one set of rules.
#[derive(Debug)]
pub(crate) struct Scanner {
    pub(crate) members: Vec<Member>,
    pub(crate) ac: Option<AhoCorasick>,
    /// Owners of each Aho-Corasick pattern.
    pub(crate) ac_owners: Vec<Vec<AcOwner>>,
    pub(crate) set: Option<meta::Regex>,
    /// Member of each pattern of `set`.
    pub(crate) set_members: Vec<u32>,
    /// Members evaluated directly.
    pub(crate) direct: Vec<u32>,
    /// Negated members (the rule matches when the operator does not).
    pub(crate) negated: Vec<u32>,
}

/// One (source, pipeline) pair and the scanner for it.
#[derive(Debug)]
pub(crate) struct Group {
    pub(crate) pipeline: PipelineId,
    pub(crate) scanner: u32,
    /// When every member only reads some keys of this source: those keys.
    pub(crate) keys: Option<Vec<KeyMatch>>,
}

/// The whole plan.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    /// Groups to run for each source, by [`Source::index`].
    pub(crate) by_source: Vec<Vec<u32>>,
    pub(crate) groups: Vec<Group>,
    pub(crate) scanners: Vec<Scanner>,
    /// Rules without a scan, by the phase they are decided in.
    pub(crate) unscanned: [Vec<RuleIdx>; 2],
    /// The largest scanner's member count.
    pub(crate) max_members: usize,
}

/// Builds the plan. Errors are internal (an automaton over its size limit).
pub(crate) fn plan(program: &Program) -> Result<Plan, String> {
    let mut plan = Plan { by_source: vec![Vec::new(); SOURCE_COUNT], ..Plan::default() };
    for (i, rule) in program.rules.iter().enumerate() {
        if rule.scan.is_none() {
            let phase = match rule.phase {
                Phase::RequestHeaders => 0,
                Phase::RequestBody => 1,
            };
            plan.unscanned[phase].push(i as RuleIdx);
        }
    }
    let mut scanners_by_rules: HashMap<Vec<RuleIdx>, u32> = HashMap::new();
    for source in Source::ALL {
        // Rules reading this source, by pipeline, in rule order.
        let mut by_pipeline: Vec<(PipelineId, Vec<RuleIdx>)> = Vec::new();
        for (i, rule) in program.rules.iter().enumerate() {
            let Some(scan) = &rule.scan else { continue };
            if !scan.sources().contains(source) {
                continue;
            }
            match by_pipeline.iter_mut().find(|(p, _)| *p == scan.pipeline) {
                Some((_, rules)) => rules.push(i as RuleIdx),
                None => by_pipeline.push((scan.pipeline, vec![i as RuleIdx])),
            }
        }
        for (pipeline, rules) in by_pipeline {
            let scanner = match scanners_by_rules.get(&rules) {
                Some(&s) => s,
                None => {
                    let s = build_scanner(program, &rules)?;
                    plan.max_members = plan.max_members.max(s.members.len());
                    plan.scanners.push(s);
                    let id = (plan.scanners.len() - 1) as u32;
                    scanners_by_rules.insert(rules.clone(), id);
                    id
                }
            };
            let keys = key_filter(program, &rules, source);
            plan.groups.push(Group { pipeline, scanner, keys });
            plan.by_source[source.index()].push((plan.groups.len() - 1) as u32);
        }
    }
    Ok(plan)
}

/// The union of the keys the rules read from `source`, when every rule names keys.
fn key_filter(program: &Program, rules: &[RuleIdx], source: Source) -> Option<Vec<KeyMatch>> {
    let mut keys: Vec<KeyMatch> = Vec::new();
    for &r in rules {
        let scan = program.rules[r as usize].scan.as_ref()?;
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
    }
    Some(keys)
}

fn build_scanner(program: &Program, rules: &[RuleIdx]) -> Result<Scanner, String> {
    let mut members = Vec::new();
    let mut patterns: Vec<Vec<u8>> = Vec::new();
    let mut owners: Vec<Vec<AcOwner>> = Vec::new();
    let mut set_hirs = Vec::new();
    let mut set_members = Vec::new();
    let mut direct = Vec::new();
    let mut negated = Vec::new();
    let mut add_pattern = |pattern: &[u8], owner: AcOwner| {
        let lower = pattern.to_ascii_lowercase();
        match patterns.iter().position(|p| *p == lower) {
            Some(i) => owners[i].push(owner),
            None => {
                patterns.push(lower);
                owners.push(vec![owner]);
            }
        }
    };
    for &r in rules {
        let rule = &program.rules[r as usize];
        let Some(scan) = &rule.scan else { continue };
        let m = members.len() as u32;
        let op = &program.ops[scan.op as usize];
        let literal = |anchor: Anchor, s: &[u8]| (!s.is_empty()).then(|| (anchor, Box::<[u8]>::from(s)));
        let kind = match op {
            OpIr::Phrases { phrases, .. } => {
                for p in phrases {
                    add_pattern(p, AcOwner::Phrase(m));
                }
                MemberKind::Literal
            }
            OpIr::Contains(s) | OpIr::StartsWith(s) | OpIr::EndsWith(s) | OpIr::Equals(s) => {
                let anchor = match op {
                    OpIr::Contains(_) => Anchor::Anywhere,
                    OpIr::StartsWith(_) => Anchor::Start,
                    OpIr::EndsWith(_) => Anchor::End,
                    _ => Anchor::Whole,
                };
                match literal(anchor, s) {
                    Some((anchor, exact)) => {
                        add_pattern(s, AcOwner::Literal { member: m, anchor, exact });
                        MemberKind::Literal
                    }
                    None => MemberKind::Direct,
                }
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
                    None => {
                        set_hirs.push(&compiled.hir);
                        set_members.push(m);
                        MemberKind::Set
                    }
                }
            }
            _ => MemberKind::Direct,
        };
        if kind == MemberKind::Direct {
            direct.push(m);
        }
        if scan.negated {
            negated.push(m);
        }
        members.push(Member { rule: r, op: scan.op, negated: scan.negated, kind });
    }
    let ac = if patterns.is_empty() {
        None
    } else {
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&patterns)
            .map_err(|e| format!("literal automaton: {e}"))?;
        Some(ac)
    };
    let set =
        if set_hirs.is_empty() { None } else { Some(compile_set(&set_hirs).map_err(|e| format!("regex set: {e}"))?) };
    Ok(Scanner { members, ac, ac_owners: owners, set, set_members, direct, negated })
}
