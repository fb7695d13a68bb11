//! The compiler: config and rule files in, an immutable [`Ruleset`] out.
//!
//! Stages: [`load`] reads files and follows includes; the parser
//! ([`crate::dsl`]) builds syntax trees; [`lower`] checks them and produces the
//! [`ir`]; [`plan`] groups rules by (value source, transform pipeline) and
//! builds the shared automata the matcher runs.
#![forbid(unsafe_code)]

mod config;
pub(crate) mod ir;
pub(crate) mod literal_dfa;
mod load;
mod lower;
pub(crate) mod plan;
pub(crate) mod regex;
mod ruleset;
pub(crate) mod sec_ir;
mod sec_lower;

pub use config::{Config, LimitAction, Mode};
pub use ruleset::{GroupInfo, RuleInfo, Ruleset, RulesetBuilder, Summary};
pub use sec_ir::SecStats;
