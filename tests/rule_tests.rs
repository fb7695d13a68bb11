//! Runs the rule tests in rules/tests/*.toml through `rampart test`, so that
//! `cargo test` fails when a rule stops matching its attacks, starts matching
//! its near-misses, or has no test of either kind. The format is described
//! in rules/README.md and in src/bin/rampart/test.rs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn rampart(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the rampart binary runs")
}

fn show(args: &[&str], out: &Output) -> String {
    format!(
        "rampart {}\nexit: {:?}\n--- stdout\n{}\n--- stderr\n{}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A scratch folder under the system temp dir, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("rampart-rule-tests-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir is writable");
        Scratch(dir)
    }

    fn write(&self, name: &str, text: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, text).expect("temp file is writable");
        path.to_string_lossy().into_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn every_built_in_rule_passes_its_tests() {
    let args = ["test"];
    let out = rampart(&args);
    assert!(out.status.success(), "{}", show(&args, &out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(" 0 failed"), "{}", show(&args, &out));
    assert!(!stdout.contains("FAIL"), "{}", show(&args, &out));
}

#[test]
fn the_rule_files_on_disk_pass_the_same_tests() {
    let args = ["test", "--config", "rules/rampart.toml"];
    let out = rampart(&args);
    assert!(out.status.success(), "{}", show(&args, &out));
}

#[test]
fn every_test_file_names_only_known_rules_and_has_both_kinds_of_test() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/tests");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("rules/tests exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no test files in {}", dir.display());
    for file in files {
        let file = file.to_string_lossy().into_owned();
        let args = ["test", file.as_str()];
        let out = rampart(&args);
        assert!(out.status.success(), "{}", show(&args, &out));
    }
}

#[test]
fn a_lower_paranoia_skips_the_tests_of_stricter_rules() {
    let args = ["test", "--paranoia", "1"];
    let out = rampart(&args);
    assert!(out.status.success(), "{}", show(&args, &out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("skipped"), "{}", show(&args, &out));
}

#[test]
fn a_wrong_expectation_fails_and_names_the_test() {
    let dir = Scratch::new("wrong");
    let file = dir.write(
        "wrong.toml",
        "[[test]]\nrule = 942110\nname = \"union select, said not to match\"\nexpect = \"no_match\"\n\
         request = { uri = \"/?id=1%20union%20select%201\" }\n\n\
         [[test]]\nrule = 942110\nname = \"reported in the wrong field\"\nexpect = \"match\"\nfield = 'args[\"x\"]'\n\
         request = { uri = \"/?id=1%20union%20select%201\" }\n",
    );
    let args = ["test", file.as_str()];
    let out = rampart(&args);
    assert_eq!(out.status.code(), Some(1), "{}", show(&args, &out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("FAIL") && stdout.contains("942110"), "{}", show(&args, &out));
    assert!(stdout.contains("union select, said not to match"), "{}", show(&args, &out));
    assert!(stdout.contains("instead of args[\"x\"]"), "{}", show(&args, &out));
}

#[test]
fn a_rule_without_a_near_miss_or_an_unknown_rule_fails() {
    let dir = Scratch::new("coverage");
    let file = dir.write(
        "coverage.toml",
        "[[test]]\nrule = 942110\nname = \"only a positive test\"\nexpect = \"match\"\n\
         request = { uri = \"/?id=1%20union%20select%201\" }\n\n\
         [[test]]\nrule = 4242\nname = \"no such rule\"\nexpect = \"match\"\n",
    );
    let args = ["test", file.as_str()];
    let out = rampart(&args);
    assert_eq!(out.status.code(), Some(1), "{}", show(&args, &out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("no near-miss that must not match"), "{}", show(&args, &out));
    assert!(stdout.contains("rule 4242 is not in the rule set"), "{}", show(&args, &out));
}

#[test]
fn a_malformed_test_file_is_an_error_that_names_it() {
    let dir = Scratch::new("malformed");
    let file = dir.write("bad.toml", "[[test]]\nrule = 942110\nname = \"x\"\nexpect = \"maybe\"\n");
    let args = ["test", file.as_str()];
    let out = rampart(&args);
    assert_eq!(out.status.code(), Some(2), "{}", show(&args, &out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.toml"), "{}", show(&args, &out));
}
