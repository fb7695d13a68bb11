//! Sets of byte values, and which bytes can make a transform change a value.
//!
//! The matcher computes the set of bytes a value contains once, then skips
//! every transform whose trigger bytes are absent (it would return the value
//! unchanged) and every automaton pass whose patterns need a byte the text
//! does not have.

/// A set of byte values (a 256-bit bitmap).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct ByteSet([u64; 4]);

impl ByteSet {
    /// The empty set.
    pub(crate) const EMPTY: ByteSet = ByteSet([0; 4]);

    /// The set of the given bytes.
    pub(crate) const fn of(bytes: &[u8]) -> ByteSet {
        let mut words = [0u64; 4];
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            words[(b >> 6) as usize] |= 1 << (b & 63);
            i += 1;
        }
        ByteSet(words)
    }

    /// The bytes from `lo` to `hi`, inclusive.
    pub(crate) const fn range(lo: u8, hi: u8) -> ByteSet {
        let mut words = [0u64; 4];
        let mut b = lo as usize;
        while b <= hi as usize {
            words[b >> 6] |= 1 << (b & 63);
            b += 1;
        }
        ByteSet(words)
    }

    /// The bytes occurring in `text`.
    pub(crate) fn of_text(text: &[u8]) -> ByteSet {
        let mut words = [0u64; 4];
        if text.len() < 64 {
            for &b in text {
                words[usize::from(b >> 6)] |= 1 << (b & 63);
            }
            return ByteSet(words);
        }
        // Long texts: one independent store per byte (the loop above carries
        // a load-modify-store of the same few words from byte to byte), then
        // the 256 flags are packed, eight at a time: with each byte 0 or 1,
        // multiplying by 0x0102040810204080 gathers byte i's flag into bit
        // 56 + i.
        let mut seen = [0u8; 256];
        for &b in text {
            seen[usize::from(b)] = 1;
        }
        for (w, flags) in words.iter_mut().zip(seen.chunks_exact(64)) {
            *w = flags.chunks_exact(8).enumerate().fold(0, |acc, (i, eight)| {
                let mut bytes = [0u8; 8];
                bytes.copy_from_slice(eight);
                acc | (u64::from_le_bytes(bytes).wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * i)
            });
        }
        ByteSet(words)
    }

    /// Adds a byte.
    pub(crate) fn insert(&mut self, b: u8) {
        self.0[usize::from(b >> 6)] |= 1 << (b & 63);
    }

    /// True when `b` is in the set.
    pub(crate) fn contains(&self, b: u8) -> bool {
        self.0[usize::from(b >> 6)] & (1 << (b & 63)) != 0
    }

    /// The union.
    pub(crate) const fn union(self, other: ByteSet) -> ByteSet {
        ByteSet([self.0[0] | other.0[0], self.0[1] | other.0[1], self.0[2] | other.0[2], self.0[3] | other.0[3]])
    }

    /// The bytes of `self` not in `other`.
    pub(crate) const fn difference(self, other: ByteSet) -> ByteSet {
        ByteSet([self.0[0] & !other.0[0], self.0[1] & !other.0[1], self.0[2] & !other.0[2], self.0[3] & !other.0[3]])
    }

    /// True when the sets share a byte.
    pub(crate) fn intersects(&self, other: &ByteSet) -> bool {
        self.0.iter().zip(other.0.iter()).any(|(a, b)| a & b != 0)
    }

    /// The bytes of a text's ASCII lowercase, from the bytes of the text:
    /// `A`-`Z` (bits 1-26 of the second word) become `a`-`z` (bits 33-58).
    pub(crate) const fn to_ascii_lowercase(self) -> ByteSet {
        const UPPER: u64 = ((1 << 26) - 1) << 1;
        let [a, b, c, d] = self.0;
        ByteSet([a, (b & !UPPER) | ((b & UPPER) << 32), c, d])
    }

    /// The bytes of a text's ASCII uppercase, from the bytes of the text.
    pub(crate) const fn to_ascii_uppercase(self) -> ByteSet {
        const LOWER: u64 = ((1 << 26) - 1) << 33;
        let [a, b, c, d] = self.0;
        ByteSet([a, (b & !LOWER) | ((b & LOWER) >> 32), c, d])
    }

    /// The bytes, in order.
    pub(crate) fn iter(self) -> impl Iterator<Item = u8> {
        (0..=255u8).filter(move |&b| self.contains(b))
    }
}

/// A [`ByteSet`] prepared for the question "does this text hold one of its
/// bytes": `memchr` for sets of up to three bytes, a membership test per
/// byte for larger ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ByteGate {
    One(u8),
    Two(u8, u8),
    Three(u8, u8, u8),
    Set(ByteSet),
}

impl ByteGate {
    pub(crate) fn new(set: ByteSet) -> ByteGate {
        let mut bytes = set.iter();
        match (bytes.next(), bytes.next(), bytes.next(), bytes.next()) {
            (Some(a), None, _, _) => ByteGate::One(a),
            (Some(a), Some(b), None, _) => ByteGate::Two(a, b),
            (Some(a), Some(b), Some(c), None) => ByteGate::Three(a, b, c),
            _ => ByteGate::Set(set),
        }
    }

    /// True when `text` holds a byte of the set.
    pub(crate) fn occurs_in(&self, text: &[u8]) -> bool {
        match *self {
            ByteGate::One(a) => memchr::memchr(a, text).is_some(),
            ByteGate::Two(a, b) => memchr::memchr2(a, b, text).is_some(),
            ByteGate::Three(a, b, c) => memchr::memchr3(a, b, c, text).is_some(),
            ByteGate::Set(set) => text.iter().any(|&b| set.contains(b)),
        }
    }
}

/// ASCII whitespace plus the Latin-1 no-break space (0xA0, also the second
/// byte of U+00A0 in UTF-8), which the whitespace transforms treat as space.
const WHITESPACE: ByteSet = ByteSet::of(b" \t\n\r\x0b\x0c\xa0");

impl super::Transform {
    /// Bytes whose presence may make this transform change a value: when a
    /// value has none of them, the transform returns it unchanged. None when
    /// the transform may change any value (the decoders that rewrite every
    /// byte, `length`). The sets are constants (this runs per value and
    /// transform; a set built at run time showed in the profile).
    pub(crate) fn triggers(self) -> Option<ByteSet> {
        use super::Transform as T;
        Some(match self {
            T::UrlDecode | T::UrlDecodeUni => const { ByteSet::of(b"%+") },
            T::HtmlEntityDecode => const { ByteSet::of(b"&") },
            T::JsDecode | T::CssDecode | T::EscapeSeqDecode => const { ByteSet::of(b"\\") },
            T::Lowercase => const { ByteSet::range(b'A', b'Z') },
            T::Uppercase => const { ByteSet::range(b'a', b'z') },
            T::CompressWhitespace | T::RemoveWhitespace | T::Trim | T::TrimLeft | T::TrimRight => WHITESPACE,
            T::RemoveNulls | T::ReplaceNulls => const { ByteSet::of(b"\0") },
            T::ReplaceComments => const { ByteSet::of(b"/") },
            T::RemoveComments => const { ByteSet::of(b"/<-#") },
            T::RemoveCommentsChar => const { ByteSet::of(b"/*<-#>") },
            T::NormalizePath | T::NormalizePathRel => const { ByteSet::of(b"/.") },
            T::NormalizePathWin | T::NormalizePathRelWin => const { ByteSet::of(b"/\\.") },
            T::CmdLine => const { ByteSet::of(b"\\\"'^,;/(").union(WHITESPACE).union(ByteSet::range(b'A', b'Z')) },
            T::Utf8ToUnicode => const { ByteSet::range(0x80, 0xff) },
            T::SqlHexDecode => const { ByteSet::of(b"0") },
            T::Base64Decode | T::Base64DecodeExt | T::HexDecode | T::HexEncode | T::Length => return None,
        })
    }
}

/// The ASCII letters, both cases.
pub(crate) const LETTERS: ByteSet = ByteSet::range(b'A', b'Z').union(ByteSet::range(b'a', b'z'));

/// What a transform does to a value that has none of its [`case_triggers`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CaseEffect {
    /// Leaves it unchanged.
    Same,
    /// Lowercases its ASCII letters (and does nothing else).
    Lower,
    /// Uppercases its ASCII letters (and does nothing else).
    Upper,
}

impl super::Transform {
    /// The bytes whose presence may make this transform do more to a value
    /// than [`Transform::case_effect`] says: its [`Transform::triggers`]
    /// without the ASCII letters for the transforms that change case
    /// (`lowercase`, `uppercase`, and `cmd_line`, which on a value without
    /// its other triggers only lowercases). None when the transform may change
    /// any value, or when a transform that does not change case acts on
    /// letters (a text whose case another step changed could then trigger
    /// it).
    ///
    /// The path normalizations act on `.` only in a segment of its own, and
    /// a value without `/` (or `\`) is one segment: their case triggers
    /// leave `.` out, and the two values it does change are
    /// [`Transform::case_exceptions`].
    pub(crate) fn case_triggers(self) -> Option<ByteSet> {
        use super::Transform as T;
        let triggers = match self {
            T::NormalizePath | T::NormalizePathRel | T::NormalizePathWin | T::NormalizePathRelWin => {
                self.triggers()?.difference(ByteSet::of(b"."))
            }
            _ => self.triggers()?,
        };
        match self.case_effect() {
            CaseEffect::Same if triggers.intersects(&LETTERS) => None,
            CaseEffect::Same => Some(triggers),
            CaseEffect::Lower | CaseEffect::Upper => Some(triggers.difference(LETTERS)),
        }
    }

    /// [`Transform::case_triggers`] for a value whose only spaces are single
    /// ones between other bytes (none first or last, never two in a row):
    /// on such a value `compress_whitespace` and the trims do nothing to the
    /// spaces, `remove_whitespace` removes them (see
    /// [`Transform::removes_spaces`]) and `cmd_line` keeps them, so for these
    /// the space is no trigger. Other white space stays one.
    pub(crate) fn spaced_triggers(self) -> Option<ByteSet> {
        use super::Transform as T;
        let triggers = self.case_triggers()?;
        Some(match self {
            T::CompressWhitespace | T::RemoveWhitespace | T::Trim | T::TrimLeft | T::TrimRight | T::CmdLine => {
                triggers.difference(ByteSet::of(b" "))
            }
            _ => triggers,
        })
    }

    /// Whether this transform removes the spaces of a value without its
    /// [`Transform::spaced_triggers`] (besides its [`Transform::case_effect`]).
    pub(crate) fn removes_spaces(self) -> bool {
        matches!(self, super::Transform::RemoveWhitespace)
    }

    /// The values this transform changes although they have none of its
    /// [`Transform::case_triggers`] (no letters among them): the path
    /// normalizations read a lone `.` (and, but for the relative ones, `..`)
    /// as a directory.
    pub(crate) fn case_exceptions(self) -> &'static [&'static [u8]] {
        use super::Transform as T;
        match self {
            T::NormalizePath | T::NormalizePathWin => &[b".", b".."],
            // These keep a `..` they cannot resolve.
            T::NormalizePathRel | T::NormalizePathRelWin => &[b"."],
            _ => &[],
        }
    }

    /// What this transform does to a value without its [`Transform::case_triggers`]
    /// that is none of its [`Transform::case_exceptions`].
    pub(crate) fn case_effect(self) -> CaseEffect {
        use super::Transform as T;
        match self {
            T::Lowercase | T::CmdLine => CaseEffect::Lower,
            T::Uppercase => CaseEffect::Upper,
            _ => CaseEffect::Same,
        }
    }
}

/// How common a byte is in ordinary request values (higher is more common):
/// used to pick, for each pattern, the byte it needs that ordinary text is
/// least likely to contain.
pub(crate) fn commonness(b: u8) -> u32 {
    match b {
        b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b' ' => 100,
        b'.' | b',' | b'-' | b'_' | b':' | b'/' | b'\'' | b'"' | b'(' | b')' | b'@' | b'=' | b'?' | b'!' => 20,
        0x80..=0xff => 20,
        _ => 1,
    }
}

/// The cost of a required set: how likely ordinary text is to hit it.
pub(crate) fn cost(set: &ByteSet) -> u32 {
    set.iter().map(commonness).sum()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::Transform;

    #[test]
    fn sets() {
        let s = ByteSet::of(b"ab");
        assert!(s.contains(b'a') && !s.contains(b'c'));
        assert_eq!(ByteSet::range(0, 255).iter().count(), 256);
        assert!(ByteSet::of_text(b"xyz").intersects(&ByteSet::of(b"z")));
        assert!(!ByteSet::of_text(b"xyz").intersects(&ByteSet::of(b"q")));
        assert_eq!(ByteSet::of(b"\0\xff").iter().collect::<Vec<_>>(), [0, 255]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// The bytes of a text's lowercase and uppercase follow from the text's bytes.
        #[test]
        fn case_mapped_sets_are_the_sets_of_the_case_mapped_texts(text in proptest::collection::vec(any::<u8>(), 0..80)) {
            let bytes = ByteSet::of_text(&text);
            prop_assert_eq!(bytes.to_ascii_lowercase(), ByteSet::of_text(&text.to_ascii_lowercase()));
            prop_assert_eq!(bytes.to_ascii_uppercase(), ByteSet::of_text(&text.to_ascii_uppercase()));
        }

        /// A gate finds a byte of its set exactly when the text has one,
        /// for sets of every size.
        #[test]
        fn gates_find_their_bytes(
            set in proptest::collection::vec(any::<u8>(), 0..6),
            text in proptest::collection::vec(any::<u8>(), 0..80),
        ) {
            let bytes = ByteSet::of(&set);
            prop_assert_eq!(ByteGate::new(bytes).occurs_in(&text), ByteSet::of_text(&text).intersects(&bytes));
        }

        /// Both ways of collecting a text's bytes (short and long texts) agree
        /// with a plain insert per byte.
        #[test]
        fn of_text_holds_exactly_the_bytes_of_the_text(text in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut expected = ByteSet::EMPTY;
            for &b in &text {
                expected.insert(b);
            }
            prop_assert_eq!(ByteSet::of_text(&text), expected);
        }

        /// A value without a transform's case triggers comes back changed in
        /// case at most, as its case effect says (letters of both cases are
        /// drawn more often, so that case-changing steps are exercised).
        #[test]
        fn values_without_case_triggers_change_in_case_at_most(
            value in prop_oneof![
                4 => proptest::collection::vec(
                    prop_oneof![any::<u8>(), b'A'..=b'Z', b'a'..=b'z', Just(b'.'), Just(b'/')],
                    0..64,
                ),
                1 => proptest::sample::select(vec![b".".to_vec(), b"..".to_vec(), b"...".to_vec(), b"./".to_vec()]),
            ],
            pick in 0usize..64,
        ) {
            let t = Transform::ALL[pick % Transform::ALL.len()];
            let Some(triggers) = t.case_triggers() else { return Ok(()) };
            let value: Vec<u8> = value.into_iter().filter(|b| !triggers.contains(*b)).collect();
            if t.case_exceptions().contains(&value.as_slice()) {
                return Ok(());
            }
            let expected = match t.case_effect() {
                CaseEffect::Same => value.clone(),
                CaseEffect::Lower => value.to_ascii_lowercase(),
                CaseEffect::Upper => value.to_ascii_uppercase(),
            };
            let mut out = Vec::new();
            let got = if t.apply(&value, &mut out) { out } else { value.clone() };
            prop_assert_eq!(got, expected, "{}", t.name());
        }

        /// A value of words without a transform's spaced triggers, joined by
        /// single spaces, comes back changed in case and without its spaces
        /// at most, as the case effect and `removes_spaces` say.
        #[test]
        fn spaced_values_change_in_case_and_spaces_at_most(
            words in proptest::collection::vec(
                proptest::collection::vec(
                    prop_oneof![any::<u8>(), b'A'..=b'Z', b'a'..=b'z', Just(b'.'), Just(b'/'), Just(b'\t')],
                    1..12,
                ),
                1..6,
            ),
            pick in 0usize..64,
        ) {
            let t = Transform::ALL[pick % Transform::ALL.len()];
            let Some(triggers) = t.spaced_triggers() else { return Ok(()) };
            let words: Vec<Vec<u8>> = words
                .into_iter()
                .map(|w| w.into_iter().filter(|&b| b != b' ' && !triggers.contains(b)).collect::<Vec<u8>>())
                .filter(|w| !w.is_empty())
                .collect();
            let value = words.join(&b' ');
            if t.case_exceptions().contains(&value.as_slice()) {
                return Ok(());
            }
            let mut expected = match t.case_effect() {
                CaseEffect::Same => value.clone(),
                CaseEffect::Lower => value.to_ascii_lowercase(),
                CaseEffect::Upper => value.to_ascii_uppercase(),
            };
            if t.removes_spaces() {
                expected.retain(|&b| b != b' ');
            }
            let mut out = Vec::new();
            let got = if t.apply(&value, &mut out) { out } else { value.clone() };
            prop_assert_eq!(got, expected, "{} on {:?}", t.name(), String::from_utf8_lossy(&value));
        }

        /// The exceptions are needed: each changes.
        #[test]
        fn case_exceptions_change(pick in 0usize..64) {
            let t = Transform::ALL[pick % Transform::ALL.len()];
            for &e in t.case_exceptions() {
                let mut out = Vec::new();
                prop_assert!(t.apply(e, &mut out) && out != e, "{} {:?}", t.name(), e);
            }
        }

        /// A value without a transform's trigger bytes comes back unchanged.
        #[test]
        fn values_without_triggers_are_left_unchanged(value in proptest::collection::vec(any::<u8>(), 0..64), pick in 0usize..64) {
            let t = Transform::ALL[pick % Transform::ALL.len()];
            let Some(triggers) = t.triggers() else { return Ok(()) };
            let value: Vec<u8> = value.into_iter().filter(|b| !triggers.contains(*b)).collect();
            let mut out = Vec::new();
            if t.apply(&value, &mut out) {
                prop_assert_eq!(&out, &value, "{} changed a value without its trigger bytes", t.name());
            }
        }
    }
}
