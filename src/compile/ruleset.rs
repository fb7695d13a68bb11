//! [`Ruleset`] and [`RulesetBuilder`].

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::config::Config;
use super::ir::{Program, RuleAction};
use super::load::EmbeddedFs;
use super::lower::{Loader, Lowerer};
use super::plan::{Plan, plan};
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
                    direct: members().filter(|m| m.kind == crate::compile::plan::MemberKind::Direct).count(),
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
        self.program.rules.iter().any(|r| !matches!(r.action, RuleAction::Log | RuleAction::Allow))
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
        let program = lowerer.program;
        let plan =
            plan(&program).map_err(|e| RuleErrors::from(RuleError::whole_file(ErrorKind::Check, "<ruleset>", e)))?;
        Ok(Ruleset { id: NEXT_ID.fetch_add(1, Ordering::Relaxed), config, program, plan })
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
