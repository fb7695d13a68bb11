//! Replays every minimised fuzz finding (and a few hand-written hostile
//! inputs) through the same checks the fuzz targets run: the files under
//! `tests/fuzz-regressions/<target>/` go to `check_<target>` of
//! fuzz/src/lib.rs, included here as a module. Without `--cfg fuzzing` the
//! body-parser checks go through a whole transaction instead of the
//! crate-private parsers.
//!
//! Add a finding: `cargo fuzz tmin <target> <crash>`, copy the minimised file
//! to `tests/fuzz-regressions/<target>/<what-it-found>`, and list it in that
//! folder's README.md.

#[allow(dead_code, reason = "the fuzz harness has helpers only the fuzz targets use")]
#[path = "../fuzz/src/lib.rs"]
mod harness;

use std::path::Path;

/// A fuzz target's checks.
type Check = fn(&[u8]);

const TARGETS: &[(&str, Check)] = &[
    ("parse_rules", harness::check_parse_rules),
    ("config_toml", harness::check_config_toml),
    ("evaluate", harness::check_evaluate),
    ("body_urlencoded", harness::check_body_urlencoded),
    ("body_json", harness::check_body_json),
    ("body_multipart", harness::check_body_multipart),
    ("transforms", harness::check_transforms),
    ("ffi_calls", harness::check_ffi_calls),
];

#[test]
fn every_fuzz_regression_replays_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let mut replayed = 0;
    for (target, check) in TARGETS {
        let dir = root.join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut files: Vec<_> = entries.map(|e| e.expect("readable entry").path()).collect();
        files.sort();
        for file in files.iter().filter(|f| f.extension().is_none_or(|e| e != "md")) {
            let data = std::fs::read(file).expect("readable regression file");
            let name = file.strip_prefix(&root).unwrap_or(file).display().to_string();
            if let Err(panic) = std::panic::catch_unwind(|| check(&data)) {
                let msg = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("(no message)");
                panic!("{name}: {msg}");
            }
            replayed += 1;
        }
    }
    assert!(replayed > 0, "no fuzz regression files found under {}", root.display());
}

#[test]
fn the_harness_runs_on_empty_and_tiny_inputs() {
    for (_, check) in TARGETS {
        for data in [&b""[..], b"\0", b"\xff", b"\x17\x00"] {
            check(data);
        }
    }
}
