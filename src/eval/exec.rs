//! Evaluation of one phase: scan every value, decide rules, compute the verdict.

use regex_automata::{Anchored, Input, PatternSet};

use super::clean_cache::{CleanCache, entry_hash};
use super::results::{
    GATED, HIT, Hit, MATCHED, PAIR_BITS, REJECTED, Results, SNIPPET_MAX, StableText, Stats, TextRange, UNSEEN,
};
pub(crate) use super::scratch::Out;
use super::scratch::{AC_LOG_MAX, Classes, Scratch, UNKNOWN, Work};
use super::{Action, Match, Phase, Verdict, cond, op};
use crate::compile::ir::{KeyMatch, OpIr, RuleAction, RuleIdx, RuleKind};
use crate::compile::plan::{
    AcOwner, Anchor, CaseOnly, INLINE_CHUNKS, Member, MemberKind, Scanner, SourcePlan, key_always_checked,
};
use crate::compile::regex::CLEAN_TEXT_TIERS;
use crate::compile::sec_ir::BodyProcessor;
use crate::compile::{LimitAction, Mode, Ruleset};
use crate::request::{BodyKind, ByteRange, Origin, RequestData, Source, Transaction};
use crate::transform::Transform;
use crate::transform::byteset::{ByteSet, CaseEffect};

/// Runs `transforms` over `input` using the two buffers; returns the result
/// (the input itself when no step changed it).
pub(crate) fn run_pipeline<'a>(transforms: &[Transform], input: &'a [u8], bufs: &'a mut [Vec<u8>; 2]) -> &'a [u8] {
    run_steps(transforms, input, bufs, |t, from, to| t.apply(from, to))
}

/// Runs `steps` over `input`, each step writing into the buffer the previous
/// one did not (`apply(step, from, to)` returns false when it left `from`
/// unchanged and wrote nothing); returns the last text written, or `input`.
pub(crate) fn run_steps<'a, T>(
    steps: &[T],
    input: &'a [u8],
    bufs: &'a mut [Vec<u8>; 2],
    apply: impl Fn(&T, &[u8], &mut Vec<u8>) -> bool,
) -> &'a [u8] {
    let mut current: Option<usize> = None;
    for t in steps {
        let [a, b] = bufs;
        let changed = match current {
            None => apply(t, input, a),
            Some(0) => apply(t, a, b),
            Some(_) => apply(t, b, a),
        };
        if changed {
            current = Some(match current {
                None | Some(1) => 0,
                Some(_) => 1,
            });
        }
    }
    match current {
        None => input,
        Some(i) => &bufs[i],
    }
}

impl Transaction {
    /// Evaluates the transaction up to `phase` and returns the verdict so far.
    ///
    /// Phases run in order, each once: asking for [`Phase::RequestBody`]
    /// first runs [`Phase::RequestHeaders`] if it has not run. After a block
    /// or an `allow`, later phases do nothing. Allocates nothing once
    /// `scratch` and the transaction have warmed up.
    pub fn evaluate(&mut self, phase: Phase, scratch: &mut Scratch) -> Verdict {
        let Transaction { ruleset, req, res } = self;
        let rs: &Ruleset = ruleset;
        if rs.config().get_mode() == Mode::Off {
            res.verdict = Verdict { phase, ..Verdict::default() };
            return res.verdict;
        }
        scratch.follow(rs);
        for p in [Phase::RequestHeaders, Phase::RequestBody] {
            if p > phase {
                break;
            }
            if res.done[p as usize] {
                continue;
            }
            res.done[p as usize] = true;
            // A SecLang rule set in detect mode goes on after a would-be
            // block, as ModSecurity's DetectionOnly does.
            let detecting = rs.program.sec.is_some() && res.sec.mode(rs.config().get_mode()) != Mode::Block;
            if (res.verdict.would_block && !detecting) || res.allowed {
                res.verdict.phase = p;
                continue;
            }
            req.seclang = rs.program.sec.is_some();
            if p == Phase::RequestBody && rs.program.sec.is_some() {
                req.body_processor = res.sec.body_processor.map(|b| match b {
                    BodyProcessor::UrlEncoded => BodyKind::UrlEncoded,
                    BodyProcessor::Json => BodyKind::Json,
                    BodyProcessor::Xml => BodyKind::Xml,
                    BodyProcessor::Multipart => BodyKind::Multipart,
                });
                if rs.program.sec.as_ref().is_some_and(|s| !s.body_access) {
                    req.body.clear();
                }
            }
            // The pairs of a query string, `Cookie` header or urlencoded body
            // known clean are counted, not parsed: a condition that reads
            // them parses them then (`cond::any_value`). SecLang reads pairs
            // directly.
            let clean = &scratch.clean;
            let lazy = clean.is_on() && rs.program.sec.is_none();
            let mut looked = [None; 3];
            req.prepare(p, rs.config(), |origin, text| {
                let (slot, id) = match origin {
                    Origin::Query => (0, QUERY_GROUP),
                    Origin::Cookie => (1, COOKIE_GROUP),
                    Origin::Form => (2, FORM_GROUP),
                    _ => return false,
                };
                if !lazy || !clean.takes(0, text.len()) {
                    return false;
                }
                let hash = entry_hash(id, b"", text);
                let known = clean.contains(hash, id, b"", text);
                looked[slot] = Some((hash, known));
                known
            });
            req.header_index.update(&rs.program.cond_header_ids, &req.fields);
            update_exclusions(rs, req, res, scratch, p);
            gate_scans(rs, req, res, scratch, p);
            scan_phase(rs, req, res, scratch, p, looked);
            req.scanned_pairs = req.fields.pairs.len();
            decide(rs, req, res, scratch, p);
            for &r in &rs.plan.gated[p as usize] {
                if res.rule_state[r as usize] == GATED {
                    res.rule_state[r as usize] = UNSEEN;
                }
            }
            super::sec::run_phase(rs, req, res, scratch, p);
            res.verdict = verdict(rs, req, res, p);
        }
        res.verdict
    }

    /// The verdict of the last evaluation.
    pub fn verdict(&self) -> Verdict {
        self.res.verdict
    }

    /// The rules that matched, in rule order per phase.
    pub fn matches(&self) -> impl Iterator<Item = Match<'_>> {
        let rules = &self.ruleset.program.rules;
        self.res.matched.iter().map(move |&h| {
            let hit = &self.res.hits[h as usize];
            let rule = &rules[hit.rule as usize];
            Match {
                id: rule.id,
                message: &rule.message,
                severity: rule.severity,
                tags: &rule.tags,
                field: std::str::from_utf8(self.res.text(hit.field)).unwrap_or(""),
                offset: hit.offset,
                snippet: self.res.text(hit.snippet),
                phase: hit.phase,
            }
        })
    }

    /// Work counters of this transaction.
    pub fn stats(&self) -> Stats {
        self.res.stats
    }
}

/// Evaluates the conditions of conditional exclusions with the data known at
/// the start of this phase. They apply to the hits of this phase: a condition
/// on `args` sees the query arguments in the headers phase and every argument
/// in the body phase.
fn update_exclusions(rs: &Ruleset, req: &RequestData, res: &mut Results, scratch: &mut Scratch, phase: Phase) {
    for (i, ex) in rs.program.exclusions.iter().enumerate() {
        res.exclusion_active[i] = cond::eval(&ex.when, rs, req, scratch, phase);
    }
}

/// Checks the cheap headers-only conditions of rules that scan this phase's
/// values (see `Plan::gated`): a rule whose condition fails could not match
/// whatever its scan found, so it skips the scan's per-value work.
fn gate_scans(rs: &Ruleset, req: &RequestData, res: &mut Results, scratch: &mut Scratch, phase: Phase) {
    if rs.plan.gated[phase as usize].is_empty() || !has_values_to_scan(req, phase) {
        // No scan work to save (the body phase of a request without a body).
        return;
    }
    for &r in &rs.plan.gated[phase as usize] {
        let rule = &rs.program.rules[r as usize];
        if res.rule_state[r as usize] == UNSEEN
            && rule.when.as_ref().is_some_and(|c| !cond::eval(c, rs, req, scratch, phase))
        {
            res.rule_state[r as usize] = GATED;
        }
    }
}

/// Whether [`scan_phase`] has a value to scan in `phase`: a scalar of the
/// phase (the body only when not empty) or a pair not scanned yet.
fn has_values_to_scan(req: &RequestData, phase: Phase) -> bool {
    req.fields.pairs.len() > req.scanned_pairs
        || Source::SCALARS
            .iter()
            .any(|&s| s.phase() == phase && req.scalar(s).is_some_and(|v| s != Source::Body || !v.is_empty()))
}

/// `looked`: the hash and presence in the value cache of the groups of the
/// query, the `Cookie` header and an urlencoded body, when
/// [`RequestData::prepare`] looked them up.
fn scan_phase(
    rs: &Ruleset,
    req: &RequestData,
    res: &mut Results,
    scratch: &mut Scratch,
    phase: Phase,
    looked: [Option<(u64, bool)>; 3],
) {
    // The values taken from the request line, as one group (see `line_group`).
    // (Not when no rule scans those values: the lookup would be all cost.)
    let scans = |sources: &[Source]| sources.iter().any(|s| !rs.plan.sources[s.index()].trie.is_empty());
    let mut line =
        if phase == Phase::RequestHeaders && scans(&LINE_SOURCES) { line_group(req, &scratch.clean) } else { None };
    for s in Source::SCALARS {
        if s.phase() != phase || rs.plan.sources[s.index()].trie.is_empty() {
            continue;
        }
        if let Some(v) = req.scalar(s) {
            if s == Source::Body && v.is_empty() {
                continue;
            }
            let of_line = LINE_SOURCES.contains(&s);
            if let Some(g) = &mut line
                && of_line
            {
                if g.known {
                    res.stats.values_cached += 1;
                    continue;
                }
                g.scanned += 1;
            }
            let place = Place { source: s, key_range: ByteRange::EMPTY, key: b"", pair: NO_PAIR, phase };
            let clean = scan_value(rs, res, scratch, &place, v);
            if let Some(g) = &mut line
                && of_line
            {
                g.clean &= clean;
            }
        }
    }
    if let Some(g) = line
        && !g.known
        && g.clean
        && g.scanned > 0
        && req.limit.is_none()
        && scratch.clean.learns(g.hash, g.key.len(), g.text.len())
    {
        scratch.clean.insert(g.hash, LINE_GROUP, &g.key, g.text);
    }
    // Pairs not scanned yet: this phase's, and headers added after the headers
    // phase (scanned in the body phase rather than not at all).
    let first = req.scanned_pairs.min(req.fields.pairs.len());
    let mut groups = if scratch.clean.is_on() {
        let headers = scans(&[Source::HeaderName, Source::HeaderValue]);
        pair_groups(req, phase, first, looked, headers)
    } else {
        [None, None, None]
    };
    for slot in &mut groups {
        match slot {
            // Looked up before parsing.
            Some(g) if g.looked_up && !g.known => {}
            Some(g) if g.known => {
                // Counted, not parsed (`RequestData::prepare`).
                let n = u64::from(g.unparsed);
                for name in [true, false] {
                    let s = Source::of_pair(g.origin, name);
                    res.stats.values_cached += n * u64::from(!rs.plan.sources[s.index()].trie.is_empty());
                }
            }
            Some(g) if scratch.clean.takes(g.key_len, g.text.len()) => {
                // The header block's key is made only for a slot that may hold it.
                g.known = scratch.clean.may_contain(g.hash, g.key_len, g.text.len()) && {
                    let key = group_key(req, first, g, &mut scratch.block_key);
                    scratch.clean.contains(g.hash, g.id, key, g.text)
                };
            }
            // Too long for the cache: its pairs are looked up one by one.
            _ => *slot = None,
        }
    }
    for (i, pair) in req.fields.pairs[first..].iter().enumerate() {
        let index = (first + i) as u32;
        let name_source = Source::of_pair(pair.origin, true);
        if name_source.phase() > phase {
            continue;
        }
        let key = req.fields.get(pair.name);
        // A common header name no rule can match is not scanned.
        let clean = name_source == Source::HeaderName && rs.plan.clean_header_names.contains(key);
        let scan_name = !clean && !rs.plan.sources[name_source.index()].trie.is_empty();
        let value_source = Source::of_pair(pair.origin, false);
        let scan_pair_value = !rs.plan.sources[value_source.index()].trie.is_empty();
        let mut group = groups.iter_mut().flatten().find(|g| g.origin == pair.origin);
        if let Some(g) = &group
            && g.known
        {
            // Parsed from a text whose every pair was found clean before.
            res.stats.values_cached += u64::from(scan_name) + u64::from(scan_pair_value);
            continue;
        }
        let mut known_clean = true;
        if scan_name {
            let place = Place { source: name_source, key_range: pair.name, key, pair: index, phase };
            known_clean &= scan_value(rs, res, scratch, &place, key);
        }
        if scan_pair_value {
            let place = Place { source: value_source, key_range: pair.name, key, pair: index, phase };
            known_clean &= scan_value(rs, res, scratch, &place, req.fields.get(pair.value));
        }
        if let Some(g) = &mut group {
            g.clean &= known_clean;
            g.pairs += 1;
        }
    }
    // A text cut short by a limit (too many arguments, too deep) gave only a
    // prefix of its pairs: what came after was not seen, so it is not kept.
    // (Skipping is sound under a limit: a prefix of clean pairs is clean.)
    for g in groups.into_iter().flatten() {
        if !g.known
            && g.clean
            && g.pairs > 0
            && req.limit.is_none()
            && scratch.clean.learns(g.hash, g.key_len, g.text.len())
        {
            let key = group_key(req, first, &g, &mut scratch.block_key);
            scratch.clean.insert(g.hash, g.id, key, g.text);
        }
    }
}

/// The pairs of a request parsed from one text: the query string's
/// arguments, the cookies of the request's only `Cookie` header, the
/// arguments of an urlencoded or a JSON body. Parsing is a function of the
/// text (and of limits that are part of the ruleset), so when every pair a
/// text gave was found clean (each answered by the value cache or scanned
/// and kept by it), the text itself is kept in the cache under the group's
/// id, and when it comes again its pairs are skipped without a lookup each.
/// The request's headers form a group too ([`header_block`]): their text is
/// the names and values in the order the host added them.
struct PairGroup<'a> {
    origin: Origin,
    /// The group's source byte in the value cache (past every [`Source`]).
    id: u8,
    /// The length of the group's key in the value cache: 0, but for the
    /// header block ([`group_key`]).
    key_len: usize,
    text: &'a [u8],
    hash: u64,
    /// Found in the value cache: every pair is clean.
    known: bool,
    /// Pairs the text has that were counted but not parsed (`known` then).
    unparsed: u32,
    /// `known` was looked up before the text was parsed.
    looked_up: bool,
    /// Every pair scanned so far was found clean.
    clean: bool,
    pairs: u32,
}

/// The sources whose value `set_request` takes from the request line alone
/// (its method, target and protocol), whatever else the request has.
const LINE_SOURCES: [Source; 10] = [
    Source::RequestLine,
    Source::Method,
    Source::Uri,
    Source::Path,
    Source::Basename,
    Source::Query,
    Source::Protocol,
    Source::Filename,
    Source::FilenameBase,
    Source::UriDecoded,
];

/// The request line as a group of the value cache: its values
/// ([`LINE_SOURCES`]) are functions of the method, the target and the
/// protocol (and of the ruleset), so when each was found clean the request
/// line is kept under [`LINE_GROUP`], keyed by the lengths of its three
/// parts, and when it comes again they are skipped without a lookup each.
struct LineGroup<'a> {
    text: &'a [u8],
    key: [u8; 12],
    hash: u64,
    /// Found in the value cache: every value is clean.
    known: bool,
    /// Every value scanned so far was found clean.
    clean: bool,
    scanned: u32,
}

/// The request's [`LineGroup`], looked up; None when the cache cannot hold
/// it or the request has no request line.
fn line_group<'a>(req: &'a RequestData, clean: &CleanCache) -> Option<LineGroup<'a>> {
    let text = req.scalar(Source::RequestLine)?;
    let mut key = [0u8; 12];
    for (part, s) in key.chunks_exact_mut(4).zip([Source::Method, Source::Uri, Source::Protocol]) {
        let len = req.scalar(s).map_or(u32::MAX, |v| v.len() as u32);
        part.copy_from_slice(&len.to_le_bytes());
    }
    if !clean.takes(key.len(), text.len()) {
        return None;
    }
    let hash = entry_hash(LINE_GROUP, b"", text);
    let known = clean.contains(hash, LINE_GROUP, &key, text);
    Some(LineGroup { text, key, hash, known, clean: true, scanned: 0 })
}

/// The value cache's source bytes of the pair groups (past every [`Source`]).
const QUERY_GROUP: u8 = 0x80;
const COOKIE_GROUP: u8 = 0x81;
const FORM_GROUP: u8 = 0x82;
const JSON_GROUP: u8 = 0x83;
const HEADER_GROUP: u8 = 0x84;
const LINE_GROUP: u8 = 0x85;

/// The groups whose pairs [`scan_phase`] meets in `phase` (from pair
/// `first` on).
fn pair_groups<'a>(
    req: &'a RequestData,
    phase: Phase,
    first: usize,
    looked: [Option<(u64, bool)>; 3],
    headers: bool,
) -> [Option<PairGroup<'a>>; 3] {
    // `slot`: the group's index in `looked` and `RequestData::unparsed`.
    // The hash leaves out the header block's key: the key is compared.
    let group = |origin: Origin, id: u8, key_len: usize, text: &'a [u8], slot: Option<usize>| {
        let looked = slot.and_then(|i| looked[i]);
        let unparsed = slot.and_then(|i| req.unparsed[i]);
        let (hash, known) = looked.unwrap_or_else(|| (entry_hash(id, b"", text), false));
        Some(PairGroup {
            origin,
            id,
            key_len,
            text,
            hash,
            known: known || unparsed.is_some(),
            unparsed: unparsed.unwrap_or(0),
            looked_up: looked.is_some(),
            clean: true,
            pairs: 0,
        })
    };
    match phase {
        Phase::RequestHeaders => {
            let query = req.scalar(Source::Query).and_then(|q| group(Origin::Query, QUERY_GROUP, 0, q, Some(0)));
            // Cookies: only from a single Cookie header, all parsed now.
            let cookie = (req.cookie_headers == 1 && first == 0)
                .then(|| group(Origin::Cookie, COOKIE_GROUP, 0, req.fields.get(req.first_cookie_header), Some(1)))
                .flatten();
            let headers = headers
                .then(|| header_block(req, first))
                .flatten()
                .and_then(|(text, parts)| group(Origin::Header, HEADER_GROUP, parts * 4, text, None));
            [query, cookie, headers]
        }
        Phase::RequestBody => {
            let body = req.scalar(Source::Body).unwrap_or_default();
            let body = match req.body_kind {
                _ if body.is_empty() => None,
                Some(BodyKind::UrlEncoded) => group(Origin::Form, FORM_GROUP, 0, body, Some(2)),
                Some(BodyKind::Json) => group(Origin::Json, JSON_GROUP, 0, body, None),
                _ => None,
            };
            [body, None, None]
        }
    }
}

/// The request's headers from pair `first` on as one text, when the host
/// added them one after the other (each name right before its value, each
/// pair right before the next, in the fields' arena), with the number of
/// names and values: None when a header is elsewhere, or there is none.
/// Such a block and the places where its parts end ([`group_key`]) give
/// every (name, value) back: two requests with the same block and ends have
/// the same headers in the same order.
fn header_block(req: &RequestData, first: usize) -> Option<(&[u8], usize)> {
    let mut headers = req.fields.pairs[first..].iter().filter(|p| p.origin == Origin::Header);
    let start = headers.next()?.name.start;
    let (mut end, mut parts) = (start, 0);
    for p in req.fields.pairs[first..].iter().filter(|p| p.origin == Origin::Header) {
        if p.name.start != end || p.value.start != p.name.end {
            return None;
        }
        end = p.value.end;
        parts += 2;
    }
    Some((req.fields.get(ByteRange { start, end }), parts))
}

/// The key of a group in the value cache, written in `buf`: empty, but for
/// the header block, where each of its parts ends (4 bytes each,
/// little-endian, from the block's start).
fn group_key<'b>(req: &RequestData, first: usize, g: &PairGroup<'_>, buf: &'b mut Vec<u8>) -> &'b [u8] {
    buf.clear();
    if g.id == HEADER_GROUP {
        let mut headers = req.fields.pairs[first..].iter().filter(|p| p.origin == Origin::Header);
        if let Some(start) = headers.next().map(|p| p.name.start) {
            for p in req.fields.pairs[first..].iter().filter(|p| p.origin == Origin::Header) {
                buf.extend_from_slice(&(p.name.end - start).to_le_bytes());
                buf.extend_from_slice(&(p.value.end - start).to_le_bytes());
            }
        }
    }
    debug_assert_eq!(buf.len(), g.key_len);
    buf
}

/// Well-known request header names, as browsers and HTTP/1.1 clients spell
/// them and in lower case (HTTP/2). Those whose scan as a header name finds
/// nothing are listed in `Plan::clean_header_names` when a ruleset is built.
const COMMON_HEADER_NAMES: &[&str] = &[
    "Host",
    "User-Agent",
    "Accept",
    "Accept-Language",
    "Accept-Encoding",
    "Accept-Charset",
    "Connection",
    "Keep-Alive",
    "Content-Type",
    "Content-Length",
    "Content-Encoding",
    "Cookie",
    "Referer",
    "Origin",
    "Authorization",
    "Cache-Control",
    "Pragma",
    "Upgrade-Insecure-Requests",
    "Upgrade",
    "Sec-Fetch-Site",
    "Sec-Fetch-Mode",
    "Sec-Fetch-Dest",
    "Sec-Fetch-User",
    "Sec-CH-UA",
    "Sec-CH-UA-Mobile",
    "Sec-CH-UA-Platform",
    "DNT",
    "TE",
    "Transfer-Encoding",
    "If-None-Match",
    "If-Modified-Since",
    "If-Match",
    "If-Unmodified-Since",
    "If-Range",
    "Range",
    "Expect",
    "Forwarded",
    "Via",
    "Priority",
    "X-Requested-With",
    "X-Forwarded-For",
    "X-Forwarded-Proto",
    "X-Forwarded-Host",
    "X-Real-IP",
    "X-Request-ID",
    "X-Correlation-ID",
    "X-CSRF-Token",
    "X-Api-Key",
    "Max-Forwards",
    "Date",
];

/// The names of [`COMMON_HEADER_NAMES`] (both spellings) whose scan as a
/// header name finds nothing with this ruleset. Skipping their scan
/// changes no result: a scan depends only on the ruleset, the key and the
/// value, and the state of a request can only remove hits (rules already
/// decided, exclusions, failed conditions), never add one; a rule that matches
/// when its operator does not (`match not`) shows here as a hit.
pub(crate) fn clean_header_names(rs: &Ruleset) -> Vec<Box<[u8]>> {
    let source = Source::HeaderName;
    if rs.plan.sources[source.index()].trie.is_empty() {
        return Vec::new();
    }
    let mut scratch = Scratch::for_ruleset(rs);
    let mut res = Results::for_ruleset(rs);
    let mut clean: Vec<Box<[u8]>> = Vec::new();
    for name in COMMON_HEADER_NAMES {
        for spelling in [name.as_bytes().to_vec(), name.to_ascii_lowercase().into_bytes()] {
            res.clear(rs);
            let place = Place {
                source,
                key_range: ByteRange::EMPTY,
                key: &spelling,
                pair: NO_PAIR,
                phase: Phase::RequestHeaders,
            };
            scan_value(rs, &mut res, &mut scratch, &place, &spelling);
            if res.hits.is_empty() && !clean.iter().any(|c| **c == *spelling) {
                clean.push(spelling.into());
            }
        }
    }
    clean
}

/// Where a value came from, for recording hits.
struct Place<'a> {
    source: Source,
    key_range: ByteRange,
    key: &'a [u8],
    /// The index of the value's pair in the request's fields, [`NO_PAIR`]
    /// for a scalar.
    pair: u32,
    phase: Phase,
}

/// [`Place::pair`] of a scalar value.
const NO_PAIR: u32 = u32::MAX;

/// Runs every group of `source` over `value`: collects the distinct
/// transformed texts with the mask of groups each stands for (directly for a
/// value only its case can change, [`case_texts`]; else by walking the
/// source's pipeline trie, [`walk_trie`]), then runs the source's merged
/// scanners once per distinct text.
fn scan_value(rs: &Ruleset, res: &mut Results, scratch: &mut Scratch, place: &Place<'_>, value: &[u8]) -> bool {
    let Place { source, key, .. } = *place;
    let sp = &rs.plan.sources[source.index()];
    if sp.trie.is_empty() {
        return true;
    }
    // A value whose full scan found nothing before finds nothing again. In
    // a source whose scans depend on the key only through the groups it
    // selects (`SourcePlan::key_free`), a key that selects none is left out
    // of the entry; the lookup then waits for the key matchers.
    let lookup = |clean: &mut CleanCache, id: u8, key: &[u8]| -> Option<Option<u64>> {
        if !clean.takes(key.len(), value.len()) {
            return Some(None);
        }
        let hash = entry_hash(id, key, value);
        if clean.contains(hash, id, key, value) {
            return None;
        }
        Some(clean.learns(hash, key.len(), value.len()).then_some(hash))
    };
    let mut entry = (source.index() as u8, key);
    let mut cache_hash = None;
    if !sp.key_free {
        let Some(hash) = lookup(&mut scratch.clean, entry.0, entry.1) else {
            res.stats.values_cached += 1;
            return true;
        };
        cache_hash = hash;
    }
    let keyed = select_groups(rs, sp, key, &mut scratch.active);
    if sp.key_free {
        if !keyed {
            entry = (entry.0 | KEY_FREE, b"");
        }
        let Some(hash) = lookup(&mut scratch.clean, entry.0, entry.1) else {
            res.stats.values_cached += 1;
            return true;
        };
        cache_hash = hash;
    }
    let (source_id, cache_key) = entry;
    // A value the cache will keep if it is clean is scanned with the rules
    // gated for this request too; a rule already decided in this request
    // leaves its result unknown, and it is not kept (see `learns`): what is
    // kept must not depend on the request.
    let learn = cache_hash.is_some();
    scratch.work.value_dirty = false;
    res.stats.values_inspected += 1;
    let chunks = sp.scanners.len();
    let Scratch { bufs, outs, out_class, classes, active, work, clean, .. } = scratch;
    classes.begin(chunks);
    if !case_texts(sp, value, active, classes, &mut res.stats) {
        walk_trie(sp, value, active, classes, bufs, outs, out_class, &mut res.stats);
    }
    work.ac_passes.clear();
    work.ac_matches.clear();
    for c in 0..classes.len() {
        let bytes = classes.bytes(c, value);
        let t = classes.text(c, value);
        for (k, &id) in sp.scanners.iter().enumerate() {
            let mask = classes.mask(c, k);
            if mask != 0 {
                let scanner = &rs.plan.scanners[id as usize];
                // An earlier text of this value equal but for ASCII case: its
                // Aho-Corasick matches are this text's (same places, same patterns).
                let twin = work
                    .ac_passes
                    .iter()
                    .find(|(c2, k2, _)| {
                        *k2 as usize == k && {
                            let other = classes.text(*c2 as usize, value);
                            other.len() == t.len() && other.eq_ignore_ascii_case(t)
                        }
                    })
                    .map(|(_, _, range)| range.clone());
                let ac = AcPass { class: c as u32, chunk: k as u32, twin };
                run_scanner(rs, id as usize, scanner, t, &bytes, mask, ac, work, res, place, learn);
            }
        }
    }
    if let Some(hash) = cache_hash
        && !work.value_dirty
    {
        clean.insert(hash, source_id, cache_key, value);
        return true;
    }
    false
}

/// Collects the distinct transformed texts of `value` into `classes`, each
/// with the groups (of those `active`) whose pipeline gives it, by walking
/// the source's pipeline trie: pipelines sharing a prefix share its
/// transform runs, and a transform is skipped on a value without its
/// trigger bytes.
#[allow(clippy::too_many_arguments)]
fn walk_trie(
    sp: &SourcePlan,
    value: &[u8],
    active: &[u64],
    classes: &mut Classes,
    bufs: &mut [Vec<u8>],
    outs: &mut [Out],
    out_class: &mut [Option<usize>],
    stats: &mut Stats,
) {
    // Scanner masks past the inline ones (none for most sources).
    let (inline, more) = active.split_at(active.len().min(INLINE_CHUNKS));
    let mut n = 0;
    while n < sp.trie.len() {
        let node = &sp.trie[n];
        let idle = node.subtree_groups.iter().zip(inline).all(|(s, a)| s & a == 0)
            && node.subtree_more.iter().zip(more).all(|(s, a)| s & a == 0);
        if idle {
            n = node.subtree_end as usize;
            continue;
        }
        n += 1;
        let depth = usize::from(node.depth);
        match node.transform {
            None => {
                outs[0] = Out::Input;
                out_class[0] = None;
            }
            Some(transform)
                if matches!(outs[depth - 1], Out::Input)
                    && transform.triggers().is_some_and(|t| !t.intersects(&classes.value_bytes(value))) =>
            {
                // The value has none of the bytes this transform acts on.
                outs[depth] = outs[depth - 1];
                out_class[depth] = out_class[depth - 1];
            }
            Some(transform) => {
                stats.transform_steps += 1;
                let (done, rest) = bufs.split_at_mut(depth);
                let parent: &[u8] = match outs[depth - 1] {
                    Out::Input => value,
                    Out::Buf(i) => &done[i],
                };
                if transform.apply(parent, &mut rest[0]) {
                    outs[depth] = Out::Buf(depth);
                    out_class[depth] = None;
                } else {
                    // Unchanged: the same text, so the same class.
                    outs[depth] = outs[depth - 1];
                    out_class[depth] = out_class[depth - 1];
                }
            }
        }
        let (gs, ge) = node.groups;
        if gs == ge {
            continue;
        }
        let t: &[u8] = match outs[depth] {
            Out::Input => value,
            Out::Buf(i) => &bufs[i],
        };
        let mut class = None;
        for &(chunk, groups) in &sp.node_groups[gs as usize..ge as usize] {
            let groups = groups & active[usize::from(chunk)];
            if groups == 0 {
                continue;
            }
            if depth > 0 {
                stats.pipeline_runs += u64::from(groups.count_ones());
            }
            let c = *class.get_or_insert_with(|| {
                *out_class[depth].get_or_insert_with(|| classes.class_of(t, value, matches!(outs[depth], Out::Input)))
            });
            classes.add(c, usize::from(chunk), groups);
        }
    }
}

/// The texts of a value that has none of its source's case-only triggers
/// (see [`CaseOnly`]): the value, its lowercase, its uppercase, and for a
/// value with single spaces between words ([`SourcePlan::spaced`]) the same
/// three without the spaces, each for the active groups whose pipeline gives
/// it; the same texts and groups as [`walk_trie`] collects, made without
/// walking the trie. Returns false (and collects nothing) for other values.
fn case_texts(sp: &SourcePlan, value: &[u8], active: &[u64], classes: &mut Classes, stats: &mut Stats) -> bool {
    let bytes = classes.value_bytes(value);
    let spaced = bytes.contains(b' ');
    let Some(plan) = (if spaced { &sp.spaced } else { &sp.case_only }) else { return false };
    // (The exceptions have no letters: a step that changes case leaves them
    // as they are.)
    if bytes.intersects(&plan.triggers) || plan.exceptions.contains(&value) {
        return false;
    }
    if spaced
        && (value.first() == Some(&b' ') || value.last() == Some(&b' ') || memchr::memmem::find(value, b"  ").is_some())
    {
        return false;
    }
    const UPPER: ByteSet = ByteSet::range(b'A', b'Z');
    const LOWER: ByteSet = ByteSet::range(b'a', b'z');
    const EFFECTS: [CaseEffect; 3] = [CaseEffect::Same, CaseEffect::Lower, CaseEffect::Upper];
    // Per text (see `CaseOnly::text`), its class once made: a case step that
    // changes nothing gives the text of `Same`.
    let mut made = [usize::MAX; 6];
    // (Without spaces, only the texts that keep them have groups.)
    let step = if spaced { 1 } else { 2 };
    let mut next = 0;
    while next < plan.groups.len() {
        let i = next;
        next += step;
        let groups = &plan.groups[i];
        if groups.iter().zip(active).all(|(g, a)| g & a == 0) {
            continue;
        }
        let removed = i % 2 == 1;
        let effect = match EFFECTS[i / 2] {
            CaseEffect::Lower if bytes.intersects(&UPPER) => CaseEffect::Lower,
            CaseEffect::Upper if bytes.intersects(&LOWER) => CaseEffect::Upper,
            _ => CaseEffect::Same,
        };
        let text = CaseOnly::text(effect, removed);
        // A text that changes differs from the value; texts that change
        // differ from each other (without the spaces they are shorter than
        // with them, and the lowercase and the uppercase both change only
        // when the value has letters of both cases): each is a class of its
        // own, its bytes those of the value with the letters mapped and
        // without the space.
        let c = match made[text] {
            usize::MAX if effect == CaseEffect::Same && !removed => classes.class_of(value, value, true),
            usize::MAX => {
                stats.transform_steps += 1;
                let mut mapped = match effect {
                    CaseEffect::Same => bytes,
                    CaseEffect::Lower => bytes.to_ascii_lowercase(),
                    CaseEffect::Upper => bytes.to_ascii_uppercase(),
                };
                if removed {
                    mapped = mapped.difference(ByteSet::of(b" "));
                }
                classes.push_distinct(mapped, |out| {
                    if removed {
                        out.extend(value.iter().copied().filter(|&b| b != b' '));
                    } else {
                        out.extend_from_slice(value);
                    }
                    match effect {
                        CaseEffect::Same => {}
                        CaseEffect::Lower => out.make_ascii_lowercase(),
                        CaseEffect::Upper => out.make_ascii_uppercase(),
                    }
                })
            }
            c => c,
        };
        made[text] = c;
        for (chunk, ((g, a), t)) in groups.iter().zip(active).zip(&plan.transformed).enumerate() {
            let mask = g & a;
            if mask != 0 {
                stats.pipeline_runs += u64::from((mask & t).count_ones());
                classes.add(c, chunk, mask);
            }
        }
    }
    true
}

/// The value cache's source-byte flag of an entry kept without its key (see
/// `SourcePlan::key_free`); source bytes are below it, the pair groups' and
/// memos' above it.
const KEY_FREE: u8 = 0x40;
const _: () = assert!(crate::request::SOURCE_COUNT <= KEY_FREE as usize);

/// Sets `active` to the groups of `sp` that read `key`, one mask per merged
/// scanner: the groups reading every key, and those of each distinct key
/// matcher that takes `key` (each runs once, however many groups name it).
/// Returns whether a key matcher took the key. A branch of the trie whose
/// groups all skip the key (say, rules on `headers["user-agent"]` only) then
/// runs no transforms.
fn select_groups(rs: &Ruleset, sp: &SourcePlan, key: &[u8], active: &mut Vec<u64>) -> bool {
    active.clear();
    active.extend_from_slice(&sp.unkeyed);
    // Without a byte the literal-bearing key regexes need, only exact names
    // and prefixes can match.
    let regexes_may_match = sp.key_regex_bytes.as_ref().is_none_or(|b| key.iter().any(|&c| b.contains(c)));
    // Nor an exact name of another length or first byte.
    let names_may_match =
        sp.exact_lengths & (1 << key.len().min(63)) != 0 && key.first().is_none_or(|&b| sp.exact_first.contains(b));
    let mut keyed = false;
    for (k, groups) in &sp.key_matchers {
        let may_match = match k {
            KeyMatch::Exact(_) => names_may_match,
            KeyMatch::Regex(_) => regexes_may_match || key_always_checked(&rs.program, k),
        };
        if may_match && k.matches(key, &rs.program.regexes) {
            keyed = true;
            for (a, g) in active.iter_mut().zip(groups) {
                *a |= g;
            }
        }
    }
    keyed
}

/// Whether an operator of `rule`, closed for this value (see [`open`]), runs
/// anyway so that the value's scan result is known in full for the value
/// cache (`learn`). Rules gated by a cheap condition of this request run: they
/// rarely match, and the value can then be remembered. Rules that already hit
/// in this request do not: their pattern tends to recur, so the work would be
/// lost; the value is then not remembered.
fn learns(res: &Results, rule: RuleIdx, learn: bool, work: &mut Work) -> bool {
    if learn && res.rule_state[rule as usize] == GATED {
        return true;
    }
    work.value_dirty = true;
    false
}

/// Where the Aho-Corasick matches of one scanner run come from.
struct AcPass {
    class: u32,
    chunk: u32,
    /// Matches logged for a text equal but for ASCII case (a range of `Work::ac_matches`).
    twin: Option<std::ops::Range<u32>>,
}

/// Runs one merged scanner over the text `t` of a value for the groups in
/// `mask` and records the hits. With `learn` (the value cache can take the
/// value), `work.value_dirty` says whether anything matched or was left
/// unknown; see [`learns`].
#[allow(clippy::too_many_arguments)]
fn run_scanner(
    rs: &Ruleset,
    id: usize,
    scanner: &Scanner,
    t: &[u8],
    bytes: &ByteSet,
    mask: u64,
    pass: AcPass,
    work: &mut Work,
    res: &mut Results,
    place: &Place<'_>,
    learn: bool,
) {
    let program = &rs.program;
    let active = |m: &Member| mask & (1 << m.group) != 0;
    work.begin_value();
    let can_hit = |required: &Option<ByteSet>| required.as_ref().is_none_or(|r| r.intersects(bytes));
    if let Some(ac) = scanner
        .ac
        .as_ref()
        .filter(|_| mask & scanner.ac_groups != 0 && t.len() >= scanner.ac_min_len && can_hit(&scanner.ac_required))
    {
        if let Some(range) = pass.twin {
            for i in range {
                let (pattern, start, end) = work.ac_matches[i as usize];
                ac_match(scanner, t, mask, pattern as usize, start as usize, end as usize, work, res);
            }
        } else {
            res.stats.automaton_passes += 1;
            let first = work.ac_matches.len();
            let mut logged = true;
            let mut on_match = |pattern: usize, start: usize, end: usize| {
                if logged && work.ac_matches.len() - first < AC_LOG_MAX {
                    work.ac_matches.push((pattern as u32, start as u32, end as u32));
                } else {
                    logged = false;
                }
                ac_match(scanner, t, mask, pattern, start, end, work, res);
            };
            ac.for_each_match(t, &mut on_match);
            if logged {
                work.ac_passes.push((pass.class, pass.chunk, first as u32..work.ac_matches.len() as u32));
            } else {
                work.ac_matches.truncate(first);
            }
        }
    }
    for (c, chunk) in scanner.sets.iter().enumerate() {
        if mask & chunk.groups == 0 || t.len() < chunk.min_len || !can_hit(&chunk.required) {
            continue;
        }
        res.stats.automaton_passes += 1;
        let cache = work.set_caches[id][c].get_or_insert_with(|| chunk.regex.create_cache());
        // Taken out and put back so that `work.hit` can borrow `work`;
        // an empty pattern set allocates nothing.
        let mut patset = std::mem::replace(&mut work.patsets[id][c], PatternSet::new(0));
        patset.clear();
        let input = Input::new(t).anchored(if chunk.anchored { Anchored::Yes } else { Anchored::No });
        chunk.regex.which_overlapping_matches_with(cache, &input, &mut patset);
        for pid in patset.iter() {
            let member = chunk.members[pid.as_usize()];
            if active(&scanner.members[member as usize]) {
                work.hit(member, UNKNOWN, 0);
            }
        }
        work.patsets[id][c] = patset;
    }
    let mut i = 0;
    while i < work.candidates.len() {
        let m = work.candidates[i];
        i += 1;
        let member = scanner.members[m as usize];
        if !member.negated && !open(rs, res, member.rule, place) && !learns(res, member.rule, learn, work) {
            continue;
        }
        let regex = match member.kind {
            MemberKind::Prefiltered(regex) => Some(regex),
            // On a text with a byte of its tier the regex runs directly below.
            MemberKind::Conditional(regex, tier) if !bytes.intersects(&CLEAN_TEXT_TIERS[usize::from(tier)]) => {
                Some(regex)
            }
            _ => None,
        };
        if let Some(regex) = regex {
            res.stats.regex_confirmations += 1;
            let compiled = &program.regexes[regex as usize];
            let cache = work.regex_cache(regex, &compiled.regex);
            if let Some(found) = compiled.regex.search_with(cache, &Input::new(t)) {
                work.hit(m, found.start() as u32, found.end() as u32);
            }
        }
    }
    for &(bit, start, end) in &scanner.direct_ranges {
        if mask & (1 << bit) == 0 {
            continue;
        }
        for i in start as usize..end as usize {
            let m = scanner.direct[i];
            let filter = &scanner.direct_filters[i];
            let member = scanner.members[m as usize];
            if !member.negated && !open(rs, res, member.rule, place) && !learns(res, member.rule, learn, work) {
                continue;
            }
            // The operator cannot match this text: too short, or without a
            // byte it needs; or the Aho-Corasick pass stood for it.
            if t.len() < filter.min_len
                || filter.required.as_ref().is_some_and(|r| !r.intersects(bytes))
                || filter.only_with.as_ref().is_some_and(|r| !r.intersects(bytes))
            {
                continue;
            }
            if !takes_key(rs, member.rule, place) {
                continue;
            }
            res.stats.direct_checks += 1;
            if let Some((s, e)) = op::eval(&program.ops[member.op as usize], t, program, work) {
                work.hit(m, s as u32, e as u32);
            }
        }
    }
    // A negated member's hit is the rule not matching; those that fire are
    // below.
    if work.touched.iter().any(|&m| !scanner.members[m as usize].negated) {
        work.value_dirty = true;
    }
    let mut i = 0;
    while i < work.touched.len() {
        let m = work.touched[i];
        i += 1;
        let member = scanner.members[m as usize];
        if member.negated {
            continue;
        }
        if res.rule_state[member.rule as usize] != UNSEEN {
            // Decided: only the pair is recorded, where does not matter.
            if open(rs, res, member.rule, place) {
                record_hit(rs, res, member.rule, place, t, 0, 0);
            }
            continue;
        }
        let (mut start, mut end) = work.hit[m as usize];
        if start == UNKNOWN {
            // A regex-set hit: find where.
            (start, end) = (0, t.len() as u32);
            if let OpIr::Regex(regex) = program.ops[member.op as usize] {
                res.stats.regex_confirmations += 1;
                let compiled = &program.regexes[regex as usize];
                let cache = work.regex_cache(regex, &compiled.regex);
                if let Some(found) = compiled.regex.search_with(cache, &Input::new(t)) {
                    (start, end) = (found.start() as u32, found.end() as u32);
                }
            }
        }
        record_hit(rs, res, member.rule, place, t, start as usize, end as usize);
    }
    for &m in &scanner.negated {
        let member = scanner.members[m as usize];
        if active(&member) && !work.is_hit(m) {
            work.value_dirty = true;
            record_hit(rs, res, member.rule, place, t, 0, t.len());
        }
    }
}

/// One Aho-Corasick match of `pattern` at [start, end) in `t`: hits and
/// candidates for the owners whose groups are in `mask`.
#[allow(clippy::too_many_arguments)]
fn ac_match(
    scanner: &Scanner,
    t: &[u8],
    mask: u64,
    pattern: usize,
    start: usize,
    end: usize,
    work: &mut Work,
    res: &mut Results,
) {
    let active = |member: u32| mask & (1 << scanner.members[member as usize].group) != 0;
    res.stats.literal_hits += 1;
    for owner in &scanner.ac_owners[pattern] {
        match owner {
            AcOwner::Phrase(member) => {
                if active(*member) {
                    work.hit(*member, start as u32, end as u32);
                }
            }
            AcOwner::Literal { member, anchor, exact } => {
                let placed = match anchor {
                    Anchor::Anywhere => true,
                    Anchor::Start => start == 0,
                    Anchor::End => end == t.len(),
                    Anchor::Whole => start == 0 && end == t.len(),
                };
                // The automaton ignores case; a literal matches byte for byte.
                if placed && active(*member) && t[start..end] == **exact {
                    work.hit(*member, start as u32, end as u32);
                }
            }
            AcOwner::Candidate(member) => {
                if active(*member) {
                    work.candidate(*member);
                }
            }
        }
    }
}

/// Whether some target of `rule` that reads the value's source takes its key.
/// The value's group being active already says so, unless a target leaves
/// keys out of that source (see `Plan::key_checked`).
fn takes_key(rs: &Ruleset, rule: RuleIdx, place: &Place<'_>) -> bool {
    !rs.plan.key_checked[rule as usize].contains(place.source)
        || rs.program.rules[rule as usize]
            .scan
            .as_ref()
            .is_none_or(|s| s.accepts(place.source, place.key, &rs.program.regexes))
}

/// Whether the scan still has something to learn about `rule` on this value:
/// the rule has no hit yet, or the rule's matching pairs are recorded and
/// this pair's is not known yet.
fn open(rs: &Ruleset, res: &Results, rule: RuleIdx, place: &Place<'_>) -> bool {
    res.rule_state[rule as usize] == UNSEEN
        || (place.pair < PAIR_BITS
            && rs.plan.tracks_pairs[rule as usize] & (1 << place.phase as u8) != 0
            && res.pair_hits[rule as usize] & (1 << place.pair) == 0)
}

/// A value matched `rule`'s scan at [start, end) of its text `t`: the rule's
/// first hit is recorded with a snippet; with later ones only the pair, for
/// rules whose pairs are tracked.
fn record_hit(rs: &Ruleset, res: &mut Results, rule: RuleIdx, place: &Place<'_>, t: &[u8], start: usize, end: usize) {
    let seen = res.rule_state[rule as usize] != UNSEEN;
    let track = place.pair < PAIR_BITS && rs.plan.tracks_pairs[rule as usize] & (1 << place.phase as u8) != 0;
    if seen && !track {
        return;
    }
    let regexes = &rs.program.regexes;
    let ir = &rs.program.rules[rule as usize];
    if !takes_key(rs, rule, place) {
        return;
    }
    for ex in &ir.exclusions {
        let Some(target) = &ex.target else { continue };
        let active = ex.condition.is_none_or(|c| res.exclusion_active[c as usize]);
        if active && target.sources.contains(place.source) && target.accepts_key(place.key, regexes) {
            return;
        }
    }
    if track {
        res.pair_hits[rule as usize] |= 1 << place.pair;
    }
    if seen {
        return;
    }
    res.rule_state[rule as usize] = HIT;
    let start = start.min(t.len());
    let end = end.clamp(start, t.len()).min(start + SNIPPET_MAX);
    let mut snippet = res.text.reserve(end - start);
    res.text.push(&mut snippet, &t[start..end]);
    res.hits.push(Hit {
        rule,
        source: Some(place.source),
        key: place.key_range,
        offset: start as u32,
        snippet,
        field: TextRange::default(),
        phase: place.phase,
    });
}

fn decide(rs: &Ruleset, req: &RequestData, res: &mut Results, scratch: &mut Scratch, phase: Phase) {
    let rules = &rs.program.rules;
    let mut order = std::mem::take(&mut scratch.work.order);
    order.clear();
    for (i, hit) in res.hits.iter().enumerate() {
        let rule = &rules[hit.rule as usize];
        if res.rule_state[hit.rule as usize] == HIT && rule.phase <= phase && rule.kind == RuleKind::Native {
            order.push((hit.rule, i as u32));
        }
    }
    for &(r, quick) in &rs.plan.unscanned[phase as usize] {
        if res.rule_state[r as usize] != UNSEEN {
            continue;
        }
        // A rule whose condition fails is rejected whatever its exclusions.
        if quick.is_some_and(|q| !rs.plan.quick.holds(q, req, phase)) {
            res.rule_state[r as usize] = REJECTED;
            continue;
        }
        order.push((r, u32::MAX));
    }
    order.sort_unstable();
    for &(r, hit_index) in &order {
        let rule = &rules[r as usize];
        let excluded = rule
            .exclusions
            .iter()
            .any(|ex| ex.target.is_none() && ex.condition.is_some_and(|c| res.exclusion_active[c as usize]));
        if excluded || rule.when.as_ref().is_some_and(|c| !cond::eval(c, rs, req, scratch, phase)) {
            res.rule_state[r as usize] = REJECTED;
            continue;
        }
        res.rule_state[r as usize] = MATCHED;
        let hit_index = if hit_index == u32::MAX {
            res.hits.push(Hit {
                rule: r,
                source: None,
                key: ByteRange::EMPTY,
                offset: 0,
                snippet: TextRange::default(),
                field: TextRange::default(),
                phase,
            });
            (res.hits.len() - 1) as u32
        } else {
            hit_index
        };
        let field = write_field(&mut res.text, &res.hits[hit_index as usize], req);
        res.hits[hit_index as usize].field = field;
        res.matched.push(hit_index);
        match rule.action {
            RuleAction::Score(n) => res.score = res.score.saturating_add(n),
            RuleAction::Deny(status) => {
                if res.deny.is_none() {
                    res.deny = Some(status);
                }
            }
            RuleAction::Allow => res.allowed = true,
            RuleAction::Log => {}
        }
    }
    scratch.work.order = order;
}

/// Writes `collection["key"]` (key bytes escaped) into `text`.
fn write_field(text: &mut StableText, hit: &Hit, req: &RequestData) -> TextRange {
    let Some(source) = hit.source else { return TextRange::default() };
    let key = req.fields.get(hit.key);
    // At most 4 bytes per key byte (`\xNN`), plus the name and `["` `"]`.
    let mut range = text.reserve(source.field_name().len() + 4 + 4 * key.len());
    text.push(&mut range, source.field_name().as_bytes());
    if source.is_keyed() {
        // Header names compare case-insensitively: show them as rules write them.
        let lower = matches!(
            source,
            Source::HeaderName | Source::HeaderValue | Source::PartHeaderName | Source::PartHeaderValue
        );
        text.push(&mut range, b"[\"");
        for &b in key {
            let b = if lower { b.to_ascii_lowercase() } else { b };
            match b {
                b'"' => text.push(&mut range, b"\\\""),
                b'\\' => text.push(&mut range, b"\\\\"),
                0x20..=0x7e => text.push(&mut range, &[b]),
                _ => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    text.push(&mut range, &[b'\\', b'x', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
                }
            }
        }
        text.push(&mut range, b"\"]");
    }
    range
}

fn verdict(rs: &Ruleset, req: &RequestData, res: &Results, phase: Phase) -> Verdict {
    let config = rs.config();
    let (would_block, status) = if res.allowed {
        (false, 0)
    } else if let Some(status) = res.deny {
        (true, status)
    } else if res.score >= config.get_anomaly_threshold() {
        (true, config.get_block_status())
    } else if req.limit.is_some() && config.get_on_limit() == LimitAction::Reject {
        (true, config.get_limit_status())
    } else {
        (false, 0)
    };
    let mode = if rs.program.sec.is_some() { res.sec.mode(config.get_mode()) } else { config.get_mode() };
    let action = if res.allowed {
        Action::Allow
    } else if would_block && mode == Mode::Block {
        Action::Block
    } else if would_block || !res.matched.is_empty() {
        Action::Log
    } else {
        Action::Allow
    };
    let score = res.score.saturating_add(res.sec.score);
    Verdict { action, status, score, would_block, matches: res.matched.len() as u32, phase }
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use proptest::prelude::*;

    use super::*;
    use crate::Config;

    /// The default rules at paranoia 1 and 4, and rules whose pipelines mix
    /// every step that changes case with others.
    fn rulesets() -> &'static [Ruleset] {
        static SETS: OnceLock<Vec<Ruleset>> = OnceLock::new();
        SETS.get_or_init(|| {
            let default = |paranoia| {
                Ruleset::builder().default_rules().configure(Config::new().paranoia(paranoia)).build().unwrap()
            };
            let mixed = r#"
rule 1 "a" { severity critical inspect args transform uppercase match contains "ABC" }
rule 2 "b" { severity critical inspect args transform lowercase, uppercase match contains "XY" }
rule 3 "c" { severity critical inspect args transform uppercase, cmd_line match contains "xy" }
rule 4 "d" { severity critical inspect args transform cmd_line, url_decode match contains "q" }
rule 5 "e" { severity critical inspect args, headers match contains "Q" }
rule 6 "f" { severity critical inspect args["id"] transform uppercase, trim match length > 3 }
rule 7 "g" { severity critical inspect args transform remove_whitespace, uppercase match contains "AB" }
rule 8 "h" { severity critical inspect args transform lowercase, remove_whitespace, trim match contains "ab" }
rule 9 "i" { severity critical inspect args transform compress_whitespace, trim_left match contains "a b" }
rule 10 "j" { severity critical inspect args transform remove_whitespace match contains "aB" }
"#;
            let mixed = Ruleset::builder().source("mixed.rules", mixed).build().unwrap();
            vec![default(1), default(4), mixed]
        })
    }

    /// The texts `classes` holds, each with its groups per merged scanner, sorted.
    fn texts(classes: &Classes, value: &[u8], chunks: usize) -> Vec<(Vec<u8>, Vec<u64>)> {
        let mut out: Vec<_> = (0..classes.len())
            .map(|c| (classes.text(c, value).to_vec(), (0..chunks).map(|k| classes.mask(c, k)).collect()))
            .collect();
        out.sort();
        out
    }

    /// For every source of `rs` whose value takes the case-only way: its
    /// texts and groups, and the trie walk's (with every group active, then
    /// only those reading every key). Returns how many sources took it.
    fn compare(rs: &Ruleset, value: &[u8]) -> Result<usize, TestCaseError> {
        let mut scratch = Scratch::for_ruleset(rs);
        let mut taken = 0;
        for source in Source::ALL {
            let sp = &rs.plan.sources[source.index()];
            let chunks = sp.scanners.len();
            for active in [vec![u64::MAX; chunks], sp.unkeyed.clone()] {
                let Scratch { bufs, outs, out_class, classes, .. } = &mut scratch;
                let mut stats = Stats::default();
                classes.begin(chunks);
                if !case_texts(sp, value, &active, classes, &mut stats) {
                    prop_assert_eq!(classes.len(), 0);
                    continue;
                }
                taken += 1;
                for c in 0..classes.len() {
                    let text = classes.text(c, value).to_vec();
                    prop_assert_eq!(classes.bytes(c, value), ByteSet::of_text(&text), "{:?} {:?}", source, text);
                }
                let fast = texts(classes, value, chunks);
                classes.begin(chunks);
                walk_trie(sp, value, &active, classes, bufs, outs, out_class, &mut stats);
                prop_assert_eq!(fast, texts(classes, value, chunks), "{:?} {:?}", source, value);
            }
        }
        Ok(taken)
    }

    #[test]
    fn words_numbers_and_tokens_take_the_case_only_way() {
        let json = &rulesets()[0].plan.sources[Source::JsonValue.index()];
        assert!(json.case_only.is_some());
        for value in [
            &b"SKU-000123"[..],
            b"active",
            b"42",
            b"TRUE",
            b"d41d8cd9-8f00",
            b"",
            b"9.99",
            b"items.0.sku",
            b"...",
            b"two words",
            b"Product 2 blue Cotton shirt",
            b"a b c",
        ] {
            assert!(compare(&rulesets()[0], value).unwrap() > 0, "{value:?}");
        }
        // Also under rules that take the spaces out, compress or trim them.
        assert!(compare(&rulesets()[2], b"Product 2 blue Cotton shirt").unwrap() > 0);
        for value in [&b"a/b"[..], b"50%", b"x&y", b".", b"..", b" two", b"two ", b"two  words", b"two\twords", b" "] {
            let mut scratch = Scratch::for_ruleset(&rulesets()[0]);
            let Scratch { classes, .. } = &mut scratch;
            classes.begin(json.scanners.len());
            assert!(!case_texts(json, value, &json.unkeyed, classes, &mut Stats::default()));
        }
    }

    /// Rules on exact argument names of several lengths and first bytes,
    /// and on key regexes with and without a plain prefix.
    fn keyed_rules() -> &'static Ruleset {
        static SET: OnceLock<Ruleset> = OnceLock::new();
        SET.get_or_init(|| {
            let rules = r#"
rule 1 "a" { severity critical inspect args["page", "File", "q", "_x", "Über"] match contains "zz" }
rule 2 "b" { severity critical inspect args[`(?:^|\.)@type$`, `^user\.`] match contains "zz" }
rule 3 "c" { severity critical inspect args match contains "zz" }
"#;
            Ruleset::builder().source("keyed.rules", rules).build().unwrap()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// The groups a key selects are those of every key matcher that takes
        /// it: the length, first-byte and regex-byte filters skip only
        /// matchers that would not.
        #[test]
        fn key_filters_skip_only_matchers_that_fail(
            key in proptest::collection::vec(
                prop_oneof![
                    4 => proptest::sample::select(&b"pagePAGEfileFILEqQ_xX@typeuser."[..]),
                    1 => proptest::sample::select(&b"\xc3\x9c\xbcber0"[..]),
                    1 => any::<u8>(),
                ],
                0..12,
            ),
            whole in proptest::sample::select(&["page", "PAGE", "file", "q", "Q", "_x", "über", "ÜBER", "a.@type", "user.id", ""][..]),
            use_whole in any::<bool>(),
        ) {
            let rs = keyed_rules();
            let key = if use_whole { whole.as_bytes().to_vec() } else { key };
            for source in [Source::QueryValue, Source::JsonValue] {
                let sp = &rs.plan.sources[source.index()];
                let mut active = Vec::new();
                let keyed = select_groups(rs, sp, &key, &mut active);
                let mut expected = sp.unkeyed.clone();
                let mut any = false;
                for (k, groups) in &sp.key_matchers {
                    if k.matches(&key, &rs.program.regexes) {
                        any = true;
                        for (a, g) in expected.iter_mut().zip(groups) {
                            *a |= g;
                        }
                    }
                }
                prop_assert_eq!(&active, &expected, "{:?}", String::from_utf8_lossy(&key));
                prop_assert_eq!(keyed, any);
            }
        }

        /// A value that takes the case-only way (with single spaces or none)
        /// gets the texts and groups the trie walk gives it.
        #[test]
        fn case_only_texts_are_the_trie_walks(
            value in proptest::collection::vec(
                prop_oneof![
                    4 => b'a'..=b'z',
                    4 => b'A'..=b'Z',
                    2 => b'0'..=b'9',
                    2 => Just(b' '),
                    1 => proptest::sample::select(&b"-_@:=<>!~*$#.\t"[..]),
                    1 => any::<u8>(),
                ],
                0..24,
            )
        ) {
            for rs in rulesets() {
                compare(rs, &value)?;
            }
        }
    }
}
