//! [`QuickConds`]: the `when` conditions of rules without a scan, laid out
//! flat for the check every request makes.
//!
//! A rule without a scan (`when not method in [...]`, `when
//! count(headers["host"]) > 1`) is decided by its condition alone, in every
//! request; most such conditions read the request line, a header count or
//! a flag. As a tree ([`Cond`]) each one is a walk through a dozen separate
//! allocations (the nodes, their targets, the operator, its strings); behind
//! a server, whose own work between two requests evicts them from the
//! caches, that walk cost more than the check. Here the conditions made only
//! of such parts are written one after the other in a few arrays, in prefix
//! order, and evaluated without the general machinery (values, pipelines,
//! operators, the value cache). A condition with any other part (a pipeline,
//! a regex, a key selector, pairs) is not here and is evaluated as a tree.
//!
//! Both ways give the same answer: the parts kept are those whose meaning
//! `cond::eval` fixes without a transform or a cache (a unit test compares
//! the two on generated conditions and requests).

use crate::compile::ir::{Cond, KeyIndex, OpIr, Program, TargetIr};
use crate::dsl::ast::{CmpOp, Flag};
use crate::eval::Phase;
use crate::request::{RequestData, Source};

/// One part of a condition in prefix order.
#[derive(Clone, Copy, Debug)]
enum Part {
    /// The parts up to `end` (exclusive) are the operands: all hold.
    And {
        end: u32,
    },
    /// Some operand up to `end` holds.
    Or {
        end: u32,
    },
    /// The next part (with its operands) does not hold.
    Not,
    Flag(Flag),
    /// The number of headers with one of the names `ids` (a range of
    /// [`QuickConds::ids`]) compared with `value`.
    HeaderCount {
        ids: Span,
        op: CmpOp,
        value: i64,
        negated: bool,
    },
    /// The number of headers compared with `value`.
    AllHeaders {
        op: CmpOp,
        value: i64,
        negated: bool,
    },
    /// Some value of the request-line sources `sources` (a range of
    /// [`QuickConds::sources`]) is one of the strings `strings` (a range of
    /// [`QuickConds::spans`]); negated: none is.
    ScalarIn {
        sources: Span,
        strings: Span,
        negated: bool,
    },
}

/// A range of one of [`QuickConds`]' arrays, kept small so that a part
/// takes 16 bytes (a condition that would need more is left to the tree).
type Span = (u16, u16);

/// `range` as a [`Span`], if it fits.
fn span(range: std::ops::Range<usize>) -> Option<Span> {
    Some((u16::try_from(range.start).ok()?, u16::try_from(range.end).ok()?))
}

/// See the [module documentation](self).
#[derive(Debug, Default)]
pub(crate) struct QuickConds {
    parts: Vec<Part>,
    /// Header name ids (of `Program::cond_headers`) for [`Part::HeaderCount`].
    ids: Vec<u16>,
    /// The sources of each [`Part::ScalarIn`].
    sources: Vec<Source>,
    /// Strings for [`Part::ScalarIn`]: (start, end) in `bytes`.
    spans: Vec<(u32, u32)>,
    bytes: Vec<u8>,
}

/// Where a condition's parts are in [`QuickConds`].
pub(crate) type QuickRange = (u32, u32);

impl QuickConds {
    /// Adds `cond` if every part of it can be laid out flat; returns where.
    pub(crate) fn add(&mut self, cond: &Cond, program: &Program) -> Option<QuickRange> {
        let (parts, ids, spans, bytes) = (self.parts.len(), self.ids.len(), self.spans.len(), self.bytes.len());
        let sources = self.sources.len();
        let start = parts as u32;
        if self.push(cond, program) {
            Some((start, self.parts.len() as u32))
        } else {
            self.parts.truncate(parts);
            self.ids.truncate(ids);
            self.sources.truncate(sources);
            self.spans.truncate(spans);
            self.bytes.truncate(bytes);
            None
        }
    }

    fn push(&mut self, cond: &Cond, program: &Program) -> bool {
        if self.parts.len() >= usize::from(u16::MAX) || self.bytes.len() >= u32::MAX as usize / 2 {
            return false;
        }
        match cond {
            Cond::And(operands) | Cond::Or(operands) => {
                let at = self.parts.len();
                self.parts.push(Part::Not); // replaced below
                if !operands.iter().all(|c| self.push(c, program)) {
                    return false;
                }
                let end = self.parts.len() as u32;
                self.parts[at] = if matches!(cond, Cond::And(_)) { Part::And { end } } else { Part::Or { end } };
                true
            }
            Cond::Not(inner) => {
                self.parts.push(Part::Not);
                self.push(inner, program)
            }
            &Cond::Flag(flag) => {
                self.parts.push(Part::Flag(flag));
                true
            }
            Cond::Count { target, op, value, negated } => {
                let (op, value, negated) = (*op, *value, *negated);
                match &target.index {
                    KeyIndex::Headers(names) => {
                        let start = self.ids.len();
                        self.ids.extend_from_slice(names);
                        let Some(ids) = span(start..self.ids.len()) else { return false };
                        self.parts.push(Part::HeaderCount { ids, op, value, negated });
                        true
                    }
                    KeyIndex::AllHeaders => {
                        self.parts.push(Part::AllHeaders { op, value, negated });
                        true
                    }
                    KeyIndex::Keys => false,
                }
            }
            Cond::Values { target, pipeline, op, negated } => {
                let strings: &[Box<[u8]>] = match &program.ops[*op as usize] {
                    OpIr::Equals(s) => std::slice::from_ref(s),
                    OpIr::InStrings(items) => items,
                    _ => return false,
                };
                if !program.pipelines[*pipeline as usize].is_empty() || !request_line_only(target) {
                    return false;
                }
                let start = self.spans.len();
                for s in strings {
                    let at = self.bytes.len() as u32;
                    self.bytes.extend_from_slice(s);
                    self.spans.push((at, self.bytes.len() as u32));
                }
                let Some(strings) = span(start..self.spans.len()) else { return false };
                let start = self.sources.len();
                self.sources.extend(target.sources.iter());
                let Some(sources) = span(start..self.sources.len()) else { return false };
                self.parts.push(Part::ScalarIn { sources, strings, negated: *negated });
                true
            }
        }
    }

    /// Whether the condition at `range` holds for the request as known at
    /// `phase`: what `cond::eval` answers for the condition it was made from.
    pub(crate) fn holds(&self, range: QuickRange, req: &RequestData, phase: Phase) -> bool {
        let (value, end) = self.part(range.0 as usize, req, phase);
        debug_assert_eq!(end, range.1 as usize);
        value
    }

    /// The value of the part at `i` (with its operands) and the index after them.
    fn part(&self, i: usize, req: &RequestData, phase: Phase) -> (bool, usize) {
        match self.parts[i] {
            Part::And { end } | Part::Or { end } => {
                let all = matches!(self.parts[i], Part::And { .. });
                let mut j = i + 1;
                while j < end as usize {
                    let (v, next) = self.part(j, req, phase);
                    if v != all {
                        return (v, end as usize);
                    }
                    j = next;
                }
                (all, end as usize)
            }
            Part::Not => {
                let (v, next) = self.part(i + 1, req, phase);
                (!v, next)
            }
            Part::Flag(flag) => (super::cond::flag(req, flag), i + 1),
            Part::HeaderCount { ids, op, value, negated } => {
                let counts = &req.header_index.counts;
                let n: i64 =
                    self.ids[ids.0 as usize..ids.1 as usize].iter().map(|&id| i64::from(counts[usize::from(id)])).sum();
                (op.holds(n, value) != negated, i + 1)
            }
            Part::AllHeaders { op, value, negated } => (op.holds(req.header_count as i64, value) != negated, i + 1),
            Part::ScalarIn { sources, strings, negated } => {
                // `any` over the values: the order they are met in does not matter.
                let spans = &self.spans[strings.0 as usize..strings.1 as usize];
                let found = self.sources[sources.0 as usize..sources.1 as usize].iter().any(|&s| {
                    s.phase() <= phase
                        && req
                            .scalar(s)
                            .is_some_and(|v| spans.iter().any(|&(a, b)| &self.bytes[a as usize..b as usize] == v))
                });
                (found != negated, i + 1)
            }
        }
    }
}

/// True when the target reads only request-line values without keys (the
/// method, the protocol, the path...), never the body, so that its values
/// are the scalars `cond::any_value` visits first and alone.
fn request_line_only(target: &TargetIr) -> bool {
    target.index == KeyIndex::Keys
        && target.include.is_empty()
        && target.exclude.is_empty()
        && !target.sources.has_pairs()
        && !target.sources.contains(Source::Body)
        && target.sources.iter().all(|s| Source::SCALARS.contains(&s))
}

const _: () = assert!(std::mem::size_of::<Part>() == 16);

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use proptest::prelude::*;

    use super::*;
    use crate::compile::Ruleset;
    use crate::{Phase, Transaction};

    /// Conditions of the shapes the default rules' unscanned rules have,
    /// and some that cannot be laid out flat (a pipeline, a regex, pairs).
    fn condition() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("body_error".to_owned()),
            Just("encoding_error".to_owned()),
            Just("limit_exceeded".to_owned()),
            (prop::sample::select(&["host", "content-length", "x-a", "cookie"][..]), 0..3i64, cmp(), not())
                .prop_map(|(h, n, op, not)| format!("count(headers[\"{h}\"]) {}{op} {n}", not_with(not, op))),
            (0..6i64, cmp(), not()).prop_map(|(n, op, not)| format!("count(headers) {}{op} {n}", not_with(not, op))),
            (prop::sample::select(&["method", "protocol", "path"][..]), prop::collection::vec(word(), 1..4), not())
                .prop_map(|(t, ws, not)| {
                    let list: Vec<String> = ws.iter().map(|w| format!("{w:?}")).collect();
                    format!("{t} {not}in [{}]", list.join(", "))
                }),
            (prop::sample::select(&["method", "protocol", "path"][..]), word(), any::<bool>())
                .prop_map(|(t, w, eq)| format!("{t} {} {w:?}", if eq { "==" } else { "!=" })),
            word().prop_map(|w| format!("method starts_with {w:?}")),
            Just("args regex `[0-9]{3}`".to_owned()),
            (0..3i64).prop_map(|n| format!("count(args) > {n}")),
        ];
        leaf.prop_recursive(3, 12, 3, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} and {b})")),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} or {b})")),
                inner.prop_map(|a| format!("not ({a})")),
            ]
        })
    }

    /// `TARGET not OPERATOR` or `TARGET OPERATOR`.
    fn not() -> impl Strategy<Value = &'static str> {
        prop::sample::select(&["", "not "][..])
    }

    /// `not` is not allowed with `!=`.
    fn not_with(not: &'static str, op: &str) -> &'static str {
        if op == "!=" { "" } else { not }
    }

    fn cmp() -> impl Strategy<Value = &'static str> {
        prop::sample::select(&["==", "!=", "<", "<=", ">", ">="][..])
    }

    fn word() -> impl Strategy<Value = String> {
        prop::sample::select(&["GET", "POST", "get", "HTTP/1.1", "HTTP/1.0", "/a", "/"][..]).prop_map(str::to_owned)
    }

    #[derive(Debug, Clone)]
    struct Req {
        method: &'static str,
        protocol: &'static str,
        path: &'static str,
        headers: Vec<(&'static str, &'static str)>,
    }

    fn request() -> impl Strategy<Value = Req> {
        (
            prop::sample::select(&["GET", "POST", "get", "PUT"][..]),
            prop::sample::select(&["HTTP/1.1", "HTTP/1.0", "HTTP/2"][..]),
            prop::sample::select(&["/a", "/", "/a?x=1", "/%zz?q=123"][..]),
            prop::collection::vec(
                (
                    prop::sample::select(&["Host", "host", "Content-Length", "X-A", "Cookie", "Accept"][..]),
                    prop::sample::select(&["1", "a=b", "shop.example"][..]),
                ),
                0..5,
            ),
        )
            .prop_map(|(method, protocol, path, headers)| Req { method, protocol, path, headers })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// The flat layout answers as the tree, for every condition it takes.
        #[test]
        fn a_flat_condition_answers_as_its_tree(cond in condition(), reqs in prop::collection::vec(request(), 1..4)) {
            let rules = format!("rule 1 \"c\" {{ severity notice when {cond} }}");
            let rs = Arc::new(Ruleset::from_rules(&rules).map_err(|e| TestCaseError::fail(format!("{rules}: {e}")))?);
            let rule = &rs.program.rules[0];
            let tree = rule.when.as_ref().expect("the rule has a condition");
            let mut quick = QuickConds::default();
            let Some(range) = quick.add(tree, &rs.program) else { return Ok(()) };
            let mut scratch = rs.create_scratch();
            for r in &reqs {
                let mut tx = Transaction::new(rs.clone());
                tx.set_request(r.method, r.path, r.protocol);
                for (n, v) in &r.headers {
                    tx.add_header(n, v);
                }
                tx.evaluate(Phase::RequestHeaders, &mut scratch);
                for phase in [Phase::RequestHeaders, Phase::RequestBody] {
                    let req = &tx.req;
                    let flat = quick.holds(range, req, phase);
                    let walked = crate::eval::cond::eval(tree, &rs, req, &mut scratch, phase);
                    prop_assert_eq!(flat, walked, "{} on {:?} at {:?}", cond, r, phase);
                }
            }
        }
    }

    #[test]
    fn conditions_of_other_shapes_are_left_to_the_tree() {
        for cond in [
            "args regex `x`",
            "method starts_with \"G\"",
            "count(args) > 2",
            "method == \"GET\" and cookies[\"a\"] == \"b\"",
            "body contains \"x\"",
        ] {
            let rs = Ruleset::from_rules(&format!("rule 1 \"c\" {{ severity notice when {cond} }}")).expect(cond);
            let tree = rs.program.rules[0].when.as_ref().expect(cond);
            let mut quick = QuickConds::default();
            assert_eq!(quick.add(tree, &rs.program), None, "{cond}");
            assert!(quick.parts.is_empty() && quick.ids.is_empty() && quick.spans.is_empty(), "{cond} left parts");
            assert!(quick.sources.is_empty() && quick.bytes.is_empty(), "{cond} left parts");
        }
        let rs =
            Ruleset::from_rules("rule 1 \"c\" { severity notice when not method in [\"GET\", \"POST\"] }").unwrap();
        let mut quick = QuickConds::default();
        assert!(quick.add(rs.program.rules[0].when.as_ref().unwrap(), &rs.program).is_some());
    }
}
