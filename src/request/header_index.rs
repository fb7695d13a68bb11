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

/// Names (lower case) with their ids, looked up case-insensitively among
/// the names of the key's length. The names of one length are stored one
/// after the other in one array, so that a lookup reads a line or two
/// rather than one allocation per name.
#[derive(Debug, Default)]
pub(crate) struct NameIds {
    /// Per length: where the names of that length are.
    by_len: Vec<LenGroup>,
    /// The names, grouped by length (a group's names are `n` bytes each).
    bytes: Vec<u8>,
    /// The id of each name, in the order of `bytes`.
    ids: Vec<u16>,
    count: usize,
}

/// The names of one length in [`NameIds`].
#[derive(Clone, Copy, Debug, Default)]
struct LenGroup {
    /// Where their bytes start in `NameIds::bytes`.
    at: u32,
    /// Where their ids are in `NameIds::ids`.
    ids: (u32, u32),
}

impl NameIds {
    /// `names[i]` gets id `i` (at most `u16::MAX` names are kept).
    pub(crate) fn new(names: &[Box<[u8]>]) -> NameIds {
        let mut sorted: Vec<(&[u8], u16)> =
            names.iter().take(usize::from(u16::MAX)).enumerate().map(|(id, n)| (&**n, id as u16)).collect();
        sorted.sort_by_key(|&(n, id)| (n.len(), id));
        let longest = sorted.last().map_or(0, |(n, _)| n.len());
        let mut ids =
            NameIds { by_len: vec![LenGroup::default(); longest + 1], count: names.len(), ..NameIds::default() };
        for (name, id) in sorted {
            let group = &mut ids.by_len[name.len()];
            if group.ids.0 == group.ids.1 {
                *group = LenGroup { at: ids.bytes.len() as u32, ids: (ids.ids.len() as u32, ids.ids.len() as u32) };
            }
            ids.bytes.extend_from_slice(name);
            ids.ids.push(id);
            group.ids.1 += 1;
        }
        ids
    }

    /// The id of the name `key` is (ASCII case-insensitively).
    fn id(&self, key: &[u8]) -> Option<u16> {
        let group = self.by_len.get(key.len())?;
        let (first, end) = (group.ids.0 as usize, group.ids.1 as usize);
        if key.is_empty() {
            return (first < end).then(|| self.ids[first]);
        }
        let at = group.at as usize;
        let names = &self.bytes[at..at + (end - first) * key.len()];
        names.chunks_exact(key.len()).position(|n| n.eq_ignore_ascii_case(key)).map(|i| self.ids[first + i])
    }
}

impl HeaderIndex {
    pub(crate) fn clear(&mut self) {
        self.counts.clear();
        self.named.clear();
        self.indexed = 0;
    }

    /// Indexes the pairs of `fields` added since the last update by `names`
    /// (the same at every update until [`Self::clear`]).
    pub(crate) fn update(&mut self, names: &NameIds, fields: &Fields) {
        self.counts.resize(names.count, 0);
        let from = self.indexed.min(fields.pairs.len());
        for (i, pair) in fields.pairs[from..].iter().enumerate() {
            if pair.origin != Origin::Header {
                continue;
            }
            if let Some(id) = names.id(fields.get(pair.name)) {
                self.counts[usize::from(id)] += 1;
                self.named.push(((from + i) as u32, id));
            }
        }
        self.indexed = fields.pairs.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> NameIds {
        NameIds::new(&list.iter().map(|n| n.as_bytes().into()).collect::<Vec<Box<[u8]>>>())
    }

    fn push(fields: &mut Fields, origin: Origin, name: &[u8], value: &[u8]) {
        let name = fields.push_bytes(name);
        let value = fields.push_bytes(value);
        fields.push_pair(origin, name, value);
    }

    #[test]
    fn names_are_found_by_length_and_case_insensitively() {
        let ids = names(&["host", "x-a", "user-agent", "te"]);
        assert_eq!(ids.id(b"HOST"), Some(0));
        assert_eq!(ids.id(b"User-Agent"), Some(2));
        assert_eq!(ids.id(b"te"), Some(3));
        for absent in [&b""[..], b"hos", b"hosts", b"x-b", b"a-very-long-header-name"] {
            assert_eq!(ids.id(absent), None, "{absent:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn ids_are_the_first_case_insensitive_equal_name(
            list in proptest::collection::vec("[a-cA-C-]{0,4}", 0..12),
            probes in proptest::collection::vec("[a-cA-C-]{0,5}", 0..12),
        ) {
            let table = NameIds::new(&list.iter().map(|n| n.as_bytes().into()).collect::<Vec<Box<[u8]>>>());
            for p in list.iter().chain(&probes) {
                let want = list.iter().position(|n| n.eq_ignore_ascii_case(p)).map(|i| i as u16);
                proptest::prop_assert_eq!(table.id(p.as_bytes()), want, "{}", p);
            }
        }
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
