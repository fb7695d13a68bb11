//! Value sources: the finest-grained kinds of request values.
//!
//! Every value the matcher inspects has exactly one [`Source`]. Collections in
//! the rule language are sets of sources (`args` is the values of query, form,
//! JSON and multipart arguments), which is what lets rules that inspect
//! overlapping collections share one transform run and one automaton pass per
//! value.

use crate::dsl::ast::Collection;
use crate::eval::Phase;

use super::fields::Origin;

/// The kind of one request value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub(crate) enum Source {
    RequestLine,
    Method,
    Uri,
    Path,
    Basename,
    Query,
    Protocol,
    Host,
    Scheme,
    ClientIp,
    /// SecLang `REQUEST_FILENAME`: the percent-decoded target up to its first
    /// `?` (not normalized). Set only for rulesets with SecLang rules.
    Filename,
    /// SecLang `REQUEST_BASENAME`: [`Source::Filename`] after its last `/` or `\`.
    FilenameBase,
    /// SecLang `REQUEST_URI`: the percent-decoded target (path and query).
    UriDecoded,
    Body,
    QueryName,
    QueryValue,
    FormName,
    FormValue,
    JsonName,
    JsonValue,
    MultipartName,
    MultipartValue,
    FileField,
    FileName,
    PartHeaderName,
    PartHeaderValue,
    HeaderName,
    HeaderValue,
    CookieName,
    CookieValue,
    /// The names of XML pairs (`/*`, `//@*`); never inspected.
    XmlName,
    /// SecLang `XML:/*` and `XML://@*` values.
    XmlValue,
}

/// How many sources there are.
pub(crate) const SOURCE_COUNT: usize = 32;

impl Source {
    /// Every source, in numeric order.
    pub(crate) const ALL: [Source; SOURCE_COUNT] = [
        Source::RequestLine,
        Source::Method,
        Source::Uri,
        Source::Path,
        Source::Basename,
        Source::Query,
        Source::Protocol,
        Source::Host,
        Source::Scheme,
        Source::ClientIp,
        Source::Filename,
        Source::FilenameBase,
        Source::UriDecoded,
        Source::Body,
        Source::QueryName,
        Source::QueryValue,
        Source::FormName,
        Source::FormValue,
        Source::JsonName,
        Source::JsonValue,
        Source::MultipartName,
        Source::MultipartValue,
        Source::FileField,
        Source::FileName,
        Source::PartHeaderName,
        Source::PartHeaderValue,
        Source::HeaderName,
        Source::HeaderValue,
        Source::CookieName,
        Source::CookieValue,
        Source::XmlName,
        Source::XmlValue,
    ];

    /// The scalar sources (one value each, no key).
    pub(crate) const SCALARS: [Source; 14] = [
        Source::RequestLine,
        Source::Method,
        Source::Uri,
        Source::Path,
        Source::Basename,
        Source::Query,
        Source::Protocol,
        Source::Host,
        Source::Scheme,
        Source::ClientIp,
        Source::Filename,
        Source::FilenameBase,
        Source::UriDecoded,
        Source::Body,
    ];

    /// The index of this source in per-source tables.
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// The source of a pair's name or value.
    pub(crate) fn of_pair(origin: Origin, name: bool) -> Source {
        match (origin, name) {
            (Origin::Query, true) => Source::QueryName,
            (Origin::Query, false) => Source::QueryValue,
            (Origin::Form, true) => Source::FormName,
            (Origin::Form, false) => Source::FormValue,
            (Origin::Json, true) => Source::JsonName,
            (Origin::Json, false) => Source::JsonValue,
            (Origin::Multipart, true) => Source::MultipartName,
            (Origin::Multipart, false) => Source::MultipartValue,
            (Origin::File, true) => Source::FileField,
            (Origin::File, false) => Source::FileName,
            (Origin::PartHeader, true) => Source::PartHeaderName,
            (Origin::PartHeader, false) => Source::PartHeaderValue,
            (Origin::Header, true) => Source::HeaderName,
            (Origin::Header, false) => Source::HeaderValue,
            (Origin::Cookie, true) => Source::CookieName,
            (Origin::Cookie, false) => Source::CookieValue,
            (Origin::Xml, true) => Source::XmlName,
            (Origin::Xml, false) => Source::XmlValue,
        }
    }

    /// The first phase in which values of this source exist.
    pub(crate) fn phase(self) -> Phase {
        match self {
            Source::Body
            | Source::FormName
            | Source::FormValue
            | Source::JsonName
            | Source::JsonValue
            | Source::MultipartName
            | Source::MultipartValue
            | Source::FileField
            | Source::FileName
            | Source::PartHeaderName
            | Source::PartHeaderValue
            | Source::XmlName
            | Source::XmlValue => Phase::RequestBody,
            _ => Phase::RequestHeaders,
        }
    }

    /// How a match on this source is named in verdicts and logs: the collection
    /// a rule author would write (`args`, `headers`, ...).
    pub(crate) fn field_name(self) -> &'static str {
        match self {
            Source::QueryValue | Source::FormValue | Source::JsonValue | Source::MultipartValue => "args",
            Source::QueryName | Source::FormName | Source::JsonName | Source::MultipartName => "args.names",
            Source::FileName => "files",
            Source::FileField => "files.names",
            Source::PartHeaderValue => "multipart.headers",
            Source::PartHeaderName => "multipart.headers.names",
            Source::HeaderValue => "headers",
            Source::HeaderName => "headers.names",
            Source::CookieValue => "cookies",
            Source::CookieName => "cookies.names",
            Source::XmlValue => "xml",
            Source::XmlName => "xml.names",
            Source::RequestLine => "request_line",
            Source::Method => "method",
            Source::Uri => "uri",
            Source::Path => "path",
            Source::Basename => "basename",
            Source::Query => "query",
            Source::Protocol => "protocol",
            Source::Host => "host",
            Source::Scheme => "scheme",
            Source::ClientIp => "client_ip",
            Source::Filename => "request_filename",
            Source::FilenameBase => "request_basename",
            Source::UriDecoded => "request_uri",
            Source::Body => "body",
        }
    }

    /// A short description, for listings: `args (query)`, `headers`.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Source::QueryValue => "args (query)",
            Source::FormValue => "args (form)",
            Source::JsonValue => "args (json)",
            Source::MultipartValue => "args (multipart)",
            Source::QueryName => "args.names (query)",
            Source::FormName => "args.names (form)",
            Source::JsonName => "args.names (json)",
            Source::MultipartName => "args.names (multipart)",
            other => other.field_name(),
        }
    }

    /// True for sources whose values have a key (pairs).
    pub(crate) fn is_keyed(self) -> bool {
        !Source::SCALARS.contains(&self)
    }
}

/// A set of sources.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct SourceSet(u32);

impl SourceSet {
    /// The empty set.
    pub(crate) const EMPTY: SourceSet = SourceSet(0);

    /// A set of the given sources.
    pub(crate) fn of(sources: &[Source]) -> SourceSet {
        SourceSet(sources.iter().fold(0, |bits, s| bits | 1 << s.index()))
    }

    /// Every source.
    #[cfg(test)]
    pub(crate) fn all() -> SourceSet {
        SourceSet(((1u64 << SOURCE_COUNT) - 1) as u32)
    }

    /// True when the set has a source of pairs (a keyed source).
    pub(crate) fn has_pairs(self) -> bool {
        let scalars = Source::SCALARS.iter().fold(0u32, |bits, s| bits | 1 << s.index());
        self.0 & !scalars != 0
    }

    /// True when `s` is in the set.
    pub(crate) fn contains(self, s: Source) -> bool {
        self.0 & (1 << s.index()) != 0
    }

    /// The union.
    pub(crate) fn union(self, other: SourceSet) -> SourceSet {
        SourceSet(self.0 | other.0)
    }

    /// The sources in the set, in numeric order.
    pub(crate) fn iter(self) -> impl Iterator<Item = Source> {
        Source::ALL.into_iter().filter(move |s| self.contains(*s))
    }

    /// The latest phase of any source in the set (headers for the empty set).
    pub(crate) fn phase(self) -> Phase {
        if self.iter().any(|s| s.phase() == Phase::RequestBody) { Phase::RequestBody } else { Phase::RequestHeaders }
    }

    /// The sources a collection is made of.
    pub(crate) fn of_collection(c: Collection) -> SourceSet {
        use Source as S;
        match c {
            Collection::Args => SourceSet::of(&[S::QueryValue, S::FormValue, S::JsonValue, S::MultipartValue]),
            Collection::ArgsNames => SourceSet::of(&[S::QueryName, S::FormName, S::JsonName, S::MultipartName]),
            Collection::ArgsQuery => SourceSet::of(&[S::QueryValue]),
            Collection::ArgsQueryNames => SourceSet::of(&[S::QueryName]),
            Collection::ArgsBody => SourceSet::of(&[S::FormValue, S::JsonValue, S::MultipartValue]),
            Collection::ArgsBodyNames => SourceSet::of(&[S::FormName, S::JsonName, S::MultipartName]),
            Collection::Json => SourceSet::of(&[S::JsonValue]),
            Collection::JsonNames => SourceSet::of(&[S::JsonName]),
            Collection::Headers => SourceSet::of(&[S::HeaderValue]),
            Collection::HeadersNames => SourceSet::of(&[S::HeaderName]),
            Collection::Cookies => SourceSet::of(&[S::CookieValue]),
            Collection::CookiesNames => SourceSet::of(&[S::CookieName]),
            Collection::Files => SourceSet::of(&[S::FileName]),
            Collection::FilesNames => SourceSet::of(&[S::FileField]),
            Collection::MultipartHeaders => SourceSet::of(&[S::PartHeaderValue]),
            Collection::MultipartHeadersNames => SourceSet::of(&[S::PartHeaderName]),
            Collection::RequestLine => SourceSet::of(&[S::RequestLine]),
            Collection::Method => SourceSet::of(&[S::Method]),
            Collection::Uri => SourceSet::of(&[S::Uri]),
            Collection::Path => SourceSet::of(&[S::Path]),
            Collection::Basename => SourceSet::of(&[S::Basename]),
            Collection::Query => SourceSet::of(&[S::Query]),
            Collection::Protocol => SourceSet::of(&[S::Protocol]),
            Collection::Host => SourceSet::of(&[S::Host]),
            Collection::Scheme => SourceSet::of(&[S::Scheme]),
            Collection::ClientIp => SourceSet::of(&[S::ClientIp]),
            Collection::Body => SourceSet::of(&[S::Body]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_source_is_in_all_in_order() {
        for (n, s) in Source::ALL.iter().enumerate() {
            assert_eq!(s.index(), n);
        }
        assert_eq!(SourceSet::all().iter().count(), SOURCE_COUNT);
    }

    #[test]
    fn collections_cover_every_source() {
        let union = Collection::ALL.iter().fold(SourceSet::EMPTY, |acc, c| acc.union(SourceSet::of_collection(*c)));
        // The SecLang-only sources have no rule-language collection.
        let seclang = SourceSet::of(&[
            Source::Filename,
            Source::FilenameBase,
            Source::UriDecoded,
            Source::XmlName,
            Source::XmlValue,
        ]);
        assert_eq!(union.union(seclang), SourceSet::all());
        assert_eq!(SourceSet::of_collection(Collection::Args).phase(), Phase::RequestBody);
        assert_eq!(SourceSet::of_collection(Collection::ArgsQuery).phase(), Phase::RequestHeaders);
    }

    #[test]
    fn has_pairs_is_any_keyed_source() {
        for s in Source::ALL {
            assert_eq!(SourceSet::of(&[s]).has_pairs(), s.is_keyed(), "{s:?}");
            assert!(SourceSet::of(&[Source::Method, s]).has_pairs() == s.is_keyed());
        }
        assert!(!SourceSet::EMPTY.has_pairs());
    }
}
