//! rampart: an embedded web application firewall engine.
//!
//! Rules are text files in a small language ([`dsl`], reference in
//! docs/rules.md) plus a TOML engine [`Config`]. A [`Ruleset`] compiles them
//! into shared multi-pattern automata; a [`Transaction`] carries one request;
//! [`Transaction::evaluate`] scores it phase by phase with a per-thread
//! [`Scratch`] and returns a [`Verdict`]. Every regex runs in linear time, every
//! input is bounded, and evaluation allocates nothing once warmed up.
//!
//! ```
//! use std::sync::Arc;
//! use rampart::{Action, Phase, Ruleset, Transaction};
//!
//! let ruleset = Arc::new(Ruleset::default_rules().expect("the built-in rules compile"));
//! let mut scratch = ruleset.create_scratch();
//! let mut tx = Transaction::new(ruleset.clone());
//! tx.set_client("203.0.113.7");
//! tx.set_request("GET", "/products?id=1%27%20OR%20%271%27%3D%271", "HTTP/1.1");
//! tx.add_header("Host", "shop.example");
//! let verdict = tx.evaluate(Phase::RequestBody, &mut scratch);
//! assert_eq!(verdict.action(), Action::Block);
//! ```
#![deny(unsafe_code)] // src/ffi/mod.rs, the C ABI, is the one module allowed `unsafe`
#![deny(missing_docs)]

mod compile;
pub mod dsl;
mod eval;
pub mod ffi;
#[cfg(fuzzing)]
#[doc(hidden)]
#[forbid(unsafe_code)]
pub mod fuzzing {
    //! Crate-private entry points for `fuzz/` (only with `--cfg fuzzing`, which
    //! cargo-fuzz sets): the body parsers and the TOML config reader.
    pub use crate::request::fuzzing::{Parsed, parse_json, parse_multipart, parse_urlencoded};

    /// Parses a TOML engine config held in memory (`name` is its name in errors).
    pub fn config_from_toml(name: &str, text: &str) -> Result<crate::Config, crate::RuleError> {
        crate::Config::from_toml(&crate::dsl::SourceFile::new(name, text)).map(|(config, _)| config)
    }
}
mod request;
mod seclang;
pub mod transform;

pub use crate::compile::{Config, GroupInfo, LimitAction, Mode, RuleInfo, Ruleset, RulesetBuilder, SecStats, Summary};
pub use crate::dsl::ast::Severity;
pub use crate::dsl::{RuleError, RuleErrors};
#[doc(hidden)]
pub use crate::eval::sec::verify_prefilter as seclang_verify_prefilter;
pub use crate::eval::{Action, Match, Phase, Scratch, Stats, Verdict};
pub use crate::request::{Limit, Transaction};
pub use crate::seclang::Warning;
pub use crate::transform::{Transform, base64_decode_strict};
