//! Rule-count scaling: 100, 1,000 and 10,000 generated rules of realistic
//! shapes (regexes with literals, regexes without, phrase lists, literal
//! operators) over the same requests. Cost per request should grow far more
//! slowly than the rule count.

mod common;

use std::fmt::Write as _;
use std::sync::Arc;

use common::{Rng, evaluate};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rampart::{Config, Ruleset, Transaction};

const FIELDS: &[&str] =
    &["args", "args, args.names", "args, headers[\"user-agent\", \"referer\"]", "args, cookies", "headers"];
const PIPELINES: &[&str] =
    &["url_decode_uni, lowercase", "url_decode_uni, html_entity_decode, lowercase", "lowercase", "url_decode_uni"];
const WORDS: &[&str] =
    &["select", "union", "script", "iframe", "passwd", "system", "exec", "eval", "onload", "cmd", "shell", "admin"];

/// `n` rules, deterministic.
pub fn generated_rules(n: usize) -> String {
    let mut rng = Rng::new(42);
    let mut out = String::new();
    for i in 0..n {
        let id = 1_000_000 + i;
        let fields = rng.pick(FIELDS);
        let pipeline = rng.pick(PIPELINES);
        let (a, b) = (rng.pick(WORDS), rng.pick(WORDS));
        let k = rng.next_u64() % 1000;
        let op = match rng.next_u64() % 5 {
            0 => format!("regex `{a}{k}\\s*[=(]\\s*\\w+`"),
            1 => format!("regex `(?i)\\b{a}\\s+{b}{k}\\b`"),
            2 => format!("regex `^[a-z]{{{}}}[0-9]{{{}}}$`", 3 + k % 5, 1 + k % 3),
            3 => format!("phrases [\"{a}-{k}\", \"{b}_{k}\", \"{a}{b}{k}\"]"),
            _ => format!("contains \"{a}/{k}\""),
        };
        let _ = writeln!(
            out,
            "rule {id} \"generated {i}\" {{\n    severity  critical\n    inspect   {fields}\n    transform {pipeline}\n    match     {op}\n}}"
        );
    }
    out
}

fn scaling(c: &mut Criterion) {
    let requests = [
        common::benign_get(),
        common::form_post_1k(),
        common::post("/api", "application/json", common::json_body(2048)),
    ];
    let total: usize = requests.iter().map(common::Request::bytes).sum();
    let mut g = c.benchmark_group("rule_count_scaling");
    for n in [100, 1_000, 10_000] {
        let rs = Arc::new(
            Ruleset::builder()
                .source("generated.rules", generated_rules(n))
                // Criterion repeats the requests: measure scans, not the value cache.
                .configure(Config::new().value_cache_bytes(0))
                .build()
                .expect("generated rules compile"),
        );
        let mut scratch = rs.create_scratch();
        let mut tx = Transaction::new(rs.clone());
        g.throughput(Throughput::Bytes(total as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &requests, |b, reqs| {
            b.iter(|| reqs.iter().map(|r| usize::from(evaluate(&mut tx, &mut scratch, r))).sum::<usize>())
        });
    }
    g.finish();
}

criterion_group!(benches, scaling);
criterion_main!(benches);
