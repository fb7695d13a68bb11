//! [`Scratch`]: per-thread working memory for evaluation.

use regex_automata::PatternSet;
use regex_automata::meta;

use super::clean_cache::CleanCache;
use crate::compile::Ruleset;
use crate::request::Fields;
use crate::transform::byteset::ByteSet;

/// Sentinel start: a member hit whose position is not known yet (a regex-set hit).
pub(crate) const UNKNOWN: u32 = u32::MAX;
/// Sentinel hit slot: not hit.
pub(crate) const NOT_HIT: (u32, u32) = (UNKNOWN, UNKNOWN);

/// Working memory for evaluation: regex caches, transform buffers, per-value
/// hit state. Use one per thread, with any number of transactions in turn. It
/// grows to the largest request seen and is cleared, never freed, between
/// values; it follows a reload by itself (it notices the ruleset changed).
#[derive(Debug)]
pub struct Scratch {
    pub(crate) ruleset_id: u64,
    /// One buffer per depth of the pipeline tries, for the value being scanned.
    pub(crate) bufs: Vec<Vec<u8>>,
    /// Where each depth's output is while a trie is walked.
    pub(crate) outs: Vec<Out>,
    /// The class of each depth's output, once known.
    pub(crate) out_class: Vec<Option<usize>>,
    /// The distinct transformed texts of the value being scanned.
    pub(crate) classes: Classes,
    /// The groups of the current source that read the current key (one mask
    /// per merged scanner).
    pub(crate) active: Vec<u64>,
    /// Buffers for condition evaluation (separate from the scan's).
    pub(crate) cond_bufs: [Vec<u8>; 2],
    pub(crate) work: Work,
    /// Buffers of the SecLang walk.
    pub(crate) sec: super::sec::SecScratch,
    /// Values whose scan found nothing (see [`CleanCache`]).
    pub(crate) clean: CleanCache,
    /// The pairs of a text counted but not parsed, when a condition reads
    /// them (`RequestData::parse_unparsed`).
    pub(crate) unparsed: Fields,
    /// Where the parts of a request's header block end (`exec::header_block`).
    pub(crate) block_key: Vec<u8>,
}

/// Where a transformed value is: the value itself, or a scratch buffer.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Out {
    Input,
    Buf(usize),
}

/// The distinct transformed texts of one value, each with the mask of the
/// groups (per merged scanner) whose pipelines produced it. A text equal to
/// the value itself is not copied; others are copied into reusable buffers,
/// since the trie walk overwrites its own buffers.
#[derive(Debug, Default)]
pub(crate) struct Classes {
    /// Per class: None for the value itself, or the buffer holding the text.
    texts: Vec<Option<usize>>,
    /// Per class: the bytes its text contains.
    byte_sets: Vec<ByteSet>,
    /// The bytes of the value itself, once computed for this value.
    value_bytes: Option<ByteSet>,
    bufs: Vec<Vec<u8>>,
    /// `classes x chunks` masks.
    masks: Vec<u64>,
    chunks: usize,
}

impl Classes {
    /// Starts a value whose source has `chunks` merged scanners.
    pub(crate) fn begin(&mut self, chunks: usize) {
        self.texts.clear();
        self.byte_sets.clear();
        self.value_bytes = None;
        self.masks.clear();
        self.chunks = chunks;
    }

    /// The number of distinct texts.
    pub(crate) fn len(&self) -> usize {
        self.texts.len()
    }

    /// The bytes the value contains (computed once per value).
    pub(crate) fn value_bytes(&mut self, value: &[u8]) -> ByteSet {
        *self.value_bytes.get_or_insert_with(|| ByteSet::of_text(value))
    }

    /// The bytes the text of class `c` contains.
    pub(crate) fn bytes(&mut self, c: usize, value: &[u8]) -> ByteSet {
        match self.texts[c] {
            None => self.value_bytes(value),
            Some(_) => self.byte_sets[c],
        }
    }

    /// The text of class `c`.
    pub(crate) fn text<'a>(&'a self, c: usize, value: &'a [u8]) -> &'a [u8] {
        match self.texts[c] {
            None => value,
            Some(b) => &self.bufs[b],
        }
    }

    /// The class of text `t` (`is_value`: `t` is the value itself), made if new.
    pub(crate) fn class_of(&mut self, t: &[u8], value: &[u8], is_value: bool) -> usize {
        let found = self.texts.iter().position(|&slot| match slot {
            None => is_value || t == value,
            Some(b) => !is_value && self.bufs[b] == t,
        });
        if let Some(c) = found {
            return c;
        }
        if is_value || t == value {
            self.texts.push(None);
            self.byte_sets.push(ByteSet::EMPTY);
        } else {
            self.byte_sets.push(ByteSet::of_text(t));
            let b = self.texts.iter().filter(|s| s.is_some()).count();
            if self.bufs.len() <= b {
                self.bufs.push(Vec::new());
            }
            self.bufs[b].clear();
            self.bufs[b].extend_from_slice(t);
            self.texts.push(Some(b));
        }
        self.masks.resize(self.texts.len() * self.chunks, 0);
        self.texts.len() - 1
    }

    /// Adds a class for a text known to differ from the value and from
    /// every class so far, whose bytes are known: `write` puts the text
    /// into a buffer of the classes (no search, no second copy, no pass
    /// over its bytes).
    pub(crate) fn push_distinct(&mut self, bytes: ByteSet, write: impl FnOnce(&mut Vec<u8>)) -> usize {
        let b = self.texts.iter().filter(|s| s.is_some()).count();
        if self.bufs.len() <= b {
            self.bufs.push(Vec::new());
        }
        self.bufs[b].clear();
        write(&mut self.bufs[b]);
        self.byte_sets.push(bytes);
        self.texts.push(Some(b));
        self.masks.resize(self.texts.len() * self.chunks, 0);
        self.texts.len() - 1
    }

    /// Adds groups (a mask of chunk `chunk`) to class `c`.
    pub(crate) fn add(&mut self, c: usize, chunk: usize, groups: u64) {
        self.masks[c * self.chunks + chunk] |= groups;
    }

    /// The groups of chunk `k` that class `c` stands for.
    pub(crate) fn mask(&self, c: usize, k: usize) -> u64 {
        self.masks[c * self.chunks + k]
    }
}

/// The parts of the scratch the scanner mutates while a transformed value is
/// borrowed from [`Scratch::bufs`].
#[derive(Debug, Default)]
pub(crate) struct Work {
    /// One cache per compiled regex, made on first use.
    pub(crate) regex_caches: Vec<Option<meta::Cache>>,
    /// Per scanner, one cache per regex-set chunk, made on first use.
    pub(crate) set_caches: Vec<Vec<Option<meta::Cache>>>,
    /// Per scanner, one pattern set per regex-set chunk (sized to it).
    pub(crate) patsets: Vec<Vec<PatternSet>>,
    /// Per scanner member: (start, end) of its hit on the current value,
    /// (UNKNOWN, 0) when hit at an unknown place, NOT_HIT otherwise.
    pub(crate) hit: Vec<(u32, u32)>,
    /// Per scanner member: a required literal occurred.
    pub(crate) candidate: Vec<bool>,
    /// Members hit on the current value.
    pub(crate) touched: Vec<u32>,
    /// Members that became candidates on the current value.
    pub(crate) candidates: Vec<u32>,
    /// The current value's scan matched something, or skipped an operator
    /// of a rule decided or gated for this request: it is not remembered as
    /// clean.
    pub(crate) value_dirty: bool,
    /// Rules to decide, with their hit (or u32::MAX), sorted by rule.
    pub(crate) order: Vec<(u32, u32)>,
    /// The Aho-Corasick passes run on the current value: (class, scanner
    /// chunk, range of `ac_matches`), for the passes whose matches were all
    /// kept. A later text equal to that class's text but for ASCII case (the
    /// automata ignore ASCII case) replays them instead of scanning again.
    pub(crate) ac_passes: Vec<(u32, u32, std::ops::Range<u32>)>,
    /// (pattern, start, end) of the logged passes' matches.
    pub(crate) ac_matches: Vec<(u32, u32, u32)>,
}

/// Most Aho-Corasick matches kept per value for replay; a pass with more is
/// not logged (the twin text is scanned again), so the log stays small
/// whatever the request.
pub(crate) const AC_LOG_MAX: usize = 4096;

impl Scratch {
    /// Forgets the values remembered as clean (see
    /// [`crate::Config::value_cache_bytes`]), so that the next requests are
    /// scanned in full until their values repeat. Benchmarks call it between
    /// passes over a corpus, so a pass gains only from values repeating within
    /// it, as live traffic does. Allocates nothing.
    pub fn clear_value_cache(&mut self) {
        self.clean.clear();
    }

    /// The id of the ruleset this scratch is sized for ([`crate::Ruleset::id`]).
    pub fn ruleset_id(&self) -> u64 {
        self.ruleset_id
    }

    pub(crate) fn for_ruleset(rs: &Ruleset) -> Scratch {
        let mut s = Scratch {
            ruleset_id: 0,
            bufs: Vec::new(),
            outs: Vec::new(),
            out_class: Vec::new(),
            classes: Classes::default(),
            active: Vec::new(),
            cond_bufs: Default::default(),
            work: Work::default(),
            sec: Default::default(),
            clean: CleanCache::default(),
            unparsed: Fields::default(),
            block_key: Vec::new(),
        };
        s.follow(rs);
        s
    }

    /// Makes the scratch fit `rs` if it was made for another ruleset.
    pub(crate) fn follow(&mut self, rs: &Ruleset) {
        if self.ruleset_id == rs.id() {
            return;
        }
        self.ruleset_id = rs.id();
        // What was clean under the old rules may not be under the new ones.
        self.clean.reset(rs.config().get_value_cache_bytes());
        self.bufs.resize_with(rs.plan.max_depth + 1, Vec::new);
        self.outs.clear();
        self.outs.resize(rs.plan.max_depth + 1, Out::Input);
        self.out_class.clear();
        self.out_class.resize(rs.plan.max_depth + 1, None);
        let w = &mut self.work;
        w.regex_caches.clear();
        w.regex_caches.resize_with(rs.program.regexes.len(), || None);
        w.set_caches.clear();
        w.patsets.clear();
        for s in &rs.plan.scanners {
            w.set_caches.push(s.sets.iter().map(|_| None).collect());
            w.patsets.push(s.sets.iter().map(|c| PatternSet::new(c.regex.pattern_len())).collect());
        }
        w.hit.clear();
        w.hit.resize(rs.plan.max_members, NOT_HIT);
        w.candidate.clear();
        w.candidate.resize(rs.plan.max_members, false);
        w.touched.clear();
        w.candidates.clear();
        w.order.clear();
        self.sec.follow(rs);
    }
}

impl Work {
    /// Forgets the previous value's hits.
    pub(crate) fn begin_value(&mut self) {
        for &m in &self.touched {
            self.hit[m as usize] = NOT_HIT;
        }
        for &m in &self.candidates {
            self.candidate[m as usize] = false;
        }
        self.touched.clear();
        self.candidates.clear();
    }

    /// Records that member `m` matched at [start, end) (the first known place
    /// wins); `start == UNKNOWN` records a hit whose place is not known yet.
    pub(crate) fn hit(&mut self, m: u32, start: u32, end: u32) {
        let slot = &mut self.hit[m as usize];
        if *slot == NOT_HIT {
            *slot = (start, end);
            self.touched.push(m);
        } else if slot.0 == UNKNOWN && start != UNKNOWN {
            *slot = (start, end);
        }
    }

    /// True when member `m` matched the current value.
    pub(crate) fn is_hit(&self, m: u32) -> bool {
        self.hit[m as usize] != NOT_HIT
    }

    /// Records that a required literal of member `m`'s regex occurred.
    pub(crate) fn candidate(&mut self, m: u32) {
        let c = &mut self.candidate[m as usize];
        if !*c {
            *c = true;
            self.candidates.push(m);
        }
    }

    /// The cache of regex `id`, made on first use.
    pub(crate) fn regex_cache(&mut self, id: u32, regex: &meta::Regex) -> &mut meta::Cache {
        self.regex_caches[id as usize].get_or_insert_with(|| regex.create_cache())
    }
}
