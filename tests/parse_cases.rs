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

mod common;

use std::collections::BTreeMap;

use common::{NamedCase, TempDir};
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

impl NamedCase for Case {
    fn name(&self) -> &str {
        &self.name
    }

    fn skip(&self) -> Option<&str> {
        self.skip.as_deref()
    }
}

#[test]
fn parse_cases() {
    common::run_cases("parse", &common::cases_dir("parse"), parse_case_file, Vec::as_slice, |_, case| run(case));
}

/// Parses the text of a case file and checks what serde cannot.
fn parse_case_file(text: &str) -> Result<Vec<Case>, String> {
    let file: CaseFile = toml::from_str(text).map_err(|e| format!("invalid case file: {e}"))?;
    common::check_cases(&file.case, |case| {
        let name = &case.name;
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
        Ok(())
    })?;
    Ok(file.case)
}

/// Builds the case's rule set; on a mismatch returns the diff to print.
fn run(case: &Case) -> Result<(), String> {
    let dir = TempDir::new("parse", &case.name);
    for (name, text) in &case.files {
        dir.try_write(name, text)?;
    }
    let mut builder = Ruleset::builder();
    if let Some(config) = &case.config {
        builder.config_file(&dir.try_write("rampart.toml", config)?);
    }
    if let Some(p) = case.paranoia {
        builder.configure(Config::new().paranoia(p));
    }
    for name in &case.load {
        builder.file(dir.path(name));
    }
    if let Some(text) = &case.rules {
        builder.source("a.rules", text.as_str());
    }
    for s in &case.sources {
        builder.source(s.name.as_str(), s.text.as_str());
    }
    let result = builder.build();
    let dir_text = dir.0.display().to_string();
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
    if expected == actual { Ok(()) } else { Err(common::diff(&expected, &actual)) }
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
