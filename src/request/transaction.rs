//! [`Transaction`]: one request, fed by the host and evaluated by phase.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use super::fields::{ByteRange, Fields, Origin, Pair, ParseError, ParseLimits, ParseStatus};
use super::header::{self, BodyKind};
use super::source::Source;
use super::{cookies, json, multipart, percent, urlencoded, xml};
use crate::compile::{Config, Ruleset};
use crate::eval::{Phase, Results};
use crate::transform::Transform;

/// Which limit a request went over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// `max_body_bytes`.
    BodyBytes,
    /// `max_args`.
    Args,
    /// `max_headers`.
    Headers,
    /// `max_header_bytes`.
    HeaderBytes,
    /// `max_uri_bytes`.
    UriBytes,
    /// `max_json_depth`.
    JsonDepth,
    /// `max_multipart_parts`.
    MultipartParts,
}

impl Limit {
    /// The config key of the limit.
    pub fn name(self) -> &'static str {
        match self {
            Limit::BodyBytes => "max_body_bytes",
            Limit::Args => "max_args",
            Limit::Headers => "max_headers",
            Limit::HeaderBytes => "max_header_bytes",
            Limit::UriBytes => "max_uri_bytes",
            Limit::JsonDepth => "max_json_depth",
            Limit::MultipartParts => "max_multipart_parts",
        }
    }
}

/// Room for a request id.
#[derive(Debug)]
struct RequestId([u8; 64]);

impl Default for RequestId {
    fn default() -> RequestId {
        RequestId([0; 64])
    }
}

/// The request data of a transaction: bytes copied from the host, and what
/// was parsed from them. Cleared, not freed, between requests.
#[derive(Debug, Default)]
pub(crate) struct RequestData {
    pub(crate) fields: Fields,
    /// Scalar values by source index (RequestLine..=UriDecoded); the body is apart.
    scalars: [Option<ByteRange>; 13],
    pub(crate) body: Vec<u8>,
    body_offered: u64,

    /// Headers added (each one a pair of [`Origin::Header`]).
    pub(crate) header_count: usize,
    header_bytes: usize,
    pub(crate) body_error: Option<ParseError>,
    pub(crate) encoding_error: bool,
    /// The first limit the request went over.
    pub(crate) limit: Option<Limit>,
    prepared: [bool; 2],
    /// Pairs already scanned (a later phase scans the rest: late headers too).
    pub(crate) scanned_pairs: usize,
    /// Pairs already looked at for `Cookie` headers.
    cookies_parsed: usize,
    /// `Cookie` headers parsed so far, and the value of the first.
    pub(crate) cookie_headers: u32,
    pub(crate) first_cookie_header: ByteRange,
    /// The pairs of the query string (0), of the single `Cookie` header (1)
    /// and of an urlencoded body (2), when they were counted but not parsed:
    /// the text was known clean (see `Transaction::evaluate`).
    pub(crate) unparsed: [Option<u32>; 3],
    scheme_set: bool,
    /// The scheme and host came from an absolute-form target (a later
    /// `set_request` must forget them).
    scheme_from_uri: bool,
    host_from_uri: bool,
    tmp: Vec<u8>,
    pub(crate) body_kind: Option<BodyKind>,
    /// The body parser a SecLang `ctl:requestBodyProcessor` chose, if any;
    /// it wins over the `Content-Type`.
    pub(crate) body_processor: Option<BodyKind>,
    /// The ruleset has SecLang rules: XML bodies are read for `XML:` targets.
    pub(crate) seclang: bool,
    request_id: RequestId,
    request_id_len: usize,
    pub(crate) started: Option<SystemTime>,
    /// The headers by the names the ruleset's conditions use.
    pub(crate) header_index: super::HeaderIndex,
}

impl RequestData {
    fn clear(&mut self) {
        self.fields.clear();
        self.scalars = [None; 13];
        self.body_processor = None;
        self.body.clear();
        self.body_offered = 0;
        self.header_count = 0;
        self.header_bytes = 0;
        self.body_error = None;
        self.encoding_error = false;
        self.limit = None;
        self.prepared = [false; 2];
        self.scanned_pairs = 0;
        self.cookies_parsed = 0;
        self.cookie_headers = 0;
        self.first_cookie_header = ByteRange::EMPTY;
        self.unparsed = [None; 3];
        self.scheme_set = false;
        self.scheme_from_uri = false;
        self.host_from_uri = false;
        self.tmp.clear();
        self.body_kind = None;
        self.request_id_len = 0;
        self.started = None;
        self.header_index.clear();
    }

    fn over(&mut self, limit: Limit) {
        if self.limit.is_none() {
            self.limit = Some(limit);
        }
    }

    fn set_scalar(&mut self, source: Source, bytes: &[u8]) {
        let range = self.fields.push_bytes(bytes);
        self.scalars[source.index()] = Some(range);
    }

    /// The value of a scalar source, if the request has one.
    pub(crate) fn scalar(&self, source: Source) -> Option<&[u8]> {
        if source == Source::Body {
            return Some(&self.body);
        }
        self.scalars.get(source.index()).copied().flatten().map(|r| self.fields.get(r))
    }

    /// Sets the SecLang views of the target, as ModSecurity v3 computes them:
    /// `REQUEST_URI` is the percent-decoded target (`+` kept) without an
    /// absolute form's scheme and authority; `REQUEST_FILENAME` the decoded
    /// target up to its first `?` (a decoded `%3F` counts); `REQUEST_BASENAME`
    /// what follows its last `/` or `\\`, when something does.
    fn set_seclang_uri(&mut self, uri: &[u8]) {
        let start = self.fields.mark();
        percent::percent_decode_into(uri, false, &mut self.fields.bytes);
        let decoded = self.fields.range_from(start);
        let d = self.fields.get(decoded);
        let query = d.iter().position(|&b| b == b'?').unwrap_or(d.len());
        let filename = ByteRange { start: decoded.start, end: decoded.start + query as u32 };
        self.scalars[Source::Filename.index()] = Some(filename);
        let f = self.fields.get(filename);
        self.scalars[Source::FilenameBase.index()] = match f.iter().rposition(|&b| b == b'/' || b == b'\\') {
            Some(i) if i + 1 < f.len() => Some(ByteRange { start: filename.start + i as u32 + 1, end: filename.end }),
            _ => None,
        };
        let mut uri_start = 0;
        if d.first().is_some_and(|&b| b != b'/')
            && let Some(colon) = d.iter().position(|&b| b == b':')
            && d[colon + 1..].starts_with(b"//")
            && let Some(slash) = d[colon + 3..].iter().position(|&b| b == b'/')
        {
            uri_start = colon + 3 + slash;
        }
        self.scalars[Source::UriDecoded.index()] =
            Some(ByteRange { start: decoded.start + uri_start as u32, end: decoded.end });
    }

    /// The request id: the one the host set, or one made up.
    pub(crate) fn request_id_str(&self) -> &str {
        std::str::from_utf8(&self.request_id.0[..self.request_id_len]).unwrap_or("")
    }

    /// Makes up a request id (16 hex digits) if the host has not set one:
    /// the start time `now` mixed with a process-wide counter.
    fn ensure_request_id(&mut self, now: SystemTime) {
        if self.request_id_len == 0 {
            static COUNTER: AtomicU64 = AtomicU64::new(0);
            let seed = now.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
            let mut z = seed ^ COUNTER.fetch_add(1, Ordering::Relaxed).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            const HEX: &[u8; 16] = b"0123456789abcdef";
            for i in 0..16 {
                self.request_id.0[i] = HEX[((z >> (60 - 4 * i)) & 15) as usize];
            }
            self.request_id_len = 16;
        }
    }

    /// Parses what a phase needs: the query string and cookies before the
    /// headers phase, the body before the body phase. Runs once per phase.
    ///
    /// `known(origin, text)` tells whether the pairs of the query string
    /// (`Origin::Query`), of a request's single `Cookie` header
    /// (`Origin::Cookie`) or of an urlencoded body (`Origin::Form`) need not
    /// be stored: they are then counted (toward the argument limit, with the
    /// encoding flag) but not parsed, and [`RequestData::unparsed`] says how
    /// many there were.
    pub(crate) fn prepare(&mut self, phase: Phase, config: &Config, known: impl FnMut(Origin, &[u8]) -> bool) {
        let i = phase as usize;
        if self.prepared[i] {
            return;
        }
        self.prepared[i] = true;
        self.fields.max_args = config.get_max_args();
        match phase {
            Phase::RequestHeaders => self.prepare_headers(config, known),
            Phase::RequestBody => self.prepare_body(config, known),
        }
    }

    fn prepare_headers(&mut self, config: &Config, mut known: impl FnMut(Origin, &[u8]) -> bool) {
        // A body the request declares larger than the limit is over it
        // before a byte arrives: with `on_limit = "reject"` the headers phase
        // answers, and the host need not read the body (as ModSecurity does
        // with SecRequestBodyLimit). Transfer-Encoding overrides a length
        // (RFC 9112, 6.3); an unparsable length is left to the rules.
        if self.declared_body_len().is_some_and(|n| n > config.get_max_body_bytes() as u64) {
            self.over(Limit::BodyBytes);
        }
        if self.scalars[Source::Host.index()].is_none()
            && let Some(range) = self
                .fields
                .pairs
                .iter()
                .find(|p| p.origin == Origin::Header && self.fields.get(p.name).eq_ignore_ascii_case(b"host"))
                .map(|p| p.value)
        {
            let value = self.fields.get(range).to_vec_in_tmp(&mut self.tmp);
            let host = host_without_port(&self.tmp[..value]);
            let start = self.fields.mark();
            self.fields.bytes.extend(host.iter().map(u8::to_ascii_lowercase));
            self.scalars[Source::Host.index()] = Some(self.fields.range_from(start));
        }
        if !self.scheme_set {
            self.set_scalar(Source::Scheme, b"http");
            self.scheme_set = true;
        }
        if let Some(q) = self.scalars[Source::Query.index()] {
            let query = self.fields.get(q);
            let counted = known(Origin::Query, query).then(|| urlencoded::count_urlencoded(query));
            match counted {
                // Under the limit, as when the text was found clean.
                Some((pairs, invalid)) if pairs <= self.fields.max_args.saturating_sub(self.fields.arg_count) => {
                    self.fields.arg_count += pairs;
                    self.encoding_error |= invalid;
                    self.unparsed[0] = Some(pairs as u32);
                }
                _ => {
                    self.tmp.clear();
                    self.tmp.extend_from_slice(query);
                    let tmp = std::mem::take(&mut self.tmp);
                    let status = urlencoded::parse_urlencoded(&tmp, Origin::Query, &mut self.fields);
                    self.tmp = tmp;
                    self.absorb(status, false);
                }
            }
        }
        // A single Cookie header whose cookies are known clean is counted only.
        let end = self.fields.pairs.len();
        let mut cookie_headers = self.fields.pairs.iter().filter(|&&p| self.is_cookie_header(p));
        if let (Some(&only), None) = (cookie_headers.next(), cookie_headers.next())
            && known(Origin::Cookie, self.fields.get(only.value))
        {
            self.cookie_headers = 1;
            self.first_cookie_header = only.value;
            self.unparsed[1] = Some(cookies::count_cookies(self.fields.get(only.value)) as u32);
            self.cookies_parsed = end;
        }
        self.parse_new_cookies();
    }

    /// Parses the pairs of `origin` that were counted but not parsed
    /// ([`RequestData::unparsed`]) into `into`, as [`RequestData::prepare`]
    /// would have stored them.
    pub(crate) fn parse_unparsed(&self, origin: Origin, into: &mut Fields) {
        into.clear();
        into.max_args = usize::MAX;
        match origin {
            Origin::Query if self.unparsed[0].is_some() => {
                if let Some(query) = self.scalar(Source::Query) {
                    urlencoded::parse_urlencoded(query, Origin::Query, into);
                }
            }
            Origin::Cookie if self.unparsed[1].is_some() => {
                cookies::parse_cookies(self.fields.get(self.first_cookie_header), into);
            }
            Origin::Form if self.unparsed[2].is_some() => {
                urlencoded::parse_urlencoded(&self.body, Origin::Form, into);
            }
            _ => {}
        }
    }

    fn is_cookie_header(&self, p: Pair) -> bool {
        p.origin == Origin::Header && self.fields.get(p.name).eq_ignore_ascii_case(b"cookie")
    }

    /// The largest `Content-Length` the headers declare, when every one is a
    /// plain decimal number and no `Transfer-Encoding` header is present.
    fn declared_body_len(&self) -> Option<u64> {
        let mut declared = None;
        for p in self.fields.pairs.iter().filter(|p| p.origin == Origin::Header) {
            let name = self.fields.get(p.name);
            if name.eq_ignore_ascii_case(b"transfer-encoding") {
                return None;
            }
            if name.eq_ignore_ascii_case(b"content-length") {
                let n = parse_decimal(self.fields.get(p.value).trim_ascii())?;
                declared = Some(declared.map_or(n, |d: u64| d.max(n)));
            }
        }
        declared
    }

    /// Parses the `Cookie` headers added since the last call.
    fn parse_new_cookies(&mut self) {
        let end = self.fields.pairs.len();
        for i in self.cookies_parsed..end {
            let p = self.fields.pairs[i];
            if self.is_cookie_header(p) {
                if self.cookie_headers == 0 {
                    self.first_cookie_header = p.value;
                }
                self.cookie_headers += 1;
                self.tmp.clear();
                self.tmp.extend_from_slice(self.fields.get(p.value));
                let tmp = std::mem::take(&mut self.tmp);
                cookies::parse_cookies(&tmp, &mut self.fields);
                self.tmp = tmp;
            }
        }
        // Cookie pairs appended above are not headers: no need to look at them again.
        self.cookies_parsed = self.fields.pairs.len();
    }

    fn prepare_body(&mut self, config: &Config, mut known: impl FnMut(Origin, &[u8]) -> bool) {
        // Headers added after the headers phase are inspected now: their cookies too.
        self.parse_new_cookies();
        if self.body_offered > config.get_max_body_bytes() as u64 {
            self.over(Limit::BodyBytes);
        }
        if self.body.is_empty() {
            return;
        }
        let ct_range = self
            .fields
            .pairs
            .iter()
            .find(|p| p.origin == Origin::Header && self.fields.get(p.name).eq_ignore_ascii_case(b"content-type"))
            .map(|p| p.value);
        let content_type = ct_range.map_or(0, |r| self.fields.get(r).to_vec_in_tmp(&mut self.tmp));
        let kind = match self.body_processor {
            Some(kind) => kind,
            None if content_type == 0 => BodyKind::Other,
            None => header::body_kind(&self.tmp[..content_type]),
        };
        self.body_kind = Some(kind);
        let limits =
            ParseLimits { max_json_depth: config.get_max_json_depth(), max_parts: config.get_max_multipart_parts() };
        let body = std::mem::take(&mut self.body);
        let status = match kind {
            BodyKind::UrlEncoded => {
                let counted = known(Origin::Form, &body).then(|| urlencoded::count_urlencoded(&body));
                Some(match counted {
                    Some((pairs, invalid)) if pairs <= self.fields.max_args.saturating_sub(self.fields.arg_count) => {
                        self.fields.arg_count += pairs;
                        self.unparsed[2] = Some(pairs as u32);
                        ParseStatus { invalid_encoding: invalid, ..ParseStatus::default() }
                    }
                    _ => urlencoded::parse_urlencoded(&body, Origin::Form, &mut self.fields),
                })
            }
            BodyKind::Json => Some(json::parse_json(&body, &limits, &mut self.fields)),
            BodyKind::Multipart => {
                let ct = std::mem::take(&mut self.tmp);
                let status = match multipart::boundary_from_content_type(&ct[..content_type]) {
                    Ok(boundary) => multipart::parse_multipart(&body, boundary, &limits, &mut self.fields),
                    Err(e) => ParseStatus { error: Some(e), ..ParseStatus::default() },
                };
                self.tmp = ct;
                Some(status)
            }
            BodyKind::Xml if self.seclang => Some(xml::parse_xml(&body, config.get_max_args(), &mut self.fields)),
            BodyKind::Xml | BodyKind::Other => None,
        };
        self.body = body;
        if let Some(mut status) = status {
            if self.limit == Some(Limit::BodyBytes) {
                // The body was cut at the limit, so its end is missing by design:
                // that is `limit_exceeded` (already set), not a malformed body.
                status.error = None;
            }
            let json_or_parts = matches!(kind, BodyKind::Json | BodyKind::Multipart);
            self.absorb(status, json_or_parts);
        }
    }

    fn absorb(&mut self, status: ParseStatus, structural: bool) {
        if status.error.is_some() && self.body_error.is_none() {
            self.body_error = status.error;
        }
        self.encoding_error |= status.invalid_encoding;
        if status.limit_exceeded {
            // The parser stopped at a limit: too many arguments, or (for JSON
            // and multipart) too deep or too many parts.
            let limit = if self.fields.arg_count >= self.fields.max_args {
                Limit::Args
            } else if structural && self.body_kind == Some(BodyKind::Json) {
                Limit::JsonDepth
            } else if structural {
                Limit::MultipartParts
            } else {
                Limit::Args
            };
            self.over(limit);
        }
    }
}

/// Copies a slice into `tmp` (cleared) and returns its length; used to work on
/// a value while the arena it lives in is being appended to.
trait ToTmp {
    fn to_vec_in_tmp(&self, tmp: &mut Vec<u8>) -> usize;
}

impl ToTmp for [u8] {
    fn to_vec_in_tmp(&self, tmp: &mut Vec<u8>) -> usize {
        tmp.clear();
        tmp.extend_from_slice(self);
        tmp.len()
    }
}

/// `example.com:8080` → `example.com`; `[::1]:80` → `::1`.
fn host_without_port(host: &[u8]) -> &[u8] {
    let host = host.trim_ascii();
    if let Some(rest) = host.strip_prefix(b"[") {
        return rest.iter().position(|&b| b == b']').map_or(rest, |end| &rest[..end]);
    }
    match host.iter().rposition(|&b| b == b':') {
        Some(i) if host.iter().filter(|&&b| b == b':').count() == 1 => &host[..i],
        _ => host,
    }
}

/// One HTTP request being inspected.
///
/// Feed it the request line, the client address, the headers and the body
/// (in chunks as they arrive), then evaluate it by phase with a per-thread
/// [`crate::Scratch`]. Reuse it with [`Transaction::reset`]: a warmed-up
/// transaction allocates nothing.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use rampart::{Action, Phase, Ruleset, Transaction};
///
/// let ruleset = Arc::new(Ruleset::from_rules(r#"
///     rule 1 "Path traversal" {
///         severity critical
///         inspect  args
///         match    contains "../"
///     }
/// "#).unwrap());
/// let mut scratch = ruleset.create_scratch();
/// let mut tx = Transaction::new(ruleset.clone());
///
/// tx.set_request("GET", "/download?file=../../etc/passwd", "HTTP/1.1");
/// tx.add_header("Host", "example.com");
/// let verdict = tx.evaluate(Phase::RequestHeaders, &mut scratch);
/// assert_eq!(verdict.action(), Action::Block);
/// assert_eq!(verdict.status(), 403);
/// assert_eq!(tx.matches().next().unwrap().field(), "args[\"file\"]");
///
/// tx.reset();
/// tx.set_request("GET", "/download?file=report.pdf", "HTTP/1.1");
/// tx.evaluate(Phase::RequestHeaders, &mut scratch);
/// let verdict = tx.evaluate(Phase::RequestBody, &mut scratch);
/// assert_eq!(verdict.action(), Action::Allow);
/// ```
#[derive(Debug)]
pub struct Transaction {
    pub(crate) ruleset: Arc<Ruleset>,
    pub(crate) req: RequestData,
    pub(crate) res: Results,
}

impl Transaction {
    /// A transaction evaluated against `ruleset`.
    pub fn new(ruleset: Arc<Ruleset>) -> Transaction {
        let res = Results::for_ruleset(&ruleset);
        Transaction { ruleset, req: RequestData::default(), res }
    }

    /// The ruleset this transaction uses.
    pub fn ruleset(&self) -> &Arc<Ruleset> {
        &self.ruleset
    }

    /// Forgets the request, keeping memory, to take the next one.
    pub fn reset(&mut self) {
        self.req.clear();
        self.res.clear(&self.ruleset);
    }

    /// Like [`Transaction::reset`], switching to another ruleset (after a reload).
    pub fn reset_with(&mut self, ruleset: Arc<Ruleset>) {
        self.ruleset = ruleset;
        self.reset();
    }

    /// Sets the request line. `uri` is the request target as received
    /// (origin form `/path?query`, or absolute form `http://host/path`);
    /// `protocol` is `HTTP/1.1` etc. (empty for HTTP/0.9). Bytes need not be
    /// UTF-8. A target longer than `max_uri_bytes` is cut there and flagged, and
    /// so is a method or protocol longer than that.
    pub fn set_request(&mut self, method: impl AsRef<[u8]>, uri: impl AsRef<[u8]>, protocol: impl AsRef<[u8]>) {
        let (method, uri, protocol) = (method.as_ref(), uri.as_ref(), protocol.as_ref());
        let max_uri = self.ruleset.config().get_max_uri_bytes();
        let req = &mut self.req;
        // One clock read: the start time also seeds the request id.
        let started = *req.started.get_or_insert_with(SystemTime::now);
        req.ensure_request_id(started);
        let uri = if uri.len() > max_uri {
            req.over(Limit::UriBytes);
            &uri[..max_uri]
        } else {
            uri
        };
        // The method and protocol come from the client too: each is cut to the
        // same limit, so no part of the request line is unbounded.
        let method = if method.len() > max_uri {
            req.over(Limit::UriBytes);
            &method[..max_uri]
        } else {
            method
        };
        let protocol = if protocol.len() > max_uri {
            req.over(Limit::UriBytes);
            &protocol[..max_uri]
        } else {
            protocol
        };
        // A second call replaces the first: forget what came from its target.
        req.scalars[Source::Query.index()] = None;
        if req.scheme_from_uri {
            req.scalars[Source::Scheme.index()] = None;
            req.scheme_set = false;
            req.scheme_from_uri = false;
        }
        if req.host_from_uri {
            req.scalars[Source::Host.index()] = None;
            req.host_from_uri = false;
        }
        // The request line is copied once; the method, target and protocol
        // (and below the query, and the path when it needs no decoding) are
        // ranges of it.
        let start = req.fields.mark();
        req.fields.bytes.extend_from_slice(method);
        req.fields.bytes.push(b' ');
        req.fields.bytes.extend_from_slice(uri);
        if !protocol.is_empty() {
            req.fields.bytes.push(b' ');
            req.fields.bytes.extend_from_slice(protocol);
        }
        req.scalars[Source::RequestLine.index()] = Some(req.fields.range_from(start));
        let uri_start = start + method.len() as u32 + 1;
        let within_uri = |from: usize, len: usize| ByteRange {
            start: uri_start + from as u32,
            end: uri_start + (from + len) as u32,
        };
        req.scalars[Source::Method.index()] = Some(ByteRange { start, end: start + method.len() as u32 });
        req.scalars[Source::Uri.index()] = Some(within_uri(0, uri.len()));
        let protocol_start = uri_start + uri.len() as u32 + 1;
        req.scalars[Source::Protocol.index()] = Some(if protocol.is_empty() {
            ByteRange::EMPTY
        } else {
            ByteRange { start: protocol_start, end: protocol_start + protocol.len() as u32 }
        });

        // Split the target: [scheme://authority]path[?query][#fragment].
        let mut rest = uri;
        // Where `rest` starts in the target.
        let mut rest_at = 0;
        let mut absolute_without_path = false;
        // A scheme is the run of scheme bytes that starts the target and
        // ends at its first `://` (an origin-form target starts with `/`).
        let scheme_len = rest.iter().position(|&b| !(b.is_ascii_alphanumeric() || b"+-.".contains(&b)));
        if let Some(pos) = scheme_len.filter(|&n| n > 0 && rest[n..].starts_with(b"://")) {
            let scheme = &rest[..pos];
            let lower_start = req.fields.mark();
            req.fields.bytes.extend(scheme.iter().map(u8::to_ascii_lowercase));
            req.scalars[Source::Scheme.index()] = Some(req.fields.range_from(lower_start));
            req.scheme_set = true;
            req.scheme_from_uri = true;
            let after = &rest[pos + 3..];
            let end = after.iter().position(|&b| b == b'/' || b == b'?' || b == b'#').unwrap_or(after.len());
            let authority = &after[..end];
            let authority = authority.iter().rposition(|&b| b == b'@').map_or(authority, |at| &authority[at + 1..]);
            let host = host_without_port(authority);
            let hs = req.fields.mark();
            req.fields.bytes.extend(host.iter().map(u8::to_ascii_lowercase));
            req.scalars[Source::Host.index()] = Some(req.fields.range_from(hs));
            req.host_from_uri = true;
            rest = &after[end..];
            rest_at = pos + 3 + end;
            // An absolute target without a path names the root (RFC 9110 4.2.3).
            if !rest.starts_with(b"/") {
                req.tmp.clear();
                req.tmp.push(b'/');
                absolute_without_path = true;
            }
        }
        let rest = rest.iter().position(|&b| b == b'#').map_or(rest, |h| &rest[..h]);
        let (raw_path, query) = match rest.iter().position(|&b| b == b'?') {
            Some(q) => (&rest[..q], Some(&rest[q + 1..])),
            None => (rest, None),
        };
        if let Some(q) = query {
            req.scalars[Source::Query.index()] = Some(within_uri(rest_at + raw_path.len() + 1, q.len()));
        }
        // The path: percent-decoded (`+` stays), then `.` and `..` resolved.
        let mut normalized = std::mem::take(&mut req.fields.work);
        let path_range = if absolute_without_path || raw_path.contains(&b'%') {
            if !absolute_without_path {
                req.tmp.clear();
            }
            if !percent::percent_decode_into(raw_path, false, &mut req.tmp) {
                req.encoding_error = true;
            }
            let path: &[u8] =
                if Transform::NormalizePath.apply(&req.tmp, &mut normalized) { &normalized } else { &req.tmp };
            req.fields.push_bytes(path)
        } else if Transform::NormalizePath.apply(raw_path, &mut normalized) {
            req.fields.push_bytes(&normalized)
        } else {
            // Nothing to decode or resolve: the path is a range of the target.
            within_uri(rest_at, raw_path.len())
        };
        req.fields.work = normalized;
        req.scalars[Source::Path.index()] = Some(path_range);
        let path = req.fields.get(path_range);
        let base_start = path.iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1);
        req.scalars[Source::Basename.index()] =
            Some(ByteRange { start: path_range.start + base_start as u32, end: path_range.end });
        if self.ruleset.has_seclang() {
            req.set_seclang_uri(uri);
        }
    }

    /// Sets the client address as text (`203.0.113.7`, `2001:db8::1`).
    pub fn set_client(&mut self, ip: impl AsRef<[u8]>) {
        let ip = ip.as_ref();
        self.req.set_scalar(Source::ClientIp, ip);
    }

    /// Sets the scheme the request arrived with (`http` or `https`); default `http`.
    pub fn set_scheme(&mut self, scheme: impl AsRef<[u8]>) {
        let start = self.req.fields.mark();
        self.req.fields.bytes.extend(scheme.as_ref().iter().map(u8::to_ascii_lowercase));
        self.req.scalars[Source::Scheme.index()] = Some(self.req.fields.range_from(start));
        self.req.scheme_set = true;
        self.req.scheme_from_uri = false;
    }

    /// Sets the id used in the audit event (at most 64 bytes are kept; bytes
    /// other than printable ASCII become `_`).
    pub fn set_request_id(&mut self, id: impl AsRef<[u8]>) {
        let id = id.as_ref();
        let n = id.len().min(64);
        for (dst, &src) in self.req.request_id.0.iter_mut().zip(&id[..n]) {
            *dst = if src.is_ascii_graphic() && src != b'"' && src != b'\\' { src } else { b'_' };
        }
        self.req.request_id_len = n;
    }

    /// Adds a request header, in order; duplicates are kept. Headers beyond
    /// `max_headers` or `max_header_bytes` are dropped and flagged. A header
    /// added after the headers phase was evaluated is inspected in the body
    /// phase.
    pub fn add_header(&mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        let (name, value) = (name.as_ref(), value.as_ref());
        let config = self.ruleset.config();
        let req = &mut self.req;
        if req.header_count >= config.get_max_headers() {
            req.over(Limit::Headers);
            return;
        }
        if req.header_bytes + name.len() + value.len() > config.get_max_header_bytes() {
            req.over(Limit::HeaderBytes);
            return;
        }
        req.header_count += 1;
        req.header_bytes += name.len() + value.len();
        let n = req.fields.push_bytes(name);
        let v = req.fields.push_bytes(value);
        req.fields.push_pair(Origin::Header, n, v);
    }

    /// Appends a chunk of the request body. Bytes beyond `max_body_bytes` are
    /// not kept; the request is flagged (and rejected, if so configured).
    /// Bytes appended after the body phase was evaluated are never inspected:
    /// check [`Transaction::is_evaluated`] (the C ABI refuses them).
    pub fn append_body(&mut self, chunk: impl AsRef<[u8]>) {
        let chunk = chunk.as_ref();
        let max = self.ruleset.config().get_max_body_bytes();
        let req = &mut self.req;
        req.body_offered = req.body_offered.saturating_add(chunk.len() as u64);
        let room = max.saturating_sub(req.body.len());
        req.body.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }

    /// True when `phase` has been evaluated: data for it added now comes too
    /// late (the request line, client and scheme for the headers phase; the
    /// body for the body phase). Headers are the exception: late ones are
    /// inspected in the body phase.
    pub fn is_evaluated(&self, phase: crate::Phase) -> bool {
        self.res.done[phase as usize]
    }

    /// The limit the request went over, if any.
    pub fn limit_exceeded(&self) -> Option<Limit> {
        self.req.limit
    }

    /// Why the body could not be parsed, if it could not: a message and the
    /// byte offset in the body.
    pub fn body_error(&self) -> Option<(&'static str, usize)> {
        self.req.body_error.map(|e| (e.message, e.offset))
    }
}

/// A non-empty run of ASCII digits as a number; None for anything else or
/// on overflow.
fn parse_decimal(text: &[u8]) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.iter().try_fold(0u64, |n, &b| {
        if b.is_ascii_digit() { n.checked_mul(10)?.checked_add(u64::from(b - b'0')) } else { None }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_lengths() {
        assert_eq!(parse_decimal(b"0"), Some(0));
        assert_eq!(parse_decimal(b"1048577"), Some(1_048_577));
        assert_eq!(parse_decimal(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_decimal(b"18446744073709551616"), None);
        for bad in [&b""[..], b"-1", b"+1", b"1e3", b"0x10", b"1 2", b"12a"] {
            assert_eq!(parse_decimal(bad), None, "{bad:?}");
        }
    }

    /// The scheme of an absolute-form target: what precedes the target's
    /// first `://`, when that is made of scheme bytes only.
    fn reference_scheme(uri: &[u8]) -> Option<Vec<u8>> {
        let pos = uri.windows(3).position(|w| w == b"://")?;
        let scheme = &uri[..pos];
        (!scheme.is_empty() && scheme.iter().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(b)))
            .then(|| scheme.to_ascii_lowercase())
    }

    /// The path, query and encoding flag of a target, read the plain way:
    /// scheme and authority cut, fragment cut, split at the first `?`, the
    /// path always percent-decoded into a copy and then normalised.
    fn reference_target(uri: &[u8]) -> (Vec<u8>, Option<Vec<u8>>, bool) {
        let mut rest = uri;
        let mut root = false;
        if reference_scheme(uri).is_some() {
            let after = &uri[uri.windows(3).position(|w| w == b"://").unwrap_or(0) + 3..];
            let end = after.iter().position(|&b| b == b'/' || b == b'?' || b == b'#').unwrap_or(after.len());
            rest = &after[end..];
            root = !rest.starts_with(b"/");
        }
        let rest = rest.iter().position(|&b| b == b'#').map_or(rest, |h| &rest[..h]);
        let (raw_path, query) = match rest.iter().position(|&b| b == b'?') {
            Some(q) => (&rest[..q], Some(rest[q + 1..].to_vec())),
            None => (rest, None),
        };
        let mut decoded = if root { b"/".to_vec() } else { Vec::new() };
        let valid = percent::percent_decode_into(raw_path, false, &mut decoded);
        let mut normalized = Vec::new();
        let path = if Transform::NormalizePath.apply(&decoded, &mut normalized) { normalized } else { decoded };
        (path, query, valid)
    }

    proptest::proptest! {
        #[test]
        fn the_request_line_is_split_as_read_plainly(
            method in "[A-Z]{0,7}",
            parts in proptest::collection::vec(proptest::sample::select(
                &["/", "a", "%2e", "%2F", "%", "%zz", ".", "..", "//", "?", "#", "=", "&", "+", "http://", "h.x", "\\", "@"][..]), 0..10),
            protocol in proptest::sample::select(&["HTTP/1.1", "HTTP/2", ""][..]),
        ) {
            let uri = parts.concat().into_bytes();
            let rs = Arc::new(Ruleset::from_rules("").expect("empty rules"));
            let mut tx = Transaction::new(rs);
            tx.set_request(&method, &uri, protocol);
            let (path, query, valid) = reference_target(&uri);
            let req = &tx.req;
            proptest::prop_assert_eq!(req.scalar(Source::Method), Some(method.as_bytes()));
            proptest::prop_assert_eq!(req.scalar(Source::Uri), Some(&uri[..]));
            proptest::prop_assert_eq!(req.scalar(Source::Protocol), Some(protocol.as_bytes()));
            proptest::prop_assert_eq!(req.scalar(Source::Path), Some(&path[..]));
            proptest::prop_assert_eq!(req.scalar(Source::Query).map(<[u8]>::to_vec), query);
            proptest::prop_assert_eq!(req.encoding_error, !valid);
            let mut line = [method.as_bytes(), b" ", &uri].concat();
            if !protocol.is_empty() {
                line.extend_from_slice(b" ");
                line.extend_from_slice(protocol.as_bytes());
            }
            proptest::prop_assert_eq!(req.scalar(Source::RequestLine), Some(&line[..]));
        }

        #[test]
        fn a_scheme_is_read_from_an_absolute_target(parts in proptest::collection::vec(
            proptest::sample::select(&["h", "H", "1", "+", ".", "-", "://", ":", "/", "?", "#", "@", " "][..]), 0..8)) {
            let uri = parts.concat().into_bytes();
            let rs = Arc::new(Ruleset::from_rules("").expect("empty rules"));
            let mut tx = Transaction::new(rs);
            tx.set_request("GET", &uri, "HTTP/1.1");
            let want = reference_scheme(&uri);
            let got = tx.req.scheme_from_uri.then(|| tx.req.scalar(Source::Scheme).unwrap_or_default().to_vec());
            proptest::prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn hosts_lose_their_port() {
        assert_eq!(host_without_port(b"example.com:8080"), b"example.com");
        assert_eq!(host_without_port(b"[::1]:80"), b"::1");
        assert_eq!(host_without_port(b"::1"), b"::1");
        assert_eq!(host_without_port(b" a.b "), b"a.b");
    }
}
