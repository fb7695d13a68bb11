//! [`CleanCache`]: a per-thread memory of request values whose scan found
//! nothing.
//!
//! Most of a request's values repeat across requests: `Host`, `Accept`,
//! `Accept-Encoding`, `Accept-Language`, `Connection`, the user agents of a
//! handful of clients, content types, common argument values. The scan of a
//! value is a function of the ruleset, the value's source, its key and its
//! bytes alone (request state can only turn a scan's hits away, never add
//! one), so a value whose full scan found nothing finds nothing again: the
//! cache lets [`super::exec`] skip it.
//!
//! Soundness does not rest on a hash: an entry is found by a hash and then
//! compared byte for byte (source, key and value). Only a scan that evaluated
//! every operator it reached and matched none is remembered: rules gated for
//! this request are evaluated anyway on a value the cache will keep, and a
//! scan that skipped an operator because its rule was already decided in this
//! request is not remembered (what the operator would have said is unknown).
//!
//! The values of JSON bodies are kept without their key where the key
//! cannot change the scan: when no rule reading them leaves keys out, a key
//! acts on a scan only by the rules it selects (`args["token"]`), and a
//! value whose key selects none is kept under its source alone (with a
//! flag, `exec::KEY_FREE`). The same value in every item of an array
//! (`items.0.status`, `items.1.status`, ...) is then scanned once. Other
//! sources keep the key: their keys repeat across requests, and a lookup
//! by key skips the key matchers.
//!
//! Memory is fixed when the cache is made: a ring of entry bytes and a table
//! of slots pointing into it. A new entry overwrites the oldest bytes of the
//! ring, and the slots pointing there stop matching; a hash collision only
//! replaces a slot. Nothing is allocated per request, and hostile traffic can
//! at worst make every lookup miss, which costs what the scan costs anyway.
//!
//! Long values (tokens, request bodies) are mostly unique, and each would
//! push dozens of short entries out of the ring; so an entry longer than
//! [`ADMIT_FREE`] is only written when the same value comes a second time (a
//! table of hashes, the "doorkeeper", remembers the first sighting), and its
//! first scan does not do the extra work of learning (see `exec::learns`).
//! A long value that does repeat (an identical body, a client's bearer
//! token) is then skipped like a short one.
//!
//! The cache also keeps texts the request's pairs are parsed from (a query
//! string, a single `Cookie` header, an urlencoded or JSON body) under
//! source bytes of their own, once every pair parsed from them was found
//! clean: when such a text comes again, `exec::scan_phase` skips its pairs
//! without looking each one up. A request's headers, when the host added
//! them one after the other, are kept the same way as one block (the names
//! and values in order, keyed by where each ends): a client's requests
//! mostly repeat their headers, and one lookup answers for all of them.
//!
//! And it keeps the results of costly condition operators (a regex on
//! `Content-Type`, say, which gated rules ask in both phases of every
//! request with a body): an operator on a transformed value is a function of
//! the two, so `cond` keeps (pipeline, operator, value) with the result in
//! the source byte, true or false alike.

/// Longest entry remembered (a byte for the source, then key and value), and
/// at most a sixteenth of the ring.
pub(crate) const MAX_ENTRY: usize = 16 << 10;

/// Entries up to this length are written the first time; longer ones the
/// second.
const ADMIT_FREE: usize = 256;

/// Smallest ring: below it the cache is off.
pub(crate) const MIN_BYTES: usize = 4096;

/// Ring bytes per slot: entries average well under this, so the ring, not the
/// table, decides how many values are kept.
const BYTES_PER_SLOT: usize = 32;

/// Slots per doorkeeper entry.
const SLOTS_PER_DOOR: usize = 8;

/// See the [module documentation](self).
#[derive(Debug, Default)]
pub(crate) struct CleanCache {
    slots: Box<[Slot]>,
    ring: Box<[u8]>,
    /// Hashes of long entries seen once (0: none).
    door: Box<[u64]>,
    /// Bytes written since the cache was made or cleared. Positions are
    /// absolute: the entry written at `at` is intact while `pos - at` is at
    /// most the ring's length (later writes land elsewhere in the ring).
    pos: u64,
}

/// Where an entry is in the ring: `[source][key][value]` from `at`.
#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    at: u64,
    /// The entry's hash (its low half); 0 for an empty slot (hashes have
    /// their low bit set).
    hash: u32,
    key_len: u16,
    value_len: u16,
}

impl CleanCache {
    /// A cache of about `bytes` bytes of ring (rounded down to a power of
    /// two); below [`MIN_BYTES`] the cache is off and remembers nothing.
    pub(crate) fn with_bytes(bytes: usize) -> CleanCache {
        let ring = ring_bytes(bytes);
        if ring == 0 {
            return CleanCache::default();
        }
        let slots = ring / BYTES_PER_SLOT;
        CleanCache {
            slots: vec![Slot::default(); slots].into_boxed_slice(),
            ring: vec![0; ring].into_boxed_slice(),
            door: vec![0; slots / SLOTS_PER_DOOR].into_boxed_slice(),
            pos: 0,
        }
    }

    /// Empties the cache and gives it the size [`CleanCache::with_bytes`]
    /// would, allocating only if the size changes.
    pub(crate) fn reset(&mut self, bytes: usize) {
        if ring_bytes(bytes) == self.ring.len() {
            self.clear();
        } else {
            *self = CleanCache::with_bytes(bytes);
        }
    }

    /// The ring's size in bytes (0 when the cache is off).
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.ring.len()
    }

    /// Forgets every entry.
    pub(crate) fn clear(&mut self) {
        self.slots.fill(Slot::default());
        self.door.fill(0);
        self.pos = 0;
    }

    /// Whether the cache has memory (`value_cache_bytes` is not 0).
    pub(crate) fn is_on(&self) -> bool {
        !self.ring.is_empty()
    }

    /// Whether the cache can hold a value of `value_len` bytes with a key of
    /// `key_len`: it is on, and the entry is short enough.
    pub(crate) fn takes(&self, key_len: usize, value_len: usize) -> bool {
        let len = 1 + key_len + value_len;
        !self.ring.is_empty() && len <= MAX_ENTRY && len <= self.ring.len() / 16
    }

    /// Whether (`source`, `key`, `value`) was remembered as clean. `hash` is
    /// [`entry_hash`] of the same three.
    pub(crate) fn contains(&self, hash: u64, source: u8, key: &[u8], value: &[u8]) -> bool {
        self.source_of(hash, key, value) == Some(source)
    }

    /// The source byte of the entry (`key`, `value`) under `hash`, if one is
    /// kept: for entries whose source byte is the data (see
    /// `cond::memo_op`), written with a hash that does not depend on it.
    pub(crate) fn source_of(&self, hash: u64, key: &[u8], value: &[u8]) -> Option<u8> {
        let slot = self.slot(hash, key.len(), value.len())?;
        let start = self.ring_offset(slot.at);
        let entry = &self.ring[start..start + entry_len(key, value)];
        (&entry[1..1 + key.len()] == key && &entry[1 + key.len()..] == value).then_some(entry[0])
    }

    /// Whether an entry with this hash and these lengths may be kept: false
    /// says [`CleanCache::contains`] would, without reading its bytes (so a
    /// caller can put off making a key).
    pub(crate) fn may_contain(&self, hash: u64, key_len: usize, value_len: usize) -> bool {
        self.slot(hash, key_len, value_len).is_some()
    }

    /// The slot of `hash` if it holds an intact entry of these lengths.
    fn slot(&self, hash: u64, key_len: usize, value_len: usize) -> Option<&Slot> {
        if self.slots.is_empty() {
            return None;
        }
        let slot = &self.slots[self.index(hash)];
        (slot.hash == hash as u32
            && usize::from(slot.key_len) == key_len
            && usize::from(slot.value_len) == value_len
            && self.pos - slot.at <= self.ring.len() as u64)
            .then_some(slot)
    }

    /// What to do with a value [`CleanCache::contains`] does not know: whether
    /// its scan should learn a result to write ([`CleanCache::insert`]). A
    /// long value seen for the first time is not written whatever its scan
    /// finds; its hash is noted so that its next sighting is.
    pub(crate) fn learns(&mut self, hash: u64, key_len: usize, value_len: usize) -> bool {
        if 1 + key_len + value_len <= ADMIT_FREE {
            return true;
        }
        let door = &mut self.door[(hash >> (64 - self.door.len().trailing_zeros())) as usize];
        if *door == hash {
            return true;
        }
        *door = hash;
        false
    }

    /// Remembers (`source`, `key`, `value`) as clean. The caller has checked
    /// [`CleanCache::takes`] and [`CleanCache::learns`].
    pub(crate) fn insert(&mut self, hash: u64, source: u8, key: &[u8], value: &[u8]) {
        debug_assert!(self.takes(key.len(), value.len()));
        let cap = self.ring.len() as u64;
        let len = entry_len(key, value) as u64;
        // Entries never wrap: skip the ring's tail when the entry does not fit.
        let offset = self.ring_offset(self.pos) as u64;
        if offset + len > cap {
            self.pos += cap - offset;
        }
        let start = self.ring_offset(self.pos);
        let entry = &mut self.ring[start..start + len as usize];
        entry[0] = source;
        entry[1..1 + key.len()].copy_from_slice(key);
        entry[1 + key.len()..].copy_from_slice(value);
        let index = self.index(hash);
        self.slots[index] =
            Slot { at: self.pos, hash: hash as u32, key_len: key.len() as u16, value_len: value.len() as u16 };
        self.pos += len;
    }

    /// Where ring position `at` is in the ring (its length is a power of two).
    fn ring_offset(&self, at: u64) -> usize {
        (at & (self.ring.len() as u64 - 1)) as usize
    }

    fn index(&self, hash: u64) -> usize {
        // The high bits are the best mixed.
        (hash >> (64 - self.slots.len().trailing_zeros())) as usize
    }
}

/// Bytes of an entry in the ring: the source, the key, the value.
fn entry_len(key: &[u8], value: &[u8]) -> usize {
    1 + key.len() + value.len()
}

/// The ring size for `bytes`: the power of two at or below it, 0 below
/// [`MIN_BYTES`].
fn ring_bytes(bytes: usize) -> usize {
    if bytes < MIN_BYTES { 0 } else { 1usize << (usize::BITS - 1 - bytes.leading_zeros()) }
}

/// The hash of an entry: a multiply-rotate hash over 8-byte words of the key
/// and the value, each followed by its length. It only has to spread entries
/// over the slots; a match is always confirmed byte for byte.
pub(crate) fn entry_hash(source: u8, key: &[u8], value: &[u8]) -> u64 {
    if key.len() + value.len() >= LONG_ENTRY {
        return long_entry_hash(source, key, value);
    }
    let mut h = u64::from(source).wrapping_add(0x9e37_79b9_7f4a_7c15);
    for part in [key, value] {
        h = mix_words(h, part, part.len());
    }
    avalanche(h)
}

/// Mixes the 8-byte words of `bytes` (the last one zero-padded) into `h`,
/// then `len`, the length of the whole part they end.
#[inline(always)]
fn mix_words(mut h: u64, bytes: &[u8], len: usize) -> u64 {
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        h = mix(h, u64::from_le_bytes(w.try_into().expect("8 bytes")));
    }
    let tail = words.remainder();
    if !tail.is_empty() {
        let mut last = [0u8; 8];
        last[..tail.len()].copy_from_slice(tail);
        h = mix(h, u64::from_le_bytes(last));
    }
    mix(h, len as u64)
}

/// Final avalanche, so that the high bits (the slot index) depend on every
/// word; the low bit is set (0 marks an empty slot).
fn avalanche(mut h: u64) -> u64 {
    h ^= h >> 29;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 32;
    h | 1
}

/// Entries from this length on are hashed by [`long_entry_hash`].
const LONG_ENTRY: usize = 128;

/// [`entry_hash`] of a long entry (a token, a body): the 32-byte blocks of
/// each part go through four lanes, so that the hash does not wait on one
/// chain of multiplications (below [`LONG_ENTRY`] folding the lanes costs
/// what they save). Apart, so that the short entries' hash stays as lean.
#[cold]
#[inline(never)]
fn long_entry_hash(source: u8, key: &[u8], value: &[u8]) -> u64 {
    let mut h = u64::from(source).wrapping_add(0x9e37_79b9_7f4a_7c15);
    for part in [key, value] {
        let mut lanes = [h, h ^ 0x243f_6a88_85a3_08d3, h ^ 0x1319_8a2e_0370_7344, h ^ 0xa409_3822_299f_31d0];
        let mut blocks = part.chunks_exact(32);
        for block in &mut blocks {
            for (lane, w) in lanes.iter_mut().zip(block.chunks_exact(8)) {
                *lane = mix(*lane, u64::from_le_bytes(w.try_into().expect("8 bytes")));
            }
        }
        h = lanes.iter().fold(h, |acc, &lane| mix(acc, lane));
        h = mix_words(h, blocks.remainder(), part.len());
    }
    avalanche(h)
}

fn mix(h: u64, w: u64) -> u64 {
    (h.rotate_left(23) ^ w).wrapping_mul(0x94d0_49bb_1331_11eb)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A clean scan of the value, as `scan_value` records it.
    fn put(c: &mut CleanCache, source: u8, key: &[u8], value: &[u8]) {
        let h = entry_hash(source, key, value);
        assert!(c.takes(key.len(), value.len()));
        if c.learns(h, key.len(), value.len()) {
            c.insert(h, source, key, value);
        }
    }

    fn has(c: &CleanCache, source: u8, key: &[u8], value: &[u8]) -> bool {
        c.contains(entry_hash(source, key, value), source, key, value)
    }

    #[test]
    fn finds_what_it_remembered_and_nothing_else() {
        let mut c = CleanCache::with_bytes(64 << 10);
        put(&mut c, 3, b"accept", b"text/html");
        assert!(has(&c, 3, b"accept", b"text/html"));
        // Another source, key, value, or the same bytes split differently.
        assert!(!has(&c, 4, b"accept", b"text/html"));
        assert!(!has(&c, 3, b"Accept", b"text/html"));
        assert!(!has(&c, 3, b"accept", b"text/htm"));
        assert!(!has(&c, 3, b"accepttext", b"/html"));
        assert!(!has(&c, 3, b"", b"accepttext/html"));
        c.clear();
        assert!(!has(&c, 3, b"accept", b"text/html"));
    }

    #[test]
    fn entries_around_the_long_hash_are_found_exactly() {
        let mut c = CleanCache::with_bytes(1 << 20);
        let body: Vec<u8> = (0..1024u32).map(|i| (i * 31 % 251) as u8).collect();
        for (key, len) in [(&b""[..], 127), (b"", 128), (b"k", 127), (b"", 1024), (b"key", 200)] {
            let value = &body[..len];
            // Twice: entries over 256 bytes are written on their second scan.
            put(&mut c, 9, key, value);
            put(&mut c, 9, key, value);
            assert!(has(&c, 9, key, value), "{} + {len}", key.len());
            let mut changed = value.to_vec();
            *changed.last_mut().unwrap() ^= 1;
            assert!(!has(&c, 9, key, &changed));
            changed = value.to_vec();
            changed[0] ^= 1;
            assert!(!has(&c, 9, key, &changed));
        }
        // The short and the long hash are two functions of the same entry.
        assert_ne!(entry_hash(9, b"", &body[..127]), entry_hash(9, b"", &body[..128]));
    }

    #[test]
    fn an_empty_value_is_an_entry_like_any_other() {
        let mut c = CleanCache::with_bytes(4096);
        assert!(!has(&c, 0, b"", b""));
        put(&mut c, 0, b"", b"");
        assert!(has(&c, 0, b"", b""));
        assert!(!has(&c, 1, b"", b""));
    }

    #[test]
    fn off_below_the_smallest_ring_and_bounded_above() {
        for bytes in [0, MIN_BYTES - 1] {
            let off = CleanCache::with_bytes(bytes);
            assert_eq!(off.bytes(), 0);
            assert!(!off.takes(0, 1));
            assert!(!has(&off, 0, b"", b"x"));
        }
        let c = CleanCache::with_bytes(1_000_000);
        assert_eq!(c.bytes(), 1 << 19);
        assert!(c.takes(1, MAX_ENTRY - 2));
        assert!(!c.takes(1, MAX_ENTRY - 1));
        // At most a sixteenth of a small ring.
        let small = CleanCache::with_bytes(MIN_BYTES);
        assert!(small.takes(0, MIN_BYTES / 16 - 1));
        assert!(!small.takes(0, MIN_BYTES / 16));
    }

    #[test]
    fn a_long_entry_is_written_the_second_time() {
        let mut c = CleanCache::with_bytes(64 << 10);
        let short = vec![b's'; ADMIT_FREE - 1];
        let long = vec![b'l'; ADMIT_FREE];
        put(&mut c, 0, b"", &short);
        put(&mut c, 0, b"", &long);
        assert!(has(&c, 0, b"", &short));
        assert!(!has(&c, 0, b"", &long), "one clean scan is not enough for a long value");
        put(&mut c, 0, b"", &long);
        assert!(has(&c, 0, b"", &long));
        c.clear();
        put(&mut c, 0, b"", &long);
        c.clear();
        put(&mut c, 0, b"", &long);
        assert!(!has(&c, 0, b"", &long), "clear() forgets the first sightings too");
    }

    #[test]
    fn overwritten_entries_are_forgotten() {
        let mut c = CleanCache::with_bytes(4096);
        let value = |i: u32| format!("value number {i:>6} padded to be a little longer");
        for i in 0..1000u32 {
            put(&mut c, 1, b"k", value(i).as_bytes());
            // The newest entry is always there.
            assert!(has(&c, 1, b"k", value(i).as_bytes()));
        }
        // 1000 entries of 50 bytes went through a 4 KiB ring: the early ones
        // are gone even where their slot was not reused.
        let kept = (0..1000).filter(|&i| has(&c, 1, b"k", value(i).as_bytes())).count();
        assert!(kept > 0 && kept * 50 <= 4096, "{kept} kept");
        assert!(!has(&c, 1, b"k", value(0).as_bytes()));
    }

    #[test]
    fn an_entry_that_does_not_fit_the_tail_starts_the_ring_again() {
        let mut c = CleanCache::with_bytes(32 << 10);
        let value = |i: u8| vec![i; 2000];
        for i in 0..17u8 {
            // Long entries: written on their second clean scan.
            put(&mut c, 0, b"", &value(i));
            put(&mut c, 0, b"", &value(i));
        }
        // 16 entries of 2,001 bytes fill 32,016 bytes of the 32,768; the 17th
        // does not fit the tail, starts the ring again, and overwrites the first.
        assert!(has(&c, 0, b"", &value(16)));
        assert!(!has(&c, 0, b"", &value(0)));
        assert!(has(&c, 0, b"", &value(15)));
    }

    proptest::proptest! {
        #[test]
        fn a_lookup_agrees_with_a_list_of_recent_entries(
            ops in proptest::collection::vec(
                (0u8..3, proptest::collection::vec(0u8..4, 0..6), 0u8..4, 0usize..600),
                1..300,
            )
        ) {
            // A small ring: entries are overwritten often; long values need
            // a second clean scan.
            let mut c = CleanCache::with_bytes(16 << 10);
            let mut inserted: Vec<(u8, Vec<u8>, Vec<u8>)> = Vec::new();
            for (source, key, byte, len) in ops {
                let value = vec![byte; len];
                let found = has(&c, source, &key, &value);
                // Never a value that was not remembered.
                proptest::prop_assert!(!found || inserted.contains(&(source, key.clone(), value.clone())));
                if !found {
                    put(&mut c, source, &key, &value);
                    inserted.push((source, key.clone(), value.clone()));
                    if entry_len(&key, &value) <= ADMIT_FREE {
                        proptest::prop_assert!(has(&c, source, &key, &value));
                    }
                }
            }
        }
    }
}
