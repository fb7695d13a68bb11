//! TEMPORARY stub.
use super::fields::{Fields, Origin, ParseStatus};
pub(crate) fn parse_urlencoded(input: &[u8], origin: Origin, fields: &mut Fields) -> ParseStatus {
    let mut st = ParseStatus::default();
    for part in input.split(|&b| b == b'&') {
        if part.is_empty() { continue; }
        let (n, v) = match part.iter().position(|&b| b == b'=') { Some(i) => (&part[..i], &part[i + 1..]), None => (part, &b""[..]) };
        let s = fields.mark(); let mut bytes = std::mem::take(&mut fields.bytes);
        st.invalid_encoding |= !super::percent::percent_decode_into(n, true, &mut bytes); fields.bytes = bytes; let nr = fields.range_from(s);
        let s = fields.mark(); let mut bytes = std::mem::take(&mut fields.bytes);
        st.invalid_encoding |= !super::percent::percent_decode_into(v, true, &mut bytes); fields.bytes = bytes; let vr = fields.range_from(s);
        if !fields.push_arg(origin, nr, vr) { st.limit_exceeded = true; break; }
    }
    st
}
