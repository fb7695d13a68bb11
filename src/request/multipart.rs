//! TEMPORARY stub.
use super::fields::{Fields, ParseError, ParseLimits, ParseStatus};
pub(crate) fn boundary_from_content_type(ct: &[u8]) -> Result<&[u8], ParseError> {
    super::header::header_param(ct, b"boundary").ok_or(ParseError { message: "missing boundary", offset: 0 })
}
pub(crate) fn parse_multipart(_body: &[u8], _boundary: &[u8], _limits: &ParseLimits, _fields: &mut Fields) -> ParseStatus { ParseStatus::default() }
