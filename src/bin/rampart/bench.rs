//! `rampart bench`: evaluates corpora repeatedly on one thread and reports
//! latency, throughput, allocations per request, peak memory and compile time.
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use rampart::{Phase, Scratch, Transaction};
use serde::Serialize;

use crate::corpus::{self, Record};
use crate::{RulesetArgs, alloc};

#[derive(Serialize)]
struct Report {
    corpora: Vec<String>,
    requests: usize,
    repeat: usize,
    warmup: usize,
    rules: usize,
    paranoia: u8,
    median_us: f64,
    p90_us: f64,
    p99_us: f64,
    mean_us: f64,
    best_of_k_median_us: f64,
    requests_per_s: f64,
    mb_per_s: f64,
    allocations_per_request: f64,
    peak_rss_bytes: u64,
    compile_ms: f64,
    /// Share of scanned values the value cache answered (0 with `--cold`).
    value_cache_hit_rate: f64,
    cold: bool,
}

fn request_bytes(r: &Record) -> usize {
    r.method.len()
        + r.uri.len()
        + r.protocol().len()
        + r.header_list.iter().map(|(n, v)| n.len() + v.len()).sum::<usize>()
        + r.body_bytes.len()
}

/// Feeds and evaluates one request, as a host does (headers, then body).
fn evaluate(tx: &mut Transaction, scratch: &mut Scratch, r: &Record) -> bool {
    tx.reset();
    tx.set_client("127.0.0.1");
    tx.set_request(&r.method, &r.uri, r.protocol());
    for (name, value) in &r.header_list {
        tx.add_header(name, value);
    }
    let v = tx.evaluate(Phase::RequestHeaders, scratch);
    if v.would_block() {
        return true;
    }
    tx.append_body(&r.body_bytes);
    tx.evaluate(Phase::RequestBody, scratch).would_block()
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

pub fn run(mut args: impl Iterator<Item = String>) -> Result<ExitCode> {
    let mut opts = RulesetArgs::default();
    let mut json = false;
    let mut cold = false;
    let mut repeat = 5usize;
    let mut warmup = 1usize;
    let mut corpora = Vec::new();
    while let Some(arg) = args.next() {
        if opts.take(&arg, &mut args)? {
            continue;
        }
        match arg.as_str() {
            "--json" => json = true,
            "--cold" => cold = true,
            "--repeat" => repeat = args.next().context("--repeat needs a number")?.parse().context("--repeat")?,
            "--warmup" => warmup = args.next().context("--warmup needs a number")?.parse().context("--warmup")?,
            "--rules" => opts.files.push(args.next().context("--rules needs a file")?.into()),
            a if a.starts_with('-') => bail!("unknown option `{a}` for bench"),
            _ => corpora.push(arg),
        }
    }
    if corpora.is_empty() {
        bail!("bench needs at least one corpus file (JSON lines)");
    }
    if repeat == 0 {
        bail!("--repeat must be at least 1");
    }
    let mut records = Vec::new();
    for c in &corpora {
        records.extend(corpus::read(c)?);
    }
    if records.is_empty() {
        bail!("the corpus files hold no requests");
    }
    let started = Instant::now();
    let ruleset = match opts.build() {
        Ok(r) => Arc::new(r),
        Err(code) => return Ok(code),
    };
    let compile_ms = started.elapsed().as_secs_f64() * 1e3;
    let mut scratch = ruleset.create_scratch();
    let mut tx = Transaction::new(ruleset.clone());
    // Each pass starts with an empty value cache, so a pass gains only from
    // values repeating within it (as in live traffic), never from an earlier
    // pass over the same requests; `--cold` empties it before every request.
    for _ in 0..warmup {
        scratch.clear_value_cache();
        for r in &records {
            if cold {
                scratch.clear_value_cache();
            }
            evaluate(&mut tx, &mut scratch, r);
        }
    }
    // samples[pass][request] in microseconds.
    let mut samples = vec![vec![0f64; records.len()]; repeat];
    let total_bytes: usize = records.iter().map(request_bytes).sum();
    alloc::start();
    let all = Instant::now();
    let (mut cached, mut scanned) = (0u64, 0u64);
    for pass in samples.iter_mut() {
        scratch.clear_value_cache();
        for (slot, r) in pass.iter_mut().zip(&records) {
            if cold {
                scratch.clear_value_cache();
            }
            let t = Instant::now();
            std::hint::black_box(evaluate(&mut tx, &mut scratch, r));
            *slot = t.elapsed().as_secs_f64() * 1e6;
            let stats = tx.stats();
            cached += stats.values_cached;
            scanned += stats.values_inspected;
        }
    }
    let elapsed = all.elapsed().as_secs_f64();
    let allocations = alloc::stop();
    let mut flat: Vec<f64> = samples.iter().flatten().copied().collect();
    flat.sort_by(f64::total_cmp);
    let pick = |sorted: &[f64], q: f64| {
        let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1]
    };
    let mut best: Vec<f64> =
        (0..records.len()).map(|i| samples.iter().map(|p| p[i]).fold(f64::INFINITY, f64::min)).collect();
    best.sort_by(f64::total_cmp);
    let n = flat.len() as f64;
    let report = Report {
        corpora: corpora.clone(),
        requests: records.len(),
        repeat,
        warmup,
        rules: ruleset.rule_count(),
        paranoia: ruleset.config().get_paranoia(),
        median_us: round(pick(&flat, 0.5)),
        p90_us: round(pick(&flat, 0.9)),
        p99_us: round(pick(&flat, 0.99)),
        mean_us: round(flat.iter().sum::<f64>() / n),
        best_of_k_median_us: round(pick(&best, 0.5)),
        requests_per_s: round(n / elapsed),
        mb_per_s: round(total_bytes as f64 * repeat as f64 / elapsed / 1e6),
        allocations_per_request: round(allocations as f64 / n),
        peak_rss_bytes: alloc::peak_rss_bytes(),
        compile_ms: round(compile_ms),
        value_cache_hit_rate: round(cached as f64 / (cached + scanned).max(1) as f64),
        cold,
    };
    crate::out!(
        "{} requests x {} passes ({} warm-up), {} rules at paranoia {}",
        report.requests,
        repeat,
        warmup,
        report.rules,
        report.paranoia
    );
    crate::out!(
        "  median {:.2} µs, p90 {:.2} µs, p99 {:.2} µs, mean {:.2} µs, best-of-{} median {:.2} µs",
        report.median_us,
        report.p90_us,
        report.p99_us,
        report.mean_us,
        repeat,
        report.best_of_k_median_us
    );
    crate::out!(
        "  {:.0} requests/s, {:.1} MB/s of request bytes, {} allocations per request, peak RSS {:.1} MiB, compile {:.1} ms",
        report.requests_per_s,
        report.mb_per_s,
        report.allocations_per_request,
        report.peak_rss_bytes as f64 / (1 << 20) as f64,
        report.compile_ms
    );
    crate::out!(
        "  value cache: {}",
        if cold {
            "emptied before every request (--cold)".to_owned()
        } else {
            format!("{:.1} % of values answered (emptied before every pass)", report.value_cache_hit_rate * 100.0)
        }
    );
    if json {
        crate::out!("{}", serde_json::to_string(&report)?);
    }
    Ok(ExitCode::SUCCESS)
}
