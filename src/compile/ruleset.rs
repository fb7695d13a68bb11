//! [`Ruleset`] and [`RulesetBuilder`].

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::config::Config;
use super::ir::{Program, RuleAction, RuleKind};
use super::load::EmbeddedFs;
use super::lower::{Loader, Lowerer};
use super::plan::{HeaderNames, Plan, plan};
use super::sec_lower::{SecLoader, SecLowerer};
use crate::dsl::ast::Severity;
use crate::dsl::{ErrorKind, RuleError, RuleErrors};
use crate::eval::Scratch;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A compiled rule set: immutable, `Send + Sync`, shared by every thread
/// (usually behind an `Arc`). Compile a new one to reload; transactions keep
/// the ruleset they started with.
///
/// # Example
///
/// ```
/// use rampart::Ruleset;
///
/// let ruleset = Ruleset::from_rules(r#"
///     rule 1 "Path traversal" {
///         severity  critical
///         inspect   args
///         transform url_decode
///         match     contains "../"
///     }
/// "#).expect("valid rules");
/// assert_eq!(ruleset.rule_count(), 1);
/// ```
#[derive(Debug)]
pub struct Ruleset {
    id: u64,
    config: Config,
    pub(crate) program: Program,
    pub(crate) plan: Plan,
}

/// Counts describing a compiled rule set (what `rampart check` prints).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Summary {
    /// Rules compiled (after paranoia gating and exclusions).
    pub rules: usize,
    /// Rules that scan fields (`match`).
    pub scanning_rules: usize,
    /// Rules that only decide (`when`).
    pub deciding_rules: usize,
    /// (source, pipeline) groups.
    pub groups: usize,
    /// Distinct scanners (groups with the same rules share one).
    pub scanners: usize,
    /// Distinct transform pipelines.
    pub pipelines: usize,
    /// Regexes compiled.
    pub regexes: usize,
    /// Regexes with a required-literal prefilter.
    pub prefiltered_regexes: usize,
    /// Conditional exclusions.
    pub exclusions: usize,
}

/// Facts about one (value source, transform pipeline) group.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct GroupInfo<'a> {
    /// The value source: `args (query)`, `headers`, `path`, ...
    pub source: &'static str,
    /// The transform pipeline.
    pub transforms: &'a [crate::Transform],
    /// Rules in the group.
    pub rules: usize,
    /// Literal patterns in its Aho-Corasick automaton.
    pub literals: usize,
    /// Regexes in its multi-regex set (those without a literal prefilter).
    pub set_regexes: usize,
    /// Operators evaluated directly.
    pub direct: usize,
}

/// Facts about one compiled rule.
#[derive(Clone, Copy, Debug)]
pub struct RuleInfo<'a> {
    /// The id.
    pub id: u32,
    /// The message.
    pub message: &'a str,
    /// The severity, if written.
    pub severity: Option<Severity>,
    /// Paranoia level 1-4.
    pub paranoia: u8,
    /// Where it was defined, `file:line`.
    pub origin: &'a str,
}

impl Ruleset {
    /// A builder for a ruleset from config files, rule files or rule text.
    pub fn builder() -> RulesetBuilder {
        RulesetBuilder::default()
    }

    /// The built-in default rule set (rules/ in the source tree, compiled into
    /// the library) with its rampart.toml settings.
    pub fn default_rules() -> Result<Ruleset, RuleErrors> {
        Ruleset::builder().default_rules().build()
    }

    /// Loads a TOML engine config and the rule files it includes (paths in
    /// the config are relative to its folder).
    ///
    /// # Example
    ///
    /// ```
    /// use rampart::{Mode, Ruleset};
    ///
    /// // The default rule set's own config, read from the source tree.
    /// let ruleset = Ruleset::from_config_file("rules/rampart.toml").expect("valid config and rules");
    /// assert_eq!(ruleset.config().get_mode(), Mode::Block);
    /// assert!(ruleset.rule_count() > 10);
    ///
    /// // A missing file is an error that names it.
    /// let err = Ruleset::from_config_file("no/such/rampart.toml").unwrap_err();
    /// assert!(err.to_string().starts_with("no/such/rampart.toml: error: cannot read config"));
    /// ```
    pub fn from_config_file(path: impl AsRef<Path>) -> Result<Ruleset, RuleErrors> {
        Ruleset::builder().config_file(path).build()
    }

    /// Compiles rule text with the default settings; errors name `<inline>`.
    pub fn from_rules(text: &str) -> Result<Ruleset, RuleErrors> {
        Ruleset::builder().source("<inline>", text).build()
    }

    /// A number unique to this ruleset in this process (a [`Scratch`] uses it to
    /// notice that it must follow a reload).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The effective settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The number of rules compiled.
    pub fn rule_count(&self) -> usize {
        self.program.rules.len()
    }

    /// The compiled rules, in order.
    pub fn rules(&self) -> impl Iterator<Item = RuleInfo<'_>> {
        self.program.rules.iter().map(|r| RuleInfo {
            id: r.id,
            message: &r.message,
            severity: r.severity,
            paranoia: r.paranoia,
            origin: &r.origin,
        })
    }

    /// Counts of rules, groups and automata.
    pub fn summary(&self) -> Summary {
        let scanning = self.program.rules.iter().filter(|r| r.scan.is_some()).count();
        Summary {
            rules: self.program.rules.len(),
            scanning_rules: scanning,
            deciding_rules: self.program.rules.len() - scanning,
            groups: self.plan.sources.iter().map(|s| s.groups.len()).sum(),
            scanners: self.plan.scanners.len(),
            pipelines: self.program.pipelines.len(),
            regexes: self.program.regexes.len(),
            prefiltered_regexes: self.program.regexes.iter().filter(|r| r.literals.is_some()).count(),
            exclusions: self.program.exclusions.len(),
        }
    }

    /// The groups the planner made, by value source.
    pub fn groups(&self) -> impl Iterator<Item = GroupInfo<'_>> {
        crate::request::Source::ALL.into_iter().flat_map(move |source| {
            let sp = &self.plan.sources[source.index()];
            sp.groups.iter().map(move |group| {
                let scanner = &self.plan.scanners[sp.scanners[usize::from(group.chunk)] as usize];
                let members = || scanner.members.iter().filter(|m| m.group == group.bit);
                let literals = scanner
                    .ac_owners
                    .iter()
                    .filter(|owners| {
                        owners.iter().any(|o| {
                            let m = match o {
                                crate::compile::plan::AcOwner::Phrase(m)
                                | crate::compile::plan::AcOwner::Candidate(m)
                                | crate::compile::plan::AcOwner::Literal { member: m, .. } => *m,
                            };
                            scanner.members[m as usize].group == group.bit
                        })
                    })
                    .count();
                GroupInfo {
                    source: source.label(),
                    transforms: &self.program.pipelines[group.pipeline as usize],
                    rules: members().count(),
                    literals,
                    set_regexes: members().filter(|m| m.kind == crate::compile::plan::MemberKind::Set).count(),
                    direct: members()
                        .filter(|m| {
                            matches!(
                                m.kind,
                                crate::compile::plan::MemberKind::Direct
                                    | crate::compile::plan::MemberKind::Conditional(..)
                            )
                        })
                        .count(),
                }
            })
        })
    }

    /// Working memory for evaluating requests against this ruleset on one thread.
    pub fn create_scratch(&self) -> Scratch {
        Scratch::for_ruleset(self)
    }

    /// True when some compiled rule can deny or score (used by hosts to skip work).
    pub fn blocks_anything(&self) -> bool {
        self.program
            .rules
            .iter()
            .any(|r| r.kind == RuleKind::Native && !matches!(r.action, RuleAction::Log | RuleAction::Allow))
            || self
                .program
                .sec
                .as_ref()
                .is_some_and(|s| s.rules.iter().any(|r| matches!(r.disruptive, super::sec_ir::Disruptive::Deny(_))))
    }

    /// True when the ruleset has SecLang (ModSecurity) rules.
    pub fn has_seclang(&self) -> bool {
        self.program.sec.is_some()
    }

    /// What the SecLang files use that rampart does not support (fully),
    /// each with its place. Empty without SecLang rules.
    pub fn warnings(&self) -> &[crate::Warning] {
        self.program.sec.as_ref().map_or(&[], |s| &s.warnings)
    }

    /// Counts describing the SecLang rules (None without SecLang rules).
    pub fn seclang_stats(&self) -> Option<super::sec_ir::SecStats> {
        self.program.sec.as_ref().map(|s| s.stats)
    }
}

/// Builds a [`Ruleset`]. Settings layer: built-in defaults, then the config
/// file, then [`RulesetBuilder::configure`].
///
/// # Example
///
/// ```
/// use rampart::{Config, Mode, Ruleset};
///
/// let ruleset = Ruleset::builder()
///     .configure(Config::new().mode(Mode::Detect).paranoia(2))
///     .source("inline.rules", "rule 1 { severity notice inspect args match contains \"x\" }")
///     .build()
///     .expect("valid rules");
/// assert_eq!(ruleset.config().get_paranoia(), 2);
/// ```
#[derive(Clone, Debug, Default)]
pub struct RulesetBuilder {
    overrides: Config,
    config_file: Option<PathBuf>,
    builtin: bool,
    files: Vec<PathBuf>,
    sources: Vec<(String, String)>,
    /// SecLang files and texts, in the order given.
    seclang: Vec<SecItem>,
}

/// A SecLang input of the builder.
#[derive(Clone, Debug)]
enum SecItem {
    File(PathBuf),
    Text(String, String),
}

impl RulesetBuilder {
    /// Layers settings over the config file's.
    pub fn configure(&mut self, config: Config) -> &mut RulesetBuilder {
        self.overrides = std::mem::take(&mut self.overrides).overwrite(config);
        self
    }

    /// Uses a TOML engine config; its `[rules] include` patterns are loaded.
    pub fn config_file(&mut self, path: impl AsRef<Path>) -> &mut RulesetBuilder {
        self.config_file = Some(path.as_ref().to_path_buf());
        self.builtin = false;
        self
    }

    /// Uses the built-in default rule set and its config.
    pub fn default_rules(&mut self) -> &mut RulesetBuilder {
        self.config_file = None;
        self.builtin = true;
        self
    }

    /// Adds a rule file (its includes are followed).
    pub fn file(&mut self, path: impl AsRef<Path>) -> &mut RulesetBuilder {
        self.files.push(path.as_ref().to_path_buf());
        self
    }

    /// Adds rule text; `name` is how errors refer to it.
    pub fn source(&mut self, name: impl Into<String>, text: impl Into<String>) -> &mut RulesetBuilder {
        self.sources.push((name.into(), text.into()));
        self
    }

    /// Adds SecLang (ModSecurity) files: a path or a `*` pattern such as
    /// `crs/rules/*.conf`, loaded in name order after those the config
    /// names. `@pmFromFile` data files are found next to each file.
    ///
    /// # Example
    ///
    /// ```
    /// use rampart::{Phase, Ruleset, Transaction};
    /// use std::sync::Arc;
    ///
    /// let ruleset = Arc::new(
    ///     Ruleset::builder()
    ///         .seclang_source("inline.conf", r#"SecRule ARGS "@contains ../" "id:1,phase:2,deny,status:403""#)
    ///         .build()
    ///         .unwrap(),
    /// );
    /// let mut scratch = ruleset.create_scratch();
    /// let mut tx = Transaction::new(ruleset.clone());
    /// tx.set_request("GET", "/?f=../etc/passwd", "HTTP/1.1");
    /// assert!(tx.evaluate(Phase::RequestBody, &mut scratch).is_blocked());
    /// ```
    pub fn seclang(&mut self, path: impl AsRef<Path>) -> &mut RulesetBuilder {
        self.seclang.push(SecItem::File(path.as_ref().to_path_buf()));
        self
    }

    /// Adds SecLang text; `name` is how errors refer to it (relative data
    /// file paths start at the current folder). Files and texts load in the
    /// order they are added, so settings given as text before the CRS files
    /// act as `crs-setup.conf` would.
    pub fn seclang_source(&mut self, name: impl Into<String>, text: impl Into<String>) -> &mut RulesetBuilder {
        self.seclang.push(SecItem::Text(name.into(), text.into()));
        self
    }

    /// Loads, checks and compiles everything. Every error found is returned.
    pub fn build(&self) -> Result<Ruleset, RuleErrors> {
        let mut loader = Loader::new();
        let mut config = Config::new();
        if self.builtin
            && let Some(c) = loader.load_config(Path::new(EmbeddedFs::CONFIG), true)
        {
            config = c;
        }
        if let Some(path) = &self.config_file
            && let Some(c) = loader.load_config(path, false)
        {
            config = config.overwrite(c);
        }
        for pattern in self.overrides.includes() {
            loader.load_pattern(Path::new(""), pattern, false, None);
        }
        config = config.overwrite(self.overrides.clone());
        for file in &self.files {
            let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
            let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            loader.load_pattern(&dir, &name, false, None);
        }
        for (name, text) in &self.sources {
            loader.load_text(name, text);
        }
        let mut errors = std::mem::take(&mut loader.errors);
        let mut lowerer = Lowerer::new(&config);
        lowerer.lower(&loader.files);
        errors.append(&mut lowerer.errors);
        if !errors.is_empty() {
            return Err(RuleErrors::from_vec(errors));
        }
        let mut program = lowerer.program;
        // SecLang: settings the config sets explicitly come first (as
        // modsec-runner and CRS CI put theirs before crs-setup.conf).
        let mut sec_loader = SecLoader::default();
        let mut settings = String::new();
        if let Some(p) = config.paranoia_set() {
            settings.push_str(&format!(
                "SecAction \"id:4294960001,phase:1,pass,nolog,setvar:tx.blocking_paranoia_level={p},setvar:tx.detection_paranoia_level={p},setvar:tx.paranoia_level={p},setvar:tx.executing_paranoia_level={p}\"\n"
            ));
        }
        if let Some(t) = config.anomaly_threshold_set() {
            settings.push_str(&format!(
                "SecAction \"id:4294960002,phase:1,pass,nolog,setvar:tx.inbound_anomaly_score_threshold={t}\"\n"
            ));
        }
        for (dir, pattern, source, span) in &loader.seclang {
            sec_loader.load_pattern(dir, pattern, Some((source, *span)));
        }
        for pattern in config.seclang_includes().iter().skip(loader.seclang.len()) {
            sec_loader.load_pattern(Path::new(""), pattern, None);
        }
        for item in &self.seclang {
            match item {
                SecItem::File(path) => {
                    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
                    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                    sec_loader.load_pattern(&dir, &name, None);
                }
                SecItem::Text(name, text) => sec_loader.load_text(name, text, Path::new("")),
            }
        }
        if !sec_loader.is_empty() {
            let mut full = SecLoader::default();
            if !settings.is_empty() {
                full.load_text("<rampart settings>", &settings, Path::new(""));
            }
            full.files.append(&mut sec_loader.files);
            let offset = u32::from(!settings.is_empty());
            full.directives.extend(sec_loader.directives.drain(..).map(|(f, d)| (f + offset, d)));
            full.errors.append(&mut sec_loader.errors);
            let mut errors = std::mem::take(&mut full.errors);
            let (sec, mut sec_errors) = SecLowerer::new(&mut program, &full.files).lower(&full.directives);
            errors.append(&mut sec_errors);
            if !errors.is_empty() {
                return Err(RuleErrors::from_vec(errors));
            }
            if config.mode_set().is_none()
                && let Some(m) = sec.engine
            {
                config = config.mode(m);
            }
            program.sec = Some(sec);
        }
        program.index_condition_headers();
        let plan =
            plan(&program).map_err(|e| RuleErrors::from(RuleError::whole_file(ErrorKind::Check, "<ruleset>", e)))?;
        let mut ruleset = Ruleset { id: NEXT_ID.fetch_add(1, Ordering::Relaxed), config, program, plan };
        ruleset.plan.clean_header_names = HeaderNames::new(crate::eval::exec::clean_header_names(&ruleset));
        // The SQL injection detector's keyword index is built once per
        // process (~2M instructions); build it here rather than in the first
        // request that needs it (a host that compiles before forking, as
        // nginx's master does, gives it to every worker).
        if ruleset.program.ops.iter().any(|op| matches!(op, crate::compile::ir::OpIr::DetectSqli)) {
            crate::eval::op::warm_sqli();
        }
        Ok(ruleset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn ruleset_is_send_and_sync() {
        assert_send_sync::<Ruleset>();
    }

    #[test]
    fn the_default_rules_compile() {
        let rs = Ruleset::default_rules().unwrap_or_else(|e| panic!("{e}"));
        assert!(rs.rule_count() > 0);
    }

    #[test]
    fn errors_from_several_files_are_all_reported() {
        let err = Ruleset::builder()
            .source("a.rules", "rule 1 { severity critical inspect args match regex `(a` }")
            .source(
                "b.rules",
                "rule 1 { severity critical inspect args match contains \"x\" }\nrule 2 { severity notice }",
            )
            .build()
            .unwrap_err();
        let shorts: Vec<String> = err.errors().iter().map(|e| e.short()).collect();
        assert_eq!(
            shorts,
            [
                "a.rules:1:54: error: invalid regex: unclosed group",
                "b.rules:1:6: error: duplicate rule id 1",
                "b.rules:2:6: error: rule 2 has neither `match` nor `when`: say what it matches",
            ]
        );
    }
}
