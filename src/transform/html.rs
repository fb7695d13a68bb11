//! `html_entity_decode`: HTML character references to the characters they
//! name.
//!
//! # Reference
//! ```text
//! transform html_entity_decode, lowercase
//! ```
//! - Numeric: decimal `&#60;` and hex `&#x3c;` / `&#X3C;`, any number of
//!   leading zeros, the trailing `;` optional (`&#60` works, as in browsers).
//! - Named: the entity's name must match a name in the `ENTITIES` table exactly
//!   (case-sensitive, as in HTML5: `&LT;` is in the table, `&Lt;` is not), the
//!   trailing `;` optional. The table holds `lt gt amp quot apos nbsp` and the
//!   HTML5 names attackers use to hide syntax (`colon lpar rpar sol bsol Tab
//!   NewLine grave excl num ...`), plus common typography and invisible
//!   characters (`shy zwj zwnj lrm rlm ZeroWidthSpace ...`).
//! - Code points above U+007F are written as **UTF-8** (`&#233;` is `C3 A9`,
//!   `&nbsp;` is `C2 A0`). ModSecurity writes one truncated byte, which turns
//!   `&#x13c;` into `<`: a false positive, and a decoder that disagrees with
//!   every browser. UTF-8 keeps the output no longer than the input (a
//!   reference to a code point needing n UTF-8 bytes is at least n + 1 long),
//!   and `compress_whitespace` / `remove_whitespace` know UTF-8 NBSP.
//! - `&#0;` is a NUL byte (browsers show U+FFFD; a NUL lets `remove_nulls` and
//!   NUL-detecting rules see it). U+0080..=U+009F are not remapped through
//!   windows-1252 as browsers do; they are written as UTF-8 of that code point.
//!
//! # Edge cases
//! - Invalid references are kept literally: `&#;`, `&#x;`, `&#xzz`, a value
//!   above U+10FFFF or a surrogate (`&#xd800;`), an unknown name (`&foo;`).
//! - The name is the whole run of ASCII letters and digits after `&`, so
//!   `&ltscript` is not `<script` (browsers do not decode it in attributes
//!   either); `&lt;script` is.
//! - No double decoding: `&amp;lt;` becomes `&lt;`.
//! - Fast path: input without `&` is returned unchanged (`false`).
//! - Output length <= input length.

use super::common::{leading_digits, push_utf8};

/// Named references: (name, value), sorted by name bytes for binary search.
/// Every value is no longer in UTF-8 than `&` plus its name (a unit test
/// checks), which keeps the output within the input's length.
const ENTITIES: &[(&str, &str)] = &[
    ("AMP", "&"),
    ("DiacriticalGrave", "`"),
    ("GT", ">"),
    ("Hat", "^"),
    ("LT", "<"),
    ("NewLine", "\n"),
    ("NoBreak", "\u{2060}"),
    ("NonBreakingSpace", "\u{a0}"),
    ("QUOT", "\""),
    ("Tab", "\t"),
    ("UnderBar", "_"),
    ("VerticalLine", "|"),
    ("ZeroWidthSpace", "\u{200b}"),
    ("acute", "\u{b4}"),
    ("amp", "&"),
    ("apos", "'"),
    ("ast", "*"),
    ("bsol", "\\"),
    ("cent", "\u{a2}"),
    ("colon", ":"),
    ("comma", ","),
    ("commat", "@"),
    ("copy", "\u{a9}"),
    ("dash", "\u{2010}"),
    ("deg", "\u{b0}"),
    ("divide", "\u{f7}"),
    ("dollar", "$"),
    ("emsp", "\u{2003}"),
    ("ensp", "\u{2002}"),
    ("equals", "="),
    ("euro", "\u{20ac}"),
    ("excl", "!"),
    ("grave", "`"),
    ("gt", ">"),
    ("hellip", "\u{2026}"),
    ("hyphen", "\u{2010}"),
    ("iexcl", "\u{a1}"),
    ("iquest", "\u{bf}"),
    ("laquo", "\u{ab}"),
    ("lbrace", "{"),
    ("lbrack", "["),
    ("lcub", "{"),
    ("ldquo", "\u{201c}"),
    ("lowast", "\u{2217}"),
    ("lowbar", "_"),
    ("lpar", "("),
    ("lrm", "\u{200e}"),
    ("lsqb", "["),
    ("lsquo", "\u{2018}"),
    ("lt", "<"),
    ("mdash", "\u{2014}"),
    ("midast", "*"),
    ("middot", "\u{b7}"),
    ("minus", "\u{2212}"),
    ("nbsp", "\u{a0}"),
    ("ndash", "\u{2013}"),
    ("not", "\u{ac}"),
    ("num", "#"),
    ("percnt", "%"),
    ("period", "."),
    ("plus", "+"),
    ("pound", "\u{a3}"),
    ("quest", "?"),
    ("quot", "\""),
    ("raquo", "\u{bb}"),
    ("rbrace", "}"),
    ("rbrack", "]"),
    ("rcub", "}"),
    ("rdquo", "\u{201d}"),
    ("reg", "\u{ae}"),
    ("rlm", "\u{200f}"),
    ("rpar", ")"),
    ("rsqb", "]"),
    ("rsquo", "\u{2019}"),
    ("sect", "\u{a7}"),
    ("semi", ";"),
    ("shy", "\u{ad}"),
    ("sol", "/"),
    ("thinsp", "\u{2009}"),
    ("times", "\u{d7}"),
    ("uml", "\u{a8}"),
    ("verbar", "|"),
    ("vert", "|"),
    ("yen", "\u{a5}"),
    ("zwj", "\u{200d}"),
    ("zwnj", "\u{200c}"),
];

/// Longest name in [`ENTITIES`] ("DiacriticalGrave"); longer runs never match.
const MAX_NAME: usize = 16;

/// `html_entity_decode`.
pub(super) fn html_entity_decode(input: &[u8], out: &mut Vec<u8>) -> bool {
    if !input.contains(&b'&') {
        return false;
    }
    decode(input, out);
    true
}

/// Decodes all of `input` into `out`; the text between `&`s is copied a
/// run at a time.
pub(super) fn decode(input: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.reserve(input.len());
    let mut i = 0;
    while i < input.len() {
        let rest = &input[i..];
        let run = crate::request::percent::find_byte(b'&', rest).unwrap_or(rest.len());
        out.extend_from_slice(&rest[..run]);
        i += run;
        let Some(body) = input.get(i + 1..) else { break };
        match reference(body, out) {
            Some(used) => i += 1 + used,
            None => {
                out.push(b'&');
                i += 1;
            }
        }
    }
}

/// Decodes the reference whose body starts `s` (just after the `&`) into
/// `out`, returning how many bytes of `s` it used; `None` (and nothing
/// written) if `s` does not start a valid reference.
fn reference(s: &[u8], out: &mut Vec<u8>) -> Option<usize> {
    if s.first() == Some(&b'#') {
        return numeric(s, out);
    }
    let n = s.iter().take(MAX_NAME + 1).take_while(|b| b.is_ascii_alphanumeric()).count();
    if n == 0 || n > MAX_NAME {
        return None;
    }
    let value = lookup(&s[..n])?;
    out.extend_from_slice(value.as_bytes());
    Some(n + usize::from(s.get(n) == Some(&b';')))
}

/// `#60`, `#x3c`: `s` starts with `#`.
fn numeric(s: &[u8], out: &mut Vec<u8>) -> Option<usize> {
    let (radix, start) = match s.get(1) {
        Some(b'x' | b'X') => (16, 2),
        _ => (10, 1),
    };
    // A huge value saturates (and is invalid below) with every digit used.
    let (cp, digits) = leading_digits(s.get(start..).unwrap_or_default(), radix, usize::MAX);
    let end = start + digits;
    if digits == 0 || cp > 0x10_FFFF || (0xD800..=0xDFFF).contains(&cp) {
        return None;
    }
    push_utf8(out, cp);
    Some(end + usize::from(s.get(end) == Some(&b';')))
}

/// For each first byte (ASCII), the lengths of the names in [`ENTITIES`]
/// that start with it (bit n: a name of n bytes); [`NAME_ENDS`] the same
/// for the last byte. Most `&word` in a query string or prose
/// (`&category=`, `&page=`) is turned away by two loads, without a search.
const NAME_SHAPES: [u32; 128] = name_shapes(false);
const NAME_ENDS: [u32; 128] = name_shapes(true);

const fn name_shapes(last: bool) -> [u32; 128] {
    let mut shapes = [0u32; 128];
    let mut i = 0;
    while i < ENTITIES.len() {
        let name = ENTITIES[i].0.as_bytes();
        let b = if last { name[name.len() - 1] } else { name[0] };
        shapes[b as usize] |= 1 << name.len();
        i += 1;
    }
    shapes
}

/// The value of a named reference, if `name` is in [`ENTITIES`].
fn lookup(name: &[u8]) -> Option<&'static str> {
    let (&first, &last) = (name.first()?, name.last()?);
    let shape = |table: &[u32; 128], b: u8| table.get(usize::from(b)).copied().unwrap_or(0);
    if name.len() >= 32 || (shape(&NAME_SHAPES, first) & shape(&NAME_ENDS, last)) & (1 << name.len()) == 0 {
        return None;
    }
    ENTITIES.binary_search_by(|(n, _)| n.as_bytes().cmp(name)).ok().map(|i| ENTITIES[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::common::assert_table;

    /// [`decode`] a byte at a time: the definition the run-at-a-time copy keeps.
    fn decode_bytewise(input: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while let Some(&b) = input.get(i) {
            if b == b'&'
                && let Some(used) = reference(&input[i + 1..], &mut out)
            {
                i += 1 + used;
                continue;
            }
            out.push(b);
            i += 1;
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn runs_decode_as_bytes_do(parts in proptest::collection::vec(proptest::sample::select(
            &["&", "&&", "amp", "lt;", "#60", "#x3C;", "#", "x", ";", "lang", "para", "a", " ", "\u{e9}", "&#xD800;"][..]), 0..12)) {
            let input = parts.concat().into_bytes();
            let mut out = b"junk".to_vec();
            decode(&input, &mut out);
            proptest::prop_assert_eq!(out, decode_bytewise(&input));
        }
    }

    #[test]
    fn every_name_passes_the_shape_filter() {
        for (name, value) in ENTITIES {
            assert_eq!(lookup(name.as_bytes()), Some(*value), "{name}");
        }
        assert_eq!(lookup(b"category"), None);
        assert_eq!(lookup(b""), None);
        // Right first byte and length, wrong last byte; and the reverse.
        assert_eq!(lookup(b"ampx"), None);
        assert_eq!(lookup(b"xmp"), None);
    }

    #[test]
    fn table_is_sorted_and_never_grows() {
        assert!(ENTITIES.windows(2).all(|w| w[0].0.as_bytes() < w[1].0.as_bytes()));
        for (name, value) in ENTITIES {
            assert!(name.bytes().all(|b| b.is_ascii_alphanumeric()), "{name}");
            assert!(name.len() <= MAX_NAME, "{name}");
            assert!(value.len() <= name.len() + 1, "{name}");
            assert_eq!(value.chars().count(), 1, "{name}");
        }
        assert_eq!(ENTITIES.iter().map(|(n, _)| n.len()).max(), Some(MAX_NAME));
    }

    #[test]
    fn decode_table() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"", b""),
            (b"no entities", b"no entities"),
            (b"&lt;script&gt;", b"<script>"),
            (b"&LT;&GT;&AMP;&QUOT;", b"<>&\""),
            (b"&Lt;", b"&Lt;"),
            (b"&lt&gt", b"<>"),
            (b"&ltscript", b"&ltscript"),
            (b"&#60;&#060;&#0000060", b"<<<"),
            (b"&#x3c;&#X3C;&#x003c", b"<<<"),
            (b"&#x41g", b"Ag"),
            (b"&#65abc", b"Aabc"),
            (b"javascript&colon;alert&lpar;1&rpar;", b"javascript:alert(1)"),
            (b"&Tab;&NewLine;", b"\t\n"),
            (b"&nbsp;", b"\xc2\xa0"),
            (b"&#233;", "é".as_bytes()),
            (b"&#x1F600;", "\u{1F600}".as_bytes()),
            (b"&#0;", b"\0"),
            (b"&#x10FFFF;", "\u{10FFFF}".as_bytes()),
            (b"&#x110000;", b"&#x110000;"),
            (b"&#xd800;", b"&#xd800;"),
            (b"&#99999999999999999999;", b"&#99999999999999999999;"),
            (b"&#;", b"&#;"),
            (b"&#x;", b"&#x;"),
            (b"&#xzz;", b"&#xzz;"),
            (b"&#", b"&#"),
            (b"&", b"&"),
            (b"&;", b"&;"),
            (b"&foo;", b"&foo;"),
            (b"&&lt;", b"&<"),
            (b"&amp;lt;", b"&lt;"),
            (b"&DiacriticalGravex;", b"&DiacriticalGravex;"),
            (b"&DiacriticalGrave;", b"`"),
            (b"\xff&lt;\xfe", b"\xff<\xfe"),
        ];
        assert_table(html_entity_decode, cases);
    }
}
