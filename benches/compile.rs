//! Compile time of the built-in rule set (target: under 200 ms).

use criterion::{Criterion, criterion_group, criterion_main};
use rampart::Ruleset;

fn compile(c: &mut Criterion) {
    let mut g = c.benchmark_group("compile");
    g.sample_size(20);
    g.bench_function("default_rules", |b| b.iter(|| Ruleset::default_rules().expect("default rules compile")));
    g.finish();
}

criterion_group!(benches, compile);
criterion_main!(benches);
