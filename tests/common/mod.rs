//! Machinery shared by the data-driven test loaders (tests/parse_cases.rs,
//! tests/request_cases.rs, tests/transform_cases.rs) and tests/cli.rs: the
//! case files of a folder, the `RAMPART_CASE` filter, the name checks, the
//! skip bookkeeping and final report, the `\xHH` byte convention, line diffs
//! and temporary folders.
//!
//! Each test binary compiles this module with `mod common;` and uses only a
//! part of it, so items some binary leaves unused carry
//! `#[allow(dead_code, reason = ...)]` naming who uses them.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The folder `tests/cases/<name>` of this crate.
pub fn cases_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases").join(name)
}

/// The `*.toml` files of a folder, sorted; fails when there are none.
pub fn case_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no case files in {}", dir.display());
    files
}

/// The `RAMPART_CASE` filter: when set and not empty, only the cases whose
/// name contains it run.
pub struct Filter(Option<String>);

impl Filter {
    /// The filter of this run, from the environment.
    pub fn from_env() -> Filter {
        Filter(std::env::var("RAMPART_CASE").ok().filter(|f| !f.is_empty()))
    }

    /// Whether the case named `name` runs.
    pub fn runs(&self, name: &str) -> bool {
        self.0.as_ref().is_none_or(|f| name.contains(f.as_str()))
    }

    /// Whether every case runs (no filter is set).
    #[allow(dead_code, reason = "only tests/transform_cases.rs checks coverage, and only over complete runs")]
    pub fn runs_all(&self) -> bool {
        self.0.is_none()
    }

    /// Fails when a filter is set and `ran` is 0: the filter is most likely a
    /// typo. `what` names the cases in the message (`"parse"`).
    pub fn assert_ran(&self, ran: usize, what: &str) {
        if let Some(f) = &self.0 {
            assert!(ran > 0, "RAMPART_CASE={f:?} matches no {what} case");
        }
    }
}

/// Reads and parses each case file of `dir` (see [`case_files`]) with
/// `parse`, and hands what it gives to `each` with the file's name relative to
/// the crate (`tests/cases/parse/config.toml`) and `failures`. A file that
/// cannot be read or parsed adds the failure `"<file>: <error>"` instead.
#[allow(dead_code, reason = "tests/cli.rs reads only the `display` cases of tests/cases/parse, itself")]
pub fn for_each_case_file<T>(
    dir: &Path,
    failures: &mut Vec<String>,
    parse: impl Fn(&str) -> Result<T, String>,
    mut each: impl FnMut(&str, T, &mut Vec<String>),
) {
    for path in &case_files(dir) {
        let file = path.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(path).display().to_string();
        let text = fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"));
        match text.and_then(|text| parse(&text)) {
            Ok(cases) => each(&file, cases, failures),
            Err(e) => failures.push(format!("{file}: {e}")),
        }
    }
}

/// What [`check_cases`] and [`run_cases`] need to know of a case.
#[allow(dead_code, reason = "used by tests/parse_cases.rs and tests/request_cases.rs, which have skip lists")]
pub trait NamedCase {
    /// The case's name, unique within its file.
    fn name(&self) -> &str;
    /// Why the case is expected to fail (a known engine bug), if it is.
    fn skip(&self) -> Option<&str>;
}

/// The checks of a case file's list of cases that serde cannot make, in case
/// order: there is at least one case, no name repeats, and `check` accepts
/// each case. The first error found is returned.
#[allow(dead_code, reason = "used by tests/parse_cases.rs and tests/request_cases.rs, whose cases are NamedCase")]
pub fn check_cases<C: NamedCase>(cases: &[C], mut check: impl FnMut(&C) -> Result<(), String>) -> Result<(), String> {
    if cases.is_empty() {
        return Err("no [[case]] tables".to_owned());
    }
    let mut names = BTreeSet::new();
    for case in cases {
        if !names.insert(case.name()) {
            return Err(format!("duplicate case name `{}`", case.name()));
        }
        check(case)?;
    }
    Ok(())
}

/// Runs every case of the case files of `dir` that the `RAMPART_CASE` filter
/// selects, and fails with a report of every failure.
///
/// `parse` turns a file's text into its cases (or an error for the whole
/// file), `cases` lists them, and `run` runs one, returning the diff to print
/// on a mismatch. A case with a `skip` reason is expected to fail: its failure
/// is reported as a known engine bug on the real stderr (past the harness's
/// capture, so that it stays visible in every run), and its passing is a
/// failure ("remove the `skip`"). `what` names the cases in messages.
#[allow(dead_code, reason = "used by tests/parse_cases.rs and tests/request_cases.rs, which have skip lists")]
pub fn run_cases<T, C: NamedCase>(
    what: &str,
    dir: &Path,
    parse: impl Fn(&str) -> Result<T, String>,
    cases: impl Fn(&T) -> &[C],
    mut run: impl FnMut(&T, &C) -> Result<(), String>,
) {
    let filter = Filter::from_env();
    let mut failures = Vec::new();
    let mut skipped = Vec::new();
    let (mut ran, mut total) = (0, 0);
    for_each_case_file(dir, &mut failures, parse, |file, loaded, failures| {
        let cases = cases(&loaded);
        total += cases.len();
        for case in cases {
            if !filter.runs(case.name()) {
                continue;
            }
            ran += 1;
            match (case.skip(), run(&loaded, case)) {
                (None, Ok(())) => {}
                (None, Err(diff)) => failures.push(format!("{file}: case `{}`\n{diff}", case.name())),
                (Some(reason), Err(_)) => skipped.push(format!("{file}: case `{}`: {reason}", case.name())),
                (Some(reason), Ok(())) => failures.push(format!(
                    "{file}: case `{}` is marked skip ({reason}) but passes now: remove the `skip`",
                    case.name()
                )),
            }
        }
    });
    for s in &skipped {
        let _ = writeln!(std::io::stderr(), "skipped (known engine bug): {s}");
    }
    if !failures.is_empty() {
        panic!("{} {what} case failure(s) ({ran} cases run):\n\n{}\n", failures.len(), failures.join("\n\n"));
    }
    assert!(total > 0, "no {what} cases in {}", dir.display());
    filter.assert_ran(ran, what);
    let _ = writeln!(std::io::stderr(), "{what} cases: {} passed, {} skipped", ran - skipped.len(), skipped.len());
}

/// A line diff: `-` expected only, `+` actual only, ` ` both (longest common
/// subsequence, fine for the few lines compared here).
#[allow(dead_code, reason = "used by tests/parse_cases.rs and tests/request_cases.rs")]
pub fn diff(expected: &[String], actual: &[String]) -> String {
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

/// Reads the byte convention of the case files (tests/cases/transform and
/// tests/cases/requests), left to right: `\\x` is a backslash followed by
/// `x`; `\xHH` is the byte 0xHH; `\x` not followed by two hex digits is an
/// error (a typo, most likely); every other character stands for its UTF-8
/// bytes.
#[allow(dead_code, reason = "used by tests/request_cases.rs and tests/transform_cases.rs")]
pub fn parse_bytes(text: &str) -> Result<Vec<u8>, String> {
    let s = text.as_bytes();
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i..].starts_with(b"\\\\x") {
            out.extend_from_slice(b"\\x");
            i += 3;
        } else if s[i..].starts_with(b"\\x") {
            let hex = s
                .get(i + 2..i + 4)
                .and_then(|h| std::str::from_utf8(h).ok())
                .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| {
                    format!("`\\x` at byte {i} needs two hex digits (write `\\\\x` for a backslash and x)")
                })?;
            out.push(hex);
            i += 4;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// Writes bytes in the convention [`parse_bytes`] reads: printable ASCII as
/// is, other bytes as `\xHH`, a backslash before `x` as `\\x`, and a
/// backslash before another backslash or an escaped byte as `\x5c`.
#[allow(dead_code, reason = "only tests/transform_cases.rs prints values to paste back into a case file")]
pub fn show_bytes(bytes: &[u8]) -> String {
    let escaped = |b: u8| !(0x20..0x7f).contains(&b);
    let mut s = String::new();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match (b, bytes.get(i + 1)) {
            (b'\\', Some(b'x')) => {
                s.push_str("\\\\x");
                i += 2;
                continue;
            }
            (b'\\', Some(&next)) if next == b'\\' || escaped(next) => s.push_str("\\x5c"),
            _ if escaped(b) => s.push_str(&format!("\\x{b:02x}")),
            _ => s.push(char::from(b)),
        }
        i += 1;
    }
    s
}

/// A temporary folder, removed when dropped.
#[allow(dead_code, reason = "used by tests/parse_cases.rs and tests/cli.rs")]
pub struct TempDir(pub PathBuf);

#[allow(dead_code, reason = "used by tests/parse_cases.rs (which reports write errors: `try_write`) and tests/cli.rs")]
impl TempDir {
    /// A new empty folder `rampart-<prefix>-<pid>-<n>-<label>` in the system's
    /// temporary folder; `label` is cleaned to ASCII letters, digits and `-`.
    pub fn new(prefix: &str, label: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let clean: String = label.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("rampart-{prefix}-{}-{n}-{clean}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        TempDir(dir)
    }

    /// The path of `name` in the folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Writes `text` to `name` in the folder, creating the folders on the
    /// way; returns its path, or what could not be created or written.
    pub fn try_write(&self, name: &str, text: &str) -> Result<PathBuf, String> {
        let path = self.path(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(path)
    }

    /// [`TempDir::try_write`], failing the test on an error.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        self.try_write(name, text).unwrap_or_else(|e| panic!("{e}"))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
