//! Transformations: functions from bytes to bytes applied to a value before
//! operators see it (`transform url_decode_uni, lowercase` in a rule).
//!
//! Each transform lives in its own file (or one file per closely related
//! family) with a reference block at its top, and writes into a caller's
//! reusable buffer so that evaluation allocates nothing once the buffers have
//! grown. [`Transform::apply`] is the single dispatch point.
//!
//! # Contract shared by every transform
//! - **Total**: any bytes are accepted (invalid UTF-8, bad escapes, huge
//!   input); nothing panics. A malformed escape is kept literally unless the
//!   transform's file says otherwise.
//! - **Bounded**: the output is at most [`Transform::max_output_len`] bytes.
//! - **Linear**: one pass over the input (plus, for some, one fast-path scan).
//! - **Allocation-free**: the only allocation is growth of the caller's `out`.
//! - **Fast path**: `apply` returns `false` when it can see cheaply that the
//!   value would not change (`url_decode` on input without `%` or `+`); the
//!   caller then keeps using its input. `true` means `out` holds the result,
//!   which may happen to equal the input.
//!
//! # Semantics
//! Names and behaviour follow ModSecurity v3 / Coraza (what the OWASP Core
//! Rule Set expects), written from their documented behaviour. Where those are
//! odd or unsafe, rampart does the sensible thing and the transform's file says
//! so; the main differences:
//! - `html_entity_decode`, `js_decode` (`\uHHHH`) and `css_decode` write code
//!   points above U+007F as UTF-8 instead of one truncated byte.
//! - `url_decode_uni` keeps ModSecurity's low byte for `%uXXXX` outside
//!   full-width ASCII (the CRS is tuned for it).
//! - `remove_comments` ends `--` and `#` comments at the end of the line, not
//!   of the value.
//! - `utf8_to_unicode` writes characters outside the BMP as a UTF-16
//!   surrogate pair, `%ud83d%ude00`.
#![forbid(unsafe_code)]

mod base64;
pub(crate) mod byteset;
mod case;
mod cmdline;
mod comments;
mod common;
mod css;
mod escape;
mod hex;
mod html;
mod js;
mod length;
mod nulls;
mod path;
mod trim;
mod url;
mod utf8;
mod whitespace;

#[cfg(test)]
mod props;

pub use self::base64::base64_decode_strict;

/// One transformation step of a pipeline.
///
/// The names in the rule language are the snake_case forms returned by
/// [`Transform::name`].
///
/// # Example
/// ```
/// use rampart::Transform;
///
/// let t = Transform::from_name("url_decode").unwrap();
/// let mut out = Vec::new();
/// assert!(t.apply(b"a%20b+c", &mut out));
/// assert_eq!(out, b"a b c");
/// // Nothing to decode: `false`, and the caller keeps its input.
/// assert!(!t.apply(b"abc", &mut out));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transform {
    /// `url_decode`: `%XX` escapes and `+` as space.
    UrlDecode,
    /// `url_decode_uni`: like `url_decode`, plus IIS `%uXXXX` escapes.
    UrlDecodeUni,
    /// `html_entity_decode`: `&lt;`, `&#60;`, `&#x3c;` and friends.
    HtmlEntityDecode,
    /// `js_decode`: JavaScript escapes `\xHH`, `\uHHHH`, `\n`, `\'`, octal.
    JsDecode,
    /// `css_decode`: CSS escapes `\HH...` (1-6 hex digits) and `\c`.
    CssDecode,
    /// `base64_decode`: standard base64, stopping at the first invalid byte.
    Base64Decode,
    /// `base64_decode_ext`: base64 that skips invalid bytes (forgiving).
    Base64DecodeExt,
    /// `hex_decode`: pairs of hex digits to bytes.
    HexDecode,
    /// `hex_encode`: bytes to lowercase hex digits.
    HexEncode,
    /// `sql_hex_decode`: SQL hex literals `0x414243` to bytes.
    SqlHexDecode,
    /// `lowercase`: ASCII letters to lower case.
    Lowercase,
    /// `uppercase`: ASCII letters to upper case.
    Uppercase,
    /// `compress_whitespace`: runs of whitespace to one space.
    CompressWhitespace,
    /// `remove_whitespace`: drops every whitespace byte.
    RemoveWhitespace,
    /// `remove_nulls`: drops NUL bytes.
    RemoveNulls,
    /// `replace_nulls`: NUL bytes to spaces.
    ReplaceNulls,
    /// `replace_comments`: each C-style `/* ... */` comment to one space.
    ReplaceComments,
    /// `remove_comments`: drops `/* */`, `<!-- -->`, `--` and `#` comments.
    RemoveComments,
    /// `remove_comments_char`: drops the comment marker characters themselves.
    RemoveCommentsChar,
    /// `normalize_path`: resolves `.` and `..` segments, collapses `//`.
    NormalizePath,
    /// `normalize_path_win`: `\` to `/`, then `normalize_path`.
    NormalizePathWin,
    /// `normalize_path_rel`: `normalize_path` as ModSecurity's
    /// `t:normalizePath` does it: a relative path keeps the leading `..`
    /// segments it cannot resolve (`../.history` stays, where
    /// `normalize_path` gives `.history`). The SecLang front end uses it.
    NormalizePathRel,
    /// `normalize_path_rel_win`: `\` to `/`, then `normalize_path_rel`
    /// (ModSecurity's `t:normalizePathWin`).
    NormalizePathRelWin,
    /// `cmd_line`: shell-evasion normalisation (drops `\ ' " ^`, spaces before
    /// `/` and `(`, `,`/`;` to space, compresses whitespace, lowercases).
    CmdLine,
    /// `trim`: drops leading and trailing whitespace.
    Trim,
    /// `trim_left`: drops leading whitespace.
    TrimLeft,
    /// `trim_right`: drops trailing whitespace.
    TrimRight,
    /// `utf8_to_unicode`: multi-byte UTF-8 characters to `%uXXXX` form.
    Utf8ToUnicode,
    /// `escape_seq_decode`: ANSI C escapes (`\n`, `\x41`, `\101`).
    EscapeSeqDecode,
    /// `length`: the value's length in bytes, as decimal text.
    Length,
}

impl Transform {
    /// Every transform, in declaration order.
    ///
    /// # Example
    /// ```
    /// use rampart::Transform;
    ///
    /// assert_eq!(Transform::ALL.first(), Some(&Transform::UrlDecode));
    /// assert!(Transform::ALL.windows(2).all(|w| w[0] < w[1]));
    /// ```
    pub const ALL: &'static [Transform] = &[
        Transform::UrlDecode,
        Transform::UrlDecodeUni,
        Transform::HtmlEntityDecode,
        Transform::JsDecode,
        Transform::CssDecode,
        Transform::Base64Decode,
        Transform::Base64DecodeExt,
        Transform::HexDecode,
        Transform::HexEncode,
        Transform::SqlHexDecode,
        Transform::Lowercase,
        Transform::Uppercase,
        Transform::CompressWhitespace,
        Transform::RemoveWhitespace,
        Transform::RemoveNulls,
        Transform::ReplaceNulls,
        Transform::ReplaceComments,
        Transform::RemoveComments,
        Transform::RemoveCommentsChar,
        Transform::NormalizePath,
        Transform::NormalizePathWin,
        Transform::NormalizePathRel,
        Transform::NormalizePathRelWin,
        Transform::CmdLine,
        Transform::Trim,
        Transform::TrimLeft,
        Transform::TrimRight,
        Transform::Utf8ToUnicode,
        Transform::EscapeSeqDecode,
        Transform::Length,
    ];

    /// The rule-language name: snake_case, e.g. `"url_decode_uni"`,
    /// `"utf8_to_unicode"`, `"normalize_path_win"`.
    ///
    /// # Example
    /// ```
    /// use rampart::Transform;
    ///
    /// assert_eq!(Transform::NormalizePathWin.name(), "normalize_path_win");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Transform::UrlDecode => "url_decode",
            Transform::UrlDecodeUni => "url_decode_uni",
            Transform::HtmlEntityDecode => "html_entity_decode",
            Transform::JsDecode => "js_decode",
            Transform::CssDecode => "css_decode",
            Transform::Base64Decode => "base64_decode",
            Transform::Base64DecodeExt => "base64_decode_ext",
            Transform::HexDecode => "hex_decode",
            Transform::HexEncode => "hex_encode",
            Transform::SqlHexDecode => "sql_hex_decode",
            Transform::Lowercase => "lowercase",
            Transform::Uppercase => "uppercase",
            Transform::CompressWhitespace => "compress_whitespace",
            Transform::RemoveWhitespace => "remove_whitespace",
            Transform::RemoveNulls => "remove_nulls",
            Transform::ReplaceNulls => "replace_nulls",
            Transform::ReplaceComments => "replace_comments",
            Transform::RemoveComments => "remove_comments",
            Transform::RemoveCommentsChar => "remove_comments_char",
            Transform::NormalizePath => "normalize_path",
            Transform::NormalizePathWin => "normalize_path_win",
            Transform::NormalizePathRel => "normalize_path_rel",
            Transform::NormalizePathRelWin => "normalize_path_rel_win",
            Transform::CmdLine => "cmd_line",
            Transform::Trim => "trim",
            Transform::TrimLeft => "trim_left",
            Transform::TrimRight => "trim_right",
            Transform::Utf8ToUnicode => "utf8_to_unicode",
            Transform::EscapeSeqDecode => "escape_seq_decode",
            Transform::Length => "length",
        }
    }

    /// Looks a name up: exact, lowercase snake_case as returned by
    /// [`Transform::name`]. `None` if unknown (see [`Transform::suggest`]).
    ///
    /// # Example
    /// ```
    /// use rampart::Transform;
    ///
    /// assert_eq!(Transform::from_name("cmd_line"), Some(Transform::CmdLine));
    /// assert_eq!(Transform::from_name("cmdLine"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Transform> {
        Transform::ALL.iter().copied().find(|t| t.name() == name)
    }

    /// The closest known name to a misspelt one, for "did you mean
    /// `url_decode`?"; `None` if nothing is close.
    ///
    /// Close means an edit distance of at most 2 (insertions, deletions,
    /// substitutions and swaps of adjacent characters) after ignoring ASCII
    /// case, `_` and `-`, so ModSecurity spellings such as `urlDecodeUni` or
    /// `normalisePath` find their rampart names. Ties go to the transform
    /// declared first. A known name suggests itself.
    ///
    /// # Example
    /// ```
    /// use rampart::Transform;
    ///
    /// assert_eq!(Transform::suggest("url_decod"), Some("url_decode"));
    /// assert_eq!(Transform::suggest("utf8toUnicode"), Some("utf8_to_unicode"));
    /// assert_eq!(Transform::suggest("sha1"), None);
    /// ```
    pub fn suggest(name: &str) -> Option<&'static str> {
        let mut key_buf = [0; MAX_KEY];
        let key = fold_name(name, &mut key_buf)?;
        let mut best: Option<(usize, &'static str)> = None;
        for t in Transform::ALL {
            let mut buf = [0; MAX_KEY];
            // Known names are short ASCII, so folding them cannot fail.
            let Some(known) = fold_name(t.name(), &mut buf) else {
                continue;
            };
            let d = edit_distance(key, known);
            if d <= 2 && best.is_none_or(|(b, _)| d < b) {
                best = Some((d, t.name()));
            }
        }
        best.map(|(_, name)| name)
    }

    /// Applies the transform to `input`.
    ///
    /// Returns `true` when it wrote the transformed value into `out` (cleared
    /// first). Returns `false` when the value is unchanged by this transform
    /// (fast path: e.g. `url_decode` on input without `%` or `+`); then
    /// `out`'s content is unspecified and the caller keeps using `input`.
    /// `true` does not promise that the value changed.
    ///
    /// Never panics on any input; never allocates except to grow `out`; the
    /// result is at most [`Transform::max_output_len`] bytes.
    ///
    /// # Example
    /// ```
    /// use rampart::Transform;
    ///
    /// // A pipeline with two buffers: swap when a step wrote its result.
    /// let mut value = b"/a/./B/../%43".to_vec();
    /// let mut out = Vec::new();
    /// for t in [Transform::UrlDecode, Transform::NormalizePath, Transform::Lowercase] {
    ///     if t.apply(&value, &mut out) {
    ///         std::mem::swap(&mut value, &mut out);
    ///     }
    /// }
    /// assert_eq!(value, b"/a/c");
    /// ```
    pub fn apply(self, input: &[u8], out: &mut Vec<u8>) -> bool {
        match self {
            Transform::UrlDecode => url::url_decode(input, out),
            Transform::UrlDecodeUni => url::url_decode_uni(input, out),
            Transform::HtmlEntityDecode => html::html_entity_decode(input, out),
            Transform::JsDecode => js::js_decode(input, out),
            Transform::CssDecode => css::css_decode(input, out),
            Transform::Base64Decode => base64::base64_decode(input, out),
            Transform::Base64DecodeExt => base64::base64_decode_ext(input, out),
            Transform::HexDecode => hex::hex_decode(input, out),
            Transform::HexEncode => hex::hex_encode(input, out),
            Transform::SqlHexDecode => hex::sql_hex_decode(input, out),
            Transform::Lowercase => case::lowercase(input, out),
            Transform::Uppercase => case::uppercase(input, out),
            Transform::CompressWhitespace => whitespace::compress_whitespace(input, out),
            Transform::RemoveWhitespace => whitespace::remove_whitespace(input, out),
            Transform::RemoveNulls => nulls::remove_nulls(input, out),
            Transform::ReplaceNulls => nulls::replace_nulls(input, out),
            Transform::ReplaceComments => comments::replace_comments(input, out),
            Transform::RemoveComments => comments::remove_comments(input, out),
            Transform::RemoveCommentsChar => comments::remove_comments_char(input, out),
            Transform::NormalizePath => path::normalize_path(input, out),
            Transform::NormalizePathWin => path::normalize_path_win(input, out),
            Transform::NormalizePathRel => path::normalize_path_rel(input, out, false),
            Transform::NormalizePathRelWin => path::normalize_path_rel(input, out, true),
            Transform::CmdLine => cmdline::cmd_line(input, out),
            Transform::Trim => trim::trim(input, out),
            Transform::TrimLeft => trim::trim_left(input, out),
            Transform::TrimRight => trim::trim_right(input, out),
            Transform::Utf8ToUnicode => utf8::utf8_to_unicode(input, out),
            Transform::EscapeSeqDecode => escape::escape_seq_decode(input, out),
            Transform::Length => length::length(input, out),
        }
    }

    /// An upper bound on the output length for an input of `len` bytes, for
    /// reserving: `hex_encode` doubles, `utf8_to_unicode` at most triples,
    /// `length` writes at most 20 digits (at least 1, so `length` of the empty
    /// value is 1 byte), and every other transform never grows its input.
    ///
    /// # Example
    /// ```
    /// use rampart::Transform;
    ///
    /// assert_eq!(Transform::HexEncode.max_output_len(3), 6);
    /// assert_eq!(Transform::Base64Decode.max_output_len(8), 6);
    /// assert_eq!(Transform::Length.max_output_len(12345), 5);
    /// ```
    pub fn max_output_len(self, len: usize) -> usize {
        match self {
            Transform::HexEncode => len.saturating_mul(2),
            Transform::Utf8ToUnicode => len.saturating_mul(3),
            Transform::Base64Decode | Transform::Base64DecodeExt => base64::max_decoded_len(len),
            Transform::Length => length::decimal_digits(len),
            _ => len,
        }
    }

    /// `apply` without the fast paths: always writes `out`. Property tests
    /// check that `apply` agrees with it, which proves every fast path only
    /// skips work that would not change the value.
    #[cfg(test)]
    fn apply_full(self, input: &[u8], out: &mut Vec<u8>) {
        match self {
            Transform::UrlDecode => url::decode(input, out, false),
            Transform::UrlDecodeUni => url::decode(input, out, true),
            Transform::HtmlEntityDecode => html::decode(input, out),
            Transform::JsDecode => js::decode(input, out),
            Transform::CssDecode => css::decode(input, out),
            Transform::Base64Decode => base64::decode_prefix(input, out),
            Transform::Base64DecodeExt => base64::decode_skipping(input, out),
            Transform::HexDecode => hex::decode(input, out),
            Transform::HexEncode => hex::encode(input, out),
            Transform::SqlHexDecode => hex::sql_decode(input, out),
            Transform::Lowercase => case::to_lower(input, out),
            Transform::Uppercase => case::to_upper(input, out),
            Transform::CompressWhitespace => whitespace::compress(input, out),
            Transform::RemoveWhitespace => whitespace::remove(input, out),
            Transform::RemoveNulls => nulls::remove(input, out),
            Transform::ReplaceNulls => nulls::replace(input, out),
            Transform::ReplaceComments => comments::replace_c(input, out),
            Transform::RemoveComments => comments::remove_all(input, out),
            Transform::RemoveCommentsChar => comments::remove_markers(input, out),
            Transform::NormalizePath => path::normalize(input, out, false),
            Transform::NormalizePathWin => path::normalize(input, out, true),
            Transform::NormalizePathRel => path::normalize_keeping_parents(input, out, false, true),
            Transform::NormalizePathRelWin => path::normalize_keeping_parents(input, out, true, true),
            Transform::CmdLine => cmdline::normalize(input, out),
            Transform::Trim => trim::copy_trimmed(input, out, true, true),
            Transform::TrimLeft => trim::copy_trimmed(input, out, true, false),
            Transform::TrimRight => trim::copy_trimmed(input, out, false, true),
            Transform::Utf8ToUnicode => utf8::encode(input, out),
            Transform::EscapeSeqDecode => escape::decode(input, out),
            Transform::Length => {
                length::length(input, out);
            }
        }
    }
}

/// Room for a folded name in [`Transform::suggest`]: the longest known name
/// folds to 18 bytes, and anything longer than that plus 2 cannot be close.
const MAX_KEY: usize = 24;

/// `name` without `_`, `-` and spaces, ASCII-lowercased, in `buf`; `None` if
/// it does not fit (then it is too far from every known name anyway).
fn fold_name<'b>(name: &str, buf: &'b mut [u8; MAX_KEY]) -> Option<&'b [u8]> {
    let mut n = 0;
    for b in name.bytes().filter(|b| !matches!(b, b'_' | b'-' | b' ')) {
        *buf.get_mut(n)? = b.to_ascii_lowercase();
        n += 1;
    }
    Some(&buf[..n])
}

/// Optimal-string-alignment distance: Levenshtein plus adjacent swaps.
/// Both inputs are at most `MAX_KEY` bytes, so three rows fit on the stack.
fn edit_distance(a: &[u8], b: &[u8]) -> usize {
    let mut before = [0usize; MAX_KEY + 1];
    let mut prev: [usize; MAX_KEY + 1] = std::array::from_fn(|j| j);
    let mut cur = [0usize; MAX_KEY + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            cur[j] = d;
        }
        before = prev;
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_snake_case() {
        for &t in Transform::ALL {
            let name = t.name();
            assert_eq!(Transform::from_name(name), Some(t));
            assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'), "{name}");
            let mut buf = [0; MAX_KEY];
            let folded = fold_name(name, &mut buf).expect("known names fit");
            assert!(folded.len() + 2 < MAX_KEY, "{name}");
        }
        assert_eq!(Transform::ALL.len(), 30);
        assert!(Transform::ALL.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn from_name_is_exact() {
        for name in ["", "URL_DECODE", "urlDecode", "url_decode ", "none", "lower_case"] {
            assert_eq!(Transform::from_name(name), None, "{name:?}");
        }
    }

    #[test]
    fn suggest_finds_near_names() {
        let cases: &[(&str, Option<&str>)] = &[
            ("url_decod", Some("url_decode")),
            ("url_deocde", Some("url_decode")),
            ("urlDecodeUni", Some("url_decode_uni")),
            ("url_decode_u", Some("url_decode")),
            ("lowercase", Some("lowercase")),
            ("lowerCase", Some("lowercase")),
            ("lenght", Some("length")),
            ("normalisePath", Some("normalize_path")),
            ("normalizePathWin", Some("normalize_path_win")),
            ("cmdline", Some("cmd_line")),
            ("htmlEntityDecode", Some("html_entity_decode")),
            ("utf8toUnicode", Some("utf8_to_unicode")),
            ("base64DecodeExt", Some("base64_decode_ext")),
            ("trimleft", Some("trim_left")),
            ("md5", None),
            ("sha1", None),
            ("none", None),
            ("", None),
            ("a_very_long_name_that_is_nothing_like_any_transform", None),
        ];
        for (name, want) in cases {
            assert_eq!(Transform::suggest(name), *want, "{name:?}");
        }
    }

    #[test]
    fn edit_distance_counts_swaps_once() {
        assert_eq!(edit_distance(b"", b""), 0);
        assert_eq!(edit_distance(b"abc", b""), 3);
        assert_eq!(edit_distance(b"", b"ab"), 2);
        assert_eq!(edit_distance(b"kitten", b"sitting"), 3);
        assert_eq!(edit_distance(b"ab", b"ba"), 1);
        assert_eq!(edit_distance(b"length", b"lenght"), 1);
    }

    #[test]
    fn max_output_len_never_overflows() {
        for &t in Transform::ALL {
            let _ = t.max_output_len(usize::MAX);
            assert!(t.max_output_len(0) <= 1, "{t:?}");
        }
    }
}
