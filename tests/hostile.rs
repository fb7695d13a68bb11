//! Hostile requests: every one gets a verdict (the configured over-limit
//! action where a limit applies), nothing panics, each case takes bounded
//! time, and the heap a transaction and its scratch use stays within the
//! bound docs/hardening.md states:
//!
//! ```text
//! peak heap  <=  MEMORY_PER_BODY_BYTE x max_body_bytes
//!              + MEMORY_PER_HEADER_BYTE x (max_header_bytes + max_uri_bytes)
//!              + MEMORY_CONSTANT
//! ```
//!
//! A counting global allocator (this file is its own test binary) tracks the
//! bytes the current thread holds and their peak, so the harness's other
//! threads do not disturb the numbers. Inputs are made before measuring; the
//! rule sets are compiled before measuring (they are shared, not per
//! request). Set `RAMPART_HOSTILE_REPORT=1` to print each case's peak and time.
//!
//! Time is bounded generously (the suite runs in release in CI; the bound
//! is 10x looser unoptimised): the point is "not quadratic, not stuck", the
//! ReDoS growth test (tests/redos.rs) measures growth properly.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use rampart::{Action, Config, Limit, LimitAction, Phase, Ruleset, Transaction};

// ---------------------------------------------------------------------------
// A counting allocator: live bytes and peak, per thread.
// ---------------------------------------------------------------------------

struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn note(delta: isize) {
    // `try_with`: the thread-locals may be gone while a thread shuts down.
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| {
            if now > peak.get() {
                peak.set(now);
            }
        });
    });
}

// SAFETY: every method forwards to the system allocator with the caller's
// arguments unchanged; counting touches only const-initialised thread-locals.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as received.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            note(layout.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as received.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            note(layout.size() as isize);
        }
        p
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as received.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            note(new_size as isize - layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note(-(layout.size() as isize));
        // SAFETY: forwarded as received.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f`; returns its result, the peak of heap bytes held by this thread
/// above what it held before, and the time taken.
fn measure<T>(f: impl FnOnce() -> T) -> (T, usize, Duration) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let started = Instant::now();
    let out = f();
    let elapsed = started.elapsed();
    let peak = PEAK.with(Cell::get) - base;
    (out, peak.max(0) as usize, elapsed)
}

// ---------------------------------------------------------------------------
// The bound (docs/hardening.md states the same numbers).
// ---------------------------------------------------------------------------

/// Heap bytes per byte of `max_body_bytes`: the body copy, its parsed values,
/// JSON names (at most 16 per body byte, src/request/json.rs), transform
/// buffers and the vectors' doubling.
const MEMORY_PER_BODY_BYTE: usize = 40;
/// Heap bytes per byte of `max_header_bytes + max_uri_bytes`.
const MEMORY_PER_HEADER_BYTE: usize = 16;
/// Everything else: pairs tables, regex caches, automaton state, match records.
const MEMORY_CONSTANT: usize = 16 << 20;

fn bound(config: &Config) -> usize {
    MEMORY_PER_BODY_BYTE * config.get_max_body_bytes()
        + MEMORY_PER_HEADER_BYTE * (config.get_max_header_bytes() + config.get_max_uri_bytes())
        + MEMORY_CONSTANT
}

fn time_limit() -> Duration {
    if cfg!(debug_assertions) { Duration::from_secs(60) } else { Duration::from_secs(6) }
}

// ---------------------------------------------------------------------------
// Rule sets: the built-in rules with the default limits, rejecting or
// inspecting over a limit, and with room for 100,000 parts and arguments.
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Set {
    /// Built-in rules and config: on_limit = reject (413).
    Reject,
    /// Built-in rules, on_limit = inspect.
    Inspect,
    /// Built-in rules with a 16 MiB body and 1 MiB URI: other limits are met first.
    Roomy,
}

fn ruleset(set: Set) -> Arc<Ruleset> {
    static SETS: OnceLock<[Arc<Ruleset>; 3]> = OnceLock::new();
    let sets = SETS.get_or_init(|| {
        let build = |config: Config| Arc::new(Ruleset::builder().default_rules().configure(config).build().unwrap());
        [
            build(Config::new()),
            build(Config::new().on_limit(LimitAction::Inspect)),
            build(Config::new().max_body_bytes(16 << 20).max_uri_bytes(1 << 20)),
        ]
    });
    sets[set as usize].clone()
}

// ---------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------

/// A hostile request. The body is `body` repeated `repeat` times, fed in
/// pieces of `chunk` bytes, so a 100 MiB body never exists in memory.
struct Hostile {
    name: &'static str,
    method: Vec<u8>,
    uri: Vec<u8>,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    body: Vec<u8>,
    repeat: usize,
    chunk: usize,
}

impl Hostile {
    fn new(name: &'static str) -> Hostile {
        Hostile {
            name,
            method: b"POST".to_vec(),
            uri: b"/submit".to_vec(),
            headers: vec![(b"Host".to_vec(), b"shop.example".to_vec())],
            body: Vec::new(),
            repeat: 1,
            chunk: 64 << 10,
        }
    }

    fn uri(mut self, uri: impl Into<Vec<u8>>) -> Hostile {
        self.uri = uri.into();
        self
    }

    fn method(mut self, m: impl Into<Vec<u8>>) -> Hostile {
        self.method = m.into();
        self
    }

    fn header(mut self, n: impl Into<Vec<u8>>, v: impl Into<Vec<u8>>) -> Hostile {
        self.headers.push((n.into(), v.into()));
        self
    }

    fn content_type(self, ct: &str) -> Hostile {
        self.header("Content-Type", ct)
    }

    fn body(mut self, body: impl Into<Vec<u8>>) -> Hostile {
        self.body = body.into();
        self
    }

    fn repeat(mut self, n: usize, chunk: usize) -> Hostile {
        self.repeat = n;
        self.chunk = chunk;
        self
    }

    /// Total body bytes offered.
    fn body_len(&self) -> usize {
        self.body.len() * self.repeat
    }
}

/// What a run gave.
#[derive(Debug)]
struct Ran {
    action: Action,
    status: u16,
    would_block: bool,
    limit: Option<Limit>,
    body_error: bool,
    peak: usize,
    elapsed: Duration,
}

/// Runs a request through a fresh transaction (headers phase, then body
/// phase), measuring the heap and time of the whole request.
fn run(req: &Hostile, set: Set) -> Ran {
    let rs = ruleset(set);
    let mut scratch = rs.create_scratch();
    let ((verdict, limit, body_error), peak, elapsed) = measure(|| {
        let mut tx = Transaction::new(rs.clone());
        tx.set_client("198.51.100.9");
        tx.set_request(&req.method, &req.uri, "HTTP/1.1");
        for (n, v) in &req.headers {
            tx.add_header(n, v);
        }
        let _ = tx.evaluate(Phase::RequestHeaders, &mut scratch);
        // The host keeps feeding the body even after a block in the headers
        // phase (the worst case for the body limit).
        for _ in 0..req.repeat {
            for piece in req.body.chunks(req.chunk.max(1)) {
                tx.append_body(piece);
            }
        }
        let v = tx.evaluate(Phase::RequestBody, &mut scratch);
        let mut audit = Vec::new();
        tx.write_audit_json(&mut audit);
        assert!(serde_json::from_slice::<serde_json::Value>(&audit).is_ok(), "{}: audit line is not JSON", req.name);
        (v, tx.limit_exceeded(), tx.body_error().is_some())
    });
    let ran = Ran {
        action: verdict.action(),
        status: verdict.status(),
        would_block: verdict.would_block(),
        limit,
        body_error,
        peak,
        elapsed,
    };
    let config = rs.config();
    if std::env::var_os("RAMPART_HOSTILE_REPORT").is_some() {
        eprintln!(
            "{:<34} {:?}: {:?} {} limit={:?} body_error={} peak={:.2} MiB (bound {:.1} MiB) {:.1} ms",
            req.name,
            set,
            ran.action,
            ran.status,
            ran.limit,
            ran.body_error,
            ran.peak as f64 / (1 << 20) as f64,
            bound(config) as f64 / (1 << 20) as f64,
            ran.elapsed.as_secs_f64() * 1e3
        );
    }
    assert!(
        ran.peak <= bound(config),
        "{} ({set:?}): peak heap {} bytes over the bound {}",
        req.name,
        ran.peak,
        bound(config)
    );
    assert!(ran.elapsed <= time_limit(), "{} ({set:?}): took {:?}", req.name, ran.elapsed);
    ran
}

/// Over `limit`: with on_limit = reject the request is blocked (413, or the
/// rules' own block if they decided first); with inspect it is flagged and
/// inspected. The roomy set is checked by the caller.
fn expect_limit(req: &Hostile, limit: Limit) {
    let r = run(req, Set::Reject);
    assert_eq!(r.limit, Some(limit), "{}: limit", req.name);
    assert!(r.would_block && r.action == Action::Block, "{}: over a limit with reject: {r:?}", req.name);
    assert!(r.status == 413 || r.status == 403, "{}: status {}", req.name, r.status);
    let r = run(req, Set::Inspect);
    assert_eq!(r.limit, Some(limit), "{}: limit (inspect)", req.name);
    if r.would_block {
        assert_ne!(r.status, 413, "{}: inspect never rejects for the limit itself", req.name);
    }
}

/// A verdict under every set, no limit expected with the default limits.
fn expect_verdict(req: &Hostile) -> Ran {
    let r = run(req, Set::Reject);
    let _ = run(req, Set::Inspect);
    let _ = run(req, Set::Roomy);
    r
}

// ---------------------------------------------------------------------------
// The cases
// ---------------------------------------------------------------------------

#[test]
fn body_of_100_mib_in_chunks() {
    let chunk: Vec<u8> = (0..64 << 10).map(|i| b"a=1&b=<script>&"[i % 15]).collect();
    let req = Hostile::new("100 MiB urlencoded body")
        .content_type("application/x-www-form-urlencoded")
        .body(chunk)
        .repeat(1600, 16 << 10);
    assert_eq!(req.body_len(), 100 << 20);
    expect_limit(&req, Limit::BodyBytes);
    let r = run(&req, Set::Roomy);
    assert_eq!(r.limit, Some(Limit::BodyBytes));
    // The same in 1-byte chunks for the first MiB (the host's worst habit).
    let tiny = Hostile::new("1 MiB + 1 body in 1-byte chunks")
        .content_type("application/octet-stream")
        .body(vec![b'x'; (1 << 20) + 1])
        .repeat(1, 1);
    expect_limit(&tiny, Limit::BodyBytes);
}

#[test]
fn query_with_100_000_args() {
    let mut uri = b"/search?".to_vec();
    for i in 0..100_000 {
        uri.extend_from_slice(format!("a{i}=1&").as_bytes());
    }
    let req = Hostile::new("100,000 query args").method("GET").uri(uri);
    // The target is cut at max_uri_bytes (8 KiB) first.
    expect_limit(&req, Limit::UriBytes);
    // With room for the URI, max_args (10,000) applies.
    let r = run(&req, Set::Roomy);
    assert_eq!(r.limit, Some(Limit::Args));
    assert!(r.would_block && r.action == Action::Block);
    // The same args in a form body.
    let mut body = Vec::new();
    for i in 0..100_000 {
        body.extend_from_slice(format!("a{i}=1&").as_bytes());
    }
    let req = Hostile::new("100,000 form args").content_type("application/x-www-form-urlencoded").body(body);
    expect_limit(&req, Limit::Args);
}

#[test]
fn ten_thousand_headers() {
    let mut req = Hostile::new("10,000 headers").method("GET");
    for i in 0..10_000 {
        req = req.header(format!("X-H{i}"), "v");
    }
    expect_limit(&req, Limit::Headers);
    let mut req = Hostile::new("10,000 cookies").method("GET");
    let cookies: String = (0..10_000).map(|i| format!("c{i}=v; ")).collect();
    req = req.header("Cookie", cookies);
    let _ = expect_verdict(&req);
}

#[test]
fn header_values_of_8_kib() {
    let value = "A".repeat(8 << 10);
    let mut req = Hostile::new("7 headers of 8 KiB").method("GET");
    for i in 0..7 {
        req = req.header(format!("X-Big{i}"), value.clone());
    }
    let r = expect_verdict(&req);
    assert_eq!(r.limit, None, "56 KiB of headers is within max_header_bytes");
    let mut req = Hostile::new("20 headers of 8 KiB").method("GET");
    for i in 0..20 {
        req = req.header(format!("X-Big{i}"), value.clone());
    }
    expect_limit(&req, Limit::HeaderBytes);
    // Attack-looking 8 KiB values in every inspected header.
    let evil = "' or 1=1-- <script>alert(1)</script> ../../etc/passwd ${jndi:ldap://x} ".repeat(200);
    let req = Hostile::new("8 KiB attack in inspected headers")
        .method("GET")
        .header("User-Agent", &evil[..8 << 10])
        .header("Referer", &evil[..8 << 10])
        .header("Cookie", format!("s={}", &evil[..8 << 10]));
    let r = expect_verdict(&req);
    assert_eq!(r.action, Action::Block);
}

#[test]
fn json_nested_100_000_deep() {
    let mut body = "[".repeat(100_000);
    body.push('1');
    body.push_str(&"]".repeat(100_000));
    let req = Hostile::new("JSON nested 100,000 deep").content_type("application/json").body(body);
    expect_limit(&req, Limit::JsonDepth);
    let mut body = "{\"a\":".repeat(100_000);
    body.push('1');
    body.push_str(&"}".repeat(100_000));
    let req = Hostile::new("JSON objects nested 100,000 deep").content_type("application/json").body(body);
    expect_limit(&req, Limit::JsonDepth);
    // Unclosed: 1 MiB of `[`.
    let req = Hostile::new("JSON 1 MiB of [").content_type("application/json").body("[".repeat(1 << 20));
    expect_limit(&req, Limit::JsonDepth);
}

#[test]
fn json_names_that_repeat_a_long_key() {
    // `{"<500 KiB key>":[0,0,0,...]}`: each element's name repeats the key.
    let mut body = String::from("{\"");
    body.push_str(&"k".repeat(500 << 10));
    body.push_str("\":[");
    body.push_str(&"0,".repeat(250_000));
    body.push_str("0]}");
    let req = Hostile::new("JSON long key x many elements").content_type("application/json").body(body);
    assert!(req.body_len() < 1 << 20);
    // The names' budget (16 bytes per body byte + 64 KiB) stops the parser;
    // it is reported as the JSON depth limit (the `Limit` enum has no
    // variant of its own for it).
    for set in [Set::Reject, Set::Roomy] {
        let r = run(&req, set);
        assert_eq!(r.limit, Some(Limit::JsonDepth), "{r:?}");
        assert!(r.would_block && r.action == Action::Block, "{r:?}");
    }
    let r = run(&req, Set::Inspect);
    assert_eq!(r.limit, Some(Limit::JsonDepth), "{r:?}");
}

fn multipart_parts(n: usize) -> Vec<u8> {
    let mut body = Vec::new();
    for i in 0..n {
        body.extend_from_slice(format!("--b\r\nContent-Disposition: form-data; name=\"f{i}\"\r\n\r\nv\r\n").as_bytes());
    }
    body.extend_from_slice(b"--b--\r\n");
    body
}

#[test]
fn multipart_with_100_000_parts() {
    let body = multipart_parts(100_000);
    assert!(body.len() > 1 << 20 && body.len() < 16 << 20);
    let req = Hostile::new("multipart with 100,000 parts").content_type("multipart/form-data; boundary=b").body(body);
    // The body limit (1 MiB) comes first...
    expect_limit(&req, Limit::BodyBytes);
    // ... with room for the body, max_multipart_parts (256) applies.
    let r = run(&req, Set::Roomy);
    assert_eq!(r.limit, Some(Limit::MultipartParts));
    assert!(r.would_block && r.action == Action::Block);
    // Empty parts, as small as they get.
    let mut body = b"--b\r\n\r\n\r\n".repeat(100_000);
    body.extend_from_slice(b"--b--\r\n");
    let req = Hostile::new("multipart 100,000 empty parts").content_type("multipart/form-data; boundary=b").body(body);
    let r = run(&req, Set::Roomy);
    assert!(r.limit.is_some() || r.body_error, "{r:?}");
}

#[test]
fn multipart_with_a_missing_boundary() {
    let body = multipart_parts(10);
    for ct in ["multipart/form-data", "multipart/form-data; boundary=", "multipart/form-data; boundary=\"unclosed"] {
        let req = Hostile::new("multipart without a boundary").content_type(ct).body(body.clone());
        let r = expect_verdict(&req);
        assert!(r.body_error, "{ct}: body_error");
        assert_eq!(r.action, Action::Block, "{ct}: the built-in rule 920210 blocks unparsable bodies");
    }
    // A boundary that never occurs in the body, and one that never closes.
    let req = Hostile::new("multipart, boundary absent from body")
        .content_type("multipart/form-data; boundary=zzz")
        .body(body.clone());
    assert!(expect_verdict(&req).body_error);
    let mut open = multipart_parts(10);
    open.truncate(open.len() - 7);
    let req = Hostile::new("multipart never closed").content_type("multipart/form-data; boundary=b").body(open);
    assert!(expect_verdict(&req).body_error);
}

/// Invalid UTF-8: overlong `/` (C0 AF, E0 80 AF, F0 80 80 AF), a surrogate
/// (ED A0 80), past U+10FFFF (F4 90 80 80), 5- and 6-byte forms, lone
/// continuation and truncated sequences.
const BAD_UTF8: &[&[u8]] = &[
    b"\xc0\xaf",
    b"\xe0\x80\xaf",
    b"\xf0\x80\x80\xaf",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\xf8\x88\x80\x80\xaf",
    b"\xfc\x84\x80\x80\x80\xaf",
    b"\x80\xbf",
    b"\xe2\x82",
    b"\xff\xfe",
];

fn bad_utf8_string(repeat: usize) -> Vec<u8> {
    let mut s = Vec::new();
    for _ in 0..repeat {
        for b in BAD_UTF8 {
            s.extend_from_slice(b);
            s.extend_from_slice(b"..");
        }
    }
    s
}

#[test]
fn invalid_utf8_and_overlong_encodings_everywhere() {
    let bad = bad_utf8_string(4);
    let mut uri = b"/\xc0\xae\xc0\xae/".to_vec();
    uri.extend_from_slice(&bad);
    uri.extend_from_slice(b"?");
    uri.extend_from_slice(&bad);
    uri.extend_from_slice(b"=");
    uri.extend_from_slice(&bad);
    uri.extend_from_slice(b"&%c0%af=%e0%80%af&x=%ed%a0%80%f4%90%80%80");
    let mut cookie = bad.clone();
    cookie.extend_from_slice(b"=");
    cookie.extend_from_slice(&bad);
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("application/x-www-form-urlencoded", [&bad[..], b"=", &bad[..], b"&a=%c0%af"].concat()),
        (
            "application/json",
            [&b"{\""[..], &bad[..], b"\":\"", &bad[..], b"\",\"u\":\"\\ud800\\udfff\\uDBFF\"}"].concat(),
        ),
        (
            "multipart/form-data; boundary=b",
            [
                &b"--b\r\nContent-Disposition: form-data; name=\""[..],
                &bad[..],
                b"\"; filename=\"",
                &bad[..],
                b"\"\r\nX-\xff: \xc0\xaf\r\n\r\n",
                &bad[..],
                b"\r\n--b--\r\n",
            ]
            .concat(),
        ),
        ("text/xml; charset=\u{fffd}", bad.clone()),
    ];
    for (ct, body) in bodies {
        let req = Hostile::new("invalid UTF-8 everywhere")
            .method([&b"G\xc0\xafT"[..], &bad[..8]].concat())
            .uri(uri.clone())
            .header(bad.clone(), bad.clone())
            .header("Cookie", cookie.clone())
            .header("User-Agent", bad.clone())
            .content_type(ct)
            .header(b"Content-Type".to_vec(), [ct.as_bytes(), b"\xff"].concat())
            .body(body);
        let r = expect_verdict(&req);
        assert_eq!(r.action, Action::Block, "{ct}: invalid UTF-8 in the URI is blocked by the built-in rules");
    }
}

#[test]
fn nul_bytes_everywhere() {
    let nul = b"\0a\0\0b\0".repeat(50);
    let req = Hostile::new("NUL bytes everywhere")
        .method(b"GET\0".to_vec())
        .uri([&b"/a\0b/%00?\0=\0&x=%00"[..], &nul[..]].concat())
        .header(b"X-\0".to_vec(), nul.clone())
        .header("Cookie", [&b"\0=\0; a=%00"[..], &nul[..]].concat())
        .header(b"Host".to_vec(), b"a\0.example".to_vec())
        .content_type("application/json")
        .body([&b"{\"\\u0000\":\"\\u0000\0\"}"[..], &nul[..]].concat());
    let r = expect_verdict(&req);
    assert_eq!(r.action, Action::Block, "NUL bytes are blocked by the built-in rules");
    let req = Hostile::new("NUL bytes in a form body")
        .content_type("application/x-www-form-urlencoded")
        .body(b"\0=\0&a=%00%00&b=\0".repeat(1000));
    let _ = expect_verdict(&req);
    let req = Hostile::new("1 MiB of NUL bytes").content_type("text/plain").body(vec![0u8; 1 << 20]);
    let _ = expect_verdict(&req);
}

#[test]
fn percent_encoding_that_decodes_to_itself() {
    // `%25` decodes to `%`: `%2525...` decodes to `%25...`, forever, unless
    // decoding happens once per transform (it does).
    let deep = format!("%{}41", "25".repeat(4000));
    let uri = format!("/a/{}/?q={}&{}=1", &deep[..3000], &deep[..4000], "%2525".repeat(200));
    let req = Hostile::new("%2525... in URI and args").method("GET").uri(uri);
    let r = expect_verdict(&req);
    assert_eq!(r.limit, None);
    let body = format!("q={}&r=%25%32%35%25%32%35", "%2525".repeat(100_000));
    let req = Hostile::new("%2525... 500 KB form arg").content_type("application/x-www-form-urlencoded").body(body);
    let _ = expect_verdict(&req);
    // Mixed forms that decode to a `%`-escape again: %%32%35, %u0025, &#37;.
    let body = "a=%%32%35%%32%35%u0025%u0025&#37;32&#x25;35".repeat(5000);
    let req = Hostile::new("self-similar escapes").content_type("application/x-www-form-urlencoded").body(body);
    let _ = expect_verdict(&req);
}

#[test]
fn issue_7_huge_method_and_protocol_are_cut() {
    // The request line is attacker-controlled as a whole, not only its target.
    let req = Hostile::new("16 MiB method").method(vec![b'G'; 16 << 20]);
    let r = run(&req, Set::Reject);
    assert!(r.limit.is_some(), "{r:?}");
    let mut req = Hostile::new("16 MiB protocol");
    req.method = b"GET".to_vec();
    let r = {
        let rs = ruleset(Set::Reject);
        let mut scratch = rs.create_scratch();
        let ((v, limit), peak, _) = measure(|| {
            let mut tx = Transaction::new(rs.clone());
            tx.set_request("GET", "/", vec![b'H'; 16 << 20]);
            (tx.evaluate(Phase::RequestBody, &mut scratch), tx.limit_exceeded())
        });
        assert!(peak <= bound(rs.config()), "16 MiB protocol: peak {peak} over {}", bound(rs.config()));
        (v, limit)
    };
    assert!(r.1.is_some() && r.0.would_block(), "{r:?}");
}

#[test]
fn everything_at_once_on_a_reused_transaction() {
    // A transaction reused across hostile requests keeps its memory bounded too.
    let rs = ruleset(Set::Reject);
    let mut scratch = rs.create_scratch();
    let mut tx = Transaction::new(rs.clone());
    let chunk = vec![b'['; 64 << 10];
    let (_, peak, elapsed) = measure(|| {
        for round in 0..20 {
            tx.reset();
            tx.set_request("POST", format!("/r{round}?{}", "a=%2525&".repeat(1000)), "HTTP/1.1");
            for i in 0..200 {
                tx.add_header(format!("X-{i}"), "\u{0}\u{ff}");
            }
            tx.add_header("Content-Type", "application/json");
            for _ in 0..32 {
                tx.append_body(&chunk);
            }
            let v = tx.evaluate(Phase::RequestBody, &mut scratch);
            assert!(v.would_block());
        }
    });
    let bound = bound(rs.config());
    assert!(peak <= bound, "reused transaction: peak {peak} over {bound}");
    assert!(elapsed <= time_limit() * 2, "reused transaction: {elapsed:?}");
}
