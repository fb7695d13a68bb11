//! `rampart ftw`: runs the OWASP CRS regression tests (converted to the
//! corpus format, see ../shared/corpus/README.md) against CRS loaded through
//! the SecLang front end, with CRS CI's settings, and reports pass rates.
//!
//! A test passes when every rule in `expect_rules` fired and none in
//! `no_expect_rules` did. Tests without expectations (the "the server answers
//! 400" protocol tests, and 999999's "no rule at all") are not counted;
//! response-phase tests (an expected rule >= 950000, or a test from a
//! `RESPONSE-*` file) are skipped, since rampart inspects requests only. The
//! official per-engine overrides (`test-overrides/nginx-overrides.yaml`, the
//! libmodsecurity 3 + nginx deviations CRS CI accepts) are applied for a
//! second count: overridden expectations replace the test's, and overrides
//! that only expect an nginx status are left out.
#![forbid(unsafe_code)]

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use rampart::{Mode, Phase, Scratch, Transaction};
use serde::Serialize;

use crate::RulesetArgs;
use crate::corpus::{self, Record};

/// CRS CI's settings (tests/regression in the CRS repository), set the way
/// modsec-runner sets its own: a SecAction before crs-setup.conf.
pub const CI_SETTINGS: &str = "SecAction \"id:4294960010,phase:1,pass,nolog,\
setvar:tx.blocking_paranoia_level=4,setvar:tx.detection_paranoia_level=4,\
setvar:tx.arg_length=400,setvar:tx.max_file_size=64100,setvar:tx.combined_file_sizes=65535,\
setvar:tx.crs_validate_utf8_encoding=1\"\n";

/// What an override says about one test.
#[derive(Debug, Default, Clone)]
struct Override {
    status_only: bool,
    expect: Option<Vec<u32>>,
    no_expect: Option<Vec<u32>>,
}

/// Reads the overrides YAML (the small subset CRS uses).
fn read_overrides(path: &std::path::Path) -> Result<HashMap<String, Override>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut out = HashMap::new();
    let mut rule: Option<u32> = None;
    let mut tests: Vec<u32> = Vec::new();
    let mut cur = Override::default();
    let mut has_log = false;
    let list = |v: &str| -> Vec<u32> {
        v.trim()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .split(',')
            .filter_map(|x| x.trim().parse().ok())
            .collect()
    };
    let mut flush = |rule: Option<u32>, tests: &[u32], cur: &Override, has_log: bool| {
        if let Some(r) = rule {
            let mut o = cur.clone();
            o.status_only = !has_log;
            for t in tests {
                out.insert(format!("crs-{r}-{t}"), o.clone());
            }
        }
    };
    for line in text.lines() {
        let t = line.trim();
        if let Some(v) = t.strip_prefix("- rule_id:") {
            flush(rule, &tests, &cur, has_log);
            rule = v.trim().parse().ok();
            tests.clear();
            cur = Override::default();
            has_log = false;
        } else if let Some(v) = t.strip_prefix("test_ids:") {
            tests = list(v);
        } else if t == "log:" {
            has_log = true;
        } else if let Some(v) = t.strip_prefix("expect_ids:") {
            cur.expect = Some(list(v));
        } else if let Some(v) = t.strip_prefix("no_expect_ids:") {
            cur.no_expect = Some(list(v));
        }
    }
    flush(rule, &tests, &cur, has_log);
    Ok(out)
}

#[derive(Serialize, Default, Clone)]
struct Family {
    total: usize,
    passed: usize,
    pass_rate: f64,
}

#[derive(Serialize)]
struct Summary {
    total: usize,
    passed: usize,
    pass_rate: f64,
    by_family: BTreeMap<String, Family>,
    with_nginx_overrides: Family,
    skipped_response: usize,
    skipped_no_expectation: usize,
    failing: Vec<String>,
    failing_with_nginx_overrides: Vec<String>,
    rules: usize,
    paranoia: u8,
}

fn family(id: &str) -> String {
    id.strip_prefix("crs-").and_then(|r| r.get(..3)).unwrap_or("other").to_owned()
}

/// Feeds and evaluates one request; the ids of the rules that fired.
fn fired(tx: &mut Transaction, scratch: &mut Scratch, r: &Record) -> Vec<u32> {
    tx.reset();
    tx.set_client("127.0.0.1");
    // A request line without a version is HTTP/0.9, as a server reports it
    // (and as modsec-runner hands it to libmodsecurity).
    let protocol = if r.protocol().is_empty() { "HTTP/0.9" } else { r.protocol() };
    tx.set_request(&r.method, &r.uri, protocol);
    for (name, value) in &r.header_list {
        tx.add_header(name, value);
    }
    tx.evaluate(Phase::RequestHeaders, scratch);
    // A request with neither Content-Length nor Transfer-Encoding has no
    // body (RFC 9112, section 6.3): the server behind the test reads none,
    // so the WAF sees none; bytes sent after the headers are not this
    // request's body.
    let framed = r
        .header_list
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-length") || n.eq_ignore_ascii_case("transfer-encoding"));
    if framed {
        tx.append_body(&r.body_bytes);
    }
    tx.evaluate(Phase::RequestBody, scratch);
    let mut ids: Vec<u32> = tx.matches().map(|m| m.id()).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

pub fn run(mut args: impl Iterator<Item = String>) -> Result<ExitCode> {
    let mut opts = RulesetArgs::default();
    let mut json = false;
    let mut verbose = false;
    let mut out_path: Option<PathBuf> = None;
    let mut overrides_path: Option<PathBuf> = None;
    let mut files = Vec::new();
    let mut only: Option<String> = None;
    let mut verify = false;
    while let Some(arg) = args.next() {
        if opts.take(&arg, &mut args)? {
            continue;
        }
        match arg.as_str() {
            "--json" => json = true,
            "--verbose" | "-v" => verbose = true,
            "--out" => out_path = Some(args.next().context("--out needs a file")?.into()),
            "--overrides" => overrides_path = Some(args.next().context("--overrides needs a file")?.into()),
            "--verify-prefilter" => verify = true,
            "--only" => only = Some(args.next().context("--only needs a test id prefix")?),
            a if a.starts_with('-') => bail!("unknown option `{a}` for ftw"),
            _ => files.push(arg),
        }
    }
    let Some(crs) = opts.crs.clone() else { bail!("ftw needs --crs DIR (a CRS v4 folder with rules/)") };
    if files.is_empty() {
        bail!("ftw needs a test file (JSON lines), such as ../shared/corpus/crs-v4-tests.jsonl");
    }
    opts.seclang_settings.push(("<crs ci settings>".to_owned(), CI_SETTINGS.to_owned()));
    if opts.mode.is_none() {
        opts.mode = Some(Mode::Detect);
    }
    let ruleset = match opts.build() {
        Ok(r) => Arc::new(r),
        Err(code) => return Ok(code),
    };
    let overrides = match overrides_path.or_else(|| {
        let p = crs.join("test-overrides").join("nginx-overrides.yaml");
        p.exists().then_some(p)
    }) {
        Some(p) => read_overrides(&p)?,
        None => HashMap::new(),
    };
    let mut records = Vec::new();
    for f in &files {
        records.extend(corpus::read(f)?);
    }
    let mut scratch = ruleset.create_scratch();
    let mut tx = Transaction::new(ruleset.clone());
    if verify {
        rampart::seclang_verify_prefilter(true);
    }
    let mut by_family: BTreeMap<String, Family> = BTreeMap::new();
    let mut with_overrides = Family::default();
    let (mut total, mut passed, mut skipped_response, mut skipped_none) = (0, 0, 0, 0);
    let mut failing = Vec::new();
    let mut failing_overridden = Vec::new();
    let mut out_lines = String::new();
    for r in &records {
        if only.as_ref().is_some_and(|p| !r.id.starts_with(p.as_str())) {
            continue;
        }
        let response = r.expect_rules.iter().any(|&id| id >= 950_000)
            || r.source.as_deref().is_some_and(|s| s.contains("/RESPONSE-"));
        if response {
            skipped_response += 1;
            continue;
        }
        if r.expect_rules.is_empty() && r.no_expect_rules.is_empty() {
            if verify {
                fired(&mut tx, &mut scratch, r);
            }
            skipped_none += 1;
            continue;
        }
        let ids = fired(&mut tx, &mut scratch, r);
        let check = |expect: &[u32], no_expect: &[u32]| {
            expect.iter().all(|e| ids.contains(e)) && !no_expect.iter().any(|e| ids.contains(e))
        };
        let ok = check(&r.expect_rules, &r.no_expect_rules);
        total += 1;
        let fam = by_family.entry(family(&r.id)).or_default();
        fam.total += 1;
        if ok {
            passed += 1;
            fam.passed += 1;
        } else {
            failing.push(r.id.clone());
            if verbose {
                let missing: Vec<u32> = r.expect_rules.iter().copied().filter(|e| !ids.contains(e)).collect();
                let unexpected: Vec<u32> = r.no_expect_rules.iter().copied().filter(|e| ids.contains(e)).collect();
                eprintln!("FAIL {}: missing {missing:?}, unexpected {unexpected:?}, fired {ids:?}", r.id);
            }
        }
        match overrides.get(&r.id) {
            Some(o) if o.status_only => {}
            Some(o) => {
                let expect = o.expect.clone().unwrap_or_default();
                let no_expect = o.no_expect.clone().unwrap_or_default();
                let ok = check(&expect, &no_expect);
                with_overrides.total += 1;
                with_overrides.passed += usize::from(ok);
                if !ok {
                    failing_overridden.push(r.id.clone());
                }
            }
            None => {
                with_overrides.total += 1;
                with_overrides.passed += usize::from(ok);
                if !ok {
                    failing_overridden.push(r.id.clone());
                }
            }
        }
        if out_path.is_some() {
            out_lines.push_str(&serde_json::to_string(&serde_json::json!({
                "id": r.id, "matched_rules": ids, "expect_ok": ok,
            }))?);
            out_lines.push('\n');
        }
    }
    if let Some(p) = &out_path {
        std::fs::write(p, out_lines).with_context(|| format!("cannot write {}", p.display()))?;
    }
    let rate = |p: usize, t: usize| if t == 0 { 0.0 } else { (p as f64 / t as f64 * 10000.0).round() / 10000.0 };
    for f in by_family.values_mut() {
        f.pass_rate = rate(f.passed, f.total);
    }
    with_overrides.pass_rate = rate(with_overrides.passed, with_overrides.total);
    let summary = Summary {
        total,
        passed,
        pass_rate: rate(passed, total),
        by_family,
        with_nginx_overrides: with_overrides,
        skipped_response,
        skipped_no_expectation: skipped_none,
        failing,
        failing_with_nginx_overrides: failing_overridden,
        rules: ruleset.rule_count(),
        paranoia: 4,
    };
    crate::out!(
        "CRS regression tests: {} of {} passed ({:.2}%); with the nginx overrides {} of {} ({:.2}%)",
        summary.passed,
        summary.total,
        summary.pass_rate * 100.0,
        summary.with_nginx_overrides.passed,
        summary.with_nginx_overrides.total,
        summary.with_nginx_overrides.pass_rate * 100.0
    );
    crate::out!(
        "skipped: {} response-phase tests (rampart inspects requests), {} tests without rule expectations",
        summary.skipped_response,
        summary.skipped_no_expectation
    );
    crate::out!("per family:");
    for (name, f) in &summary.by_family {
        crate::out!("  {name}  {:>5} / {:<5} {:>7.2}%", f.passed, f.total, f.pass_rate * 100.0);
    }
    if !summary.failing.is_empty() {
        crate::out!("failing ({}): {}", summary.failing.len(), summary.failing.join(" "));
    }
    if !summary.failing_with_nginx_overrides.is_empty() {
        crate::out!(
            "failing with the nginx overrides ({}): {}",
            summary.failing_with_nginx_overrides.len(),
            summary.failing_with_nginx_overrides.join(" ")
        );
    }
    if verify {
        let misses = rampart::seclang_verify_prefilter(false);
        crate::out!("prefilter verification: {misses} misses");
        if misses > 0 {
            return Ok(ExitCode::from(1));
        }
    }
    if json {
        crate::out!("{}", serde_json::to_string(&summary)?);
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_are_the_first_three_digits() {
        assert_eq!(family("crs-942100-1"), "942");
        assert_eq!(family("crs-920100-4-s2"), "920");
        assert_eq!(family("x"), "other");
    }
}
