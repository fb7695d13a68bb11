//! ReDoS immunity: classic catastrophic-backtracking patterns, compiled as
//! rules, evaluated on attack inputs of 1, 4, 16 and 64 KiB. Time must grow
//! linearly: the test checks the growth ratio time(64 KiB) / time(16 KiB)
//! (4 for linear, up to [`MAX_RATIO`] allowed for noise and cache effects),
//! never an absolute time. A backtracking engine would take ages (exponential
//! patterns) or grow 16x and more (quadratic ones) per step.
//!
//! Patterns that cannot run in linear time (backreferences, look-around) are
//! refused when the rules compile, with an error at the regex.
//!
//! `RAMPART_REDOS_REPORT=1` prints every pattern's times and ratios; the
//! criterion bench `benches/redos.rs` measures the same corpus.

#![forbid(unsafe_code)]

#[path = "redos/patterns.rs"]
mod patterns;

use std::sync::Arc;
use std::time::{Duration, Instant};

use patterns::{PATTERNS, Redos, SIZES};
use rampart::{Config, Phase, Ruleset, Transaction};

/// Largest allowed time(64 KiB) / time(16 KiB).
const MAX_RATIO: f64 = 8.0;

/// Time of one evaluation of `body` (best of several batches, each long
/// enough to measure).
fn time_one(rs: &Arc<Ruleset>, body: &[u8]) -> Duration {
    let mut scratch = rs.create_scratch();
    let mut tx = Transaction::new(rs.clone());
    let mut once = || {
        tx.reset();
        tx.set_request("POST", "/", "HTTP/1.1");
        tx.add_header("Content-Type", "text/plain");
        tx.append_body(body);
        tx.evaluate(Phase::RequestBody, &mut scratch)
    };
    once(); // warm the caches
    // Enough iterations for ~20 ms per batch.
    let started = Instant::now();
    let mut iters = 1u32;
    once();
    let single = started.elapsed().max(Duration::from_micros(1));
    if single < Duration::from_millis(20) {
        iters = (Duration::from_millis(20).as_nanos() / single.as_nanos()).clamp(1, 10_000) as u32;
    }
    let mut best = Duration::MAX;
    for _ in 0..9 {
        let started = Instant::now();
        for _ in 0..iters {
            std::hint::black_box(once());
        }
        best = best.min(started.elapsed() / iters);
    }
    best
}

fn compile(p: &Redos) -> Arc<Ruleset> {
    // Without the value cache: the timing repeats each attack, which the
    // cache would answer (the attacks do not match) instead of scanning.
    let built = Ruleset::builder()
        .source("redos.rules", p.rule())
        .configure(Config::new().value_cache_bytes(0))
        .build()
        .unwrap_or_else(|e| panic!("{}: {e}", p.name));
    Arc::new(built)
}

#[test]
fn catastrophic_patterns_run_in_linear_time() {
    let report = std::env::var_os("RAMPART_REDOS_REPORT").is_some();
    let mut failures = Vec::new();
    for p in PATTERNS {
        let rs = compile(p);
        // The attack really reaches the regex: the 16 KiB attack with the
        // pattern's matching ending would be caught; here we only check that
        // evaluation runs and measure it.
        let times: Vec<Duration> = SIZES.iter().map(|&n| time_one(&rs, &p.attack(n))).collect();
        let ratio = |a: usize, b: usize| times[a].as_secs_f64() / times[b].as_secs_f64().max(1e-9);
        let (r4, r16, r64) = (ratio(1, 0), ratio(2, 1), ratio(3, 2));
        if report {
            eprintln!(
                "{:<22} 1K {:>9.1?} 4K {:>9.1?} 16K {:>9.1?} 64K {:>9.1?}   x{:.2} x{:.2} x{:.2}",
                p.name, times[0], times[1], times[2], times[3], r4, r16, r64
            );
        }
        // Absolute sanity: 64 KiB through one regex never takes a second.
        if r64 >= MAX_RATIO || times[3] > Duration::from_secs(1) {
            // Up to three more tries: on a busy machine a measurement can be
            // spoilt (cache effects around 64 KiB, a noisy neighbour), but
            // super-linear growth shows every time.
            let mut worst = Vec::new();
            let ok = (0..3).any(|_| {
                let t16 = time_one(&rs, &p.attack(SIZES[2]));
                let t64 = time_one(&rs, &p.attack(SIZES[3]));
                let again = t64.as_secs_f64() / t16.as_secs_f64().max(1e-9);
                worst.push(format!("{again:.2} ({t16:?} -> {t64:?})"));
                again < MAX_RATIO && t64 <= Duration::from_secs(1)
            });
            if !ok {
                failures.push(format!("{}: time(64K)/time(16K) = {}", p.name, worst.join(", ")));
            }
        }
    }
    assert!(failures.is_empty(), "super-linear growth:\n{}", failures.join("\n"));
}

#[test]
fn attacks_still_match_when_they_should() {
    // Linear time does not come from giving up: a pattern whose attack ends
    // the way the pattern wants still matches at 64 KiB.
    let cases: &[(&str, &str, &str)] =
        &[(r"(a+)+$", "a", ""), (r"(a|a)*b", "a", "b"), (r"^(\w+\s?)*$", "word ", "end"), (r"(x+x+)+y", "x", "y")];
    for (pattern, unit, tail) in cases {
        let p = Redos { name: "match", pattern, unit, tail };
        let rs = compile(&p);
        let mut scratch = rs.create_scratch();
        let mut tx = Transaction::new(rs.clone());
        tx.set_request("POST", "/", "HTTP/1.1");
        tx.append_body(p.attack(64 << 10));
        let started = Instant::now();
        let v = tx.evaluate(Phase::RequestBody, &mut scratch);
        assert!(v.would_block(), "{pattern} should match its 64 KiB input");
        assert!(started.elapsed() < Duration::from_secs(2), "{pattern}: {:?}", started.elapsed());
    }
}

#[test]
fn patterns_that_need_backtracking_are_refused_at_compile_time() {
    for pattern in [r"(a*)\1", r"(?=a)a", r"(?!a)b", r"(?<=a)b", r"(?<!a)b", r"(?P<x>a)(?P=x)", r"(?>a+)b"] {
        let rule = format!("rule 1 {{ severity critical inspect args match regex `{pattern}` }}");
        let err = match Ruleset::from_rules(&rule) {
            Ok(_) => panic!("`{pattern}` needs backtracking but compiled"),
            Err(e) => e,
        };
        let first = err.first().expect("an error");
        assert_eq!(first.line(), 1, "{pattern}: {}", first.short());
        assert!(first.column() >= 52, "{pattern}: the error points at the regex: {}", first.short());
    }
}
