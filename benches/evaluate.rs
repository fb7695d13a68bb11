//! Per-request latency and throughput with the built-in rules.
//!
//! `cargo bench --bench evaluate` (reports land in target/criterion). Corpus
//! benches need ../shared/corpus and are skipped, with a note, without it.
//!
//! Criterion repeats the same requests, which the value cache would answer
//! after the first iteration; so every bench here runs with the cache off
//! (the cost of values never seen before), and the request shapes also run
//! with it on (`*_warm_cache`: every value seen before, the best case;
//! `get_new_query_values`: the GET with new query values each time). The
//! cache's effect on a corpus, where values repeat only as they do in the
//! corpus, is what `rampart bench` reports (it empties the cache per pass).

mod common;

use std::fmt::Write as _;
use std::sync::Arc;

use common::{Request, evaluate};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rampart::{Config, Ruleset, Transaction};

/// The default rules at `paranoia`, without the value cache.
fn ruleset(paranoia: u8) -> Arc<Ruleset> {
    ruleset_with(Config::new().paranoia(paranoia).value_cache_bytes(0))
}

fn ruleset_with(config: Config) -> Arc<Ruleset> {
    Arc::new(Ruleset::builder().default_rules().configure(config).build().expect("default rules compile"))
}

fn bench_requests(c: &mut Criterion, group: &str, name: &str, rs: &Arc<Ruleset>, requests: &[Request]) {
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(requests.len() as u64));
    let mut scratch = rs.create_scratch();
    let mut tx = Transaction::new(rs.clone());
    g.bench_function(name, |b| {
        b.iter(|| {
            let mut blocked = 0;
            for r in requests {
                blocked += usize::from(evaluate(&mut tx, &mut scratch, r));
            }
            blocked
        })
    });
    g.finish();
}

fn corpora(c: &mut Criterion) {
    for (file, limit) in [("benign-api.jsonl", 1000), ("gotestwaf.jsonl", 585), ("libinjection.jsonl", 1000)] {
        let Some(requests) = common::corpus(file, limit) else {
            eprintln!("skipped corpus benches: ../shared/corpus/{file} not found");
            return;
        };
        for paranoia in [1, 2] {
            let rs = ruleset(paranoia);
            bench_requests(c, "corpus_per_request", &format!("{file}/pl{paranoia}"), &rs, &requests);
        }
    }
}

fn shapes(c: &mut Criterion) {
    let rs = ruleset(1);
    let warm = ruleset_with(Config::new().paranoia(1));
    let noop = Arc::new(Ruleset::from_rules("").expect("the empty rule set compiles"));
    let get = common::benign_get();
    let form = common::form_post_1k();
    let mut g = c.benchmark_group("request_shape");
    for (name, r) in [("get_8_headers_5_args", &get), ("form_post_1k", &form)] {
        for (label, set) in [("default_rules", &rs), ("default_rules_warm_cache", &warm), ("no_op", &noop)] {
            let mut scratch = set.create_scratch();
            let mut tx = Transaction::new(set.clone());
            g.throughput(Throughput::Bytes(r.bytes() as u64));
            g.bench_with_input(BenchmarkId::new(name, label), r, |b, r| b.iter(|| evaluate(&mut tx, &mut scratch, r)));
        }
    }
    // Behind a server the engine does not run alone: between two requests
    // the kernel's network stack and the server's own work go through the
    // caches. `*_evicted` runs the warm-cache request after walking
    // `EVICT_BYTES` of other memory (not timed), as a host does: what the
    // engine's data costs when it is not in L1/L2.
    let mut evict = vec![0u64; EVICT_BYTES / 8];
    for (name, r) in [("get_8_headers_5_args", &get), ("form_post_1k", &form)] {
        for (label, set) in [("default_rules_warm_cache_evicted", &warm), ("no_op_evicted", &noop)] {
            let mut scratch = set.create_scratch();
            let mut tx = Transaction::new(set.clone());
            g.throughput(Throughput::Bytes(r.bytes() as u64));
            g.bench_with_input(BenchmarkId::new(name, label), r, |b, r| {
                b.iter_batched_ref(
                    || walk(&mut evict),
                    |_| evaluate(&mut tx, &mut scratch, r),
                    criterion::BatchSize::PerIteration,
                )
            });
        }
    }
    // The same GET with its query values new in every request (the load
    // script's `getvar` shape): the cache answers for the headers and the
    // path, the arguments and the target are scanned.
    let mut scratch = warm.create_scratch();
    let mut tx = Transaction::new(warm.clone());
    let mut r = common::benign_get();
    let mut n = 0u64;
    g.throughput(Throughput::Bytes(r.bytes() as u64));
    g.bench_function(BenchmarkId::new("get_new_query_values", "default_rules_cache_on"), |b| {
        b.iter(|| {
            n += 1;
            r.uri.clear();
            let _ =
                write!(r.uri, "/products/search?q=running+shoes+{n}&size=42&color=blue&sort=price_asc&page={}", n % 50);
            evaluate(&mut tx, &mut scratch, &r)
        })
    });
    g.finish();
}

/// Memory walked between two requests by the `*_evicted` benches: the
/// size of this machine kind's L2 cache.
const EVICT_BYTES: usize = 1 << 20;

/// Reads and writes every cache line of `memory`.
fn walk(memory: &mut [u64]) -> u64 {
    let mut sum = 0u64;
    for line in memory.chunks_exact_mut(8) {
        line[0] = line[0].wrapping_add(1);
        sum = sum.wrapping_add(line[0]);
    }
    std::hint::black_box(sum)
}

fn bodies(c: &mut Criterion) {
    // Limits raised so that every byte and value of the 1 MiB bodies is
    // inspected: with the defaults (1 MiB, 10,000 arguments) the engine stops
    // at the limit and rejects, which would measure the limit, not the scan.
    let rs = Arc::new(
        Ruleset::builder()
            .default_rules()
            .configure(Config::new().paranoia(1).max_body_bytes(4 << 20).max_args(1 << 20).value_cache_bytes(0))
            .build()
            .expect("default rules compile"),
    );
    let cases = [
        ("json_64k", common::post("/api/v1/orders", "application/json", common::json_body(64 << 10))),
        ("json_1m", common::post("/api/v1/orders", "application/json", common::json_body(1 << 20))),
        ("urlencoded_1m", common::post("/form", "application/x-www-form-urlencoded", common::urlencoded_body(1 << 20))),
    ];
    let mut g = c.benchmark_group("body_throughput");
    g.sample_size(20);
    for (name, r) in &cases {
        let mut scratch = rs.create_scratch();
        let mut tx = Transaction::new(rs.clone());
        g.throughput(Throughput::Bytes(r.bytes() as u64));
        g.bench_function(*name, |b| b.iter(|| evaluate(&mut tx, &mut scratch, r)));
    }
    g.finish();
}

criterion_group!(benches, shapes, bodies, corpora);
criterion_main!(benches);
