//! Helpers for structured header values: media types and `; name=value`
//! parameters (`Content-Type`, `Content-Disposition`).
//!
//! Reference:
//! - [`content_type_essence`]: `" Application/JSON ; charset=utf-8"` gives
//!   `"Application/JSON"`; compare it with `eq_ignore_ascii_case`.
//! - [`header_param`]: `header_param(b"multipart/form-data; boundary=\"a b\"", b"boundary")`
//!   gives `a b`. The first parameter of that name wins; quoted values are returned
//!   between their quotes with backslash escapes left in place (nothing is copied).
//! - [`body_kind`]: which body parser a `Content-Type` selects.
//! - [`params`]: the parameter iterator the multipart parser uses to see what
//!   [`header_param`] forgives (duplicates, stray quotes, whitespace around `=`).
//!
//! Edge cases: an empty value has an empty essence and no parameters; a quoted
//! value without its closing quote runs to the end and is marked malformed; a `;`
//! inside quotes does not end a parameter.

/// Which parser reads a request body, chosen from its `Content-Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyKind {
    /// `application/x-www-form-urlencoded`.
    UrlEncoded,
    /// `application/json` and every `application/*+json` (`json-patch+json`,
    /// `merge-patch+json`, `vnd.api+json`, ...).
    Json,
    /// `multipart/form-data` (other multipart subtypes are `Other`).
    Multipart,
    /// `text/xml`, `application/xml` and every `*/*+xml`.
    Xml,
    /// Anything else, including a missing or empty `Content-Type`.
    Other,
}

/// True for the optional whitespace of header values (space and tab).
pub(crate) fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// `bytes` without leading and trailing spaces and tabs.
pub(crate) fn trim_ows(mut bytes: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = bytes {
        if !is_ows(*first) {
            break;
        }
        bytes = rest;
    }
    while let [rest @ .., last] = bytes {
        if !is_ows(*last) {
            break;
        }
        bytes = rest;
    }
    bytes
}

/// The media type of a `Content-Type` value: the bytes before the first `;`,
/// without surrounding spaces and tabs. Compare it case-insensitively.
pub(crate) fn content_type_essence(value: &[u8]) -> &[u8] {
    let end = value.iter().position(|&b| b == b';').unwrap_or(value.len());
    trim_ows(&value[..end])
}

/// The value of the `; name=value` parameter called `name` (ASCII
/// case-insensitive) in a header value, if present.
///
/// The first parameter of that name wins. A quoted value is returned without its
/// quotes and with its backslash escapes as sent; an unquoted one is trimmed.
/// A parameter without `=` has the empty value.
#[allow(dead_code, reason = "helper for the transaction (`charset`, ...); no caller yet")]
pub(crate) fn header_param<'a>(value: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    params(value).find(|p| p.name.eq_ignore_ascii_case(name)).map(|p| p.value)
}

/// The body parser a `Content-Type` value selects.
pub(crate) fn body_kind(content_type: &[u8]) -> BodyKind {
    let essence = content_type_essence(content_type);
    let Some(slash) = essence.iter().position(|&b| b == b'/') else {
        return BodyKind::Other;
    };
    let (top, sub) = (&essence[..slash], &essence[slash + 1..]);
    let ends_with =
        |suffix: &[u8]| sub.len() >= suffix.len() && sub[sub.len() - suffix.len()..].eq_ignore_ascii_case(suffix);
    if top.eq_ignore_ascii_case(b"application") {
        if sub.eq_ignore_ascii_case(b"x-www-form-urlencoded") {
            return BodyKind::UrlEncoded;
        }
        if sub.eq_ignore_ascii_case(b"json") || ends_with(b"+json") {
            return BodyKind::Json;
        }
        if sub.eq_ignore_ascii_case(b"xml") {
            return BodyKind::Xml;
        }
    }
    if top.eq_ignore_ascii_case(b"multipart") && sub.eq_ignore_ascii_case(b"form-data") {
        return BodyKind::Multipart;
    }
    if (top.eq_ignore_ascii_case(b"text") && sub.eq_ignore_ascii_case(b"xml")) || ends_with(b"+xml") {
        return BodyKind::Xml;
    }
    BodyKind::Other
}

/// One `name=value` parameter of a header value, as [`params`] finds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Param<'a> {
    /// The name, trimmed; may be empty (`; =x`).
    pub(crate) name: &'a [u8],
    /// The value: trimmed if unquoted, between the quotes (escapes as sent) if
    /// quoted; empty when there is no `=`.
    pub(crate) value: &'a [u8],
    /// True when the value was in double quotes.
    pub(crate) quoted: bool,
    /// True when the parameter had an `=`.
    pub(crate) has_equals: bool,
    /// True when a space or tab touched the `=` (`name =x`, `name= x`).
    pub(crate) space_around_equals: bool,
    /// False for a quoted value without its closing quote, or with bytes other
    /// than whitespace between the closing quote and the next `;`.
    pub(crate) well_formed: bool,
    /// Offset of the name in the header value.
    pub(crate) name_offset: usize,
    /// Offset of the value (after the opening quote if quoted) in the header value.
    pub(crate) value_offset: usize,
}

/// Iterator over the parameters of a header value; see [`params`].
#[derive(Clone, Debug)]
pub(crate) struct Params<'a> {
    input: &'a [u8],
    pos: usize,
}

/// The parameters after the first `;` of a header value, in order, duplicates
/// included. Empty parameters (`;;`) are skipped.
pub(crate) fn params(value: &[u8]) -> Params<'_> {
    let pos = value.iter().position(|&b| b == b';').unwrap_or(value.len());
    Params { input: value, pos }
}

impl<'a> Iterator for Params<'a> {
    type Item = Param<'a>;

    fn next(&mut self) -> Option<Param<'a>> {
        let input = self.input;
        let at = |i: usize| input.get(i).copied();
        let mut i = self.pos;
        while at(i).is_some_and(|b| b == b';' || is_ows(b)) {
            i += 1;
        }
        if i >= input.len() {
            self.pos = input.len();
            return None;
        }
        let name_start = i;
        while at(i).is_some_and(|b| b != b'=' && b != b';') {
            i += 1;
        }
        let raw_name = &input[name_start..i];
        let mut param = Param {
            name: trim_ows(raw_name),
            value: &[],
            quoted: false,
            has_equals: false,
            space_around_equals: false,
            well_formed: true,
            name_offset: name_start,
            value_offset: i,
        };
        if at(i) == Some(b'=') {
            param.has_equals = true;
            param.space_around_equals = raw_name.last().is_some_and(|&b| is_ows(b));
            i += 1;
            let after_equals = i;
            while at(i).is_some_and(is_ows) {
                i += 1;
            }
            param.space_around_equals |= i > after_equals;
            if at(i) == Some(b'"') {
                param.quoted = true;
                i += 1;
                let start = i;
                let mut closed = false;
                while let Some(b) = at(i) {
                    match b {
                        b'\\' => i += 2,
                        b'"' => {
                            closed = true;
                            break;
                        }
                        _ => i += 1,
                    }
                }
                let end = i.min(input.len());
                param.value = &input[start..end];
                param.value_offset = start;
                if closed {
                    i += 1;
                    let rest = i;
                    while at(i).is_some_and(|b| b != b';') {
                        i += 1;
                    }
                    param.well_formed = trim_ows(&input[rest..i]).is_empty();
                } else {
                    param.well_formed = false;
                    i = input.len();
                }
            } else {
                param.value_offset = i;
                let start = i;
                while at(i).is_some_and(|b| b != b';') {
                    i += 1;
                }
                param.value = trim_ows(&input[start..i]);
            }
        }
        self.pos = i;
        Some(param)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    #[test]
    fn essence_is_the_trimmed_media_type() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"application/json", b"application/json"),
            (b" Application/JSON ; charset=utf-8", b"Application/JSON"),
            (b"text/plain;", b"text/plain"),
            (b"\tmultipart/form-data;boundary=x", b"multipart/form-data"),
            (b"", b""),
            (b";a=b", b""),
        ];
        for &(input, want) in cases {
            assert_eq!(content_type_essence(input), want, "{:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn params_are_found_quoted_or_not() {
        // (header value, parameter name, value found)
        type Case<'a> = (&'a [u8], &'a [u8], Option<&'a [u8]>);
        let cases: &[Case<'_>] = &[
            (b"multipart/form-data; boundary=abc", b"boundary", Some(b"abc")),
            (b"multipart/form-data; BOUNDARY=abc", b"boundary", Some(b"abc")),
            (b"multipart/form-data; boundary=\"a b;c\"", b"boundary", Some(b"a b;c")),
            (b"text/plain; charset=utf-8 ; format=flowed", b"format", Some(b"flowed")),
            (b"text/plain; charset=utf-8 ; format=flowed", b"charset", Some(b"utf-8")),
            (b"form-data; name=\"a\\\"b\"; filename=x", b"name", Some(b"a\\\"b")),
            (b"form-data; name=\"a\\\"b\"; filename=x", b"filename", Some(b"x")),
            (b"form-data; filename*=UTF-8''x.txt", b"filename", None),
            (b"form-data; filename*=UTF-8''x.txt", b"filename*", Some(b"UTF-8''x.txt")),
            (b"a/b; flag; x=1", b"flag", Some(b"")),
            (b"a/b; x=1; x=2", b"x", Some(b"1")),
            (b"a/b; x=\"unterminated", b"x", Some(b"unterminated")),
            (b"a/b; x=\"ends in backslash\\", b"x", Some(b"ends in backslash\\")),
            (b"a/b", b"x", None),
            (b"a/b; boundary=1", b"", None),
        ];
        for &(input, name, want) in cases {
            assert_eq!(header_param(input, name), want, "{:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn params_report_what_header_param_forgives() {
        let all: Vec<Param<'_>> = params(b"form-data; name =x; b=\"q\"junk; c=\"open").collect();
        assert_eq!(all.len(), 3);
        assert!(all[0].space_around_equals && all[0].well_formed);
        assert_eq!((all[1].value, all[1].quoted, all[1].well_formed), (&b"q"[..], true, false));
        assert_eq!((all[2].value, all[2].well_formed), (&b"open"[..], false));
        assert_eq!(all[2].value_offset, 34);
        assert_eq!(params(b"a/b;;; ;").count(), 0);
    }

    #[test]
    fn body_kinds() {
        use BodyKind::*;
        let cases: &[(&[u8], BodyKind)] = &[
            (b"application/x-www-form-urlencoded", UrlEncoded),
            (b"application/x-www-form-urlencoded; charset=UTF-8", UrlEncoded),
            (b"application/json", Json),
            (b"Application/JSON; charset=utf-8", Json),
            (b"application/json-patch+json", Json),
            (b"application/merge-patch+json", Json),
            (b"application/vnd.api+json", Json),
            (b"text/json", Other),
            (b"multipart/form-data; boundary=x", Multipart),
            (b"multipart/mixed; boundary=x", Other),
            (b"text/xml", Xml),
            (b"application/xml", Xml),
            (b"application/soap+xml", Xml),
            (b"image/svg+xml", Xml),
            (b"text/plain", Other),
            (b"", Other),
            (b"json", Other),
        ];
        for &(input, want) in cases {
            assert_eq!(body_kind(input), want, "{:?}", String::from_utf8_lossy(input));
        }
    }

    proptest! {
        #[test]
        fn params_never_panic_and_stay_inside(input in vec(any::<u8>(), 0..200)) {
            let base = input.as_ptr() as usize;
            for p in params(&input) {
                for part in [p.name, p.value] {
                    let start = part.as_ptr() as usize;
                    let inside = start >= base && start + part.len() <= base + input.len();
                    prop_assert!(part.is_empty() || inside);
                }
                prop_assert!(p.name_offset <= input.len() && p.value_offset <= input.len());
            }
            let _ = body_kind(&input);
            let _ = header_param(&input, b"boundary");
        }
    }
}
