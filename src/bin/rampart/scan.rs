//! `rampart scan`: evaluates labelled requests and reports detection and
//! false-positive rates.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use rampart::{Phase, Transaction};
use serde::Serialize;

use crate::RulesetArgs;
use crate::corpus::{self, Record};

#[derive(Default, Serialize, Clone)]
struct ClassCounts {
    requests: u64,
    blocked: u64,
    attacks: u64,
    detected: u64,
    benign: u64,
    false_positives: u64,
}

impl ClassCounts {
    fn add(&mut self, r: &Record, blocked: bool) {
        self.requests += 1;
        self.blocked += u64::from(blocked);
        if r.is_attack() {
            self.attacks += 1;
            self.detected += u64::from(blocked);
        } else if r.is_benign() {
            self.benign += 1;
            self.false_positives += u64::from(blocked);
        }
    }
}

#[derive(Serialize)]
struct Summary {
    corpus: String,
    requests: u64,
    attacks: u64,
    benign: u64,
    detected: u64,
    false_positives: u64,
    detection_rate: f64,
    false_positive_rate: f64,
    median_us: f64,
    p99_us: f64,
    mean_us: f64,
    rules: usize,
    paranoia: u8,
    mode: &'static str,
    by_class: BTreeMap<String, ClassCounts>,
    /// Mean work per request (the engine's counters).
    work_per_request: Work,
}

/// Work counters summed over requests.
#[derive(Default, Serialize, Clone, Copy)]
struct Work {
    values_inspected: f64,
    pipeline_runs: f64,
    automaton_passes: f64,
    regex_confirmations: f64,
    direct_checks: f64,
    transform_steps: f64,
    literal_hits: f64,
}

impl Work {
    fn add(&mut self, s: rampart::Stats) {
        self.values_inspected += s.values_inspected as f64;
        self.pipeline_runs += s.pipeline_runs as f64;
        self.automaton_passes += s.automaton_passes as f64;
        self.regex_confirmations += s.regex_confirmations as f64;
        self.direct_checks += s.direct_checks as f64;
        self.transform_steps += s.transform_steps as f64;
        self.literal_hits += s.literal_hits as f64;
    }

    fn per(self, n: usize) -> Work {
        let d = n.max(1) as f64;
        let r = |x: f64| round(x / d);
        Work {
            values_inspected: r(self.values_inspected),
            pipeline_runs: r(self.pipeline_runs),
            automaton_passes: r(self.automaton_passes),
            regex_confirmations: r(self.regex_confirmations),
            direct_checks: r(self.direct_checks),
            transform_steps: r(self.transform_steps),
            literal_hits: r(self.literal_hits),
        }
    }
}

#[derive(Serialize)]
struct Line<'a> {
    id: &'a str,
    label: Option<&'a str>,
    class: &'a str,
    blocked: bool,
    status: u16,
    score: u32,
    matched_rules: &'a [u32],
    micros: f64,
    /// For rule tests (records with expect_rules or no_expect_rules): every
    /// expected rule matched and no unexpected one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    expect_ok: Option<bool>,
}

struct Tally {
    classes: BTreeMap<String, ClassCounts>,
    micros: Vec<f64>,
    work: Work,
}

impl Tally {
    fn new() -> Tally {
        Tally { classes: BTreeMap::new(), micros: Vec::new(), work: Work::default() }
    }

    fn summary(&self, corpus: &str, rules: usize, paranoia: u8, mode: &'static str) -> Summary {
        let total = self.classes.values().fold(ClassCounts::default(), |mut acc, c| {
            acc.requests += c.requests;
            acc.attacks += c.attacks;
            acc.detected += c.detected;
            acc.benign += c.benign;
            acc.false_positives += c.false_positives;
            acc
        });
        let mut sorted = self.micros.clone();
        sorted.sort_by(f64::total_cmp);
        let pick = |q: f64| {
            if sorted.is_empty() {
                0.0
            } else {
                let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
                sorted[rank - 1]
            }
        };
        let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        Summary {
            corpus: corpus.to_owned(),
            requests: total.requests,
            attacks: total.attacks,
            benign: total.benign,
            detected: total.detected,
            false_positives: total.false_positives,
            detection_rate: ratio(total.detected, total.attacks),
            false_positive_rate: ratio(total.false_positives, total.benign),
            median_us: round(pick(0.5)),
            p99_us: round(pick(0.99)),
            mean_us: round(if sorted.is_empty() { 0.0 } else { sorted.iter().sum::<f64>() / sorted.len() as f64 }),
            rules,
            paranoia,
            mode,
            by_class: self.classes.clone(),
            work_per_request: self.work.per(self.micros.len()),
        }
    }
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn print_table(s: &Summary) -> Result<()> {
    crate::out!("{}: {} requests", s.corpus, s.requests);
    crate::out!(
        "  {:<10} {:>8} {:>8} {:>9} {:>8} {:>8} {:>9}",
        "class",
        "requests",
        "attacks",
        "detected",
        "rate",
        "benign",
        "blocked"
    );
    for (class, c) in &s.by_class {
        let rate = if c.attacks > 0 {
            format!("{:.1}%", 100.0 * c.detected as f64 / c.attacks as f64)
        } else {
            "-".to_owned()
        };
        crate::out!(
            "  {:<10} {:>8} {:>8} {:>9} {:>8} {:>8} {:>9}",
            class,
            c.requests,
            c.attacks,
            c.detected,
            rate,
            c.benign,
            c.false_positives
        );
    }
    crate::out!(
        "  detection {:.2}% ({}/{}), false positives {:.2}% ({}/{}), median {:.1} µs, p99 {:.1} µs, mean {:.1} µs",
        100.0 * s.detection_rate,
        s.detected,
        s.attacks,
        100.0 * s.false_positive_rate,
        s.false_positives,
        s.benign,
        s.median_us,
        s.p99_us,
        s.mean_us
    );
    let w = s.work_per_request;
    crate::out!(
        "  per request: {} values inspected, {} transform steps, {} pipeline runs, {} automaton passes, {} literal hits, {} regex confirmations, {} direct checks",
        w.values_inspected,
        w.transform_steps,
        w.pipeline_runs,
        w.automaton_passes,
        w.literal_hits,
        w.regex_confirmations,
        w.direct_checks
    );
    Ok(())
}

pub fn run(mut args: impl Iterator<Item = String>) -> Result<ExitCode> {
    let mut opts = RulesetArgs::default();
    let mut out_path: Option<String> = None;
    let mut audit_path: Option<String> = None;
    let mut json = false;
    let mut corpora = Vec::new();
    while let Some(arg) = args.next() {
        if opts.take(&arg, &mut args)? {
            continue;
        }
        match arg.as_str() {
            "--out" | "-o" => out_path = Some(args.next().context("--out needs a file")?),
            "--json" => json = true,
            "--audit" => audit_path = Some(args.next().context("--audit needs a file")?),
            "--rules" => opts.files.push(args.next().context("--rules needs a file")?.into()),
            a if a.starts_with('-') => bail!("unknown option `{a}` for scan"),
            _ => corpora.push(arg),
        }
    }
    if corpora.is_empty() {
        bail!("scan needs at least one corpus file (JSON lines)");
    }
    let ruleset = match opts.build() {
        Ok(r) => Arc::new(r),
        Err(code) => return Ok(code),
    };
    let paranoia = ruleset.config().get_paranoia();
    let mode = ruleset.config().get_mode().name();
    let mut out = match &out_path {
        Some(p) => {
            Some(std::io::BufWriter::new(std::fs::File::create(p).with_context(|| format!("cannot create {p}"))?))
        }
        None => None,
    };
    let mut audit = match &audit_path {
        Some(p) => {
            Some(std::io::BufWriter::new(std::fs::File::create(p).with_context(|| format!("cannot create {p}"))?))
        }
        None => None,
    };
    let mut audit_line = Vec::new();
    let mut scratch = ruleset.create_scratch();
    let mut tx = Transaction::new(ruleset.clone());
    let mut all = Tally::new();
    let mut ids = Vec::new();
    let multiple = corpora.len() > 1;
    for path in &corpora {
        let records = corpus::read(path)?;
        let mut tally = Tally::new();
        for r in &records {
            let started = Instant::now();
            tx.reset();
            tx.set_request_id(&r.id);
            tx.set_client("127.0.0.1");
            tx.set_request(&r.method, &r.uri, r.protocol());
            for (name, value) in &r.header_list {
                tx.add_header(name, value);
            }
            let mut verdict = tx.evaluate(Phase::RequestHeaders, &mut scratch);
            if !verdict.would_block() {
                tx.append_body(&r.body_bytes);
                verdict = tx.evaluate(Phase::RequestBody, &mut scratch);
            }
            let micros = started.elapsed().as_secs_f64() * 1e6;
            let blocked = verdict.would_block();
            tally.classes.entry(r.class().to_owned()).or_default().add(r, blocked);
            all.classes.entry(r.class().to_owned()).or_default().add(r, blocked);
            tally.micros.push(micros);
            all.micros.push(micros);
            tally.work.add(tx.stats());
            all.work.add(tx.stats());
            if let Some(audit) = audit.as_mut()
                && verdict.match_count() > 0
            {
                audit_line.clear();
                tx.write_audit_json(&mut audit_line);
                audit.write_all(&audit_line)?;
            }
            if let Some(out) = out.as_mut() {
                ids.clear();
                ids.extend(tx.matches().map(|m| m.id()));
                ids.sort_unstable();
                let line = Line {
                    id: &r.id,
                    label: r.label.as_deref(),
                    class: r.class(),
                    blocked,
                    status: if blocked { verdict.status() } else { 0 },
                    score: verdict.score(),
                    matched_rules: &ids,
                    micros: round(micros),
                    expect_ok: (!r.expect_rules.is_empty() || !r.no_expect_rules.is_empty()).then(|| {
                        r.expect_rules.iter().all(|id| ids.contains(id))
                            && !r.no_expect_rules.iter().any(|id| ids.contains(id))
                    }),
                };
                serde_json::to_writer(&mut *out, &line)?;
                out.write_all(b"\n")?;
            }
        }
        if multiple {
            print_table(&tally.summary(path, ruleset.rule_count(), paranoia, mode))?;
        }
    }
    if let Some(mut out) = out {
        out.flush()?;
    }
    if let Some(mut audit) = audit {
        audit.flush()?;
    }
    let name = if multiple { "all".to_owned() } else { corpora[0].clone() };
    let summary = all.summary(&name, ruleset.rule_count(), paranoia, mode);
    print_table(&summary)?;
    if json {
        crate::out!("{}", serde_json::to_string(&summary)?);
    }
    Ok(ExitCode::SUCCESS)
}
