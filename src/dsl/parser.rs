//! The rule-language parser, written with nom.
//!
//! Every function takes the remaining input and returns the rest, so a
//! position is `text.len() - rest.len()`. Errors are `nom::Err::Failure`
//! carrying a message, the position and a length; the file loop turns them
//! into [`RuleError`]s and skips to the next top-level item, so one pass
//! reports every broken item.

use std::borrow::Cow;
use std::net::IpAddr;

use nom::IResult;
use nom::bytes::complete::{tag, take_while, take_while1};
use nom::character::complete::char;
use nom::combinator::{opt, peek};

use super::ast::*;
use super::error::{ErrorKind, RuleError, suggest};
use super::span::SourceFile;
use crate::transform::Transform;

/// A parse failure: where (as the length of the rest), how long, what.
#[derive(Debug)]
pub(crate) struct PError {
    rest_len: usize,
    len: usize,
    message: Cow<'static, str>,
    help: Option<String>,
}

impl<'a> nom::error::ParseError<&'a str> for PError {
    fn from_error_kind(input: &'a str, _: nom::error::ErrorKind) -> PError {
        PError { rest_len: input.len(), len: 1, message: Cow::Borrowed("unexpected text"), help: None }
    }

    fn append(_: &'a str, _: nom::error::ErrorKind, other: PError) -> PError {
        other
    }
}

type PResult<'a, T> = IResult<&'a str, T, PError>;

/// A hard error at `at`, `len` bytes long.
fn fail<'a, T>(at: &'a str, len: usize, message: impl Into<Cow<'static, str>>) -> PResult<'a, T> {
    Err(nom::Err::Failure(PError { rest_len: at.len(), len, message: message.into(), help: None }))
}

fn fail_help<'a, T>(at: &'a str, len: usize, message: impl Into<Cow<'static, str>>, help: String) -> PResult<'a, T> {
    Err(nom::Err::Failure(PError { rest_len: at.len(), len, message: message.into(), help: Some(help) }))
}

/// Keywords that start a statement inside a rule.
const RULE_KEYWORDS: [&str; 9] =
    ["phase", "paranoia", "severity", "tags", "inspect", "transform", "match", "when", "action"];
/// Keywords that start a top-level item.
const TOP_KEYWORDS: [&str; 3] = ["rule", "exclude", "include"];
/// Operator keywords.
const OPERATORS: [&str; 14] = [
    "regex",
    "phrases",
    "contains",
    "starts_with",
    "ends_with",
    "equals",
    "in",
    "length",
    "detect_sqli",
    "detect_xss",
    "invalid_utf8",
    "invalid_url_encoding",
    "byte_range",
    "count",
];

/// A `#` comment: where it starts, its text after `#`, and whether code
/// precedes it on its line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    /// Byte offset of the `#`.
    pub offset: u32,
    /// The text after `#`, without the line end.
    pub text: String,
    /// True when code precedes it on the same line.
    pub trailing: bool,
}

/// Parses one file. Returns the items that parsed and every error found.
pub(crate) fn parse_file(source: &SourceFile) -> (File, Vec<RuleError>) {
    let (file, _, errors) = parse_file_with_comments(source);
    (file, errors)
}

/// Like [`parse_file`], also returning the comments, in order.
pub(crate) fn parse_file_with_comments(source: &SourceFile) -> (File, Vec<Comment>, Vec<RuleError>) {
    let parser = Parser {
        len: source.text().len(),
        text: source.text(),
        comments: Default::default(),
        depth: Default::default(),
    };
    let mut items = Vec::new();
    let mut errors = Vec::new();
    let mut rest = source.text();
    loop {
        rest = match parser.sp(rest) {
            Ok((r, ())) => r,
            Err(_) => break,
        };
        if rest.is_empty() {
            break;
        }
        match parser.item(rest) {
            Ok((r, item)) => {
                items.push(item);
                rest = r;
            }
            Err(nom::Err::Failure(e) | nom::Err::Error(e)) => {
                let at = parser.len - e.rest_len;
                let span = Span::new(at, at + e.len);
                let mut err = RuleError::new(ErrorKind::Syntax, source, span, e.message);
                if let Some(help) = e.help {
                    err = err.with_help(help);
                }
                errors.push(err);
                rest = recover(rest);
            }
            Err(nom::Err::Incomplete(_)) => break,
        }
    }
    let comments = parser.comments.into_inner().into_values().collect();
    (File { items }, comments, errors)
}

/// Parses a standalone `when` expression (used by the engine config and tests).
pub(crate) fn parse_expr(source: &SourceFile) -> Result<Expr, RuleError> {
    let parser = Parser {
        len: source.text().len(),
        text: source.text(),
        comments: Default::default(),
        depth: Default::default(),
    };
    let result = parser.sp(source.text()).and_then(|(r, ())| parser.expr(r)).and_then(|(r, e)| {
        let (r, ()) = parser.sp(r)?;
        if r.is_empty() { Ok((r, e)) } else { fail(r, word_len(r), "unexpected text after the expression") }
    });
    match result {
        Ok((_, e)) => Ok(e),
        Err(nom::Err::Failure(e) | nom::Err::Error(e)) => {
            let at = parser.len - e.rest_len;
            Err(RuleError::new(ErrorKind::Syntax, source, Span::new(at, at + e.len), e.message))
        }
        Err(nom::Err::Incomplete(_)) => {
            Err(RuleError::new(ErrorKind::Syntax, source, Span::default(), "incomplete expression"))
        }
    }
}

/// Skips past the broken item to the next line that starts a top-level item.
fn recover(rest: &str) -> &str {
    let mut offset = 0;
    while let Some(nl) = rest[offset..].find('\n') {
        offset += nl + 1;
        let line = rest[offset..].trim_start_matches([' ', '\t']);
        if TOP_KEYWORDS.iter().any(|k| line.strip_prefix(k).is_some_and(|r| r.starts_with([' ', '\t']))) {
            return &rest[offset..];
        }
    }
    ""
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn is_tag_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_.:/+-".contains(c)
}

/// The length of the word at the start of `s`, for carets (at least 1).
fn word_len(s: &str) -> usize {
    let n = s.find(|c: char| c.is_whitespace() || "[](),{}\"`".contains(c)).unwrap_or(s.len());
    if n == 0 { s.chars().next().map_or(1, char::len_utf8) } else { n }
}

struct Parser<'t> {
    len: usize,
    text: &'t str,
    /// Comments seen, by offset (the parser may skip the same whitespace twice).
    comments: std::cell::RefCell<std::collections::BTreeMap<u32, Comment>>,
    /// Current nesting of `(` and `not` in expressions.
    depth: std::cell::Cell<usize>,
}

/// Deepest nesting of parentheses and `not` in an expression: far more than
/// any real rule needs, far less than what would exhaust a thread's stack.
const MAX_NESTING: usize = 64;

impl Parser<'_> {
    fn span(&self, start: &str, end: &str) -> Span {
        Span::new(self.len - start.len(), self.len - end.len())
    }

    /// Skips whitespace, newlines and `#` comments (remembering the comments).
    fn sp<'a>(&self, mut i: &'a str) -> PResult<'a, ()> {
        loop {
            let trimmed = i.trim_start();
            if let Some(comment) = trimmed.strip_prefix('#') {
                let end = comment.find('\n').unwrap_or(comment.len());
                self.remember(trimmed, &comment[..end]);
                i = &comment[end..];
            } else {
                return Ok((trimmed, ()));
            }
        }
    }

    /// Skips spaces, tabs and a trailing `#` comment, but not a newline.
    fn sp_line<'a>(&self, i: &'a str) -> &'a str {
        let i = i.trim_start_matches([' ', '\t', '\r']);
        match i.strip_prefix('#') {
            Some(c) => {
                let end = c.find('\n').unwrap_or(c.len());
                self.remember(i, &c[..end]);
                &c[end..]
            }
            None => i,
        }
    }

    fn remember(&self, at: &str, text: &str) {
        let offset = self.len - at.len();
        let line_start = self.text[..offset].rfind('\n').map_or(0, |n| n + 1);
        let trailing = !self.text[line_start..offset].trim().is_empty();
        let text = text.strip_suffix('\r').unwrap_or(text).to_owned();
        self.comments.borrow_mut().entry(offset as u32).or_insert(Comment { offset: offset as u32, text, trailing });
    }

    fn ident<'a>(&self, i: &'a str) -> PResult<'a, &'a str> {
        let (_, _) = peek(nom::character::complete::satisfy(is_ident_start))(i)?;
        take_while1(is_ident_char)(i)
    }

    /// An identifier with dots: `args.names`.
    fn dotted<'a>(&self, i: &'a str) -> PResult<'a, &'a str> {
        let (_, _) = peek(nom::character::complete::satisfy(is_ident_start))(i)?;
        take_while1(|c: char| is_ident_char(c) || c == '.')(i)
    }

    /// True when `i` starts with the keyword `word` followed by a non-identifier character.
    fn at_keyword(&self, i: &str, word: &str) -> bool {
        i.strip_prefix(word).is_some_and(|r| !r.starts_with(|c: char| is_ident_char(c) || c == '.'))
    }

    fn keyword<'a>(&self, i: &'a str, word: &'static str) -> PResult<'a, ()> {
        if self.at_keyword(i, word) {
            Ok((&i[word.len()..], ()))
        } else {
            fail(i, word_len(i), format!("expected `{word}`"))
        }
    }

    fn unsigned<'a, T: TryFrom<u64>>(&self, i: &'a str, what: &str) -> PResult<'a, Spanned<T>> {
        let (rest, digits) = take_while(|c: char| c.is_ascii_digit())(i)?;
        if digits.is_empty() {
            return fail(i, word_len(i), format!("expected a number ({what})"));
        }
        if rest.starts_with(|c: char| is_ident_char(c)) {
            return fail(i, word_len(i), format!("bad number `{}`", &i[..word_len(i)]));
        }
        let span = self.span(i, rest);
        match digits.parse::<u64>().ok().and_then(|n| T::try_from(n).ok()) {
            Some(n) => Ok((rest, Spanned::new(n, span))),
            None => fail(i, digits.len(), format!("number `{digits}` is too large for {what}")),
        }
    }

    fn signed<'a>(&self, i: &'a str) -> PResult<'a, Spanned<i64>> {
        let (r, minus) = opt(char('-'))(i)?;
        let (rest, n) = self.unsigned::<u64>(r, "a comparison")?;
        let magnitude = i128::from(n.value);
        let value = i64::try_from(if minus.is_some() { -magnitude } else { magnitude });
        match value {
            Ok(v) => Ok((rest, Spanned::new(v, self.span(i, rest)))),
            Err(_) => fail(i, i.len() - rest.len(), "number is too large"),
        }
    }

    /// A double-quoted string with escapes `\" \\ \n \r \t \0 \u{HEX}`.
    fn string<'a>(&self, i: &'a str) -> PResult<'a, Spanned<String>> {
        let (body, _) = char('"')(i)
            .map_err(|_: nom::Err<PError>| nom::Err::Failure(self.expected(i, "a double-quoted string")))?;
        let mut out = String::new();
        let mut chars = body.char_indices();
        while let Some((at, c)) = chars.next() {
            match c {
                '"' => {
                    let rest = &body[at + 1..];
                    return Ok((rest, Spanned::new(out, self.span(i, rest))));
                }
                '\n' => break,
                '\\' => {
                    let esc_at = &body[at..];
                    match chars.next() {
                        Some((_, '"')) => out.push('"'),
                        Some((_, '\\')) => out.push('\\'),
                        Some((_, 'n')) => out.push('\n'),
                        Some((_, 'r')) => out.push('\r'),
                        Some((_, 't')) => out.push('\t'),
                        Some((_, '0')) => out.push('\0'),
                        Some((u_at, 'u')) => {
                            let after = &body[u_at + 1..];
                            let code = after
                                .strip_prefix('{')
                                .and_then(|a| a.split_once('}'))
                                .filter(|(hex, _)| !hex.is_empty() && hex.len() <= 6)
                                .and_then(|(hex, _)| u32::from_str_radix(hex, 16).ok().map(|n| (n, hex.len())))
                                .and_then(|(n, len)| char::from_u32(n).map(|c| (c, len)));
                            match code {
                                Some((c, len)) => {
                                    out.push(c);
                                    for _ in 0..len + 2 {
                                        chars.next();
                                    }
                                }
                                None => {
                                    return fail(esc_at, 2, "bad unicode escape, expected `\\u{HEX}`");
                                }
                            }
                        }
                        Some((_, other)) => {
                            return fail(esc_at, 1 + other.len_utf8(), format!("unknown escape `\\{other}` in string"));
                        }
                        None => break,
                    }
                }
                c => out.push(c),
            }
        }
        fail(i, 1, "unterminated string: missing closing `\"` on this line")
    }

    /// A backtick regex literal, taken verbatim.
    fn regex<'a>(&self, i: &'a str) -> PResult<'a, Spanned<String>> {
        let Some(body) = i.strip_prefix('`') else {
            return fail_help(
                i,
                word_len(i),
                "expected a regex in backticks",
                "write regexes as `...`; the text between backticks is taken as it is".to_owned(),
            );
        };
        match body.find(['`', '\n']) {
            Some(end) if body.as_bytes()[end] == b'`' => {
                let rest = &body[end + 1..];
                // The span covers the pattern only, so regex errors map straight into the file.
                Ok((rest, Spanned::new(body[..end].to_owned(), self.span(body, &body[end..]))))
            }
            _ => fail(i, 1, "unterminated regex: missing closing backtick on this line"),
        }
    }

    fn expected(&self, i: &str, what: &str) -> PError {
        let found = if i.is_empty() { "end of file".to_owned() } else { format!("`{}`", &i[..word_len(i)]) };
        PError {
            rest_len: i.len(),
            len: word_len(i),
            message: format!("expected {what}, found {found}").into(),
            help: None,
        }
    }

    fn item<'a>(&self, i: &'a str) -> PResult<'a, Item> {
        let word = self.ident(i).map(|(_, w)| w).unwrap_or("");
        match word {
            "rule" => self.rule(i).map(|(r, rule)| (r, Item::Rule(rule))),
            "exclude" => self.exclude(i).map(|(r, e)| (r, Item::Exclude(e))),
            "include" => {
                let (r, ()) = self.keyword(i, "include")?;
                let (r, ()) = self.sp(r)?;
                let (r, path) = self.string(r)?;
                Ok((r, Item::Include(Include { path, span: self.span(i, r) })))
            }
            _ => {
                let len = word_len(i);
                let shown = &i[..len];
                match suggest(shown, TOP_KEYWORDS) {
                    Some(s) => fail_help(i, len, format!("unknown keyword `{shown}`"), format!("did you mean `{s}`?")),
                    None => fail(i, len, format!("unknown keyword `{shown}`, expected `rule`, `exclude` or `include`")),
                }
            }
        }
    }

    fn rule<'a>(&self, start: &'a str) -> PResult<'a, Rule> {
        let (i, ()) = self.keyword(start, "rule")?;
        let (i, ()) = self.sp(i)?;
        let (i, id) = self.unsigned::<u32>(i, "a rule id")?;
        let mut rule = Rule::new(id.value);
        rule.id = id;
        let (i, ()) = self.sp(i)?;
        let i = if i.starts_with('"') {
            let (r, message) = self.string(i)?;
            rule.message = message;
            self.sp(r)?.0
        } else {
            i
        };
        let Some(mut i) = i.strip_prefix('{') else {
            return Err(nom::Err::Failure(self.expected(i, "`{` to open the rule body")));
        };
        loop {
            i = self.sp(i)?.0;
            if let Some(r) = i.strip_prefix('}') {
                rule.span = self.span(start, r);
                return Ok((r, rule));
            }
            if i.is_empty() {
                return fail(start, 4, format!("unterminated rule {}: missing `}}`", rule.id.value));
            }
            i = self.statement(i, &mut rule)?.0;
        }
    }

    fn statement<'a>(&self, i: &'a str, rule: &mut Rule) -> PResult<'a, ()> {
        let (r, word) = match self.ident(i) {
            Ok(x) => x,
            Err(_) => {
                return Err(nom::Err::Failure(self.expected(i, "a statement such as `match` or `}`")));
            }
        };
        let kw_span = self.span(i, r);
        let duplicate = |present: bool| -> PResult<'a, ()> {
            if present {
                fail(i, word.len(), format!("duplicate `{word}` in rule {}", rule.id.value))
            } else {
                Ok((r, ()))
            }
        };
        let (r, ()) = self.sp(r)?;
        match word {
            "phase" => {
                duplicate(rule.phase.is_some())?;
                let (r2, w) = self.ident(r).map_err(|_| nom::Err::Failure(self.expected(r, "`headers` or `body`")))?;
                let phase = match w {
                    "headers" => PhaseName::Headers,
                    "body" => PhaseName::Body,
                    _ => {
                        return fail(r, w.len(), format!("unknown phase `{w}`, expected `headers` or `body`"));
                    }
                };
                rule.phase = Some(Spanned::new(phase, kw_span.to(self.span(r, r2))));
                Ok((r2, ()))
            }
            "paranoia" => {
                duplicate(rule.paranoia.is_some())?;
                let (r2, n) = self.unsigned::<u8>(r, "a paranoia level")?;
                if !(1..=4).contains(&n.value) {
                    return fail(r, r.len() - r2.len(), "paranoia level must be 1, 2, 3 or 4");
                }
                rule.paranoia = Some(n);
                Ok((r2, ()))
            }
            "severity" => {
                duplicate(rule.severity.is_some())?;
                let (r2, w) = self.ident(r).map_err(|_| nom::Err::Failure(self.expected(r, "a severity")))?;
                let Some(sev) = Severity::ALL.into_iter().find(|s| s.name() == w) else {
                    return fail(
                        r,
                        w.len(),
                        format!("unknown severity `{w}`, expected critical, error, warning or notice"),
                    );
                };
                rule.severity = Some(Spanned::new(sev, self.span(r, r2)));
                Ok((r2, ()))
            }
            "tags" => {
                duplicate(!rule.tags.is_empty())?;
                let (r2, tags) = self.tags(r)?;
                rule.tags = tags;
                Ok((r2, ()))
            }
            "inspect" => {
                duplicate(rule.inspect.is_some())?;
                let (r2, targets) = self.comma_list(r, |s| self.target(s))?;
                rule.inspect = Some(Spanned::new(targets, self.span(i, r2)));
                Ok((r2, ()))
            }
            "transform" => {
                duplicate(rule.transform.is_some())?;
                let (r2, list) = if self.at_keyword(r, "none") {
                    (&r[4..], Vec::new())
                } else {
                    self.comma_list(r, |s| self.transform(s))?
                };
                rule.transform = Some(Spanned::new(list, self.span(i, r2)));
                Ok((r2, ()))
            }
            "match" => {
                duplicate(rule.matcher.is_some())?;
                let (r2, negated) = self.opt_not(r)?;
                let (r2, (op, neg_eq)) = self.operator_neg(r2)?;
                if negated && (neg_eq || matches!(op, Operator::Compare(CmpOp::Ne, _))) {
                    return fail(r, r.len() - r2.len(), "`not` and `!=` together; write `==`");
                }
                rule.matcher = Some(Spanned::new(Match { negated: negated || neg_eq, op }, self.span(i, r2)));
                Ok((r2, ()))
            }
            "when" => {
                duplicate(rule.when.is_some())?;
                let (r2, e) = self.expr(r)?;
                rule.when = Some(Spanned::new(e, self.span(i, r2)));
                Ok((r2, ()))
            }
            "action" => {
                duplicate(rule.action.is_some())?;
                let (r2, a) = self.action(r)?;
                rule.action = Some(Spanned::new(a, self.span(i, r2)));
                Ok((r2, ()))
            }
            _ => match suggest(word, RULE_KEYWORDS) {
                Some(s) => {
                    fail_help(i, word.len(), format!("unknown keyword `{word}`"), format!("did you mean `{s}`?"))
                }
                None => fail(
                    i,
                    word.len(),
                    format!("unknown keyword `{word}`, expected one of: {}", RULE_KEYWORDS.join(", ")),
                ),
            },
        }
    }

    fn tags<'a>(&self, mut i: &'a str) -> PResult<'a, Vec<Spanned<String>>> {
        let mut tags = Vec::new();
        loop {
            i = self.sp_line(i);
            i = i.trim_start_matches(',');
            i = self.sp_line(i);
            if i.is_empty() || i.starts_with(['\n', '}']) {
                break;
            }
            if i.starts_with('"') {
                let (r, s) = self.string(i)?;
                tags.push(s);
                i = r;
            } else {
                let (r, t) = take_while(is_tag_char)(i)?;
                if t.is_empty() {
                    return fail(
                        i,
                        word_len(i),
                        "expected a tag (letters, digits and `_ . : / + -`, or a quoted string)",
                    );
                }
                tags.push(Spanned::new(t.to_owned(), self.span(i, r)));
                i = r;
            }
        }
        if tags.is_empty() {
            return fail(i, 1, "expected at least one tag");
        }
        Ok((i, tags))
    }

    /// `item, item, ...` (at least one).
    fn comma_list<'a, T>(&self, i: &'a str, mut item: impl FnMut(&'a str) -> PResult<'a, T>) -> PResult<'a, Vec<T>> {
        let (mut i, first) = item(i)?;
        let mut out = vec![first];
        loop {
            let (r, ()) = self.sp(i)?;
            match r.strip_prefix(',') {
                Some(r) => {
                    let (r, ()) = self.sp(r)?;
                    if r.starts_with(']') {
                        // A trailing comma closes a bracketed list.
                        return Ok((r, out));
                    }
                    let (r, next) = item(r)?;
                    out.push(next);
                    i = r;
                }
                None => return Ok((i, out)),
            }
        }
    }

    fn transform<'a>(&self, i: &'a str) -> PResult<'a, Spanned<Transform>> {
        let (r, name) = self.ident(i).map_err(|_| nom::Err::Failure(self.expected(i, "a transform name")))?;
        match Transform::from_name(name) {
            Some(t) => Ok((r, Spanned::new(t, self.span(i, r)))),
            None => {
                let msg = format!("unknown transform `{name}`");
                match Transform::suggest(name) {
                    Some(s) => fail_help(i, name.len(), msg, format!("did you mean `{s}`?")),
                    None => fail_help(i, name.len(), msg, "see docs/rules.md for the list of transforms".to_owned()),
                }
            }
        }
    }

    fn target<'a>(&self, i: &'a str) -> PResult<'a, Target> {
        let (r, name) = self.dotted(i).map_err(|_| nom::Err::Failure(self.expected(i, "a field such as `args`")))?;
        let Some(collection) = Collection::from_name(name) else {
            let msg = format!("unknown field `{name}`");
            return match suggest(name, Collection::ALL.iter().map(|c| c.name())) {
                Some(s) => fail_help(i, name.len(), msg, format!("did you mean `{s}`?")),
                None => fail_help(i, name.len(), msg, "see docs/rules.md for the list of fields".to_owned()),
            };
        };
        let mut selectors = Vec::new();
        let mut rest = r;
        if let Some(open) = r.strip_prefix('[') {
            if !collection.is_keyed() {
                return fail(r, 1, format!("`{name}` is a single field and takes no key selector"));
            }
            let (r2, ()) = self.sp(open)?;
            let (r2, list) = self.comma_list(r2, |s| self.selector(s))?;
            let (r2, ()) = self.sp(r2)?;
            let Some(r2) = r2.strip_prefix(']') else {
                return Err(nom::Err::Failure(self.expected(r2, "`,` or `]`")));
            };
            selectors = list;
            rest = r2;
        }
        Ok((rest, Target { collection, selectors, span: self.span(i, rest) }))
    }

    fn selector<'a>(&self, i: &'a str) -> PResult<'a, Selector> {
        let (r, bang) = opt(char('!'))(i)?;
        let (r, ()) = self.sp(r)?;
        let (r, key) = if r.starts_with('`') {
            let (r, re) = self.regex(r)?;
            (r, KeyPattern::Regex(re.value))
        } else if r.starts_with('"') {
            let (r, s) = self.string(r)?;
            (r, KeyPattern::Exact(s.value))
        } else {
            return Err(nom::Err::Failure(self.expected(r, "a key: a \"string\" or a `regex`")));
        };
        Ok((r, Selector { negated: bang.is_some(), key, span: self.span(i, r) }))
    }

    fn opt_not<'a>(&self, i: &'a str) -> PResult<'a, bool> {
        if self.at_keyword(i, "not") {
            let (r, ()) = self.sp(&i[3..])?;
            Ok((r, true))
        } else {
            Ok((i, false))
        }
    }

    /// An operator; the bool is true when it was written `!= "x"` (negated equals).
    fn operator_neg<'a>(&self, i: &'a str) -> PResult<'a, (Operator, bool)> {
        for (sym, op) in [
            ("==", CmpOp::Eq),
            ("!=", CmpOp::Ne),
            ("<=", CmpOp::Le),
            (">=", CmpOp::Ge),
            ("<", CmpOp::Lt),
            (">", CmpOp::Gt),
        ] {
            if let Some(r) = i.strip_prefix(sym) {
                let (r, ()) = self.sp(r)?;
                if r.starts_with('"') && matches!(op, CmpOp::Eq | CmpOp::Ne) {
                    let (r2, s) = self.string(r)?;
                    return Ok((r2, (Operator::Equals(s), op == CmpOp::Ne)));
                }
                let (r2, n) = self.signed(r)?;
                return Ok((r2, (Operator::Compare(op, n), false)));
            }
        }
        let (r, word) = self.ident(i).map_err(|_| nom::Err::Failure(self.expected(i, "an operator")))?;
        let (r, ()) = match word {
            "detect_sqli" | "detect_xss" | "invalid_utf8" | "invalid_url_encoding" => (r, ()),
            _ => self.sp(r)?,
        };
        let op = match word {
            "regex" => {
                let (r2, re) = self.regex(r)?;
                return Ok((r2, (Operator::Regex(re), false)));
            }
            "phrases" => {
                if self.at_keyword(r, "file") {
                    let (r2, ()) = self.sp(&r[4..])?;
                    let (r2, path) = self.string(r2)?;
                    return Ok((r2, (Operator::Phrases(PhraseSource::File(path)), false)));
                }
                let (r2, list) = self.string_list(r)?;
                return Ok((r2, (Operator::Phrases(PhraseSource::List(list)), false)));
            }
            "contains" | "starts_with" | "ends_with" | "equals" => {
                let (r2, s) = self.string(r)?;
                let op = match word {
                    "contains" => Operator::Contains(s),
                    "starts_with" => Operator::StartsWith(s),
                    "ends_with" => Operator::EndsWith(s),
                    _ => Operator::Equals(s),
                };
                return Ok((r2, (op, false)));
            }
            "in" => {
                let (r2, list) = self.list_literal(r)?;
                return Ok((r2, (Operator::In(list), false)));
            }
            "length" => {
                let ops = [
                    ("==", CmpOp::Eq),
                    ("!=", CmpOp::Ne),
                    ("<=", CmpOp::Le),
                    (">=", CmpOp::Ge),
                    ("<", CmpOp::Lt),
                    (">", CmpOp::Gt),
                ];
                let Some((sym, op)) = ops.into_iter().find(|(s, _)| r.starts_with(s)) else {
                    return Err(nom::Err::Failure(
                        self.expected(r, "a comparison (`<`, `>`, `==`, ...) after `length`"),
                    ));
                };
                let (r2, ()) = self.sp(&r[sym.len()..])?;
                let (r2, n) = self.unsigned::<u64>(r2, "a length")?;
                return Ok((r2, (Operator::Length(op, n), false)));
            }
            "detect_sqli" => Operator::DetectSqli,
            "detect_xss" => Operator::DetectXss,
            "invalid_utf8" => Operator::InvalidUtf8,
            "invalid_url_encoding" => Operator::InvalidUrlEncoding,
            "byte_range" => {
                let (r2, ranges) = self.comma_list(r, |s| self.byte_range(s))?;
                return Ok((r2, (Operator::ByteRange(ranges), false)));
            }
            _ => {
                let msg = format!("unknown operator `{word}`");
                return match suggest(word, OPERATORS) {
                    Some(s) => fail_help(i, word.len(), msg, format!("did you mean `{s}`?")),
                    None => fail_help(i, word.len(), msg, "see docs/rules.md for the list of operators".to_owned()),
                };
            }
        };
        Ok((r, (op, false)))
    }

    fn byte_range<'a>(&self, i: &'a str) -> PResult<'a, Spanned<(u8, u8)>> {
        let (r, lo) = self.unsigned::<u8>(i, "a byte value 0-255")?;
        let (r, hi) = match r.strip_prefix('-') {
            Some(r2) => self.unsigned::<u8>(r2, "a byte value 0-255")?,
            None => (r, lo.clone()),
        };
        if hi.value < lo.value {
            return fail(i, i.len() - r.len(), format!("empty byte range {}-{}", lo.value, hi.value));
        }
        Ok((r, Spanned::new((lo.value, hi.value), self.span(i, r))))
    }

    fn string_list<'a>(&self, i: &'a str) -> PResult<'a, Vec<Spanned<String>>> {
        let Some(r) = i.strip_prefix('[') else {
            return Err(nom::Err::Failure(self.expected(i, "a list `[\"...\", ...]` or `file \"...\"`")));
        };
        let (r, ()) = self.sp(r)?;
        if r.starts_with(']') {
            return fail(i, 2, "empty list");
        }
        let (r, list) = self.comma_list(r, |s| self.string(s))?;
        let (r, ()) = self.sp(r)?;
        let (r, ()) = self.sp(r.strip_prefix(',').unwrap_or(r))?;
        match r.strip_prefix(']') {
            Some(r) => Ok((r, list)),
            None => Err(nom::Err::Failure(self.expected(r, "`,` or `]`"))),
        }
    }

    fn list_literal<'a>(&self, i: &'a str) -> PResult<'a, ListLiteral> {
        let Some(open) = i.strip_prefix('[') else {
            return Err(nom::Err::Failure(self.expected(i, "a list `[...]`")));
        };
        let (r, ()) = self.sp(open)?;
        if r.starts_with('"') {
            let (r, list) = self.string_list(i)?;
            return Ok((r, ListLiteral::Strings(list)));
        }
        if r.starts_with(']') {
            return fail(i, 2, "empty list");
        }
        let (r, list) = self.comma_list(r, |s| self.cidr(s))?;
        let (r, ()) = self.sp(r)?;
        let (r, ()) = self.sp(r.strip_prefix(',').unwrap_or(r))?;
        match r.strip_prefix(']') {
            Some(r) => Ok((r, ListLiteral::Networks(list))),
            None => Err(nom::Err::Failure(self.expected(r, "`,` or `]`"))),
        }
    }

    fn cidr<'a>(&self, i: &'a str) -> PResult<'a, Spanned<Cidr>> {
        if i.starts_with('"') {
            return fail(i, 1, "a list holds either strings or networks, not both");
        }
        let (r, text) =
            take_while1(|c: char| c.is_ascii_hexdigit() || ":./".contains(c))(i).map_err(|_: nom::Err<PError>| {
                nom::Err::Failure(self.expected(i, "an IP address or network like 10.0.0.0/8"))
            })?;
        let r_word_end = word_len(i);
        if r_word_end > text.len() && !i[text.len()..].starts_with([',', ']']) {
            return fail(i, r_word_end, format!("bad CIDR `{}`", &i[..r_word_end]));
        }
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let Ok(addr) = addr.parse::<IpAddr>() else {
            return fail(i, text.len(), format!("bad CIDR `{text}`: `{addr}` is not an IP address"));
        };
        let full: u8 = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => full,
            Some(p) => match p.parse::<u8>() {
                Ok(n) if n <= full => n,
                _ => {
                    return fail(i, text.len(), format!("bad CIDR `{text}`: prefix length must be 0 to {full}"));
                }
            },
        };
        Ok((r, Spanned::new(Cidr { addr, prefix }, self.span(i, r))))
    }

    fn action<'a>(&self, i: &'a str) -> PResult<'a, Action> {
        let (r, word) = self.ident(i).map_err(|_| nom::Err::Failure(self.expected(i, "an action")))?;
        match word {
            "deny" => {
                let r2 = self.sp_line(r);
                if r2.starts_with(|c: char| c.is_ascii_digit()) {
                    let (r3, status) = self.unsigned::<u16>(r2, "an HTTP status")?;
                    if !(100..=599).contains(&status.value) {
                        return fail(r2, r2.len() - r3.len(), "HTTP status must be 100 to 599");
                    }
                    Ok((r3, Action::Deny(Some(status.value))))
                } else {
                    Ok((r, Action::Deny(None)))
                }
            }
            "allow" => Ok((r, Action::Allow)),
            "log" => Ok((r, Action::Log)),
            "score" => {
                let (r2, ()) = self.sp(r)?;
                let (r2, n) = self.unsigned::<u32>(r2, "a score")?;
                Ok((r2, Action::Score(n.value)))
            }
            _ => {
                let msg = format!("unknown action `{word}`, expected deny, allow, log or score");
                match suggest(word, ["deny", "allow", "log", "score"]) {
                    Some(s) => fail_help(i, word.len(), msg, format!("did you mean `{s}`?")),
                    None => fail(i, word.len(), msg),
                }
            }
        }
    }

    pub(crate) fn expr<'a>(&self, i: &'a str) -> PResult<'a, Expr> {
        self.binary(i, "or")
    }

    fn binary<'a>(&self, i: &'a str, word: &'static str) -> PResult<'a, Expr> {
        let lower = |s: &'a str| {
            if word == "or" { self.binary(s, "and") } else { self.unary(s) }
        };
        let (mut i, first) = lower(i)?;
        let mut parts = vec![first];
        loop {
            let (r, ()) = self.sp(i)?;
            if !self.at_keyword(r, word) {
                break;
            }
            let (r, ()) = self.sp(&r[word.len()..])?;
            let (r, next) = lower(r)?;
            parts.push(next);
            i = r;
        }
        if parts.len() == 1 {
            return Ok((i, parts.pop().unwrap_or(Expr::And(Vec::new()))));
        }
        Ok((i, if word == "or" { Expr::Or(parts) } else { Expr::And(parts) }))
    }

    /// Runs `f` one nesting level deeper; too deep is an error, not a stack overflow.
    fn nested<'a, T>(&self, i: &'a str, f: impl FnOnce() -> PResult<'a, T>) -> PResult<'a, T> {
        if self.depth.get() >= MAX_NESTING {
            return fail(i, 1, format!("expression nested more than {MAX_NESTING} levels deep"));
        }
        self.depth.set(self.depth.get() + 1);
        let result = f();
        self.depth.set(self.depth.get() - 1);
        result
    }

    fn unary<'a>(&self, i: &'a str) -> PResult<'a, Expr> {
        if self.at_keyword(i, "not") {
            let (r, ()) = self.sp(&i[3..])?;
            let (r, e) = self.nested(i, || self.unary(r))?;
            return Ok((r, Expr::Not(Box::new(e))));
        }
        if let Some(r) = i.strip_prefix('(') {
            let (r, ()) = self.sp(r)?;
            let (r, e) = self.nested(i, || self.expr(r))?;
            let (r, ()) = self.sp(r)?;
            return match r.strip_prefix(')') {
                Some(r) => Ok((r, e)),
                None => Err(nom::Err::Failure(self.expected(r, "`)`"))),
            };
        }
        let (r, word) = self.dotted(i).map_err(|_| nom::Err::Failure(self.expected(i, "a condition")))?;
        if let Some(flag) = Flag::from_name(word) {
            return Ok((r, Expr::Flag(Spanned::new(flag, self.span(i, r)))));
        }
        let (r, subject) = if word == "count" && tag::<_, _, PError>("(")(self.sp(r)?.0).is_ok() {
            let (r, ()) = self.sp(r)?;
            let (r, ()) = self.sp(&r[1..])?;
            let (r, target) = self.target(r)?;
            let (r, ()) = self.sp(r)?;
            let Some(r) = r.strip_prefix(')') else {
                return Err(nom::Err::Failure(self.expected(r, "`)`")));
            };
            (r, Subject::Count(target))
        } else {
            let (r, target) = self.target(i)?;
            (r, Subject::Values(target))
        };
        let (r, ()) = self.sp(r)?;
        let (r, negated) = self.opt_not(r)?;
        let (r, (op, neg_eq)) = self.operator_neg(r)?;
        if negated && (neg_eq || matches!(op, Operator::Compare(CmpOp::Ne, _))) {
            return fail(i, i.len() - r.len(), "`not` and `!=` together; write `==`");
        }
        Ok((r, Expr::Cond(Condition { subject, negated: negated || neg_eq, op, span: self.span(i, r) })))
    }

    fn exclude<'a>(&self, start: &'a str) -> PResult<'a, Exclude> {
        let (i, ()) = self.keyword(start, "exclude")?;
        let (i, ()) = self.sp(i)?;
        let (i, rules) = if self.at_keyword(i, "rule") {
            let (r, ()) = self.sp(&i[4..])?;
            self.comma_list(r, |s| self.rule_selector(s))?
        } else if self.at_keyword(i, "tag") {
            let (r, ()) = self.sp(&i[3..])?;
            self.comma_list(r, |s| {
                let (r2, t) = if s.starts_with('"') {
                    self.string(s)?
                } else {
                    let (r2, t) = take_while1(is_tag_char)(s)
                        .map_err(|_: nom::Err<PError>| nom::Err::Failure(self.expected(s, "a tag")))?;
                    (r2, Spanned::new(t.to_owned(), self.span(s, r2)))
                };
                Ok((r2, RuleSelector::Tag(t)))
            })?
        } else {
            return Err(nom::Err::Failure(self.expected(i, "`rule` or `tag` after `exclude`")));
        };
        let mut exclude = Exclude { rules, targets: Vec::new(), when: None, span: Span::default() };
        let mut end = i;
        let (r, ()) = self.sp(i)?;
        let mut r = r;
        if self.at_keyword(r, "for") {
            let (r2, ()) = self.sp(&r[3..])?;
            let (r2, targets) = self.comma_list(r2, |s| self.target(s))?;
            exclude.targets = targets;
            end = r2;
            r = self.sp(r2)?.0;
        }
        if self.at_keyword(r, "when") {
            let (r2, ()) = self.sp(&r[4..])?;
            let (r2, e) = self.expr(r2)?;
            exclude.when = Some(e);
            end = r2;
        }
        exclude.span = self.span(start, end);
        Ok((end, exclude))
    }

    fn rule_selector<'a>(&self, i: &'a str) -> PResult<'a, RuleSelector> {
        let (r, first) = self.unsigned::<u32>(i, "a rule id")?;
        if let Some(r2) = r.strip_prefix("..") {
            let (r2, last) = self.unsigned::<u32>(r2, "a rule id")?;
            if last.value < first.value {
                return fail(i, i.len() - r2.len(), "empty rule id range");
            }
            return Ok((r2, RuleSelector::Range(first, last)));
        }
        Ok((r, RuleSelector::Id(first)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (File, Vec<RuleError>) {
        parse_file(&SourceFile::new("t.rules", text))
    }

    fn one_error(text: &str) -> String {
        let (_, errors) = parse(text);
        assert_eq!(errors.len(), 1, "errors: {errors:?}");
        errors[0].short()
    }

    #[test]
    fn parses_a_scanning_rule() {
        let (file, errors) = parse(
            r#"# a comment
rule 942100 "SQL injection: tautology" {
    paranoia  1
    severity  critical   # trailing comment
    tags      attack-sqli owasp-a03
    inspect   args, args.names, headers["referer", "user-agent"]
    transform url_decode_uni, lowercase
    match     regex `(?:\bor\b)\s+\d+\s*=\s*\d+`
}
"#,
        );
        assert!(errors.is_empty(), "{errors:?}");
        let Item::Rule(rule) = &file.items[0] else { panic!("not a rule") };
        assert_eq!(rule.id.value, 942100);
        assert_eq!(rule.message.value, "SQL injection: tautology");
        assert_eq!(rule.tags.len(), 2);
        let targets = &rule.inspect.as_ref().unwrap().value;
        assert_eq!(targets.len(), 3);
        assert_eq!(targets[2].selectors.len(), 2);
        assert_eq!(rule.transform.as_ref().unwrap().value.len(), 2);
        assert!(matches!(rule.matcher.as_ref().unwrap().value.op, Operator::Regex(_)));
    }

    #[test]
    fn parses_a_deciding_rule_and_an_exclusion() {
        let (file, errors) = parse(
            r#"rule 100 "Admin only from the office" {
    when   path starts_with "/admin" and not client_ip in [10.0.0.0/8, 192.168.0.0/16]
    action deny 403
}
exclude rule 942100, 942200..942299 for args["q"] when path == "/api/v1/search"
exclude tag attack-xss
"#,
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(file.items.len(), 3);
        let Item::Rule(rule) = &file.items[0] else { panic!() };
        let Expr::And(parts) = &rule.when.as_ref().unwrap().value else { panic!("not an and") };
        assert!(matches!(parts[1], Expr::Not(_)));
        assert_eq!(rule.action.as_ref().unwrap().value, Action::Deny(Some(403)));
        let Item::Exclude(ex) = &file.items[1] else { panic!() };
        assert_eq!(ex.rules.len(), 2);
        assert_eq!(ex.targets.len(), 1);
        assert!(ex.when.is_some());
    }

    #[test]
    fn reports_errors_with_their_place_and_keeps_going() {
        let (file, errors) = parse(
            "rule 1 {\n    transform url_decod\n    match contains \"x\"\n}\nrule 2 {\n  when method == \"GET\"\n}\n",
        );
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].short(), "t.rules:2:15: error: unknown transform `url_decod`");
        assert_eq!(errors[0].help(), Some("did you mean `url_decode`?"));
        assert_eq!(file.items.len(), 1, "rule 2 still parsed");
    }

    #[test]
    fn unterminated_strings_and_regexes() {
        assert_eq!(
            one_error("rule 1 {\n  match contains \"abc\n}\n"),
            "t.rules:2:18: error: unterminated string: missing closing `\"` on this line"
        );
        assert_eq!(
            one_error("rule 1 {\n  match regex `abc\n}\n"),
            "t.rules:2:15: error: unterminated regex: missing closing backtick on this line"
        );
    }

    #[test]
    fn numbers_and_networks_are_checked() {
        assert_eq!(one_error("rule 12a {\n}\n"), "t.rules:1:6: error: bad number `12a`");
        assert_eq!(
            one_error("rule 1 {\n  paranoia 7\n}\n"),
            "t.rules:2:12: error: paranoia level must be 1, 2, 3 or 4"
        );
        assert!(one_error("rule 1 {\n  when client_ip in [10.0.0.300/8]\n}\n").contains("bad CIDR `10.0.0.300/8`"));
        assert!(
            one_error("rule 1 {\n  when client_ip in [10.0.0.0/33]\n}\n").contains("prefix length must be 0 to 32")
        );
    }

    #[test]
    fn cidr_membership() {
        let c = Cidr { addr: "10.1.2.3".parse().unwrap(), prefix: 8 };
        assert!(c.contains("10.200.0.1".parse().unwrap()));
        assert!(c.contains("::ffff:10.0.0.1".parse().unwrap()));
        assert!(!c.contains("11.0.0.1".parse().unwrap()));
        let v6 = Cidr { addr: "2001:db8::".parse().unwrap(), prefix: 32 };
        assert!(v6.contains("2001:db8:1::1".parse().unwrap()));
        assert!(!v6.contains("2001:db9::1".parse().unwrap()));
        assert!(Cidr { addr: "0.0.0.0".parse().unwrap(), prefix: 0 }.contains("1.2.3.4".parse().unwrap()));
    }

    #[test]
    fn nesting_is_bounded_and_extreme_numbers_parse() {
        let deep = format!("rule 1 {{ severity notice when {}body_error{} }}", "(".repeat(5000), ")".repeat(5000));
        assert_eq!(one_error(&deep), "t.rules:1:95: error: expression nested more than 64 levels deep");
        let nots = format!("rule 1 {{ severity notice when {}body_error }}", "not ".repeat(20000));
        assert!(one_error(&nots).contains("nested more than 64 levels deep"));
        let ok = format!("rule 1 {{ severity notice when {}body_error{} }}", "(".repeat(60), ")".repeat(60));
        assert!(parse(&ok).1.is_empty());
        let (_, errors) = parse("rule 1 { severity notice when args == -9223372036854775808 }");
        assert!(errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn expressions_nest() {
        let e = parse_expr(&SourceFile::new(
            "e",
            "(method == \"GET\" or method == \"HEAD\") and count(args) > 3 and not body_error",
        ))
        .unwrap();
        let Expr::And(parts) = e else { panic!() };
        assert_eq!(parts.len(), 3);
        assert!(matches!(parts[0], Expr::Or(_)));
        assert!(matches!(&parts[1], Expr::Cond(Condition { subject: Subject::Count(_), .. })));
    }
}
