//! Runs the data-driven request cases in `tests/cases/requests/*.toml`:
//! rules plus a request in, a verdict and the matched rules out.
//!
//! A file may set, at its top level, defaults for its cases: `rules`,
//! `default` and `config` (below). Then a list of `[[case]]` tables, each with
//! (unknown keys are errors everywhere):
//! - `name`: unique within its file; `RAMPART_CASE=<substring>` runs only the
//!   cases whose name contains the substring.
//! - `rules` (rule text, compiled as `case.rules`) or `default = true` (the
//!   built-in default rule set with its rampart.toml); a case's choice
//!   replaces the file's.
//! - `config`: settings layered over the rule set's: `mode` ("block",
//!   "detect", "off"), `paranoia`, `threshold` (anomaly threshold),
//!   `block_status`, `on_limit` ("reject", "inspect"), `limit_status`, and the
//!   limits `max_body_bytes`, `max_args`, `max_headers`, `max_header_bytes`,
//!   `max_uri_bytes`, `max_json_depth`, `max_multipart_parts`. A case's keys
//!   are layered over the file's.
//! - `request = { method, uri, protocol, client, scheme, headers, body,
//!   body_chunks }`, all optional: method `GET`, uri `/`, protocol
//!   `HTTP/1.1`; no client address and no scheme unless given; `headers` is
//!   `[[name, value], ...]` in order; `body` (one chunk) or `body_chunks`
//!   (several `append_body` calls). Every string uses the byte convention of
//!   tests/cases/transform: `\xHH` is the byte 0xHH, `\\x` a backslash and x.
//! - `expect`: what must hold after the body phase, every key optional
//!   except `action`:
//!   - `action`: "block", "allow" or "log"; `status`; `would_block`;
//!   - `score` (exact) or `min_score`;
//!   - `rules`: ids that must match; `not_rules`: ids that must not;
//!     `matched`: exactly the ids that matched (in any order);
//!   - `phase`: "headers" or "body", the phase after which the verdict first
//!     blocks (or would block, in detect mode), "never" if it does not;
//!   - `fields`: the `Match::field()` of every match, in match order;
//!   - `limit`: the limit the request went over (`max_args`, ...) or "none";
//!   - `body_error`: whether the body could not be parsed.
//! - `skip = "reason"`: an engine bug keeps this case from passing. It still
//!   runs: it is reported with its reason, and fails once it passes.
//!
//! Each case runs twice: on a fresh transaction and scratch, and on one
//! transaction and scratch reused across all cases (`reset_with`), which must
//! give the same outcome.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use common::{NamedCase, parse_bytes};
use rampart::{Config, LimitAction, Mode, Phase, Ruleset, Scratch, Transaction};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    rules: Option<String>,
    default: Option<bool>,
    config: Option<ConfigTable>,
    case: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    rules: Option<String>,
    default: Option<bool>,
    config: Option<ConfigTable>,
    #[serde(default)]
    request: Request,
    expect: Expect,
    skip: Option<String>,
}

#[derive(Deserialize, Default, Clone, Debug)]
#[serde(deny_unknown_fields)]
struct ConfigTable {
    mode: Option<String>,
    paranoia: Option<u8>,
    threshold: Option<u32>,
    block_status: Option<u16>,
    on_limit: Option<String>,
    limit_status: Option<u16>,
    max_body_bytes: Option<usize>,
    max_args: Option<usize>,
    max_headers: Option<usize>,
    max_header_bytes: Option<usize>,
    max_uri_bytes: Option<usize>,
    max_json_depth: Option<usize>,
    max_multipart_parts: Option<usize>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Request {
    method: Option<String>,
    uri: Option<String>,
    protocol: Option<String>,
    client: Option<String>,
    scheme: Option<String>,
    #[serde(default)]
    headers: Vec<(String, String)>,
    body: Option<String>,
    body_chunks: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    action: String,
    status: Option<u16>,
    would_block: Option<bool>,
    score: Option<u32>,
    min_score: Option<u32>,
    #[serde(default)]
    rules: Vec<u32>,
    #[serde(default)]
    not_rules: Vec<u32>,
    matched: Option<Vec<u32>>,
    phase: Option<String>,
    fields: Option<Vec<String>>,
    limit: Option<String>,
    body_error: Option<bool>,
}

impl NamedCase for Case {
    fn name(&self) -> &str {
        &self.name
    }

    fn skip(&self) -> Option<&str> {
        self.skip.as_deref()
    }
}

/// What evaluating a request gave.
#[derive(Clone, Debug, PartialEq)]
struct Outcome {
    action: &'static str,
    status: u16,
    would_block: bool,
    score: u32,
    phase: &'static str,
    /// (id, field, snippet) per match, in match order.
    matches: Vec<(u32, String, String)>,
    limit: &'static str,
    body_error: bool,
}

/// A case ready to run.
struct Prepared {
    ruleset: Arc<Ruleset>,
    method: Vec<u8>,
    uri: Vec<u8>,
    protocol: Vec<u8>,
    client: Option<Vec<u8>>,
    scheme: Option<Vec<u8>>,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    chunks: Vec<Vec<u8>>,
}

#[test]
fn request_cases() {
    let mut rulesets: HashMap<String, Arc<Ruleset>> = HashMap::new();
    // One transaction and scratch reused by every case, to check that reuse
    // (reset, reload) changes nothing.
    let mut reused: Option<(Transaction, Scratch)> = None;
    common::run_cases(
        "request",
        &common::cases_dir("requests"),
        parse_case_file,
        |file| &file.case,
        |file, case| {
            let p = prepare(file, case, &mut rulesets)?;
            let fresh = evaluate(&p, None);
            let again = evaluate(&p, Some(&mut reused));
            if fresh != again {
                return Err(format!(
                    "  a reused transaction gives another outcome:\n  fresh:  {fresh:?}\n  reused: {again:?}"
                ));
            }
            check(&case.expect, &fresh)
        },
    );
}

/// Parses the text of a case file and checks what serde cannot.
fn parse_case_file(text: &str) -> Result<CaseFile, String> {
    let file: CaseFile = toml::from_str(text).map_err(|e| format!("invalid case file: {e}"))?;
    common::check_cases(&file.case, |case| {
        let name = &case.name;
        let e = &case.expect;
        if !["block", "allow", "log"].contains(&e.action.as_str()) {
            return Err(format!("case `{name}`: expect.action must be \"block\", \"allow\" or \"log\""));
        }
        if e.phase.as_deref().is_some_and(|p| !["headers", "body", "never"].contains(&p)) {
            return Err(format!("case `{name}`: expect.phase must be \"headers\", \"body\" or \"never\""));
        }
        if e.score.is_some() && e.min_score.is_some() {
            return Err(format!("case `{name}`: give `score` or `min_score`, not both"));
        }
        if case.request.body.is_some() && case.request.body_chunks.is_some() {
            return Err(format!("case `{name}`: give `body` or `body_chunks`, not both"));
        }
        if case.rules.is_some() && case.default == Some(true) {
            return Err(format!("case `{name}`: give `rules` or `default = true`, not both"));
        }
        let has_rules = case.rules.is_some()
            || case.default == Some(true)
            || (case.default.is_none() && (file.rules.is_some() || file.default == Some(true)));
        if !has_rules {
            return Err(format!("case `{name}`: no rules (`rules` or `default = true`, here or at the top)"));
        }
        Ok(())
    })?;
    Ok(file)
}

/// Compiles (or reuses) the case's rule set and decodes its request.
fn prepare(file: &CaseFile, case: &Case, cache: &mut HashMap<String, Arc<Ruleset>>) -> Result<Prepared, String> {
    let (rules, default) = match (&case.rules, case.default) {
        (Some(r), _) => (Some(r), false),
        (None, Some(d)) => (None, d),
        (None, None) => (file.rules.as_ref(), file.default == Some(true) && file.rules.is_none()),
    };
    let config = layer(file.config.as_ref(), case.config.as_ref());
    let key = format!("{rules:?}|{default}|{config:?}");
    let ruleset = match cache.get(&key) {
        Some(rs) => rs.clone(),
        None => {
            let mut b = Ruleset::builder();
            if default {
                b.default_rules();
            }
            if let Some(text) = rules {
                b.source("case.rules", text.as_str());
            }
            b.configure(to_config(&config)?);
            let rs = Arc::new(b.build().map_err(|e| format!("  the rules do not compile:\n{e}"))?);
            cache.insert(key, rs.clone());
            rs
        }
    };
    let r = &case.request;
    let bytes = |what: &str, s: &str| parse_bytes(s).map_err(|e| format!("  request.{what}: {e}"));
    let mut headers = Vec::new();
    for (n, v) in &r.headers {
        headers.push((bytes("headers", n)?, bytes("headers", v)?));
    }
    let mut chunks = Vec::new();
    if let Some(b) = &r.body {
        chunks.push(bytes("body", b)?);
    }
    for c in r.body_chunks.iter().flatten() {
        chunks.push(bytes("body_chunks", c)?);
    }
    Ok(Prepared {
        ruleset,
        method: bytes("method", r.method.as_deref().unwrap_or("GET"))?,
        uri: bytes("uri", r.uri.as_deref().unwrap_or("/"))?,
        protocol: bytes("protocol", r.protocol.as_deref().unwrap_or("HTTP/1.1"))?,
        client: r.client.as_deref().map(|c| bytes("client", c)).transpose()?,
        scheme: r.scheme.as_deref().map(|s| bytes("scheme", s)).transpose()?,
        headers,
        chunks,
    })
}

/// The file's config table with the case's keys layered over it.
fn layer(file: Option<&ConfigTable>, case: Option<&ConfigTable>) -> ConfigTable {
    let base = file.cloned().unwrap_or_default();
    let Some(top) = case.cloned() else { return base };
    ConfigTable {
        mode: top.mode.or(base.mode),
        paranoia: top.paranoia.or(base.paranoia),
        threshold: top.threshold.or(base.threshold),
        block_status: top.block_status.or(base.block_status),
        on_limit: top.on_limit.or(base.on_limit),
        limit_status: top.limit_status.or(base.limit_status),
        max_body_bytes: top.max_body_bytes.or(base.max_body_bytes),
        max_args: top.max_args.or(base.max_args),
        max_headers: top.max_headers.or(base.max_headers),
        max_header_bytes: top.max_header_bytes.or(base.max_header_bytes),
        max_uri_bytes: top.max_uri_bytes.or(base.max_uri_bytes),
        max_json_depth: top.max_json_depth.or(base.max_json_depth),
        max_multipart_parts: top.max_multipart_parts.or(base.max_multipart_parts),
    }
}

fn to_config(t: &ConfigTable) -> Result<Config, String> {
    let mut c = Config::new();
    if let Some(m) = &t.mode {
        c = c.mode(Mode::from_name(m).ok_or_else(|| format!("  config.mode: unknown mode `{m}`"))?);
    }
    if let Some(a) = &t.on_limit {
        c = c.on_limit(match a.as_str() {
            "reject" => LimitAction::Reject,
            "inspect" => LimitAction::Inspect,
            _ => return Err(format!("  config.on_limit: unknown action `{a}`")),
        });
    }
    if let Some(p) = t.paranoia {
        c = c.paranoia(p);
    }
    if let Some(n) = t.threshold {
        c = c.anomaly_threshold(n);
    }
    if let Some(s) = t.block_status {
        c = c.block_status(s);
    }
    if let Some(s) = t.limit_status {
        c = c.limit_status(s);
    }
    type Setter = fn(Config, usize) -> Config;
    let limits: [(Option<usize>, Setter); 7] = [
        (t.max_body_bytes, Config::max_body_bytes),
        (t.max_args, Config::max_args),
        (t.max_headers, Config::max_headers),
        (t.max_header_bytes, Config::max_header_bytes),
        (t.max_uri_bytes, Config::max_uri_bytes),
        (t.max_json_depth, Config::max_json_depth),
        (t.max_multipart_parts, Config::max_multipart_parts),
    ];
    for (value, setter) in limits {
        if let Some(v) = value {
            c = setter(c, v);
        }
    }
    Ok(c)
}

/// Runs the request through both phases, on a fresh transaction or on the
/// shared reused one.
fn evaluate(p: &Prepared, reused: Option<&mut Option<(Transaction, Scratch)>>) -> Outcome {
    let mut own = None;
    let slot = reused.unwrap_or(&mut own);
    let (tx, scratch) = match slot {
        Some((tx, _)) => {
            tx.reset_with(p.ruleset.clone());
            slot.as_mut().expect("just matched Some")
        }
        None => slot.insert((Transaction::new(p.ruleset.clone()), p.ruleset.create_scratch())),
    };
    if let Some(c) = &p.client {
        tx.set_client(c);
    }
    tx.set_request(&p.method, &p.uri, &p.protocol);
    if let Some(s) = &p.scheme {
        tx.set_scheme(s);
    }
    for (n, v) in &p.headers {
        tx.add_header(n, v);
    }
    let headers = tx.evaluate(Phase::RequestHeaders, scratch);
    for c in &p.chunks {
        tx.append_body(c);
    }
    let body = tx.evaluate(Phase::RequestBody, scratch);
    let phase = if headers.would_block() {
        "headers"
    } else if body.would_block() {
        "body"
    } else {
        "never"
    };
    Outcome {
        action: body.action().name(),
        status: body.status(),
        would_block: body.would_block(),
        score: body.score(),
        phase,
        matches: tx.matches().map(|m| (m.id(), m.field().to_owned(), show_snippet(m.snippet()))).collect(),
        limit: tx.limit_exceeded().map_or("none", |l| l.name()),
        body_error: tx.body_error().is_some(),
    }
}

/// Compares an outcome with the expectation; on a mismatch, a diff of the
/// expected and actual lines (one per key the case gives) and the whole outcome.
fn check(e: &Expect, o: &Outcome) -> Result<(), String> {
    let ids: Vec<u32> = o.matches.iter().map(|m| m.0).collect();
    let mut expected = vec![format!("action: {}", e.action)];
    let mut actual = vec![format!("action: {}", o.action)];
    let mut pair = |key: &str, want: String, got: String| {
        expected.push(format!("{key}: {want}"));
        actual.push(format!("{key}: {got}"));
    };
    if let Some(s) = e.status {
        pair("status", s.to_string(), o.status.to_string());
    }
    if let Some(w) = e.would_block {
        pair("would_block", w.to_string(), o.would_block.to_string());
    }
    if let Some(s) = e.score {
        pair("score", s.to_string(), o.score.to_string());
    }
    if let Some(s) = e.min_score {
        let got = if o.score >= s { format!(">= {s}") } else { o.score.to_string() };
        pair("score", format!(">= {s}"), got);
    }
    if !e.rules.is_empty() {
        let got: Vec<u32> = e.rules.iter().copied().filter(|id| ids.contains(id)).collect();
        pair("matched, among rules", format!("{:?}", e.rules), format!("{got:?}"));
    }
    if !e.not_rules.is_empty() {
        let got: Vec<u32> = e.not_rules.iter().copied().filter(|id| ids.contains(id)).collect();
        pair("matched, among not_rules", "[]".to_owned(), format!("{got:?}"));
    }
    if let Some(m) = &e.matched {
        let mut want = m.clone();
        want.sort_unstable();
        let mut got = ids.clone();
        got.sort_unstable();
        pair("matched", format!("{want:?}"), format!("{got:?}"));
    }
    if let Some(p) = &e.phase {
        pair("phase", p.clone(), o.phase.to_owned());
    }
    if let Some(f) = &e.fields {
        let got: Vec<&str> = o.matches.iter().map(|m| m.1.as_str()).collect();
        pair("fields", format!("{f:?}"), format!("{got:?}"));
    }
    if let Some(l) = &e.limit {
        pair("limit", l.clone(), o.limit.to_owned());
    }
    if let Some(b) = e.body_error {
        pair("body_error", b.to_string(), o.body_error.to_string());
    }
    if expected == actual {
        return Ok(());
    }
    let mut out = common::diff(&expected, &actual);
    out.push_str(&format!(
        "\n  outcome: {} (status {}, would_block {}, score {}, blocks after: {}, limit: {}, body_error: {})",
        o.action, o.status, o.would_block, o.score, o.phase, o.limit, o.body_error
    ));
    for (id, field, snippet) in &o.matches {
        out.push_str(&format!("\n    matched {id} on {field:?}: \"{snippet}\""));
    }
    Err(out)
}

/// Bytes for messages: printable ASCII as is, other bytes and every
/// backslash as `\xHH`. Plainer than `common::show_bytes`, which keeps a
/// backslash where it reads back unambiguously; `parse_bytes` reads both.
fn show_snippet(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(
            |&b| {
                if (0x20..0x7f).contains(&b) && b != b'\\' { char::from(b).to_string() } else { format!("\\x{b:02x}") }
            },
        )
        .collect()
}

#[test]
fn case_files_reject_unknown_keys_and_missing_cases() {
    let case = |extra: &str| format!("rules = \"\"\n[[case]]\nname = \"x\"\n{extra}\n");
    let ok = case("expect = { action = \"allow\" }");
    assert!(parse_case_file(&ok).is_ok());
    for (extra, key) in [
        ("expect = { action = \"allow\", rule = [1] }", "rule"),
        ("request = { url = \"/\" }\nexpect = { action = \"allow\" }", "url"),
        ("config = { paranioa = 2 }\nexpect = { action = \"allow\" }", "paranioa"),
        ("expect = { action = \"allow\" }\nskipp = \"x\"", "skipp"),
    ] {
        let Err(err) = parse_case_file(&case(extra)) else { panic!("accepted: {extra}") };
        assert!(err.contains(&format!("unknown field `{key}`")), "{err}");
    }
    assert!(parse_case_file(&case("expect = { action = \"deny\" }")).is_err(), "action names");
    assert!(parse_case_file("rules = \"\"").is_err(), "a file without cases");
    assert!(parse_case_file("case = []").is_err_and(|e| e.contains("no [[case]]")));
    assert!(parse_case_file("[[case]]\nname = \"x\"\nexpect = { action = \"allow\" }").is_err(), "no rules");
}

#[test]
fn byte_convention() {
    assert_eq!(parse_bytes("a\\x00\\xffb").as_deref(), Ok(&b"a\x00\xffb"[..]));
    assert_eq!(parse_bytes("\\\\x41").as_deref(), Ok(&b"\\x41"[..]));
    assert!(parse_bytes("\\xZ1").is_err());
    assert_eq!(show_snippet(b"a\\\x01"), "a\\x5c\\x01");
}
