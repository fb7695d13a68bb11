//! `name=value&name=value` parsing, for query strings ([`Origin::Query`]) and
//! `application/x-www-form-urlencoded` bodies ([`Origin::Form`]).
//!
//! Reference (input without the leading `?`):
//! - Parts are split on `&` only, ModSecurity's default `SecArgumentSeparator`;
//!   `;` is an ordinary byte (`a=1;b=2` is one argument `a` = `1;b=2`).
//! - Each part splits at its first `=`: `a=b=c` is `a` = `b=c`. A part without
//!   `=` is a name with an empty value (`flag`), `=x` has the empty name (kept:
//!   its value must still be inspected). Empty parts (`a=1&&b=2`, a leading or
//!   trailing `&`) are skipped.
//! - Names and values are percent-decoded after the split, `+` as space, so
//!   `a%3Db=c` is `a=b` = `c`. An invalid escape (`%zz`) is kept as sent and
//!   sets [`ParseStatus::invalid_encoding`]; it is never an error.
//! - Limits: each pair is an argument; when [`Fields::push_arg`] refuses one,
//!   parsing stops with [`ParseStatus::limit_exceeded`].

use super::fields::{Fields, Origin, ParseStatus};
use super::percent::{find_byte, has_invalid_percent, percent_decode_into};

/// Parses `name=value` pairs separated by `&` into `fields` as arguments of
/// `origin` (`Query` or `Form`). Never sets an error: every input is some list
/// of pairs.
pub(crate) fn parse_urlencoded(input: &[u8], origin: Origin, fields: &mut Fields) -> ParseStatus {
    let mut status = ParseStatus::default();
    let mut from = 0;
    while from < input.len() {
        let end = find_byte(b'&', &input[from..]).map_or(input.len(), |i| from + i);
        let part = &input[from..end];
        from = end + 1;
        if part.is_empty() {
            continue;
        }
        let (name, value) = match find_byte(b'=', part) {
            Some(eq) => (&part[..eq], &part[eq + 1..]),
            None => (part, &[][..]),
        };
        let start = fields.mark();
        let name_ok = percent_decode_into(name, true, &mut fields.bytes);
        let name = fields.range_from(start);
        let value_start = fields.mark();
        let value_ok = percent_decode_into(value, true, &mut fields.bytes);
        let value = fields.range_from(value_start);
        if !fields.push_arg(origin, name, value) {
            fields.bytes.truncate(start as usize);
            status.limit_exceeded = true;
            break;
        }
        status.invalid_encoding |= !(name_ok && value_ok);
    }
    status
}

/// What [`parse_urlencoded`] reports for `input` when no limit stops it,
/// without storing a pair: the number of pairs, and whether an escape is
/// invalid (a `%XX` never spans a separator, so the whole text tells).
pub(crate) fn count_urlencoded(input: &[u8]) -> (usize, bool) {
    let mut pairs = 0;
    let mut from = 0;
    for end in memchr::memchr_iter(b'&', input).chain([input.len()]) {
        pairs += usize::from(end > from);
        from = end + 1;
    }
    (pairs, has_invalid_percent(input))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    fn fields(max_args: usize) -> Fields {
        Fields { max_args, ..Fields::default() }
    }

    fn pairs(f: &Fields) -> Vec<(Vec<u8>, Vec<u8>)> {
        f.pairs.iter().map(|p| (f.get(p.name).to_vec(), f.get(p.value).to_vec())).collect()
    }

    #[test]
    fn table() {
        type Case<'a> = (&'a [u8], &'a [(&'a [u8], &'a [u8])], bool);
        // (input, pairs, invalid_encoding)
        let cases: &[Case<'_>] = &[
            (b"", &[], false),
            (b"a=1", &[(b"a", b"1")], false),
            (b"a=1&b=2", &[(b"a", b"1"), (b"b", b"2")], false),
            (b"a=%zz", &[(b"a", b"%zz")], true),
            (b"%zz=1", &[(b"%zz", b"1")], true),
            (b"a=%4", &[(b"a", b"%4")], true),
            (b"=x", &[(b"", b"x")], false),
            (b"=", &[(b"", b"")], false),
            (b"&&", &[], false),
            (b"a=1&&b=2&", &[(b"a", b"1"), (b"b", b"2")], false),
            (b"&a", &[(b"a", b"")], false),
            (b"flag", &[(b"flag", b"")], false),
            (b"a=b=c", &[(b"a", b"b=c")], false),
            (b"a%3Db=c%26d", &[(b"a=b", b"c&d")], false),
            (b"q=1+2%2B3", &[(b"q", b"1 2+3")], false),
            (b"a=1;b=2", &[(b"a", b"1;b=2")], false),
            (b"a+b=%E2%82%AC", &[(b"a b", "€".as_bytes())], false),
            (b"id=1%27%20or%201%3D1--", &[(b"id", b"1' or 1=1--")], false),
            (b"x=\xff\x00", &[(b"x", b"\xff\x00")], false),
        ];
        for &(input, want, invalid) in cases {
            let mut f = fields(100);
            let status = parse_urlencoded(input, Origin::Query, &mut f);
            let want: Vec<(Vec<u8>, Vec<u8>)> = want.iter().map(|(n, v)| (n.to_vec(), v.to_vec())).collect();
            assert_eq!(pairs(&f), want, "{:?}", String::from_utf8_lossy(input));
            assert_eq!(status, ParseStatus { invalid_encoding: invalid, ..ParseStatus::default() });
            assert!(f.pairs.iter().all(|p| p.origin == Origin::Query));
        }
    }

    #[test]
    fn stops_at_the_argument_limit() {
        let mut f = fields(2);
        let status = parse_urlencoded(b"a=1&b=2&c=3&d=%zz", Origin::Form, &mut f);
        assert!(status.limit_exceeded && !status.invalid_encoding && status.error.is_none());
        assert_eq!(pairs(&f), vec![(b"a".to_vec(), b"1".to_vec()), (b"b".to_vec(), b"2".to_vec())]);
        assert_eq!(f.bytes, b"a1b2", "the refused pair's bytes are dropped");
        assert!(f.pairs.iter().all(|p| p.origin == Origin::Form));
    }

    #[test]
    fn many_pairs_in_linear_time() {
        let input = b"a=1&".repeat(100_000);
        let mut f = fields(usize::MAX);
        parse_urlencoded(&input, Origin::Query, &mut f);
        assert_eq!(f.pairs.len(), 100_000);
    }

    #[test]
    fn warmed_up_parsing_does_not_grow() {
        let input = b"user=alice&pass=%zz&q=select+1&&x";
        let mut f = fields(100);
        parse_urlencoded(input, Origin::Query, &mut f);
        let (bytes, pairs) = (f.bytes.capacity(), f.pairs.capacity());
        f.clear();
        parse_urlencoded(input, Origin::Query, &mut f);
        assert_eq!((f.bytes.capacity(), f.pairs.capacity()), (bytes, pairs));
    }

    /// Encodes bytes the way a browser would, with random hex case.
    fn encode(bytes: &[u8], out: &mut Vec<u8>) {
        for &b in bytes {
            match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(b),
                b' ' => out.push(b'+'),
                _ => out.extend_from_slice(&[
                    b'%',
                    b"0123456789ABCDEF"[usize::from(b >> 4)],
                    b"0123456789abcdef"[usize::from(b & 15)],
                ]),
            }
        }
    }

    proptest! {
        #[test]
        fn encoded_pairs_come_back(want in vec(
            (vec(any::<u8>(), 0..12), vec(any::<u8>(), 0..12)), 0..12)) {
            let mut input = Vec::new();
            for (i, (name, value)) in want.iter().enumerate() {
                if i > 0 {
                    input.push(b'&');
                }
                encode(name, &mut input);
                input.push(b'=');
                encode(value, &mut input);
            }
            let mut f = fields(usize::MAX);
            let status = parse_urlencoded(&input, Origin::Form, &mut f);
            prop_assert_eq!(status, ParseStatus::default());
            prop_assert_eq!(pairs(&f), want);
        }

        #[test]
        fn counting_agrees_with_parsing(input in vec(prop_oneof![Just(b'&'), Just(b'='), Just(b'%'), Just(b'4'), Just(b'f'), any::<u8>()], 0..64)) {
            let mut f = fields(usize::MAX);
            let status = parse_urlencoded(&input, Origin::Query, &mut f);
            prop_assert_eq!(count_urlencoded(&input), (f.pairs.len(), status.invalid_encoding));
        }

        #[test]
        fn any_input_gives_pairs_inside_the_arena(
            input in vec(any::<u8>(), 0..300),
            max_args in 0usize..8,
        ) {
            let mut f = fields(max_args);
            let status = parse_urlencoded(&input, Origin::Query, &mut f);
            prop_assert!(status.error.is_none());
            prop_assert!(f.pairs.len() <= max_args);
            prop_assert!(f.bytes.len() <= input.len());
            for p in &f.pairs {
                for r in [p.name, p.value] {
                    prop_assert!(r.start <= r.end && r.end as usize <= f.bytes.len());
                }
            }
        }
    }
}
