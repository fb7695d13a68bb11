//! `Cookie` header parsing into [`Origin::Cookie`] pairs.
//!
//! Reference (one `Cookie` header value; call once per header):
//! - Split on `;`, then at the first `=`; names and values trimmed of spaces and
//!   tabs: `a=1; b = 2` is `a` = `1`, `b` = `2`.
//! - A part without `=` is a name with an empty value (`flag`). An empty name is
//!   skipped unless its value is not empty: `=x` is kept (the value must still be
//!   inspected), `;;`, `; ;` and a lone `=` are not.
//! - Values are not percent-decoded (rules decode with transforms) and keep
//!   surrounding double quotes as sent (`a="x"` has the value `"x"`); a `;`
//!   inside quotes still splits, as browsers and most servers do.
//! - Cookies are not arguments: they go through [`Fields::push_pair`] and do not
//!   count against the argument limit.

use super::fields::{Fields, Origin};
use super::header::trim_ows;

/// Parses one `Cookie` header value into [`Origin::Cookie`] pairs.
pub(crate) fn parse_cookies(header_value: &[u8], fields: &mut Fields) {
    for (name, value) in cookies(header_value) {
        let name = fields.push_bytes(name);
        let value = fields.push_bytes(value);
        fields.push_pair(Origin::Cookie, name, value);
    }
}

/// The number of pairs [`parse_cookies`] gives for `header_value`, without
/// storing them: a part is kept when it has a byte other than spaces, tabs
/// and the `=` that splits it (a second `=` belongs to the value).
pub(crate) fn count_cookies(header_value: &[u8]) -> usize {
    let mut pairs = 0;
    let mut from = 0;
    // A part's first bytes decide it, but for parts of blanks and `=` only.
    for end in memchr::memchr_iter(b';', header_value).chain([header_value.len()]) {
        let part = &header_value[from..end];
        pairs += usize::from(
            part.iter().any(|&b| !matches!(b, b' ' | b'\t' | b'='))
                || part.iter().filter(|&&b| b == b'=').nth(1).is_some(),
        );
        from = end + 1;
    }
    pairs
}

/// The (name, value) pairs of one `Cookie` header value, trimmed.
fn cookies(header_value: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    header_value.split(|&b| b == b';').filter_map(|part| {
        let (name, value) = match part.iter().position(|&b| b == b'=') {
            Some(eq) => (&part[..eq], &part[eq + 1..]),
            None => (part, &[][..]),
        };
        let (name, value) = (trim_ows(name), trim_ows(value));
        (!name.is_empty() || !value.is_empty()).then_some((name, value))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    fn pairs(f: &Fields) -> Vec<(Vec<u8>, Vec<u8>)> {
        f.pairs.iter().map(|p| (f.get(p.name).to_vec(), f.get(p.value).to_vec())).collect()
    }

    #[test]
    fn table() {
        type Case<'a> = (&'a [u8], &'a [(&'a [u8], &'a [u8])]);
        let cases: &[Case<'_>] = &[
            (b"", &[]),
            (b"a=1", &[(b"a", b"1")]),
            (b"a=1; b=2", &[(b"a", b"1"), (b"b", b"2")]),
            (b"a=1;b=2", &[(b"a", b"1"), (b"b", b"2")]),
            (b" a = 1 ;\tb\t=\t2\t", &[(b"a", b"1"), (b"b", b"2")]),
            (b"flag", &[(b"flag", b"")]),
            (b"flag; a=", &[(b"flag", b""), (b"a", b"")]),
            (b"=x", &[(b"", b"x")]),
            (b"=", &[]),
            (b";;  ; a=1;", &[(b"a", b"1")]),
            (b"a=b=c", &[(b"a", b"b=c")]),
            (b"a=\"q\"", &[(b"a", b"\"q\"")]),
            (b"a=\"x;y\"", &[(b"a", b"\"x"), (b"y\"", b"")]),
            (b"a=%27%20or", &[(b"a", b"%27%20or")]),
            (b"a=1, b=2", &[(b"a", b"1, b=2")]),
            (b"a=1; a=2", &[(b"a", b"1"), (b"a", b"2")]),
            (b"\xff=\x00", &[(b"\xff", b"\x00")]),
        ];
        for &(input, want) in cases {
            let mut f = Fields::default();
            parse_cookies(input, &mut f);
            let want: Vec<(Vec<u8>, Vec<u8>)> = want.iter().map(|(n, v)| (n.to_vec(), v.to_vec())).collect();
            assert_eq!(pairs(&f), want, "{:?}", String::from_utf8_lossy(input));
            assert!(f.pairs.iter().all(|p| p.origin == Origin::Cookie));
            assert_eq!(f.arg_count, 0, "cookies are not arguments");
        }
    }

    #[test]
    fn warmed_up_parsing_does_not_grow() {
        let input = b"session=abc123; theme=\"dark\"; flag; =x";
        let mut f = Fields::default();
        parse_cookies(input, &mut f);
        let (bytes, pairs) = (f.bytes.capacity(), f.pairs.capacity());
        f.clear();
        parse_cookies(input, &mut f);
        assert_eq!((f.bytes.capacity(), f.pairs.capacity()), (bytes, pairs));
    }

    proptest! {
        #[test]
        fn any_input_gives_pairs_inside_the_arena(input in vec(any::<u8>(), 0..300)) {
            let mut f = Fields::default();
            parse_cookies(&input, &mut f);
            prop_assert!(f.bytes.len() <= input.len());
            for p in &f.pairs {
                for r in [p.name, p.value] {
                    prop_assert!(r.start <= r.end && r.end as usize <= f.bytes.len());
                }
                prop_assert!(!(p.name.len() == 0 && p.value.len() == 0));
            }
        }

        #[test]
        fn counting_agrees_with_parsing(input in vec(prop_oneof![Just(b';'), Just(b'='), Just(b' '), Just(b'\t'), any::<u8>()], 0..64)) {
            let mut f = Fields::default();
            parse_cookies(&input, &mut f);
            prop_assert_eq!(count_cookies(&input), f.pairs.len());
        }

        #[test]
        fn cookies_come_back(want in vec(("[a-zA-Z0-9_.-]{1,8}", "[!#-+\\--:<-~]{0,8}"), 0..8)) {
            let mut input = String::new();
            for (name, value) in &want {
                input.push_str(&format!("{name}={value}; "));
            }
            let mut f = Fields::default();
            parse_cookies(input.as_bytes(), &mut f);
            let want: Vec<(Vec<u8>, Vec<u8>)> =
                want.into_iter().map(|(n, v)| (n.into_bytes(), v.into_bytes())).collect();
            prop_assert_eq!(pairs(&f), want);
        }
    }
}
