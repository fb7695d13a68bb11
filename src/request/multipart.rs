//! `multipart/form-data` (RFC 7578 over RFC 2046) parsing into
//! [`Origin::Multipart`], [`Origin::File`] and [`Origin::PartHeader`] pairs.
//!
//! Reference:
//! - [`boundary_from_content_type`] takes the `boundary` parameter of the
//!   `Content-Type` value: name case-insensitive, value quoted or a token, 1 to 70
//!   characters from RFC 2046's `bchars` (a space only inside quotes, not last).
//!   Missing, empty, too long, duplicate, badly quoted, whitespace around its `=`
//!   (`boundary = x`, which servers read differently), or other characters
//!   (including `\` and `"`) are errors.
//! - [`parse_multipart`]: a delimiter is a line that starts with `--boundary`;
//!   the closing one is `--boundary--`. Lines end with CRLF; a bare LF is accepted
//!   the same way and not reported. The CRLF before a delimiter belongs to it.
//!   Spaces or tabs after a boundary are accepted (RFC 2046 transport padding) but
//!   reported. A line with whitespace before the boundary or other bytes after
//!   it (` --boundary`, `--boundaryX`) is not a delimiter and is reported (RFC
//!   2046 forbids both in content; some servers read them as delimiters). The
//!   preamble and the epilogue are ignored.
//! - Each part's header lines become [`Origin::PartHeader`] pairs, name and value
//!   trimmed; a folded line is joined to its header with one space (and
//!   reported). `Content-Disposition: form-data` gives the part's `name` and an
//!   optional `filename` (quoted with `\"` and `\\` escapes, other backslashes kept
//!   as sent, as old browsers send Windows paths; or a token) and `filename*`
//!   (RFC 5987 `charset'lang'percent-encoded`, percent-decoded, charset not
//!   converted).
//! - A part with a file name gives [`Origin::File`] (field name, file name) and its
//!   content is not copied; with both `filename` and `filename*` it gives one pair
//!   for each, so rules see both names. Any other part gives [`Origin::Multipart`]
//!   (field name, content). Content is copied as sent: a part's
//!   `Content-Transfer-Encoding` (deprecated by RFC 7578) is not decoded.
//!
//! Errors (the first is reported, parsing goes on so later parts are still seen;
//! offsets are in the body): no opening boundary, a missing closing boundary (the
//! last part is still reported), a part without headers or without the blank line
//! after them, a missing `Content-Disposition` or `name` (the part is reported with
//! the empty name), a header line without `:` (kept as a pair with the line as its
//! name and the empty value), and the evasions ModSecurity's
//! `MULTIPART_STRICT_ERROR` covers that apply here: a quote in an unquoted
//! parameter or a single-quoted one, a duplicate `name`/`filename`/`filename*`
//! (the first wins), a duplicate `Content-Disposition`, a parameter without `=` or
//! with bytes after its closing quote, a disposition that is not `form-data`, a
//! folded header, whitespace before or after a boundary, bytes after it. Data
//! after the closing boundary is the epilogue, not an error.
//!
//! Limits: more than [`ParseLimits::max_parts`] parts stops parsing, as does a
//! refused [`Fields::push_arg`]; both set `limit_exceeded`.

use super::fields::{ByteRange, Fields, Origin, ParseError, ParseLimits, ParseStatus};
use super::header::{content_type_essence, is_ows, params, trim_ows};
use super::percent::percent_decode_into;

/// The longest boundary RFC 2046 allows.
pub(crate) const MAX_BOUNDARY_LEN: usize = 70;

/// True for RFC 2046 `bchars` (space included; the caller checks where).
fn is_bchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"'()+_,-./:=? ".contains(&b)
}

/// The `boundary` parameter of a `multipart/form-data` `Content-Type` value.
pub(crate) fn boundary_from_content_type(content_type: &[u8]) -> Result<&[u8], ParseError> {
    let error = |message, offset| Err(ParseError { message, offset });
    let mut found = None;
    for param in params(content_type) {
        if !param.name.eq_ignore_ascii_case(b"boundary") {
            continue;
        }
        if found.is_some() {
            return error("duplicate boundary parameter", param.name_offset);
        }
        found = Some(param);
    }
    let Some(param) = found else {
        return error("missing boundary parameter", content_type.len());
    };
    let value = param.value;
    if param.space_around_equals {
        return error("whitespace around '=' in the boundary parameter", param.value_offset);
    }
    if !param.well_formed {
        return error("malformed quoted boundary", param.value_offset);
    }
    if value.is_empty() {
        return error("empty boundary", param.value_offset);
    }
    if value.len() > MAX_BOUNDARY_LEN {
        return error("boundary longer than 70 characters", param.value_offset);
    }
    if let Some(k) = value.iter().position(|&b| !is_bchar(b) || (b == b' ' && !param.quoted)) {
        return error("invalid character in boundary", param.value_offset + k);
    }
    if value.last() == Some(&b' ') {
        return error("boundary ends with a space", param.value_offset + value.len() - 1);
    }
    Ok(value)
}

/// Records `message` at `offset` unless an earlier error was recorded.
fn set_error(status: &mut ParseStatus, message: &'static str, offset: usize) {
    if status.error.is_none() {
        status.error = Some(ParseError { message, offset });
    }
}

/// A delimiter line: where it starts, where the next line starts, and whether it
/// closes the body.
#[derive(Clone, Copy, Debug)]
struct Delimiter {
    /// Offset of the line's first `-`.
    start: usize,
    /// Offset of the next line (the body's length at its end).
    end: usize,
    /// True for `--boundary--`.
    close: bool,
}

/// The line at `pos` in `text` without its LF or CRLF, and the offset of the
/// next line (`text.len()` at the end).
fn line_at(text: &[u8], pos: usize) -> (&[u8], usize) {
    let rest = text.get(pos..).unwrap_or(&[]);
    let len = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
    let line = &rest[..len];
    (line.strip_suffix(b"\r").unwrap_or(line), (pos + len + 1).min(text.len()))
}

/// The first delimiter line at or after `from` (a line start).
fn next_delimiter(body: &[u8], boundary: &[u8], from: usize, status: &mut ParseStatus) -> Option<Delimiter> {
    let mut start = from;
    while start < body.len() {
        let (line, end) = line_at(body, start);
        if line.first().copied().is_some_and(is_ows)
            && trim_ows(line).strip_prefix(b"--").is_some_and(|l| l.starts_with(boundary))
        {
            // Not a delimiter (RFC 2046), but some servers trim the line first.
            set_error(status, "whitespace before a multipart boundary", start);
        }
        if let Some(after) = line.strip_prefix(b"--").and_then(|l| l.strip_prefix(boundary)) {
            let after_offset = start + 2 + boundary.len();
            match after.strip_prefix(b"--") {
                Some(padding) if trim_ows(padding).is_empty() => {
                    return Some(Delimiter { start, end, close: true });
                }
                Some(_) => {}
                None if after.is_empty() => {
                    return Some(Delimiter { start, end, close: false });
                }
                None if trim_ows(after).is_empty() => {
                    set_error(status, "whitespace after a multipart boundary", after_offset);
                    return Some(Delimiter { start, end, close: false });
                }
                None => {}
            }
            set_error(status, "invalid multipart boundary line", after_offset);
        }
        start = end;
    }
    None
}

/// Parses a `multipart/form-data` body delimited by `boundary` (from
/// [`boundary_from_content_type`]) into pairs; see the module docs.
pub(crate) fn parse_multipart(body: &[u8], boundary: &[u8], limits: &ParseLimits, fields: &mut Fields) -> ParseStatus {
    let mut status = ParseStatus::default();
    if boundary.is_empty() {
        set_error(&mut status, "empty boundary", 0);
        return status;
    }
    let Some(mut delimiter) = next_delimiter(body, boundary, 0, &mut status) else {
        set_error(&mut status, "no opening boundary", 0);
        return status;
    };
    let mut parts = 0;
    while !delimiter.close {
        if parts == limits.max_parts {
            status.limit_exceeded = true;
            break;
        }
        let start = delimiter.end;
        let next = next_delimiter(body, boundary, start, &mut status);
        if next.is_none() && start >= body.len() {
            set_error(&mut status, "missing closing boundary", body.len());
            break;
        }
        parts += 1;
        let end = next.map_or(body.len(), |d| d.start);
        if !parse_part(body, start, end, next.is_some(), fields, &mut status) {
            status.limit_exceeded = true;
            break;
        }
        match next {
            Some(d) => delimiter = d,
            None => {
                set_error(&mut status, "missing closing boundary", body.len());
                break;
            }
        }
    }
    status
}

/// Parses the part in `body[start..end]` (`end` is the next delimiter's start
/// when `terminated`, else the end of the body). Returns false when an argument
/// was refused.
fn parse_part(
    body: &[u8],
    start: usize,
    end: usize,
    terminated: bool,
    fields: &mut Fields,
    status: &mut ParseStatus,
) -> bool {
    let region = body.get(start..end).unwrap_or(&[]);
    let mut pos = 0;
    let mut headers = 0;
    let mut disposition: Option<(ByteRange, usize)> = None;
    let mut content_start = None;
    while pos < region.len() {
        let (line, mut next) = line_at(region, pos);
        if line.is_empty() {
            content_start = Some(next);
            break;
        }
        let offset = start + pos;
        if line.first().copied().is_some_and(is_ows) {
            set_error(status, "folded multipart header line", offset);
        }
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => (trim_ows(&line[..colon]), trim_ows(&line[colon + 1..])),
            None => {
                set_error(status, "multipart header line without ':'", offset);
                (trim_ows(line), &[][..])
            }
        };
        if name.is_empty() {
            set_error(status, "multipart header without a name", offset);
        }
        let name_range = fields.push_bytes(name);
        let value_start = fields.mark();
        fields.bytes.extend_from_slice(value);
        while region.get(next).copied().is_some_and(is_ows) {
            set_error(status, "folded multipart header line", start + next);
            let (continuation, after) = line_at(region, next);
            let continuation = trim_ows(continuation);
            if !continuation.is_empty() {
                if fields.bytes.len() > value_start as usize {
                    fields.bytes.push(b' ');
                }
                fields.bytes.extend_from_slice(continuation);
            }
            next = after;
        }
        let value_range = fields.range_from(value_start);
        fields.push_pair(Origin::PartHeader, name_range, value_range);
        headers += 1;
        if name.eq_ignore_ascii_case(b"content-disposition") {
            if disposition.is_some() {
                set_error(status, "duplicate content-disposition header", offset);
            } else {
                disposition = Some((value_range, offset));
            }
        }
        pos = next;
    }
    if headers == 0 {
        set_error(status, "multipart part without headers", start);
    } else if content_start.is_none() {
        set_error(status, "multipart headers not followed by a blank line", end);
    }
    let content = content_start.map_or(&[][..], |from| {
        let mut to = region.len();
        if terminated && to > 0 && region[to - 1] == b'\n' {
            to -= 1;
            if to > 0 && region[to - 1] == b'\r' {
                to -= 1;
            }
        }
        region.get(from..to).unwrap_or(&[])
    });

    let mut found = Disposition::default();
    match disposition {
        None => set_error(status, "multipart part without content-disposition", start),
        Some((range, offset)) => {
            // The value is copied out of the arena so the arena can grow while
            // it is read; `work` keeps its capacity.
            let mut work = std::mem::take(&mut fields.work);
            work.clear();
            work.extend_from_slice(fields.get(range));
            found = parse_disposition(&work, offset, fields, status);
            fields.work = work;
            if found.name.is_none() {
                set_error(status, "multipart part without a name", offset);
            }
        }
    }
    let name = found.name.unwrap_or(ByteRange::EMPTY);
    if found.filename.is_some() || found.filename_ext.is_some() {
        fields.file_bytes = fields.file_bytes.saturating_add(content.len() as u64);
        for filename in [found.filename, found.filename_ext].into_iter().flatten() {
            if !fields.push_arg(Origin::File, name, filename) {
                return false;
            }
        }
        return true;
    }
    let value = fields.push_bytes(content);
    if !fields.push_arg(Origin::Multipart, name, value) {
        fields.bytes.truncate(value.start as usize);
        return false;
    }
    true
}

/// What a `Content-Disposition` value names, as ranges in the arena.
#[derive(Clone, Copy, Debug, Default)]
struct Disposition {
    /// The `name` parameter, unescaped.
    name: Option<ByteRange>,
    /// The `filename` parameter, unescaped.
    filename: Option<ByteRange>,
    /// The `filename*` parameter, percent-decoded.
    filename_ext: Option<ByteRange>,
}

/// Reads a `Content-Disposition` value (unfolded, found at `offset` in the body),
/// storing the decoded parameters in the arena.
fn parse_disposition(value: &[u8], offset: usize, fields: &mut Fields, status: &mut ParseStatus) -> Disposition {
    let mut found = Disposition::default();
    if !content_type_essence(value).eq_ignore_ascii_case(b"form-data") {
        set_error(status, "content-disposition is not form-data", offset);
    }
    for param in params(value) {
        if !param.has_equals {
            set_error(status, "content-disposition parameter without '='", offset);
            continue;
        }
        if !param.well_formed {
            set_error(status, "malformed quoted content-disposition parameter", offset);
        }
        if !param.quoted && (param.value.contains(&b'"') || param.value.first() == Some(&b'\'')) {
            set_error(status, "invalid quoting in content-disposition parameter", offset);
        }
        let (slot, duplicate) = if param.name.eq_ignore_ascii_case(b"name") {
            (&mut found.name, "duplicate name parameter")
        } else if param.name.eq_ignore_ascii_case(b"filename") {
            (&mut found.filename, "duplicate filename parameter")
        } else if param.name.eq_ignore_ascii_case(b"filename*") {
            (&mut found.filename_ext, "duplicate filename* parameter")
        } else {
            continue;
        };
        if slot.is_some() {
            set_error(status, duplicate, offset);
            continue;
        }
        let start = fields.mark();
        if param.name.len() == b"filename*".len() {
            decode_ext_value(param.value, offset, fields, status);
        } else if param.quoted {
            unescape_quoted(param.value, &mut fields.bytes);
        } else {
            fields.bytes.extend_from_slice(param.value);
        }
        *slot = Some(fields.range_from(start));
    }
    found
}

/// Appends a quoted string's content with `\"` and `\\` unescaped; any other
/// backslash is kept (browsers do not escape Windows paths).
fn unescape_quoted(value: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while let Some(&b) = value.get(i) {
        match (b, value.get(i + 1)) {
            (b'\\', Some(&next @ (b'"' | b'\\'))) => {
                out.push(next);
                i += 2;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
}

/// Appends an RFC 5987 `charset'lang'value` percent-decoded (charset not
/// converted); anything else is appended as sent and reported.
fn decode_ext_value(value: &[u8], offset: usize, fields: &mut Fields, status: &mut ParseStatus) {
    let mut quotes = value.iter().enumerate().filter(|&(_, &b)| b == b'\'').map(|(i, _)| i);
    match (quotes.next(), quotes.next()) {
        (Some(_), Some(second)) => {
            if !percent_decode_into(&value[second + 1..], false, &mut fields.bytes) {
                status.invalid_encoding = true;
            }
        }
        _ => {
            set_error(status, "invalid filename* parameter", offset);
            fields.bytes.extend_from_slice(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    fn fields() -> Fields {
        Fields { max_args: usize::MAX, ..Fields::default() }
    }

    type Triple = (Origin, Vec<u8>, Vec<u8>);

    fn pairs(f: &Fields) -> Vec<Triple> {
        f.pairs.iter().map(|p| (p.origin, f.get(p.name).to_vec(), f.get(p.value).to_vec())).collect()
    }

    /// Pairs without the part headers.
    fn args(f: &Fields) -> Vec<Triple> {
        pairs(f).into_iter().filter(|p| p.0 != Origin::PartHeader).collect()
    }

    fn owned(want: &[(Origin, &str, &str)]) -> Vec<Triple> {
        want.iter().map(|&(o, n, v)| (o, n.as_bytes().to_vec(), v.as_bytes().to_vec())).collect()
    }

    fn parse(body: &str) -> (Fields, ParseStatus) {
        let mut f = fields();
        let status = parse_multipart(body.as_bytes(), b"b", &ParseLimits::default(), &mut f);
        (f, status)
    }

    use Origin::{File, Multipart, PartHeader};

    #[test]
    fn boundaries_from_content_types() {
        // (content type, boundary or (message, offset))
        type Case<'a> = (&'a str, Result<&'a str, (&'static str, usize)>);
        let cases: &[Case<'_>] = &[
            ("multipart/form-data; boundary=abc", Ok("abc")),
            (
                "multipart/form-data; BOUNDARY=----WebKitFormBoundary7MA4YWxkTrZu0gW",
                Ok("----WebKitFormBoundary7MA4YWxkTrZu0gW"),
            ),
            ("multipart/form-data; charset=utf-8; boundary=\"a b:c?\"", Ok("a b:c?")),
            ("multipart/form-data;boundary=\"x;y\";charset=utf-8", Err(("invalid character in boundary", 31))),
            ("multipart/form-data; boundary=a=b", Ok("a=b")),
            (&format!("multipart/form-data; boundary={}", "x".repeat(70)), Ok(&*"x".repeat(70))),
            (
                &format!("multipart/form-data; boundary={}", "x".repeat(71)),
                Err(("boundary longer than 70 characters", 30)),
            ),
            ("multipart/form-data", Err(("missing boundary parameter", 19))),
            ("multipart/form-data; boundary=", Err(("empty boundary", 30))),
            ("multipart/form-data; boundary=\"\"", Err(("empty boundary", 31))),
            ("multipart/form-data; boundary", Err(("empty boundary", 29))),
            ("multipart/form-data; boundary=a; Boundary=b", Err(("duplicate boundary parameter", 33))),
            ("multipart/form-data; boundary =a", Err(("whitespace around '=' in the boundary parameter", 31))),
            ("multipart/form-data; boundary= a", Err(("whitespace around '=' in the boundary parameter", 31))),
            ("multipart/form-data; boundary=\"abc", Err(("malformed quoted boundary", 31))),
            ("multipart/form-data; boundary=\"abc\"x", Err(("malformed quoted boundary", 31))),
            ("multipart/form-data; boundary=a b", Err(("invalid character in boundary", 31))),
            ("multipart/form-data; boundary=a\"b", Err(("invalid character in boundary", 31))),
            ("multipart/form-data; boundary=\"a\\\"b\"", Err(("invalid character in boundary", 32))),
            ("multipart/form-data; boundary=\"ab \"", Err(("boundary ends with a space", 33))),
            ("multipart/form-data; boundary=caf\u{e9}", Err(("invalid character in boundary", 33))),
        ];
        for (input, want) in cases {
            let got = boundary_from_content_type(input.as_bytes());
            let want = want.map(str::as_bytes).map_err(|(message, offset)| ParseError { message, offset });
            assert_eq!(got, want, "{input}");
        }
    }

    #[test]
    fn form_fields_and_files() {
        let body = "preamble\r\n--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nhello\r\n\
            --b\r\ncontent-disposition: form-data; name=\"f\"; filename=\"x;y.php\"\r\n\
            Content-Type : text/plain \r\n\r\n<?php\r\n--b\r\n\
            Content-Disposition: form-data; name=empty\r\n\r\n\r\n--b--\r\nepilogue --b\r\n";
        let (f, status) = parse(body);
        assert_eq!(status, ParseStatus::default());
        assert_eq!(
            pairs(&f),
            owned(&[
                (PartHeader, "Content-Disposition", "form-data; name=\"a\""),
                (Multipart, "a", "hello"),
                (PartHeader, "content-disposition", "form-data; name=\"f\"; filename=\"x;y.php\""),
                (PartHeader, "Content-Type", "text/plain"),
                (File, "f", "x;y.php"),
                (PartHeader, "Content-Disposition", "form-data; name=empty"),
                (Multipart, "empty", ""),
            ])
        );
        assert_eq!(f.arg_count, 3);
    }

    #[test]
    fn quoted_boundary_from_the_header() {
        let content_type = b"multipart/form-data; boundary=\"--=_x y:z\"";
        let boundary = boundary_from_content_type(content_type).unwrap();
        let body = b"----=_x y:z\r\nContent-Disposition: form-data; name=q\r\n\r\n1 or 1=1\r\n----=_x y:z--";
        let mut f = fields();
        let status = parse_multipart(body, boundary, &ParseLimits::default(), &mut f);
        assert_eq!(status, ParseStatus::default());
        assert_eq!(args(&f), owned(&[(Multipart, "q", "1 or 1=1")]));
    }

    #[test]
    fn table() {
        // (body with boundary `b`, arguments, first error (message, offset))
        type Case<'a> = (&'a str, &'a [(Origin, &'a str, &'a str)], Option<(&'a str, usize)>);
        let cd = "Content-Disposition: form-data; name=";
        let cases: &[Case<'_>] = &[
            // Bare LF lines everywhere: accepted, nothing reported.
            ("--b\nContent-Disposition: form-data; name=a\n\nx\ny\n--b--\n", &[(Multipart, "a", "x\ny")], None),
            // Mixed endings; content keeps its inner CRLFs.
            (
                "--b\r\nContent-Disposition: form-data; name=a\n\r\nl1\r\nl2\n--b--",
                &[(Multipart, "a", "l1\r\nl2")],
                None,
            ),
            // Content that looks like a boundary but is not at a line start.
            (
                "--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx--b\r\nb--b\r\n--b--",
                &[(Multipart, "a", "x--b\r\nb--b")],
                None,
            ),
            ("--b--\r\n", &[], None),
            ("--b\r\nContent-Disposition: form-data; name=a\r\n\r\n\r\n--b--  \r\n", &[(Multipart, "a", "")], None),
            // filename* is decoded; both names are reported.
            (
                "--b\r\nContent-Disposition: form-data; name=f; filename=\"a.txt\"; filename*=UTF-8''%E2%82%AC.php\r\n\r\nx\r\n--b--",
                &[(File, "f", "a.txt"), (File, "f", "€.php")],
                None,
            ),
            (
                "--b\r\nContent-Disposition: form-data; name=\"a\\\"b\\\\c\"; filename=\"C:\\dir\\x.txt\"\r\n\r\nx\r\n--b--",
                &[(File, "a\"b\\c", "C:\\dir\\x.txt")],
                None,
            ),
            ("--b\r\nContent-Disposition: form-data; name=f; filename=\"\"\r\n\r\n\r\n--b--", &[(File, "f", "")], None),
            // Errors.
            ("", &[], Some(("no opening boundary", 0))),
            ("no boundary here\r\n-- b\r\n", &[], Some(("no opening boundary", 0))),
            (
                "--b\r\nContent-Disposition: form-data; name=a\r\n\r\nrest",
                &[(Multipart, "a", "rest")],
                Some(("missing closing boundary", 51)),
            ),
            (
                "--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--b\r\n",
                &[(Multipart, "a", "x")],
                Some(("missing closing boundary", 55)),
            ),
            ("--b", &[], Some(("missing closing boundary", 3))),
            ("--b\r\n\r\nx\r\n--b--", &[(Multipart, "", "x")], Some(("multipart part without headers", 5))),
            ("--b\r\n--b--", &[(Multipart, "", "")], Some(("multipart part without headers", 5))),
            (
                "--b\r\nContent-Disposition: form-data; name=a\r\n--b--",
                &[(Multipart, "a", "")],
                Some(("multipart headers not followed by a blank line", 45)),
            ),
            (
                "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--",
                &[(Multipart, "", "x")],
                Some(("multipart part without content-disposition", 5)),
            ),
            (
                "--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--",
                &[(Multipart, "", "x")],
                Some(("multipart part without a name", 5)),
            ),
            (
                "--b\r\nContent-Disposition: form-data; name=a\r\nhello\r\n\r\nx\r\n--b--",
                &[(Multipart, "a", "x")],
                Some(("multipart header line without ':'", 45)),
            ),
            (
                "--b\r\n: v\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--b--",
                &[(Multipart, "a", "x")],
                Some(("multipart header without a name", 5)),
            ),
            (
                "--b\r\nContent-Disposition: form-data; name=a\"b\r\n\r\nx\r\n--b--",
                &[(Multipart, "a\"b", "x")],
                Some(("invalid quoting in content-disposition parameter", 5)),
            ),
            (
                "--b\r\nContent-Disposition: form-data; name='a'\r\n\r\nx\r\n--b--",
                &[(Multipart, "'a'", "x")],
                Some(("invalid quoting in content-disposition parameter", 5)),
            ),
            (
                "--b\r\nContent-Disposition: form-data; name=\"a\"x\r\n\r\nx\r\n--b--",
                &[(Multipart, "a", "x")],
                Some(("malformed quoted content-disposition parameter", 5)),
            ),
            (
                "--b\r\nContent-Disposition: form-data; name=\"a\r\n\r\nx\r\n--b--",
                &[(Multipart, "a", "x")],
                Some(("malformed quoted content-disposition parameter", 5)),
            ),
            (
                "--b\r\nContent-Disposition: form-data; name=a; name=b\r\n\r\nx\r\n--b--",
                &[(Multipart, "a", "x")],
                Some(("duplicate name parameter", 5)),
            ),
            (
                "--b\r\nContent-Disposition: form-data; name=a; filename=x; FILENAME=y\r\n\r\nx\r\n--b--",
                &[(File, "a", "x")],
                Some(("duplicate filename parameter", 5)),
            ),
            (
                "--b\r\nContent-Disposition: form-data; name=a; filename*=x.php\r\n\r\nx\r\n--b--",
                &[(File, "a", "x.php")],
                Some(("invalid filename* parameter", 5)),
            ),
            (
                "--b\r\nContent-Disposition: form-data; name=a; filename\r\n\r\nx\r\n--b--",
                &[(Multipart, "a", "x")],
                Some(("content-disposition parameter without '='", 5)),
            ),
            (
                "--b\r\nContent-Disposition: attachment; name=a\r\n\r\nx\r\n--b--",
                &[(Multipart, "a", "x")],
                Some(("content-disposition is not form-data", 5)),
            ),
            (
                "--b\r\nContent-Disposition: form-data; name=a\r\nContent-Disposition: form-data; name=b\r\n\r\nx\r\n--b--",
                &[(Multipart, "a", "x")],
                Some(("duplicate content-disposition header", 45)),
            ),
            (
                "--b\r\nContent-Disposition: form-data;\r\n name=\"a\"\r\n\r\nx\r\n--b--",
                &[(Multipart, "a", "x")],
                Some(("folded multipart header line", 38)),
            ),
            (
                "--b\r\n Content-Disposition: form-data; name=a\r\n\r\nx\r\n--b--",
                &[(Multipart, "a", "x")],
                Some(("folded multipart header line", 5)),
            ),
            (
                "--b \r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--b--",
                &[(Multipart, "a", "x")],
                Some(("whitespace after a multipart boundary", 3)),
            ),
            (
                "--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--bx\r\ny\r\n--b--",
                &[(Multipart, "a", "x\r\n--bx\r\ny")],
                Some(("invalid multipart boundary line", 53)),
            ),
            (
                "--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--b--x\r\n--b\r\nContent-Disposition: form-data; name=c\r\n\r\ny\r\n--b--",
                &[(Multipart, "a", "x\r\n--b--x"), (Multipart, "c", "y")],
                Some(("invalid multipart boundary line", 53)),
            ),
            (
                "--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n \t--b--\r\n--b--",
                &[(Multipart, "a", "x\r\n \t--b--")],
                Some(("whitespace before a multipart boundary", 50)),
            ),
            (
                "--bb\r\n--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--b--",
                &[(Multipart, "a", "x")],
                Some(("invalid multipart boundary line", 3)),
            ),
            // Later parts are still read after an error.
            (
                "--b\r\nX: 1\r\n\r\nfirst\r\n--b\r\nContent-Disposition: form-data; name=a\r\n\r\nsecond\r\n--b--",
                &[(Multipart, "", "first"), (Multipart, "a", "second")],
                Some(("multipart part without content-disposition", 5)),
            ),
        ];
        for &(body, want, error) in cases {
            let (f, status) = parse(body);
            assert_eq!(args(&f), owned(want), "{body:?}");
            assert_eq!(status.error.map(|e| (e.message, e.offset)), error, "{body:?}");
            assert!(!status.limit_exceeded, "{body:?}");
        }
        let (f, _) = parse(&format!("--b\r\n{cd}a;\r\n\tfilename=x\r\n\r\n--b--"));
        assert_eq!(
            pairs(&f)[0],
            (PartHeader, b"Content-Disposition".to_vec(), b"form-data; name=a; filename=x".to_vec())
        );
        let (f, _) = parse("--b\r\nContent-Disposition: form-data; name=a\r\nno colon here \r\n\r\n\r\n--b--");
        assert_eq!(pairs(&f)[1], (PartHeader, b"no colon here".to_vec(), Vec::new()));
    }

    #[test]
    fn a_huge_number_of_parts() {
        let part = "--b\r\nContent-Disposition: form-data; name=p\r\n\r\nv\r\n";
        let body = format!("{}--b--", part.repeat(100_000));
        let mut f = fields();
        let status = parse_multipart(body.as_bytes(), b"b", &ParseLimits::default(), &mut f);
        assert_eq!(status, ParseStatus { limit_exceeded: true, ..ParseStatus::default() });
        assert_eq!(f.arg_count, 256);
        let mut f = fields();
        let limits = ParseLimits { max_parts: usize::MAX, ..ParseLimits::default() };
        let status = parse_multipart(body.as_bytes(), b"b", &limits, &mut f);
        assert_eq!(status, ParseStatus::default());
        assert_eq!(f.arg_count, 100_000);
        let mut f = Fields { max_args: 3, ..Fields::default() };
        let status = parse_multipart(body.as_bytes(), b"b", &limits, &mut f);
        assert_eq!(status, ParseStatus { limit_exceeded: true, ..ParseStatus::default() });
        assert_eq!(args(&f).len(), 3);
        let status = parse_multipart(body.as_bytes(), b"b", &ParseLimits { max_parts: 0, ..limits }, &mut fields());
        assert!(status.limit_exceeded);
    }

    #[test]
    fn long_lines_in_linear_time() {
        let body = format!(
            "--{}\r\nContent-Disposition: form-data; name=a\r\n\r\n{}\r\n--{}--",
            "b".repeat(70),
            "-".repeat(1 << 20),
            "b".repeat(70)
        );
        let mut f = fields();
        let status = parse_multipart(body.as_bytes(), "b".repeat(70).as_bytes(), &ParseLimits::default(), &mut f);
        assert_eq!(status, ParseStatus::default());
        assert_eq!(f.get(f.pairs[1].value).len(), 1 << 20);
    }

    #[test]
    fn warmed_up_parsing_does_not_grow() {
        let body = b"--b\r\nContent-Disposition: form-data;\r\n name=\"a\"\r\n\r\nhello\r\n--b\r\nContent-Disposition: form-data; name=f; filename*=UTF-8''x%20y\r\n\r\nz\r\n--b--";
        let mut f = fields();
        parse_multipart(body, b"b", &ParseLimits::default(), &mut f);
        let capacities = (f.bytes.capacity(), f.pairs.capacity(), f.work.capacity());
        f.clear();
        parse_multipart(body, b"b", &ParseLimits::default(), &mut f);
        assert_eq!((f.bytes.capacity(), f.pairs.capacity(), f.work.capacity()), capacities);
    }

    fn check_any(body: &[u8], max_parts: usize, max_args: usize) -> Result<(), TestCaseError> {
        let mut f = Fields { max_args, ..Fields::default() };
        let limits = ParseLimits { max_parts, ..ParseLimits::default() };
        let status = parse_multipart(body, b"b", &limits, &mut f);
        prop_assert!(f.arg_count <= max_args);
        if let Some(e) = status.error {
            prop_assert!(e.offset <= body.len());
        }
        for p in &f.pairs {
            for r in [p.name, p.value] {
                prop_assert!(r.start <= r.end && r.end as usize <= f.bytes.len());
            }
        }
        Ok(())
    }

    /// One generated form field: name, content, and file name if it is a file.
    type Field = (String, Vec<u8>, Option<String>);

    proptest! {
        #[test]
        fn any_bytes_never_panic(
            body in vec(any::<u8>(), 0..300),
            max_parts in 0usize..4,
            max_args in 0usize..4,
        ) {
            check_any(&body, max_parts, max_args)?;
        }

        #[test]
        fn any_fragment_soup_never_panics(
            fragments in vec(prop_oneof![
                Just("--b"), Just("--b--"), Just("\r\n"), Just("\n"), Just(" "), Just("--"),
                Just("Content-Disposition: form-data; name=\"x\""), Just("; filename=\"f\""),
                Just("; filename*=u''%41"), Just("Content-Disposition"), Just(": "), Just("\""),
                Just("\\"), Just(";"), Just("x"), Just("name="),
            ], 0..40),
            max_parts in 0usize..4,
            max_args in 0usize..4,
        ) {
            check_any(fragments.concat().as_bytes(), max_parts, max_args)?;
        }

        #[test]
        fn content_types_never_panic(input in vec(any::<u8>(), 0..120)) {
            if let Ok(boundary) = boundary_from_content_type(&input) {
                prop_assert!((1..=MAX_BOUNDARY_LEN).contains(&boundary.len()));
                let at = boundary.as_ptr() as usize - input.as_ptr() as usize;
                prop_assert_eq!(&input[at..at + boundary.len()], boundary);
            }
        }

        #[test]
        fn generated_forms_come_back(
            form in vec((
                "[a-zA-Z0-9_\\[\\]]{0,8}",
                vec(any::<u8>().prop_filter("no dash", |&b| b != b'-'), 0..40),
                proptest::option::of("[^\"\\\\\r\n]{0,8}"),
            ), 0..8),
            boundary in "[a-zA-Z0-9'()+_,./:=?-]{1,70}",
            crlf: bool,
        ) {
            let form: Vec<Field> = form;
            let eol: &[u8] = if crlf { b"\r\n" } else { b"\n" };
            let mut body = b"preamble".to_vec();
            let mut want = Vec::new();
            for (name, content, filename) in &form {
                body.extend_from_slice(eol);
                body.extend_from_slice(format!("--{boundary}").as_bytes());
                body.extend_from_slice(eol);
                let disposition = format!("Content-Disposition: form-data; name=\"{name}\"");
                body.extend_from_slice(disposition.as_bytes());
                if let Some(filename) = filename {
                    body.extend_from_slice(format!("; filename=\"{filename}\"").as_bytes());
                    want.push((File, name.as_bytes().to_vec(), filename.as_bytes().to_vec()));
                } else {
                    // The line break before a delimiter belongs to it, so with bare
                    // LF a final CR of the content goes with it.
                    let kept = if crlf { &content[..] } else { content.strip_suffix(b"\r").unwrap_or(content) };
                    want.push((Multipart, name.as_bytes().to_vec(), kept.to_vec()));
                }
                body.extend_from_slice(eol);
                body.extend_from_slice(eol);
                body.extend_from_slice(content);
            }
            body.extend_from_slice(eol);
            body.extend_from_slice(format!("--{boundary}--").as_bytes());
            body.extend_from_slice(eol);
            let mut f = fields();
            let limits = ParseLimits { max_parts: 8, ..ParseLimits::default() };
            let status = parse_multipart(&body, boundary.as_bytes(), &limits, &mut f);
            prop_assert_eq!(status, ParseStatus::default());
            prop_assert_eq!(args(&f), want);
        }
    }
}
