//! [`HeaderIndex`]: a request's headers by the names its ruleset's
//! conditions use.

use super::fields::{Fields, Origin};

/// The request's headers by the names conditions use (see
/// `compile::ir::KeyIndex`): a condition on `headers["host"]` reads a count
/// or a short list instead of comparing every request field's key with its
/// names. Updated at the start of each phase's evaluation with the headers
/// added since; cleared with the request.
#[derive(Debug, Default)]
pub(crate) struct HeaderIndex {
    /// Per name of `Program::cond_headers`: how many headers have it.
    pub(crate) counts: Vec<u32>,
    /// The headers with one of those names: (pair index, name id), in
    /// request order.
    pub(crate) named: Vec<(u32, u16)>,
    /// Pairs of the request looked at so far.
    indexed: usize,
}

impl HeaderIndex {
    pub(crate) fn clear(&mut self) {
        self.counts.clear();
        self.named.clear();
        self.indexed = 0;
    }

    /// Indexes the pairs of `fields` added since the last update by `names`
    /// (lower case, the same list at every update until [`Self::clear`]).
    pub(crate) fn update(&mut self, names: &[Box<[u8]>], fields: &Fields) {
        self.counts.resize(names.len(), 0);
        let from = self.indexed.min(fields.pairs.len());
        for (i, pair) in fields.pairs[from..].iter().enumerate() {
            if pair.origin != Origin::Header {
                continue;
            }
            let key = fields.get(pair.name);
            if let Some(id) = names.iter().position(|n| n.len() == key.len() && n.eq_ignore_ascii_case(key)) {
                self.counts[id] += 1;
                self.named.push(((from + i) as u32, id as u16));
            }
        }
        self.indexed = fields.pairs.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<Box<[u8]>> {
        list.iter().map(|n| n.as_bytes().into()).collect()
    }

    fn push(fields: &mut Fields, origin: Origin, name: &[u8], value: &[u8]) {
        let name = fields.push_bytes(name);
        let value = fields.push_bytes(value);
        fields.push_pair(origin, name, value);
    }

    #[test]
    fn counts_and_lists_named_headers_across_updates() {
        let names = names(&["host", "x-a"]);
        let mut fields = Fields::default();
        push(&mut fields, Origin::Header, b"Host", b"h");
        push(&mut fields, Origin::Query, b"host", b"not a header");
        push(&mut fields, Origin::Header, b"X-A", b"1");
        push(&mut fields, Origin::Header, b"Accept", b"*/*");
        let mut index = HeaderIndex::default();
        index.update(&names, &fields);
        assert_eq!(index.counts, [1, 1]);
        assert_eq!(index.named, [(0, 0), (2, 1)]);
        // A late header is added by the next update, once.
        push(&mut fields, Origin::Header, b"x-a", b"2");
        index.update(&names, &fields);
        index.update(&names, &fields);
        assert_eq!(index.counts, [1, 2]);
        assert_eq!(index.named, [(0, 0), (2, 1), (4, 1)]);
        index.clear();
        assert_eq!((index.counts.len(), index.named.len()), (0, 0));
        index.update(&names, &fields);
        assert_eq!(index.counts, [1, 2]);
    }
}
