//! SecLang lowering: directives in, [`SecProgram`] (plus prefilter scans in
//! the shared [`Program`]) out.
//!
//! # Stages
//! 1. **Loading** ([`SecLoader`]): files named by the config (`*` patterns,
//!    relative to the config), `Include` directives inside them (relative to
//!    the including file), read in order into one directive stream.
//! 2. **Collecting**: configuration directives are applied
//!    (`SecRuleEngine`, `SecDefaultAction`, removals and target updates);
//!    `SecRule` / `SecAction` directives become rules, `chain` gluing links.
//! 3. **Lowering** each rule: variables to [`Target`]s, the operator to an
//!    [`OpIr`] (static argument) or a [`SecOp::Dynamic`] (macros in it),
//!    transformations to a pipeline, actions to `setvar`s, `ctl`s, a
//!    disruptive action, `skipAfter`, messages with macros.
//! 4. **Static analysis**: ModSecurity configures CRS through TX variables
//!    (`tx.detection_paranoia_level`...) set by unconditional `SecAction`s and
//!    "set if unset" rules; rules then `skipAfter` whole paranoia levels. The
//!    analysis walks each request phase once with an abstract TX store (known
//!    value, known unset, unknown), joining states where `skipAfter` jumps
//!    land, and finds the rules no request can reach (with PL1 configured,
//!    every PL2-4 rule). Those are dropped: they cost nothing at run time and
//!    their patterns stay out of the automata. A rule whose outcome the
//!    analysis relies on is never one a run-time `ctl:ruleRemoveBy*` could
//!    remove unless that `ctl` would also remove every rule it skips.
//! 5. **Prefilter registration**: for each remaining rule whose first link
//!    applies a static operator to request values rampart has as sources
//!    (ARGS, headers, cookies, files, URI parts, body), an IR rule with that
//!    scan joins the planner's groups, so it shares the per-(source,
//!    pipeline) automaton passes with every other rule. Targets without a
//!    source (TX, counts, MATCHED_VARS) stay *residual*: evaluated directly.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aho_corasick::MatchKind;

use super::config::Mode;
use super::ir::*;
use super::load::{self, Fs, RealFs};
use super::lower::phrase_automaton;
use super::regex::{self, Flags};
use super::sec_ir::*;
use crate::dsl::ast::{Cidr, CmpOp, Severity};
use crate::dsl::{ErrorKind, RuleError, SourceFile, Span};
use crate::eval::Phase;
use crate::request::SourceSet;
use crate::seclang::Warning;
use crate::seclang::ast::*;
use crate::seclang::parser;
use crate::transform::Transform;

/// Deepest `Include` nesting followed.
const MAX_INCLUDE_DEPTH: usize = 16;

/// A SecLang file and the folder its relative paths start from.
pub(crate) struct SecFile {
    pub(crate) source: SourceFile,
    pub(crate) dir: PathBuf,
}

/// Reads SecLang files into one ordered directive stream.
#[derive(Default)]
pub(crate) struct SecLoader {
    pub(crate) files: Vec<SecFile>,
    pub(crate) directives: Vec<(u32, Directive)>,
    pub(crate) errors: Vec<RuleError>,
}

impl SecLoader {
    /// True when nothing was loaded.
    pub(crate) fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Loads every file a pattern names (sorted), relative to `dir`.
    pub(crate) fn load_pattern(&mut self, dir: &Path, pattern: &str, from: Option<(&SourceFile, Span)>) {
        self.load_pattern_at(dir, pattern, from, 0, false);
    }

    fn load_pattern_at(
        &mut self,
        dir: &Path,
        pattern: &str,
        from: Option<(&SourceFile, Span)>,
        depth: usize,
        optional: bool,
    ) {
        let error = |message: String| match from {
            Some((src, span)) => RuleError::new(ErrorKind::Io, src, span, message),
            None => RuleError::whole_file(ErrorKind::Io, pattern, message),
        };
        match load::expand(&RealFs, dir, pattern) {
            Ok(paths) if paths.is_empty() => {
                if !optional {
                    let shown = if dir.as_os_str().is_empty() { ".".to_owned() } else { dir.display().to_string() };
                    self.errors.push(error(format!("no SecLang file matches `{pattern}` (in {shown})")));
                }
            }
            Ok(paths) => {
                for p in paths {
                    if optional && !RealFs.exists(&p) {
                        continue;
                    }
                    self.load_file(&p, from, depth);
                }
            }
            Err(e) => self.errors.push(error(format!("cannot list SecLang files for `{pattern}`: {e}"))),
        }
    }

    fn load_file(&mut self, path: &Path, from: Option<(&SourceFile, Span)>, depth: usize) {
        let text = match std::fs::read(path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => {
                let message = match e.kind() {
                    std::io::ErrorKind::NotFound => format!("SecLang file not found: `{}`", path.display()),
                    _ => format!("cannot read `{}`: {e}", path.display()),
                };
                self.errors.push(match from {
                    Some((src, span)) => RuleError::new(ErrorKind::Io, src, span, message),
                    None => RuleError::whole_file(ErrorKind::Io, &path.display().to_string(), message),
                });
                return;
            }
        };
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        self.add(SourceFile::new(path.display().to_string(), text), dir, depth);
    }

    /// Loads SecLang text given in memory; relative paths start at `dir`.
    pub(crate) fn load_text(&mut self, name: &str, text: &str, dir: &Path) {
        self.add(SourceFile::new(name, text), dir.to_path_buf(), 0);
    }

    fn add(&mut self, source: SourceFile, dir: PathBuf, depth: usize) {
        let (directives, errors) = parser::parse_directives(&source);
        self.errors.extend(errors);
        let index = self.files.len() as u32;
        self.files.push(SecFile { source: source.clone(), dir: dir.clone() });
        for d in directives {
            let include = d.name.eq_ignore_ascii_case("Include");
            let optional = d.name.eq_ignore_ascii_case("IncludeOptional");
            if include || optional {
                let Some(arg) = d.args.first() else {
                    self.errors.push(RuleError::new(ErrorKind::Syntax, &source, d.name_span, "Include needs a path"));
                    continue;
                };
                if depth >= MAX_INCLUDE_DEPTH {
                    self.errors.push(RuleError::new(
                        ErrorKind::Check,
                        &source,
                        arg.span(),
                        "Include nested too deep (an include cycle?)",
                    ));
                    continue;
                }
                self.load_pattern_at(&dir, &arg.value, Some((&source, arg.span())), depth + 1, optional);
            } else {
                self.directives.push((index, d));
            }
        }
    }
}

/// Three-valued outcome of the static analysis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tri {
    True,
    False,
    Unknown,
}

/// A rule after lowering, before it is placed.
struct LRule {
    id: u32,
    phase: u8,
    file: u32,
    span: Span,
    links: Vec<Link>,
    disruptive: Disruptive,
    log: bool,
    skip_after: Option<(String, Span)>,
    skip: Option<u32>,
    msg_text: Arc<str>,
    severity: Option<u8>,
    tags: Vec<Arc<str>>,
    paranoia: u8,
}

/// A `SecRuleUpdateTargetById/ByTag`: rule ids or a tag, the targets, the file.
type TargetUpdate = (Vec<(u32, u32)>, Option<String>, Arg, u32);

/// An item of the rule stream.
enum Entry {
    Rule(Box<LRule>),
    Marker(String),
}

/// One link as collected, before lowering.
struct RawLink {
    vars: Option<Arg>,
    op: Option<Arg>,
    actions: Vec<ActionSpec>,
    span: Span,
}

/// The defaults a `SecDefaultAction` sets for one phase.
#[derive(Clone, Default)]
struct Defaults {
    transforms: Vec<SecTransform>,
    disruptive: Option<Disruptive>,
    log: Option<bool>,
}

/// Directives rampart accepts and ignores (they configure logging, storage or
/// the response side). `rampart check --seclang` lists them once.
const IGNORED_DIRECTIVES: &[&str] = &[
    "SecAuditEngine",
    "SecAuditLog",
    "SecAuditLog2",
    "SecAuditLogDirMode",
    "SecAuditLogFileMode",
    "SecAuditLogFormat",
    "SecAuditLogParts",
    "SecAuditLogRelevantStatus",
    "SecAuditLogStorageDir",
    "SecAuditLogType",
    "SecDebugLog",
    "SecDebugLogLevel",
    "SecComponentSignature",
    "SecCollectionTimeout",
    "SecResponseBodyAccess",
    "SecResponseBodyMimeType",
    "SecResponseBodyLimit",
    "SecResponseBodyLimitAction",
    "SecTmpDir",
    "SecDataDir",
    "SecUploadDir",
    "SecUploadKeepFiles",
    "SecUploadFileMode",
    "SecUploadFileLimit",
    "SecUnicodeMapFile",
    "SecPcreMatchLimit",
    "SecPcreMatchLimitRecursion",
    "SecStatusEngine",
    "SecServerSignature",
    "SecWebAppId",
    "SecTmpSaveUploadedFiles",
    "SecRequestBodyInMemoryLimit",
    "SecRequestBodyNoFilesLimit",
    "SecRequestBodyLimit",
    "SecRequestBodyLimitAction",
    "SecRequestBodyJsonDepthLimit",
    "SecArgumentsLimit",
    "SecCookieFormat",
    "SecCookieV0Separator",
    "SecXmlExternalEntity",
    "SecConnEngine",
    "SecGeoLookupDb",
    "SecHttpBlKey",
    "SecHashEngine",
    "SecHashKey",
    "SecHashParam",
    "SecHashMethodRx",
    "SecHashMethodPm",
    "SecSensorId",
    "SecStreamInBodyInspection",
    "SecStreamOutBodyInspection",
    "SecRemoteRules",
    "SecRemoteRulesFailAction",
    "SecUploadFileMode",
    "SecGsbLookupDb",
    "SecContentInjection",
    "SecDisableBackendCompression",
    "SecInterceptOnError",
    "SecRuleInheritance",
    "SecRulePerfTime",
    "SecChrootDir",
    "SecGuardianLog",
    "SecMarkerAction",
];

/// The lowering state.
pub(crate) struct SecLowerer<'a> {
    program: &'a mut Program,
    files: &'a [SecFile],
    pub(crate) errors: Vec<RuleError>,
    warnings: Vec<Warning>,
    /// Warnings said once per kind (`variable RESPONSE_BODY`...): the
    /// index of the first in `warnings`, and how many times it came up.
    said: HashMap<String, (usize, usize)>,
    sec: SecProgram,
    data: HashMap<PathBuf, Arc<Vec<String>>>,
    /// File of the rule being lowered.
    file: u32,
}

impl<'a> SecLowerer<'a> {
    pub(crate) fn new(program: &'a mut Program, files: &'a [SecFile]) -> SecLowerer<'a> {
        SecLowerer {
            program,
            files,
            errors: Vec::new(),
            warnings: Vec::new(),
            said: HashMap::new(),
            sec: SecProgram { body_access: true, ..SecProgram::default() },
            data: HashMap::new(),
            file: 0,
        }
    }

    fn source(&self) -> &'a SourceFile {
        &self.files[self.file as usize].source
    }

    fn error(&mut self, span: Span, kind: ErrorKind, message: impl Into<String>) {
        let source = self.source();
        self.errors.push(RuleError::new(kind, source, span, message));
    }

    fn arg_error(&mut self, e: parser::ArgError, arg: &Arg) {
        let source = self.source();
        self.errors.push(e.into_rule_error(source, arg));
    }

    /// A warning; `key` groups repeats of the same thing (only the first of a
    /// key is kept, with a count).
    fn warn(&mut self, span: Span, key: &str, message: impl Into<String>) {
        if let Some((_, n)) = self.said.get_mut(key) {
            *n += 1;
            return;
        }
        let w = Warning::new(self.source(), span, message);
        self.said.insert(key.to_owned(), (self.warnings.len(), 1));
        self.warnings.push(w);
    }

    /// The TX slot of a name (lowercase), added if new.
    fn tx_slot(&mut self, name: &[u8]) -> u32 {
        let lower: Box<[u8]> = name.to_ascii_lowercase().into();
        if let Some(&i) = self.sec.tx_index.get(&lower) {
            return i;
        }
        let i = self.sec.tx_names.len() as u32;
        self.sec.tx_names.push(lower.clone());
        self.sec.tx_index.insert(lower, i);
        i
    }

    /// Lowers the loaded directives. Returns the SecLang program (rules of
    /// the request phases that can run) and the effective engine mode.
    pub(crate) fn lower(mut self, directives: &[(u32, Directive)]) -> (SecProgram, Vec<RuleError>) {
        for n in 0..10u8 {
            self.tx_slot(&[b'0' + n]);
        }
        let entries = self.collect(directives);
        self.finish(entries);
        self.match_tx_regex_targets();
        let mut sec = self.sec;
        for (index, n) in self.said.values() {
            if *n > 1 {
                self.warnings[*index].add_count(*n);
            }
        }
        sec.warnings = self.warnings;
        (sec, self.errors)
    }

    /// Resolves each `TX:/regex/` target against the TX names known at
    /// compile time (all of them are by now), so that a request matches the
    /// regex only against the names it makes at run time: CRS 920450 reads
    /// `TX:/^header_name_920450_/` on every request, among ~200 static names.
    fn match_tx_regex_targets(&mut self) {
        let names = &self.sec.tx_names;
        let regexes = &self.program.regexes;
        for target in self.sec.rules.iter_mut().flat_map(|r| r.links.iter_mut()).flat_map(|l| l.targets.iter_mut()) {
            if let (Var::Tx, Sel::Regex(r)) = (&target.var, &target.sel) {
                target.tx_regex_slots = (0..names.len() as u32)
                    .filter(|&s| regexes.get(*r as usize).is_some_and(|c| c.is_match(&names[s as usize])))
                    .collect();
            }
        }
    }

    /// Applies configuration directives and collects rules and markers in order.
    fn collect(&mut self, directives: &[(u32, Directive)]) -> Vec<Entry> {
        let mut entries: Vec<Entry> = Vec::new();
        let mut defaults: [Defaults; 6] = Default::default();
        let mut chain: Option<(u32, Vec<RawLink>)> = None;
        let mut remove_ids: Vec<(u32, u32)> = Vec::new();
        let mut remove_tags: Vec<String> = Vec::new();
        let mut remove_msgs: Vec<String> = Vec::new();
        let mut updates: Vec<TargetUpdate> = Vec::new();
        self.sec.stats.directives = directives.len();
        for (file, d) in directives {
            self.file = *file;
            let name = d.name.as_str();
            let is = |n: &str| name.eq_ignore_ascii_case(n);
            if is("SecRule") || is("SecAction") {
                let action = is("SecAction");
                let (vars, op, acts) = if action {
                    (None, None, d.args.first())
                } else {
                    if d.args.len() < 2 {
                        self.error(d.name_span, ErrorKind::Syntax, "SecRule needs variables and an operator");
                        continue;
                    }
                    (Some(d.args[0].clone()), Some(d.args[1].clone()), d.args.get(2))
                };
                if d.args.len() > if action { 1 } else { 3 } {
                    let extra = &d.args[if action { 1 } else { 3 }];
                    self.error(extra.span(), ErrorKind::Syntax, "too many arguments: quote the action list");
                    continue;
                }
                let actions = match acts {
                    Some(a) => match parser::parse_actions(a) {
                        Ok(list) => list,
                        Err(e) => {
                            self.arg_error(e, a);
                            chain = None;
                            continue;
                        }
                    },
                    None => Vec::new(),
                };
                let chained = actions.iter().any(|a| a.name.eq_ignore_ascii_case("chain"));
                let link = RawLink { vars, op, actions, span: d.name_span };
                let (start_file, mut links) = chain.take().unwrap_or((*file, Vec::new()));
                links.push(link);
                if chained {
                    chain = Some((start_file, links));
                } else {
                    let saved = self.file;
                    self.file = start_file;
                    if let Some(rule) = self.lower_rule(links, &defaults) {
                        entries.push(Entry::Rule(Box::new(rule)));
                    }
                    self.file = saved;
                }
                continue;
            }
            if let Some((start_file, links)) = chain.take() {
                // A chain must continue with a SecRule.
                let span = links.last().map_or(d.name_span, |l| l.span);
                let saved = self.file;
                self.file = start_file;
                self.error(span, ErrorKind::Syntax, "the last rule of a chain has `chain`: a SecRule must follow it");
                self.file = saved;
            }
            let arg0 = d.args.first();
            if is("SecMarker") {
                match arg0 {
                    Some(a) => entries.push(Entry::Marker(a.value.clone())),
                    None => self.error(d.name_span, ErrorKind::Syntax, "SecMarker needs a name"),
                }
            } else if is("SecDefaultAction") {
                let Some(a) = arg0 else {
                    self.error(d.name_span, ErrorKind::Syntax, "SecDefaultAction needs an action list");
                    continue;
                };
                match parser::parse_actions(a) {
                    Ok(list) => {
                        let phase = list
                            .iter()
                            .find(|x| x.name.eq_ignore_ascii_case("phase"))
                            .and_then(|x| x.value.as_deref().and_then(parse_phase))
                            .unwrap_or(2);
                        let mut def = Defaults::default();
                        for act in &list {
                            match act.name.to_ascii_lowercase().as_str() {
                                "t" => {
                                    let v = act.value.clone().unwrap_or_default();
                                    if v.eq_ignore_ascii_case("none") {
                                        def.transforms.clear();
                                    } else if let Some(t) = self.transform(&v, act.value_span) {
                                        def.transforms.push(t);
                                    }
                                }
                                "log" => def.log = Some(true),
                                "nolog" => def.log = Some(false),
                                "pass" => def.disruptive = Some(Disruptive::Pass),
                                "deny" | "drop" => def.disruptive = Some(Disruptive::Deny(0)),
                                "status" => {
                                    if let Some(Disruptive::Deny(_)) | None = def.disruptive {
                                        let s = act.value.as_deref().and_then(|v| v.trim().parse().ok()).unwrap_or(403);
                                        def.disruptive = Some(Disruptive::Deny(s));
                                    }
                                }
                                "phase" | "auditlog" | "noauditlog" | "tag" | "ver" | "block" => {}
                                other => {
                                    let other = other.to_owned();
                                    self.warn(
                                        act.span,
                                        &format!("default action {other}"),
                                        format!("SecDefaultAction `{other}` is ignored"),
                                    )
                                }
                            }
                        }
                        if let Some(Disruptive::Deny(0)) = def.disruptive {
                            def.disruptive = Some(Disruptive::Deny(403));
                        }
                        defaults[usize::from(phase)] = def;
                    }
                    Err(e) => self.arg_error(e, a),
                }
            } else if is("SecRuleEngine") {
                match arg0.map(|a| a.value.to_ascii_lowercase()) {
                    Some(v) if v == "on" => self.sec.engine = Some(Mode::Block),
                    Some(v) if v == "off" => self.sec.engine = Some(Mode::Off),
                    Some(v) if v == "detectiononly" => self.sec.engine = Some(Mode::Detect),
                    _ => self.error(d.name_span, ErrorKind::Syntax, "SecRuleEngine takes On, Off or DetectionOnly"),
                }
            } else if is("SecRequestBodyAccess") {
                match arg0.map(|a| a.value.to_ascii_lowercase()) {
                    Some(v) if v == "on" => self.sec.body_access = true,
                    Some(v) if v == "off" => self.sec.body_access = false,
                    _ => self.error(d.name_span, ErrorKind::Syntax, "SecRequestBodyAccess takes On or Off"),
                }
            } else if is("SecRuleRemoveById") {
                for a in &d.args {
                    match parse_id_ranges(&a.value) {
                        Some(r) => remove_ids.extend(r),
                        None => self.error(
                            a.span(),
                            ErrorKind::Syntax,
                            "expected rule ids or ranges such as 942100 or 942100-942199",
                        ),
                    }
                }
            } else if is("SecRuleRemoveByTag") {
                remove_tags.extend(d.args.iter().map(|a| a.value.clone()));
            } else if is("SecRuleRemoveByMsg") {
                remove_msgs.extend(d.args.iter().map(|a| a.value.clone()));
            } else if is("SecRuleUpdateTargetById") || is("SecRuleUpdateTargetByTag") {
                if d.args.len() < 2 {
                    self.error(d.name_span, ErrorKind::Syntax, format!("{name} needs a rule selector and targets"));
                    continue;
                }
                if d.args.len() > 2 {
                    self.warn(
                        d.args[2].span(),
                        "target replacement",
                        "replacing targets (third argument) is not supported; the targets are added",
                    );
                }
                if is("SecRuleUpdateTargetById") {
                    match parse_id_ranges(&d.args[0].value) {
                        Some(r) => updates.push((r, None, d.args[1].clone(), *file)),
                        None => self.error(d.args[0].span(), ErrorKind::Syntax, "expected rule ids or ranges"),
                    }
                } else {
                    updates.push((Vec::new(), Some(d.args[0].value.clone()), d.args[1].clone(), *file));
                }
            } else if is("SecRuleUpdateActionById") {
                self.warn(d.name_span, "SecRuleUpdateActionById", "SecRuleUpdateActionById is not supported: ignored");
            } else if is("SecArgumentSeparator") {
                if arg0.is_some_and(|a| a.value != "&") {
                    self.warn(
                        d.name_span,
                        "SecArgumentSeparator",
                        "SecArgumentSeparator other than `&` is not supported: `&` is used",
                    );
                }
            } else if is("SecRuleScript") {
                self.warn(d.name_span, "SecRuleScript", "SecRuleScript (Lua) is not supported: the rule is skipped");
            } else if IGNORED_DIRECTIVES.iter().any(|x| is(x)) {
                self.warn(
                    d.name_span,
                    &format!("directive {name}"),
                    format!("directive `{name}` is accepted and ignored (logging, storage or response setting)"),
                );
            } else {
                self.warn(d.name_span, &format!("directive {name}"), format!("unknown directive `{name}`: ignored"));
            }
        }
        if let Some((start_file, links)) = chain.take() {
            self.file = start_file;
            let span = links.last().map_or(Span::default(), |l| l.span);
            self.error(span, ErrorKind::Syntax, "the file ends inside a chain: the last rule has `chain`");
        }
        // Configuration-time removals apply to every rule, wherever defined.
        let mut removed = 0;
        entries.retain(|e| match e {
            Entry::Rule(r) => {
                let gone = remove_ids.iter().any(|&(a, b)| (a..=b).contains(&r.id))
                    || remove_tags.iter().any(|t| r.tags.iter().any(|x| **x == **t))
                    || remove_msgs.iter().any(|m| *r.msg_text == **m);
                removed += usize::from(gone);
                !gone
            }
            Entry::Marker(_) => true,
        });
        self.sec.stats.removed = removed;
        for (ids, tag, arg, file) in updates {
            self.file = file;
            let vars = match parser::parse_variables(&arg) {
                Ok(v) => v,
                Err(e) => {
                    self.arg_error(e, &arg);
                    continue;
                }
            };
            let mut targets = Vec::new();
            let mut exclusions = Vec::new();
            for v in &vars {
                self.lower_var(v, &mut targets, &mut exclusions);
            }
            for e in entries.iter_mut() {
                let Entry::Rule(r) = e else { continue };
                let hit = match &tag {
                    Some(t) => r.tags.iter().any(|x| **x == **t),
                    None => ids.iter().any(|&(a, b)| (a..=b).contains(&r.id)),
                };
                if hit && let Some(link) = r.links.first_mut() {
                    link.targets.extend(targets.iter().cloned());
                    link.exclusions.extend(exclusions.iter().cloned());
                }
            }
        }
        entries
    }

    /// Parses a transformation name.
    fn transform(&mut self, name: &str, span: Span) -> Option<SecTransform> {
        let t = match name.to_ascii_lowercase().as_str() {
            "urldecode" => Transform::UrlDecode,
            "urldecodeuni" => Transform::UrlDecodeUni,
            "htmlentitydecode" => Transform::HtmlEntityDecode,
            "jsdecode" => Transform::JsDecode,
            "cssdecode" => Transform::CssDecode,
            "base64decode" => Transform::Base64Decode,
            "base64decodeext" => Transform::Base64DecodeExt,
            "hexdecode" => Transform::HexDecode,
            "hexencode" => Transform::HexEncode,
            "sqlhexdecode" => Transform::SqlHexDecode,
            "lowercase" => Transform::Lowercase,
            "uppercase" => Transform::Uppercase,
            "compresswhitespace" => Transform::CompressWhitespace,
            "removewhitespace" => Transform::RemoveWhitespace,
            "removenulls" => Transform::RemoveNulls,
            "replacenulls" => Transform::ReplaceNulls,
            "replacecomments" => Transform::ReplaceComments,
            "removecomments" => Transform::RemoveComments,
            "removecommentschar" => Transform::RemoveCommentsChar,
            "normalizepath" | "normalisepath" => Transform::NormalizePathRel,
            "normalizepathwin" | "normalisepathwin" => Transform::NormalizePathRelWin,
            "cmdline" => Transform::CmdLine,
            "trim" => Transform::Trim,
            "trimleft" => Transform::TrimLeft,
            "trimright" => Transform::TrimRight,
            "utf8tounicode" => Transform::Utf8ToUnicode,
            "escapeseqdecode" => Transform::EscapeSeqDecode,
            "length" => Transform::Length,
            "sha1" => return Some(SecTransform::Sha1),
            "md5" => return Some(SecTransform::Md5),
            other => {
                let other = other.to_owned();
                self.warn(
                    span,
                    &format!("transformation {other}"),
                    format!("transformation `{name}` is not supported: skipped"),
                );
                return None;
            }
        };
        Some(SecTransform::Std(t))
    }

    /// Lowers one variable into a target or an exclusion.
    fn lower_var(&mut self, v: &VarSpec, targets: &mut Vec<Target>, exclusions: &mut Vec<Exclusion>) {
        let var = self.var_named(&v.name, v.span);
        let sel = match &v.selector {
            None => Sel::All,
            Some(Selector::Key(k)) if var == Var::Xml => {
                // XPath: the two forms CRS uses are pair names of XML bodies.
                if k != "/*" && k != "//@*" {
                    self.warn(
                        v.span,
                        &format!("xpath {k}"),
                        format!("XPath `XML:{k}` is not supported (only XML:/* and XML://@*): it has no values"),
                    );
                }
                Sel::Key(k.as_bytes().into())
            }
            Some(Selector::Key(k)) => Sel::Key(k.to_ascii_lowercase().into_bytes().into()),
            Some(Selector::Regex(p, span)) => {
                match regex::compile_with(p, self.source(), *span, Flags { case_insensitive: true, ..Flags::default() })
                {
                    Ok(c) => Sel::Regex(self.program.add_regex(c)),
                    Err(e) => {
                        self.errors.push(e);
                        return;
                    }
                }
            }
        };
        if v.exclude {
            exclusions.push(Exclusion { var, sel });
        } else {
            let tx_slot = match (&var, &sel) {
                (Var::Tx, Sel::Key(k)) => Some(self.tx_slot(k)),
                _ => None,
            };
            targets.push(Target {
                var,
                sel,
                count: v.count,
                prefiltered: false,
                tx_slot,
                tx_regex_slots: Box::default(),
            });
        }
    }

    /// The variable of a name; unsupported ones warn.
    fn var_named(&mut self, name: &str, span: Span) -> Var {
        match name {
            "ARGS" => Var::Args,
            "ARGS_NAMES" => Var::ArgsNames,
            "ARGS_GET" => Var::ArgsGet,
            "ARGS_GET_NAMES" => Var::ArgsGetNames,
            "ARGS_POST" => Var::ArgsPost,
            "ARGS_POST_NAMES" => Var::ArgsPostNames,
            "REQUEST_HEADERS" => Var::Headers,
            "REQUEST_HEADERS_NAMES" => Var::HeadersNames,
            "REQUEST_COOKIES" => Var::Cookies,
            "REQUEST_COOKIES_NAMES" => Var::CookiesNames,
            "FILES" => Var::Files,
            "FILES_NAMES" => Var::FilesNames,
            "MULTIPART_PART_HEADERS" => Var::MultipartPartHeaders,
            "TX" => Var::Tx,
            "MATCHED_VARS" => Var::MatchedVars,
            "MATCHED_VARS_NAMES" => Var::MatchedVarsNames,
            "XML" => Var::Xml,
            "REQUEST_LINE" => Var::RequestLine,
            "REQUEST_METHOD" => Var::RequestMethod,
            "REQUEST_PROTOCOL" => Var::RequestProtocol,
            "REQUEST_URI" => Var::RequestUri,
            "REQUEST_URI_RAW" => Var::RequestUriRaw,
            "REQUEST_FILENAME" | "PATH_INFO" => Var::RequestFilename,
            "REQUEST_BASENAME" => Var::RequestBasename,
            "QUERY_STRING" => Var::QueryString,
            "REQUEST_BODY" => Var::RequestBody,
            "REQUEST_BODY_LENGTH" => Var::RequestBodyLength,
            "REQBODY_PROCESSOR" => Var::ReqbodyProcessor,
            "REQBODY_ERROR" | "REQBODY_PROCESSOR_ERROR" => Var::ReqbodyError,
            "REQBODY_ERROR_MSG" | "REQBODY_PROCESSOR_ERROR_MSG" => Var::ReqbodyErrorMsg,
            "MATCHED_VAR" => Var::MatchedVar,
            "MATCHED_VAR_NAME" => Var::MatchedVarName,
            "REMOTE_ADDR" => Var::RemoteAddr,
            "REMOTE_PORT" => Var::RemotePort,
            "SERVER_NAME" => Var::ServerName,
            "UNIQUE_ID" => Var::UniqueId,
            "ARGS_COMBINED_SIZE" => Var::ArgsCombinedSize,
            "FILES_COMBINED_SIZE" => Var::FilesCombinedSize,
            "FULL_REQUEST_LENGTH" => Var::FullRequestLength,
            "MULTIPART_STRICT_ERROR" => Var::MultipartStrictError,
            "MULTIPART_UNMATCHED_BOUNDARY" => Var::MultipartUnmatchedBoundary,
            "INBOUND_DATA_ERROR" => Var::InboundDataError,
            "URLENCODED_ERROR" => Var::UrlencodedError,
            "AUTH_TYPE" => Var::AuthType,
            "DURATION" => Var::Duration,
            other => {
                let message =
                    if other.starts_with("RESPONSE_") || other.starts_with("OUTBOUND_") || other == "STATUS_LINE" {
                        format!("variable `{other}` (response data) is not available: it has no values")
                    } else {
                        format!("variable `{other}` is not supported: it has no values")
                    };
                self.warn(span, &format!("variable {other}"), message);
                Var::Unsupported
            }
        }
    }

    /// Parses a text with `%{...}` macros.
    fn macro_text(&mut self, text: &str, span: Span) -> Macro {
        let mut parts = Vec::new();
        let mut rest = text;
        let mut lit = Vec::new();
        while let Some(at) = rest.find("%{") {
            let Some(end) = rest[at + 2..].find('}') else { break };
            lit.extend_from_slice(&rest.as_bytes()[..at]);
            let name = &rest[at + 2..at + 2 + end];
            rest = &rest[at + 3 + end..];
            let part = self.macro_part(name, span);
            if !lit.is_empty() {
                parts.push(MacroPart::Lit(std::mem::take(&mut lit).into()));
            }
            if let Some(p) = part {
                parts.push(p);
            }
        }
        lit.extend_from_slice(rest.as_bytes());
        if !lit.is_empty() {
            parts.push(MacroPart::Lit(lit.into()));
        }
        Macro { parts }
    }

    fn macro_part(&mut self, name: &str, span: Span) -> Option<MacroPart> {
        let (coll, key) = match name.split_once('.') {
            Some((c, k)) => (c.to_ascii_uppercase(), Some(k)),
            None => (name.to_ascii_uppercase(), None),
        };
        Some(match (coll.as_str(), key) {
            ("TX", Some(k)) => MacroPart::Tx(self.tx_slot(k.as_bytes())),
            ("MATCHED_VAR", None) => MacroPart::MatchedVar,
            ("MATCHED_VAR_NAME", None) => MacroPart::MatchedVarName,
            ("RULE", Some(k)) if k.eq_ignore_ascii_case("id") => MacroPart::RuleId,
            ("RULE", Some(k)) if k.eq_ignore_ascii_case("msg") => MacroPart::RuleMsg,
            ("RULE", Some(k)) if k.eq_ignore_ascii_case("severity") => MacroPart::RuleSeverity,
            ("RULE", Some(_)) => return None,
            (c, k) => {
                let var = self.var_named(c, span);
                if var == Var::Unsupported {
                    return None;
                }
                let sel = k.map_or(Sel::All, |k| Sel::Key(k.to_ascii_lowercase().into_bytes().into()));
                MacroPart::Var(var, sel)
            }
        })
    }

    /// Lowers a collected rule.
    fn lower_rule(&mut self, raw: Vec<RawLink>, defaults: &[Defaults; 6]) -> Option<LRule> {
        let errors_before = self.errors.len();
        let head = &raw[0].actions;
        let phase = head
            .iter()
            .rev()
            .find(|a| a.name.eq_ignore_ascii_case("phase"))
            .map(|a| match a.value.as_deref().and_then(parse_phase) {
                Some(p) => p,
                None => {
                    self.error(a.value_span, ErrorKind::Syntax, "phase must be 1-5, request, response or logging");
                    2
                }
            })
            .unwrap_or(2);
        if phase > 2 {
            // Response and logging phases are never evaluated: keep the id
            // and tags (for duplicate ids and removals), nothing else.
            let id = head
                .iter()
                .find(|a| a.name.eq_ignore_ascii_case("id"))
                .and_then(|a| a.value.as_deref()?.trim().parse().ok());
            let tags = head
                .iter()
                .filter(|a| a.name.eq_ignore_ascii_case("tag"))
                .filter_map(|a| a.value.as_deref().map(Arc::from))
                .collect();
            return id.map(|id| LRule {
                id,
                phase,
                file: self.file,
                span: raw[0].span,
                links: Vec::new(),
                disruptive: Disruptive::Pass,
                log: false,
                skip_after: None,
                skip: None,
                msg_text: Arc::from(""),
                severity: None,
                tags,
                paranoia: 1,
            });
        }
        let def = defaults[usize::from(phase)].clone();
        let span = raw[0].span;
        let mut rule = LRule {
            id: 0,
            phase,
            file: self.file,
            span,
            links: Vec::new(),
            disruptive: Disruptive::Pass,
            log: def.log.unwrap_or(true),
            skip_after: None,
            skip: None,
            msg_text: Arc::from(""),
            severity: None,
            tags: Vec::new(),
            paranoia: 1,
        };
        let mut block = false;
        let mut explicit: Option<Disruptive> = None;
        let mut status: Option<u16> = None;
        let mut has_id = false;
        for (n, raw_link) in raw.iter().enumerate() {
            let mut link = Link {
                targets: Vec::new(),
                exclusions: Vec::new(),
                transforms: def.transforms.clone(),
                pipeline: None,
                op: SecOp::Unconditional,
                negated: false,
                capture: false,
                multi_match: false,
                setvars: Vec::new(),
                ctls: Vec::new(),
            };
            if let Some(vars) = &raw_link.vars {
                match parser::parse_variables(vars) {
                    Ok(list) => {
                        for v in &list {
                            self.lower_var(v, &mut link.targets, &mut link.exclusions);
                        }
                    }
                    Err(e) => self.arg_error(e, vars),
                }
            }
            for a in &raw_link.actions {
                let value = a.value.as_deref().unwrap_or("");
                let lname = a.name.to_ascii_lowercase();
                match lname.as_str() {
                    "id" if n == 0 => match value.trim().parse::<u32>() {
                        Ok(id) => {
                            rule.id = id;
                            has_id = true;
                        }
                        Err(_) => self.error(a.value_span, ErrorKind::Syntax, "id must be a number"),
                    },
                    "phase" | "chain" => {}
                    "t" => {
                        if value.eq_ignore_ascii_case("none") {
                            link.transforms.clear();
                        } else if let Some(t) = self.transform(value, a.value_span) {
                            link.transforms.push(t);
                        }
                    }
                    "capture" => link.capture = true,
                    "multimatch" => link.multi_match = true,
                    "setvar" => {
                        if let Some(sv) = self.setvar(value, a.value_span) {
                            link.setvars.push(sv);
                        }
                    }
                    "ctl" => {
                        let ctl = self.ctl(value, a.value_span);
                        link.ctls.push(ctl);
                    }
                    "msg" if n == 0 => rule.msg_text = Arc::from(value),
                    "logdata" if n == 0 => {}
                    "severity" if n == 0 => rule.severity = parse_severity(value),
                    "tag" if n == 0 => {
                        if let Some(pl) = value.strip_prefix("paranoia-level/").and_then(|p| p.parse().ok()) {
                            rule.paranoia = pl;
                        }
                        rule.tags.push(Arc::from(value));
                    }
                    "skipafter" if n == 0 => rule.skip_after = Some((value.to_owned(), a.value_span)),
                    "skip" if n == 0 => rule.skip = value.trim().parse().ok(),
                    "log" if n == 0 => rule.log = true,
                    "nolog" if n == 0 => rule.log = false,
                    "pass" if n == 0 => explicit = Some(Disruptive::Pass),
                    "block" if n == 0 => block = true,
                    "deny" | "drop" if n == 0 => explicit = Some(Disruptive::Deny(0)),
                    "redirect" | "proxy" if n == 0 => {
                        self.warn(a.span, &format!("action {lname}"), format!("`{lname}` is treated as `deny`"));
                        explicit = Some(Disruptive::Deny(0));
                    }
                    "allow" if n == 0 => {
                        explicit = Some(if value.eq_ignore_ascii_case("phase") {
                            Disruptive::AllowPhase
                        } else {
                            Disruptive::Allow
                        })
                    }
                    "status" if n == 0 => status = value.trim().parse().ok(),
                    "ver"
                    | "rev"
                    | "maturity"
                    | "accuracy"
                    | "auditlog"
                    | "noauditlog"
                    | "sanitisematched"
                    | "sanitisearg"
                    | "sanitiserequestheader"
                    | "sanitisematchedbytes"
                    | "initcol"
                    | "expirevar"
                    | "setsid"
                    | "setuid"
                    | "setrsc"
                    | "deprecatevar"
                    | "xmlns" => {}
                    "setenv" | "exec" | "append" | "prepend" | "pause" => self.warn(
                        a.span,
                        &format!("action {lname}"),
                        format!("action `{lname}` is not supported: ignored"),
                    ),
                    _ if n > 0
                        && matches!(
                            lname.as_str(),
                            "id" | "msg"
                                | "logdata"
                                | "severity"
                                | "tag"
                                | "log"
                                | "nolog"
                                | "skipafter"
                                | "skip"
                                | "pass"
                                | "block"
                                | "deny"
                                | "drop"
                                | "allow"
                                | "status"
                        ) =>
                    {
                        self.warn(
                            a.span,
                            &format!("chained {lname}"),
                            format!("`{lname}` in a chained rule is ignored (only the chain's first rule sets it)"),
                        )
                    }
                    _ => self.warn(a.span, &format!("action {lname}"), format!("unknown action `{}`: ignored", a.name)),
                }
            }
            match &raw_link.op {
                Some(op_arg) => match parser::parse_operator(op_arg) {
                    Ok(spec) => {
                        link.negated = spec.negated;
                        link.op = self.operator(&spec, op_arg, link.capture);
                    }
                    Err(e) => self.arg_error(e, op_arg),
                },
                None => link.op = SecOp::Unconditional,
            }
            if link.transforms.iter().all(|t| matches!(t, SecTransform::Std(_))) {
                let std: Vec<Transform> = link
                    .transforms
                    .iter()
                    .filter_map(|t| if let SecTransform::Std(t) = t { Some(*t) } else { None })
                    .collect();
                link.pipeline = Some(self.program.pipeline(&std));
            }
            rule.links.push(link);
        }
        if !has_id {
            self.error(span, ErrorKind::Check, "rule has no `id`: every SecRule and SecAction needs one");
        }
        rule.disruptive = match explicit {
            Some(Disruptive::Deny(_)) => Disruptive::Deny(status.unwrap_or(403)),
            Some(d) => d,
            None if block => match def.disruptive {
                Some(Disruptive::Deny(s)) => Disruptive::Deny(status.unwrap_or(s)),
                Some(d) => d,
                None => Disruptive::Pass,
            },
            None => Disruptive::Pass,
        };
        (self.errors.len() == errors_before).then_some(rule)
    }

    /// Lowers an operator.
    fn operator(&mut self, spec: &OperatorSpec, arg: &Arg, capture: bool) -> SecOp {
        let name = spec.name.to_ascii_lowercase();
        let param = spec.param.as_str();
        let dynamic = param.contains("%{");
        let pspan = spec.param_span;
        let stat = |this: &mut Self, op: OpIr| SecOp::Static(this.program.add_op(op));
        let dyn_op = |this: &mut Self, kind: DynOp| SecOp::Dynamic(kind, this.macro_text(param, pspan));
        let _ = capture;
        match name.as_str() {
            "rx" => {
                let flags = Flags { case_insensitive: false, dot_all: true, multi_line: true };
                let pattern = pcre_bytes(param);
                match regex::compile_with(&pattern, self.source(), pspan, flags) {
                    Ok(c) => {
                        let id = self.program.add_regex(c);
                        stat(self, OpIr::Regex(id))
                    }
                    Err(e) => {
                        self.errors.push(e);
                        SecOp::Never
                    }
                }
            }
            "pm" => {
                let phrases: Vec<String> = param.split_whitespace().map(str::to_owned).collect();
                self.phrases(phrases, pspan)
            }
            "pmf" | "pmfromfile" => {
                let mut phrases = Vec::new();
                for path in param.split_whitespace() {
                    if let Some(list) = self.data_file(path, pspan) {
                        phrases.extend(list.iter().cloned());
                    }
                }
                self.phrases(phrases, pspan)
            }
            "contains" | "beginswith" | "endswith" | "streq" | "within" | "containsword" | "strmatch" => {
                let kind = match name.as_str() {
                    "contains" | "strmatch" => DynOp::Contains,
                    "beginswith" => DynOp::BeginsWith,
                    "endswith" => DynOp::EndsWith,
                    "streq" => DynOp::Streq,
                    "within" => DynOp::Within,
                    _ => DynOp::ContainsWord,
                };
                if dynamic {
                    return dyn_op(self, kind);
                }
                let p: Box<[u8]> = param.as_bytes().into();
                match kind {
                    DynOp::Contains if p.is_empty() => stat(self, OpIr::Always),
                    DynOp::Contains => stat(self, OpIr::Contains(p)),
                    DynOp::BeginsWith if p.is_empty() => stat(self, OpIr::Always),
                    DynOp::BeginsWith => stat(self, OpIr::StartsWith(p)),
                    DynOp::EndsWith if p.is_empty() => stat(self, OpIr::Always),
                    DynOp::EndsWith => stat(self, OpIr::EndsWith(p)),
                    DynOp::Streq => stat(self, OpIr::Equals(p)),
                    DynOp::Within => stat(self, OpIr::Within(p)),
                    _ => stat(self, OpIr::ContainsWord(p)),
                }
            }
            "eq" | "ge" | "gt" | "le" | "lt" => {
                let cmp = match name.as_str() {
                    "eq" => CmpOp::Eq,
                    "ge" => CmpOp::Ge,
                    "gt" => CmpOp::Gt,
                    "le" => CmpOp::Le,
                    _ => CmpOp::Lt,
                };
                if dynamic { dyn_op(self, DynOp::Num(cmp)) } else { stat(self, OpIr::Num(cmp, atoi(param.as_bytes()))) }
            }
            "detectsqli" => stat(self, OpIr::DetectSqli),
            "detectxss" => stat(self, OpIr::DetectXss),
            "validatebyterange" => match parse_byte_ranges(param) {
                Some(allowed) => stat(self, OpIr::ByteRange(allowed)),
                None => {
                    self.error(pspan, ErrorKind::Syntax, "expected byte ranges such as `1-255` or `9,10,13,32-126`");
                    SecOp::Never
                }
            },
            "validateurlencoding" => stat(self, OpIr::InvalidUrlEncoding),
            "validateutf8encoding" => stat(self, OpIr::InvalidUtf8Modsec),
            "unconditionalmatch" => stat(self, OpIr::Always),
            "nomatch" => SecOp::Never,
            "ipmatch" | "ipmatchfromfile" | "ipmatchf" => {
                let mut items: Vec<String> = Vec::new();
                if name == "ipmatch" {
                    items.extend(param.split([',', ' ']).filter(|s| !s.is_empty()).map(str::to_owned));
                } else if let Some(list) = self.data_file(param.trim(), pspan) {
                    items.extend(list.iter().cloned());
                }
                let mut nets = Vec::new();
                for item in items {
                    match parse_cidr(&item) {
                        Some(c) => nets.push(c),
                        None => {
                            self.error(pspan, ErrorKind::Syntax, format!("`{item}` is not an IP address or network"));
                            return SecOp::Never;
                        }
                    }
                }
                SecOp::IpMatch(nets)
            }
            other => {
                let other = other.to_owned();
                let _ = arg;
                self.warn(
                    spec.name_span,
                    &format!("operator {other}"),
                    format!("operator `@{}` is not supported: it never matches", spec.name),
                );
                SecOp::Never
            }
        }
    }

    fn phrases(&mut self, phrases: Vec<String>, span: Span) -> SecOp {
        let bytes: Vec<Box<[u8]>> = phrases.iter().filter(|p| !p.is_empty()).map(|p| p.as_bytes().into()).collect();
        if bytes.is_empty() {
            self.warn(span, "empty phrase list", "phrase list is empty: the operator never matches");
            return SecOp::Never;
        }
        match phrase_automaton(&bytes, MatchKind::LeftmostFirst) {
            Ok(ac) => SecOp::Static(self.program.add_op(OpIr::Phrases { phrases: bytes, ac })),
            Err(e) => {
                self.error(span, ErrorKind::Check, format!("phrase list cannot be compiled: {e}"));
                SecOp::Never
            }
        }
    }

    /// Reads a data file (`@pmFromFile`), relative to the rule file's folder:
    /// one entry per line, `#` comments and blank lines skipped.
    fn data_file(&mut self, path: &str, span: Span) -> Option<Arc<Vec<String>>> {
        let dir = &self.files[self.file as usize].dir;
        let full = load::resolve(dir, path);
        if let Some(list) = self.data.get(&full) {
            return Some(list.clone());
        }
        match std::fs::read(&full) {
            Ok(bytes) => {
                let list = Arc::new(load::data_lines(&String::from_utf8_lossy(&bytes)));
                self.data.insert(full, list.clone());
                Some(list)
            }
            Err(e) => {
                self.error(span, ErrorKind::Io, load::data_file_error(&full, &e));
                None
            }
        }
    }

    /// Parses `setvar:[!]tx.name[=[+|-]value]`.
    fn setvar(&mut self, text: &str, span: Span) -> Option<SetVar> {
        let text = text.trim();
        let (delete, text) = match text.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (name, value) = match text.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v)),
            None => (text, None),
        };
        let Some((coll, var)) = name.split_once('.') else {
            self.error(span, ErrorKind::Syntax, "setvar needs `collection.name`, such as `tx.score`");
            return None;
        };
        if !coll.eq_ignore_ascii_case("tx") {
            let c = coll.to_ascii_uppercase();
            self.warn(
                span,
                &format!("setvar {c}"),
                format!("setvar on `{c}` is not supported (only TX is kept): ignored"),
            );
            return None;
        }
        let name = if var.contains("%{") {
            TxName::Dynamic(self.macro_text(var, span))
        } else {
            TxName::Slot(self.tx_slot(var.as_bytes()))
        };
        let op = if delete {
            SetOp::Delete
        } else {
            match value {
                None => SetOp::Set(Macro { parts: vec![MacroPart::Lit(Box::from(&b"1"[..]))] }),
                Some(v) => match v.as_bytes().first() {
                    Some(b'+') => SetOp::Add(self.macro_text(&v[1..], span)),
                    Some(b'-') => SetOp::Sub(self.macro_text(&v[1..], span)),
                    _ => SetOp::Set(self.macro_text(v, span)),
                },
            }
        };
        Some(SetVar { name, op })
    }

    fn ctl_tag(&mut self, tag: &str) -> u16 {
        if let Some(i) = self.sec.ctl_tags.iter().position(|t| **t == *tag) {
            return i as u16;
        }
        self.sec.ctl_tags.push(Arc::from(tag));
        (self.sec.ctl_tags.len() - 1) as u16
    }

    /// Parses a `ctl:name=value` action.
    fn ctl(&mut self, text: &str, span: Span) -> Ctl {
        let Some((name, value)) = text.split_once('=') else {
            self.error(span, ErrorKind::Syntax, "ctl needs `name=value`");
            return Ctl::Ignored;
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "ruleremovebyid" => match parse_id_ranges(value) {
                Some(r) => Ctl::RemoveById(r),
                None => {
                    self.error(span, ErrorKind::Syntax, "ctl:ruleRemoveById needs rule ids or ranges");
                    Ctl::Ignored
                }
            },
            "ruleremovebytag" => Ctl::RemoveByTag(self.ctl_tag(value)),
            "ruleremovetargetbyid" | "ruleremovetargetbytag" => {
                let by_id = name.trim().eq_ignore_ascii_case("ruleRemoveTargetById");
                let Some((sel, target)) = value.split_once(';') else {
                    self.error(span, ErrorKind::Syntax, "expected `RULE;TARGET`, such as `942100;ARGS:password`");
                    return Ctl::Ignored;
                };
                let arg = Arg { value: target.to_owned(), offsets: vec![span.start; target.len() + 1] };
                let vars = match parser::parse_variables(&arg) {
                    Ok(v) => v,
                    Err(e) => {
                        self.arg_error(e, &arg);
                        return Ctl::Ignored;
                    }
                };
                let mut targets = Vec::new();
                let mut exclusions = Vec::new();
                for v in &vars {
                    self.lower_var(&VarSpec { exclude: true, ..v.clone() }, &mut targets, &mut exclusions);
                }
                let Some(ex) = exclusions.pop() else { return Ctl::Ignored };
                if by_id {
                    match parse_id_ranges(sel) {
                        Some(r) => Ctl::RemoveTargetById(r, ex),
                        None => {
                            self.error(span, ErrorKind::Syntax, "expected rule ids before `;`");
                            Ctl::Ignored
                        }
                    }
                } else {
                    Ctl::RemoveTargetByTag(self.ctl_tag(sel), ex)
                }
            }
            "ruleengine" => match value.to_ascii_lowercase().as_str() {
                "on" => Ctl::RuleEngine(Some(Mode::Block)),
                "detectiononly" => Ctl::RuleEngine(Some(Mode::Detect)),
                "off" => Ctl::RuleEngine(None),
                _ => {
                    self.error(span, ErrorKind::Syntax, "ctl:ruleEngine takes On, Off or DetectionOnly");
                    Ctl::Ignored
                }
            },
            "requestbodyprocessor" => match value.to_ascii_uppercase().as_str() {
                "URLENCODED" => Ctl::RequestBodyProcessor(BodyProcessor::UrlEncoded),
                "JSON" => Ctl::RequestBodyProcessor(BodyProcessor::Json),
                "XML" => Ctl::RequestBodyProcessor(BodyProcessor::Xml),
                "MULTIPART" => Ctl::RequestBodyProcessor(BodyProcessor::Multipart),
                _ => {
                    self.warn(span, "body processor", format!("body processor `{value}` is not supported: ignored"));
                    Ctl::Ignored
                }
            },
            "forcerequestbodyvariable" if value.eq_ignore_ascii_case("on") => Ctl::ForceBodyVariable,
            "forcerequestbodyvariable"
            | "auditengine"
            | "auditlogparts"
            | "debugloglevel"
            | "hashengine"
            | "hashenforcement"
            | "parsexmlintoargs" => Ctl::Ignored,
            other => {
                let other = other.to_owned();
                self.warn(span, &format!("ctl {other}"), format!("`ctl:{}` is not supported: ignored", name.trim()));
                Ctl::Ignored
            }
        }
    }

    /// Places the rules: phase lists, static analysis, prefilters.
    fn finish(&mut self, entries: Vec<Entry>) {
        // Duplicate ids.
        let mut seen: HashMap<u32, (u32, Span)> = HashMap::new();
        for e in &entries {
            let Entry::Rule(r) = e else { continue };
            if let Some((f, s)) = seen.get(&r.id) {
                let first = &self.files[*f as usize].source;
                let (line, col) = first.line_column(s.start as usize);
                let err = RuleError::new(
                    ErrorKind::Check,
                    &self.files[r.file as usize].source,
                    r.span,
                    format!("duplicate rule id {}", r.id),
                )
                .with_help(format!("first defined at {}:{line}:{col}", first.name()));
                self.errors.push(err);
            } else {
                seen.insert(r.id, (r.file, r.span));
            }
        }
        self.sec.stats.rules = entries.iter().filter(|e| matches!(e, Entry::Rule(_))).count();
        self.sec.stats.response_rules = entries.iter().filter(|e| matches!(e, Entry::Rule(r) if r.phase > 2)).count();
        // Phase lists: positions of entries, and the markers.
        let mut lists: [Vec<usize>; 2] = [Vec::new(), Vec::new()];
        for (i, e) in entries.iter().enumerate() {
            if let Entry::Rule(r) = e
                && r.phase <= 2
            {
                lists[usize::from(r.phase.max(1)) - 1].push(i);
            }
        }
        // Skip targets, as positions in each phase list (len = end of phase).
        let mut skip_to: HashMap<usize, usize> = HashMap::new();
        for list in &lists {
            for (pos, &i) in list.iter().enumerate() {
                let Entry::Rule(r) = &entries[i] else { continue };
                let target = if let Some((marker, span)) = &r.skip_after {
                    let m = entries[i + 1..]
                        .iter()
                        .position(|e| matches!(e, Entry::Marker(name) if name == marker))
                        .map(|k| i + 1 + k);
                    match m {
                        Some(m) => Some(list.iter().position(|&j| j > m).unwrap_or(list.len())),
                        None => {
                            self.file = r.file;
                            let (span, marker) = (*span, marker.clone());
                            self.warn(
                                span,
                                &format!("marker {marker}"),
                                format!("no SecMarker `{marker}` follows: skipAfter skips the rest of the phase"),
                            );
                            Some(list.len())
                        }
                    }
                } else {
                    r.skip.map(|n| (pos + 1 + n as usize).min(list.len()))
                };
                if let Some(t) = target {
                    skip_to.insert(i, t);
                }
            }
        }
        let reachable = self.analyse(&entries, &lists, &skip_to);
        // Keep the reachable rules, in phase order, and register them.
        let mut new_index: HashMap<usize, u32> = HashMap::new();
        let mut kept: Vec<(usize, usize)> = Vec::new(); // (phase slot, entry index)
        for (p, list) in lists.iter().enumerate() {
            for &i in list {
                if reachable.contains(&i) {
                    kept.push((p, i));
                }
            }
        }
        self.sec.stats.unreachable = lists.iter().map(Vec::len).sum::<usize>() - kept.len();
        self.sec.stats.active = kept.len();
        let mut entries: Vec<Option<Entry>> = entries.into_iter().map(Some).collect();
        let mut phase_lists: [Vec<u32>; 2] = [Vec::new(), Vec::new()];
        // Positions in the new lists of each old position.
        let mut remap: [Vec<u32>; 2] = [Vec::new(), Vec::new()];
        for (p, list) in lists.iter().enumerate() {
            let mut n = 0u32;
            for &i in list {
                remap[p].push(n);
                if reachable.contains(&i) {
                    n += 1;
                }
            }
            remap[p].push(n);
        }
        for (p, i) in kept {
            let Some(Entry::Rule(r)) = entries[i].take() else { continue };
            let skip = skip_to.get(&i).map(|&t| remap[p][t]);
            let index = self.sec.rules.len() as u32;
            new_index.insert(i, index);
            let rule = self.register(*r, skip, index);
            self.sec.rules.push(rule);
            phase_lists[p].push(index);
        }
        self.sec.phases = phase_lists;
        // Tags `ctl` removals name, per rule.
        let tags = self.sec.ctl_tags.clone();
        self.sec.rule_ctl_tags = self
            .sec
            .rules
            .iter()
            .map(|r| tags.iter().enumerate().filter(|(_, t)| r.tags.contains(t)).map(|(i, _)| i as u16).collect())
            .collect();
        self.sec.score_slot = ["blocking_inbound_anomaly_score", "anomaly_score"]
            .iter()
            .find_map(|n| self.sec.tx_index.get(n.as_bytes()).copied());
        self.sec.stats.prefiltered = self.sec.rules.iter().filter(|r| r.prefiltered).count();
    }

    /// Builds the run-time rule and its IR rules (report, prefilter scans).
    fn register(&mut self, r: LRule, skip_to: Option<u32>, index: u32) -> SecRule {
        let source = &self.files[r.file as usize].source;
        let (line, _) = source.line_column(r.span.start as usize);
        let origin: Arc<str> = format!("{}:{line}", source.name()).into();
        let phase = if r.phase <= 1 { Phase::RequestHeaders } else { Phase::RequestBody };
        let severity = r.severity.and_then(|s| match s {
            0..=2 => Some(Severity::Critical),
            3 => Some(Severity::Error),
            4 => Some(Severity::Warning),
            5 => Some(Severity::Notice),
            _ => None,
        });
        let mut links = r.links;
        let (scan, extra) = self.prefilter(&mut links);
        let prefiltered = scan.is_some();
        let residual = links
            .first()
            .is_some_and(|l| l.targets.iter().any(|t| !t.prefiltered && !matches!(t.var, Var::Xml | Var::Unsupported)));
        let ir_index = self.program.rules.len() as RuleIdx;
        let make = |kind, scan| RuleIr {
            kind,
            id: r.id,
            message: r.msg_text.clone(),
            severity,
            paranoia: r.paranoia,
            tags: r.tags.clone(),
            action: RuleAction::Log,
            scan,
            when: None,
            phase,
            exclusions: Vec::new(),
            origin: origin.clone(),
        };
        self.program.rules.push(make(RuleKind::SecLang(index), scan));
        let mut extra_prefilters = Vec::new();
        for s in extra {
            extra_prefilters.push(self.program.rules.len() as RuleIdx);
            self.program.rules.push(make(RuleKind::SecPrefilter, Some(s)));
        }
        SecRule {
            id: r.id,
            ir: ir_index,
            extra_prefilters,
            prefiltered,
            residual,
            links,
            disruptive: r.disruptive,
            log: r.log,
            skip_to,
            severity: r.severity,
            tags: r.tags,
        }
    }

    /// The prefilter scan of a rule's first link (and, for multiMatch, the
    /// scans of its pipeline's prefixes), marking the targets it covers.
    fn prefilter(&mut self, links: &mut [Link]) -> (Option<Scan>, Vec<Scan>) {
        let Some(link) = links.first_mut() else { return (None, Vec::new()) };
        let SecOp::Static(op) = link.op else { return (None, Vec::new()) };
        // An operator that matches every value (`@unconditionalMatch`, or
        // `@rx ^.*$` under DOTALL, as 920450 captures each header name)
        // has nothing to prefilter: a scan would only find every value.
        let matches_all = match self.program.ops[op as usize] {
            OpIr::Always => true,
            OpIr::Regex(id) => self.program.regexes[id as usize].whole,
            _ => false,
        };
        if matches_all {
            return (None, Vec::new());
        }
        let Some(pipeline) = link.pipeline else { return (None, Vec::new()) };
        // A scalar always has a value, empty when the request lacks it; the
        // scan never sees such absent values, so when the operator matches
        // the empty value, scalar targets are evaluated directly instead.
        let empty_matches = {
            let transforms = &self.program.pipelines[pipeline as usize];
            let mut bufs = [Vec::new(), Vec::new()];
            let t = crate::eval::exec_pipeline(transforms, b"", &mut bufs);
            crate::eval::op::eval_once(&self.program.ops[op as usize], t, self.program) != link.negated
        };
        let mut targets = Vec::new();
        for t in link.targets.iter_mut() {
            let Some(sources) = t.var.sources() else { continue };
            if t.count || (empty_matches && !t.var.is_collection()) {
                continue;
            }
            let mut ir = TargetIr::of(SourceSet::of(sources));
            match &t.sel {
                Sel::All => {}
                Sel::Key(k) => ir.include.push(KeyMatch::Exact(k.clone())),
                Sel::Regex(r) => ir.include.push(KeyMatch::Regex(*r)),
            }
            if t.var.is_collection() {
                for ex in link.exclusions.iter().filter(|e| e.var == t.var) {
                    match &ex.sel {
                        Sel::All => ir.exclude.push(KeyMatch::Regex(self.match_all_regex())),
                        Sel::Key(k) => ir.exclude.push(KeyMatch::Exact(k.clone())),
                        Sel::Regex(r) => ir.exclude.push(KeyMatch::Regex(*r)),
                    }
                }
            }
            t.prefiltered = true;
            targets.push(ir);
        }
        if targets.is_empty() {
            return (None, Vec::new());
        }
        let negated = link.negated;
        let mut extra = Vec::new();
        if link.multi_match {
            let std: Vec<Transform> = link
                .transforms
                .iter()
                .filter_map(|t| if let SecTransform::Std(t) = t { Some(*t) } else { None })
                .collect();
            for k in 0..std.len() {
                let p = self.program.pipeline(&std[..k]);
                extra.push(Scan { targets: targets.clone(), pipeline: p, op, negated });
            }
        }
        (Some(Scan { targets, pipeline, op, negated }), extra)
    }

    /// A key regex matching every key (an exclusion of a whole collection).
    fn match_all_regex(&mut self) -> RegexId {
        let source = SourceFile::new("<seclang>", "");
        let c = regex::compile("", &source, Span::default(), false).expect("the empty regex compiles");
        self.program.add_regex(c)
    }

    /// Which rules some request can reach. See the module docs.
    fn analyse(
        &mut self,
        entries: &[Entry],
        lists: &[Vec<usize>; 2],
        skip_to: &HashMap<usize, usize>,
    ) -> HashSet<usize> {
        let mut reachable = HashSet::new();
        // Rule ids and tags a run-time ctl may have removed by now: the
        // removals of reachable rules already passed (a ctl acts on the
        // rules after its own).
        let mut ctl_ids: Vec<(u32, u32)> = Vec::new();
        let mut ctl_tags: Vec<Arc<str>> = Vec::new();
        let mut state = Some(Abs::default());
        for list in lists {
            let mut incoming: Vec<Option<Abs>> = vec![None; list.len() + 1];
            incoming[0] = state.take();
            for pos in 0..list.len() {
                let Some(st) = incoming[pos].take() else { continue };
                let i = list[pos];
                reachable.insert(i);
                let Entry::Rule(r) = &entries[i] else { continue };
                let (mut outcome, after) = self.abs_rule(r, &st);
                let skip = skip_to.get(&i).copied();
                let removable_id = ctl_ids.iter().any(|&(a, b)| (a..=b).contains(&r.id));
                let removable_tags: Vec<&Arc<str>> = ctl_tags.iter().filter(|t| r.tags.contains(t)).collect();
                if outcome == Tri::True && (removable_id || !removable_tags.is_empty()) {
                    // Removal at run time must also remove whatever it would expose.
                    let covered = !removable_id
                        && skip.is_some_and(|t| {
                            list[pos + 1..t].iter().all(|&j| match &entries[j] {
                                Entry::Rule(x) => removable_tags.iter().all(|tag| x.tags.contains(tag)),
                                Entry::Marker(_) => true,
                            })
                        });
                    if !covered {
                        outcome = Tri::Unknown;
                    }
                }
                if outcome != Tri::False {
                    for c in r.links.iter().flat_map(|l| &l.ctls) {
                        match c {
                            Ctl::RemoveById(ranges) => ctl_ids.extend(ranges),
                            Ctl::RemoveByTag(t) => ctl_tags.push(self.sec.ctl_tags[usize::from(*t)].clone()),
                            _ => {}
                        }
                    }
                }
                let stops = matches!(r.disruptive, Disruptive::Allow | Disruptive::AllowPhase);
                let mut send = |to: usize, s: Abs| {
                    let slot = &mut incoming[to];
                    *slot = Some(match slot.take() {
                        Some(prev) => prev.join(&s),
                        None => s,
                    });
                };
                match outcome {
                    Tri::False => send(pos + 1, after),
                    Tri::True => {
                        let to = if stops { list.len() } else { skip.unwrap_or(pos + 1) };
                        send(to, after);
                    }
                    Tri::Unknown => {
                        let merged = st.join(&after);
                        send(pos + 1, merged.clone());
                        if let Some(t) = skip {
                            send(t, merged.clone());
                        }
                        if stops {
                            send(list.len(), merged);
                        }
                    }
                }
            }
            state = incoming[list.len()].take();
            if state.is_none() {
                state = Some(Abs::default());
            }
        }
        reachable
    }

    /// The static outcome of a rule and the TX state after it (when it matches).
    fn abs_rule(&self, r: &LRule, st: &Abs) -> (Tri, Abs) {
        let mut state = st.clone();
        for (n, link) in r.links.iter().enumerate() {
            let t = self.abs_link(link, &state);
            match t {
                Tri::True => {
                    for sv in &link.setvars {
                        self.abs_setvar(sv, &mut state);
                    }
                    if link.capture {
                        for d in 0..10u8 {
                            state.vals.insert(vec![b'0' + d], None);
                        }
                    }
                }
                Tri::False => {
                    // Earlier links' setvars ran: the state after a failed rule.
                    let _ = n;
                    return (Tri::False, state);
                }
                Tri::Unknown => {
                    // This link and every later one may or may not run.
                    for l in &r.links[n..] {
                        for sv in &l.setvars {
                            match &sv.name {
                                TxName::Slot(s) => {
                                    state.vals.insert(self.sec.tx_names[*s as usize].to_vec(), None);
                                }
                                TxName::Dynamic(_) => state.wild = true,
                            }
                        }
                        if l.capture {
                            for d in 0..10u8 {
                                state.vals.insert(vec![b'0' + d], None);
                            }
                        }
                    }
                    return (Tri::Unknown, state);
                }
            }
        }
        (Tri::True, state)
    }

    fn abs_link(&self, link: &Link, st: &Abs) -> Tri {
        if link.targets.is_empty() {
            // SecAction, or a rule whose targets were all dropped.
            return if matches!(link.op, SecOp::Unconditional) { Tri::True } else { Tri::Unknown };
        }
        if !link.exclusions.is_empty() || link.multi_match {
            return Tri::Unknown;
        }
        let mut values: Vec<Vec<u8>> = Vec::new();
        for t in &link.targets {
            let (Var::Tx, Sel::Key(k)) = (t.var, &t.sel) else { return Tri::Unknown };
            match st.get(k) {
                None => return Tri::Unknown,
                Some(v) => {
                    if t.count {
                        values.push(if v.is_some() { b"1".to_vec() } else { b"0".to_vec() });
                    } else if let Some(v) = v {
                        values.push(v);
                    }
                }
            }
        }
        let mut any = false;
        for mut v in values {
            for t in &link.transforms {
                let SecTransform::Std(t) = t else { return Tri::Unknown };
                let mut out = Vec::new();
                if t.apply(&v, &mut out) {
                    v = out;
                }
            }
            let m = match &link.op {
                SecOp::Static(op) => match &self.program.ops[*op as usize] {
                    OpIr::Num(cmp, n) => cmp.holds(atoi(&v), *n),
                    OpIr::Within(list) => crate::eval::op::within(&v, list).is_some(),
                    OpIr::Equals(s) => v == **s,
                    OpIr::Contains(s) => memchr::memmem::find(&v, s).is_some(),
                    OpIr::StartsWith(s) => v.starts_with(s),
                    OpIr::EndsWith(s) => v.ends_with(s),
                    OpIr::Always => true,
                    OpIr::Regex(id) => self.program.regexes[*id as usize].regex.is_match(&v),
                    _ => return Tri::Unknown,
                },
                SecOp::Dynamic(kind, m) => {
                    let Some(p) = st.expand(m, &self.sec.tx_names) else { return Tri::Unknown };
                    match kind {
                        DynOp::Num(cmp) => cmp.holds(atoi(&v), atoi(&p)),
                        DynOp::Within => crate::eval::op::within(&v, &p).is_some(),
                        DynOp::Streq => v == p,
                        _ => return Tri::Unknown,
                    }
                }
                SecOp::Unconditional => true,
                SecOp::Never => false,
                SecOp::IpMatch(_) => return Tri::Unknown,
            };
            if m != link.negated {
                any = true;
            }
        }
        if any { Tri::True } else { Tri::False }
    }

    fn abs_setvar(&self, sv: &SetVar, st: &mut Abs) {
        let name = match &sv.name {
            TxName::Slot(s) => self.sec.tx_names[*s as usize].to_vec(),
            TxName::Dynamic(m) => match st.expand(m, &self.sec.tx_names) {
                Some(n) => n.to_ascii_lowercase(),
                None => {
                    st.wild = true;
                    return;
                }
            },
        };
        let value = match &sv.op {
            SetOp::Delete => Some(None),
            SetOp::Set(m) => st.expand(m, &self.sec.tx_names).map(Some),
            SetOp::Add(m) | SetOp::Sub(m) => match (st.get(&name), st.expand(m, &self.sec.tx_names)) {
                (Some(cur), Some(v)) => {
                    let cur = cur.as_deref().map_or(0, atoi);
                    let v = atoi(&v);
                    let n = if matches!(sv.op, SetOp::Add(_)) { cur + v } else { cur - v };
                    Some(Some(n.to_string().into_bytes()))
                }
                _ => None,
            },
        };
        st.vals.insert(name, value);
    }
}

/// The abstract TX store of the static analysis.
#[derive(Clone, Debug, Default)]
struct Abs {
    /// name -> Some(Some(v)): known value; Some(None): known unset; None: unknown.
    vals: HashMap<Vec<u8>, Option<Option<Vec<u8>>>>,
    /// A variable with a run-time name may have been set: names not in
    /// `vals` are unknown rather than unset.
    wild: bool,
}

impl Abs {
    /// The known state of a variable: Some(value or unset), or None if unknown.
    fn get(&self, name: &[u8]) -> Option<Option<Vec<u8>>> {
        match self.vals.get(name) {
            Some(v) => v.clone(),
            None if self.wild => None,
            None => Some(None),
        }
    }

    fn join(&self, other: &Abs) -> Abs {
        let mut out = Abs { vals: HashMap::new(), wild: self.wild || other.wild };
        let keys: HashSet<&Vec<u8>> = self.vals.keys().chain(other.vals.keys()).collect();
        for k in keys {
            let (a, b) = (self.get(k), other.get(k));
            out.vals.insert(k.clone(), if a == b { a } else { None });
        }
        out
    }

    /// Expands a macro when every part is known.
    fn expand(&self, m: &Macro, names: &[Box<[u8]>]) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        for p in &m.parts {
            match p {
                MacroPart::Lit(l) => out.extend_from_slice(l),
                MacroPart::Tx(s) => {
                    if let Some(v) = self.get(&names[*s as usize])? {
                        out.extend_from_slice(&v);
                    }
                }
                _ => return None,
            }
        }
        Some(out)
    }
}

/// PCRE without UTF mode reads `\x{ff}` as the byte 0xff; regex-syntax reads
/// a braced escape as a code point (which byte mode refuses above U+007F).
/// Braced escapes of one or two hex digits become `\xHH`.
fn pcre_bytes(pattern: &str) -> std::borrow::Cow<'_, str> {
    if !pattern.contains("\\x{") {
        return std::borrow::Cow::Borrowed(pattern);
    }
    let b = pattern.as_bytes();
    let mut out = String::with_capacity(pattern.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            if b[i + 1] == b'x' && b.get(i + 2) == Some(&b'{') {
                let digits = b[i + 3..].iter().take_while(|c| c.is_ascii_hexdigit()).count();
                if (1..=2).contains(&digits) && b.get(i + 3 + digits) == Some(&b'}') {
                    out.push_str("\\x");
                    if digits == 1 {
                        out.push('0');
                    }
                    out.push_str(&pattern[i + 3..i + 3 + digits]);
                    i += 4 + digits;
                    continue;
                }
            }
            out.push_str(&pattern[i..i + 2]);
            i += 2;
            continue;
        }
        let ch = pattern[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    std::borrow::Cow::Owned(out)
}

/// `1`-`5`, or ModSecurity's names for them.
fn parse_phase(v: &str) -> Option<u8> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" => Some(1),
        "2" | "request" => Some(2),
        "3" => Some(3),
        "4" | "response" => Some(4),
        "5" | "logging" => Some(5),
        _ => None,
    }
}

/// `CRITICAL` or `2` (0 emergency ... 7 debug).
fn parse_severity(v: &str) -> Option<u8> {
    let v = v.trim();
    if let Ok(n) = v.parse::<u8>() {
        return (n <= 7).then_some(n);
    }
    ["EMERGENCY", "ALERT", "CRITICAL", "ERROR", "WARNING", "NOTICE", "INFO", "DEBUG"]
        .iter()
        .position(|s| s.eq_ignore_ascii_case(v))
        .map(|n| n as u8)
}

/// `942100`, `942100-942199`, several separated by spaces or commas.
fn parse_id_ranges(v: &str) -> Option<Vec<(u32, u32)>> {
    let mut out = Vec::new();
    for item in v.split([' ', ',']).map(str::trim).filter(|s| !s.is_empty()) {
        let item = item.trim_matches('"');
        match item.split_once('-') {
            Some((a, b)) => out.push((a.trim().parse().ok()?, b.trim().parse().ok()?)),
            None => {
                let n = item.parse().ok()?;
                out.push((n, n));
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

/// `1-255`, `9,10,13,32-126` into a bitmap of allowed bytes.
fn parse_byte_ranges(v: &str) -> Option<[u64; 4]> {
    let mut allowed = [0u64; 4];
    for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (a, b) = match item.split_once('-') {
            Some((a, b)) => (a.trim().parse::<u8>().ok()?, b.trim().parse::<u8>().ok()?),
            None => {
                let n = item.parse::<u8>().ok()?;
                (n, n)
            }
        };
        for byte in a..=b {
            allowed[usize::from(byte >> 6)] |= 1 << (byte & 63);
        }
    }
    Some(allowed)
}

/// An IP address or network (`10.0.0.0/8`, `::1`).
fn parse_cidr(v: &str) -> Option<Cidr> {
    let (addr, prefix) = match v.split_once('/') {
        Some((a, p)) => (a, Some(p.parse::<u8>().ok()?)),
        None => (v, None),
    };
    let addr: std::net::IpAddr = addr.trim().parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = prefix.unwrap_or(max);
    (prefix <= max).then_some(Cidr { addr, prefix })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn braced_hex_escapes_become_bytes() {
        assert_eq!(pcre_bytes(r"a\x{bc}[^\x{be}]"), r"a\xbc[^\xbe]");
        assert_eq!(pcre_bytes(r"\x{7}\\x{41}"), r"\x07\\x{41}");
        assert_eq!(pcre_bytes(r"\x{1F600}"), r"\x{1F600}");
    }

    #[test]
    fn small_parsers() {
        assert_eq!(parse_phase("request"), Some(2));
        assert_eq!(parse_phase("6"), None);
        assert_eq!(parse_severity("critical"), Some(2));
        assert_eq!(parse_severity("5"), Some(5));
        assert_eq!(parse_id_ranges("1 5-9,12"), Some(vec![(1, 1), (5, 9), (12, 12)]));
        assert_eq!(parse_id_ranges("x"), None);
        let b = parse_byte_ranges("9,10,32-126").unwrap();
        assert!(b[0] & (1 << 9) != 0 && b[0] & (1 << 11) == 0 && b[1] & (1 << (126 - 64)) != 0);
        assert!(parse_cidr("10.0.0.0/8").is_some() && parse_cidr("10.0.0.0/40").is_none());
    }
}
