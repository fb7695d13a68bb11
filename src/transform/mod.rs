//! Transformations: functions from bytes to bytes applied to a value before
//! operators see it (`transform url_decode_uni, lowercase` in a rule).
//!
//! Each transform lives in its own file with a reference block at its top, and
//! writes into a caller's reusable buffer so that evaluation allocates nothing
//! once the buffers have grown. [`Transform::apply`] is the single dispatch point.

/// One transformation step of a pipeline.
///
/// The names in the rule language are the snake_case forms returned by
/// [`Transform::name`].
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

// TEMPORARY scaffolding until the transform implementations land.
impl Transform {
    /// Every transform.
    pub const ALL: &'static [Transform] = &[
        Transform::UrlDecode, Transform::UrlDecodeUni, Transform::HtmlEntityDecode, Transform::JsDecode,
        Transform::CssDecode, Transform::Base64Decode, Transform::Base64DecodeExt, Transform::HexDecode,
        Transform::HexEncode, Transform::SqlHexDecode, Transform::Lowercase, Transform::Uppercase,
        Transform::CompressWhitespace, Transform::RemoveWhitespace, Transform::RemoveNulls, Transform::ReplaceNulls,
        Transform::ReplaceComments, Transform::RemoveComments, Transform::RemoveCommentsChar, Transform::NormalizePath,
        Transform::NormalizePathWin, Transform::CmdLine, Transform::Trim, Transform::TrimLeft, Transform::TrimRight,
        Transform::Utf8ToUnicode, Transform::EscapeSeqDecode, Transform::Length,
    ];
    /// Name.
    pub fn name(self) -> &'static str {
        match self {
            Transform::UrlDecode => "url_decode", Transform::UrlDecodeUni => "url_decode_uni",
            Transform::HtmlEntityDecode => "html_entity_decode", Transform::JsDecode => "js_decode",
            Transform::CssDecode => "css_decode", Transform::Base64Decode => "base64_decode",
            Transform::Base64DecodeExt => "base64_decode_ext", Transform::HexDecode => "hex_decode",
            Transform::HexEncode => "hex_encode", Transform::SqlHexDecode => "sql_hex_decode",
            Transform::Lowercase => "lowercase", Transform::Uppercase => "uppercase",
            Transform::CompressWhitespace => "compress_whitespace", Transform::RemoveWhitespace => "remove_whitespace",
            Transform::RemoveNulls => "remove_nulls", Transform::ReplaceNulls => "replace_nulls",
            Transform::ReplaceComments => "replace_comments", Transform::RemoveComments => "remove_comments",
            Transform::RemoveCommentsChar => "remove_comments_char", Transform::NormalizePath => "normalize_path",
            Transform::NormalizePathWin => "normalize_path_win", Transform::CmdLine => "cmd_line",
            Transform::Trim => "trim", Transform::TrimLeft => "trim_left", Transform::TrimRight => "trim_right",
            Transform::Utf8ToUnicode => "utf8_to_unicode", Transform::EscapeSeqDecode => "escape_seq_decode",
            Transform::Length => "length",
        }
    }
    /// Lookup.
    pub fn from_name(name: &str) -> Option<Transform> {
        Self::ALL.iter().copied().find(|t| t.name() == name)
    }
    /// Suggest.
    pub fn suggest(name: &str) -> Option<&'static str> {
        crate::dsl::suggest(name, Self::ALL.iter().map(|t| t.name()))
    }
    /// Apply.
    pub fn apply(self, input: &[u8], out: &mut Vec<u8>) -> bool {
        out.clear();
        match self {
            Transform::Lowercase => { out.extend(input.iter().map(u8::to_ascii_lowercase)); true }
            _ => false,
        }
    }
}
