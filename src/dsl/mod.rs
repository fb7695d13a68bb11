//! The rule language: syntax tree, parser, errors and formatter.
//!
//! A rule file is a list of `rule`, `exclude` and `include` items (see
//! docs/rules.md for the reference). [`parse`] turns text into a [`File`] and
//! reports every syntax error with its `file:line:column`; the compiler checks
//! meaning (names of data files, regexes, duplicate ids) afterwards.
//! [`format_file`] prints a tree back as canonical text that parses to the same
//! tree.
#![forbid(unsafe_code)]

pub mod ast;
mod error;
mod format;
mod parser;
mod span;

pub use ast::File;
pub(crate) use error::ErrorKind;
pub use error::{RuleError, RuleErrors};
pub use format::{expr_text, format_file, format_file_with_comments, format_rule, operator_text, quote, target_text};
pub use parser::Comment;
pub use span::{SourceFile, Span};

/// Parses a rule file. Returns the items that parsed and every syntax error,
/// in order; a broken item is skipped up to the next top-level keyword.
pub fn parse(source: &SourceFile) -> (File, Vec<RuleError>) {
    parser::parse_file(source)
}

/// Parses a rule file keeping its comments (for the formatter).
pub fn parse_with_comments(source: &SourceFile) -> (File, Vec<Comment>, Vec<RuleError>) {
    parser::parse_file_with_comments(source)
}

/// Parses a standalone boolean expression, as written after `when`.
pub fn parse_expr(source: &SourceFile) -> Result<ast::Expr, RuleError> {
    parser::parse_expr(source)
}
