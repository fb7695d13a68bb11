//! Errors in rule files and engine configs, with their place.

use std::fmt;
use std::sync::Arc;

use super::span::{SourceFile, Span};

/// What went wrong, broadly. Private so that adding kinds is not a breaking
/// change; callers use [`RuleError::is_io`] and the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    /// The text does not follow the grammar.
    Syntax,
    /// The text parses but means nothing valid (unknown name, duplicate id, ...).
    Check,
    /// A regex does not compile, or needs backtracking.
    Regex,
    /// A file could not be read.
    Io,
    /// The engine configuration is invalid.
    Config,
}

/// One problem in a rule file or engine config, and where it is.
///
/// `Display` prints `file:line:column: error: message`, then the source line
/// with a caret under the problem, then a hint when there is one:
///
/// ```text
/// rules/core/942-sqli.rules:7:15: error: unknown transform `url_decod`
///   7 |     transform url_decod, lowercase
///     |               ^^^^^^^^^ did you mean `url_decode`?
/// ```
#[derive(Clone, Debug)]
pub struct RuleError {
    kind: ErrorKind,
    message: String,
    help: Option<String>,
    file: Arc<str>,
    span: Span,
    line: u32,
    column: u32,
    source_line: String,
    caret_len: u32,
}

impl RuleError {
    pub(crate) fn new(kind: ErrorKind, source: &SourceFile, span: Span, message: impl Into<String>) -> RuleError {
        let (line, column) = source.line_column(span.start as usize);
        let source_line = source.line_text(line).to_owned();
        let text = source.text();
        let end = (span.end as usize).min(text.len());
        let start = (span.start as usize).min(end);
        let covered = text.get(start..end).unwrap_or("");
        let covered = covered.split('\n').next().unwrap_or("");
        let caret_len = u32::try_from(covered.chars().count().max(1)).unwrap_or(1);
        RuleError {
            kind,
            message: message.into(),
            help: None,
            file: source.name().clone(),
            // Errors at the end of the text ("found end of file") come with a
            // one-byte span past it; keep the public span inside the text.
            span: Span::new(start, end),
            line,
            column,
            source_line,
            caret_len,
        }
    }

    /// An error about a whole file (it could not be read, for instance): no line.
    pub(crate) fn whole_file(kind: ErrorKind, file: &str, message: impl Into<String>) -> RuleError {
        RuleError {
            kind,
            message: message.into(),
            help: None,
            file: file.into(),
            span: Span::default(),
            line: 0,
            column: 0,
            source_line: String::new(),
            caret_len: 0,
        }
    }

    /// Adds a hint printed after the caret.
    pub(crate) fn with_help(mut self, help: impl Into<String>) -> RuleError {
        self.help = Some(help.into());
        self
    }

    /// The file the error is in, as it was named when loaded.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// 1-based line; 0 when the error concerns a whole file.
    pub fn line(&self) -> u32 {
        self.line
    }

    /// 1-based column, counted in characters; 0 when the error concerns a whole file.
    pub fn column(&self) -> u32 {
        self.column
    }

    /// The byte range in the file.
    pub fn span(&self) -> Span {
        self.span
    }

    /// The message alone: lowercase, no final period.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// A hint on how to fix it, if there is one.
    pub fn help(&self) -> Option<&str> {
        self.help.as_deref()
    }

    /// True when the error is about a file that could not be read.
    pub fn is_io(&self) -> bool {
        self.kind == ErrorKind::Io
    }

    /// `file:line:column: error: message` on one line, without the source excerpt.
    pub fn short(&self) -> String {
        if self.line == 0 {
            format!("{}: error: {}", self.file, self.message)
        } else {
            format!("{}:{}:{}: error: {}", self.file, self.line, self.column, self.message)
        }
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.short())?;
        if self.line == 0 {
            if let Some(help) = &self.help {
                write!(f, "\n  help: {help}")?;
            }
            return Ok(());
        }
        let number = self.line.to_string();
        let pad = " ".repeat(number.len());
        write!(f, "\n {number} | {}", self.source_line.replace('\t', " "))?;
        let indent = " ".repeat(self.column.saturating_sub(1) as usize);
        write!(f, "\n {pad} | {indent}{}", "^".repeat(self.caret_len as usize))?;
        if let Some(help) = &self.help {
            write!(f, " {help}")?;
        }
        Ok(())
    }
}

impl std::error::Error for RuleError {}

/// Every problem found while loading a rule set, sorted by file and position.
///
/// Loading reports all errors it can find, not just the first.
#[derive(Clone, Debug, Default)]
pub struct RuleErrors {
    errors: Vec<RuleError>,
}

impl RuleErrors {
    /// Collects errors, sorting them by file and position.
    pub fn from_errors(errors: Vec<RuleError>) -> RuleErrors {
        RuleErrors::from_vec(errors)
    }

    pub(crate) fn from_vec(mut errors: Vec<RuleError>) -> RuleErrors {
        errors.sort_by(|a, b| (&*a.file, a.span.start).cmp(&(&*b.file, b.span.start)));
        RuleErrors { errors }
    }

    /// The errors, sorted by file and position.
    pub fn errors(&self) -> &[RuleError] {
        &self.errors
    }

    /// The first error.
    pub fn first(&self) -> Option<&RuleError> {
        self.errors.first()
    }

    /// The number of errors.
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// True when there are none (never the case for a returned error).
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }
}

impl From<RuleError> for RuleErrors {
    fn from(error: RuleError) -> RuleErrors {
        RuleErrors { errors: vec![error] }
    }
}

impl fmt::Display for RuleErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n\n")?;
            }
            write!(f, "{e}")?;
        }
        if self.errors.len() > 1 {
            write!(f, "\n\n{} errors", self.errors.len())?;
        }
        Ok(())
    }
}

impl std::error::Error for RuleErrors {}

/// The closest of `candidates` to `word`, for "did you mean" hints: within
/// edit distance 2, or 1 for words of three characters or fewer (so `rx` does
/// not suggest `in`).
pub(crate) fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = if word.chars().count() <= 3 { 1 } else { 2 };
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            let next = (row[j + 1] + 1).min(row[j] + 1).min(prev + cost);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_shows_place_line_and_caret() {
        let src = SourceFile::new("a.rules", "rule 1 {\n    transform url_decod\n}\n");
        let e = RuleError::new(ErrorKind::Check, &src, Span::new(23, 32), "unknown transform `url_decod`")
            .with_help("did you mean `url_decode`?");
        let text = e.to_string();
        assert_eq!(
            text,
            "a.rules:2:15: error: unknown transform `url_decod`\n 2 |     transform url_decod\n   |               ^^^^^^^^^ did you mean `url_decode`?"
        );
    }

    #[test]
    fn issue_7_spans_of_errors_at_the_end_of_the_text_stay_inside_it() {
        // Found by the parse_rules fuzz target: `rule` alone gave the span 4..5
        // in a 4-byte text, so `&text[span]` in a host would panic.
        let src = SourceFile::new("a.rules", "rule");
        let (_, errors) = crate::dsl::parse(&src);
        assert!(!errors.is_empty());
        for e in &errors {
            let span = e.span();
            assert!(span.start <= span.end && span.end as usize <= src.text().len(), "{}: {span:?}", e.short());
        }
        assert_eq!(errors[0].short(), "a.rules:1:5: error: expected a number (a rule id)");
        let past = RuleError::new(ErrorKind::Syntax, &src, Span::new(9, 12), "past the end");
        assert_eq!((past.span().start, past.span().end), (4, 4));
    }

    #[test]
    fn suggestions_are_close_words() {
        assert_eq!(suggest("url_decod", ["url_decode", "lowercase"]), Some("url_decode"));
        assert_eq!(suggest("zzz", ["url_decode"]), None);
    }
}
