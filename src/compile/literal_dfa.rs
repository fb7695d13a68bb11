//! [`LiteralDfa`]: the overlapping literal search of a scanner with a small
//! literal set, as a byte-class DFA with a four-instruction inner loop.
//!
//! A scanner's literals (phrase lists, regex prefilter literals) are found by
//! an overlapping, ASCII-case-insensitive Aho-Corasick search: every pattern
//! ending at every position. The `aho-corasick` crate's overlapping search
//! costs about 18 instructions per byte even on its DFA (measured on a 1.1 MB
//! body: 19.9M instructions), which dominates long texts (request bodies,
//! tokens). For the small literal sets (pattern bytes up to 8 KiB, a table
//! within 1 MiB), the scanner uses the same automaton built here instead:
//!
//! - bytes map to classes, ASCII letters of both cases to one class, bytes
//!   that occur in no pattern to class 0;
//! - transitions are dense, premultiplied by the number of classes, with
//!   bit 31 set on states that end a pattern, so the loop is a class load, a
//!   table load and a flag test per byte;
//! - a state's matches are its own pattern, then those of its failure state
//!   (longest first), the order in which `aho-corasick` reports them; a unit
//!   test and a property test check that every search reports exactly the
//!   crate's matches, in the crate's order.

/// See the [module documentation](self).
#[derive(Debug)]
pub(crate) struct LiteralDfa {
    /// Class of each byte.
    classes: [u8; 256],
    /// Number of classes: the row length of `trans`.
    stride: u32,
    /// `trans[state * stride + class]`: the next state, premultiplied by
    /// `stride`, with [`MATCH`] set when that state ends a pattern.
    trans: Vec<u32>,
    /// Matches of state `i`: `outputs[out_start[i]..out_start[i + 1]]`.
    out_start: Vec<u32>,
    outputs: Vec<u32>,
    /// Length of each pattern.
    lens: Vec<u32>,
}

/// Set on transitions into a state that ends a pattern.
const MATCH: u32 = 1 << 31;

/// Marks a missing trie edge while building.
const NONE: u32 = u32::MAX;

impl LiteralDfa {
    /// The DFA of `patterns` (ASCII case ignored), or `None` if a pattern is
    /// empty or the table would take more than `memory_limit` bytes.
    pub(crate) fn new(patterns: &[Vec<u8>], memory_limit: usize) -> Option<LiteralDfa> {
        if patterns.is_empty() || patterns.iter().any(Vec::is_empty) {
            return None;
        }
        // Classes: one per distinct (case-folded) pattern byte, 0 for the rest.
        let mut classes = [0u8; 256];
        let mut stride = 1u32;
        for &b in patterns.iter().flatten() {
            let lower = b.to_ascii_lowercase();
            if classes[usize::from(lower)] == 0 {
                if stride > 255 {
                    return None;
                }
                classes[usize::from(lower)] = stride as u8;
                classes[usize::from(lower.to_ascii_uppercase())] = stride as u8;
                stride += 1;
            }
        }
        let states_max: usize = 1 + patterns.iter().map(Vec::len).sum::<usize>();
        if states_max.saturating_mul(stride as usize).saturating_mul(4) > memory_limit {
            return None;
        }
        let s = stride as usize;
        // The trie, rows of `stride` edges.
        let mut trans: Vec<u32> = vec![NONE; s];
        let mut own: Vec<Option<u32>> = vec![None];
        for (id, p) in patterns.iter().enumerate() {
            let mut state = 0usize;
            for &b in p {
                let c = usize::from(classes[usize::from(b)]);
                let next = trans[state * s + c];
                state = if next == NONE {
                    let new = own.len();
                    trans[state * s + c] = new as u32;
                    trans.extend(std::iter::repeat_n(NONE, s));
                    own.push(None);
                    new
                } else {
                    next as usize
                };
            }
            // Patterns are distinct: the first one wins if not.
            own[state].get_or_insert(id as u32);
        }
        let n = own.len();
        // Failure links breadth first; missing edges become the failure
        // state's; each state's matches are its own, then its failure state's.
        let mut fail = vec![0u32; n];
        let mut matches: Vec<Vec<u32>> = vec![Vec::new(); n];
        let mut queue = std::collections::VecDeque::new();
        for edge in &mut trans[..s] {
            match *edge {
                NONE => *edge = 0,
                // The root's children fail to the root (`fail` starts at 0).
                child => queue.push_back(child as usize),
            }
        }
        while let Some(state) = queue.pop_front() {
            let f = fail[state] as usize;
            let mut m: Vec<u32> = own[state].into_iter().collect();
            m.extend_from_slice(&matches[f]);
            matches[state] = m;
            for c in 0..s {
                let edge = trans[state * s + c];
                let via_fail = trans[f * s + c];
                if edge == NONE {
                    trans[state * s + c] = via_fail;
                } else {
                    fail[edge as usize] = via_fail;
                    queue.push_back(edge as usize);
                }
            }
        }
        for t in &mut trans {
            let next = *t as usize;
            *t = (next * s) as u32 | if matches[next].is_empty() { 0 } else { MATCH };
        }
        let mut out_start = Vec::with_capacity(n + 1);
        let mut outputs = Vec::new();
        for m in &matches {
            out_start.push(outputs.len() as u32);
            outputs.extend_from_slice(m);
        }
        out_start.push(outputs.len() as u32);
        let lens = patterns.iter().map(|p| p.len() as u32).collect();
        Some(LiteralDfa { classes, stride, trans, out_start, outputs, lens })
    }

    /// Calls `f(pattern, start, end)` for every match in `t`, overlapping
    /// ones included, by end position (as `aho-corasick`'s overlapping
    /// search reports them).
    #[inline]
    pub(crate) fn for_each_match(&self, t: &[u8], mut f: impl FnMut(usize, usize, usize)) {
        let mut state = 0u32;
        for (i, &b) in t.iter().enumerate() {
            // Always in range: a row start plus a class below the row length
            // (`get` keeps the loop free of a panic path).
            let at = (state & !MATCH) as usize + usize::from(self.classes[usize::from(b)]);
            state = self.trans.get(at).copied().unwrap_or(0);
            if state & MATCH != 0 {
                let index = (state & !MATCH) as usize / self.stride as usize;
                let (from, to) = (self.out_start[index] as usize, self.out_start[index + 1] as usize);
                for &p in &self.outputs[from..to] {
                    let end = i + 1;
                    f(p as usize, end - self.lens[p as usize] as usize, end);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aho_corasick::{AhoCorasickBuilder, MatchKind};
    use proptest::prelude::*;

    /// Matches as the scanner's `aho-corasick` automaton reports them.
    fn crate_matches(patterns: &[Vec<u8>], t: &[u8]) -> Vec<(usize, usize, usize)> {
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .match_kind(MatchKind::Standard)
            .build(patterns)
            .expect("automaton");
        ac.find_overlapping_iter(t).map(|m| (m.pattern().as_usize(), m.start(), m.end())).collect()
    }

    fn dfa_matches(patterns: &[Vec<u8>], t: &[u8]) -> Vec<(usize, usize, usize)> {
        let dfa = LiteralDfa::new(patterns, 1 << 20).expect("dfa");
        let mut found = Vec::new();
        dfa.for_each_match(t, |p, s, e| found.push((p, s, e)));
        found
    }

    #[test]
    fn finds_what_the_crate_finds_in_its_order() {
        let patterns: Vec<Vec<u8>> = ["he", "she", "his", "hers", "<script", "script", "s", "\u{e9}t\u{e9}", "\x00a"]
            .iter()
            .map(|p| p.as_bytes().to_ascii_lowercase())
            .collect();
        for t in ["ushers", "", "SHE said HIS <SCRIPT>", "sss", "\u{e9}t\u{e9} \u{c9}T\u{c9}", "\x00A\x00a"] {
            assert_eq!(dfa_matches(&patterns, t.as_bytes()), crate_matches(&patterns, t.as_bytes()), "{t:?}");
        }
    }

    #[test]
    fn refuses_empty_patterns_and_tables_over_the_limit() {
        assert!(LiteralDfa::new(&[b"a".to_vec(), Vec::new()], 1 << 20).is_none());
        assert!(LiteralDfa::new(&[], 1 << 20).is_none());
        assert!(LiteralDfa::new(&[b"abcdef".to_vec()], 16).is_none());
    }

    proptest! {
        #[test]
        fn any_search_reports_the_crate_matches(
            patterns in proptest::collection::hash_set("[abAB.\\-<]{1,5}", 1..12),
            text in "[abcABC.\\-< ]{0,64}",
        ) {
            let mut patterns: Vec<Vec<u8>> = patterns.into_iter().map(|p| p.into_bytes().to_ascii_lowercase()).collect();
            patterns.sort();
            patterns.dedup();
            prop_assert_eq!(dfa_matches(&patterns, text.as_bytes()), crate_matches(&patterns, text.as_bytes()));
        }

        #[test]
        fn any_bytes_search_like_the_crate(
            patterns in proptest::collection::vec(
                proptest::collection::vec(proptest::sample::select(&b"aAbZz\x00\xc3\xa9\xff-"[..]), 1..7), 1..20),
            text in proptest::collection::vec(proptest::sample::select(&b"aAbBZz\x00\xc3\xa9\xc9\xff- "[..]), 0..128),
        ) {
            let mut patterns: Vec<Vec<u8>> = patterns.into_iter().map(|p| p.to_ascii_lowercase()).collect();
            patterns.sort();
            patterns.dedup();
            prop_assert_eq!(dfa_matches(&patterns, &text), crate_matches(&patterns, &text));
        }
    }
}
