//! Runs the data-driven transform cases in `tests/cases/transform/*.toml`.
//!
//! Each file is a list of `[[case]]` tables with exactly these keys:
//! - `name`: unique within its file; `RAMPART_CASE=<substring>` runs only the
//!   cases whose name contains the substring.
//! - `transform`: a transform name, or an array of names applied in order.
//! - `input`, `output`: byte strings in the convention of
//!   `common::parse_bytes` (`\xHH` is a raw byte), documented at the top of
//!   every case file.
//!
//! A failure names the file and case and shows input, expected and actual
//! output in the same convention, so they can be pasted back into a file.
//! When every case runs, each transform must have at least
//! [`MIN_CASES_PER_TRANSFORM`] single-step cases.

mod common;

use common::{Filter, parse_bytes, show_bytes};
use rampart::Transform;
use std::collections::{BTreeMap, BTreeSet};

/// Minimum number of single-transform cases per transform.
const MIN_CASES_PER_TRANSFORM: usize = 5;

/// One case, parsed.
struct Case {
    name: String,
    pipeline: Vec<Transform>,
    input: Vec<u8>,
    output: Vec<u8>,
}

#[test]
fn transform_cases() {
    let filter = Filter::from_env();
    let mut failures = Vec::new();
    let mut ran = 0;
    let mut coverage: BTreeMap<Transform, usize> = BTreeMap::new();
    common::for_each_case_file(
        &common::cases_dir("transform"),
        &mut failures,
        parse_case_file,
        |file, cases, failures| {
            for case in cases {
                if let [t] = case.pipeline.as_slice() {
                    *coverage.entry(*t).or_default() += 1;
                }
                if !filter.runs(&case.name) {
                    continue;
                }
                ran += 1;
                let got = run(&case.pipeline, &case.input);
                if got != case.output {
                    let names: Vec<&str> = case.pipeline.iter().map(|t| t.name()).collect();
                    failures.push(format!(
                        "{file}: case `{}` (transform {})\n  input:    \"{}\"\n  expected: \"{}\"\n  got:      \"{}\"",
                        case.name,
                        names.join(", "),
                        show_bytes(&case.input),
                        show_bytes(&case.output),
                        show_bytes(&got),
                    ));
                }
            }
        },
    );

    if filter.runs_all() {
        for t in Transform::ALL {
            let n = coverage.get(t).copied().unwrap_or(0);
            if n < MIN_CASES_PER_TRANSFORM {
                failures.push(format!(
                    "transform `{}` has {n} single-step cases; at least {MIN_CASES_PER_TRANSFORM} wanted",
                    t.name()
                ));
            }
        }
    }
    if !failures.is_empty() {
        panic!("{} transform case problem(s) ({ran} cases run):\n\n{}\n", failures.len(), failures.join("\n\n"));
    }
    filter.assert_ran(ran, "transform");
    eprintln!("transform cases: {ran} passed");
}

/// Applies `pipeline` to `input` as the engine does: a step that returns
/// `false` leaves the value unchanged. Also checks each step's length bound.
fn run(pipeline: &[Transform], input: &[u8]) -> Vec<u8> {
    let mut value = input.to_vec();
    // A dirty buffer: `apply` must clear it first.
    let mut out = b"dirty".to_vec();
    for t in pipeline {
        if t.apply(&value, &mut out) {
            assert!(
                out.len() <= t.max_output_len(value.len()),
                "{} wrote {} bytes for {} input bytes",
                t.name(),
                out.len(),
                value.len()
            );
            std::mem::swap(&mut value, &mut out);
        }
    }
    value
}

/// Parses and checks the text of one case file.
fn parse_case_file(text: &str) -> Result<Vec<Case>, String> {
    let table: toml::Table = text.parse().map_err(|e| format!("invalid TOML: {e}"))?;
    if let Some(key) = table.keys().find(|k| *k != "case") {
        return Err(format!("unexpected top-level key `{key}`; only [[case]] tables"));
    }
    let Some(toml::Value::Array(items)) = table.get("case") else {
        return Err("no [[case]] tables".to_string());
    };
    let mut cases = Vec::new();
    let mut names = BTreeSet::new();
    for (index, item) in items.iter().enumerate() {
        let case = parse_case(item).map_err(|e| format!("case #{}: {e}", index + 1))?;
        if !names.insert(case.name.clone()) {
            return Err(format!("duplicate case name `{}`", case.name));
        }
        cases.push(case);
    }
    Ok(cases)
}

fn parse_case(item: &toml::Value) -> Result<Case, String> {
    let toml::Value::Table(table) = item else {
        return Err("not a table".to_string());
    };
    if let Some(key) = table.keys().find(|k| !["name", "transform", "input", "output"].contains(&k.as_str())) {
        return Err(format!("unexpected key `{key}`"));
    }
    let string = |key: &str| match table.get(key) {
        Some(toml::Value::String(s)) => Ok(s.as_str()),
        Some(_) => Err(format!("`{key}` must be a string")),
        None => Err(format!("missing `{key}`")),
    };
    let name = string("name")?.to_string();
    let with_name = |e: String| format!("`{name}`: {e}");
    let names: Vec<&str> = match table.get("transform") {
        Some(toml::Value::String(s)) => vec![s.as_str()],
        Some(toml::Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().ok_or("`transform` array must hold strings"))
            .collect::<Result<_, _>>()
            .map_err(|e| with_name(e.to_string()))?,
        _ => {
            return Err(with_name("`transform` must be a name or an array of names".into()));
        }
    };
    if names.is_empty() {
        return Err(with_name("`transform` is empty".into()));
    }
    let pipeline = names
        .iter()
        .map(|n| {
            Transform::from_name(n).ok_or_else(|| match Transform::suggest(n) {
                Some(s) => format!("unknown transform `{n}`; did you mean `{s}`?"),
                None => format!("unknown transform `{n}`"),
            })
        })
        .collect::<Result<_, _>>()
        .map_err(with_name)?;
    let input = parse_bytes(string("input")?).map_err(|e| with_name(format!("input: {e}")))?;
    let output = parse_bytes(string("output")?).map_err(|e| with_name(format!("output: {e}")))?;
    Ok(Case { name, pipeline, input, output })
}

#[test]
fn byte_convention_round_trips() {
    let cases: &[(&str, &[u8])] = &[
        ("", b""),
        ("abc", b"abc"),
        ("\\x41\\xff", b"A\xff"),
        ("\\\\x41", b"\\x41"),
        ("\\\\\\x41", b"\\\\x41"),
        ("a\\b", b"a\\b"),
        ("\\x5c\\xff", b"\\\xff"),
        ("\\", b"\\"),
        ("é", "é".as_bytes()),
    ];
    for (text, bytes) in cases {
        assert_eq!(parse_bytes(text).as_deref(), Ok(*bytes), "{text:?}");
    }
    assert!(parse_bytes("\\xZZ").is_err());
    assert!(parse_bytes("\\x4").is_err());
    // Every byte string survives show -> parse.
    let samples: &[&[u8]] = &[b"\\x41", b"\\\\x", b"\\\xff", b"\\\\\xff", b"x\\", b"\x00\x7f\x80\\x\\", b"\\\\\\x"];
    for bytes in samples {
        assert_eq!(parse_bytes(&show_bytes(bytes)).as_deref(), Ok(*bytes), "{bytes:?}");
    }
    for b in 0..=255u8 {
        for c in [b'\\', b'x', b'A', 0xff] {
            let bytes = [b'\\', b, c, b'\\'];
            assert_eq!(parse_bytes(&show_bytes(&bytes)).as_deref(), Ok(&bytes[..]));
        }
    }
}
