//! The request model: a [`Transaction`] holds one request's bytes and what
//! was parsed from them (query, cookies, urlencoded, JSON and multipart
//! bodies), all in arenas that are cleared, never freed, between requests.
//!
//! Parsers never fail hard: malformed input sets a flag rules can test
//! (`body_error`, `encoding_error`, `limit_exceeded`) and the request still
//! gets a verdict.
#![forbid(unsafe_code)]

mod cookies;
mod fields;
#[cfg(fuzzing)]
pub(crate) mod fuzzing;
mod header;
mod header_index;
mod json;
mod multipart;
pub(crate) mod percent;
mod source;
mod transaction;
mod urlencoded;
mod xml;

pub(crate) use fields::{ByteRange, Fields, Origin};
pub(crate) use header::{BodyKind, body_kind};
pub(crate) use header_index::{HeaderIndex, NameIds};
pub(crate) use source::{SOURCE_COUNT, Source, SourceSet};
pub(crate) use transaction::RequestData;
pub use transaction::{Limit, Transaction};
