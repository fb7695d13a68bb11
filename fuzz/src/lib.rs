//! The checks behind every fuzz target, as plain functions of the input bytes.
//!
//! `fuzz/fuzz_targets/<target>.rs` calls `check_<target>(data)`; the replay
//! test `tests/fuzz_regressions.rs` includes this file (`#[path]`) and calls
//! the same functions on every file under `tests/fuzz-regressions/<target>/`,
//! so a minimised crash replays in `cargo test` exactly as the fuzzer saw it.
//! Every violated property panics with a message saying what broke.
//!
//! Under `--cfg fuzzing` (cargo-fuzz) the body-parser checks call the parsers
//! directly (`rampart::fuzzing`); in `cargo test` they go through a
//! [`Transaction`] with the matching `Content-Type` instead.
//!
//! Input formats are plain bytes so that seeds can be written by hand and by
//! `fuzz/seed.sh`: see [`Request::decode`] and [`check_ffi_calls`].

use std::sync::{Arc, OnceLock};

use rampart::{Action, Config, LimitAction, Mode, Phase, Ruleset, Transaction, Transform};

// ---------------------------------------------------------------------------
// Rule sets
// ---------------------------------------------------------------------------

/// A small rule set that uses every kind of field, operator and condition
/// (the built-in rules do not use them all).
pub const SMALL_RULES: &str = r#"
rule 1 "regex over decoded args" {
    severity  critical
    inspect   args, args.names, cookies, json, headers["referer", "user-agent"]
    transform url_decode_uni, html_entity_decode, lowercase, compress_whitespace
    match     regex `(?:\bor\b|\band\b)\s+['"]?\d+['"]?\s*=\s*['"]?\d+`
}
rule 2 "phrases" {
    severity  error
    inspect   args, body, files, multipart.headers
    transform url_decode, normalize_path_win, lowercase
    match     phrases ["/etc/passwd", "<script", "${jndi:", "..\\"]
}
rule 3 "libinjection" {
    severity  critical
    inspect   args, cookies, json
    transform url_decode_uni
    match     detect_sqli
}
rule 4 "xss" {
    severity  critical
    inspect   args, headers, files.names
    transform js_decode, css_decode, html_entity_decode
    match     detect_xss
}
rule 5 "encodings" {
    severity  warning
    inspect   args, uri, headers
    match     invalid_utf8
}
rule 6 "flags" {
    severity  notice
    when      body_error or encoding_error or limit_exceeded
}
rule 7 "counts" {
    severity  warning
    when      count(args) > 20 or count(headers["host"]) == 0 and protocol != "HTTP/1.0"
}
rule 8 "bytes" {
    severity  notice
    inspect   args.names, path, basename, query
    transform remove_nulls, replace_comments, cmd_line
    match     byte_range 1-8, 11-31, 127-255
}
rule 9 "lengths and numbers" {
    severity  notice
    inspect   args["id", `^n[0-9]+$`], json.names
    transform base64_decode_ext, hex_decode, sql_hex_decode, trim
    match     length > 40
}
rule 10 "numeric" {
    inspect   args["page"]
    match     > 100000
    action    deny 400
}
rule 11 "method" {
    when      not method in ["GET", "HEAD", "POST", "PUT", "OPTIONS"] and client_ip in [10.0.0.0/8, ::1/128]
    action    log
}
rule 12 "escapes" {
    severity  warning
    inspect   args, request_line, host, scheme, protocol
    transform escape_seq_decode, utf8_to_unicode, remove_comments, remove_comments_char, uppercase
    match     contains "SELECT"
}
rule 13 "ends" {
    severity  notice
    inspect   files, args.body.names, cookies.names
    transform base64_decode, hex_encode, length
    match     ends_with "0"
}
rule 14 "url" {
    severity  notice
    inspect   uri, args.query
    match     invalid_url_encoding
}
exclude rule 2 for args["safe"]
"#;

/// Tight limits, so that every limit is reached by small inputs.
pub fn tight(on_limit: LimitAction, mode: Mode) -> Config {
    Config::new()
        .mode(mode)
        .on_limit(on_limit)
        .max_body_bytes(200)
        .max_args(6)
        .max_headers(6)
        .max_header_bytes(300)
        .max_uri_bytes(100)
        .max_json_depth(3)
        .max_multipart_parts(3)
}

/// The rule sets requests are evaluated with: 0 the built-in rules,
/// 1 [`SMALL_RULES`], 2 small rules with tight limits (inspect), 3 small rules
/// with tight limits (reject, detect mode).
pub fn ruleset(which: u8) -> Arc<Ruleset> {
    static SETS: [OnceLock<Arc<Ruleset>>; 4] = [const { OnceLock::new() }; 4];
    let which = usize::from(which % 4);
    SETS[which]
        .get_or_init(|| {
            let small = |config: Config| {
                Ruleset::builder()
                    .configure(config)
                    .source("small.rules", SMALL_RULES)
                    .build()
                    .unwrap_or_else(|e| panic!("SMALL_RULES compile: {e}"))
            };
            Arc::new(match which {
                0 => Ruleset::default_rules().expect("the built-in rules compile"),
                1 => small(Config::new()),
                2 => small(tight(LimitAction::Inspect, Mode::Block)),
                _ => small(tight(LimitAction::Reject, Mode::Detect)),
            })
        })
        .clone()
}

/// Runs `f` with this thread's scratch for `rs` (made once per rule set:
/// making one per input would dominate the fuzzing time).
pub fn with_scratch<T>(rs: &Ruleset, f: impl FnOnce(&mut rampart::Scratch) -> T) -> T {
    thread_local! {
        static SCRATCH: std::cell::RefCell<Vec<rampart::Scratch>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    SCRATCH.with(|cell| {
        let mut all = cell.borrow_mut();
        let i = match all.iter().position(|s| s.ruleset_id() == rs.id()) {
            Some(i) => i,
            None => {
                all.push(rs.create_scratch());
                all.len() - 1
            }
        };
        f(&mut all[i])
    })
}

// ---------------------------------------------------------------------------
// parse_rules
// ---------------------------------------------------------------------------

/// Every error's `line:column` is inside `text` (1-based; a column may point
/// one past the end of its line).
pub fn assert_positions_inside(text: &str, errors: &[rampart::RuleError]) {
    let lines: Vec<&str> = text.split('\n').collect();
    for e in errors {
        let (line, column) = (e.line() as usize, e.column() as usize);
        if line == 0 && column == 0 {
            continue; // a whole-file error
        }
        assert!(line >= 1 && column >= 1, "{} is not 1-based", e.short());
        assert!(line <= lines.len(), "{} is past the last line ({})", e.short(), lines.len());
        let width = lines[line - 1].chars().count();
        assert!(column <= width + 1, "{} is past the end of its line ({width} chars)", e.short());
        let span = e.span();
        assert!(
            span.start <= span.end && span.end as usize <= text.len(),
            "{}: span {span:?} outside the text",
            e.short()
        );
    }
}

/// `parse_rules`: the parser never panics; every error points inside the
/// text; whatever parses formats to text that parses to the same tree, and
/// formatting is idempotent; rule text that parses and names no file also
/// compiles or fails with errors inside the text.
pub fn check_parse_rules(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let source = rampart::dsl::SourceFile::new("fuzz.rules", text);
    let (file, errors) = rampart::dsl::parse(&source);
    assert_positions_inside(text, &errors);
    let (_, _, errors_c) = rampart::dsl::parse_with_comments(&source);
    assert_eq!(errors.len(), errors_c.len(), "parse and parse_with_comments disagree on errors");
    if !errors.is_empty() {
        return;
    }
    let formatted = rampart::dsl::format_file(&file);
    let again = rampart::dsl::SourceFile::new("formatted.rules", formatted.as_str());
    let (file2, errors2) = rampart::dsl::parse(&again);
    assert!(
        errors2.is_empty(),
        "formatted text does not parse: {}\n--- input\n{text}\n--- formatted\n{formatted}",
        errors2.iter().map(|e| e.short()).collect::<Vec<_>>().join("; ")
    );
    assert_eq!(file, file2, "format then parse changed the tree\n--- input\n{text}\n--- formatted\n{formatted}");
    assert_eq!(formatted, rampart::dsl::format_file(&file2), "formatting is not idempotent");
    // Compile only text that reads no file: includes and data files would
    // read the fuzzing machine's file system.
    if !text.contains("include")
        && !text.contains("file")
        && let Err(errors) = Ruleset::from_rules(text)
    {
        assert!(!errors.is_empty(), "a failed compile reports at least one error");
        let inline: Vec<rampart::RuleError> =
            errors.errors().iter().filter(|e| e.file() == "<inline>").cloned().collect();
        assert_positions_inside(text, &inline);
    }
}

// ---------------------------------------------------------------------------
// config_toml
// ---------------------------------------------------------------------------

/// `config_toml`: any text is a config or an error inside the text; a valid
/// config (without includes, which would read files) builds a rule set whose
/// limits hold for a request that goes over all of them.
pub fn check_config_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let parsed = parse_config(text);
    let config = match parsed {
        Ok(c) => c,
        Err(e) => {
            assert_positions_inside(text, std::slice::from_ref(&e));
            return;
        }
    };
    if !config.includes().is_empty() {
        return;
    }
    let rs = Ruleset::builder()
        .configure(config.clone())
        .source("small.rules", SMALL_RULES)
        .build()
        .unwrap_or_else(|e| panic!("a valid config must build with valid rules: {e}"));
    assert_eq!(rs.config().get_max_body_bytes(), config.get_max_body_bytes());
    let rs = Arc::new(rs);
    let mut scratch = rs.create_scratch();
    let mut tx = Transaction::new(rs.clone());
    let big = vec![b'a'; 300];
    let mut uri = b"/p?".to_vec();
    for i in 0..40 {
        uri.extend_from_slice(format!("a{i}=1&").as_bytes());
    }
    tx.set_request("POST", &uri, "HTTP/1.1");
    for i in 0..40 {
        tx.add_header(format!("x-h{i}"), &big);
    }
    tx.add_header("Content-Type", "application/json");
    tx.append_body(br#"{"a":[[[[[[[[1]]]]]]]],"b":2}"#);
    tx.append_body(&big);
    let v = tx.evaluate(Phase::RequestBody, &mut scratch);
    check_verdict(&tx, &v, config.get_mode());
}

/// The in-memory TOML reader under `--cfg fuzzing`; otherwise a temp file read
/// through the public [`Config::from_file`].
#[cfg(fuzzing)]
fn parse_config(text: &str) -> Result<Config, rampart::RuleError> {
    rampart::fuzzing::config_from_toml("fuzz.toml", text)
}

#[cfg(not(fuzzing))]
fn parse_config(text: &str) -> Result<Config, rampart::RuleError> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let path = std::env::temp_dir().join(format!(
        "rampart-fuzz-{}-{}.toml",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&path, text).expect("temp dir is writable");
    let result = Config::from_file(&path);
    let _ = std::fs::remove_file(&path);
    result
}

// ---------------------------------------------------------------------------
// evaluate
// ---------------------------------------------------------------------------

/// Separates the parts of an `evaluate` input (two bytes that never occur in
/// UTF-8 text).
pub const SEP: &[u8] = b"\xfe\xff";

/// A request decoded from fuzz bytes.
#[derive(Clone, Debug, Default)]
pub struct Request<'a> {
    /// Bits 0-1: rule set ([`ruleset`]); bits 2-4: body chunk size
    /// ([`CHUNKS`]); bit 5: evaluate the headers phase first; bit 6: add the
    /// last header after the headers phase.
    pub flags: u8,
    /// Method, as sent.
    pub method: &'a [u8],
    /// Request target, as sent.
    pub uri: &'a [u8],
    /// Protocol, as sent.
    pub protocol: &'a [u8],
    /// The body.
    pub body: &'a [u8],
    /// Headers, in order.
    pub headers: Vec<(&'a [u8], &'a [u8])>,
}

/// Body chunk sizes (index: bits 2-4 of the flags); 0 is the whole body.
pub const CHUNKS: [usize; 8] = [0, 1, 2, 3, 7, 64, 1000, 4096];

impl<'a> Request<'a> {
    /// `flags` byte, then `method SEP uri SEP protocol SEP body SEP name SEP
    /// value SEP name SEP value ...` (missing parts are empty).
    pub fn decode(data: &'a [u8]) -> Request<'a> {
        let Some((&flags, rest)) = data.split_first() else { return Request::default() };
        let mut parts = split(rest, SEP);
        let mut next = || parts.next().unwrap_or(&[]);
        let (method, uri, protocol, body) = (next(), next(), next(), next());
        let mut headers = Vec::new();
        for _ in 0..1000 {
            let (name, value) = (next(), next());
            if name.is_empty() && value.is_empty() {
                break;
            }
            headers.push((name, value));
        }
        Request { flags, method, uri, protocol, body, headers }
    }

    /// The inverse of [`Request::decode`].
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![self.flags];
        let mut parts = vec![self.method, self.uri, self.protocol, self.body];
        for (n, v) in &self.headers {
            parts.push(n);
            parts.push(v);
        }
        out.extend_from_slice(&parts.join(SEP));
        out
    }
}

/// Splits on a multi-byte separator.
fn split<'a>(mut data: &'a [u8], sep: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        match data.windows(sep.len()).position(|w| w == sep) {
            Some(i) => {
                let part = &data[..i];
                data = &data[i + sep.len()..];
                Some(part)
            }
            None => {
                done = true;
                Some(data)
            }
        }
    })
}

/// What a verdict and its matches amount to, for comparisons.
#[derive(Debug, PartialEq, Eq)]
pub struct Outcome {
    action: Action,
    status: u16,
    score: u32,
    would_block: bool,
    limit: Option<rampart::Limit>,
    matches: Vec<(u32, String, Vec<u8>)>,
}

/// Feeds `req` to `tx` (body in `chunk`-byte pieces, 0 for one piece) and
/// evaluates it; checks the verdict and returns what it amounts to.
pub fn run_request(tx: &mut Transaction, scratch: &mut rampart::Scratch, req: &Request, chunk: usize) -> Outcome {
    tx.set_client("192.0.2.1");
    tx.set_request(req.method, req.uri, req.protocol);
    let late = req.flags & 0x40 != 0 && !req.headers.is_empty();
    let early = if late { &req.headers[..req.headers.len() - 1] } else { &req.headers[..] };
    for (n, v) in early {
        tx.add_header(n, v);
    }
    let mode = tx.ruleset().config().get_mode();
    if req.flags & 0x20 != 0 {
        let v = tx.evaluate(Phase::RequestHeaders, scratch);
        check_verdict(tx, &v, mode);
        assert!(tx.is_evaluated(Phase::RequestHeaders));
    }
    if late {
        let (n, v) = req.headers[req.headers.len() - 1];
        tx.add_header(n, v);
    }
    if chunk == 0 {
        tx.append_body(req.body);
    } else {
        for piece in req.body.chunks(chunk) {
            tx.append_body(piece);
        }
    }
    let v = tx.evaluate(Phase::RequestBody, scratch);
    check_verdict(tx, &v, mode);
    // Asking again changes nothing.
    let again = tx.evaluate(Phase::RequestBody, scratch);
    assert_eq!(
        (again.action(), again.score(), again.match_count()),
        (v.action(), v.score(), v.match_count()),
        "a second evaluation of the same phase changed the verdict"
    );
    Outcome {
        action: v.action(),
        status: v.status(),
        score: v.score(),
        would_block: v.would_block(),
        limit: tx.limit_exceeded(),
        matches: tx.matches().map(|m| (m.id(), m.field().to_owned(), m.snippet().to_vec())).collect(),
    }
}

/// What holds for every verdict: the action follows the mode, the status
/// goes with `would_block`, the matches are as many as counted, and the audit
/// line is one line of valid JSON.
pub fn check_verdict(tx: &Transaction, v: &rampart::Verdict, mode: Mode) {
    match mode {
        Mode::Block => assert_eq!(v.action() == Action::Block, v.would_block(), "block mode: {v:?}"),
        Mode::Detect => assert_ne!(v.action(), Action::Block, "detect mode never blocks: {v:?}"),
        Mode::Off => {
            assert_eq!(v.action(), Action::Allow, "mode off allows: {v:?}");
            assert_eq!(v.match_count(), 0);
        }
    }
    if v.would_block() {
        assert!((100..=599).contains(&v.status()), "status {} of a block", v.status());
    } else {
        assert_eq!(v.status(), 0, "status without a block: {v:?}");
    }
    assert_eq!(tx.matches().count(), v.match_count() as usize, "match_count and matches() disagree");
    for m in tx.matches() {
        assert!(m.snippet().len() <= 64, "snippet of {} bytes", m.snippet().len());
    }
    let mut line = Vec::new();
    tx.write_audit_json(&mut line);
    assert_eq!(line.last(), Some(&b'\n'), "the audit line ends with a newline");
    assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1, "the audit line is one line");
    let json: serde_json::Value = serde_json::from_slice(&line)
        .unwrap_or_else(|e| panic!("audit line is not JSON ({e}): {}", String::from_utf8_lossy(&line)));
    assert!(json.is_object());
}

/// `evaluate`: any request gets a verdict; the same request gives the same
/// outcome on a fresh transaction with its body in one piece and on a reused
/// transaction with its body in chunks; limits are flagged and, when the rule
/// set rejects over limits, block.
pub fn check_evaluate(data: &[u8]) {
    let req = Request::decode(data);
    let rs = ruleset(req.flags & 3);
    let chunk = CHUNKS[usize::from((req.flags >> 2) & 7)];
    with_scratch(&rs.clone(), |scratch| evaluate_both(&req, rs, chunk, scratch));
}

/// The two runs of [`check_evaluate`] and their comparison.
fn evaluate_both(req: &Request, rs: Arc<Ruleset>, chunk: usize, scratch: &mut rampart::Scratch) {
    let req = req.clone();
    let mut fresh = Transaction::new(rs.clone());
    let whole = run_request(&mut fresh, scratch, &req, 0);

    // A transaction that served another request first, then this one in chunks.
    let mut reused = Transaction::new(rs.clone());
    let other = Request {
        flags: 0x20,
        method: b"POST",
        uri: b"/x?id=1%27%20or%201=1--&a[]=%00&page=999999",
        protocol: b"HTTP/1.1",
        body: b"--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.php\"\r\n\r\n<?php\r\n--b--\r\n",
        headers: vec![
            (&b"Content-Type"[..], &b"multipart/form-data; boundary=b"[..]),
            (&b"Cookie"[..], &b"a=1; b=<script>"[..]),
        ],
    };
    let _ = run_request(&mut reused, scratch, &other, 0);
    reused.reset();
    let chunked = run_request(&mut reused, scratch, &req, chunk);
    assert_eq!(whole, chunked, "the same request evaluated twice gave two outcomes (chunk size {chunk})");

    if (req.flags & 3) == 3 && whole.limit.is_some() {
        // Small rules have no `allow`: over a limit with on_limit = reject, detect mode says it would block.
        assert!(whole.would_block, "over {:?} with on_limit = reject must block", whole.limit);
        assert_eq!(whole.action, Action::Log, "detect mode logs");
    }
    if (req.flags & 3) >= 2 {
        check_tight_limits(&req, &whole);
    }
}

/// With [`tight`] limits, a request that goes over one is flagged. The URI
/// and header limits are found as the data arrives; the body limit when the
/// body phase runs, which it does not once the headers phase blocked.
fn check_tight_limits(req: &Request, outcome: &Outcome) {
    if req.uri.len() > 100 || req.method.len() > 100 || req.protocol.len() > 100 || req.headers.len() > 6 {
        assert!(outcome.limit.is_some(), "a request line or headers over a tight limit are not flagged");
    }
    if req.body.len() > 200 {
        assert!(
            outcome.limit.is_some() || outcome.would_block,
            "a body over the tight limit is neither flagged nor blocked before the body phase"
        );
    }
}

// ---------------------------------------------------------------------------
// Body parsers
// ---------------------------------------------------------------------------

/// The percent-decoding every urlencoded name and value gets (reference
/// implementation): `%XX` to a byte, `+` to a space, anything else as it is.
pub fn ref_form_decode(input: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::new();
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < input.len() && hex(input[i + 1]).is_some() && hex(input[i + 2]).is_some() => {
                out.push(hex(input[i + 1]).unwrap() * 16 + hex(input[i + 2]).unwrap());
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// Reference urlencoded parser: split on `&`, skip empty parts, split at the
/// first `=`, decode both sides.
pub fn ref_urlencoded(input: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    input
        .split(|&b| b == b'&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.iter().position(|&b| b == b'=') {
            Some(eq) => (ref_form_decode(&p[..eq]), ref_form_decode(&p[eq + 1..])),
            None => (ref_form_decode(p), Vec::new()),
        })
        .collect()
}

/// `body_urlencoded`: byte 0 picks `max_args`, the rest is the body. The
/// parser agrees with [`ref_urlencoded`] up to the argument limit, never
/// reports an error, keeps no more than the limit and stores no more bytes
/// than it read.
pub fn check_body_urlencoded(data: &[u8]) {
    let Some((&sel, body)) = data.split_first() else { return };
    let max_args = [1usize, 3, 10, 10_000][usize::from(sel & 3)];
    let expected = ref_urlencoded(body);
    #[cfg(fuzzing)]
    {
        let p = rampart::fuzzing::parse_urlencoded(body, sel & 4 != 0, max_args);
        assert!(p.error.is_none(), "urlencoded never fails");
        assert!(p.arg_count <= max_args && p.pairs.len() == p.arg_count);
        assert!(p.arena_bytes <= body.len(), "arena {} > input {}", p.arena_bytes, body.len());
        let got: Vec<(Vec<u8>, Vec<u8>)> = p.pairs.into_iter().map(|(_, n, v)| (n, v)).collect();
        let n = got.len();
        assert_eq!(p.limit_exceeded, expected.len() > max_args, "limit flag");
        assert_eq!(got[..], expected[..n.min(expected.len())], "urlencoded differs from the reference");
        let invalid = body.windows(1).enumerate().any(|(i, w)| {
            w[0] == b'%'
                && !(body.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                    && body.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
        });
        if !p.limit_exceeded {
            assert_eq!(p.invalid_encoding, invalid, "invalid_encoding flag");
        }
    }
    let _ = (&expected, max_args);
    check_body_via_transaction(b"application/x-www-form-urlencoded", body);
}

/// `body_json`: byte 0 picks the depth and argument limits, the rest is the
/// body. Errors point inside the body; limits hold; names stay within their
/// budget; a document `serde_json` accepts (not deeper than its own limit of
/// 128) is never an error here.
pub fn check_body_json(data: &[u8]) {
    let Some((&sel, body)) = data.split_first() else { return };
    let max_depth = [1usize, 3, 64, 1000][usize::from(sel & 3)];
    let max_args = [2usize, 10_000][usize::from((sel >> 2) & 1)];
    #[cfg(fuzzing)]
    {
        let p = rampart::fuzzing::parse_json(body, max_depth, max_args);
        if let Some((msg, offset)) = p.error {
            assert!(offset <= body.len(), "json error {msg:?} at {offset} past the end ({})", body.len());
        }
        assert!(p.arg_count <= max_args && p.pairs.len() == p.arg_count);
        // Values never grow (escapes shrink or keep the size); names use at
        // most 16 bytes per input byte plus 64 KiB.
        let bound = body.len() * 17 + 64 * 1024;
        assert!(p.arena_bytes <= bound, "arena {} over {bound}", p.arena_bytes);
        if let Ok(text) = std::str::from_utf8(body) {
            let serde_ok = serde_json::from_str::<serde_json::Value>(text).is_ok();
            if serde_ok && !p.limit_exceeded {
                assert!(p.error.is_none(), "serde_json accepts, rampart says {:?}", p.error);
            }
            if p.error.is_none() && !p.limit_exceeded && depth(body) < 120 && !has_lone_surrogate(text) {
                assert!(serde_ok, "rampart accepts what serde_json refuses");
            }
        }
    }
    let _ = (max_depth, max_args);
    check_body_via_transaction(b"application/json", body);
}

/// Bracket depth of a JSON text, ignoring strings (for the comparison only).
#[cfg(fuzzing)]
fn depth(body: &[u8]) -> usize {
    let (mut d, mut max, mut in_str, mut esc) = (0usize, 0usize, false, false);
    for &b in body {
        if in_str {
            if esc {
                esc = false;
            } else if b == b'\\' {
                esc = true;
            } else if b == b'"' {
                in_str = false;
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'[' | b'{' => {
                d += 1;
                max = max.max(d);
            }
            b']' | b'}' => d = d.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// True when a `\uD800`-`\uDFFF` escape may be unpaired (rampart turns it into
/// U+FFFD; serde_json refuses it).
#[cfg(fuzzing)]
fn has_lone_surrogate(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.contains("\\ud8")
        || lower.contains("\\ud9")
        || lower.contains("\\uda")
        || lower.contains("\\udb")
        || lower.contains("\\udc")
        || lower.contains("\\udd")
        || lower.contains("\\ude")
        || lower.contains("\\udf")
}

/// `body_multipart`: byte 0 picks the mode and limits. Raw mode (bit 7 clear):
/// the first line of the rest is the `Content-Type`, the remainder the body;
/// errors point inside their input, limits hold. Built mode (bit 7 set): the
/// rest is `name SEP value SEP name SEP value ...`, built into a well-formed
/// body whose fields must come back exactly.
pub fn check_body_multipart(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else { return };
    let max_parts = [1usize, 3, 256, 100_000][usize::from(sel & 3)];
    let max_args = [2usize, 10_000][usize::from((sel >> 2) & 1)];
    if sel & 0x80 == 0 {
        let (ct, body) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &[][..]),
        };
        #[cfg(fuzzing)]
        {
            let p = rampart::fuzzing::parse_multipart(ct, body, max_parts, max_args);
            if let Some((msg, offset)) = p.error {
                assert!(offset <= body.len().max(ct.len()), "multipart error {msg:?} at {offset} past the end");
            }
            assert!(p.arg_count <= max_args);
            let fields = p.pairs.iter().filter(|(o, _, _)| *o == 3 || *o == 4).count();
            assert_eq!(fields, p.arg_count);
            // Part headers are kept as sent and the field name again: at most twice the body.
            assert!(p.arena_bytes <= 2 * body.len() + 64, "arena {} for a body of {}", p.arena_bytes, body.len());
        }
        let _ = (max_parts, max_args);
        let mut content_type = b"multipart/form-data; ".to_vec();
        content_type.extend_from_slice(ct);
        check_body_via_transaction(&content_type, body);
        check_body_via_transaction(ct, body);
        return;
    }
    // Built mode.
    let boundary: &[u8] = b"----fuzzBoundary7MA4YWxkTrZu0gW";
    let mut parts = split(rest, SEP);
    let mut fields: Vec<(Vec<u8>, &[u8])> = Vec::new();
    while let (Some(n), Some(v)) = (parts.next(), parts.next()) {
        let name: Vec<u8> = n.iter().copied().filter(|b| b.is_ascii_alphanumeric() || *b == b'_').take(40).collect();
        if name.is_empty() || v.windows(boundary.len()).any(|w| w == boundary) {
            continue;
        }
        fields.push((name, v));
    }
    let mut body = Vec::new();
    for (name, value) in &fields {
        body.extend_from_slice(b"--");
        body.extend_from_slice(boundary);
        body.extend_from_slice(b"\r\nContent-Disposition: form-data; name=\"");
        body.extend_from_slice(name);
        body.extend_from_slice(b"\"\r\n\r\n");
        body.extend_from_slice(value);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--");
    body.extend_from_slice(boundary);
    body.extend_from_slice(b"--\r\n");
    let mut ct = b"multipart/form-data; boundary=".to_vec();
    ct.extend_from_slice(boundary);
    #[cfg(fuzzing)]
    {
        let p = rampart::fuzzing::parse_multipart(&ct, &body, max_parts, max_args);
        let got: Vec<(Vec<u8>, Vec<u8>)> =
            p.pairs.into_iter().filter(|(o, _, _)| *o == 3).map(|(_, n, v)| (n, v)).collect();
        let want: Vec<(Vec<u8>, Vec<u8>)> = fields.iter().map(|(n, v)| (n.clone(), v.to_vec())).collect();
        let n = want.len().min(max_parts).min(max_args);
        assert_eq!(p.error, None, "a well-formed body is an error");
        assert_eq!(got[..], want[..n], "fields of a well-formed body do not come back");
        assert_eq!(p.limit_exceeded, want.len() > n, "limit flag");
    }
    check_body_via_transaction(&ct, &body);
}

/// The body through a whole transaction with each small rule set.
fn check_body_via_transaction(content_type: &[u8], body: &[u8]) {
    for which in 1..4 {
        let req = Request {
            flags: which,
            method: b"POST",
            uri: b"/submit",
            protocol: b"HTTP/1.1",
            body,
            headers: vec![(&b"Host"[..], &b"example.com"[..]), (&b"Content-Type"[..], content_type)],
        };
        let rs = ruleset(which);
        with_scratch(&rs.clone(), |scratch| {
            let mut tx = Transaction::new(rs);
            let whole = run_request(&mut tx, scratch, &req, 0);
            tx.reset();
            let chunked = run_request(&mut tx, scratch, &req, 3);
            assert_eq!(whole, chunked, "chunking the body changed the outcome");
        });
    }
}

// ---------------------------------------------------------------------------
// transforms
// ---------------------------------------------------------------------------

/// Reference `url_decode`: `%XX` (either case) and `+`; invalid escapes kept.
pub fn ref_url_decode(input: &[u8]) -> Vec<u8> {
    ref_form_decode(input)
}

/// Reference `lowercase`.
pub fn ref_lowercase(input: &[u8]) -> Vec<u8> {
    input.iter().map(|b| if b.is_ascii_uppercase() { b + 32 } else { *b }).collect()
}

/// Reference `remove_nulls`.
pub fn ref_remove_nulls(input: &[u8]) -> Vec<u8> {
    input.iter().copied().filter(|&b| b != 0).collect()
}

/// Reference `compress_whitespace`: runs of `isspace` bytes, `A0` and the
/// UTF-8 NBSP `C2 A0` become one space.
pub fn ref_compress_whitespace(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    let mut in_run = false;
    while i < input.len() {
        let unit = if input[i] == 0xC2 && input.get(i + 1) == Some(&0xA0) {
            2
        } else if matches!(input[i], b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | 0xA0) {
            1
        } else {
            0
        };
        if unit > 0 {
            if !in_run {
                out.push(b' ');
            }
            in_run = true;
            i += unit;
        } else {
            in_run = false;
            out.push(input[i]);
            i += 1;
        }
    }
    out
}

/// Reference `hex_encode`: two lowercase digits per byte.
pub fn ref_hex_encode(input: &[u8]) -> Vec<u8> {
    input.iter().flat_map(|b| format!("{b:02x}").into_bytes()).collect()
}

/// Reference `hex_decode`: a pair of hex digits is a byte; where no pair
/// starts, the byte is copied.
pub fn ref_hex_decode(input: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::new();
    let mut i = 0;
    while i < input.len() {
        match (hex(input[i]), input.get(i + 1).and_then(|&b| hex(b))) {
            (Some(h), Some(l)) => {
                out.push(h * 16 + l);
                i += 2;
            }
            _ => {
                out.push(input[i]);
                i += 1;
            }
        }
    }
    out
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Reference base64 decoding of alphabet symbols only (groups of 4 give 3
/// bytes, a final 2 or 3 give 1 or 2, a lone final symbol nothing).
fn ref_b64_symbols(symbols: &[u8]) -> Vec<u8> {
    let value = |b: u8| B64.iter().position(|&c| c == b).expect("alphabet only") as u32;
    let mut out = Vec::new();
    for group in symbols.chunks(4) {
        let mut acc = 0u32;
        for (i, &s) in group.iter().enumerate() {
            acc |= value(s) << (18 - 6 * i);
        }
        let bytes = [(acc >> 16) as u8, (acc >> 8) as u8, acc as u8];
        let n = match group.len() {
            4 => 3,
            3 => 2,
            2 => 1,
            _ => 0,
        };
        out.extend_from_slice(&bytes[..n]);
    }
    out
}

/// Reference `base64_decode`: the longest alphabet prefix.
pub fn ref_base64_decode(input: &[u8]) -> Vec<u8> {
    let n = input.iter().position(|b| !B64.contains(b)).unwrap_or(input.len());
    ref_b64_symbols(&input[..n])
}

/// Reference `base64_decode_ext`: every alphabet byte, others skipped.
pub fn ref_base64_decode_ext(input: &[u8]) -> Vec<u8> {
    let symbols: Vec<u8> = input.iter().copied().filter(|b| B64.contains(b)).collect();
    ref_b64_symbols(&symbols)
}

/// Reference base64 encoding (standard alphabet, with padding).
pub fn ref_base64_encode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for group in input.chunks(3) {
        let mut acc = 0u32;
        for (i, &b) in group.iter().enumerate() {
            acc |= u32::from(b) << (16 - 8 * i);
        }
        for i in 0..4 {
            if i <= group.len() {
                out.push(B64[((acc >> (18 - 6 * i)) & 63) as usize]);
            } else {
                out.push(b'=');
            }
        }
    }
    out
}

/// `t` applied as a pipeline step: its output, or the input when `apply`
/// says it would not change it. Checks the output bound.
pub fn apply(t: Transform, input: &[u8]) -> Vec<u8> {
    let mut out = vec![0xAA; 3]; // stale content must not leak into the result
    if t.apply(input, &mut out) {
        assert!(
            out.len() <= t.max_output_len(input.len()),
            "{}: {} bytes out of {} in (bound {})",
            t.name(),
            out.len(),
            input.len(),
            t.max_output_len(input.len())
        );
        out
    } else {
        input.to_vec()
    }
}

/// `transforms`: byte 0 picks a transform for a two-step pipeline, the rest
/// is the value. Every transform is total and bounded; the ones with a simple
/// reference implementation agree with it; the laws hold (`lowercase` and
/// `compress_whitespace` idempotent, `hex_decode . hex_encode` and
/// `base64_decode . base64 encode` identities, `length` is the decimal length).
pub fn check_transforms(data: &[u8]) {
    let Some((&sel, input)) = data.split_first() else { return };
    for &t in Transform::ALL {
        let out = apply(t, input);
        // A second step on the first's output: pipelines feed transforms
        // their own kind of output.
        let second = Transform::ALL[usize::from(sel) % Transform::ALL.len()];
        let _ = apply(second, &out);
        let reference: Option<Vec<u8>> = match t {
            Transform::UrlDecode => Some(ref_url_decode(input)),
            Transform::Lowercase => Some(ref_lowercase(input)),
            Transform::RemoveNulls => Some(ref_remove_nulls(input)),
            Transform::CompressWhitespace => Some(ref_compress_whitespace(input)),
            Transform::HexEncode => Some(ref_hex_encode(input)),
            Transform::HexDecode => Some(ref_hex_decode(input)),
            Transform::Base64Decode => Some(ref_base64_decode(input)),
            Transform::Base64DecodeExt => Some(ref_base64_decode_ext(input)),
            Transform::Length => Some(input.len().to_string().into_bytes()),
            Transform::Uppercase => Some(input.to_ascii_uppercase()),
            Transform::ReplaceNulls => Some(input.iter().map(|&b| if b == 0 { b' ' } else { b }).collect()),
            _ => None,
        };
        if let Some(want) = reference {
            // `apply` may decline (unchanged) only when the reference agrees.
            assert_eq!(out, want, "{} differs from the reference on {:?}", t.name(), String::from_utf8_lossy(input));
        }
        match t {
            Transform::Lowercase
            | Transform::Uppercase
            | Transform::CompressWhitespace
            | Transform::RemoveNulls
            | Transform::RemoveWhitespace
            | Transform::Trim
            | Transform::NormalizePath => {
                assert_eq!(apply(t, &out), out, "{} is not idempotent", t.name());
            }
            _ => {}
        }
    }
    assert_eq!(apply(Transform::HexDecode, &apply(Transform::HexEncode, input)), input, "hex round trip");
    let encoded = ref_base64_encode(input);
    assert_eq!(apply(Transform::Base64Decode, &encoded), input, "base64 round trip");
    assert_eq!(apply(Transform::Base64DecodeExt, &encoded), input, "base64_ext round trip");
    let mut strict = Vec::new();
    assert!(rampart::base64_decode_strict(&encoded, &mut strict), "strict base64 refuses a valid encoding");
    assert_eq!(strict, input, "base64_decode_strict round trip");
}

// ---------------------------------------------------------------------------
// ffi_calls
// ---------------------------------------------------------------------------

/// `ffi_calls`: the input is a program of C-ABI calls, one per byte (the
/// opcode, `% 24`), with arguments taken from the bytes that follow. The
/// program keeps a pool of up to 4 rulesets (counting the references it
/// holds), 4 transactions and 4 errors, so it never passes a dangling
/// pointer: NULLs, (NULL, n > 0) strings, unknown phases, match indexes past
/// the end and small or missing audit buffers are what it tries. Every result
/// must be one the documentation allows, views must be readable, and the
/// audit protocol must hold. Everything is released at the end (a leak shows
/// under LeakSanitizer).
pub fn check_ffi_calls(data: &[u8]) {
    use rampart::ffi::*;
    use std::ffi::c_char;
    use std::ptr::{null, null_mut};

    struct Cursor<'a>(&'a [u8]);
    impl<'a> Cursor<'a> {
        fn byte(&mut self) -> u8 {
            let Some((&b, rest)) = self.0.split_first() else { return 0 };
            self.0 = rest;
            b
        }
        fn bytes(&mut self) -> &'a [u8] {
            let n = usize::from(self.byte() % 64).min(self.0.len());
            let (head, rest) = self.0.split_at(n);
            self.0 = rest;
            head
        }
    }

    /// A (pointer, length) argument: the bytes, (NULL, 0), or (NULL, n > 0).
    fn arg(c: &mut Cursor, kind: u8) -> (*const c_char, usize, bool) {
        match kind % 8 {
            0 => (null(), 0, true),
            1 => (null(), 5, false),
            _ => {
                let b = c.bytes();
                (b.as_ptr().cast(), b.len(), true)
            }
        }
    }

    fn ok_or(r: rampart_result, allowed: &[rampart_result], what: &str) {
        assert!(allowed.contains(&r), "{what} returned {r:?}, expected one of {allowed:?}");
    }

    // Config files for rampart_ruleset_load, made once per process in one
    // directory shared by every run (so that runs leave one directory behind,
    // not one each): each file is written beside its name and renamed into
    // place, so a run never reads another's half-written file.
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join("rampart-fuzz-ffi");
        std::fs::create_dir_all(&dir).expect("temp dir");
        let files = [
            ("good.toml", "[rules]\ninclude = [\"*.rules\"]\n[limits]\nmax_body_bytes = 64\n"),
            ("a.rules", SMALL_RULES),
            ("bad.toml", "[limits]\nmax_body_bytes = 0\n"),
            ("badrules.toml", "[rules]\ninclude = [\"b.rules\"]\n"),
            ("b.rules", "rule 1 { severity critical inspect args match regex `(a` }\n"),
        ];
        for (name, text) in files {
            let part = dir.join(format!(".{name}.{}", std::process::id()));
            std::fs::write(&part, text).expect("config file");
            std::fs::rename(&part, dir.join(name)).expect("config file");
        }
        dir
    });
    let paths: Vec<Vec<u8>> = ["good.toml", "bad.toml", "badrules.toml", "missing.toml"]
        .iter()
        .map(|n| dir.join(n).to_string_lossy().into_owned().into_bytes())
        .chain([Vec::new(), b"a\0b".to_vec()])
        .collect();

    let mut c = Cursor(data);
    // (handle, references this program holds)
    let mut rulesets: Vec<(*mut rampart_ruleset, usize)> = Vec::new();
    let mut txs: Vec<*mut rampart_tx> = Vec::new();
    let mut errors: Vec<*mut rampart_error> = Vec::new();
    let mut steps = 0;
    use rampart_result as R;

    while !c.0.is_empty() && steps < 200 {
        steps += 1;
        let op = c.byte() % 24;
        let sel = c.byte();
        let pick = |n: usize| if n == 0 { None } else { Some(usize::from(sel) % n) };
        match op {
            0 => {
                assert_eq!(rampart_abi_version() >> 16, RAMPART_ABI_VERSION >> 16);
                assert!(!rampart_version().is_null());
            }
            1 if rulesets.len() < 4 => {
                // The built-in rules compile once: share them by retaining.
                let rs = ruleset(0);
                let raw = std::sync::Arc::into_raw(rs).cast_mut().cast::<rampart_ruleset>();
                rulesets.push((raw, 1));
            }
            2 if rulesets.len() < 4 || errors.len() < 4 => {
                let text: &[u8] = match sel % 4 {
                    0 => SMALL_RULES.as_bytes(),
                    1 => b"rule 1 { severity critical inspect args match regex `(a` }",
                    2 => b"rule 1 { \xff }",
                    _ => c.bytes(),
                };
                let (ptr, len) =
                    if sel & 0x10 != 0 { (null(), text.len().max(1)) } else { (text.as_ptr().cast(), text.len()) };
                let mut out = null_mut();
                let mut err = null_mut();
                let out_ptr = if sel & 0x20 != 0 { null_mut() } else { &raw mut out };
                let err_ptr = if sel & 0x40 != 0 { null_mut() } else { &raw mut err };
                let r = rampart_ruleset_compile(ptr, len, out_ptr, err_ptr);
                ok_or(r, &[R::Ok, R::NullArgument, R::InvalidArgument, R::RuleError, R::Io], "compile");
                if r == R::Ok {
                    assert!(!out.is_null() && err.is_null());
                    rulesets.push((out, 1));
                } else {
                    assert!(out.is_null(), "out written on failure");
                }
                if !err.is_null() {
                    assert!(matches!(r, R::RuleError | R::InvalidArgument | R::Io), "error set with {r:?}");
                    errors.push(err);
                }
            }
            3 if rulesets.len() < 4 || errors.len() < 4 => {
                let path = &paths[usize::from(sel) % paths.len()];
                let mut out = null_mut();
                let mut err = null_mut();
                let r = rampart_ruleset_load(path.as_ptr().cast(), path.len(), &raw mut out, &raw mut err);
                ok_or(r, &[R::Ok, R::InvalidArgument, R::RuleError, R::Io], "load");
                if r == R::Ok {
                    rulesets.push((out, 1));
                }
                if !err.is_null() {
                    errors.push(err);
                }
            }
            4 => {
                if let Some(i) = pick(rulesets.len()) {
                    let r = rampart_ruleset_retain(rulesets[i].0);
                    assert_eq!(r, rulesets[i].0);
                    rulesets[i].1 += 1;
                } else {
                    assert!(rampart_ruleset_retain(null_mut()).is_null());
                }
            }
            5 => match pick(rulesets.len()) {
                Some(i) => {
                    rampart_ruleset_release(rulesets[i].0);
                    rulesets[i].1 -= 1;
                    if rulesets[i].1 == 0 {
                        rulesets.swap_remove(i);
                    }
                }
                None => rampart_ruleset_release(null_mut()),
            },
            6 => {
                let n = pick(rulesets.len()).map_or(0, |i| rampart_ruleset_rule_count(rulesets[i].0));
                let _ = n;
                assert_eq!(rampart_ruleset_rule_count(null()), 0);
            }
            7 if txs.len() < 4 => match pick(rulesets.len()) {
                Some(i) => {
                    let tx = rampart_tx_new(rulesets[i].0);
                    assert!(!tx.is_null());
                    txs.push(tx);
                }
                None => assert!(rampart_tx_new(null_mut()).is_null()),
            },
            8 => match pick(txs.len()) {
                Some(i) => rampart_tx_free(txs.swap_remove(i)),
                None => rampart_tx_free(null_mut()),
            },
            9 => rampart_tx_reset(pick(txs.len()).map_or(null_mut(), |i| txs[i])),
            10 => {
                let tx = pick(txs.len()).map_or(null_mut(), |i| txs[i]);
                let rs = if sel & 0x80 != 0 { None } else { pick(rulesets.len()) };
                let r = rampart_tx_reset_with(tx, rs.map_or(null_mut(), |i| rulesets[i].0));
                if tx.is_null() || rs.is_none() {
                    assert_eq!(r, R::NullArgument);
                } else {
                    assert_eq!(r, R::Ok);
                }
            }
            11 => {
                let tx = pick(txs.len()).map_or(null_mut(), |i| txs[i]);
                let (k1, k2, k3) = (c.byte(), c.byte(), c.byte());
                let (m, ml, _) = arg(&mut c, k1);
                let (u, ul, _) = arg(&mut c, k2);
                let (p, pl, _) = arg(&mut c, k3);
                let r = rampart_tx_set_request(tx, m, ml, u, ul, p, pl);
                ok_or(r, &[R::Ok, R::NullArgument, R::TooLate], "set_request");
            }
            12..=14 => {
                let tx = pick(txs.len()).map_or(null_mut(), |i| txs[i]);
                let k = c.byte();
                let (s, l, _) = arg(&mut c, k);
                let r = match op {
                    12 => rampart_tx_set_client(tx, s, l),
                    13 => rampart_tx_set_scheme(tx, s, l),
                    _ => rampart_tx_set_request_id(tx, s, l),
                };
                ok_or(r, &[R::Ok, R::NullArgument, R::TooLate], "set_client/scheme/request_id");
            }
            15 => {
                let tx = pick(txs.len()).map_or(null_mut(), |i| txs[i]);
                let (k1, k2) = (c.byte(), c.byte());
                let (n, nl, _) = arg(&mut c, k1);
                let (v, vl, _) = arg(&mut c, k2);
                let r = rampart_tx_add_header(tx, n, nl, v, vl);
                ok_or(r, &[R::Ok, R::NullArgument], "add_header");
            }
            16 => {
                let tx = pick(txs.len()).map_or(null_mut(), |i| txs[i]);
                let k = c.byte();
                let (d, l, _) = arg(&mut c, k);
                let r = rampart_tx_append_body(tx, d.cast(), l);
                ok_or(r, &[R::Ok, R::NullArgument, R::TooLate], "append_body");
            }
            17 => {
                let tx = pick(txs.len()).map_or(null_mut(), |i| txs[i]);
                let phase = match c.byte() % 4 {
                    0 => RAMPART_PHASE_REQUEST_HEADERS,
                    1 => RAMPART_PHASE_REQUEST_BODY,
                    2 => 2,
                    _ => u32::MAX,
                };
                let mut v = rampart_verdict::default();
                let out = if sel & 0x80 != 0 { null_mut() } else { &raw mut v };
                let r = rampart_tx_evaluate(tx, phase, out);
                ok_or(r, &[R::Ok, R::NullArgument, R::InvalidArgument], "evaluate");
                if r == R::Ok {
                    assert!(v.action <= RAMPART_ACTION_LOG && v.limit <= RAMPART_LIMIT_MULTIPART_PARTS);
                    assert_eq!(v.would_block != 0, v.status != 0);
                    assert!(v.reserved.iter().all(|&x| x == 0));
                    assert_eq!(v.match_count as usize, rampart_tx_match_count(tx));
                }
            }
            18 => {
                let tx = pick(txs.len()).map_or(null_mut(), |i| txs[i]);
                let count = rampart_tx_match_count(tx);
                let index = match c.byte() % 3 {
                    0 => 0,
                    1 => count,
                    _ => usize::MAX,
                };
                let mut m = std::mem::MaybeUninit::<rampart_match>::uninit();
                let out = if sel & 0x80 != 0 { null_mut() } else { m.as_mut_ptr() };
                let r = rampart_tx_match(tx, index, out);
                if r == R::Ok {
                    // SAFETY: OK means the match was written.
                    let m = unsafe { m.assume_init() };
                    // SAFETY: the views are valid until the transaction is reset or freed.
                    let (msg, field, snippet) = unsafe {
                        (
                            std::slice::from_raw_parts(m.message.cast::<u8>(), m.message_len),
                            std::slice::from_raw_parts(m.field.cast::<u8>(), m.field_len),
                            std::slice::from_raw_parts(m.snippet, m.snippet_len),
                        )
                    };
                    assert!(std::str::from_utf8(msg).is_ok() && std::str::from_utf8(field).is_ok());
                    assert!(snippet.len() <= 64);
                    assert!(index < count);
                } else {
                    ok_or(r, &[R::NullArgument, R::InvalidArgument], "match");
                }
            }
            19 => {
                let tx = pick(txs.len()).map_or(null::<rampart_tx>(), |i| txs[i].cast_const());
                let need = rampart_tx_audit_json(tx, null_mut(), 0);
                if tx.is_null() {
                    assert_eq!(need, 0);
                    continue;
                }
                let cap = match c.byte() % 4 {
                    0 => need,
                    1 => need + 1,
                    2 => need.saturating_sub(1),
                    _ => 0,
                };
                let mut buf = vec![0x55u8; cap + 8];
                let n = rampart_tx_audit_json(tx, buf.as_mut_ptr().cast(), cap);
                assert_eq!(n, need, "the audit line changed length between calls");
                if n <= cap && n > 0 {
                    assert!(serde_json::from_slice::<serde_json::Value>(&buf[..n]).is_ok(), "audit line is not JSON");
                    if n < cap {
                        assert_eq!(buf[n], 0, "no NUL after the line");
                    }
                } else {
                    assert!(buf[..cap].iter().all(|&b| b == 0x55), "wrote into a buffer too small");
                }
                assert_eq!(rampart_tx_audit_json(tx, null_mut(), 5), 0, "NULL buffer with cap > 0");
            }
            20 => {
                let e = pick(errors.len()).map_or(null::<rampart_error>(), |i| errors[i].cast_const());
                let (msg, file) = (rampart_error_message(e), rampart_error_file(e));
                let (line, col) = (rampart_error_line(e), rampart_error_column(e));
                if e.is_null() {
                    assert!(msg.is_null() && file.is_null() && line == 0 && col == 0);
                } else {
                    // SAFETY: NUL-terminated strings owned by a live error.
                    let m = unsafe { std::ffi::CStr::from_ptr(msg) };
                    let _ = unsafe { std::ffi::CStr::from_ptr(file) };
                    assert!(!m.to_bytes().is_empty());
                }
            }
            21 => match pick(errors.len()) {
                Some(i) => rampart_error_free(errors.swap_remove(i)),
                None => rampart_error_free(null_mut()),
            },
            22 => {
                // NULL out-parameters everywhere.
                assert_eq!(rampart_ruleset_default(null_mut()), R::NullArgument);
                assert_eq!(rampart_ruleset_compile(b"x".as_ptr().cast(), 1, null_mut(), null_mut()), R::NullArgument);
                assert_eq!(rampart_ruleset_load(b"x".as_ptr().cast(), 1, null_mut(), null_mut()), R::NullArgument);
                assert_eq!(rampart_tx_evaluate(null_mut(), 0, null_mut()), R::NullArgument);
                assert_eq!(rampart_tx_match(null(), 0, null_mut()), R::NullArgument);
                assert_eq!(rampart_tx_set_request(null_mut(), null(), 0, null(), 0, null(), 0), R::NullArgument);
            }
            _ => {
                // A whole request on one transaction, from the next bytes.
                if let Some(i) = pick(txs.len()) {
                    let tx = txs[i];
                    let body = c.bytes();
                    let uri = c.bytes();
                    rampart_tx_reset(tx);
                    let r = rampart_tx_set_request(
                        tx,
                        b"POST".as_ptr().cast(),
                        4,
                        uri.as_ptr().cast(),
                        uri.len(),
                        null(),
                        0,
                    );
                    assert_eq!(r, R::Ok);
                    let ct = [
                        &b"application/json"[..],
                        b"application/x-www-form-urlencoded",
                        b"multipart/form-data; boundary=b",
                    ][usize::from(sel) % 3];
                    assert_eq!(
                        rampart_tx_add_header(tx, b"content-type".as_ptr().cast(), 12, ct.as_ptr().cast(), ct.len()),
                        R::Ok
                    );
                    assert_eq!(rampart_tx_append_body(tx, body.as_ptr(), body.len()), R::Ok);
                    let mut v = rampart_verdict::default();
                    assert_eq!(rampart_tx_evaluate(tx, RAMPART_PHASE_REQUEST_BODY, &raw mut v), R::Ok);
                    assert_eq!(rampart_tx_append_body(tx, body.as_ptr(), body.len()), R::TooLate);
                }
            }
        }
    }
    for tx in txs {
        rampart_tx_free(tx);
    }
    for (rs, refs) in rulesets {
        for _ in 0..refs {
            rampart_ruleset_release(rs);
        }
    }
    for e in errors {
        rampart_error_free(e);
    }
}
