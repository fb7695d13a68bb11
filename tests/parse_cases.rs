//! Runs the data-driven rule-file cases in `tests/cases/parse/*.toml`.
//!
//! Each file is a list of `[[case]]` tables (unknown keys are errors):
//! - `name`: unique within its file; `RAMPART_CASE=<substring>` runs only the
//!   cases whose name contains the substring.
//! - The rule set, any mix of:
//!   - `rules`: rule text, compiled as a source named `a.rules`;
//!   - `sources = [{ name, text }, ...]`: more named inline sources, in order;
//!   - `files = { "path" = "text", ... }`: files written to a fresh temporary
//!     folder (for includes and data files); nothing reads them unless a
//!     `load` entry, a `config` include or another file includes them;
//!   - `load = ["path", ...]`: files of the folder added with
//!     `RulesetBuilder::file`;
//!   - `config`: the text of a `rampart.toml` written to the folder and used
//!     with `RulesetBuilder::config_file`;
//!   - `paranoia`: a paranoia override (`RulesetBuilder::configure`).
//! - The expectation, exactly one of:
//!   - `ok = true`, optionally with `rule_count` (rules compiled);
//!   - `error = "file:line:col: error: message"`: the first error's
//!     `RuleError::short()`, optionally with `errors` (how many in all),
//!     `help` (the first error's hint) and `display` (its whole `Display`
//!     text: source line and caret).
//! - `skip = "reason"`: an engine bug keeps this case from passing. It still
//!   runs: it is reported with its reason, and fails once it passes.
//!
//! In messages, the temporary folder is written `$DIR` (for example
//! `$DIR/main.rules:3:7: error: ...`).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use rampart::{Config, RuleErrors, Ruleset};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    case: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    rules: Option<String>,
    #[serde(default)]
    sources: Vec<InlineSource>,
    #[serde(default)]
    files: BTreeMap<String, String>,
    #[serde(default)]
    load: Vec<String>,
    config: Option<String>,
    paranoia: Option<u8>,
    ok: Option<bool>,
    rule_count: Option<usize>,
    error: Option<String>,
    errors: Option<usize>,
    help: Option<String>,
    display: Option<String>,
    skip: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InlineSource {
    name: String,
    text: String,
}

/// A temporary folder, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let clean: String = label.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("rampart-parse-{}-{n}-{clean}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
fn parse_cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/parse");
    let filter = std::env::var("RAMPART_CASE").ok().filter(|f| !f.is_empty());
    let files = case_files(&dir);
    let mut failures = Vec::new();
    let mut skipped = Vec::new();
    let (mut ran, mut total) = (0, 0);
    for path in &files {
        let file = path.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(path).display().to_string();
        let cases = match load(path) {
            Ok(cases) => cases,
            Err(e) => {
                failures.push(format!("{file}: {e}"));
                continue;
            }
        };
        total += cases.len();
        for case in cases {
            if filter.as_ref().is_some_and(|f| !case.name.contains(f.as_str())) {
                continue;
            }
            ran += 1;
            let outcome = run(&case);
            match (&case.skip, outcome) {
                (None, Ok(())) => {}
                (None, Err(diff)) => failures.push(format!("{file}: case `{}`\n{diff}", case.name)),
                (Some(reason), Err(_)) => skipped.push(format!("{file}: case `{}`: {reason}", case.name)),
                (Some(reason), Ok(())) => failures.push(format!(
                    "{file}: case `{}` is marked skip ({reason}) but passes now: remove the `skip`",
                    case.name
                )),
            }
        }
    }
    // Written to the real stderr, past the test harness's capture, so that
    // known engine bugs stay visible in every run.
    for s in &skipped {
        let _ = writeln!(std::io::stderr(), "skipped (known engine bug): {s}");
    }
    if !failures.is_empty() {
        panic!("{} parse case failure(s) ({ran} cases run):\n\n{}\n", failures.len(), failures.join("\n\n"));
    }
    assert!(total > 0, "no parse cases in {}", dir.display());
    if let Some(f) = &filter {
        assert!(ran > 0, "RAMPART_CASE={f:?} matches no parse case");
    }
    let _ = writeln!(std::io::stderr(), "parse cases: {} passed, {} skipped", ran - skipped.len(), skipped.len());
}

/// The `*.toml` files of a folder, sorted; fails when there are none.
fn case_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no case files in {}", dir.display());
    files
}

/// Reads one case file.
fn load(path: &Path) -> Result<Vec<Case>, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    parse_case_file(&text)
}

/// Parses the text of a case file and checks what serde cannot.
fn parse_case_file(text: &str) -> Result<Vec<Case>, String> {
    let file: CaseFile = toml::from_str(text).map_err(|e| format!("invalid case file: {e}"))?;
    if file.case.is_empty() {
        return Err("no [[case]] tables".to_owned());
    }
    let mut names = BTreeSet::new();
    for case in &file.case {
        let name = &case.name;
        if !names.insert(name.clone()) {
            return Err(format!("duplicate case name `{name}`"));
        }
        match (case.ok, &case.error) {
            (Some(true), None) => {
                if case.errors.is_some() || case.help.is_some() || case.display.is_some() {
                    return Err(format!("case `{name}`: `errors`, `help` and `display` go with `error`"));
                }
            }
            (None, Some(_)) => {
                if case.rule_count.is_some() {
                    return Err(format!("case `{name}`: `rule_count` goes with `ok = true`"));
                }
            }
            _ => return Err(format!("case `{name}`: give exactly one of `ok = true` and `error`")),
        }
        if case.rules.is_none() && case.sources.is_empty() && case.load.is_empty() && case.config.is_none() {
            return Err(format!("case `{name}`: no rules (`rules`, `sources`, `load` or `config`)"));
        }
        if !case.files.is_empty() && case.load.is_empty() && case.config.is_none() && case.rules.is_none() {
            return Err(format!("case `{name}`: `files` that nothing loads"));
        }
    }
    Ok(file.case)
}

/// Builds the case's rule set; on a mismatch returns the diff to print.
fn run(case: &Case) -> Result<(), String> {
    let temp = TempDir::new(&case.name);
    let dir = temp.0.clone();
    for (name, text) in &case.files {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    let mut builder = Ruleset::builder();
    if let Some(config) = &case.config {
        let path = dir.join("rampart.toml");
        fs::write(&path, config).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        builder.config_file(&path);
    }
    if let Some(p) = case.paranoia {
        builder.configure(Config::new().paranoia(p));
    }
    for name in &case.load {
        builder.file(dir.join(name));
    }
    if let Some(text) = &case.rules {
        builder.source("a.rules", text.as_str());
    }
    for s in &case.sources {
        builder.source(s.name.as_str(), s.text.as_str());
    }
    let result = builder.build();
    let dir_text = dir.display().to_string();
    let clean = |s: &str| s.replace(&dir_text, "$DIR");

    let mut expected = Vec::new();
    let mut actual = Vec::new();
    match (&result, &case.error) {
        (Ok(rs), None) => {
            if let Some(n) = case.rule_count {
                expected.push(format!("ok: {n} rules"));
                actual.push(format!("ok: {} rules", rs.rule_count()));
            }
        }
        (Ok(rs), Some(_)) => {
            expected = expected_lines(case);
            actual.push(format!("ok: {} rules", rs.rule_count()));
        }
        (Err(errors), None) => {
            expected.push("ok".to_owned());
            actual.extend(all_errors(errors, &clean));
        }
        (Err(errors), Some(_)) => {
            expected = expected_lines(case);
            let first = errors.first().expect("a returned RuleErrors is never empty");
            actual.push(format!("error: {}", clean(&first.short())));
            if case.errors.is_some() {
                actual.push(format!("errors: {}", errors.len()));
            }
            if case.help.is_some() {
                actual.push(format!("help: {}", clean(first.help().unwrap_or("(none)"))));
            }
            if case.display.is_some() {
                actual.push("display:".to_owned());
                actual.extend(clean(&first.to_string()).lines().map(str::to_owned));
            }
            if expected != actual && errors.len() > 1 {
                actual.push("(all errors)".to_owned());
                actual.extend(all_errors(errors, &clean));
            }
        }
    }
    if expected == actual { Ok(()) } else { Err(diff(&expected, &actual)) }
}

fn expected_lines(case: &Case) -> Vec<String> {
    let mut lines = vec![format!("error: {}", case.error.as_deref().unwrap_or_default())];
    if let Some(n) = case.errors {
        lines.push(format!("errors: {n}"));
    }
    if let Some(h) = &case.help {
        lines.push(format!("help: {h}"));
    }
    if let Some(d) = &case.display {
        lines.push("display:".to_owned());
        lines.extend(d.lines().map(str::to_owned));
    }
    lines
}

fn all_errors(errors: &RuleErrors, clean: &dyn Fn(&str) -> String) -> Vec<String> {
    errors
        .errors()
        .iter()
        .map(|e| match e.help() {
            Some(h) => format!("error: {} (help: {})", clean(&e.short()), clean(h)),
            None => format!("error: {}", clean(&e.short())),
        })
        .collect()
}

/// A line diff: `-` expected only, `+` actual only, ` ` both (longest common
/// subsequence, fine for the few lines compared here).
fn diff(expected: &[String], actual: &[String]) -> String {
    let (n, m) = (expected.len(), actual.len());
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if expected[i] == actual[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let mut out = String::from("  --- expected\n  +++ actual\n");
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && expected[i] == actual[j] {
            out.push_str(&format!("    {}\n", expected[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push_str(&format!("  - {}\n", expected[i]));
            i += 1;
        } else {
            out.push_str(&format!("  + {}\n", actual[j]));
            j += 1;
        }
    }
    out.trim_end().to_owned()
}

#[test]
fn case_files_reject_unknown_keys_and_missing_cases() {
    let unknown = "[[case]]\nname = \"x\"\nrules = \"\"\nok = true\nerorr = \"typo\"\n";
    assert!(parse_case_file(unknown).is_err_and(|e| e.contains("unknown field `erorr`")));
    let unknown_source_key = "[[case]]\nname = \"x\"\nsources = [{ name = \"a\", txt = \"\" }]\nok = true\n";
    assert!(parse_case_file(unknown_source_key).is_err_and(|e| e.contains("unknown field `txt`")));
    assert!(parse_case_file("").is_err(), "a file without cases");
    assert!(parse_case_file("case = []").is_err_and(|e| e.contains("no [[case]]")));
    let both = "[[case]]\nname = \"x\"\nrules = \"\"\nok = true\nerror = \"e\"\n";
    assert!(parse_case_file(both).is_err_and(|e| e.contains("exactly one of")));
    let twice = "[[case]]\nname = \"x\"\nrules = \"\"\nok = true\n[[case]]\nname = \"x\"\nrules = \"\"\nok = true\n";
    assert!(parse_case_file(twice).is_err_and(|e| e.contains("duplicate case name")));
}
