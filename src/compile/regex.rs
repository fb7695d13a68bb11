//! Regex compilation: linear-time only, errors mapped into the rule file, and
//! required-literal extraction for prefilters.
//!
//! Patterns are parsed with regex-syntax in byte mode with Unicode off by
//! default (`\w`, `\d`, `\b` and `(?i)` are ASCII; write `(?u)` to opt in):
//! WAF rules inspect bytes that need not be UTF-8, and ASCII classes keep the
//! DFAs small. regex-syntax rejects backreferences and look-around, the
//! features that need backtracking; rampart reports them with a hint instead of
//! running them slowly or skipping the rule.
//!
//! Required literals: for each regex we compute a set of literal strings such
//! that every match contains at least one of them (for `(?i)\bunion\s+select`,
//! `{"union"}` or `{"select"}`). The matcher runs one Aho-Corasick pass over a
//! value for all such literals of a group and runs a regex only where its
//! literals occur, as Hyperscan does.

use regex_automata::meta;
use regex_syntax::ast::ErrorKind as AstErrorKind;
use regex_syntax::hir::{Class, Hir, HirKind};

use crate::dsl::{ErrorKind, RuleError, SourceFile, Span};
use crate::transform::byteset::{ByteGate, ByteSet, commonness, cost};

/// Most literals in one required set; larger sets are dropped (no prefilter).
const MAX_SET: usize = 64;
/// The same for clean-text literals (see [`clean_text_literals`]).
const CLEAN_MAX_SET: usize = 256;
/// Least selectivity (see `selectivity`) of a literal worth prefiltering on.
const MIN_SELECTIVITY: u32 = 3;

/// A compiled, checked regex.
#[derive(Debug)]
pub(crate) struct CompiledRegex {
    /// The regex for finding a match and its position.
    pub(crate) regex: meta::Regex,
    /// Its syntax tree, for building multi-pattern sets.
    pub(crate) hir: Hir,
    /// Required literals (lowercase), when good ones exist.
    pub(crate) literals: Option<Vec<Vec<u8>>>,
    /// When the regex matches exactly the texts that start with these bytes,
    /// ignoring ASCII case (`(?i)^x-`, a common key selector): a prefix test
    /// answers `is_match` without running the regex.
    pub(crate) prefix: Option<Box<[u8]>>,
    /// Every text matches, the match spans all of it, and there is no capture
    /// group but the whole match: `^.*$` with `.` matching every byte
    /// (SecLang's DOTALL), which CRS 920450 and 920451 use to capture each
    /// header name. No search is needed to find the match.
    pub(crate) whole: bool,
    /// Bytes every match contains one of ([`required_bytes`]): a text with
    /// none cannot match. `when` conditions test it before searching each value.
    pub(crate) required: Option<ByteGate>,
}

impl CompiledRegex {
    /// A compiled regex with what the matcher derives from its syntax tree.
    fn new(regex: meta::Regex, hir: Hir) -> CompiledRegex {
        let literals = required_literals(&hir);
        let prefix = case_insensitive_prefix(&hir);
        let whole = matches_whole(&hir);
        let required = required_bytes(&hir).map(ByteGate::new);
        CompiledRegex { regex, hir, literals, prefix, whole, required }
    }

    /// Whether the regex matches somewhere in `text`.
    ///
    /// Key selectors and TX names are short texts where the regex engine's
    /// fixed cost per search dominates: when the text is short and the regex
    /// has a few required literals, a text without any of them is answered
    /// without a search (`(?:^|\.)@type$` over a JSON key).
    pub(crate) fn is_match(&self, text: &[u8]) -> bool {
        if let Some(p) = &self.prefix {
            return text.get(..p.len()).is_some_and(|head| head.eq_ignore_ascii_case(p));
        }
        if text.len() <= SHORT_TEXT
            && let Some(literals) = self.literals.as_ref().filter(|l| l.len() <= SHORT_TEXT_LITERALS)
            && !literals.iter().any(|l| contains_ignore_ascii_case(text, l))
        {
            return false;
        }
        self.regex.is_match(text)
    }
}

/// Longest text [`CompiledRegex::is_match`] checks for required literals
/// itself, and the most literals it tries.
const SHORT_TEXT: usize = 128;
const SHORT_TEXT_LITERALS: usize = 8;

/// Whether `text` contains `lower` (lowercase) ignoring ASCII case.
fn contains_ignore_ascii_case(text: &[u8], lower: &[u8]) -> bool {
    let Some((&first, rest)) = lower.split_first() else { return true };
    let upper = first.to_ascii_uppercase();
    text.len() >= lower.len()
        && text[..=text.len() - lower.len()]
            .iter()
            .enumerate()
            .any(|(i, &b)| (b == first || b == upper) && text[i + 1..i + lower.len()].eq_ignore_ascii_case(rest))
}

/// See [`CompiledRegex::whole`]: an optional start anchor, a greedy `*` of
/// the class of all 256 bytes, an optional end anchor. Leftmost-first, the
/// match starts at 0 (where `^`, with or without multi-line, holds) and the
/// star takes every byte, after which `$` holds at the end.
fn matches_whole(hir: &Hir) -> bool {
    use regex_syntax::hir::Look;
    let mut parts: &[Hir] = match hir.kind() {
        HirKind::Concat(parts) => parts,
        _ => std::slice::from_ref(hir),
    };
    if let Some((first, rest)) = parts.split_first()
        && matches!(first.kind(), HirKind::Look(Look::Start | Look::StartLF))
    {
        parts = rest;
    }
    if let Some((last, rest)) = parts.split_last()
        && matches!(last.kind(), HirKind::Look(Look::End | Look::EndLF))
    {
        parts = rest;
    }
    let [star] = parts else { return false };
    let HirKind::Repetition(rep) = star.kind() else { return false };
    let every_byte = match rep.sub.kind() {
        HirKind::Class(Class::Bytes(c)) => {
            c.ranges().iter().map(|r| usize::from(r.end() - r.start()) + 1).sum::<usize>() == 256
        }
        _ => false,
    };
    rep.min == 0 && rep.max.is_none() && rep.greedy && every_byte
}

/// The prefix of a regex that is a start anchor followed by letters in both
/// cases and other single bytes (see [`CompiledRegex::prefix`]), lower-cased.
fn case_insensitive_prefix(hir: &Hir) -> Option<Box<[u8]>> {
    let HirKind::Concat(parts) = hir.kind() else { return None };
    let (first, rest) = parts.split_first()?;
    if !matches!(first.kind(), HirKind::Look(regex_syntax::hir::Look::Start)) || rest.is_empty() {
        return None;
    }
    let mut prefix = Vec::new();
    for part in rest {
        match part.kind() {
            // A literal letter is case-sensitive: not a case-insensitive prefix.
            HirKind::Literal(lit) if !lit.0.iter().any(u8::is_ascii_alphabetic) => prefix.extend_from_slice(&lit.0),
            HirKind::Class(class) => {
                let mut bytes: Vec<u8> = match class {
                    Class::Bytes(c) => c.ranges().iter().flat_map(|r| r.start()..=r.end()).take(3).collect(),
                    Class::Unicode(c) => c
                        .ranges()
                        .iter()
                        .flat_map(|r| u32::from(r.start())..=u32::from(r.end()))
                        .take(3)
                        .map(|cp| u8::try_from(cp).unwrap_or(0x80))
                        .collect(),
                };
                bytes.sort_unstable();
                match bytes[..] {
                    [b] if !b.is_ascii_alphabetic() && b.is_ascii() => prefix.push(b),
                    [upper, lower] if upper.is_ascii_uppercase() && lower == upper.to_ascii_lowercase() => {
                        prefix.push(lower)
                    }
                    _ => return None,
                }
            }
            _ => return None,
        }
    }
    Some(prefix.into())
}

/// The meta-regex configuration every rampart regex uses.
pub(crate) fn meta_config() -> meta::Config {
    meta::Config::new().utf8_empty(false).nfa_size_limit(Some(16 << 20)).hybrid_cache_capacity(4 << 20)
}

/// Parses, checks and compiles `pattern`, written at `span` of `source`.
/// `case_insensitive` is used for key selectors.
pub(crate) fn compile(
    pattern: &str,
    source: &SourceFile,
    span: Span,
    case_insensitive: bool,
) -> Result<CompiledRegex, RuleError> {
    compile_with(pattern, source, span, Flags { case_insensitive, ..Flags::default() })
}

/// Flags a regex is compiled with (all off in the rule language).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Flags {
    /// `(?i)` for the whole pattern.
    pub(crate) case_insensitive: bool,
    /// `(?s)`: `.` matches `\n` too.
    pub(crate) dot_all: bool,
    /// `(?m)`: `^` and `$` match at line breaks too.
    pub(crate) multi_line: bool,
}

/// [`compile`] with explicit flags (SecLang's `@rx` is PCRE with DOTALL and
/// MULTILINE, as in ModSecurity).
pub(crate) fn compile_with(
    pattern: &str,
    source: &SourceFile,
    span: Span,
    flags: Flags,
) -> Result<CompiledRegex, RuleError> {
    compile_hir(parse_with(pattern, source, span, flags)?, source, span)
}

/// Parses and checks a rule-language `pattern` (no flags), written at `span`
/// of `source`, without compiling it.
pub(crate) fn parse(pattern: &str, source: &SourceFile, span: Span) -> Result<Hir, RuleError> {
    parse_with(pattern, source, span, Flags::default())
}

/// Compiles a parsed regex (or the alternation of several, see
/// `when` conditions in `lower`); a regex over the engine's size limit is an
/// error at `span`.
pub(crate) fn compile_hir(hir: Hir, source: &SourceFile, span: Span) -> Result<CompiledRegex, RuleError> {
    let regex = meta::Builder::new().configure(meta_config()).build_from_hir(&hir).map_err(|e| {
        RuleError::new(ErrorKind::Regex, source, span, format!("regex cannot be compiled: {e}")).with_help(
            "the compiled automaton is over the size limit; split the pattern or simplify repetitions".to_owned(),
        )
    })?;
    Ok(CompiledRegex::new(regex, hir))
}

/// Parses and translates a pattern, mapping errors into the file.
fn parse_with(pattern: &str, source: &SourceFile, span: Span, flags: Flags) -> Result<Hir, RuleError> {
    let at = |s: &regex_syntax::ast::Span| {
        Span::new(span.start as usize + s.start.offset, span.start as usize + s.end.offset)
    };
    let ast = regex_syntax::ast::parse::ParserBuilder::new().build().parse(pattern).map_err(|e| {
        let place = at(e.span());
        match e.kind() {
            AstErrorKind::UnsupportedBackreference => RuleError::new(
                ErrorKind::Regex,
                source,
                place,
                "backreferences need a backtracking regex engine, which rampart does not use",
            )
            .with_help("every rampart regex runs in linear time; match the repeated text explicitly or use a second condition".to_owned()),
            AstErrorKind::UnsupportedLookAround => RuleError::new(
                ErrorKind::Regex,
                source,
                place,
                "look-around (look-ahead or look-behind) needs a backtracking regex engine, which rampart does not use",
            )
            .with_help("every rampart regex runs in linear time; match the context explicitly, or use `match not` / a `when` condition".to_owned()),
            kind => RuleError::new(ErrorKind::Regex, source, place, format!("invalid regex: {kind}")),
        }
    })?;
    regex_syntax::hir::translate::TranslatorBuilder::new()
        .unicode(false)
        .utf8(false)
        .case_insensitive(flags.case_insensitive)
        .dot_matches_new_line(flags.dot_all)
        .multi_line(flags.multi_line)
        .build()
        .translate(pattern, &ast)
        .map_err(|e| {
            let mut err =
                RuleError::new(ErrorKind::Regex, source, at(e.span()), format!("invalid regex: {}", e.kind()));
            if matches!(e.kind(), regex_syntax::hir::ErrorKind::UnicodeNotAllowed) {
                err = err.with_help(
                    "regexes are byte-oriented with ASCII classes; write `(?u)` before Unicode classes".to_owned(),
                );
            }
            err
        })
}

/// Compiles several regexes into one that reports every pattern matching
/// anywhere in a value (`which_overlapping_matches`).
pub(crate) fn compile_set(hirs: &[&Hir]) -> Result<meta::Regex, String> {
    meta::Builder::new()
        .configure(meta_config().match_kind(regex_automata::MatchKind::All))
        .build_many_from_hir(hirs)
        .map_err(|e| e.to_string())
}

/// A set of bytes every match of `hir` contains at least one of, chosen to be
/// unlikely in ordinary text; None when no such set exists (the regex can
/// match the empty string, or any byte). A text with none of these bytes
/// cannot match, so the matcher skips the regex-set pass over it.
pub(crate) fn required_bytes(hir: &Hir) -> Option<ByteSet> {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => None,
        HirKind::Literal(lit) => lit.0.iter().copied().min_by_key(|&b| commonness(b)).map(|b| ByteSet::of(&[b])),
        HirKind::Class(Class::Bytes(c)) => {
            let mut set = ByteSet::EMPTY;
            for r in c.ranges() {
                set = set.union(ByteSet::range(r.start(), r.end()));
            }
            Some(set)
        }
        HirKind::Class(Class::Unicode(c)) => {
            let mut set = ByteSet::EMPTY;
            for r in c.ranges() {
                let (start, end) = (r.start() as u32, r.end() as u32);
                if start < 0x80 {
                    set = set.union(ByteSet::range(start as u8, end.min(0x7f) as u8));
                }
                if end >= 0x80 {
                    // Every non-ASCII character encodes to bytes >= 0x80.
                    set = set.union(ByteSet::range(0x80, 0xff));
                }
            }
            Some(set)
        }
        HirKind::Capture(cap) => required_bytes(&cap.sub),
        HirKind::Repetition(rep) => {
            if rep.min >= 1 {
                required_bytes(&rep.sub)
            } else {
                None
            }
        }
        HirKind::Concat(parts) => parts.iter().filter_map(required_bytes).min_by_key(cost),
        HirKind::Alternation(alts) => {
            let mut set = ByteSet::EMPTY;
            for a in alts {
                set = set.union(required_bytes(a)?);
            }
            Some(set)
        }
    }
}

/// Byte sets, smallest first, that ordinary request values rarely contain:
/// control bytes, whitespace other than the space, and the punctuation that
/// shell, SQL and script evasions put between the letters of a keyword
/// (`c\"a\"t`, `w''get`, `$@`), then `!?=@`, then `,:/`. A regex whose
/// every match may be broken up by such bytes has no required literal; on
/// texts without them it often has one (see [`clean_text_literals`]).
pub(crate) const CLEAN_TEXT_TIERS: [ByteSet; 3] = {
    const RARE: ByteSet = ByteSet::range(0, 0x1f).union(ByteSet::of(b"\x7f\"'()[]{}\\$`;|&<>^~*%#+"));
    [RARE, RARE.union(ByteSet::of(b"!?=@")), RARE.union(ByteSet::of(b"!?=@,:/"))]
};

/// For a regex without required literals: the first tier of
/// [`CLEAN_TEXT_TIERS`] on whose complement the regex has some, with them.
/// A text with no byte of that tier can match only if one of the literals
/// occurs in it (ASCII case ignored); a text with one must run the regex.
pub(crate) fn clean_text_literals(hir: &Hir) -> Option<(u8, Vec<Vec<u8>>)> {
    CLEAN_TEXT_TIERS.iter().enumerate().find_map(|(tier, excluded)| {
        Some((tier as u8, required_literals_within(&restrict(hir, excluded), CLEAN_MAX_SET)?))
    })
}

/// `hir` restricted to texts without any byte of `excluded`: it matches
/// what `hir` matches among such texts, or more (classes lose the excluded
/// bytes, a literal holding one cannot match; non-ASCII classes are kept
/// whole, which only widens the language). A prefilter built from the
/// restriction's required literals is therefore sound for every text that
/// has none of the excluded bytes.
pub(crate) fn restrict(hir: &Hir, excluded: &ByteSet) -> Hir {
    use regex_syntax::hir::{Capture, ClassBytes, ClassBytesRange, Repetition};
    let is_fail = |h: &Hir| matches!(h.kind(), HirKind::Class(c) if class_is_empty(c));
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => hir.clone(),
        HirKind::Literal(lit) => {
            if lit.0.iter().any(|&b| excluded.contains(b)) {
                Hir::fail()
            } else {
                hir.clone()
            }
        }
        HirKind::Class(Class::Bytes(c)) => {
            let mut out = c.clone();
            let removed = ClassBytes::new(excluded.iter().map(|b| ClassBytesRange::new(b, b)));
            out.difference(&removed);
            Hir::class(Class::Bytes(out))
        }
        HirKind::Class(Class::Unicode(c)) => {
            use regex_syntax::hir::{ClassUnicode, ClassUnicodeRange};
            let mut out = c.clone();
            let removed = ClassUnicode::new(
                excluded.iter().filter(|b| b.is_ascii()).map(|b| ClassUnicodeRange::new(char::from(b), char::from(b))),
            );
            out.difference(&removed);
            Hir::class(Class::Unicode(out))
        }
        HirKind::Capture(cap) => {
            let sub = restrict(&cap.sub, excluded);
            if is_fail(&sub) {
                return Hir::fail();
            }
            Hir::capture(Capture { index: cap.index, name: cap.name.clone(), sub: Box::new(sub) })
        }
        HirKind::Repetition(rep) => {
            let sub = restrict(&rep.sub, excluded);
            if is_fail(&sub) {
                return if rep.min == 0 { Hir::empty() } else { Hir::fail() };
            }
            Hir::repetition(Repetition { min: rep.min, max: rep.max, greedy: rep.greedy, sub: Box::new(sub) })
        }
        HirKind::Concat(parts) => {
            let mut out = Vec::with_capacity(parts.len());
            for p in parts {
                let r = restrict(p, excluded);
                if is_fail(&r) {
                    return Hir::fail();
                }
                out.push(r);
            }
            Hir::concat(out)
        }
        HirKind::Alternation(alts) => {
            let out: Vec<Hir> = alts.iter().map(|a| restrict(a, excluded)).filter(|h| !is_fail(h)).collect();
            if out.is_empty() { Hir::fail() } else { Hir::alternation(out) }
        }
    }
}

fn class_is_empty(c: &Class) -> bool {
    match c {
        Class::Bytes(c) => c.ranges().is_empty(),
        Class::Unicode(c) => c.ranges().is_empty(),
    }
}

/// What a node tells about literals.
struct Info {
    /// Every string the node can match, when few and finite.
    exact: Option<Vec<Vec<u8>>>,
    /// Some of these occurs in every match.
    required: Option<Vec<Vec<u8>>>,
}

/// How selective a literal is: the rarer its bytes in ordinary text, the
/// higher (a letter or digit counts 1, common punctuation 2, rare punctuation
/// such as `$ { < ;` 4; capped at 12).
fn selectivity(literal: &[u8]) -> u32 {
    literal
        .iter()
        .map(|&b| match commonness(b) {
            100 => 1,
            20 => 2,
            _ => 4,
        })
        .sum::<u32>()
        .min(12)
}

/// Required literals of a regex, lowercase, or None when no good set exists:
/// every literal must be selective enough to make a useful prefilter (three
/// letters, or a rarer pair such as `${` or `<?`).
pub(crate) fn required_literals(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    required_literals_within(hir, MAX_SET)
}

/// [`required_literals`] with at most `max` literals from a concatenation
/// (`4 * max` from an alternation).
fn required_literals_within(hir: &Hir, max: usize) -> Option<Vec<Vec<u8>>> {
    let mut set = info(hir, max).required?;
    // A text holding a literal that contains another holds that one too: the
    // shorter one alone says the same (`(?:^|\.)@type$` needs `@type`, not
    // also `.@type`).
    set.sort_by_key(Vec::len);
    let mut minimal: Vec<Vec<u8>> = Vec::with_capacity(set.len());
    for l in set {
        if !minimal.iter().any(|m| memchr::memmem::find(&l, m).is_some()) {
            minimal.push(l);
        }
    }
    minimal.sort_unstable();
    let set = minimal;
    let weakest = set.iter().map(|l| selectivity(l)).min()?;
    (weakest >= MIN_SELECTIVITY).then_some(set)
}

/// How much automaton a regex needs, roughly its NFA size: bounded
/// repetitions count each copy. Regexes above [`SET_COMPLEXITY_LIMIT`] run on
/// their own rather than inside a multi-regex set, where they would multiply
/// the lazy DFA's states for every other pattern (measured 2026-11-27: one
/// Log4Shell pattern with four `[^}]{0,64}` made a 1 MiB JSON body take 600 ms).
pub(crate) fn complexity(hir: &Hir) -> usize {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) | HirKind::Class(_) => 1,
        HirKind::Literal(lit) => lit.0.len(),
        HirKind::Capture(cap) => complexity(&cap.sub),
        HirKind::Repetition(rep) => {
            let copies = rep.max.unwrap_or(rep.min).max(rep.min).max(1) as usize;
            complexity(&rep.sub).saturating_mul(copies)
        }
        HirKind::Concat(parts) | HirKind::Alternation(parts) => {
            parts.iter().map(complexity).fold(0usize, usize::saturating_add)
        }
    }
}

/// Regexes more complex than this run on their own (see [`complexity`]).
pub(crate) const SET_COMPLEXITY_LIMIT: usize = 200;

/// Most total [`complexity`] of the unanchored regexes matched in one set
/// pass (see `plan::SetChunk`). Measured 2026-12-07 (callgrind, steady state,
/// CRS v4 paranoia 2, 300 benign-api requests): 1,000 still thrashed the
/// 4 MiB lazy-DFA cache (2.54M instructions per request); 300 and 500 both
/// ~1.06M; CRS's paranoia-1 sets (<= 472) are one pass each.
pub(crate) const SET_CHUNK_COMPLEXITY: usize = 500;

fn info(hir: &Hir, max: usize) -> Info {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Info { exact: Some(vec![Vec::new()]), required: None },
        HirKind::Literal(lit) => {
            let lower = lit.0.to_ascii_lowercase();
            Info { exact: Some(vec![lower.clone()]), required: Some(vec![lower]) }
        }
        HirKind::Class(class) => {
            let exact = class_bytes(class).map(|bytes| bytes.into_iter().map(|b| vec![b]).collect::<Vec<_>>());
            Info { required: exact.clone(), exact }
        }
        HirKind::Capture(cap) => info(&cap.sub, max),
        HirKind::Repetition(rep) => {
            let sub = info(&rep.sub, max);
            // A small bounded repetition (`x{2}`, an optional ` ?`) has an
            // exact set: the union of the sub-set repeated min..=max times.
            let exact = match (rep.max, &sub.exact) {
                (Some(times), Some(set)) if times <= 4 => {
                    let mut acc = vec![Vec::new()];
                    let mut all: Option<Vec<Vec<u8>>> = (rep.min == 0).then(|| vec![Vec::new()]);
                    let mut ok = true;
                    for k in 1..=times {
                        match cross(&acc, set, max) {
                            Some(next) => acc = next,
                            None => {
                                ok = false;
                                break;
                            }
                        }
                        if k >= rep.min {
                            all = match all {
                                None => Some(acc.clone()),
                                Some(prev) => union([Some(&prev), Some(&acc)].into_iter(), max),
                            };
                        }
                    }
                    if ok { all } else { None }
                }
                _ => None,
            };
            let required = if rep.min >= 1 { better(exact.clone(), sub.required) } else { None };
            Info { exact, required }
        }
        HirKind::Alternation(alts) => {
            let infos: Vec<Info> = alts.iter().map(|a| info(a, max)).collect();
            let exact = union(infos.iter().map(|i| i.exact.as_ref()), max);
            let required = union(infos.iter().map(|i| i.required.as_ref()), max);
            Info { exact, required }
        }
        HirKind::Concat(parts) => {
            let infos: Vec<Info> = parts.iter().map(|p| info(p, max)).collect();
            let mut best: Option<Vec<Vec<u8>>> = None;
            let mut run: Option<Vec<Vec<u8>>> = Some(vec![Vec::new()]);
            let mut whole: Option<Vec<Vec<u8>>> = Some(vec![Vec::new()]);
            for i in &infos {
                best = better(best, i.required.clone());
                whole = match (&whole, &i.exact) {
                    (Some(w), Some(e)) => cross(w, e, max),
                    _ => None,
                };
                match &i.exact {
                    Some(e) => {
                        let next = run.as_ref().and_then(|r| cross(r, e, max));
                        match next {
                            Some(n) => run = Some(n),
                            None => {
                                best = better(best, run.take());
                                run = Some(e.clone());
                            }
                        }
                    }
                    None => {
                        best = better(best, run.take());
                        run = Some(vec![Vec::new()]);
                    }
                }
            }
            best = better(best, run);
            Info { exact: whole, required: best }
        }
    }
}

/// The bytes a small class matches, lowercased and deduplicated; None if large.
fn class_bytes(class: &Class) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    match class {
        Class::Bytes(c) => {
            for r in c.ranges() {
                if usize::from(r.end() - r.start()) >= 8 {
                    return None;
                }
                for b in r.start()..=r.end() {
                    out.push(b.to_ascii_lowercase());
                }
            }
        }
        Class::Unicode(c) => {
            for r in c.ranges() {
                let (start, end) = (r.start() as u32, r.end() as u32);
                if end - start >= 8 || end > 0x7f {
                    return None;
                }
                for cp in start..=end {
                    out.push((cp as u8).to_ascii_lowercase());
                }
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    (out.len() <= 4).then_some(out)
}

fn cross(a: &[Vec<u8>], b: &[Vec<u8>], max: usize) -> Option<Vec<Vec<u8>>> {
    if a.len() * b.len() > max {
        return None;
    }
    let mut out = Vec::with_capacity(a.len() * b.len());
    for x in a {
        for y in b {
            let mut s = x.clone();
            s.extend_from_slice(y);
            if s.len() > 256 {
                return None;
            }
            out.push(s);
        }
    }
    out.sort();
    out.dedup();
    Some(out)
}

fn union<'a>(sets: impl Iterator<Item = Option<&'a Vec<Vec<u8>>>>, max: usize) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for s in sets {
        out.extend(s?.iter().cloned());
        if out.len() > max * 4 {
            return None;
        }
    }
    out.sort();
    out.dedup();
    Some(out)
}

/// The better of two required sets: longer shortest literal, then fewer literals.
fn better(a: Option<Vec<Vec<u8>>>, b: Option<Vec<Vec<u8>>>) -> Option<Vec<Vec<u8>>> {
    let score = |s: &Vec<Vec<u8>>| (s.iter().map(|l| selectivity(l)).min().unwrap_or(0), usize::MAX - s.len());
    match (a, b) {
        (Some(a), Some(b)) => Some(if score(&b) > score(&a) { b } else { a }),
        (a, None) => a.filter(|s| s.iter().all(|l| !l.is_empty())),
        (None, b) => b.filter(|s| s.iter().all(|l| !l.is_empty())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lits(pattern: &str) -> Option<Vec<String>> {
        let src = SourceFile::new("t", pattern);
        let c = compile(pattern, &src, Span::new(0, pattern.len()), false).unwrap();
        c.literals.map(|set| set.into_iter().map(|l| String::from_utf8(l).unwrap()).collect())
    }

    #[test]
    fn anchored_case_insensitive_prefixes_skip_the_regex() {
        let key_regex = |pattern: &str| {
            let src = SourceFile::new("t", pattern);
            compile(pattern, &src, Span::new(0, pattern.len()), true).unwrap()
        };
        let plain = |pattern: &str| {
            let src = SourceFile::new("t", pattern);
            compile(pattern, &src, Span::new(0, pattern.len()), false).unwrap()
        };
        let x = key_regex("^x-");
        assert_eq!(x.prefix.as_deref(), Some(&b"x-"[..]));
        assert_eq!(key_regex("^__utm").prefix.as_deref(), Some(&b"__utm"[..]));
        // Case-sensitive letters, an end anchor, a class or no anchor: the regex runs.
        assert_eq!(plain("^x-").prefix, None);
        assert_eq!(key_regex("^x-$").prefix, None);
        assert_eq!(key_regex("^x[-_]").prefix, None);
        assert_eq!(key_regex("x-").prefix, None);
        for regex in [&x, &key_regex("^__utm"), &plain("^x-"), &key_regex("^x-$")] {
            for key in ["x-forwarded-for", "X-Forwarded-For", "x", "", "ax-b", "__UTMZ", "__utm", "x-", "X_-"] {
                assert_eq!(regex.is_match(key.as_bytes()), regex.regex.is_match(key), "{key:?}");
            }
        }
    }

    #[test]
    fn finds_required_literals() {
        assert_eq!(lits(r"(?i)\bunion\s+select\b"), Some(vec!["select".to_owned()]));
        assert_eq!(lits(r"(?i)(?:onload|onerror)\s*="), Some(vec!["onerror".to_owned(), "onload".to_owned()]));
        assert_eq!(lits(r"<script"), Some(vec!["<script".to_owned()]));
        assert_eq!(lits(r"(?:a|bc)def"), Some(vec!["adef".to_owned(), "bcdef".to_owned()]));
        assert_eq!(lits(r"^\d+$"), None, "no literal");
        assert_eq!(lits(r"a.b"), None, "too short");
        assert_eq!(lits(r"(?:foo)?bar"), Some(vec!["bar".to_owned()]));
        // Optional and small bounded repetitions extend a literal run, so a
        // function name is required with its parenthesis, not alone (`ord`
        // alone is in every `orders`).
        assert_eq!(
            lits(r"\b(?:ord|hex) ?\("),
            Some(vec!["hex (".to_owned(), "hex(".to_owned(), "ord (".to_owned(), "ord(".to_owned()])
        );
        assert_eq!(lits(r"ab{1,2}c"), Some(vec!["abbc".to_owned(), "abc".to_owned()]));
        // A literal containing another adds nothing.
        assert_eq!(lits(r"(?:^|\.)@type$"), Some(vec!["@type".to_owned()]));
    }

    #[test]
    fn short_texts_without_a_required_literal_skip_the_search() {
        let key_regex = |pattern: &str| {
            let src = SourceFile::new("t", pattern);
            compile(pattern, &src, Span::new(0, pattern.len()), true).unwrap()
        };
        let long = format!("{}.@TYPE", "a".repeat(SHORT_TEXT));
        for pattern in [r"(?:^|\.)@type$", r"(?i)(?:onload|onerror)\s*=", r"(?i)^(?:x|y)-token$", "__utm"] {
            let regex = key_regex(pattern);
            for key in ["@type", "a.@type", "a.@TYPE", "a@type.b", "@typ", "", "onLoad=", "x-token", "__UTMZ", &long] {
                assert_eq!(regex.is_match(key.as_bytes()), regex.regex.is_match(key), "{pattern} on {key:?}");
            }
        }
        assert!(contains_ignore_ascii_case(b"a.@TyPe", b"@type"));
        assert!(!contains_ignore_ascii_case(b"@typ", b"@type"));
        assert!(contains_ignore_ascii_case(b"", b""));
    }

    /// A command list whose letters may be split by quotes, backslashes or
    /// `$VAR` expansions (the shape of CRS's 932 rules): no literal is
    /// required in general, so the regex would run on every value.
    fn evasive() -> String {
        evasive_list(&["wget", "curl", "ncat", "bash", "perl"])
    }

    fn evasive_list<S: AsRef<str>>(words: &[S]) -> String {
        let gap = r#"["'\\]*(?:\$\{?[a-z_]{0,8}\}?)?"#;
        let words: Vec<String> =
            words.iter().map(|w| w.as_ref().chars().map(String::from).collect::<Vec<_>>().join(gap)).collect();
        format!(r"(?i)\b(?:{})\b", words.join("|"))
    }

    fn compiled(pattern: &str) -> CompiledRegex {
        let src = SourceFile::new("t", pattern);
        compile(pattern, &src, Span::new(0, pattern.len()), false).unwrap()
    }

    fn seclang(pattern: &str) -> CompiledRegex {
        let src = SourceFile::new("t", pattern);
        let flags = Flags { dot_all: true, multi_line: true, ..Flags::default() };
        compile_with(pattern, &src, Span::new(0, pattern.len()), flags).unwrap()
    }

    #[test]
    fn regexes_that_match_every_text_whole_are_recognised() {
        for p in ["^.*$", ".*", "^.*", ".*$", "(?s-u)^.*$", r"^[\x00-\xff]*$"] {
            assert!(seclang(p).whole, "{p}");
        }
        // `.` without DOTALL stops at a line break; a group is a capture to
        // fill; `+`, a lazy star or anything else can fail or match less.
        for p in [r"^(?-s:.)*$", "^(.*)$", "^.+$", "^.*?$", "^.*x$", r"\b.*", "^a*$", "(?u:.)*"] {
            assert!(!seclang(p).whole, "{p}");
        }
        assert!(!compiled("^.*$").whole, "the rule language's `.` leaves out line breaks");
    }

    proptest::proptest! {
        #[test]
        fn a_whole_match_regex_matches_every_text_whole(text in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40)) {
            for p in ["^.*$", ".*", "^.*", ".*$"] {
                let c = seclang(p);
                proptest::prop_assert!(c.whole);
                let m = c.regex.find(&text[..]).map(|m| (m.start(), m.end()));
                proptest::prop_assert_eq!(m, Some((0, text.len())), "{}", p);
            }
        }
    }

    #[test]
    fn evasive_regexes_have_literals_on_clean_texts() {
        let c = compiled(&evasive());
        assert_eq!(c.literals, None);
        assert!(complexity(&c.hir) > SET_COMPLEXITY_LIMIT, "runs on its own, not in the regex set");
        let (tier, lits) = clean_text_literals(&c.hir).expect("literals once quotes, `\\` and `$` are ruled out");
        assert_eq!(tier, 0);
        let words: Vec<&[u8]> = lits.iter().map(Vec::as_slice).collect();
        assert_eq!(words, [&b"bash"[..], b"curl", b"ncat", b"perl", b"wget"]);
        // Command lists run to hundreds of words (CRS 932260 has 455 on clean
        // texts): up to 1,024 literals are taken.
        let many: Vec<String> = (0..300u32)
            .map(|i| {
                format!(
                    "{}{}{}sh",
                    char::from(b'a' + (i / 100) as u8),
                    char::from(b'a' + (i / 10 % 10) as u8),
                    char::from(b'a' + (i % 10) as u8)
                )
            })
            .collect();
        let (_, lits) = clean_text_literals(&compiled(&evasive_list(&many)).hir).expect("literals for 300 words");
        assert_eq!(lits.len(), 300);
        // A regex that needs a rare byte on every path has none on clean texts.
        assert_eq!(clean_text_literals(&compiled(r"\$\{[a-z]+\}").hir), None);
    }

    #[test]
    fn restriction_drops_excluded_bytes_only() {
        let excluded = ByteSet::of(b"\"$");
        let r = restrict(&compiled(r#"a["x]*b|c\$d|(?:e"f)?g"#).hir, &excluded);
        let m = regex_automata::meta::Regex::builder().configure(meta_config()).build_from_hir(&r).unwrap();
        for (text, expect) in
            [("axxb", true), ("ab", true), ("g", true), ("c$d", false), ("a\"b", false), ("e\"fg", true)]
        {
            assert_eq!(m.is_match(text.as_bytes()), expect, "{text:?}");
        }
    }

    proptest::proptest! {
        /// Soundness of the clean-text prefilter: on a text with no byte of
        /// the tier, every match of the regex contains one of the literals
        /// (the restricted regex matches whatever the regex matches there).
        #[test]
        fn clean_text_literals_cover_every_clean_match(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "w", "g", "e", "t", "c", "u", "r", "l", "n", "a", "W", "GE", "T", "wget", "curl", "ncat",
                    " ", "-", ".", "x", "\"", "'", "\\", "$", "${", "}", "$ab", "(", "/", "!",
                ]),
                0..12,
            )
        ) {
            let text = parts.concat();
            let c = compiled(&evasive());
            let (tier, lits) = clean_text_literals(&c.hir).unwrap();
            let clean = !ByteSet::of_text(text.as_bytes()).intersects(&CLEAN_TEXT_TIERS[usize::from(tier)]);
            if clean && c.regex.is_match(text.as_bytes()) {
                let lower = text.to_ascii_lowercase();
                proptest::prop_assert!(
                    lits.iter().any(|l| lower.as_bytes().windows(l.len()).any(|w| w == &l[..])),
                    "{text:?} matches without a literal of {lits:?}"
                );
            }
        }
    }

    proptest::proptest! {
        /// `is_match` with its literal shortcut answers as the regex does.
        #[test]
        fn is_match_agrees_with_the_regex_on_short_keys(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "@", "type", "TYPE", "$", ".", "__", "class", "x", "-", "token", "on", "load", "=", " ", "utm",
                ]),
                0..8,
            ),
            which in 0..5usize,
        ) {
            let pattern = [r"(?:^|\.)@type$", r"(?:^|\.)\$type$", r"(?:^|\.)__type$", r"(?i)(?:onload|onerror)\s*=", r"(?:x|y)-token"][which];
            let src = SourceFile::new("t", pattern);
            let regex = compile(pattern, &src, Span::new(0, pattern.len()), true).unwrap();
            let key = parts.concat();
            proptest::prop_assert_eq!(regex.is_match(key.as_bytes()), regex.regex.is_match(&key), "{} on {:?}", pattern, key);
        }
    }

    proptest::proptest! {
        /// Soundness of the required-bytes gate `when` conditions use: a text
        /// the regex matches holds one of the bytes (anchored and unanchored
        /// shapes, case-insensitive words, classes, optional parts, alternations).
        #[test]
        fn a_matched_text_holds_a_required_byte(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "'", "\"", " ", "or", "OR", "and", "1", "=", "(", ")", "--", "#", "/*", ";", "x", "ascii",
                    "union", "Select", "from", "\n", "\t", "-", "+", ".", "é", "\u{a0}",
                ]),
                0..10,
            ),
            which in 0..7usize,
        ) {
            let pattern = [
                r#"(?i)^(?:[^'\n]*'[^'\n]*')*(?:[^'\n]*[^\s'])?'\s*\)*\s*(?:--|#|/\*|;|(?:and|or)\b\s*'?[\w(])|^\s*"\s*or\s*"\s*$"#,
                r"(?i)^[\s(]*[-+]?[\d.]+[a-z]?[\s)]*(?:and|or|union)\b",
                r"(?i)^[^\n]*?(?:\bunion\b[\s(]*select\b|/\*|;\s*--|\d\s*[-+*/]\s*\d\s*=|\bor\s+\d)",
                r"(?i)^[^\n]*?\b(?:ascii|substr|version)\s*\(",
                r"x?y*(?:ab|c+)",
                r"(?u)é|\d{2}",
                r"(?i)\bor\b",
            ][which];
            let c = compiled(pattern);
            let text = parts.concat();
            if let Some(gate) = c.required
                && c.regex.is_match(text.as_bytes())
            {
                proptest::prop_assert!(gate.occurs_in(text.as_bytes()), "{} matches {:?} without {:?}", pattern, text, gate);
            }
        }
    }

    #[test]
    fn rejects_backtracking_features_with_their_place() {
        let src = SourceFile::new("t.rules", "x `(a)\\1` y");
        let e = compile("(a)\\1", &src, Span::new(3, 8), false).unwrap_err();
        assert!(e.message().starts_with("backreferences need a backtracking"), "{}", e.message());
        assert_eq!((e.line(), e.column()), (1, 7));
        let src = SourceFile::new("t.rules", "`foo(?=bar)`");
        let e = compile("foo(?=bar)", &src, Span::new(1, 11), false).unwrap_err();
        assert!(e.message().starts_with("look-around"), "{}", e.message());
        assert_eq!(e.column(), 5);
    }

    #[test]
    fn maps_syntax_errors_into_the_file() {
        let src = SourceFile::new("t.rules", "    match regex `ab[c`\n");
        let e = compile("ab[c", &src, Span::new(17, 21), false).unwrap_err();
        assert_eq!((e.line(), e.column()), (1, 20));
        assert!(e.message().contains("unclosed character class"), "{}", e.message());
    }

    #[test]
    fn bytes_mode_matches_invalid_utf8_and_ascii_classes() {
        let src = SourceFile::new("t", "");
        let c = compile(r"\xff\w", &src, Span::default(), false).unwrap();
        assert!(c.regex.is_match(&b"\xffa"[..]));
        let c = compile("é", &src, Span::default(), false).unwrap();
        assert!(c.regex.is_match("café".as_bytes()));
    }
}
