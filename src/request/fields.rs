//! Storage for the values a request is made of.
//!
//! A transaction copies and decodes everything it inspects into one byte arena
//! ([`Fields::bytes`]) and describes each value by a [`ByteRange`] into it. Parsers
//! append to the arena and push [`Pair`]s; nothing here is freed between requests:
//! [`Fields::clear`] keeps the capacity, so a warmed-up transaction allocates nothing.

/// A byte range into [`Fields::bytes`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ByteRange {
    pub(crate) start: u32,
    pub(crate) end: u32,
}

impl ByteRange {
    /// The empty range.
    pub(crate) const EMPTY: ByteRange = ByteRange { start: 0, end: 0 };

    /// Length in bytes.
    pub(crate) fn len(self) -> usize {
        (self.end - self.start) as usize
    }
}

/// Where a name/value pair was found in the request.
///
/// The numbers are stable: they index tables in the evaluator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub(crate) enum Origin {
    /// A query-string argument (`?name=value`), percent-decoded.
    Query = 0,
    /// An `application/x-www-form-urlencoded` body argument, percent-decoded.
    Form = 1,
    /// A JSON body value: name is the dotted path (`user.tags.0`), value the
    /// unescaped string or the number's text.
    Json = 2,
    /// A multipart form field that is not a file: name is the field name, value
    /// its content.
    Multipart = 3,
    /// A multipart file part: name is the field name, value the file name.
    File = 4,
    /// A header line inside a multipart part: name and value as sent.
    PartHeader = 5,
    /// A request header: name as sent, value as sent.
    Header = 6,
    /// A cookie from a `Cookie` header: name and value as sent (not decoded).
    Cookie = 7,
    /// An XML body value for SecLang's XPath targets: name `/*` (the root
    /// element's text) or `//@*` (an attribute value). Only for rulesets with
    /// SecLang rules.
    Xml = 8,
}

/// One name/value pair of the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pair {
    pub(crate) origin: Origin,
    pub(crate) name: ByteRange,
    pub(crate) value: ByteRange,
}

/// Limits a parser must respect. Over a limit it stops adding pairs and reports
/// it in [`ParseStatus::limit_exceeded`]; it never fails hard because of one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ParseLimits {
    /// Most JSON nesting levels (objects and arrays) followed; deeper values are
    /// not reported and the limit flag is set.
    pub(crate) max_json_depth: usize,
    /// Most multipart parts read; later parts are skipped and the flag is set.
    pub(crate) max_parts: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits { max_json_depth: 64, max_parts: 256 }
    }
}

/// A parse error: what was wrong, and the byte offset in the parsed input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub(crate) message: &'static str,
    pub(crate) offset: usize,
}

/// What a parser found besides the pairs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ParseStatus {
    /// Set when the input is malformed for its format (the pairs found before
    /// the problem are kept).
    pub(crate) error: Option<ParseError>,
    /// Set when a limit stopped the parser (argument count, depth, parts).
    pub(crate) limit_exceeded: bool,
    /// Set when a percent-escape was invalid (`%zz`, a `%` at the end): the bytes
    /// are kept as they are, as ModSecurity does, and rules can test this flag.
    pub(crate) invalid_encoding: bool,
}

/// The arena and pairs of one request.
#[derive(Debug, Default)]
pub(crate) struct Fields {
    /// Every stored byte: names, decoded values.
    pub(crate) bytes: Vec<u8>,
    /// Every pair, in the order found.
    pub(crate) pairs: Vec<Pair>,
    /// Reusable buffer parsers may use for temporary work (for example the
    /// JSON path being built). Its content is unspecified between calls.
    pub(crate) work: Vec<u8>,
    /// The JSON parser's open containers (see `json`); empty between calls.
    pub(crate) json_levels: Vec<super::json::Level>,
    /// Most argument pairs (query, form, JSON, multipart fields and files)
    /// accepted; see [`Fields::push_arg`].
    pub(crate) max_args: usize,
    /// Argument pairs accepted so far.
    pub(crate) arg_count: usize,
    /// Bytes of uploaded file contents (multipart parts with a file name),
    /// which are not copied (SecLang `FILES_COMBINED_SIZE`).
    pub(crate) file_bytes: u64,
}

impl Fields {
    /// Forgets every value, keeping the memory.
    pub(crate) fn clear(&mut self) {
        self.bytes.clear();
        self.pairs.clear();
        self.work.clear();
        self.json_levels.clear();
        self.arg_count = 0;
        self.file_bytes = 0;
    }

    /// Appends bytes to the arena and returns their range.
    pub(crate) fn push_bytes(&mut self, bytes: &[u8]) -> ByteRange {
        let start = self.mark();
        self.bytes.extend_from_slice(bytes);
        self.range_from(start)
    }

    /// The current end of the arena: write bytes after it, then call
    /// [`Fields::range_from`] to get their range.
    pub(crate) fn mark(&self) -> u32 {
        // The arena is bounded by the configured limits, far below 4 GiB.
        u32::try_from(self.bytes.len()).unwrap_or(u32::MAX)
    }

    /// The range from `start` (a [`Fields::mark`]) to the end of the arena.
    pub(crate) fn range_from(&self, start: u32) -> ByteRange {
        ByteRange { start, end: self.mark() }
    }

    /// The bytes of a range.
    pub(crate) fn get(&self, range: ByteRange) -> &[u8] {
        self.bytes.get(range.start as usize..range.end as usize).unwrap_or(&[])
    }

    /// Adds a pair that is not an argument (header, cookie, part header).
    pub(crate) fn push_pair(&mut self, origin: Origin, name: ByteRange, value: ByteRange) {
        self.pairs.push(Pair { origin, name, value });
    }

    /// Adds an argument pair (query, form, JSON, multipart field or file) unless
    /// the argument limit is reached. Returns false, storing nothing, when it is;
    /// the caller then stops and reports `limit_exceeded`. The bytes of a
    /// refused pair stay in the arena (harmless; cleared with the request).
    pub(crate) fn push_arg(&mut self, origin: Origin, name: ByteRange, value: ByteRange) -> bool {
        if self.arg_count >= self.max_args {
            return false;
        }
        self.arg_count += 1;
        self.pairs.push(Pair { origin, name, value });
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_point_into_the_arena() {
        let mut f = Fields { max_args: 1, ..Fields::default() };
        let n = f.push_bytes(b"id");
        let v = f.push_bytes(b"42");
        assert_eq!(f.get(n), b"id");
        assert_eq!(f.get(v), b"42");
        assert!(f.push_arg(Origin::Query, n, v));
        assert!(!f.push_arg(Origin::Query, n, v), "second argument is over the limit");
        f.clear();
        assert!(f.bytes.is_empty() && f.pairs.is_empty() && f.arg_count == 0);
    }
}
