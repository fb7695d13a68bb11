//! Evaluation of `when` conditions and exclusion conditions.

use super::Phase;
use super::clean_cache::{CleanCache, entry_hash};
use super::exec::run_pipeline;
use super::op;
use super::scratch::Scratch;
use crate::compile::Ruleset;
use crate::compile::ir::{Cond, KeyIndex, OpIr, TargetIr};
use crate::compile::regex::CompiledRegex;
use crate::dsl::ast::Flag;
use crate::request::{Fields, Origin, RequestData, Source};

/// True when `cond` holds for the request as known at `phase`.
pub(crate) fn eval(cond: &Cond, rs: &Ruleset, req: &RequestData, scratch: &mut Scratch, phase: Phase) -> bool {
    match cond {
        Cond::And(parts) => parts.iter().all(|c| eval(c, rs, req, scratch, phase)),
        Cond::Or(parts) => parts.iter().any(|c| eval(c, rs, req, scratch, phase)),
        Cond::Not(inner) => !eval(inner, rs, req, scratch, phase),
        &Cond::Flag(f) => flag(req, f),
        Cond::Values { target, pipeline, op: op_id, negated } => {
            let program = &rs.program;
            let transforms = &program.pipelines[*pipeline as usize];
            let operator = &program.ops[*op_id as usize];
            let memo = matches!(operator, OpIr::Regex(_) | OpIr::Phrases { .. } | OpIr::DetectSqli | OpIr::DetectXss);
            // A regex's required bytes answer most values without a search.
            // On a long value without transforms they are looked for before
            // the memo hashes it; a short value is looked up first (a kept
            // answer costs less than the search for the bytes). The gate is
            // read only then: most conditions meet short, kept values.
            let gate = || match operator {
                OpIr::Regex(id) => program.regexes[*id as usize].required,
                _ => None,
            };
            let found = any_value(
                rs,
                req,
                target,
                phase,
                |value, scratch| {
                    if value.len() >= GATE_BEFORE_MEMO
                        && transforms.is_empty()
                        && gate().is_some_and(|g| !g.occurs_in(value))
                    {
                        return false;
                    }
                    let Scratch { cond_bufs, work, clean, .. } = scratch;
                    let mut test = || {
                        let text = run_pipeline(transforms, value, cond_bufs);
                        gate().is_none_or(|g| g.occurs_in(text)) && op::matches(operator, text, program, work)
                    };
                    if memo { memo_op(clean, *pipeline, *op_id, value, test) } else { test() }
                },
                scratch,
            );
            found != *negated
        }
        Cond::Count { target, op, value, negated } => {
            let n = match &target.index {
                KeyIndex::Keys => None,
                KeyIndex::Headers(ids) => {
                    Some(ids.iter().map(|&id| i64::from(req.header_index.counts[usize::from(id)])).sum())
                }
                KeyIndex::AllHeaders => Some(req.header_count as i64),
            };
            if let Some(n) = n {
                return op.holds(n, *value) != *negated;
            }
            // Pairs counted but not parsed are counted again here when
            // every key is taken; a key selector needs them parsed.
            let every_key = target.include.is_empty() && target.exclude.is_empty();
            let mut n: i64 = 0;
            if every_key {
                for (g, origin) in UNPARSED {
                    let Some(pairs) = req.unparsed[g] else { continue };
                    for name in [true, false] {
                        let s = Source::of_pair(origin, name);
                        if target.sources.contains(s) && s.phase() <= phase {
                            n += i64::from(pairs);
                        }
                    }
                }
            }
            any_value_of(
                rs,
                req,
                target,
                phase,
                !every_key,
                |_, _| {
                    n += 1;
                    false
                },
                scratch,
            );
            op.holds(n, *value) != *negated
        }
    }
}

/// Whether the request has the flag.
pub(crate) fn flag(req: &RequestData, flag: Flag) -> bool {
    match flag {
        Flag::BodyError => req.body_error.is_some(),
        Flag::EncodingError => req.encoding_error,
        Flag::LimitExceeded => req.limit.is_some(),
    }
}

/// Values from this length on are checked for a condition regex's required
/// bytes before the value cache is asked for a kept result (see `eval`).
const GATE_BEFORE_MEMO: usize = 64;

/// The value cache's source bytes of an operator's result (see [`memo_op`]);
/// entries are found by a hash over [`MEMO`].
const MEMO: u8 = 0x90;
const MEMO_FALSE: u8 = 0x90;
const MEMO_TRUE: u8 = 0x91;

/// The result of operator `op` on `value` transformed by `pipeline`, from
/// the value cache when it holds it, else from `test` (and then kept).
/// Operators are functions of their input, and the cache is emptied when the
/// ruleset changes, so a kept result is the result.
fn memo_op(clean: &mut CleanCache, pipeline: u32, op: u32, value: &[u8], test: impl FnOnce() -> bool) -> bool {
    let mut key = [0u8; 8];
    key[..4].copy_from_slice(&pipeline.to_le_bytes());
    key[4..].copy_from_slice(&op.to_le_bytes());
    if !clean.takes(key.len(), value.len()) {
        return test();
    }
    let hash = entry_hash(MEMO, &key, value);
    match clean.source_of(hash, &key, value) {
        Some(MEMO_TRUE) => return true,
        Some(MEMO_FALSE) => return false,
        _ => {}
    }
    let result = test();
    if clean.learns(hash, key.len(), value.len()) {
        clean.insert(hash, if result { MEMO_TRUE } else { MEMO_FALSE }, &key, value);
    }
    result
}

/// The groups of pairs a request may hold counted but not parsed
/// ([`RequestData::unparsed`]), by index.
const UNPARSED: [(usize, Origin); 3] = [(0, Origin::Query), (1, Origin::Cookie), (2, Origin::Form)];

/// Calls `f` on each value of `target` known at `phase` until it returns true.
fn any_value(
    rs: &Ruleset,
    req: &RequestData,
    target: &TargetIr,
    phase: Phase,
    f: impl FnMut(&[u8], &mut Scratch) -> bool,
    scratch: &mut Scratch,
) -> bool {
    any_value_of(rs, req, target, phase, true, f, scratch)
}

/// [`any_value`], with the pairs counted but not parsed only when `unparsed`
/// (they are parsed into the scratch for it).
fn any_value_of(
    rs: &Ruleset,
    req: &RequestData,
    target: &TargetIr,
    phase: Phase,
    unparsed: bool,
    mut f: impl FnMut(&[u8], &mut Scratch) -> bool,
    scratch: &mut Scratch,
) -> bool {
    match &target.index {
        KeyIndex::Keys => {}
        KeyIndex::Headers(ids) => {
            for &(pair, id) in &req.header_index.named {
                if ids.contains(&id) && f(req.fields.get(req.fields.pairs[pair as usize].value), scratch) {
                    return true;
                }
            }
            return false;
        }
        KeyIndex::AllHeaders => {
            for pair in &req.fields.pairs {
                if pair.origin == Origin::Header && f(req.fields.get(pair.value), scratch) {
                    return true;
                }
            }
            return false;
        }
    }
    let regexes = &rs.program.regexes;
    for s in Source::SCALARS {
        if target.sources.contains(s)
            && s.phase() <= phase
            && let Some(v) = req.scalar(s)
            && (s != Source::Body || !v.is_empty())
            && f(v, scratch)
        {
            return true;
        }
    }
    if !target.sources.has_pairs() {
        return false;
    }
    if any_pair(&req.fields, target, phase, regexes, &mut f, scratch) {
        return true;
    }
    if !unparsed {
        return false;
    }
    for (g, origin) in UNPARSED {
        if req.unparsed[g].is_none()
            || ![true, false].into_iter().any(|name| target.sources.contains(Source::of_pair(origin, name)))
        {
            continue;
        }
        let mut fields = std::mem::take(&mut scratch.unparsed);
        req.parse_unparsed(origin, &mut fields);
        let found = any_pair(&fields, target, phase, regexes, &mut f, scratch);
        scratch.unparsed = fields;
        if found {
            return true;
        }
    }
    false
}

/// Calls `f` on each name and value of `fields`' pairs that `target` reads
/// at `phase` until it returns true.
fn any_pair(
    fields: &Fields,
    target: &TargetIr,
    phase: Phase,
    regexes: &[CompiledRegex],
    f: &mut impl FnMut(&[u8], &mut Scratch) -> bool,
    scratch: &mut Scratch,
) -> bool {
    for pair in &fields.pairs {
        for name in [true, false] {
            let s = Source::of_pair(pair.origin, name);
            if !target.sources.contains(s) || s.phase() > phase {
                continue;
            }
            let key = fields.get(pair.name);
            if !target.accepts_key(key, regexes) {
                continue;
            }
            let v = if name { key } else { fields.get(pair.value) };
            if f(v, scratch) {
                return true;
            }
        }
    }
    false
}
