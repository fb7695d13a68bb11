//! ReDoS corpus (tests/redos/patterns.rs): each catastrophic-backtracking
//! pattern as a rule, evaluated on its attack input at 1, 4, 16 and 64 KiB.
//! Throughput (bytes/s) should stay flat across sizes: time grows linearly.
//! tests/redos.rs asserts the growth ratio; this bench shows the numbers.

#![forbid(unsafe_code)]

#[path = "../tests/redos/patterns.rs"]
mod patterns;

use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use patterns::{PATTERNS, SIZES};
use rampart::{Config, Phase, Ruleset, Transaction};

fn redos(c: &mut Criterion) {
    let mut g = c.benchmark_group("redos");
    g.sample_size(10);
    g.warm_up_time(std::time::Duration::from_millis(300));
    g.measurement_time(std::time::Duration::from_secs(1));
    for p in PATTERNS {
        let rs = Arc::new(
            Ruleset::builder()
                .source("redos.rules", p.rule())
                // Criterion repeats the bodies: measure scans, not the value cache.
                .configure(Config::new().value_cache_bytes(0))
                .build()
                .expect("the ReDoS corpus compiles"),
        );
        let mut scratch = rs.create_scratch();
        let mut tx = Transaction::new(rs.clone());
        for &n in &SIZES {
            let body = p.attack(n);
            g.throughput(Throughput::Bytes(body.len() as u64));
            g.bench_with_input(BenchmarkId::new(p.name, n), &body, |b, body| {
                b.iter(|| {
                    tx.reset();
                    tx.set_request("POST", "/", "HTTP/1.1");
                    tx.add_header("Content-Type", "text/plain");
                    tx.append_body(body);
                    tx.evaluate(Phase::RequestBody, &mut scratch)
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, redos);
criterion_main!(benches);
