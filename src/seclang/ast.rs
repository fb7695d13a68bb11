//! The SecLang syntax tree: directives with their arguments, and the parsed
//! parts of a `SecRule` (variables, operator, actions), each with its span in
//! the file so that errors and warnings point at `file:line:column`.

use crate::dsl::Span;

/// A directive argument as written (quotes removed, `\"` unescaped, line
/// continuations joined), with the file offset of every byte of its value.
#[derive(Clone, Debug)]
pub(crate) struct Arg {
    pub(crate) value: String,
    /// `offsets[i]` is the file offset of `value[i]`; one more entry gives the
    /// offset just past the value.
    pub(crate) offsets: Vec<u32>,
}

impl Arg {
    /// The file span of `value[start..end]`.
    pub(crate) fn span_of(&self, start: usize, end: usize) -> Span {
        let at = |i: usize| self.offsets.get(i.min(self.offsets.len().saturating_sub(1))).copied().unwrap_or(0);
        let s = at(start);
        let e = if end > start { at(end - 1) + 1 } else { s };
        Span { start: s, end: e.max(s) }
    }

    /// The file span of the whole value.
    pub(crate) fn span(&self) -> Span {
        self.span_of(0, self.value.len())
    }
}

/// One directive: its name and arguments.
#[derive(Clone, Debug)]
pub(crate) struct Directive {
    pub(crate) name: String,
    pub(crate) name_span: Span,
    pub(crate) args: Vec<Arg>,
}

/// One variable of a target list: `ARGS`, `!ARGS:foo`, `&TX:x`, `REQUEST_COOKIES:/^a/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct VarSpec {
    /// The collection or variable name, uppercased.
    pub(crate) name: String,
    pub(crate) selector: Option<Selector>,
    /// `!`: remove these values from the rule's targets.
    pub(crate) exclude: bool,
    /// `&`: the number of values instead of the values.
    pub(crate) count: bool,
    pub(crate) span: Span,
}

/// The key part of a variable (`ARGS:foo`, `ARGS:/^foo/`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Selector {
    /// A literal key (compared case-insensitively).
    Key(String),
    /// A regex over the key, with its span (of the pattern itself).
    Regex(String, Span),
}

/// The operator argument: `@rx ...`, `!@pm ...`, or a bare regex.
#[derive(Clone, Debug)]
pub(crate) struct OperatorSpec {
    pub(crate) negated: bool,
    /// The operator name as written, without `@` (a bare regex is `rx`).
    pub(crate) name: String,
    pub(crate) name_span: Span,
    /// The parameter, as written after the name and one space.
    pub(crate) param: String,
    pub(crate) param_span: Span,
}

/// One action: `name` or `name:value`.
#[derive(Clone, Debug)]
pub(crate) struct ActionSpec {
    pub(crate) name: String,
    pub(crate) value: Option<String>,
    pub(crate) span: Span,
    pub(crate) value_span: Span,
}
