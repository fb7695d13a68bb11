//! The `rampart` command line: check, fmt, scan, bench, test, ftw.
#![deny(unsafe_code)] // alloc.rs, the counting allocator, is the one module allowed `unsafe`

mod alloc;
mod bench;
mod corpus;
mod ftw;
mod scan;
mod test;

#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use rampart::dsl::{self, SourceFile};
use rampart::{Config, Mode, Ruleset};

const USAGE: &str = "\
rampart: an embedded web application firewall engine

usage:
  rampart check [--config FILE] [--paranoia N] [--seclang FILE]... [--crs DIR] [RULES...]
      compile the rule set (the config's, the given rule files, SecLang files,
      or the built-in default) and print its rules and groups; errors give
      file:line:column; for SecLang, rule counts and every unsupported item
  rampart import-seclang DIR
      the same as `check --crs DIR`: load a CRS installation (crs-setup.conf,
      rules/*.conf and their .data files) and report what is unsupported
  rampart fmt [--write] FILE...
      print rule files in canonical form (--write rewrites them in place)
  rampart scan [--config FILE] [--paranoia N] [--mode block|detect] [--out FILE]
               [--audit FILE] [--json] CORPUS.jsonl...
      evaluate labelled requests (JSON lines) and print detection and
      false-positive rates per class; --out writes one JSON line per request,
      --audit the audit event of each request a rule matched, --json prints
      the summary as JSON on the last line

  rampart bench [--config FILE] [--paranoia N] [--warmup K] [--repeat N] [--cold] [--json] CORPUS.jsonl...
      evaluate the corpora repeatedly on one thread; print median and p99
      microseconds per request, requests/s, MB/s of request bytes, allocations
      per request, peak memory, compile time and the value cache's hit rate
      (--json: one JSON object last). The value cache is emptied before each
      pass; --cold empties it before every request

  rampart test [--config FILE] [--paranoia N] [--rule ID] [-v] [TESTS...]
      run the rule tests (default rules/tests/*.toml); exit 1 on any failure

  rampart ftw --crs DIR [--json] [--out FILE] [--verbose] TESTS.jsonl
      run the CRS regression tests (JSON lines with expect_rules and
      no_expect_rules) with CRS CI settings (paranoia 4, detection only,
      tx.arg_length=400, ...); print pass rates overall and per rule family,
      with and without the official nginx overrides, and the failing tests

Rule set options of check, scan, bench and test: --config FILE (rampart.toml),
--paranoia N, --mode block|detect, --seclang FILE (repeatable), --crs DIR
(crs-setup.conf or crs-setup.conf.example, then rules/*.conf).

Without --config, the built-in default rules are used.
";

/// Options shared by the commands that build a ruleset.
#[derive(Default)]
pub struct RulesetArgs {
    pub config: Option<PathBuf>,
    pub paranoia: Option<u8>,
    pub mode: Option<Mode>,
    pub files: Vec<PathBuf>,
    /// SecLang texts loaded before any SecLang file (settings).
    pub seclang_settings: Vec<(String, String)>,
    pub seclang: Vec<PathBuf>,
    pub crs: Option<PathBuf>,
}

impl RulesetArgs {
    /// Takes a ruleset option if `arg` is one; true when it was.
    fn take(&mut self, arg: &str, args: &mut impl Iterator<Item = String>) -> Result<bool> {
        match arg {
            "--config" | "-c" => self.config = Some(value(arg, args)?.into()),
            "--paranoia" => {
                let v = value(arg, args)?;
                match v.parse::<u8>() {
                    Ok(n @ 1..=4) => self.paranoia = Some(n),
                    _ => bail!("--paranoia takes 1, 2, 3 or 4, not `{v}`"),
                }
            }
            "--seclang" => self.seclang.push(value(arg, args)?.into()),
            "--crs" => self.crs = Some(value(arg, args)?.into()),
            "--mode" => {
                let v = value(arg, args)?;
                self.mode =
                    Some(Mode::from_name(&v).with_context(|| format!("--mode takes block, detect or off, not `{v}`"))?);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Builds the ruleset, printing every error on failure.
    pub fn build(&self) -> Result<Ruleset, ExitCode> {
        let mut b = Ruleset::builder();
        let has_seclang = !self.seclang.is_empty() || self.crs.is_some();
        match &self.config {
            Some(c) => {
                b.config_file(c);
            }
            None if self.files.is_empty() && !has_seclang => {
                b.default_rules();
            }
            None => {}
        }
        for f in &self.files {
            b.file(f);
        }
        for (name, text) in &self.seclang_settings {
            b.seclang_source(name.as_str(), text.as_str());
        }
        if let Some(dir) = &self.crs {
            let setup = dir.join("crs-setup.conf");
            b.seclang(if setup.exists() { setup } else { dir.join("crs-setup.conf.example") });
            b.seclang(dir.join("rules").join("*.conf"));
        }
        for f in &self.seclang {
            b.seclang(f);
        }
        let mut overrides = Config::new();
        if let Some(p) = self.paranoia {
            overrides = overrides.paranoia(p);
        }
        if let Some(m) = self.mode {
            overrides = overrides.mode(m);
        }
        b.configure(overrides);
        b.build().map_err(|errors| {
            eprintln!("{errors}");
            ExitCode::from(1)
        })
    }
}

fn value(flag: &str, args: &mut impl Iterator<Item = String>) -> Result<String> {
    args.next().with_context(|| format!("{flag} needs a value"))
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        // A closed pipe (`rampart check | head`) is not an error of ours.
        Err(e) if e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) => {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<ExitCode> {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    match command.as_str() {
        "check" => check(args),
        "import-seclang" => {
            let dir = args.next().context("import-seclang needs a CRS folder")?;
            check(["--crs".to_owned(), dir].into_iter().chain(args))
        }
        "ftw" => ftw::run(args),
        "fmt" => fmt(args),
        "scan" => scan::run(args),
        "bench" => bench::run(args),
        "test" => test::run(args),
        "help" | "--help" | "-h" => {
            out!("{}", USAGE.trim_end());
            Ok(ExitCode::SUCCESS)
        }
        "" => {
            eprint!("{USAGE}");
            Ok(ExitCode::from(2))
        }
        other => {
            eprintln!("error: unknown command `{other}`\n\n{USAGE}");
            Ok(ExitCode::from(2))
        }
    }
}

/// `println!` that returns an error instead of panicking when stdout is closed.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?
    }};
}

fn check(mut args: impl Iterator<Item = String>) -> Result<ExitCode> {
    let mut opts = RulesetArgs::default();
    let mut verbose = false;
    while let Some(arg) = args.next() {
        if opts.take(&arg, &mut args)? {
            continue;
        }
        match arg.as_str() {
            "--verbose" | "-v" => verbose = true,
            a if a.starts_with('-') => bail!("unknown option `{a}` for check"),
            _ => opts.files.push(arg.into()),
        }
    }
    let ruleset = match opts.build() {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    let s = ruleset.summary();
    let c = ruleset.config();
    out!(
        "ok: {} rules ({} scanning, {} deciding) at paranoia {}, mode {}, threshold {}",
        s.rules,
        s.scanning_rules,
        s.deciding_rules,
        c.get_paranoia(),
        c.get_mode().name(),
        c.get_anomaly_threshold()
    );
    out!(
        "    {} groups sharing {} scanners, {} transform pipelines, {} regexes ({} with a literal prefilter), {} conditional exclusions",
        s.groups,
        s.scanners,
        s.pipelines,
        s.regexes,
        s.prefiltered_regexes,
        s.exclusions
    );
    if let Some(st) = ruleset.seclang_stats() {
        out!(
            "seclang: {} directives, {} rules ({} removed by configuration, {} of phases 3-5 not evaluated)",
            st.directives,
            st.rules,
            st.removed,
            st.response_rules
        );
        out!(
            "    request phases: {} rules evaluated, {} unreachable with this configuration (paranoia level), {} prefiltered in the shared automaton passes",
            st.active,
            st.unreachable,
            st.prefiltered
        );
        let warnings = ruleset.warnings();
        if warnings.is_empty() {
            out!("    nothing unsupported");
        } else {
            out!("    {} unsupported or ignored items:", warnings.len());
            for w in warnings {
                out!("    {w}");
            }
        }
    }
    out!("groups (value source / transform pipeline: rules, automata):");
    for g in ruleset.groups() {
        let pipeline = if g.transforms.is_empty() {
            "none".to_owned()
        } else {
            g.transforms.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ")
        };
        out!(
            "  {:<24} {:<50} {:>4} rules: {} literals, {} set regexes, {} direct",
            g.source,
            pipeline,
            g.rules,
            g.literals,
            g.set_regexes,
            g.direct
        );
    }
    if verbose {
        out!("rules:");
        for r in ruleset.rules() {
            let sev = r.severity.map_or("-", |s| s.name());
            out!("  {:>8}  pl{}  {:<8}  {}  ({})", r.id, r.paranoia, sev, r.message, r.origin);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn fmt(args: impl Iterator<Item = String>) -> Result<ExitCode> {
    let mut write = false;
    let mut files = Vec::new();
    for arg in args {
        match arg.as_str() {
            "--write" | "-w" => write = true,
            a if a.starts_with('-') => bail!("unknown option `{a}` for fmt"),
            _ => files.push(arg),
        }
    }
    if files.is_empty() {
        bail!("fmt needs at least one rule file");
    }
    let mut failed = false;
    for path in files {
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
        let source = SourceFile::new(path.as_str(), text.as_str());
        let (file, comments, errors) = dsl::parse_with_comments(&source);
        if !errors.is_empty() {
            eprintln!("{}", rampart::RuleErrors::from_errors(errors));
            failed = true;
            continue;
        }
        let formatted = dsl::format_file_with_comments(&file, &comments, &source);
        if write {
            if formatted != text {
                std::fs::write(&path, formatted).with_context(|| format!("cannot write {path}"))?;
                eprintln!("formatted {path}");
            }
        } else {
            {
                use std::io::Write as _;
                std::io::stdout().lock().write_all(formatted.as_bytes())?;
            }
        }
    }
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
