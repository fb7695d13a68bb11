//! The body parsers as fuzz targets see them (only built with `--cfg
//! fuzzing`, which cargo-fuzz sets): each parses into fresh [`Fields`] and
//! returns owned pairs, so `fuzz/` can check them without the crate-private
//! types.
#![forbid(unsafe_code)]

use super::fields::{Fields, Origin, ParseLimits, ParseStatus};
use super::{json, multipart, urlencoded};

/// What a body parser produced.
#[derive(Clone, Debug, Default)]
pub struct Parsed {
    /// `(origin, name, value)` of every pair, in order; origin is the
    /// `Origin` number (0 query ... 7 cookie).
    pub pairs: Vec<(u8, Vec<u8>, Vec<u8>)>,
    /// The parse error, if any: message and byte offset.
    pub error: Option<(&'static str, usize)>,
    /// A limit stopped the parser.
    pub limit_exceeded: bool,
    /// A percent-escape was invalid.
    pub invalid_encoding: bool,
    /// Argument pairs accepted (what `max_args` counts).
    pub arg_count: usize,
    /// Bytes in the arena after parsing (memory the request holds).
    pub arena_bytes: usize,
}

fn collect(fields: &Fields, status: ParseStatus) -> Parsed {
    Parsed {
        pairs: fields
            .pairs
            .iter()
            .map(|p| (p.origin as u8, fields.get(p.name).to_vec(), fields.get(p.value).to_vec()))
            .collect(),
        error: status.error.map(|e| (e.message, e.offset)),
        limit_exceeded: status.limit_exceeded,
        invalid_encoding: status.invalid_encoding,
        arg_count: fields.arg_count,
        arena_bytes: fields.bytes.len(),
    }
}

/// `application/x-www-form-urlencoded` (or a query string: `query` true).
pub fn parse_urlencoded(input: &[u8], query: bool, max_args: usize) -> Parsed {
    let mut fields = Fields { max_args, ..Fields::default() };
    let origin = if query { Origin::Query } else { Origin::Form };
    let status = urlencoded::parse_urlencoded(input, origin, &mut fields);
    collect(&fields, status)
}

/// A JSON body.
pub fn parse_json(input: &[u8], max_depth: usize, max_args: usize) -> Parsed {
    let mut fields = Fields { max_args, ..Fields::default() };
    let limits = ParseLimits { max_json_depth: max_depth, max_parts: 256 };
    let status = json::parse_json(input, &limits, &mut fields);
    collect(&fields, status)
}

/// A multipart body with its `Content-Type` header value.
pub fn parse_multipart(content_type: &[u8], body: &[u8], max_parts: usize, max_args: usize) -> Parsed {
    let mut fields = Fields { max_args, ..Fields::default() };
    let limits = ParseLimits { max_json_depth: 64, max_parts };
    let status = match multipart::boundary_from_content_type(content_type) {
        Ok(boundary) => multipart::parse_multipart(body, boundary, &limits, &mut fields),
        Err(e) => ParseStatus { error: Some(e), ..ParseStatus::default() },
    };
    collect(&fields, status)
}
