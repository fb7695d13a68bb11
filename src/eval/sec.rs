//! The SecLang walk: ModSecurity semantics over the shared scan.
//!
//! # How a SecLang phase runs
//! The planner's automaton passes have already run over the phase's request
//! values (see [`crate::compile`]): every SecLang rule whose first link is a
//! static operator on request values has an IR scan there, so after the scan
//! its IR rule is `HIT` exactly when some value, transformed by the link's
//! pipeline, satisfies the link's operator. The walk then goes through the
//! phase's rules in order, as ModSecurity does:
//!
//! - a rule removed by an earlier `ctl:ruleRemoveById/ByTag` is skipped;
//! - a prefiltered rule without a hit is decided at once: its first link
//!   cannot match (only targets the scan does not cover, such as `TX` or
//!   `&ARGS`, are evaluated directly);
//! - any other rule is evaluated exactly: every value of every target (with
//!   exclusions, including those `ctl:ruleRemoveTargetById` added; of the
//!   first link's prefiltered targets, only values of the pairs the scan
//!   found matching, see below), the
//!   link's transformations (each changed step too with `multiMatch`), the
//!   operator, captures into TX:0-9, `MATCHED_VAR(S)` and the link's
//!   `setvar`s per matching value, then the next link of the chain;
//! - when the whole chain matched: the links' `ctl`s (last link first), the
//!   match is recorded if the rule logs, the disruptive action runs (deny
//!   stops the phase in block mode; in detect mode evaluation goes on, as
//!   ModSecurity's DetectionOnly does), and `skipAfter`/`skip` jump ahead.
//!
//! The scan does not stop at a SecLang rule's first hit: it goes on confirming
//! the rule on later values and records, per rule, a bit for each of the
//! request's first 64 pairs whose name or value matched
//! (`Results::pair_hits`). A prefiltered target's value whose pair bit is
//! clear cannot match, so the walk does not test it again: the cost of a rule
//! that hits follows the values that match, not every value of its targets.
//!
//! The hit check costs a load per rule, so a clean request walks the ~200
//! rules of CRS at paranoia level 1 in little more than the rules that test TX
//! variables. Exact evaluation runs only for rules with a hit, where it is
//! needed for ModSecurity's semantics (every matching value adds its score,
//! the last match sets `MATCHED_VAR`).
//!
//! # Memory
//! Per-transaction state ([`SecState`]: the TX store, matched variables,
//! run-time removals) lives in the transaction's results; working buffers
//! ([`SecScratch`]) in the per-thread scratch. Both are cleared, never freed,
//! between requests: a warmed-up evaluation allocates nothing.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use regex_automata::Input;
use regex_automata::util::captures::Captures;

use super::Phase;
use super::exec::run_pipeline;
use super::op;
use super::results::{HIT, Hit, PAIR_BITS, Results, SNIPPET_MAX};
use super::scratch::Scratch;
use crate::compile::ir::{OpIr, atoi};
use crate::compile::sec_ir::*;
use crate::compile::{Mode, Ruleset};
use crate::request::{BodyKind, ByteRange, RequestData, Source};

/// A TX value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum TxVal {
    #[default]
    Unset,
    Int(i64),
    /// A range of [`TxStore::arena`].
    Text(u32, u32),
}

/// The TX collection of one transaction: a slot per name known at compile
/// time, a list for names built at run time, values in one arena.
#[derive(Debug, Default)]
pub(crate) struct TxStore {
    slots: Vec<TxVal>,
    /// (name range in `arena`, value) of run-time names, lowercase.
    dynamic: Vec<(u32, u32, TxVal)>,
    arena: Vec<u8>,
}

impl TxStore {
    fn clear(&mut self, slots: usize) {
        self.slots.clear();
        self.slots.resize(slots, TxVal::Unset);
        self.dynamic.clear();
        self.arena.clear();
    }

    fn push(&mut self, bytes: &[u8]) -> (u32, u32) {
        let start = self.arena.len() as u32;
        self.arena.extend_from_slice(bytes);
        (start, self.arena.len() as u32)
    }

    /// Stores a text value: as a number when it is one in canonical form.
    fn value_of(&mut self, bytes: &[u8]) -> TxVal {
        if let Some(n) = canonical_int(bytes) {
            return TxVal::Int(n);
        }
        let (s, e) = self.push(bytes);
        TxVal::Text(s, e)
    }

    fn get(&self, slot: TxSlot) -> TxVal {
        match slot {
            TxSlot::Static(s) => self.slots.get(s as usize).copied().unwrap_or_default(),
            TxSlot::Dynamic(i) => self.dynamic.get(i).map_or(TxVal::Unset, |d| d.2),
        }
    }

    fn set(&mut self, slot: TxSlot, v: TxVal) {
        match slot {
            TxSlot::Static(s) => {
                if let Some(x) = self.slots.get_mut(s as usize) {
                    *x = v;
                }
            }
            TxSlot::Dynamic(i) => {
                if let Some(d) = self.dynamic.get_mut(i) {
                    d.2 = v;
                }
            }
        }
    }

    /// The slot of a run-time name (lowercase), made if `create`.
    fn lookup(&mut self, sec: &SecProgram, name: &[u8], create: bool) -> Option<TxSlot> {
        if let Some(&s) = sec.tx_index.get(name) {
            return Some(TxSlot::Static(s));
        }
        if let Some(i) = self.dynamic.iter().position(|d| &self.arena[d.0 as usize..d.1 as usize] == name) {
            return Some(TxSlot::Dynamic(i));
        }
        if !create {
            return None;
        }
        let (s, e) = self.push(name);
        self.dynamic.push((s, e, TxVal::Unset));
        Some(TxSlot::Dynamic(self.dynamic.len() - 1))
    }

    /// Appends a value's text to `out`.
    fn write(&self, v: TxVal, out: &mut Vec<u8>) {
        match v {
            TxVal::Unset => {}
            TxVal::Int(n) => write_int(n, out),
            TxVal::Text(s, e) => out.extend_from_slice(&self.arena[s as usize..e as usize]),
        }
    }

    /// A value as a number (`atoi`).
    fn int(&self, v: TxVal) -> i64 {
        match v {
            TxVal::Unset => 0,
            TxVal::Int(n) => n,
            TxVal::Text(s, e) => atoi(&self.arena[s as usize..e as usize]),
        }
    }
}

/// Where a TX variable lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TxSlot {
    Static(u32),
    Dynamic(usize),
}

/// `MATCHED_VAR`, `MATCHED_VAR_NAME` and `MATCHED_VARS`: set on every match,
/// cleared when a rule (link) does not match, as in ModSecurity v3.
#[derive(Debug, Default)]
struct Matched {
    arena: Vec<u8>,
    /// (name, value) ranges of every match since the last clear.
    vars: Vec<Item>,
}

impl Matched {
    fn clear(&mut self) {
        self.arena.clear();
        self.vars.clear();
    }

    fn update(&mut self, var: Var, key: &[u8], value: &[u8]) {
        let ns = self.arena.len() as u32;
        self.arena.extend_from_slice(var.name().as_bytes());
        if var.is_collection() {
            self.arena.push(b':');
            self.arena.extend_from_slice(key);
        }
        let vs = self.arena.len() as u32;
        self.arena.extend_from_slice(value);
        self.vars.push(((ns, vs), (vs, self.arena.len() as u32)));
    }

    fn last(&self) -> Option<(&[u8], &[u8])> {
        self.vars
            .last()
            .map(|&((ns, ne), (vs, ve))| (&self.arena[ns as usize..ne as usize], &self.arena[vs as usize..ve as usize]))
    }
}

/// The SecLang state of one transaction.
#[derive(Debug, Default)]
pub(crate) struct SecState {
    tx: TxStore,
    matched: Matched,
    /// `ctl` removals in force: (rule, link, ctl) indices into the program.
    removals: Vec<(u32, u16, u16)>,
    /// `ctl:ruleEngine`: Some(None) is Off.
    engine: Option<Option<Mode>>,
    /// The body processor a `ctl:requestBodyProcessor` chose.
    pub(crate) body_processor: Option<BodyProcessor>,
    /// `ctl:forceRequestBodyVariable=On` ran.
    force_body: bool,
    /// Evaluation stopped (a deny in block mode, `allow`, engine off).
    stopped: bool,
    /// The TX score reported in the verdict.
    pub(crate) score: u32,
}

impl SecState {
    pub(crate) fn clear(&mut self, rs: &Ruleset) {
        let slots = rs.program.sec.as_ref().map_or(0, |s| s.tx_names.len());
        self.tx.clear(slots);
        self.matched.clear();
        self.removals.clear();
        self.engine = None;
        self.body_processor = None;
        self.force_body = false;
        self.stopped = false;
        self.score = 0;
    }

    /// The engine mode for this transaction: a `ctl:ruleEngine`, else the config's.
    pub(crate) fn mode(&self, config_mode: Mode) -> Mode {
        match self.engine {
            Some(Some(m)) => m,
            Some(None) => Mode::Off,
            None => config_mode,
        }
    }
}

/// A (name, value) pair as byte ranges of a buffer.
type Item = ((u32, u32), (u32, u32));

/// Working buffers of the SecLang walk (part of [`Scratch`]).
#[derive(Debug, Default)]
pub(crate) struct SecScratch {
    /// Transformation buffers.
    bufs: [Vec<u8>; 2],
    /// The expanded argument of a dynamic operator.
    operand: Vec<u8>,
    /// Values of TX and MATCHED_VARS targets, copied before a link runs.
    snap: Vec<u8>,
    snap_items: Vec<Item>,
    /// Values built while visiting (multipart header lines, numbers).
    vbuf: Vec<u8>,
    /// Multipart part headers waiting for their part's name.
    pending: Vec<u32>,
    /// Capture slots per regex, made on first use.
    caps: Vec<Option<Captures>>,
    /// A multiMatch step that matched (the buffers move on).
    step: Vec<u8>,
    /// Macro expansion for `setvar`.
    expand: ExpandBufs,
}

/// Buffers macro expansion uses.
#[derive(Debug, Default)]
struct ExpandBufs {
    name: Vec<u8>,
    text: Vec<u8>,
    tmp: Vec<u8>,
    pending: Vec<u32>,
}

impl SecScratch {
    pub(crate) fn follow(&mut self, rs: &Ruleset) {
        self.caps.clear();
        self.caps.resize_with(rs.program.regexes.len(), || None);
    }
}

/// What a walk reads.
struct Env<'a> {
    rs: &'a Ruleset,
    sec: &'a SecProgram,
    req: &'a RequestData,
    phase: Phase,
    /// `REQUEST_BODY` holds the body (see [`request_body_visible`]).
    body_visible: bool,
}

/// Runs the SecLang rules of `phase`.
pub(crate) fn run_phase(rs: &Ruleset, req: &RequestData, res: &mut Results, sx: &mut Scratch, phase: Phase) {
    let Some(sec) = rs.program.sec.as_ref() else { return };
    let body_visible = phase == Phase::RequestBody && request_body_visible(req, res.sec.force_body);
    let env = Env { rs, sec, req, phase, body_visible };
    let list = &sec.phases[phase as usize];
    let config_mode = rs.config().get_mode();
    let mut pos = 0;
    while pos < list.len() && !res.sec.stopped {
        let ri = list[pos];
        pos += 1;
        let rule = &sec.rules[ri as usize];
        if !res.sec.removals.is_empty() && removed(&env, ri, rule, res) {
            continue;
        }
        if !eval_rule(&env, ri, rule, res, sx) {
            continue;
        }
        for (li, link) in rule.links.iter().enumerate().rev() {
            for (ci, ctl) in link.ctls.iter().enumerate() {
                exec_ctl(ri, li, ci, ctl, res);
            }
        }
        if rule.log {
            record(&env, rule, res);
        }
        match rule.disruptive {
            Disruptive::Pass => {}
            Disruptive::Deny(status) => {
                if res.deny.is_none() {
                    res.deny = Some(status);
                }
                if res.sec.mode(config_mode) == Mode::Block {
                    res.sec.stopped = true;
                }
            }
            Disruptive::Allow => {
                res.allowed = true;
                res.sec.stopped = true;
            }
            Disruptive::AllowPhase => break,
        }
        if res.sec.mode(config_mode) == Mode::Off {
            res.sec.stopped = true;
        }
        if let Some(to) = rule.skip_to {
            pos = pos.max(to as usize);
        }
    }
    if let Some(slot) = sec.score_slot {
        let v = res.sec.tx.get(TxSlot::Static(slot));
        res.sec.score = u32::try_from(res.sec.tx.int(v).max(0)).unwrap_or(u32::MAX);
    }
}

/// True when a run-time `ctl` removed the rule.
fn removed(env: &Env<'_>, ri: u32, rule: &SecRule, res: &Results) -> bool {
    res.sec.removals.iter().any(|&(r, l, c)| match ctl_at(env.sec, r, l, c) {
        Some(Ctl::RemoveById(ranges)) => ranges.iter().any(|&(a, b)| (a..=b).contains(&rule.id)),
        Some(Ctl::RemoveByTag(t)) => env.sec.rule_ctl_tags[ri as usize].contains(t),
        _ => false,
    })
}

fn ctl_at(sec: &SecProgram, r: u32, l: u16, c: u16) -> Option<&Ctl> {
    sec.rules.get(r as usize)?.links.get(usize::from(l))?.ctls.get(usize::from(c))
}

fn exec_ctl(ri: u32, li: usize, ci: usize, ctl: &Ctl, res: &mut Results) {
    match ctl {
        Ctl::RemoveById(_) | Ctl::RemoveByTag(_) | Ctl::RemoveTargetById(..) | Ctl::RemoveTargetByTag(..) => {
            res.sec.removals.push((ri, li as u16, ci as u16));
        }
        Ctl::RuleEngine(m) => res.sec.engine = Some(*m),
        Ctl::RequestBodyProcessor(p) => res.sec.body_processor = Some(*p),
        Ctl::ForceBodyVariable => res.sec.force_body = true,
        Ctl::Ignored => {}
    }
}

/// Records a logged match: the rule, `MATCHED_VAR_NAME` as its field and
/// the start of `MATCHED_VAR` as its snippet.
fn record(env: &Env<'_>, rule: &SecRule, res: &mut Results) {
    let Results { text, matched, hits, sec, rule_state, .. } = res;
    let (name, value) = sec.matched.last().unwrap_or((b"", b""));
    let mut field = text.reserve(name.len());
    text.push(&mut field, name);
    let shown = &value[..value.len().min(SNIPPET_MAX)];
    let mut snippet = text.reserve(shown.len());
    text.push(&mut snippet, shown);
    hits.push(Hit { rule: rule.ir, source: None, key: ByteRange::EMPTY, offset: 0, snippet, field, phase: env.phase });
    matched.push((hits.len() - 1) as u32);
    rule_state[rule.ir as usize] = super::results::MATCHED;
}

/// Verification mode (see [`verify_prefilter`]).
static VERIFY: AtomicBool = AtomicBool::new(false);
/// First links that matched although their prefilter had no hit.
static MISSES: AtomicU64 = AtomicU64::new(0);

/// Turns prefilter verification on or off for the whole process and returns
/// the number of misses seen so far. While on, every rule is evaluated
/// exactly, prefilter or not, and a first link that matches without a
/// prefilter hit is counted as a miss (and printed): a correct planner never
/// misses. For tests and `rampart ftw --verify-prefilter`; slow.
pub fn verify_prefilter(on: bool) -> u64 {
    VERIFY.store(on, Ordering::Relaxed);
    MISSES.load(Ordering::Relaxed)
}

/// Evaluates a rule's chain; true when every link matched.
fn eval_rule(env: &Env<'_>, ri: u32, rule: &SecRule, res: &mut Results, sx: &mut Scratch) -> bool {
    let hit = !rule.prefiltered
        || res.rule_state[rule.ir as usize] == HIT
        || rule.extra_prefilters.iter().any(|&r| res.rule_state[r as usize] == HIT);
    if !hit
        && VERIFY.load(Ordering::Relaxed)
        && let Some(first) = rule.links.first()
        && eval_link(env, ri, rule, first, Which::Prefiltered, None, res, sx)
    {
        MISSES.fetch_add(1, Ordering::Relaxed);
        eprintln!("prefilter miss: rule {} in phase {}", rule.id, env.phase.name());
    }
    if !hit && !rule.residual {
        res.sec.matched.clear();
        return false;
    }
    // The pairs whose values matched the first link's scan: the others need
    // no test.
    let flagged = (hit && rule.prefiltered).then(|| {
        let bits = &res.pair_hits;
        rule.extra_prefilters.iter().fold(bits[rule.ir as usize], |acc, &r| acc | bits[r as usize])
    });
    for (li, link) in rule.links.iter().enumerate() {
        let which = if li == 0 && !hit { Which::Residual } else { Which::All };
        let flagged = flagged.filter(|_| li == 0);
        if !eval_link(env, ri, rule, link, which, flagged, res, sx) {
            return false;
        }
    }
    true
}

/// Which targets of a link to evaluate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Which {
    All,
    /// Those the prefilter scan does not cover (no prefilter hit).
    Residual,
    /// Those it covers, without side effects (verification only).
    Prefiltered,
}

/// Evaluates one link: true when some value matched. With `flagged` (the
/// first link of a rule the scan found), values of the pairs whose bit is
/// clear (below [`PAIR_BITS`]) are known not to match its prefiltered
/// targets and are not tested.
#[allow(clippy::too_many_arguments)]
fn eval_link(
    env: &Env<'_>,
    ri: u32,
    rule: &SecRule,
    link: &Link,
    which: Which,
    flagged: Option<u64>,
    res: &mut Results,
    sx: &mut Scratch,
) -> bool {
    let dry = which == Which::Prefiltered;
    if link.targets.is_empty() {
        // SecAction: unconditional, setvars once.
        if matches!(link.op, SecOp::Unconditional) {
            for sv in &link.setvars {
                exec_setvar(env, rule, sv, res, &mut sx.sec.expand);
            }
            return true;
        }
        res.sec.matched.clear();
        return false;
    }
    let mut operand = std::mem::take(&mut sx.sec.operand);
    operand.clear();
    if let SecOp::Dynamic(_, m) = &link.op {
        let ExpandBufs { tmp, pending, .. } = &mut sx.sec.expand;
        expand(env, rule, m, res, &mut operand, tmp, pending);
    }
    let mut matched = false;
    for target in &link.targets {
        match which {
            Which::All => {}
            Which::Residual if target.prefiltered => continue,
            Which::Prefiltered if !target.prefiltered => continue,
            _ => {}
        }
        if target.count {
            let n = count(env, ri, rule, link, target, res, sx);
            let mut buf = [0u8; 24];
            let digits = format_int(n as i64, &mut buf);
            matched |= test(env, rule, link, target.var, b"", digits, &operand, dry, res, sx);
            continue;
        }
        match target.var {
            Var::Tx | Var::MatchedVars | Var::MatchedVarsNames | Var::MatchedVar | Var::MatchedVarName => {
                let mut snap = std::mem::take(&mut sx.sec.snap);
                let mut items = std::mem::take(&mut sx.sec.snap_items);
                snapshot(env, target, res, &mut snap, &mut items);
                for &((ks, ke), (vs, ve)) in &items {
                    let key = &snap[ks as usize..ke as usize];
                    if excluded(env, ri, rule, link, target.var, key, res) {
                        continue;
                    }
                    let value = &snap[vs as usize..ve as usize];
                    matched |= test(env, rule, link, target.var, key, value, &operand, dry, res, sx);
                }
                sx.sec.snap = snap;
                sx.sec.snap_items = items;
            }
            var => {
                let mut vbuf = std::mem::take(&mut sx.sec.vbuf);
                let mut pending = std::mem::take(&mut sx.sec.pending);
                let skip = flagged.filter(|_| target.prefiltered);
                visit(env, var, &target.sel, &mut vbuf, &mut pending, |pair, key, value| {
                    if excluded(env, ri, rule, link, var, key, res) {
                        return;
                    }
                    if let Some(bits) = skip
                        && pair < PAIR_BITS
                        && bits & (1 << pair) == 0
                    {
                        // The scan found no match in this value.
                        if VERIFY.load(Ordering::Relaxed)
                            && test(env, rule, link, var, key, value, &operand, true, res, sx)
                        {
                            MISSES.fetch_add(1, Ordering::Relaxed);
                            eprintln!("prefilter miss: rule {} in phase {}, pair {pair}", rule.id, env.phase.name());
                        }
                        return;
                    }
                    res.stats.sec_values_tested += 1;
                    matched |= test(env, rule, link, var, key, value, &operand, dry, res, sx);
                });
                sx.sec.vbuf = vbuf;
                sx.sec.pending = pending;
            }
        }
    }
    sx.sec.operand = operand;
    if !matched && !dry {
        res.sec.matched.clear();
    }
    matched
}

/// True when a value is left out: by the link's exclusions, or by a
/// `ctl:ruleRemoveTargetById/ByTag` in force.
fn excluded(env: &Env<'_>, ri: u32, rule: &SecRule, link: &Link, var: Var, key: &[u8], res: &Results) -> bool {
    let regexes = &env.rs.program.regexes;
    if link.exclusions.iter().any(|e| e.var == var && sel_matches(&e.sel, key, regexes)) {
        return true;
    }
    res.sec.removals.iter().any(|&(r, l, c)| match ctl_at(env.sec, r, l, c) {
        Some(Ctl::RemoveTargetById(ranges, ex)) => {
            ranges.iter().any(|&(a, b)| (a..=b).contains(&rule.id))
                && ex.var == var
                && sel_matches(&ex.sel, key, regexes)
        }
        Some(Ctl::RemoveTargetByTag(t, ex)) => {
            env.sec.rule_ctl_tags[ri as usize].contains(t) && ex.var == var && sel_matches(&ex.sel, key, regexes)
        }
        _ => false,
    })
}

fn sel_matches(sel: &Sel, key: &[u8], regexes: &[crate::compile::regex::CompiledRegex]) -> bool {
    match sel {
        Sel::All => true,
        Sel::Key(k) => k.eq_ignore_ascii_case(key),
        Sel::Regex(r) => regexes.get(*r as usize).is_some_and(|c| c.is_match(key)),
    }
}

/// The number of values of a `&VAR` target.
fn count(
    env: &Env<'_>,
    ri: u32,
    rule: &SecRule,
    link: &Link,
    target: &Target,
    res: &Results,
    sx: &mut Scratch,
) -> usize {
    let mut n = 0;
    match target.var {
        Var::Tx => {
            let mut snap = std::mem::take(&mut sx.sec.snap);
            let mut items = std::mem::take(&mut sx.sec.snap_items);
            snapshot(env, target, res, &mut snap, &mut items);
            n = items.len();
            sx.sec.snap = snap;
            sx.sec.snap_items = items;
        }
        Var::MatchedVars | Var::MatchedVarsNames => n = res.sec.matched.vars.len(),
        Var::MatchedVar | Var::MatchedVarName => n = 1,
        var => {
            let mut vbuf = std::mem::take(&mut sx.sec.vbuf);
            let mut pending = std::mem::take(&mut sx.sec.pending);
            visit(env, var, &target.sel, &mut vbuf, &mut pending, |_, key, _| {
                if !excluded(env, ri, rule, link, var, key, res) {
                    n += 1;
                }
            });
            sx.sec.vbuf = vbuf;
            sx.sec.pending = pending;
        }
    }
    n
}

/// Copies the values of a TX or MATCHED_VARS target (they may change while
/// the link runs, as its `setvar`s execute).
fn snapshot(env: &Env<'_>, target: &Target, res: &Results, snap: &mut Vec<u8>, items: &mut Vec<Item>) {
    snap.clear();
    items.clear();
    let mut push = |snap: &mut Vec<u8>, key: &[u8], value: &dyn Fn(&mut Vec<u8>)| {
        let ks = snap.len() as u32;
        snap.extend_from_slice(key);
        let vs = snap.len() as u32;
        value(snap);
        items.push(((ks, vs), (vs, snap.len() as u32)));
    };
    let tx = &res.sec.tx;
    match target.var {
        Var::Tx => match &target.sel {
            Sel::Key(k) => {
                let slot = match target.tx_slot {
                    Some(s) => Some(TxSlot::Static(s)),
                    None => {
                        tx.dynamic.iter().position(|d| tx.arena[d.0 as usize..d.1 as usize] == **k).map(TxSlot::Dynamic)
                    }
                };
                if let Some(slot) = slot {
                    let v = tx.get(slot);
                    if v != TxVal::Unset {
                        push(snap, k, &|out| tx.write(v, out));
                    }
                }
            }
            sel => {
                let regexes = &env.rs.program.regexes;
                let mut static_slot = |s: usize| {
                    let v = tx.slots[s];
                    if v != TxVal::Unset {
                        push(snap, &env.sec.tx_names[s], &|out| tx.write(v, out));
                    }
                };
                match sel {
                    // The static names the regex matches are known.
                    Sel::Regex(_) => target.tx_regex_slots.iter().for_each(|&s| static_slot(s as usize)),
                    _ => (0..tx.slots.len()).for_each(&mut static_slot),
                }
                for &(ns, ne, v) in &tx.dynamic {
                    let name = &tx.arena[ns as usize..ne as usize];
                    if v != TxVal::Unset && sel_matches(sel, name, regexes) {
                        push(snap, name, &|out| tx.write(v, out));
                    }
                }
            }
        },
        Var::MatchedVars | Var::MatchedVarsNames => {
            let m = &res.sec.matched;
            for &((ns, ne), (vs, ve)) in &m.vars {
                let name = &m.arena[ns as usize..ne as usize];
                let value = if target.var == Var::MatchedVars { &m.arena[vs as usize..ve as usize] } else { name };
                push(snap, name, &|out| out.extend_from_slice(value));
            }
        }
        Var::MatchedVar | Var::MatchedVarName => {
            let (name, value) = res.sec.matched.last().unwrap_or((b"", b""));
            let v = if target.var == Var::MatchedVar { value } else { name };
            push(snap, b"", &|out| out.extend_from_slice(v));
        }
        _ => {}
    }
}

/// What [`visit`] calls: `(pair, key, value)`.
trait Visitor: FnMut(u32, &[u8], &[u8]) {}
impl<F: FnMut(u32, &[u8], &[u8])> Visitor for F {}

/// A value of [`visit`] that is not one pair's name or value.
const NO_PAIR: u32 = u32::MAX;

/// Calls `f(pair, key, value)` for each request value of `var` that `sel`
/// accepts; `pair` is the index of the value's pair in the request's fields,
/// or [`NO_PAIR`].
fn visit(
    env: &Env<'_>,
    var: Var,
    sel: &Sel,
    vbuf: &mut Vec<u8>,
    pending: &mut Vec<u32>,
    mut f: impl FnMut(u32, &[u8], &[u8]),
) {
    use crate::request::Origin;
    let req = env.req;
    let regexes = &env.rs.program.regexes;
    let body_phase = env.phase == Phase::RequestBody;
    let pairs = |origins: &[Origin], names: bool, f: &mut dyn Visitor| {
        for (i, p) in req.fields.pairs.iter().enumerate() {
            if !origins.contains(&p.origin) {
                continue;
            }
            let key = req.fields.get(p.name);
            if !sel_matches(sel, key, regexes) {
                continue;
            }
            f(i as u32, key, if names { key } else { req.fields.get(p.value) });
        }
    };
    const ARGS: &[Origin] = &[Origin::Query, Origin::Form, Origin::Json, Origin::Multipart];
    const POST: &[Origin] = &[Origin::Form, Origin::Json, Origin::Multipart];
    // Scalars always have a value, empty when unknown (ModSecurity's
    // anchored variables).
    let scalar = |s: Source, f: &mut dyn Visitor| f(NO_PAIR, b"", req.scalar(s).unwrap_or(b""));
    let number = |n: u64, vbuf: &mut Vec<u8>, f: &mut dyn Visitor| {
        vbuf.clear();
        write_int(n as i64, vbuf);
        f(NO_PAIR, b"", vbuf);
    };
    match var {
        Var::Args => pairs(ARGS, false, &mut f),
        Var::ArgsNames => pairs(ARGS, true, &mut f),
        Var::ArgsGet => pairs(&[Origin::Query], false, &mut f),
        Var::ArgsGetNames => pairs(&[Origin::Query], true, &mut f),
        Var::ArgsPost => pairs(POST, false, &mut f),
        Var::ArgsPostNames => pairs(POST, true, &mut f),
        Var::Headers => pairs(&[Origin::Header], false, &mut f),
        Var::HeadersNames => pairs(&[Origin::Header], true, &mut f),
        Var::Cookies => pairs(&[Origin::Cookie], false, &mut f),
        Var::CookiesNames => pairs(&[Origin::Cookie], true, &mut f),
        Var::Files => pairs(&[Origin::File], false, &mut f),
        Var::FilesNames => pairs(&[Origin::File], true, &mut f),
        Var::MultipartPartHeaders => {
            // Each part's header lines come before its field: `Name: value`
            // keyed by the part's name.
            pending.clear();
            for (i, p) in req.fields.pairs.iter().enumerate() {
                match p.origin {
                    // A line without `:` is kept by the parser as a name
                    // with no value; ModSecurity records no header for it.
                    Origin::PartHeader if !(p.value.len() == 0 && req.fields.get(p.name).contains(&b' ')) => {
                        pending.push(i as u32)
                    }
                    Origin::Multipart | Origin::File => {
                        let key = req.fields.get(p.name);
                        if sel_matches(sel, key, regexes) {
                            for &h in pending.iter() {
                                let h = req.fields.pairs[h as usize];
                                vbuf.clear();
                                vbuf.extend_from_slice(req.fields.get(h.name));
                                vbuf.extend_from_slice(b": ");
                                vbuf.extend_from_slice(req.fields.get(h.value));
                                f(NO_PAIR, key, vbuf);
                            }
                        }
                        pending.clear();
                    }
                    _ => {}
                }
            }
        }
        Var::RequestLine => scalar(Source::RequestLine, &mut f),
        Var::RequestMethod => scalar(Source::Method, &mut f),
        Var::RequestProtocol => scalar(Source::Protocol, &mut f),
        Var::RequestUri => scalar(Source::UriDecoded, &mut f),
        Var::RequestUriRaw => scalar(Source::Uri, &mut f),
        Var::RequestFilename => scalar(Source::Filename, &mut f),
        Var::RequestBasename => scalar(Source::FilenameBase, &mut f),
        Var::QueryString => scalar(Source::Query, &mut f),
        Var::RemoteAddr => scalar(Source::ClientIp, &mut f),
        Var::ServerName => scalar(Source::Host, &mut f),
        Var::RequestBody => f(NO_PAIR, b"", if env.body_visible { &req.body } else { b"" }),
        Var::RequestBodyLength => {
            if body_phase && !req.body.is_empty() {
                number(req.body.len() as u64, vbuf, &mut f);
            } else {
                f(NO_PAIR, b"", b"");
            }
        }
        Var::FullRequestLength => {
            let headers: usize = req
                .fields
                .pairs
                .iter()
                .filter(|p| p.origin == Origin::Header)
                .map(|p| p.name.len() + p.value.len() + 3)
                .sum();
            number((headers + 2 + req.body.len()) as u64, vbuf, &mut f);
        }
        Var::ArgsCombinedSize => {
            let n: usize = req
                .fields
                .pairs
                .iter()
                .filter(|p| ARGS.contains(&p.origin))
                .map(|p| p.name.len() + p.value.len())
                .sum();
            number(n as u64, vbuf, &mut f);
        }
        Var::FilesCombinedSize => number(req.fields.file_bytes, vbuf, &mut f),
        Var::ReqbodyProcessor => f(NO_PAIR, b"", body_processor_name(env, req).unwrap_or("").as_bytes()),
        Var::ReqbodyError | Var::MultipartStrictError | Var::UrlencodedError => {
            if body_phase {
                let kind_ok = match var {
                    Var::MultipartStrictError => req.body_kind == Some(BodyKind::Multipart),
                    Var::UrlencodedError => req.body_kind == Some(BodyKind::UrlEncoded),
                    _ => true,
                };
                let err = kind_ok && req.body_error.is_some();
                f(NO_PAIR, b"", if err { b"1" } else { b"0" });
            } else {
                f(NO_PAIR, b"", b"");
            }
        }
        Var::ReqbodyErrorMsg => {
            f(NO_PAIR, b"", req.body_error.filter(|_| body_phase).map_or("", |e| e.message).as_bytes())
        }
        Var::InboundDataError => {
            let over = body_phase && req.limit == Some(crate::Limit::BodyBytes);
            f(
                NO_PAIR,
                b"",
                if !body_phase {
                    b""
                } else if over {
                    b"1"
                } else {
                    b"0"
                },
            );
        }
        Var::MultipartUnmatchedBoundary => f(NO_PAIR, b"", if body_phase { b"0" } else { b"" }),
        Var::UniqueId => f(NO_PAIR, b"", req.request_id_str().as_bytes()),
        Var::AuthType => {
            let auth =
                req.fields.pairs.iter().find(|p| {
                    p.origin == Origin::Header && req.fields.get(p.name).eq_ignore_ascii_case(b"authorization")
                });
            let v = auth.map_or(&b""[..], |p| req.fields.get(p.value));
            let end = v.iter().position(|&b| b == b' ').unwrap_or(v.len());
            f(NO_PAIR, b"", &v[..end]);
        }
        Var::RemotePort | Var::Duration => number(0, vbuf, &mut f),
        Var::Tx | Var::MatchedVars | Var::MatchedVarsNames | Var::MatchedVar | Var::MatchedVarName => {}
        Var::Xml => pairs(&[Origin::Xml], false, &mut f),
        Var::Unsupported => {}
    }
}

/// Whether `REQUEST_BODY` holds the body, as in ModSecurity v2 and Coraza
/// (what the CRS tests expect): with the URLENCODED body processor, or after
/// `ctl:forceRequestBodyVariable=On` (CRS sets it for bodies no processor
/// reads). libmodsecurity 3 always fills it; the JSON, XML and multipart
/// processors' values are inspected through ARGS, XML and FILES instead.
fn request_body_visible(req: &RequestData, forced: bool) -> bool {
    forced || matches!(req.body_processor.or(req.body_kind), Some(BodyKind::UrlEncoded | BodyKind::Json))
}

/// `REQBODY_PROCESSOR`: the body parser a `ctl` chose, else the one the
/// `Content-Type` selects (URLENCODED, MULTIPART, JSON, XML), if any.
fn body_processor_name(env: &Env<'_>, req: &RequestData) -> Option<&'static str> {
    let _ = env;
    let kind = match req.body_processor {
        Some(k) => k,
        None => {
            let ct = req.fields.pairs.iter().find(|p| {
                p.origin == crate::request::Origin::Header
                    && req.fields.get(p.name).eq_ignore_ascii_case(b"content-type")
            })?;
            crate::request::body_kind(req.fields.get(ct.value))
        }
    };
    match kind {
        BodyKind::UrlEncoded => Some("URLENCODED"),
        BodyKind::Multipart => Some("MULTIPART"),
        BodyKind::Json => Some("JSON"),
        BodyKind::Xml => Some("XML"),
        BodyKind::Other => None,
    }
}

/// Tests one value: transformations, operator; on a match updates the
/// matched variables and runs the link's `setvar`s.
#[allow(clippy::too_many_arguments)]
fn test(
    env: &Env<'_>,
    rule: &SecRule,
    link: &Link,
    var: Var,
    key: &[u8],
    value: &[u8],
    operand: &[u8],
    dry: bool,
    res: &mut Results,
    sx: &mut Scratch,
) -> bool {
    let Scratch { work, sec, .. } = sx;
    let SecScratch { bufs, caps, expand, step, .. } = sec;
    if !link.multi_match {
        let t: &[u8] = match &link.pipeline {
            Some(p) => run_pipeline(&env.rs.program.pipelines[*p as usize], value, bufs),
            None => run_sec_pipeline(&link.transforms, value, bufs),
        };
        if dry {
            return op_dry(env, link, t, operand, work) != link.negated;
        }
        let hit = op_match(env, link, t, operand, res, work, caps);
        if hit != link.negated {
            on_match(env, rule, link, var, key, t, res, expand);
            return true;
        }
        return false;
    }
    // multiMatch: the value itself, then every step that changed it.
    let mut matched = false;
    if dry {
        // Verification covers the final value only (the extra prefilters
        // cover the steps).
        let t = run_sec_pipeline(&link.transforms, value, bufs);
        return op_dry(env, link, t, operand, work) != link.negated;
    }
    if op_match(env, link, value, operand, res, work, caps) != link.negated {
        on_match(env, rule, link, var, key, value, res, expand);
        matched = true;
    }
    let mut current: Option<usize> = None;
    for &t in &link.transforms {
        let [a, b] = bufs;
        let changed = match current {
            None => apply_sec(t, value, a),
            Some(0) => apply_sec(t, a, b),
            Some(_) => apply_sec(t, b, a),
        };
        if !changed {
            continue;
        }
        let i = match current {
            None | Some(1) => 0,
            Some(_) => 1,
        };
        current = Some(i);
        if op_match(env, link, &bufs[i], operand, res, work, caps) != link.negated {
            step.clear();
            step.extend_from_slice(&bufs[i]);
            on_match(env, rule, link, var, key, step, res, expand);
            matched = true;
        }
    }
    matched
}

/// After a matching value: `MATCHED_VAR(S)`, then the link's `setvar`s.
#[allow(clippy::too_many_arguments)]
fn on_match(
    env: &Env<'_>,
    rule: &SecRule,
    link: &Link,
    var: Var,
    key: &[u8],
    t: &[u8],
    res: &mut Results,
    bufs: &mut ExpandBufs,
) {
    res.sec.matched.update(var, key, t);
    for sv in &link.setvars {
        exec_setvar(env, rule, sv, res, bufs);
    }
}

/// The operator alone, without captures (verification).
fn op_dry(env: &Env<'_>, link: &Link, t: &[u8], operand: &[u8], work: &mut super::scratch::Work) -> bool {
    let program = &env.rs.program;
    match &link.op {
        SecOp::Static(op) => op::eval(&program.ops[*op as usize], t, program, work).is_some(),
        _ => {
            let _ = operand;
            false
        }
    }
}

/// The operator on a transformed value (captures go to TX:0-9).
fn op_match(
    env: &Env<'_>,
    link: &Link,
    t: &[u8],
    operand: &[u8],
    res: &mut Results,
    work: &mut super::scratch::Work,
    caps: &mut [Option<Captures>],
) -> bool {
    let program = &env.rs.program;
    match &link.op {
        SecOp::Static(op) => {
            let op = &program.ops[*op as usize];
            if link.capture {
                match op {
                    OpIr::Regex(id) if program.regexes[*id as usize].whole => {
                        let v = res.sec.tx.value_of(t);
                        res.sec.tx.set(TxSlot::Static(0), v);
                        return true;
                    }
                    OpIr::Regex(id) => {
                        let compiled = &program.regexes[*id as usize];
                        let Some(slot) = caps.get_mut(*id as usize) else { return false };
                        let c = slot.get_or_insert_with(|| compiled.regex.create_captures());
                        let cache = work.regex_cache(*id, &compiled.regex);
                        compiled.regex.search_captures_with(cache, &Input::new(t), c);
                        if !c.is_match() {
                            return false;
                        }
                        for g in 0..c.group_len().min(10) {
                            if let Some(span) = c.get_group(g) {
                                let v = res.sec.tx.value_of(&t[span.start..span.end]);
                                res.sec.tx.set(TxSlot::Static(g as u32), v);
                            }
                        }
                        return true;
                    }
                    OpIr::Phrases { .. } => {
                        let Some((s, e)) = op::eval(op, t, program, work) else { return false };
                        let v = res.sec.tx.value_of(&t[s..e]);
                        res.sec.tx.set(TxSlot::Static(0), v);
                        return true;
                    }
                    _ => {}
                }
            }
            op::eval(op, t, program, work).is_some()
        }
        SecOp::Dynamic(kind, _) => match kind {
            DynOp::Num(cmp) => cmp.holds(atoi(t), atoi(operand)),
            DynOp::Within => op::within(t, operand).is_some(),
            DynOp::Streq => t == operand,
            DynOp::Contains => memchr::memmem::find(t, operand).is_some(),
            DynOp::BeginsWith => t.starts_with(operand),
            DynOp::EndsWith => t.ends_with(operand),
            DynOp::ContainsWord => op::contains_word(t, operand).is_some(),
        },
        SecOp::IpMatch(nets) => crate::compile::ir::parse_ip(t).is_some_and(|ip| nets.iter().any(|n| n.contains(ip))),
        SecOp::Unconditional => true,
        SecOp::Never => false,
    }
}

/// Runs a pipeline with SecLang-only steps.
fn run_sec_pipeline<'a>(steps: &[SecTransform], input: &'a [u8], bufs: &'a mut [Vec<u8>; 2]) -> &'a [u8] {
    super::exec::run_steps(steps, input, bufs, |&t, from, to| apply_sec(t, from, to))
}

fn apply_sec(t: SecTransform, input: &[u8], out: &mut Vec<u8>) -> bool {
    match t {
        SecTransform::Std(t) => t.apply(input, out),
        SecTransform::Sha1 => {
            out.clear();
            out.extend_from_slice(&digest::sha1(input));
            true
        }
        SecTransform::Md5 => {
            out.clear();
            out.extend_from_slice(&digest::md5(input));
            true
        }
    }
}

/// Runs a `setvar`.
fn exec_setvar(env: &Env<'_>, rule: &SecRule, sv: &SetVar, res: &mut Results, bufs: &mut ExpandBufs) {
    let ExpandBufs { name, text, tmp, pending } = bufs;
    let slot = match &sv.name {
        TxName::Slot(s) => Some(TxSlot::Static(*s)),
        TxName::Dynamic(m) => {
            name.clear();
            expand(env, rule, m, res, name, tmp, pending);
            name.make_ascii_lowercase();
            res.sec.tx.lookup(env.sec, name, !matches!(sv.op, SetOp::Delete))
        }
    };
    let Some(slot) = slot else { return };
    match &sv.op {
        SetOp::Delete => res.sec.tx.set(slot, TxVal::Unset),
        SetOp::Set(m) => {
            let v = match m.constant() {
                Some(c) => res.sec.tx.value_of(c),
                None => {
                    text.clear();
                    expand(env, rule, m, res, text, tmp, pending);
                    res.sec.tx.value_of(text)
                }
            };
            res.sec.tx.set(slot, v);
        }
        SetOp::Add(m) | SetOp::Sub(m) => {
            let delta = match m.parts.as_slice() {
                [MacroPart::Tx(s)] => res.sec.tx.int(res.sec.tx.get(TxSlot::Static(*s))),
                [MacroPart::Lit(l)] => atoi(l),
                [] => 0,
                _ => {
                    text.clear();
                    expand(env, rule, m, res, text, tmp, pending);
                    atoi(text)
                }
            };
            let cur = res.sec.tx.int(res.sec.tx.get(slot));
            let n = if matches!(sv.op, SetOp::Add(_)) { cur.saturating_add(delta) } else { cur.saturating_sub(delta) };
            res.sec.tx.set(slot, TxVal::Int(n));
        }
    }
}

/// Expands a macro into `out` (`tmp` and `pending` are scratch for variable values).
fn expand(
    env: &Env<'_>,
    rule: &SecRule,
    m: &Macro,
    res: &Results,
    out: &mut Vec<u8>,
    tmp: &mut Vec<u8>,
    pending: &mut Vec<u32>,
) {
    for p in &m.parts {
        match p {
            MacroPart::Lit(l) => out.extend_from_slice(l),
            MacroPart::Tx(s) => {
                let v = res.sec.tx.get(TxSlot::Static(*s));
                res.sec.tx.write(v, out);
            }
            MacroPart::MatchedVar => {
                if let Some((_, v)) = res.sec.matched.last() {
                    out.extend_from_slice(v);
                }
            }
            MacroPart::MatchedVarName => {
                if let Some((n, _)) = res.sec.matched.last() {
                    out.extend_from_slice(n);
                }
            }
            MacroPart::RuleId => write_int(i64::from(rule.id), out),
            MacroPart::RuleMsg => out.extend_from_slice(env.rs.program.rules[rule.ir as usize].message.as_bytes()),
            MacroPart::RuleSeverity => {
                if let Some(s) = rule.severity {
                    write_int(i64::from(s), out);
                }
            }
            MacroPart::Var(var, sel) => {
                let mut done = false;
                visit(env, *var, sel, tmp, pending, |_, _, v| {
                    if !done {
                        out.extend_from_slice(v);
                        done = true;
                    }
                });
            }
        }
    }
}

/// Writes a number in decimal.
fn write_int(n: i64, out: &mut Vec<u8>) {
    let mut buf = [0u8; 24];
    out.extend_from_slice(format_int(n, &mut buf));
}

fn format_int(n: i64, buf: &mut [u8; 24]) -> &[u8] {
    let mut i = buf.len();
    let neg = n < 0;
    let mut v = n.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if neg {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

/// A number written in canonical decimal (no sign but `-`, no leading zero).
fn canonical_int(b: &[u8]) -> Option<i64> {
    let digits = b.strip_prefix(b"-").unwrap_or(b);
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if digits.len() > 1 && digits[0] == b'0' || (b[0] == b'-' && digits == b"0") {
        return None;
    }
    let n: i64 = digits.iter().fold(0, |acc, &d| acc * 10 + i64::from(d - b'0'));
    Some(if b[0] == b'-' { -n } else { n })
}

mod digest {
    //! SHA-1 and MD5 for the `sha1` and `md5` transformations (CRS uses
    //! them only for sampling and collection keys).

    pub(super) fn sha1(data: &[u8]) -> [u8; 20] {
        let mut h: [u32; 5] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0];
        let bit_len = (data.len() as u64).wrapping_mul(8);
        let mut block = [0u8; 64];
        let process = |chunk: &[u8; 64], h: &mut [u32; 5]| {
            let mut w = [0u32; 80];
            for i in 0..16 {
                w[i] = u32::from_be_bytes([chunk[4 * i], chunk[4 * i + 1], chunk[4 * i + 2], chunk[4 * i + 3]]);
            }
            for i in 16..80 {
                w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
            }
            let [mut a, mut b, mut c, mut d, mut e] = *h;
            for (i, wi) in w.iter().enumerate() {
                let (f, k) = match i {
                    0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                    20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                    40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                    _ => (b ^ c ^ d, 0xCA62_C1D6),
                };
                let t = a.rotate_left(5).wrapping_add(f).wrapping_add(e).wrapping_add(k).wrapping_add(*wi);
                e = d;
                d = c;
                c = b.rotate_left(30);
                b = a;
                a = t;
            }
            for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
                *x = x.wrapping_add(y);
            }
        };
        let mut chunks = data.chunks_exact(64);
        for c in &mut chunks {
            block.copy_from_slice(c);
            process(&block, &mut h);
        }
        let rest = chunks.remainder();
        let mut tail = [0u8; 128];
        tail[..rest.len()].copy_from_slice(rest);
        tail[rest.len()] = 0x80;
        let n = if rest.len() < 56 { 64 } else { 128 };
        tail[n - 8..n].copy_from_slice(&bit_len.to_be_bytes());
        for c in tail[..n].chunks_exact(64) {
            block.copy_from_slice(c);
            process(&block, &mut h);
        }
        let mut out = [0u8; 20];
        for (i, x) in h.iter().enumerate() {
            out[4 * i..4 * i + 4].copy_from_slice(&x.to_be_bytes());
        }
        out
    }

    pub(super) fn md5(data: &[u8]) -> [u8; 16] {
        const S: [u32; 64] = [
            7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9,
            14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10,
            15, 21, 6, 10, 15, 21,
        ];
        let k: [u32; 64] = std::array::from_fn(|i| ((i as f64 + 1.0).sin().abs() * 4_294_967_296.0) as u32);
        let mut h: [u32; 4] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476];
        let bit_len = (data.len() as u64).wrapping_mul(8);
        let process = |chunk: &[u8], h: &mut [u32; 4]| {
            let m: [u32; 16] = std::array::from_fn(|i| {
                u32::from_le_bytes([chunk[4 * i], chunk[4 * i + 1], chunk[4 * i + 2], chunk[4 * i + 3]])
            });
            let [mut a, mut b, mut c, mut d] = *h;
            for i in 0..64 {
                let (f, g) = match i {
                    0..=15 => ((b & c) | (!b & d), i),
                    16..=31 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                    32..=47 => (b ^ c ^ d, (3 * i + 5) % 16),
                    _ => (c ^ (b | !d), (7 * i) % 16),
                };
                let f = f.wrapping_add(a).wrapping_add(k[i]).wrapping_add(m[g]);
                a = d;
                d = c;
                c = b;
                b = b.wrapping_add(f.rotate_left(S[i]));
            }
            for (x, y) in h.iter_mut().zip([a, b, c, d]) {
                *x = x.wrapping_add(y);
            }
        };
        let mut chunks = data.chunks_exact(64);
        for c in &mut chunks {
            process(c, &mut h);
        }
        let rest = chunks.remainder();
        let mut tail = [0u8; 128];
        tail[..rest.len()].copy_from_slice(rest);
        tail[rest.len()] = 0x80;
        let n = if rest.len() < 56 { 64 } else { 128 };
        tail[n - 8..n].copy_from_slice(&bit_len.to_le_bytes());
        for c in tail[..n].chunks_exact(64) {
            process(c, &mut h);
        }
        let mut out = [0u8; 16];
        for (i, x) in h.iter().enumerate() {
            out[4 * i..4 * i + 4].copy_from_slice(&x.to_le_bytes());
        }
        out
    }

    #[cfg(test)]
    mod tests {
        fn hex(b: &[u8]) -> String {
            b.iter().map(|x| format!("{x:02x}")).collect()
        }

        #[test]
        fn known_digests() {
            assert_eq!(hex(&super::sha1(b"abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
            assert_eq!(hex(&super::sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
            assert_eq!(hex(&super::md5(b"abc")), "900150983cd24fb0d6963f7d28e17f72");
            assert_eq!(hex(&super::md5(&[b'a'; 100])), "36a92cc94a9e0fa21f625f8bfb007adf");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        let mut buf = [0u8; 24];
        assert_eq!(format_int(-120, &mut buf), b"-120");
        assert_eq!(canonical_int(b"5"), Some(5));
        assert_eq!(canonical_int(b"-5"), Some(-5));
        assert_eq!(canonical_int(b"05"), None);
        assert_eq!(canonical_int(b"-0"), None);
        assert_eq!(canonical_int(b""), None);
        assert_eq!(canonical_int(b"1a"), None);
    }
}
