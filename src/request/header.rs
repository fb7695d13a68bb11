//! TEMPORARY stub.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyKind { UrlEncoded, Json, Multipart, Xml, Other }
pub(crate) fn content_type_essence(value: &[u8]) -> &[u8] { value.split(|&b| b == b';').next().unwrap_or(b"").trim_ascii() }
pub(crate) fn header_param<'a>(value: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    for p in value.split(|&b| b == b';').skip(1) { let p = p.trim_ascii(); if let Some(i) = p.iter().position(|&b| b == b'=') { if p[..i].trim_ascii().eq_ignore_ascii_case(name) { let v = p[i+1..].trim_ascii(); return Some(v.strip_prefix(b"\"").and_then(|v| v.strip_suffix(b"\"")).unwrap_or(v)); } } }
    None
}
pub(crate) fn body_kind(ct: &[u8]) -> BodyKind {
    let e = content_type_essence(ct).to_ascii_lowercase();
    if e == b"application/x-www-form-urlencoded" { BodyKind::UrlEncoded } else if e == b"application/json" || e.ends_with(b"+json") { BodyKind::Json } else if e.starts_with(b"multipart/") { BodyKind::Multipart } else if e.ends_with(b"xml") { BodyKind::Xml } else { BodyKind::Other }
}
