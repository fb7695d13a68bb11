//! Runs the `rampart` binary: `check` (success, and every mistake class of
//! tests/cases/parse with a `display` expectation), `fmt` and `scan`.
//!
//! Each test works in its own temporary folder and runs the binary there, so
//! error messages name files relatively (`a.rules:3:5: error: ...`).

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use common::{Filter, TempDir};
use rampart::{Config, Ruleset};
use serde_json::Value;

/// Runs `rampart ARGS` in `dir`.
fn rampart(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run rampart {args:?}: {e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Describes a run for assertion messages.
fn show(args: &[&str], out: &Output) -> String {
    format!(
        "rampart {}\nexit status: {:?}\n--- stdout\n{}\n--- stderr\n{}",
        args.join(" "),
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    )
}

#[test]
fn check_accepts_the_default_rules_and_prints_the_rule_count() {
    let dir = TempDir::new("cli", "check-default");
    let args = ["check"];
    let out = rampart(&dir.0, &args);
    assert_eq!(out.status.code(), Some(0), "{}", show(&args, &out));
    let expected = Ruleset::default_rules().expect("the default rules compile").rule_count();
    let stdout = text(&out.stdout);
    let first = stdout.lines().next().unwrap_or_default();
    assert!(first.starts_with(&format!("ok: {expected} rules (")), "{}", show(&args, &out));
    assert!(first.contains("at paranoia 1, mode block, threshold 5"), "{}", show(&args, &out));
    assert!(text(&out.stderr).is_empty(), "{}", show(&args, &out));
}

#[test]
fn check_with_paranoia_counts_the_rules_of_that_level() {
    let dir = TempDir::new("cli", "check-paranoia");
    let args = ["check", "--paranoia", "3", "-v"];
    let out = rampart(&dir.0, &args);
    assert_eq!(out.status.code(), Some(0), "{}", show(&args, &out));
    let expected = Ruleset::builder()
        .default_rules()
        .configure(Config::new().paranoia(3))
        .build()
        .expect("the default rules compile")
        .rule_count();
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with(&format!("ok: {expected} rules (")), "{}", show(&args, &out));
    assert!(stdout.contains("at paranoia 3"), "{}", show(&args, &out));
    assert!(stdout.contains("942100  pl1  critical"), "-v lists the rules\n{}", show(&args, &out));
}

#[test]
fn check_accepts_rule_files_and_a_config() {
    let dir = TempDir::new("cli", "check-files");
    dir.write("a.rules", "rule 1 { severity notice inspect args match contains \"x\" }\ninclude \"sub/b.rules\"\n");
    dir.write("sub/b.rules", "rule 2 {\n    when   method == \"TRACE\"\n    action deny 405\n}\n");
    let args = ["check", "a.rules"];
    let out = rampart(&dir.0, &args);
    assert_eq!(out.status.code(), Some(0), "{}", show(&args, &out));
    assert!(text(&out.stdout).starts_with("ok: 2 rules (1 scanning, 1 deciding)"), "{}", show(&args, &out));

    dir.write("rampart.toml", "[engine]\nmode = \"detect\"\nparanoia = 2\n[rules]\ninclude = [\"*.rules\"]\n");
    let args = ["check", "--config", "rampart.toml"];
    let out = rampart(&dir.0, &args);
    assert_eq!(out.status.code(), Some(0), "{}", show(&args, &out));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("ok: 2 rules"), "{}", show(&args, &out));
    assert!(stdout.contains("at paranoia 2, mode detect"), "{}", show(&args, &out));
}

#[test]
fn check_rejects_a_broken_config() {
    let dir = TempDir::new("cli", "check-bad-config");
    dir.write("rampart.toml", "[engine]\nmode = \"block\"\nparanoya = 2\n");
    let args = ["check", "--config", "rampart.toml"];
    let out = rampart(&dir.0, &args);
    assert_eq!(out.status.code(), Some(1), "{}", show(&args, &out));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(
            "rampart.toml:3:1: error: unknown field `paranoya`, expected one of `mode`, `paranoia`, `anomaly_threshold`, `block_status`, `value_cache_bytes`\n 3 | paranoya = 2\n   | ^^^^^^^^"
        ),
        "{}",
        show(&args, &out)
    );
    assert!(text(&out.stdout).is_empty(), "{}", show(&args, &out));

    let args = ["check", "--config", "missing.toml"];
    let out = rampart(&dir.0, &args);
    assert_eq!(out.status.code(), Some(1), "{}", show(&args, &out));
    assert!(text(&out.stderr).contains("missing.toml: error: cannot read config"), "{}", show(&args, &out));
}

#[test]
fn check_reports_every_error_with_a_count() {
    let dir = TempDir::new("cli", "check-several");
    dir.write(
        "x.rules",
        "rule 1 {\n    transform url_decod\n    match contains \"x\"\n}\nrule 2 \"No test\" {\n    severity notice\n}\n",
    );
    let args = ["check", "x.rules"];
    let out = rampart(&dir.0, &args);
    assert_eq!(out.status.code(), Some(1), "{}", show(&args, &out));
    let stderr = text(&out.stderr);
    let first = stderr.find("x.rules:2:15: error: unknown transform `url_decod`");
    let second = stderr.find("x.rules:5:6: error: rule 2 has neither `match` nor `when`: say what it matches");
    assert!(first.is_some() && second.is_some() && first < second, "{}", show(&args, &out));
    assert!(stderr.trim_end().ends_with("2 errors"), "{}", show(&args, &out));
}

#[test]
fn usage_errors_exit_with_2() {
    let dir = TempDir::new("cli", "usage");
    for args in [&["frobnicate"][..], &["check", "--paranoia", "7"], &["fmt"], &["scan"], &[]] {
        let out = rampart(&dir.0, args);
        assert_eq!(out.status.code(), Some(2), "{}", show(args, &out));
    }
}

/// One error case of tests/cases/parse that shows its `Display` text.
struct ErrorCase {
    file: String,
    name: String,
    rules: Option<String>,
    files: Vec<(String, String)>,
    load: Vec<String>,
    config: Option<String>,
    paranoia: Option<i64>,
    display: String,
}

/// The cases of tests/cases/parse with a `display` (and no `skip` and no
/// inline `sources`, which the CLI cannot express).
fn display_cases() -> Vec<ErrorCase> {
    let mut out = Vec::new();
    for path in common::case_files(&common::cases_dir("parse")) {
        let file = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let table: toml::Table = fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
            .parse()
            .unwrap_or_else(|e| panic!("{}: invalid TOML: {e}", path.display()));
        let cases = table.get("case").and_then(toml::Value::as_array).cloned().unwrap_or_default();
        for case in cases {
            let get = |k: &str| case.get(k).and_then(toml::Value::as_str).map(str::to_owned);
            let (Some(display), None, None) = (get("display"), case.get("skip"), case.get("sources")) else {
                continue;
            };
            let files = case
                .get("files")
                .and_then(toml::Value::as_table)
                .map(|t| t.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect())
                .unwrap_or_default();
            let load = case
                .get("load")
                .and_then(toml::Value::as_array)
                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
            out.push(ErrorCase {
                file: file.clone(),
                name: get("name").unwrap_or_default(),
                rules: get("rules"),
                files,
                load,
                config: get("config"),
                paranoia: case.get("paranoia").and_then(toml::Value::as_integer),
                display,
            });
        }
    }
    out
}

#[test]
fn check_shows_place_source_line_and_caret_for_every_mistake_class() {
    let filter = Filter::from_env();
    let cases = display_cases();
    let classes: std::collections::BTreeSet<&str> = cases.iter().map(|c| c.file.as_str()).collect();
    assert!(classes.len() >= 10, "only {} parse case files have `display` cases: {classes:?}", classes.len());
    let mut failures = Vec::new();
    let mut ran = 0;
    for case in &cases {
        if !filter.runs(&case.name) {
            continue;
        }
        ran += 1;
        let dir = TempDir::new("cli", &case.name);
        for (name, body) in &case.files {
            dir.write(name, body);
        }
        let mut args: Vec<String> = vec!["check".into()];
        if let Some(config) = &case.config {
            dir.write("rampart.toml", config);
            args.extend(["--config".into(), "rampart.toml".into()]);
        }
        if let Some(p) = case.paranoia {
            args.extend(["--paranoia".into(), p.to_string()]);
        }
        args.extend(case.load.iter().cloned());
        if let Some(rules) = &case.rules {
            dir.write("a.rules", rules);
            args.push("a.rules".into());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = rampart(&dir.0, &args);
        // The parse cases name temporary files `$DIR/...`; here they are relative.
        let want = case.display.replace("$DIR/", "");
        let stderr = text(&out.stderr);
        let mut lines = want.lines();
        let head = lines.next().unwrap_or_default();
        let ok = out.status.code() == Some(1)
            && stderr.contains(&want)
            && head.contains(": error: ")
            && lines.next().is_some_and(|l| l.contains(" | "))
            && lines.next().is_some_and(|l| l.contains('^'));
        if !ok {
            failures.push(format!(
                "tests/cases/parse/{}: case `{}`\n--- expected in stderr (and exit status 1)\n{want}\n{}",
                case.file,
                case.name,
                show(&args, &out)
            ));
        }
    }
    assert!(failures.is_empty(), "{} failure(s):\n\n{}", failures.len(), failures.join("\n\n"));
    filter.assert_ran(ran, "display");
}

const MESSY: &str = r#"# Site rules.
rule   2 "Block TRACE"{when method in ["TRACE","TRACK"]   # why: XST
action deny 405}
rule 1 { severity notice inspect args,headers["User-Agent"] transform lowercase,url_decode match contains "x" } # trailing
# before an exclusion
exclude rule 1 for args["q"] when path == "/s" and not (client_ip in [10.0.0.0/8, 192.168.1.1/32] or method equals "OPTIONS")
"#;

#[test]
fn fmt_prints_canonical_text_that_checks_and_is_a_fixed_point() {
    let dir = TempDir::new("cli", "fmt");
    dir.write("messy.rules", MESSY);
    let args = ["fmt", "messy.rules"];
    let out = rampart(&dir.0, &args);
    assert_eq!(out.status.code(), Some(0), "{}", show(&args, &out));
    let formatted = text(&out.stdout);
    // The comment after the rule head and the `when` on one line stays on the head line.
    let expected = r#"# Site rules.
rule 2 "Block TRACE" { # why: XST
    when      method in ["TRACE", "TRACK"]
    action    deny 405
}

rule 1 {
    severity  notice
    inspect   args, headers["User-Agent"]
    transform lowercase, url_decode
    match     contains "x"
} # trailing

# before an exclusion
exclude rule 1 for args["q"] when path == "/s" and not (client_ip in [10.0.0.0/8, 192.168.1.1] or method == "OPTIONS")
"#;
    assert_eq!(formatted, expected, "{}", show(&args, &out));
    for comment in ["# Site rules.", "# why: XST", "# trailing", "# before an exclusion"] {
        assert!(formatted.contains(comment), "fmt dropped {comment:?}\n{formatted}");
    }

    dir.write("formatted.rules", &formatted);
    let args = ["check", "formatted.rules"];
    let out = rampart(&dir.0, &args);
    assert_eq!(out.status.code(), Some(0), "{}", show(&args, &out));
    assert!(text(&out.stdout).starts_with("ok: 2 rules"), "{}", show(&args, &out));

    let args = ["fmt", "formatted.rules"];
    let out = rampart(&dir.0, &args);
    assert_eq!(out.status.code(), Some(0), "{}", show(&args, &out));
    assert_eq!(text(&out.stdout), formatted, "fmt of fmt output changed it\n{}", show(&args, &out));
}

#[test]
fn fmt_keeps_the_meaning_of_the_default_rules() {
    let dir = TempDir::new("cli", "fmt-default");
    let core = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/core");
    let mut names: Vec<String> = fs::read_dir(&core)
        .expect("rules/core exists")
        .map(|e| e.expect("readable entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in &names {
        let text = fs::read_to_string(core.join(name)).expect("readable rule file");
        dir.write(name, &text);
    }
    let rule_files: Vec<&str> = names.iter().filter(|n| n.ends_with(".rules")).map(String::as_str).collect();
    assert!(!rule_files.is_empty());
    let mut args = vec!["fmt", "--write"];
    args.extend(&rule_files);
    let out = rampart(&dir.0, &args);
    assert_eq!(out.status.code(), Some(0), "{}", show(&args, &out));
    let mut args = vec!["check"];
    args.extend(&rule_files);
    let out = rampart(&dir.0, &args);
    assert_eq!(out.status.code(), Some(0), "{}", show(&args, &out));
    let expected = Ruleset::default_rules().expect("the default rules compile").rule_count();
    assert!(text(&out.stdout).starts_with(&format!("ok: {expected} rules")), "{}", show(&args, &out));
    // Formatting formatted files changes nothing.
    let mut args = vec!["fmt", "--write"];
    args.extend(&rule_files);
    let out = rampart(&dir.0, &args);
    assert_eq!(out.status.code(), Some(0), "{}", show(&args, &out));
    assert!(text(&out.stderr).is_empty(), "a second fmt --write rewrote files\n{}", show(&args, &out));
}

#[test]
fn fmt_write_rewrites_the_file_in_place() {
    let dir = TempDir::new("cli", "fmt-write");
    let path = dir.write("messy.rules", MESSY);
    let args = ["fmt", "messy.rules"];
    let printed = text(&rampart(&dir.0, &args).stdout);

    let args = ["fmt", "--write", "messy.rules"];
    let out = rampart(&dir.0, &args);
    assert_eq!(out.status.code(), Some(0), "{}", show(&args, &out));
    assert!(text(&out.stdout).is_empty(), "{}", show(&args, &out));
    assert!(text(&out.stderr).contains("formatted messy.rules"), "{}", show(&args, &out));
    assert_eq!(fs::read_to_string(&path).expect("readable"), printed);

    // Already canonical: left alone, nothing said.
    let out = rampart(&dir.0, &args);
    assert_eq!(out.status.code(), Some(0), "{}", show(&args, &out));
    assert!(text(&out.stderr).is_empty(), "{}", show(&args, &out));
    assert_eq!(fs::read_to_string(&path).expect("readable"), printed);
}

#[test]
fn fmt_leaves_files_with_syntax_errors_alone() {
    let dir = TempDir::new("cli", "fmt-broken");
    let broken = "rule 1 {\n    severty critical\n}\n";
    let path = dir.write("broken.rules", broken);
    let args = ["fmt", "--write", "broken.rules"];
    let out = rampart(&dir.0, &args);
    assert_eq!(out.status.code(), Some(1), "{}", show(&args, &out));
    assert!(
        text(&out.stderr).contains("broken.rules:2:5: error: unknown keyword `severty`\n 2 |     severty critical\n   |     ^^^^^^^ did you mean `severity`?"),
        "{}",
        show(&args, &out)
    );
    assert_eq!(fs::read_to_string(&path).expect("readable"), broken);
}

/// A small labelled corpus in the format of shared/corpus/README.md.
fn corpus() -> Vec<Value> {
    use serde_json::json;
    vec![
        json!({"id": "sqli-1", "method": "GET", "uri": "/products?id=1%27%20OR%20%271%27%3D%271", "version": "HTTP/1.1",
               "headers": [["Host", "shop.example"], ["User-Agent", "curl/8.5"]], "label": "attack", "class": "sqli"}),
        json!({"id": "sqli-2", "method": "POST", "uri": "/api/search",
               "headers": [["Host", "api.example"], ["Content-Type", "application/json"]],
               "body": "{\"q\":\"x' UNION SELECT password FROM users--\"}", "label": "attack", "class": "sqli"}),
        json!({"id": "xss-1", "method": "GET", "uri": "/s?q=%3Cscript%3Ealert(1)%3C/script%3E",
               "headers": [["Host", "shop.example"]], "label": "attack", "class": "xss"}),
        json!({"id": "benign-1", "method": "GET", "uri": "/api/v1/users/123?include=orders",
               "headers": [["Host", "api.example"], ["Accept", "application/json"]], "label": "benign", "class": "benign"}),
        json!({"id": "benign-2", "method": "PUT", "uri": "/api/v1/users/123", "version": "HTTP/1.1",
               "headers": [["Host", "api.example"], ["Content-Type", "application/json"]],
               "body": "{\"last_name\":\"O'Brien\",\"note\":\"select the union rep or the steward\"}",
               "label": "benign", "class": "benign"}),
        // "hello, world" in base64, as the corpus stores bodies that are not UTF-8.
        json!({"id": "benign-3", "method": "POST", "uri": "/upload",
               "headers": [["Host", "api.example"], ["Content-Type", "application/octet-stream"]],
               "body_b64": "aGVsbG8sIHdvcmxk", "label": "benign", "class": "benign"}),
    ]
}

#[test]
fn scan_prints_a_json_summary_and_writes_one_line_per_request() {
    let dir = TempDir::new("cli", "scan");
    let records = corpus();
    let jsonl: String = records.iter().map(|r| format!("{r}\n")).collect();
    dir.write("corpus.jsonl", &jsonl);
    let args = ["scan", "--json", "--out", "out.jsonl", "corpus.jsonl"];
    let out = rampart(&dir.0, &args);
    assert_eq!(out.status.code(), Some(0), "{}", show(&args, &out));
    let stdout = text(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    let summary: Value =
        serde_json::from_str(last).unwrap_or_else(|e| panic!("last line is not JSON ({e})\n{}", show(&args, &out)));
    for key in [
        "requests",
        "attacks",
        "benign",
        "detected",
        "false_positives",
        "detection_rate",
        "false_positive_rate",
        "median_us",
        "p99_us",
        "mean_us",
        "by_class",
    ] {
        assert!(summary.get(key).is_some(), "summary has no `{key}`: {summary}");
    }
    assert_eq!(summary["requests"], 6, "{summary}");
    assert_eq!(summary["attacks"], 3, "{summary}");
    assert_eq!(summary["benign"], 3, "{summary}");
    assert_eq!(summary["detected"], 3, "every attack here is a classic one: {summary}");
    assert_eq!(summary["false_positives"], 0, "{summary}");
    assert_eq!(summary["detection_rate"].as_f64(), Some(1.0), "{summary}");
    assert_eq!(summary["false_positive_rate"].as_f64(), Some(0.0), "{summary}");
    for key in ["median_us", "p99_us", "mean_us"] {
        assert!(summary[key].as_f64().is_some_and(|v| v >= 0.0), "{key}: {summary}");
    }
    let by_class = summary["by_class"].as_object().expect("by_class is an object");
    let classes: Vec<&str> = by_class.keys().map(String::as_str).collect();
    assert_eq!(classes, ["benign", "sqli", "xss"], "{summary}");
    assert_eq!(by_class["sqli"]["attacks"], 2, "{summary}");
    assert_eq!(by_class["sqli"]["detected"], 2, "{summary}");
    assert_eq!(by_class["benign"]["benign"], 3, "{summary}");

    let lines = fs::read_to_string(dir.path("out.jsonl")).expect("--out wrote its file");
    let lines: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("--out line is not JSON ({e}): {l}")))
        .collect();
    assert_eq!(lines.len(), records.len(), "one line per request");
    for (line, record) in lines.iter().zip(&records) {
        for key in ["id", "label", "class", "blocked", "score", "matched_rules", "micros"] {
            assert!(line.get(key).is_some(), "--out line has no `{key}`: {line}");
        }
        assert_eq!(line["id"], record["id"], "{line}");
        assert_eq!(line["label"], record["label"], "{line}");
        assert_eq!(line["class"], record["class"], "{line}");
        let attack = record["label"] == "attack";
        assert_eq!(line["blocked"], attack, "{line}");
        let rules = line["matched_rules"].as_array().expect("matched_rules is a list");
        assert_eq!(!rules.is_empty(), attack, "{line}");
        assert!(rules.iter().all(Value::is_u64), "{line}");
        assert_eq!(line["score"].as_u64().is_some_and(|s| s >= 5), attack, "{line}");
        assert!(line["micros"].as_f64().is_some_and(|m| m >= 0.0), "{line}");
    }
    let sqli_rules = lines[0]["matched_rules"].as_array().expect("a list");
    assert!(sqli_rules.contains(&Value::from(942100)), "{}", lines[0]);
}

#[test]
fn scan_in_detect_mode_still_counts_what_would_block() {
    let dir = TempDir::new("cli", "scan-detect");
    let jsonl: String = corpus().iter().map(|r| format!("{r}\n")).collect();
    dir.write("corpus.jsonl", &jsonl);
    let args = ["scan", "--mode", "detect", "--json", "corpus.jsonl"];
    let out = rampart(&dir.0, &args);
    assert_eq!(out.status.code(), Some(0), "{}", show(&args, &out));
    let summary: Value = serde_json::from_str(text(&out.stdout).lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("last line is not JSON ({e})\n{}", show(&args, &out)));
    assert_eq!(summary["detected"], 3, "{summary}");
    assert_eq!(summary["mode"], "detect", "{summary}");
}
