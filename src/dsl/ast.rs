//! The syntax tree of a rule file. Every node carries the [`Span`] it came from;
//! spans do not take part in equality (see [`Span`]).

use std::net::IpAddr;

pub use super::span::Span;
use crate::transform::Transform;

/// A value with the span it was written at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub span: Span,
}

impl<T> Spanned<T> {
    /// Wraps a value.
    pub fn new(value: T, span: Span) -> Spanned<T> {
        Spanned { value, span }
    }
}

/// A whole rule file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct File {
    /// Its items, in order.
    pub items: Vec<Item>,
}

/// A top-level item.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant, reason = "files hold few items; boxing rules would only add indirection")]
pub enum Item {
    /// `include "other.rules"`.
    Include(Include),
    /// `rule ID "message" { ... }`.
    Rule(Rule),
    /// `exclude rule ... [for ...] [when ...]`.
    Exclude(Exclude),
}

/// `include "path"`: another rule file, relative to this one.
#[derive(Clone, Debug, PartialEq)]
pub struct Include {
    /// The path as written.
    pub path: Spanned<String>,
    /// The whole statement.
    pub span: Span,
}

/// Severity of a rule; without an explicit `action` it adds its score.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// Adds 5 to the anomaly score.
    Critical,
    /// Adds 4.
    Error,
    /// Adds 3.
    Warning,
    /// Adds 2.
    Notice,
}

impl Severity {
    /// Every severity, most severe first.
    pub const ALL: [Severity; 4] = [Severity::Critical, Severity::Error, Severity::Warning, Severity::Notice];

    /// The rule-language name.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Notice => "notice",
        }
    }

    /// The anomaly score it adds, as in the OWASP Core Rule Set.
    pub fn score(self) -> u32 {
        match self {
            Severity::Critical => 5,
            Severity::Error => 4,
            Severity::Warning => 3,
            Severity::Notice => 2,
        }
    }
}

/// The phase a rule is decided in, when written explicitly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PhaseName {
    /// `phase headers`: request line and headers.
    Headers,
    /// `phase body`: after the request body.
    Body,
}

/// What a rule does when it matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `action deny [STATUS]`: block the request at once (status 403 by default).
    Deny(Option<u16>),
    /// `action allow`: let the request through; no other rule can block it.
    Allow,
    /// `action log`: record the match, add nothing to the score.
    Log,
    /// `action score N`: add N to the anomaly score.
    Score(u32),
}

/// `rule ID "message" { statements }`.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// The rule id.
    pub id: Spanned<u32>,
    /// The message (empty when not written).
    pub message: Spanned<String>,
    /// `phase headers|body`.
    pub phase: Option<Spanned<PhaseName>>,
    /// `paranoia 1-4`.
    pub paranoia: Option<Spanned<u8>>,
    /// `severity critical|error|warning|notice`.
    pub severity: Option<Spanned<Severity>>,
    /// `tags a b c`.
    pub tags: Vec<Spanned<String>>,
    /// `inspect target, ...`.
    pub inspect: Option<Spanned<Vec<Target>>>,
    /// `transform t, ...` (`transform none` is an empty list).
    pub transform: Option<Spanned<Vec<Spanned<Transform>>>>,
    /// `match [not] operator`.
    pub matcher: Option<Spanned<Match>>,
    /// `when expression`.
    pub when: Option<Spanned<Expr>>,
    /// `action ...`.
    pub action: Option<Spanned<Action>>,
    /// The whole rule.
    pub span: Span,
}

impl Rule {
    /// An empty rule with an id, for building trees in code and tests.
    pub fn new(id: u32) -> Rule {
        Rule {
            id: Spanned::new(id, Span::default()),
            message: Spanned::new(String::new(), Span::default()),
            phase: None,
            paranoia: None,
            severity: None,
            tags: Vec::new(),
            inspect: None,
            transform: None,
            matcher: None,
            when: None,
            action: None,
            span: Span::default(),
        }
    }
}

/// `match [not] operator`.
#[derive(Clone, Debug, PartialEq)]
pub struct Match {
    /// `not`: the rule matches a value the operator does not match.
    pub negated: bool,
    /// The operator.
    pub op: Operator,
}

/// A collection or single field of the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Collection {
    /// `args`: values of query, form, JSON and multipart arguments.
    Args,
    /// `args.names`: their names.
    ArgsNames,
    /// `args.query`: query-string argument values.
    ArgsQuery,
    /// `args.query.names`.
    ArgsQueryNames,
    /// `args.body`: body argument values (form, JSON, multipart).
    ArgsBody,
    /// `args.body.names`.
    ArgsBodyNames,
    /// `json`: JSON body values (keys are their dotted paths).
    Json,
    /// `json.names`: JSON paths.
    JsonNames,
    /// `headers`: request header values (keys are header names).
    Headers,
    /// `headers.names`.
    HeadersNames,
    /// `cookies`: cookie values.
    Cookies,
    /// `cookies.names`.
    CookiesNames,
    /// `files`: multipart file names.
    Files,
    /// `files.names`: the form field names of file parts.
    FilesNames,
    /// `multipart.headers`: header values inside multipart parts.
    MultipartHeaders,
    /// `multipart.headers.names`.
    MultipartHeadersNames,
    /// `request_line`: `METHOD URI PROTOCOL` as received.
    RequestLine,
    /// `method`.
    Method,
    /// `uri`: the request target as sent (path and query, undecoded).
    Uri,
    /// `path`: percent-decoded path with `.`/`..` resolved.
    Path,
    /// `basename`: the last segment of `path`.
    Basename,
    /// `query`: the raw query string.
    Query,
    /// `protocol`: `HTTP/1.1` etc.
    Protocol,
    /// `host`: the Host header, lowercased, without port.
    Host,
    /// `scheme`: `http` or `https`.
    Scheme,
    /// `client_ip`.
    ClientIp,
    /// `body`: the raw request body (up to the body limit).
    Body,
}

impl Collection {
    /// Every collection.
    pub const ALL: [Collection; 27] = [
        Collection::Args,
        Collection::ArgsNames,
        Collection::ArgsQuery,
        Collection::ArgsQueryNames,
        Collection::ArgsBody,
        Collection::ArgsBodyNames,
        Collection::Json,
        Collection::JsonNames,
        Collection::Headers,
        Collection::HeadersNames,
        Collection::Cookies,
        Collection::CookiesNames,
        Collection::Files,
        Collection::FilesNames,
        Collection::MultipartHeaders,
        Collection::MultipartHeadersNames,
        Collection::RequestLine,
        Collection::Method,
        Collection::Uri,
        Collection::Path,
        Collection::Basename,
        Collection::Query,
        Collection::Protocol,
        Collection::Host,
        Collection::Scheme,
        Collection::ClientIp,
        Collection::Body,
    ];

    /// The rule-language name.
    pub fn name(self) -> &'static str {
        match self {
            Collection::Args => "args",
            Collection::ArgsNames => "args.names",
            Collection::ArgsQuery => "args.query",
            Collection::ArgsQueryNames => "args.query.names",
            Collection::ArgsBody => "args.body",
            Collection::ArgsBodyNames => "args.body.names",
            Collection::Json => "json",
            Collection::JsonNames => "json.names",
            Collection::Headers => "headers",
            Collection::HeadersNames => "headers.names",
            Collection::Cookies => "cookies",
            Collection::CookiesNames => "cookies.names",
            Collection::Files => "files",
            Collection::FilesNames => "files.names",
            Collection::MultipartHeaders => "multipart.headers",
            Collection::MultipartHeadersNames => "multipart.headers.names",
            Collection::RequestLine => "request_line",
            Collection::Method => "method",
            Collection::Uri => "uri",
            Collection::Path => "path",
            Collection::Basename => "basename",
            Collection::Query => "query",
            Collection::Protocol => "protocol",
            Collection::Host => "host",
            Collection::Scheme => "scheme",
            Collection::ClientIp => "client_ip",
            Collection::Body => "body",
        }
    }

    /// Looks a name up.
    pub fn from_name(name: &str) -> Option<Collection> {
        Collection::ALL.into_iter().find(|c| c.name() == name)
    }

    /// True for collections of keyed values, which accept `[...]` key selectors.
    pub fn is_keyed(self) -> bool {
        matches!(
            self,
            Collection::Args
                | Collection::ArgsNames
                | Collection::ArgsQuery
                | Collection::ArgsQueryNames
                | Collection::ArgsBody
                | Collection::ArgsBodyNames
                | Collection::Json
                | Collection::JsonNames
                | Collection::Headers
                | Collection::HeadersNames
                | Collection::Cookies
                | Collection::CookiesNames
                | Collection::Files
                | Collection::FilesNames
                | Collection::MultipartHeaders
                | Collection::MultipartHeadersNames
        )
    }
}

/// A boolean property of the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Flag {
    /// `body_error`: the body could not be parsed as its Content-Type says.
    BodyError,
    /// `encoding_error`: an invalid percent-escape in the URI, query or form body.
    EncodingError,
    /// `limit_exceeded`: a configured limit was reached (body, args, headers, ...).
    LimitExceeded,
}

impl Flag {
    /// Every flag.
    pub const ALL: [Flag; 3] = [Flag::BodyError, Flag::EncodingError, Flag::LimitExceeded];

    /// The rule-language name.
    pub fn name(self) -> &'static str {
        match self {
            Flag::BodyError => "body_error",
            Flag::EncodingError => "encoding_error",
            Flag::LimitExceeded => "limit_exceeded",
        }
    }

    /// Looks a name up.
    pub fn from_name(name: &str) -> Option<Flag> {
        Flag::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// A collection with optional key selectors: `headers["user-agent", "referer"]`,
/// `args[!"password"]`, ``cookies[`^__utm`]``.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    /// The collection.
    pub collection: Collection,
    /// Key selectors; empty means every key.
    pub selectors: Vec<Selector>,
    /// The whole target.
    pub span: Span,
}

/// One key selector.
#[derive(Clone, Debug, PartialEq)]
pub struct Selector {
    /// `!`: leave these keys out.
    pub negated: bool,
    /// Which keys.
    pub key: KeyPattern,
    /// Where it was written.
    pub span: Span,
}

/// How a selector names keys. Keys compare ASCII case-insensitively.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyPattern {
    /// `"name"`: exactly this key.
    Exact(String),
    /// `` `regex` ``: keys the regex matches (anywhere; anchor it with `^...$`).
    Regex(String),
}

/// A comparison operator for numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CmpOp {
    /// The symbol.
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    /// Applies the comparison.
    pub fn holds<T: PartialOrd>(self, left: T, right: T) -> bool {
        match self {
            CmpOp::Eq => left == right,
            CmpOp::Ne => left != right,
            CmpOp::Lt => left < right,
            CmpOp::Le => left <= right,
            CmpOp::Gt => left > right,
            CmpOp::Ge => left >= right,
        }
    }
}

/// An IP network: an address and a prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cidr {
    /// The address (host bits may be set; they are ignored).
    pub addr: IpAddr,
    /// Prefix length: 0-32 for IPv4, 0-128 for IPv6.
    pub prefix: u8,
}

impl Cidr {
    /// True when `ip` is inside the network. IPv4-mapped IPv6 addresses
    /// (`::ffff:10.0.0.1`) match IPv4 networks.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        // A network written in IPv4-mapped form (`::ffff:10.0.0.0/104`) is the
        // IPv4 network it maps.
        let this = match self.addr {
            IpAddr::V6(v6) if self.prefix >= 96 => match v6.to_ipv4_mapped() {
                Some(v4) => Cidr { addr: IpAddr::V4(v4), prefix: self.prefix - 96 },
                None => *self,
            },
            _ => *self,
        };
        match (this.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = if this.prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(this.prefix.min(32))) };
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = if this.prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(this.prefix.min(128))) };
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }

    /// The canonical text: `10.0.0.0/8`, or the address alone for a host.
    pub fn to_text(&self) -> String {
        let full = if self.addr.is_ipv4() { 32 } else { 128 };
        if self.prefix == full { self.addr.to_string() } else { format!("{}/{}", self.addr, self.prefix) }
    }
}

/// Where a phrase list comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum PhraseSource {
    /// `["a", "b"]`.
    List(Vec<Spanned<String>>),
    /// `file "name.data"`: one phrase per line, `#` comments, relative to the rule file.
    File(Spanned<String>),
}

/// A list literal for `in`.
#[derive(Clone, Debug, PartialEq)]
pub enum ListLiteral {
    /// `["GET", "HEAD"]`: exact strings.
    Strings(Vec<Spanned<String>>),
    /// `[10.0.0.0/8, ::1]`: IP networks.
    Networks(Vec<Spanned<Cidr>>),
}

/// An operator: what a value is tested with.
#[derive(Clone, Debug, PartialEq)]
pub enum Operator {
    /// ``regex `...` ``: the regex matches somewhere in the value.
    Regex(Spanned<String>),
    /// `phrases [...]` / `phrases file "..."`: one of the phrases occurs
    /// (ASCII case-insensitive).
    Phrases(PhraseSource),
    /// `contains "x"` (case-sensitive).
    Contains(Spanned<String>),
    /// `starts_with "x"`.
    StartsWith(Spanned<String>),
    /// `ends_with "x"`.
    EndsWith(Spanned<String>),
    /// `equals "x"`, or `== "x"`.
    Equals(Spanned<String>),
    /// `in [...]`: the value is one of the strings, or an address inside one of
    /// the networks.
    In(ListLiteral),
    /// `== N`, `< N`, ...: the value, read as a decimal integer, compares so.
    Compare(CmpOp, Spanned<i64>),
    /// `length < N`: the value's length in bytes compares so.
    Length(CmpOp, Spanned<u64>),
    /// `detect_sqli`: libinjection's SQL injection detector.
    DetectSqli,
    /// `detect_xss`: libinjection's XSS detector.
    DetectXss,
    /// `invalid_utf8`: the value is not valid UTF-8.
    InvalidUtf8,
    /// `invalid_url_encoding`: the value has a malformed `%` escape.
    InvalidUrlEncoding,
    /// `byte_range 32-126, 9`: some byte is outside the allowed ranges.
    ByteRange(Vec<Spanned<(u8, u8)>>),
}

/// What a `when` condition tests.
#[derive(Clone, Debug, PartialEq)]
pub enum Subject {
    /// The values of a target.
    Values(Target),
    /// `count(target)`: how many values the target has.
    Count(Target),
}

/// One condition: `subject [not] operator`.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    /// What is tested.
    pub subject: Subject,
    /// `not` (or `!=`): true when no value satisfies the operator.
    pub negated: bool,
    /// The operator.
    pub op: Operator,
    /// The whole condition.
    pub span: Span,
}

/// A boolean expression of `when`.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// `a or b or ...` (two or more).
    Or(Vec<Expr>),
    /// `a and b and ...` (two or more).
    And(Vec<Expr>),
    /// `not a`.
    Not(Box<Expr>),
    /// A flag: `body_error`.
    Flag(Spanned<Flag>),
    /// A condition: `path starts_with "/admin"`.
    Cond(Condition),
}

/// Which rules an `exclude` names.
#[derive(Clone, Debug, PartialEq)]
pub enum RuleSelector {
    /// `rule 942100`.
    Id(Spanned<u32>),
    /// `rule 942100..942199` (inclusive).
    Range(Spanned<u32>, Spanned<u32>),
    /// `tag attack-sqli`.
    Tag(Spanned<String>),
}

/// `exclude rule 942100, 942110..942120 [for targets] [when expr]` or
/// `exclude tag attack-sqli ...`: turns rules off, or off for some fields,
/// always or when a condition holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Exclude {
    /// The rules.
    pub rules: Vec<RuleSelector>,
    /// `for ...`: only these fields; empty means the whole rule.
    pub targets: Vec<Target>,
    /// `when ...`: only when this holds.
    pub when: Option<Expr>,
    /// The whole statement.
    pub span: Span,
}
