//! The SecLang front end: ModSecurity rule files (the OWASP Core Rule Set)
//! compiled into the same IR as the rule language.
//!
//! This module is the syntax half: [`parser`] turns a file into directives
//! and a directive's arguments into variables, an operator and actions, with
//! `file:line:column` for every problem. The meaning half lives with the
//! compiler (`compile::sec_lower`: directives to [`crate::compile`]'s SecLang
//! IR, static analysis, prefilter scans) and the matcher (`eval::sec`: the
//! ordered walk per phase). docs/seclang.md lists every directive, variable,
//! operator, transformation and action with its status.
//!
//! # What is supported, and how unsupported items are reported
//! - Errors (the rule set does not load): syntax errors, unknown operators in
//!   request-phase rules' first links are *not* errors but warnings, regexes
//!   that need backtracking (backreferences, look-around) are errors, as in
//!   the rule language: rampart never runs a regex in more than linear time
//!   and never silently skips one.
//! - Warnings ([`Warning`], `rampart check --seclang` prints them): unknown or
//!   ignored directives, variables rampart does not provide (they yield no
//!   values), operators it does not implement (they never match), actions it
//!   ignores, `setvar` on collections other than TX.
#![forbid(unsafe_code)]

pub(crate) mod ast;
pub(crate) mod parser;

use std::fmt;
use std::sync::Arc;

use crate::dsl::{SourceFile, Span};

/// Something in a SecLang file that rampart reads but does not support
/// fully, and where it is.
///
/// `Display` prints `file:line:column: warning: message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    file: Arc<str>,
    line: u32,
    column: u32,
    message: String,
}

impl Warning {
    pub(crate) fn new(source: &SourceFile, span: Span, message: impl Into<String>) -> Warning {
        let (line, column) = source.line_column(span.start as usize);
        Warning { file: source.name().clone(), line, column, message: message.into() }
    }

    /// Notes that the same thing came up `n` times in all.
    pub(crate) fn add_count(&mut self, n: usize) {
        self.message = format!("{} ({n} places)", self.message);
    }

    /// The file, as it was named when loaded.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// 1-based line; 0 for a warning about the whole file.
    pub fn line(&self) -> u32 {
        self.line
    }

    /// 1-based column in characters; 0 for a warning about the whole file.
    pub fn column(&self) -> u32 {
        self.column
    }

    /// The message: lowercase, no final period.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: warning: {}", self.file, self.message)
        } else {
            write!(f, "{}:{}:{}: warning: {}", self.file, self.line, self.column, self.message)
        }
    }
}
