//! XML bodies, read for SecLang's two XPath targets the OWASP CRS uses:
//! `XML:/*` (the root element's text content: every text and CDATA node
//! below it, concatenated, as libxml2's `xmlNodeGetContent` gives it) and
//! `XML://@*` (every attribute value). Both become [`Origin::Xml`] pairs whose
//! name is that XPath (`/*` once, `//@*` per attribute), so a rule's target
//! `XML:/*` is a key selector like any other.
//!
//! Reference:
//! - Markup is read, not validated: the prolog (`<?...?>`), comments,
//!   `<!DOCTYPE ...>` (an internal subset in `[...]` included) and processing
//!   instructions are skipped; CDATA sections are text as written.
//! - The predefined entities (`&lt; &gt; &amp; &quot; &apos;`) and character
//!   references (`&#60;`, `&#x3c;`) are decoded in text and attribute values;
//!   others are kept as written (no DTD is read, so no external entity ever is).
//! - Errors (reported, what was read is kept): a `<` that starts no markup, an
//!   unclosed tag, comment or CDATA section, an end tag without a start tag,
//!   elements left open at the end, text or a second root outside the root.
//! - Limits: at most `max_pairs` attribute values are kept; more set
//!   `limit_exceeded`.

use super::fields::{Fields, Origin, ParseError, ParseStatus};

/// The pair name of the root element's text content.
pub(crate) const CONTENT: &[u8] = b"/*";
/// The pair name of every attribute value.
pub(crate) const ATTRIBUTES: &[u8] = b"//@*";

fn error(status: &mut ParseStatus, message: &'static str, offset: usize) {
    if status.error.is_none() {
        status.error = Some(ParseError { message, offset });
    }
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    memchr::memmem::find(hay.get(from..)?, needle).map(|p| p + from)
}

/// Appends `text` to `out`, decoding the predefined entities and character
/// references.
fn decode_into(text: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < text.len() {
        let Some(amp) = memchr::memchr(b'&', &text[i..]) else {
            out.extend_from_slice(&text[i..]);
            return;
        };
        out.extend_from_slice(&text[i..i + amp]);
        i += amp;
        let rest = &text[i..];
        let end = rest.iter().take(12).position(|&b| b == b';');
        let decoded = end.and_then(|e| {
            let name = &rest[1..e];
            let c = match name {
                b"lt" => '<',
                b"gt" => '>',
                b"amp" => '&',
                b"quot" => '"',
                b"apos" => '\'',
                _ => {
                    let num = name.strip_prefix(b"#")?;
                    let (digits, radix) = match num.strip_prefix(b"x").or_else(|| num.strip_prefix(b"X")) {
                        Some(h) => (h, 16),
                        None => (num, 10),
                    };
                    let s = std::str::from_utf8(digits).ok()?;
                    char::from_u32(u32::from_str_radix(s, radix).ok()?)?
                }
            };
            Some((c, e + 1))
        });
        match decoded {
            Some((c, len)) => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                i += len;
            }
            None => {
                out.push(b'&');
                i += 1;
            }
        }
    }
}

/// Parses an XML body into [`Origin::Xml`] pairs.
pub(crate) fn parse_xml(input: &[u8], max_pairs: usize, fields: &mut Fields) -> ParseStatus {
    let mut status = ParseStatus::default();
    let mut content = std::mem::take(&mut fields.work);
    content.clear();
    let mut depth: usize = 0;
    let mut roots = 0usize;
    let mut pairs = 0usize;
    let mut i = 0;
    let n = input.len();
    while i < n {
        let lt = memchr::memchr(b'<', &input[i..]).map_or(n, |p| p + i);
        let text = &input[i..lt];
        if depth > 0 {
            decode_into(text, &mut content);
        } else if !text.iter().all(u8::is_ascii_whitespace) {
            error(&mut status, "text outside the root element", i);
        }
        if lt >= n {
            break;
        }
        let rest = &input[lt..];
        if rest.starts_with(b"<?") {
            match find(input, b"?>", lt + 2) {
                Some(e) => i = e + 2,
                None => {
                    error(&mut status, "unclosed processing instruction", lt);
                    break;
                }
            }
        } else if rest.starts_with(b"<!--") {
            match find(input, b"-->", lt + 4) {
                Some(e) => i = e + 3,
                None => {
                    error(&mut status, "unclosed comment", lt);
                    break;
                }
            }
        } else if rest.starts_with(b"<![CDATA[") {
            match find(input, b"]]>", lt + 9) {
                Some(e) => {
                    if depth > 0 {
                        content.extend_from_slice(&input[lt + 9..e]);
                    }
                    i = e + 3;
                }
                None => {
                    error(&mut status, "unclosed CDATA section", lt);
                    break;
                }
            }
        } else if rest.starts_with(b"<!") {
            // A declaration; an internal subset in brackets may hold `>`.
            let mut j = lt + 2;
            let mut brackets = 0usize;
            while j < n {
                match input[j] {
                    b'[' => brackets += 1,
                    b']' => brackets = brackets.saturating_sub(1),
                    b'>' if brackets == 0 => break,
                    _ => {}
                }
                j += 1;
            }
            if j >= n {
                error(&mut status, "unclosed declaration", lt);
                break;
            }
            i = j + 1;
        } else if rest.starts_with(b"</") {
            match memchr::memchr(b'>', &input[lt..]) {
                Some(e) => {
                    if depth == 0 {
                        error(&mut status, "end tag without a start tag", lt);
                    }
                    depth = depth.saturating_sub(1);
                    i = lt + e + 1;
                }
                None => {
                    error(&mut status, "unclosed end tag", lt);
                    break;
                }
            }
        } else {
            // A start tag: name, attributes, `>` or `/>`.
            let mut j = lt + 1;
            let name_start = j;
            while j < n && !input[j].is_ascii_whitespace() && !matches!(input[j], b'>' | b'/') {
                j += 1;
            }
            if j == name_start {
                error(&mut status, "`<` starts no tag", lt);
                i = lt + 1;
                continue;
            }
            let mut closed = false;
            let mut empty = false;
            while j < n {
                while j < n && input[j].is_ascii_whitespace() {
                    j += 1;
                }
                if j >= n {
                    break;
                }
                match input[j] {
                    b'>' => {
                        closed = true;
                        j += 1;
                        break;
                    }
                    b'/' => {
                        if input.get(j + 1) == Some(&b'>') {
                            closed = true;
                            empty = true;
                            j += 2;
                            break;
                        }
                        j += 1;
                    }
                    _ => {
                        // name = "value" or name = 'value'
                        while j < n && !input[j].is_ascii_whitespace() && !matches!(input[j], b'=' | b'>' | b'/') {
                            j += 1;
                        }
                        while j < n && input[j].is_ascii_whitespace() {
                            j += 1;
                        }
                        if input.get(j) != Some(&b'=') {
                            continue;
                        }
                        j += 1;
                        while j < n && input[j].is_ascii_whitespace() {
                            j += 1;
                        }
                        let Some(&quote) = input.get(j).filter(|q| matches!(q, b'"' | b'\'')) else {
                            error(&mut status, "attribute value without quotes", j);
                            continue;
                        };
                        let Some(end) = memchr::memchr(quote, &input[j + 1..]).map(|e| e + j + 1) else {
                            error(&mut status, "unclosed attribute value", j);
                            j = n;
                            break;
                        };
                        if pairs < max_pairs {
                            let name = fields.push_bytes(ATTRIBUTES);
                            let start = fields.mark();
                            let value = &input[j + 1..end];
                            let mut decoded = std::mem::take(&mut fields.bytes);
                            decode_into(value, &mut decoded);
                            fields.bytes = decoded;
                            let value = fields.range_from(start);
                            fields.push_pair(Origin::Xml, name, value);
                            pairs += 1;
                        } else {
                            status.limit_exceeded = true;
                        }
                        j = end + 1;
                    }
                }
            }
            if !closed {
                error(&mut status, "unclosed start tag", lt);
                break;
            }
            if depth == 0 {
                roots += 1;
                if roots > 1 {
                    error(&mut status, "more than one root element", lt);
                }
            }
            if !empty {
                depth += 1;
            }
            i = j;
        }
    }
    if depth > 0 {
        error(&mut status, "elements left open at the end of the body", n);
    }
    if roots > 0 {
        let name = fields.push_bytes(CONTENT);
        let value = fields.push_bytes(&content);
        fields.push_pair(Origin::Xml, name, value);
    } else {
        error(&mut status, "no root element", 0);
    }
    fields.work = content;
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &str) -> (Vec<(String, String)>, Option<&'static str>) {
        let mut f = Fields { max_args: 100, ..Fields::default() };
        let status = parse_xml(input.as_bytes(), 100, &mut f);
        let pairs = f
            .pairs
            .iter()
            .map(|p| {
                (
                    String::from_utf8_lossy(f.get(p.name)).into_owned(),
                    String::from_utf8_lossy(f.get(p.value)).into_owned(),
                )
            })
            .collect();
        (pairs, status.error.map(|e| e.message))
    }

    #[test]
    fn content_and_attributes() {
        let (pairs, err) = parse(
            "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x \"y\">]><root a=\"&lt;b&gt;\"><x k='1'>hi &amp; <![CDATA[<raw>]]></x><!-- c -->there</root>",
        );
        assert_eq!(err, None);
        assert_eq!(
            pairs,
            [
                ("//@*".to_owned(), "<b>".to_owned()),
                ("//@*".to_owned(), "1".to_owned()),
                ("/*".to_owned(), "hi & <raw>there".to_owned()),
            ]
        );
    }

    #[test]
    fn errors_keep_what_was_read() {
        let (pairs, err) = parse("<root><a>text</a>");
        assert_eq!(err, Some("elements left open at the end of the body"));
        assert_eq!(pairs, [("/*".to_owned(), "text".to_owned())]);
        assert_eq!(parse("not xml").1, Some("text outside the root element"));
        assert_eq!(parse("<a><b x=\"1></a>").1, Some("unclosed attribute value"));
    }

    #[test]
    fn character_references() {
        let (pairs, _) = parse("<r>&#60;&#x3c;&unknown;&#xZZ;</r>");
        assert_eq!(pairs[0].1, "<<&unknown;&#xZZ;");
    }
}
