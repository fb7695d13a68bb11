//! The OWASP Core Rule Set v4 through the SecLang front end, from
//! ../shared/corpus (skipped when it is absent): it loads, its regression
//! tests pass at the rate docs/crs-conformance.md publishes (this test fails
//! if that rate regresses), and the prefilter never hides a match.

use std::path::{Path, PathBuf};
use std::process::Command;

use rampart::{Config, Ruleset};

/// The pass rate reached (4,851 of 4,857 request-phase tests); `rampart ftw`
/// must not fall below it.
const PASS_RATE_FLOOR: f64 = 0.9987;
/// The number of request-phase tests passed (4,851 of 4,857).
const PASSED_FLOOR: u64 = 4851;

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if dir.join("crs-v4/rules").is_dir() && dir.join("crs-v4-tests.jsonl").is_file() {
        Some(dir)
    } else {
        eprintln!("skipped: ../shared/corpus with crs-v4 not found");
        None
    }
}

fn crs(dir: &Path, paranoia: u8) -> Ruleset {
    let crs = dir.join("crs-v4");
    Ruleset::builder()
        .configure(Config::new().paranoia(paranoia))
        .seclang(crs.join("crs-setup.conf.example"))
        .seclang(crs.join("rules").join("*.conf"))
        .build()
        .unwrap_or_else(|e| panic!("CRS loads:\n{e}"))
}

#[test]
fn crs_loads_and_paranoia_levels_prune_rules() {
    let Some(dir) = corpus() else { return };
    let pl1 = crs(&dir, 1).seclang_stats().expect("seclang stats");
    let pl4 = crs(&dir, 4).seclang_stats().expect("seclang stats");
    assert!(pl1.rules > 600, "{pl1:?}");
    assert!(pl1.unreachable > 100, "PL2-4 rules are unreachable at PL1: {pl1:?}");
    assert!(pl4.active > pl1.active + 100, "{pl1:?} {pl4:?}");
    assert!(pl4.prefiltered * 2 > pl4.active, "most rules run in the shared passes: {pl4:?}");
}

#[test]
fn crs_regression_tests_pass_and_the_prefilter_misses_nothing() {
    let Some(dir) = corpus() else { return };
    let out = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .arg("ftw")
        .arg("--crs")
        .arg(dir.join("crs-v4"))
        .arg("--json")
        .arg("--verify-prefilter")
        .arg(dir.join("crs-v4-tests.jsonl"))
        .output()
        .expect("rampart runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "ftw failed (prefilter misses?):\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("prefilter verification: 0 misses"), "{stdout}");
    let last = stdout.lines().last().expect("a JSON summary");
    let summary: serde_json::Value = serde_json::from_str(last).expect("the last line is JSON");
    let rate = summary["pass_rate"].as_f64().expect("pass_rate");
    assert!(summary["total"].as_u64().unwrap_or(0) > 4800, "{last}");
    assert!(rate >= PASS_RATE_FLOOR, "pass rate {rate} fell below {PASS_RATE_FLOOR}: failing {}", summary["failing"]);
    let passed = summary["passed"].as_u64().unwrap_or(0);
    assert!(passed >= PASSED_FLOOR, "{passed} passed, fewer than {PASSED_FLOOR}: failing {}", summary["failing"]);
    // 920 (protocol enforcement) and 921 hold the known failures, each
    // explained in docs/crs-conformance.md; the other families pass in full.
    for (family, floor) in [
        ("920", 0.985),
        ("921", 0.99),
        ("930", 1.0),
        ("932", 0.99),
        ("933", 0.99),
        ("941", 0.99),
        ("942", 0.99),
        ("944", 0.99),
    ] {
        let f = &summary["by_family"][family];
        assert!(f["pass_rate"].as_f64().unwrap_or(0.0) >= floor, "family {family}: {f}");
    }
}

#[test]
fn import_seclang_reports_counts_and_unsupported_items() {
    let Some(dir) = corpus() else { return };
    let out = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .arg("import-seclang")
        .arg(dir.join("crs-v4"))
        .output()
        .expect("rampart runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("seclang: "), "{stdout}");
    assert!(stdout.contains("request phases: "), "{stdout}");
    assert!(stdout.contains("SecComponentSignature"), "ignored directives are listed: {stdout}");
}
