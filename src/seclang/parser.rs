//! The SecLang parser: files into directives, directive arguments into
//! variables, operators and actions.
//!
//! Lexing follows Apache's configuration syntax as ModSecurity v3 reads it:
//! - one directive per logical line; a backslash at the end of a line
//!   (trailing spaces allowed) joins the next line, so `"id:1,\` + newline +
//!   `    phase:2"` is the value `id:1,    phase:2`;
//! - `#` starts a comment line (a comment ends at its line's end, as in
//!   ModSecurity v3, even after a trailing backslash);
//! - arguments are separated by spaces or tabs; an argument in double (or
//!   single) quotes may hold spaces, `\"` stands for a quote, and every other
//!   backslash is kept as written (regexes keep their escapes).
//!
//! Each argument keeps the file offset of every byte of its value, so errors
//! inside a value (a regex, an action) point at the right line and column even
//! across continuation lines. The small grammars inside arguments (variable
//! lists, actions) are parsed with nom over the unescaped value.

use nom::IResult;
use nom::bytes::complete::take_while1;

use super::ast::*;
use crate::dsl::{ErrorKind, RuleError, SourceFile, Span};

/// A problem inside one argument: where (byte range of the value) and what.
pub(crate) struct ArgError {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) message: String,
}

impl ArgError {
    fn new(start: usize, end: usize, message: impl Into<String>) -> ArgError {
        ArgError { start, end, message: message.into() }
    }

    /// The error as a [`RuleError`] in `source`.
    pub(crate) fn into_rule_error(self, source: &SourceFile, arg: &Arg) -> RuleError {
        RuleError::new(ErrorKind::Syntax, source, arg.span_of(self.start, self.end.max(self.start + 1)), self.message)
    }
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t' || b == b'\r'
}

/// If a line continuation (a backslash, optional blanks, a newline) starts at
/// `i`, the offset just after its newline.
fn continuation(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'\\') {
        return None;
    }
    let mut j = i + 1;
    while j < b.len() && is_blank(b[j]) {
        j += 1;
    }
    match b.get(j) {
        Some(b'\n') => Some(j + 1),
        None => Some(j),
        _ => None,
    }
}

/// Splits a file into directives. Every syntax problem is reported; a broken
/// directive is skipped up to the end of its logical line.
pub(crate) fn parse_directives(source: &SourceFile) -> (Vec<Directive>, Vec<RuleError>) {
    let text = source.text();
    let b = text.as_bytes();
    let n = b.len();
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut i = 0;
    while i < n {
        // Blank space between directives, continuations included.
        if is_blank(b[i]) || b[i] == b'\n' {
            i += 1;
            continue;
        }
        if let Some(next) = continuation(b, i) {
            i = next;
            continue;
        }
        if b[i] == b'#' {
            while i < n && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let name_start = i;
        while i < n && !is_blank(b[i]) && b[i] != b'\n' && continuation(b, i).is_none() {
            i += 1;
        }
        let name = &text[name_start..i];
        let mut args = Vec::new();
        let mut broken = false;
        loop {
            // Blanks and continuations between arguments.
            loop {
                if i < n && is_blank(b[i]) {
                    i += 1;
                } else if let Some(next) = continuation(b, i) {
                    i = next;
                } else {
                    break;
                }
            }
            if i >= n || b[i] == b'\n' {
                break;
            }
            let mut value = Vec::new();
            let mut offsets = Vec::new();
            if b[i] == b'"' || b[i] == b'\'' {
                let quote = b[i];
                let open = i;
                i += 1;
                let mut closed = false;
                while i < n {
                    if let Some(next) = continuation(b, i) {
                        i = next;
                        continue;
                    }
                    match b[i] {
                        b'\\' if b.get(i + 1) == Some(&quote) => {
                            value.push(quote);
                            offsets.push(i as u32 + 1);
                            i += 2;
                        }
                        c if c == quote => {
                            i += 1;
                            closed = true;
                            break;
                        }
                        b'\n' => break,
                        c => {
                            value.push(c);
                            offsets.push(i as u32);
                            i += 1;
                        }
                    }
                }
                if !closed {
                    errors.push(RuleError::new(
                        ErrorKind::Syntax,
                        source,
                        Span::new(open, open + 1),
                        "quoted argument is not closed: a quote is missing, or a line lacks its trailing backslash",
                    ));
                    broken = true;
                    while i < n && b[i] != b'\n' {
                        i += 1;
                    }
                    break;
                }
                offsets.push(i as u32 - 1);
            } else {
                while i < n && !is_blank(b[i]) && b[i] != b'\n' && continuation(b, i).is_none() {
                    value.push(b[i]);
                    offsets.push(i as u32);
                    i += 1;
                }
                offsets.push(i as u32);
            }
            let value = String::from_utf8_lossy(&value).into_owned();
            args.push(Arg { value, offsets });
        }
        if !broken {
            out.push(Directive {
                name: name.to_owned(),
                name_span: Span::new(name_start, i.min(name_start + name.len())),
                args,
            });
        }
    }
    (out, errors)
}

type NResult<'a, T> = IResult<&'a str, T>;

fn ident(input: &str) -> NResult<'_, &str> {
    take_while1(|c: char| c.is_ascii_alphanumeric() || c == '_')(input)
}

/// Parses a target list: `ARGS|!ARGS:foo|&TX:x|REQUEST_COOKIES:/^a/|XML:/*`.
pub(crate) fn parse_variables(arg: &Arg) -> Result<Vec<VarSpec>, ArgError> {
    let full = arg.value.as_str();
    let pos = |rest: &str| full.len() - rest.len();
    let mut out = Vec::new();
    let mut rest = full.trim_start();
    if rest.is_empty() {
        return Err(ArgError::new(0, full.len(), "empty target list: name the variables to inspect"));
    }
    loop {
        let start = pos(rest);
        let (exclude, count) = match rest.as_bytes().first() {
            Some(b'!') => {
                rest = &rest[1..];
                (true, false)
            }
            Some(b'&') => {
                rest = &rest[1..];
                (false, true)
            }
            _ => (false, false),
        };
        let Ok((after, name)) = ident(rest) else {
            let at = pos(rest);
            return Err(ArgError::new(at, at + 1, "expected a variable name such as ARGS or REQUEST_HEADERS"));
        };
        rest = after;
        let name = name.to_ascii_uppercase();
        let mut selector = None;
        if let Some(after) = rest.strip_prefix(':') {
            rest = after;
            let sel_start = pos(rest);
            if name == "XML" {
                // An XPath expression: everything up to the next `|`.
                let end = rest.find('|').unwrap_or(rest.len());
                selector = Some(Selector::Key(rest[..end].to_owned()));
                rest = &rest[end..];
            } else if let Some(body) = rest.strip_prefix('/') {
                let end = regex_end(body)
                    .ok_or_else(|| ArgError::new(sel_start, sel_start + 1, "regex selector is not closed with `/`"))?;
                let pattern = &body[..end];
                let span = arg.span_of(sel_start + 1, sel_start + 1 + end);
                selector = Some(Selector::Regex(unescape_slash(pattern), span));
                rest = &body[end + 1..];
            } else if let Some(body) = rest.strip_prefix('\'') {
                let end = body
                    .find('\'')
                    .ok_or_else(|| ArgError::new(sel_start, sel_start + 1, "quoted selector is not closed"))?;
                let inner = &body[..end];
                selector = Some(match inner.strip_prefix('/').and_then(|s| s.strip_suffix('/')) {
                    Some(p) => Selector::Regex(p.to_owned(), arg.span_of(sel_start + 2, sel_start + 2 + p.len())),
                    None => Selector::Key(inner.to_owned()),
                });
                rest = &body[end + 1..];
            } else {
                let end = rest.find('|').unwrap_or(rest.len());
                let key = rest[..end].trim_end();
                if key.is_empty() {
                    return Err(ArgError::new(sel_start.saturating_sub(1), sel_start, "empty key after `:`"));
                }
                selector = Some(Selector::Key(key.to_owned()));
                rest = &rest[end..];
            }
        }
        let end = pos(rest);
        out.push(VarSpec { name, selector, exclude, count, span: arg.span_of(start, end) });
        rest = rest.trim_start();
        match rest.strip_prefix('|') {
            Some(after) => rest = after.trim_start(),
            None if rest.is_empty() => break,
            None => {
                let at = pos(rest);
                return Err(ArgError::new(at, at + 1, "expected `|` between variables"));
            }
        }
    }
    Ok(out)
}

/// The index of the `/` closing a regex selector (backslash escapes skipped).
fn regex_end(body: &str) -> Option<usize> {
    let b = body.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'/' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// `\/` inside a regex selector stands for `/`.
fn unescape_slash(p: &str) -> String {
    p.replace("\\/", "/")
}

/// Parses the operator argument: `@name param`, `!@name param`, or a bare regex.
pub(crate) fn parse_operator(arg: &Arg) -> Result<OperatorSpec, ArgError> {
    let full = arg.value.as_str();
    let mut p = full.len() - full.trim_start().len();
    let bytes = full.as_bytes();
    let negated = bytes.get(p) == Some(&b'!');
    if negated {
        p += 1;
        while bytes.get(p).is_some_and(|b| is_blank(*b)) {
            p += 1;
        }
    }
    if bytes.get(p) == Some(&b'@') {
        let name_start = p + 1;
        let (after, name) =
            ident(&full[name_start..]).map_err(|_| ArgError::new(p, p + 1, "expected an operator name after `@`"))?;
        let name_end = full.len() - after.len();
        let mut param_start = name_end;
        let pb = full.as_bytes();
        while param_start < full.len() && is_blank(pb[param_start]) {
            param_start += 1;
        }
        Ok(OperatorSpec {
            negated,
            name: name.to_owned(),
            name_span: arg.span_of(p, name_end),
            param: full[param_start..].to_owned(),
            param_span: arg.span_of(param_start, full.len()),
        })
    } else {
        Ok(OperatorSpec {
            negated,
            name: "rx".to_owned(),
            name_span: arg.span_of(p, p),
            param: full[p..].to_owned(),
            param_span: arg.span_of(p, full.len()),
        })
    }
}

/// Parses an action list: `id:1,phase:2,t:none,msg:'a, b',setvar:tx.x=+1`.
pub(crate) fn parse_actions(arg: &Arg) -> Result<Vec<ActionSpec>, ArgError> {
    let full = arg.value.as_str();
    let b = full.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (is_blank(b[i]) || b[i] == b'\n' || b[i] == b',') {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let start = i;
        let (rest, _) = ident(&full[i..]).map_err(|_| {
            ArgError::new(start, start + 1, "expected an action name such as `id`, `phase` or `setvar`")
        })?;
        i = full.len() - rest.len();
        let name_end = i;
        let mut value = None;
        let mut value_span = Span::default();
        if b.get(i) == Some(&b':') {
            i += 1;
            while i < b.len() && is_blank(b[i]) {
                i += 1;
            }
            if b.get(i) == Some(&b'\'') {
                let open = i;
                i += 1;
                let mut v = Vec::new();
                let mut offs = Vec::new();
                let mut closed = false;
                while i < b.len() {
                    match b[i] {
                        b'\\' if b.get(i + 1) == Some(&b'\'') => {
                            v.push(b'\'');
                            offs.push(i + 1);
                            i += 2;
                        }
                        b'\'' => {
                            closed = true;
                            i += 1;
                            break;
                        }
                        c => {
                            v.push(c);
                            offs.push(i);
                            i += 1;
                        }
                    }
                }
                if !closed {
                    return Err(ArgError::new(open, open + 1, "quoted action value is not closed with `'`"));
                }
                value_span = arg.span_of(open + 1, i - 1);
                value = Some(String::from_utf8_lossy(&v).into_owned());
            } else {
                let vs = i;
                while i < b.len() && b[i] != b',' {
                    i += 1;
                }
                let raw = full[vs..i].trim_end();
                value_span = arg.span_of(vs, vs + raw.len());
                value = Some(raw.to_owned());
            }
        }
        let span = arg.span_of(start, i.max(name_end));
        out.push(ActionSpec { name: full[start..name_end].to_owned(), value, span, value_span });
        while i < b.len() && (is_blank(b[i]) || b[i] == b'\n') {
            i += 1;
        }
        match b.get(i) {
            None => break,
            Some(b',') => i += 1,
            Some(_) => {
                return Err(ArgError::new(i, i + 1, "expected `,` between actions"));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directives(text: &str) -> Vec<Directive> {
        let (d, errors) = parse_directives(&SourceFile::new("t.conf", text));
        assert!(errors.is_empty(), "{:?}", errors.iter().map(|e| e.short()).collect::<Vec<_>>());
        d
    }

    fn arg(text: &str) -> Arg {
        Arg { value: text.to_owned(), offsets: (0..=text.len() as u32).collect() }
    }

    #[test]
    fn directives_split_on_lines_and_continuations() {
        let d = directives(
            "# comment \\\nSecRuleEngine On\nSecRule ARGS \"@rx a\\\"b\" \\\n    \"id:1,\\\n    phase:2\"\n\n  SecMarker END\n",
        );
        assert_eq!(d.len(), 3);
        assert_eq!(d[0].name, "SecRuleEngine");
        assert_eq!(d[0].args[0].value, "On");
        assert_eq!(d[1].args.len(), 3);
        assert_eq!(d[1].args[1].value, "@rx a\"b");
        assert_eq!(d[1].args[2].value, "id:1,    phase:2");
        assert_eq!(d[2].args[0].value, "END");
    }

    #[test]
    fn offsets_follow_continuations() {
        let text = "SecRule ARGS \"@rx x\" \"id:1,\\\n  phase:2\"";
        let source = SourceFile::new("t.conf", text);
        let d = directives(text);
        let a = &d[0].args[2];
        let at = a.value.find("phase").unwrap();
        let span = a.span_of(at, at + 5);
        assert_eq!(&text[span.start as usize..span.end as usize], "phase");
        assert_eq!(source.line_column(span.start as usize), (2, 3));
    }

    #[test]
    fn unclosed_quotes_are_errors_at_the_quote() {
        let (_, errors) = parse_directives(&SourceFile::new("t.conf", "SecRule ARGS \"@rx x\n"));
        assert_eq!(errors.len(), 1);
        assert!(errors[0].short().starts_with("t.conf:1:14: error: quoted argument is not closed"));
    }

    #[test]
    fn variables() {
        let v =
            parse_variables(&arg("REQUEST_COOKIES|!REQUEST_COOKIES:/__utm|x/|&TX:foo|XML:/*|ARGS:a.b")).ok().unwrap();
        assert_eq!(v.len(), 5);
        assert!(v[1].exclude);
        assert!(matches!(&v[1].selector, Some(Selector::Regex(p, _)) if p == "__utm|x"));
        assert!(v[2].count);
        assert_eq!(v[2].name, "TX");
        assert_eq!(v[3].selector, Some(Selector::Key("/*".into())));
        assert_eq!(v[4].selector, Some(Selector::Key("a.b".into())));
        assert!(parse_variables(&arg("ARGS|")).is_err());
        assert!(parse_variables(&arg("ARGS:/x")).is_err());
    }

    #[test]
    fn operators() {
        let o = parse_operator(&arg("!@pm a b c")).ok().unwrap();
        assert!(o.negated);
        assert_eq!((o.name.as_str(), o.param.as_str()), ("pm", "a b c"));
        let o = parse_operator(&arg("^(?:a|b)$")).ok().unwrap();
        assert_eq!((o.name.as_str(), o.param.as_str()), ("rx", "^(?:a|b)$"));
        let o = parse_operator(&arg("@detectSQLi")).ok().unwrap();
        assert_eq!((o.name.as_str(), o.param.as_str()), ("detectSQLi", ""));
    }

    #[test]
    fn actions() {
        let a = parse_actions(&arg(
            "id:942100,  phase:2,block,msg:'a, b \\'c\\'',setvar:'tx.x=+%{tx.y}',ctl:ruleRemoveTargetById=1;ARGS:q",
        ))
        .ok()
        .unwrap();
        let got: Vec<(&str, Option<&str>)> = a.iter().map(|a| (a.name.as_str(), a.value.as_deref())).collect();
        assert_eq!(
            got,
            [
                ("id", Some("942100")),
                ("phase", Some("2")),
                ("block", None),
                ("msg", Some("a, b 'c'")),
                ("setvar", Some("tx.x=+%{tx.y}")),
                ("ctl", Some("ruleRemoveTargetById=1;ARGS:q")),
            ]
        );
        assert!(parse_actions(&arg("id:1,msg:'x")).is_err());
    }
}
