//! `rampart test`: runs rule tests written as data (rules/tests/*.toml) and
//! reports, per rule, whether each request matched it or not as expected.
//!
//! A test file is a list of `[[test]]` tables:
//!
//! ```toml
//! [[test]]
//! rule = 942110                      # the rule under test
//! name = "union select in a query"   # unique per rule
//! expect = "match"                   # or "no_match"
//! request = { method = "GET", uri = "/item?id=1%20union%20select%201" }
//! ```
//!
//! `request` keys, all optional: `method` (GET), `uri` (/), `protocol`
//! (HTTP/1.1), `headers` (a list of `[name, value]` pairs; a `Host` header is
//! added first unless the list has one or `host = false`), `body` (text) or
//! `body_b64` (base64, for bytes that are not UTF-8), `client` (127.0.0.1).
//! `field` (optional, with `expect = "match"`) names the field the rule must
//! report, as in audit events (`args["q"]`, `headers["User-Agent"]`, `path`).
//!
//! The rule set is compiled at paranoia 4 (every rule, unless `--paranoia`
//! says otherwise) with an anomaly threshold no score reaches, in detect
//! mode, so both phases are always evaluated and a test sees every rule that
//! matches, whatever else matched before it.
//!
//! Every rule of the rule set needs at least one test that must match it and
//! one near-miss that must not; a rule without either is a failure.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use rampart::{Config, Mode, Phase, Ruleset, Transaction};
use serde::Deserialize;

/// One test file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestFile {
    #[serde(default)]
    test: Vec<Test>,
}

/// One request and what it must do to one rule.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Test {
    rule: u32,
    name: String,
    expect: Expect,
    #[serde(default)]
    request: Request,
    field: Option<String>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Expect {
    Match,
    NoMatch,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Request {
    method: Option<String>,
    uri: Option<String>,
    protocol: Option<String>,
    #[serde(default)]
    headers: Vec<(String, String)>,
    host: Option<bool>,
    body: Option<String>,
    body_b64: Option<String>,
    client: Option<String>,
}

/// A test with where it came from.
struct Loaded {
    file: String,
    test: Test,
    body: Vec<u8>,
}

/// What happened to one test.
struct Outcome {
    passed: bool,
    detail: String,
}

const USAGE: &str = "usage: rampart test [--config FILE] [--paranoia N] [--rule ID] [-v|--verbose] [TESTS...]";

pub fn run(mut args: impl Iterator<Item = String>) -> Result<ExitCode> {
    let mut config: Option<PathBuf> = None;
    let mut paranoia: u8 = 4;
    let mut only_rule: Option<u32> = None;
    let mut verbose = false;
    let mut paths: Vec<PathBuf> = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" | "-c" => config = Some(args.next().context("--config needs a file")?.into()),
            "--paranoia" => {
                let v = args.next().context("--paranoia needs a value")?;
                paranoia = match v.parse::<u8>() {
                    Ok(n @ 1..=4) => n,
                    _ => bail!("--paranoia takes 1, 2, 3 or 4, not `{v}`"),
                };
            }
            "--rule" => {
                let v = args.next().context("--rule needs a rule id")?;
                only_rule = Some(v.parse().with_context(|| format!("--rule takes a rule id, not `{v}`"))?);
            }
            "--verbose" | "-v" => verbose = true,
            "--help" | "-h" => {
                crate::out!("{USAGE}");
                return Ok(ExitCode::SUCCESS);
            }
            a if a.starts_with('-') => bail!("unknown option `{a}` for test\n{USAGE}"),
            _ => paths.push(arg.into()),
        }
    }

    let explicit = !paths.is_empty();
    if !explicit {
        paths.push(default_tests_dir(config.as_deref())?);
    }
    let files = test_files(&paths)?;
    if files.is_empty() {
        bail!(
            "no test files (*.toml) found in {}",
            paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        );
    }

    let ruleset = {
        let mut b = Ruleset::builder();
        match &config {
            Some(c) => {
                b.config_file(c);
            }
            None => {
                b.default_rules();
            }
        }
        // Detect mode and an unreachable threshold: both phases always run and
        // every matching rule is recorded.
        b.configure(Config::new().paranoia(paranoia).mode(Mode::Detect).anomaly_threshold(u32::MAX));
        match b.build() {
            Ok(r) => Arc::new(r),
            Err(errors) => {
                eprintln!("{errors}");
                return Ok(ExitCode::from(1));
            }
        }
    };
    let compiled: BTreeMap<u32, String> = ruleset.rules().map(|r| (r.id, r.origin.to_owned())).collect();

    let mut tests = Vec::new();
    for file in &files {
        tests.extend(load(file)?);
    }
    if let Some(id) = only_rule {
        tests.retain(|t| t.test.rule == id);
    }

    // Rules a lower --paranoia leaves out: their tests are skipped, not failed.
    let above: std::collections::BTreeSet<u32> =
        if paranoia < 4 { rule_ids_at_paranoia_4(config.as_deref())? } else { Default::default() };

    let mut scratch = ruleset.create_scratch();
    let mut tx = Transaction::new(ruleset.clone());
    // Per rule: (test, outcome) in file order.
    let mut by_rule: BTreeMap<u32, Vec<(&Loaded, Outcome)>> = BTreeMap::new();
    let mut skipped = 0usize;
    for t in &tests {
        if !compiled.contains_key(&t.test.rule) {
            if above.contains(&t.test.rule) {
                skipped += 1;
                continue;
            }
            let outcome = Outcome { passed: false, detail: format!("rule {} is not in the rule set", t.test.rule) };
            by_rule.entry(t.test.rule).or_default().push((t, outcome));
            continue;
        }
        let outcome = evaluate(&mut tx, &mut scratch, t);
        by_rule.entry(t.test.rule).or_default().push((t, outcome));
    }

    // Coverage: every rule (all compiled rules by default, the rules the given
    // files test otherwise) needs a positive and a negative test.
    let covered: Vec<u32> = if explicit {
        by_rule.keys().copied().filter(|id| compiled.contains_key(id)).collect()
    } else {
        compiled.keys().copied().filter(|id| only_rule.is_none_or(|r| r == *id)).collect()
    };
    let mut missing: BTreeMap<u32, Vec<&'static str>> = BTreeMap::new();
    for id in &covered {
        let list = by_rule.get(id).map(Vec::as_slice).unwrap_or(&[]);
        let has = |e: Expect| list.iter().any(|(t, _)| t.test.expect == e);
        if !has(Expect::Match) {
            missing.entry(*id).or_default().push("no test that must match");
        }
        if !has(Expect::NoMatch) {
            missing.entry(*id).or_default().push("no near-miss that must not match");
        }
    }

    let mut failed_rules = 0usize;
    let (mut passed, mut failed) = (0usize, 0usize);
    let mut ids: Vec<u32> = by_rule.keys().copied().chain(missing.keys().copied()).collect();
    ids.sort_unstable();
    ids.dedup();
    for id in ids {
        let list = by_rule.get(&id).map(Vec::as_slice).unwrap_or(&[]);
        let bad: Vec<&(&Loaded, Outcome)> = list.iter().filter(|(_, o)| !o.passed).collect();
        let gaps = missing.get(&id);
        passed += list.len() - bad.len();
        failed += bad.len();
        let (m, n) = (
            list.iter().filter(|(t, _)| t.test.expect == Expect::Match).count(),
            list.iter().filter(|(t, _)| t.test.expect == Expect::NoMatch).count(),
        );
        if bad.is_empty() && gaps.is_none() {
            crate::out!("ok    {id:>7}  {m} match, {n} no_match");
        } else {
            failed_rules += 1;
            crate::out!("FAIL  {id:>7}  {m} match, {n} no_match");
            for gap in gaps.into_iter().flatten() {
                crate::out!("        {gap}");
            }
            for (t, o) in &bad {
                crate::out!("        {} `{}`: {}", t.file, t.test.name, o.detail);
            }
        }
        if verbose {
            for (t, o) in list {
                let mark = if o.passed { "pass" } else { "FAIL" };
                crate::out!("        {mark} {} `{}`", t.file, t.test.name);
            }
        }
    }
    let rules_tested = covered.len();
    crate::out!(
        "{} tests in {} files: {} passed, {} failed{}; {} rules, {} failing or without both kinds of test (paranoia {})",
        passed + failed,
        files.len(),
        passed,
        failed,
        if skipped > 0 { format!(", {skipped} skipped (rules above the paranoia level)") } else { String::new() },
        rules_tested,
        failed_rules,
        ruleset.config().get_paranoia()
    );
    Ok(if failed_rules > 0 || failed > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// rules/tests next to the config, or the source tree's for the built-in rules.
fn default_tests_dir(config: Option<&Path>) -> Result<PathBuf> {
    if let Some(c) = config {
        let dir = c.parent().unwrap_or(Path::new(".")).join("tests");
        return Ok(dir);
    }
    let local = PathBuf::from("rules/tests");
    if local.is_dir() {
        return Ok(local);
    }
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/tests");
    if source.is_dir() {
        return Ok(source);
    }
    bail!("no rules/tests folder here or in {}; name the test files", env!("CARGO_MANIFEST_DIR"))
}

/// The *.toml files among `paths` (files as given, folders listed, sorted).
fn test_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("cannot list {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|e| e == "toml"))
                .collect();
            found.sort();
            out.extend(found);
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            bail!("no such test file or folder: {}", p.display());
        }
    }
    Ok(out)
}

fn load(path: &Path) -> Result<Vec<Loaded>> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {name}"))?;
    let file: TestFile = toml::from_str(&text).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for test in file.test {
        if !seen.insert((test.rule, test.name.clone())) {
            bail!("{name}: rule {} has two tests named `{}`", test.rule, test.name);
        }
        if test.field.is_some() && test.expect == Expect::NoMatch {
            bail!("{name}: test `{}` gives `field` with expect = \"no_match\"", test.name);
        }
        let body = match (&test.request.body, &test.request.body_b64) {
            (Some(_), Some(_)) => bail!("{name}: test `{}` has both `body` and `body_b64`", test.name),
            (Some(b), None) => b.as_bytes().to_vec(),
            (None, Some(b64)) => {
                let mut out = Vec::new();
                if !rampart::base64_decode_strict(b64.as_bytes(), &mut out) {
                    bail!("{name}: test `{}`: body_b64 is not valid base64", test.name);
                }
                out
            }
            (None, None) => Vec::new(),
        };
        out.push(Loaded { file: name.clone(), test, body });
    }
    Ok(out)
}

/// The ids of the same rule set compiled at paranoia 4.
fn rule_ids_at_paranoia_4(config: Option<&Path>) -> Result<std::collections::BTreeSet<u32>> {
    let mut b = Ruleset::builder();
    match config {
        Some(c) => {
            b.config_file(c);
        }
        None => {
            b.default_rules();
        }
    }
    b.configure(Config::new().paranoia(4));
    let all = b.build().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(all.rules().map(|r| r.id).collect())
}

fn evaluate(tx: &mut Transaction, scratch: &mut rampart::Scratch, t: &Loaded) -> Outcome {
    let r = &t.test.request;
    tx.reset();
    tx.set_request_id(&t.test.name);
    tx.set_client(r.client.as_deref().unwrap_or("127.0.0.1"));
    tx.set_request(
        r.method.as_deref().unwrap_or("GET"),
        r.uri.as_deref().unwrap_or("/"),
        r.protocol.as_deref().unwrap_or("HTTP/1.1"),
    );
    let has_host = r.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host"));
    if r.host.unwrap_or(true) && !has_host {
        tx.add_header("Host", "test.example");
    }
    for (name, value) in &r.headers {
        tx.add_header(name, value);
    }
    tx.evaluate(Phase::RequestHeaders, scratch);
    tx.append_body(&t.body);
    tx.evaluate(Phase::RequestBody, scratch);

    let id = t.test.rule;
    let hit = tx.matches().find(|m| m.id() == id);
    let all: Vec<String> = tx.matches().map(|m| m.id().to_string()).collect();
    let all = if all.is_empty() { "none".to_owned() } else { all.join(", ") };
    match (t.test.expect, hit) {
        (Expect::Match, Some(m)) => match &t.test.field {
            Some(f) if f != m.field() => {
                Outcome { passed: false, detail: format!("matched in {} instead of {f}", m.field()) }
            }
            _ => Outcome { passed: true, detail: String::new() },
        },
        (Expect::Match, None) => {
            Outcome { passed: false, detail: format!("expected a match; rules that matched: {all}") }
        }
        (Expect::NoMatch, None) => Outcome { passed: true, detail: String::new() },
        (Expect::NoMatch, Some(m)) => Outcome {
            passed: false,
            detail: format!(
                "expected no match; matched {} at offset {}: {:?}",
                m.field(),
                m.offset(),
                String::from_utf8_lossy(m.snippet())
            ),
        },
    }
}
