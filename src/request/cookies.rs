//! TEMPORARY stub.
use super::fields::{Fields, Origin};
pub(crate) fn parse_cookies(value: &[u8], fields: &mut Fields) {
    for part in value.split(|&b| b == b';') {
        let part = part.trim_ascii(); if part.is_empty() { continue; }
        let (n, v) = match part.iter().position(|&b| b == b'=') { Some(i) => (&part[..i], &part[i + 1..]), None => (part, &b""[..]) };
        let n = fields.push_bytes(n.trim_ascii()); let v = fields.push_bytes(v.trim_ascii());
        fields.push_pair(Origin::Cookie, n, v);
    }
}
