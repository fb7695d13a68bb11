//! Loading and lowering: config and rule files in, [`Program`] out.
//!
//! Loading follows includes (the config's `[rules] include` patterns, and
//! `include` items in rule files) and reads phrase data files. Lowering checks
//! what the parser cannot: regexes compile in linear time, names of data
//! files exist, ids are unique, every rule says what it matches, exclusions
//! name existing rules. Every problem becomes a [`RuleError`] with its place;
//! all of them are reported together.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::config::Config;
use super::ir::*;
use super::load::{self, EmbeddedFs, Fs, RealFs};
use super::regex;
use crate::dsl::ast::{self, Action, Expr, ListLiteral, Operator, PhaseName, PhraseSource, Subject, Target};
use crate::dsl::{ErrorKind, RuleError, SourceFile, Span};
use crate::eval::Phase;
use crate::request::SourceSet;

/// A parsed rule file and where it came from.
pub(crate) struct LoadedFile {
    pub(crate) source: SourceFile,
    dir: PathBuf,
    embedded: bool,
    pub(crate) ast: ast::File,
}

/// Reads files, following includes.
pub(crate) struct Loader {
    pub(crate) files: Vec<LoadedFile>,
    pub(crate) errors: Vec<RuleError>,
    seen: HashSet<(bool, PathBuf)>,
    /// SecLang patterns a config named: (folder, pattern, where it is written).
    pub(crate) seclang: Vec<(PathBuf, String, SourceFile, Span)>,
}

fn fs_for(embedded: bool) -> &'static dyn Fs {
    if embedded { &EmbeddedFs } else { &RealFs }
}

impl Loader {
    pub(crate) fn new() -> Loader {
        Loader { files: Vec::new(), errors: Vec::new(), seen: HashSet::new(), seclang: Vec::new() }
    }

    /// Reads a TOML config and the rule files it includes; returns its settings.
    pub(crate) fn load_config(&mut self, path: &Path, embedded: bool) -> Option<Config> {
        let name = path.display().to_string();
        let text = match fs_for(embedded).read(path) {
            Ok(t) => t,
            Err(e) => {
                self.errors.push(RuleError::whole_file(ErrorKind::Io, &name, format!("cannot read config: {e}")));
                return None;
            }
        };
        let source = SourceFile::new(name, text);
        let (config, includes, seclang) = match Config::from_toml_with_seclang(&source) {
            Ok(x) => x,
            Err(e) => {
                self.errors.push(e);
                return None;
            }
        };
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        for (pattern, span) in includes {
            self.load_pattern(&dir, &pattern, embedded, Some((&source, span)));
        }
        for (pattern, span) in seclang {
            self.seclang.push((dir.clone(), pattern, source.clone(), span));
        }
        Some(config)
    }

    /// Loads every rule file a pattern names.
    pub(crate) fn load_pattern(
        &mut self,
        dir: &Path,
        pattern: &str,
        embedded: bool,
        from: Option<(&SourceFile, Span)>,
    ) {
        let fs = fs_for(embedded);
        match load::expand(fs, dir, pattern) {
            Ok(paths) if paths.is_empty() => {
                let message = format!("no rule file matches `{pattern}` (in {})", show_dir(dir));
                self.errors.push(match from {
                    Some((src, span)) => RuleError::new(ErrorKind::Io, src, span, message),
                    None => RuleError::whole_file(ErrorKind::Io, pattern, message),
                });
            }
            Ok(paths) => {
                for p in paths {
                    self.load_rule_file(&p, embedded, from, &mut Vec::new());
                }
            }
            Err(e) => {
                let message = format!("cannot list rule files for `{pattern}`: {e}");
                self.errors.push(match from {
                    Some((src, span)) => RuleError::new(ErrorKind::Io, src, span, message),
                    None => RuleError::whole_file(ErrorKind::Io, pattern, message),
                });
            }
        }
    }

    /// Parses rule text given inline.
    pub(crate) fn load_text(&mut self, name: &str, text: &str) {
        let source = SourceFile::new(name, text);
        self.add(source, PathBuf::new(), false, &mut Vec::new());
    }

    fn load_rule_file(
        &mut self,
        path: &Path,
        embedded: bool,
        from: Option<(&SourceFile, Span)>,
        stack: &mut Vec<PathBuf>,
    ) {
        let key = (embedded, path.to_path_buf());
        if stack.contains(&key.1) {
            if let Some((src, span)) = from {
                self.errors.push(RuleError::new(
                    ErrorKind::Check,
                    src,
                    span,
                    format!("include cycle: `{}` includes itself", path.display()),
                ));
            }
            return;
        }
        if !self.seen.insert(key) {
            return;
        }
        let text = match fs_for(embedded).read(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData && !embedded => {
                // Not UTF-8: say where, like any other mistake in the file.
                let bytes = std::fs::read(path).unwrap_or_default();
                let at = std::str::from_utf8(&bytes).err().map_or(0, |e| e.valid_up_to());
                let source = SourceFile::new(path.display().to_string(), String::from_utf8_lossy(&bytes).into_owned());
                self.errors.push(RuleError::new(
                    ErrorKind::Syntax,
                    &source,
                    Span::new(at, at + 1),
                    "rule file is not UTF-8 here",
                ));
                return;
            }
            Err(e) => {
                let message = match e.kind() {
                    std::io::ErrorKind::NotFound => {
                        format!("include file not found: `{}`", path.display())
                    }
                    _ => format!("cannot read `{}`: {e}", path.display()),
                };
                self.errors.push(match from {
                    Some((src, span)) => RuleError::new(ErrorKind::Io, src, span, message),
                    None => RuleError::whole_file(ErrorKind::Io, &path.display().to_string(), message),
                });
                return;
            }
        };
        let source = SourceFile::new(path.display().to_string(), text);
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        stack.push(path.to_path_buf());
        self.add(source, dir, embedded, stack);
        stack.pop();
    }

    fn add(&mut self, source: SourceFile, dir: PathBuf, embedded: bool, stack: &mut Vec<PathBuf>) {
        let (ast, errors) = crate::dsl::parse(&source);
        self.errors.extend(errors);
        let includes: Vec<(String, Span)> = ast
            .items
            .iter()
            .filter_map(|i| match i {
                ast::Item::Include(inc) => Some((inc.path.value.clone(), inc.path.span)),
                _ => None,
            })
            .collect();
        let index = self.files.len();
        self.files.push(LoadedFile { source, dir: dir.clone(), embedded, ast });
        for (path, span) in includes {
            let full = load::resolve(&dir, &path);
            let src = self.files[index].source.clone();
            self.load_rule_file(&full, embedded, Some((&src, span)), stack);
        }
    }
}

fn show_dir(dir: &Path) -> String {
    if dir.as_os_str().is_empty() { ".".to_owned() } else { dir.display().to_string() }
}

/// Turns loaded files into a program.
pub(crate) struct Lowerer<'c> {
    pub(crate) program: Program,
    pub(crate) errors: Vec<RuleError>,
    config: &'c Config,
    data: HashMap<(bool, PathBuf), Arc<Vec<String>>>,
}

impl<'c> Lowerer<'c> {
    pub(crate) fn new(config: &'c Config) -> Lowerer<'c> {
        let mut program = Program::default();
        program.pipeline(&[]);
        Lowerer { program, errors: Vec::new(), config, data: HashMap::new() }
    }

    fn error(&mut self, file: &LoadedFile, span: Span, kind: ErrorKind, message: impl Into<String>) {
        self.errors.push(RuleError::new(kind, &file.source, span, message));
    }

    /// Lowers every file: rules first, then exclusions (which name rules).
    pub(crate) fn lower(&mut self, files: &[LoadedFile]) {
        let mut first_seen: HashMap<u32, (usize, Span)> = HashMap::new();
        let mut removed: HashSet<u32> = HashSet::new();
        let mut all: Vec<RuleIr> = Vec::new();
        for (fi, file) in files.iter().enumerate() {
            for item in &file.ast.items {
                let ast::Item::Rule(rule) = item else {
                    continue;
                };
                if let Some((ffi, span)) = first_seen.get(&rule.id.value) {
                    let (line, col) = files[*ffi].source.line_column(span.start as usize);
                    let first = format!("{}:{line}:{col}", files[*ffi].source.name());
                    self.errors.push(
                        RuleError::new(
                            ErrorKind::Check,
                            &file.source,
                            rule.id.span,
                            format!("duplicate rule id {}", rule.id.value),
                        )
                        .with_help(format!("first defined at {first}")),
                    );
                    continue;
                }
                first_seen.insert(rule.id.value, (fi, rule.id.span));
                if let Some(ir) = self.lower_rule(file, rule) {
                    all.push(ir);
                }
            }
        }
        for file in files {
            for item in &file.ast.items {
                let ast::Item::Exclude(ex) = item else {
                    continue;
                };
                self.lower_exclude(file, ex, &mut all, &mut removed, &first_seen);
            }
        }
        let paranoia = self.config.get_paranoia();
        self.program.rules = all.into_iter().filter(|r| r.paranoia <= paranoia && !removed.contains(&r.id)).collect();
    }

    fn lower_rule(&mut self, file: &LoadedFile, rule: &ast::Rule) -> Option<RuleIr> {
        let errors_before = self.errors.len();
        let id = rule.id.value;
        let head = rule.id.span;
        if rule.matcher.is_none() && rule.when.is_none() {
            self.error(
                file,
                head,
                ErrorKind::Check,
                format!("rule {id} has neither `match` nor `when`: say what it matches"),
            );
        }
        if let Some(m) = &rule.matcher {
            if rule.inspect.is_none() {
                self.error(
                    file,
                    m.span,
                    ErrorKind::Check,
                    format!("rule {id} has `match` but no `inspect`: say which fields to scan"),
                );
            }
        } else {
            if let Some(i) = &rule.inspect {
                self.error(file, i.span, ErrorKind::Check, format!("rule {id} has `inspect` but no `match`"));
            }
            if let Some(t) = &rule.transform {
                self.error(file, t.span, ErrorKind::Check, format!("rule {id} has `transform` but no `match`"));
            }
        }
        if rule.severity.is_none() && rule.action.is_none() {
            self.error(
                file,
                head,
                ErrorKind::Check,
                format!("rule {id} needs a `severity` (to add to the anomaly score) or an `action`"),
            );
        }
        let scan = match (&rule.inspect, &rule.matcher) {
            (Some(inspect), Some(m)) => {
                let targets: Vec<TargetIr> = inspect.value.iter().filter_map(|t| self.lower_target(file, t)).collect();
                let transforms: Vec<_> =
                    rule.transform.as_ref().map(|t| t.value.iter().map(|s| s.value).collect()).unwrap_or_default();
                let pipeline = self.program.pipeline(&transforms);
                let (op, flip) = eq_for_ne(&m.value.op);
                let op = self.lower_op(file, &op);
                op.map(|op| Scan { targets, pipeline, op, negated: m.value.negated != flip })
            }
            _ => None,
        };
        let when = rule.when.as_ref().and_then(|w| self.lower_expr(file, &w.value));
        let needed = when.as_ref().map_or(Phase::RequestHeaders, Cond::phase);
        let phase = match &rule.phase {
            Some(p) => {
                let explicit = match p.value {
                    PhaseName::Headers => Phase::RequestHeaders,
                    PhaseName::Body => Phase::RequestBody,
                };
                if explicit < needed {
                    self.error(
                        file,
                        p.span,
                        ErrorKind::Check,
                        format!("rule {id} says `phase headers` but its `when` reads body data"),
                    );
                }
                explicit
            }
            None => needed,
        };
        let action = match rule.action.as_ref().map(|a| a.value) {
            Some(Action::Deny(status)) => RuleAction::Deny(status.unwrap_or(self.config.get_block_status())),
            Some(Action::Allow) => RuleAction::Allow,
            Some(Action::Log) => RuleAction::Log,
            Some(Action::Score(n)) => RuleAction::Score(n),
            None => RuleAction::Score(rule.severity.as_ref().map_or(0, |s| s.value.score())),
        };
        if self.errors.len() > errors_before {
            return None;
        }
        let (line, _) = file.source.line_column(head.start as usize);
        Some(RuleIr {
            kind: RuleKind::Native,
            id,
            message: rule.message.value.as_str().into(),
            severity: rule.severity.as_ref().map(|s| s.value),
            paranoia: rule.paranoia.as_ref().map_or(1, |p| p.value),
            tags: rule.tags.iter().map(|t| Arc::from(t.value.as_str())).collect(),
            action,
            scan,
            when,
            phase,
            exclusions: Vec::new(),
            origin: format!("{}:{line}", file.source.name()).into(),
        })
    }

    fn lower_target(&mut self, file: &LoadedFile, t: &Target) -> Option<TargetIr> {
        let mut target = TargetIr::of(SourceSet::of_collection(t.collection));
        for s in &t.selectors {
            let key = match &s.key {
                ast::KeyPattern::Exact(k) => KeyMatch::Exact(k.to_ascii_lowercase().into_bytes().into()),
                ast::KeyPattern::Regex(r) => {
                    // The selector's span covers `!` and the backticks; the pattern starts after the backtick.
                    let start = s.span.end as usize - r.len() - 1;
                    let span = Span::new(start, start + r.len());
                    match regex::compile(r, &file.source, span, true) {
                        Ok(c) => KeyMatch::Regex(self.program.add_regex(c)),
                        Err(e) => {
                            self.errors.push(e);
                            return None;
                        }
                    }
                }
            };
            if s.negated { target.exclude.push(key) } else { target.include.push(key) }
        }
        Some(target)
    }

    fn lower_op(&mut self, file: &LoadedFile, op: &Operator) -> Option<OpId> {
        let lowered = match op {
            Operator::Regex(r) => match regex::compile(&r.value, &file.source, r.span, false) {
                Ok(c) => OpIr::Regex(self.program.add_regex(c)),
                Err(e) => {
                    self.errors.push(e);
                    return None;
                }
            },
            Operator::Phrases(src) => {
                let phrases: Vec<String> = match src {
                    PhraseSource::List(list) => list.iter().map(|s| s.value.clone()).collect(),
                    PhraseSource::File(path) => match self.data_file(file, path) {
                        Some(list) => list.as_ref().clone(),
                        None => return None,
                    },
                };
                let span = match src {
                    PhraseSource::List(l) => l.first().map_or(Span::default(), |s| s.span),
                    PhraseSource::File(p) => p.span,
                };
                if phrases.is_empty() {
                    self.error(file, span, ErrorKind::Check, "phrase list is empty");
                    return None;
                }
                if let Some(at) = phrases.iter().position(String::is_empty) {
                    let span = match src {
                        PhraseSource::List(l) => l.get(at).map_or(span, |s| s.span),
                        PhraseSource::File(_) => span,
                    };
                    self.error(file, span, ErrorKind::Check, "empty phrase: it would match every value");
                    return None;
                }
                let bytes: Vec<Box<[u8]>> = phrases.iter().map(|p| p.as_bytes().into()).collect();
                let ac = match phrase_automaton(&bytes, MatchKind::LeftmostFirst) {
                    Ok(ac) => ac,
                    Err(e) => {
                        self.error(file, span, ErrorKind::Check, format!("phrase list cannot be compiled: {e}"));
                        return None;
                    }
                };
                OpIr::Phrases { phrases: bytes, ac }
            }
            Operator::Contains(s) | Operator::StartsWith(s) | Operator::EndsWith(s) if s.value.is_empty() => {
                self.error(file, s.span, ErrorKind::Check, "empty string: it would match every value");
                return None;
            }
            Operator::Contains(s) => OpIr::Contains(s.value.as_bytes().into()),
            Operator::StartsWith(s) => OpIr::StartsWith(s.value.as_bytes().into()),
            Operator::EndsWith(s) => OpIr::EndsWith(s.value.as_bytes().into()),
            Operator::Equals(s) => OpIr::Equals(s.value.as_bytes().into()),
            Operator::In(ListLiteral::Strings(list)) => {
                let mut items: Vec<Box<[u8]>> = list.iter().map(|s| s.value.as_bytes().into()).collect();
                items.sort();
                items.dedup();
                OpIr::InStrings(items)
            }
            Operator::In(ListLiteral::Networks(list)) => OpIr::InNetworks(list.iter().map(|c| c.value).collect()),
            Operator::Compare(op, n) => OpIr::Compare(*op, n.value),
            Operator::Length(op, n) => OpIr::Length(*op, n.value),
            Operator::DetectSqli => OpIr::DetectSqli,
            Operator::DetectXss => OpIr::DetectXss,
            Operator::InvalidUtf8 => OpIr::InvalidUtf8,
            Operator::InvalidUrlEncoding => OpIr::InvalidUrlEncoding,
            Operator::ByteRange(ranges) => {
                let mut allowed = [0u64; 4];
                for r in ranges {
                    for b in r.value.0..=r.value.1 {
                        allowed[usize::from(b >> 6)] |= 1 << (b & 63);
                    }
                }
                OpIr::ByteRange(allowed)
            }
        };
        Some(self.program.add_op(lowered))
    }

    fn data_file(&mut self, file: &LoadedFile, path: &ast::Spanned<String>) -> Option<Arc<Vec<String>>> {
        let full = load::resolve(&file.dir, &path.value);
        let key = (file.embedded, full.clone());
        if let Some(list) = self.data.get(&key) {
            return Some(list.clone());
        }
        match fs_for(file.embedded).read(&full) {
            Ok(text) => {
                let list = Arc::new(load::data_lines(&text));
                self.data.insert(key, list.clone());
                Some(list)
            }
            Err(e) => {
                self.error(file, path.span, ErrorKind::Io, load::data_file_error(&full, &e));
                None
            }
        }
    }

    /// An `or`: its alternatives that test the same values with a regex
    /// (`args regex A or args regex B`) become one condition with the
    /// regex `A|B`, so that each value is searched once, not once per regex:
    /// a condition only asks whether some value matches, and "some value
    /// matches A or some value matches B" is "some value matches A|B". The
    /// merged condition takes the place of the group's first alternative.
    /// Negated conditions stay apart; when the alternation is over the regex
    /// engine's size limit the regexes are compiled one by one, so that an
    /// error names the one at fault.
    fn lower_or(&mut self, file: &LoadedFile, parts: &[Expr]) -> Option<Cond> {
        enum Part {
            Done(Cond),
            /// Index into `groups`.
            Group(usize),
            /// A regex alternative merged into an earlier group.
            Merged,
            Failed,
        }
        // Per group: the target, and each regex's syntax tree and place.
        let mut groups: Vec<(TargetIr, Vec<(regex_syntax::hir::Hir, Span)>)> = Vec::new();
        let mut lowered = Vec::with_capacity(parts.len());
        for part in parts {
            if let Expr::Cond(c) = part
                && let (Subject::Values(t), Operator::Regex(r), false) = (&c.subject, &c.op, c.negated)
            {
                let (Some(target), hir) = (self.lower_target(file, t), regex::parse(&r.value, &file.source, r.span))
                else {
                    lowered.push(Part::Failed);
                    continue;
                };
                let hir = match hir {
                    Ok(hir) => hir,
                    Err(e) => {
                        self.errors.push(e);
                        lowered.push(Part::Failed);
                        continue;
                    }
                };
                match groups.iter_mut().position(|(t, _)| t.same_values(&target)) {
                    Some(g) => {
                        groups[g].1.push((hir, r.span));
                        lowered.push(Part::Merged);
                    }
                    None => {
                        groups.push((target, vec![(hir, r.span)]));
                        lowered.push(Part::Group(groups.len() - 1));
                    }
                }
                continue;
            }
            lowered.push(match self.lower_expr(file, part) {
                Some(cond) => Part::Done(cond),
                None => Part::Failed,
            });
        }
        if lowered.iter().any(|p| matches!(p, Part::Failed)) {
            return None;
        }
        let mut conds = Vec::with_capacity(lowered.len());
        let mut groups: Vec<Option<_>> = groups.into_iter().map(Some).collect();
        for part in lowered {
            match part {
                Part::Done(cond) => conds.push(cond),
                Part::Group(g) => {
                    let Some((target, regexes)) = groups[g].take() else { continue };
                    let span = regexes[0].1;
                    let merged = if regexes.len() == 1 {
                        regexes.into_iter().next().map(|(hir, span)| regex::compile_hir(hir, &file.source, span))
                    } else {
                        let hir = regex_syntax::hir::Hir::alternation(regexes.iter().map(|(h, _)| h.clone()).collect());
                        match regex::compile_hir(hir, &file.source, span) {
                            Ok(c) => Some(Ok(c)),
                            Err(_) => {
                                // Over the size limit together: one condition per regex.
                                for (hir, span) in regexes {
                                    let compiled = regex::compile_hir(hir, &file.source, span);
                                    conds.push(self.regex_condition(target.clone(), compiled)?);
                                }
                                None
                            }
                        }
                    };
                    if let Some(compiled) = merged {
                        conds.push(self.regex_condition(target, compiled)?);
                    }
                }
                Part::Merged | Part::Failed => {}
            }
        }
        Some(Cond::Or(conds))
    }

    /// The condition "some value of `target` matches the regex", recording
    /// the regex's error if it has one.
    fn regex_condition(&mut self, target: TargetIr, compiled: Result<regex::CompiledRegex, RuleError>) -> Option<Cond> {
        match compiled {
            Ok(c) => {
                let regex = self.program.add_regex(c);
                let op = self.program.add_op(OpIr::Regex(regex));
                Some(Cond::Values { target, pipeline: 0, op, negated: false })
            }
            Err(e) => {
                self.errors.push(e);
                None
            }
        }
    }

    fn lower_expr(&mut self, file: &LoadedFile, e: &Expr) -> Option<Cond> {
        Some(match e {
            Expr::Or(parts) => self.lower_or(file, parts)?,
            Expr::And(parts) => Cond::And(parts.iter().map(|p| self.lower_expr(file, p)).collect::<Option<Vec<_>>>()?),
            Expr::Not(inner) => Cond::Not(Box::new(self.lower_expr(file, inner)?)),
            Expr::Flag(f) => Cond::Flag(f.value),
            Expr::Cond(c) => match &c.subject {
                Subject::Values(t) => {
                    let target = self.lower_target(file, t)?;
                    let (op, flip) = eq_for_ne(&c.op);
                    let op = self.lower_op(file, &op)?;
                    Cond::Values { target, pipeline: 0, op, negated: c.negated != flip }
                }
                Subject::Count(t) => {
                    let target = self.lower_target(file, t)?;
                    let Operator::Compare(op, n) = &c.op else {
                        self.error(
                            file,
                            c.span,
                            ErrorKind::Check,
                            "`count(...)` needs a numeric comparison such as `> 10`",
                        );
                        return None;
                    };
                    Cond::Count { target, op: *op, value: n.value, negated: c.negated }
                }
            },
        })
    }

    fn lower_exclude(
        &mut self,
        file: &LoadedFile,
        ex: &ast::Exclude,
        rules: &mut [RuleIr],
        removed: &mut HashSet<u32>,
        defined: &HashMap<u32, (usize, Span)>,
    ) {
        let mut chosen: Vec<usize> = Vec::new();
        for sel in &ex.rules {
            let before = chosen.len();
            for (i, r) in rules.iter().enumerate() {
                let hit = match sel {
                    ast::RuleSelector::Id(id) => r.id == id.value,
                    ast::RuleSelector::Range(a, b) => (a.value..=b.value).contains(&r.id),
                    ast::RuleSelector::Tag(t) => r.tags.iter().any(|x| **x == *t.value),
                };
                if hit && !chosen.contains(&i) {
                    chosen.push(i);
                }
            }
            // A rule that is defined but did not compile has its own error already.
            if let ast::RuleSelector::Id(id) = sel
                && chosen.len() == before
                && !defined.contains_key(&id.value)
            {
                self.error(
                    file,
                    id.span,
                    ErrorKind::Check,
                    format!("`exclude` names rule {}, which does not exist", id.value),
                );
            }
        }
        let targets: Vec<TargetIr> = ex.targets.iter().filter_map(|t| self.lower_target(file, t)).collect();
        if targets.len() != ex.targets.len() {
            return;
        }
        let condition = match &ex.when {
            Some(w) => match self.lower_expr(file, w) {
                Some(c) => {
                    self.program.exclusions.push(ExclusionIr { when: c });
                    Some((self.program.exclusions.len() - 1) as u32)
                }
                None => return,
            },
            None => None,
        };
        for i in chosen {
            if targets.is_empty() {
                match condition {
                    None => {
                        removed.insert(rules[i].id);
                    }
                    Some(_) => rules[i].exclusions.push(RuleExclusion { target: None, condition }),
                }
            } else {
                for t in &targets {
                    rules[i].exclusions.push(RuleExclusion { target: Some(t.clone()), condition });
                }
            }
        }
    }
}

/// `!= N` is the negation of `== N`, as `!= "s"` is of `== "s"`: true when no
/// value equals N, a missing or non-numeric value included. Returns the
/// operator to compile and whether to flip the negation.
fn eq_for_ne(op: &Operator) -> (Operator, bool) {
    match op {
        Operator::Compare(ast::CmpOp::Ne, n) => (Operator::Compare(ast::CmpOp::Eq, n.clone()), true),
        other => (other.clone(), false),
    }
}

/// An ASCII case-insensitive automaton over phrases.
pub(crate) fn phrase_automaton(
    phrases: &[Box<[u8]>],
    kind: MatchKind,
) -> Result<AhoCorasick, aho_corasick::BuildError> {
    AhoCorasickBuilder::new().ascii_case_insensitive(true).match_kind(kind).build(phrases)
}
