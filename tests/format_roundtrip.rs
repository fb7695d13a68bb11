//! The formatter and the parser hold each other to account.
//!
//! Strategies build arbitrary *valid* syntax trees: every item, statement,
//! collection, operator and expression shape the grammar can express, with
//! strings full of quotes, escapes, control characters and Unicode, bare and
//! quoted tags, and IPv4/IPv6 networks. The properties:
//!
//! 1. `parse(format(f))` has no errors and equals `f` (spans do not take part
//!    in equality, see `Span`);
//! 2. formatting is idempotent;
//! 3. `#` comments inserted into formatted text (own-line, and trailing after a
//!    complete line) come out of the comment-keeping formatter exactly once,
//!    in order, and the tree is unchanged;
//! 4. the parser never panics on mutated text, and every error's line:column
//!    points inside the text;
//! 5. whatever the parser accepts from mutated text formats back to the same
//!    tree.
//!
//! Each property runs 256 cases, or `PROPTEST_CASES`. Failures are not
//! persisted to files (this suite writes nothing into the tree); proptest
//! prints the minimal input instead.
//!
//! Where a property found a formatter or parser bug, the generator avoids that
//! construct and says so in a `// BUG:` comment, so the suite keeps guarding
//! everything else until the bug is fixed.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::Config;
use rampart::Transform;
use rampart::dsl::ast::*;
use rampart::dsl::{self, RuleError, SourceFile};

// ---------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------

/// A value at no particular place (spans compare equal whatever they are).
fn at<T>(value: T) -> Spanned<T> {
    Spanned::new(value, Span::default())
}

/// Characters that stress quoting and tokenising: every escape the parser
/// knows, other control characters (C0, DEL, C1), Unicode whitespace and line
/// separators, a BOM, the comment, brace, bracket and backtick characters, the
/// `u` of `\u{...}`, and characters of 2, 3 and 4 UTF-8 bytes.
const TRICKY_CHARS: &str =
    "\"\\\n\r\t\0\u{1}\u{1b}\u{7f}\u{85}\u{9f}\u{a0}\u{2028}\u{2029}\u{3000}\u{feff}#{}[](),`!= ué€😀\u{10ffff}";

/// Whole strings that look like syntax.
const TRICKY_STRINGS: &[&str] = &[
    "",
    "\\u{41}",
    "\\",
    "\"",
    "# not a comment",
    "}\nrule 1 {",
    "a\r\nb",
    "\u{0}\u{1}\u{7f}\u{80}",
    "`regex`",
    "tab\there",
];

fn arb_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => select(TRICKY_CHARS.chars().collect::<Vec<_>>()),
        3 => prop::char::range('a', 'z'),
        2 => any::<char>(),
    ]
}

/// Any string: the formatter must quote it so that it parses back.
fn arb_string() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => vec(arb_char(), 0..12).prop_map(String::from_iter),
        1 => select(TRICKY_STRINGS).prop_map(str::to_owned),
    ]
}

/// A regex body: anything but a backtick or a newline (it is taken verbatim).
fn arb_regex() -> impl Strategy<Value = String> {
    vec(arb_char().prop_map(|c| if c == '`' || c == '\n' { '.' } else { c }), 0..12).prop_map(String::from_iter)
}

/// Bare tags that read like keywords or syntax where they are written.
const KEYWORD_TAGS: &[&str] = &["for", "when", "rule", "tag", "not", "and", "or", "none", "-", "..", "1..2", "0", "+"];

/// A tag: mostly bare words, sometimes a string that needs quotes.
fn arb_tag() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[A-Za-z0-9_.:/+-]{1,12}",
        1 => select(KEYWORD_TAGS).prop_map(str::to_owned),
        2 => arb_string(),
    ]
}

fn arb_u32() -> impl Strategy<Value = u32> {
    prop_oneof![any::<u32>(), 0u32..1000, Just(u32::MAX)]
}

fn arb_cidr() -> impl Strategy<Value = Cidr> {
    // Zero-heavy IPv6 groups exercise the `::` compression of the printed form.
    let group = prop_oneof![Just(0u16), Just(0xffff), any::<u16>()];
    prop_oneof![
        (any::<u32>(), 0u8..=32).prop_map(|(a, prefix)| Cidr { addr: IpAddr::V4(Ipv4Addr::from(a)), prefix }),
        (select(vec![0u32, 0x7f00_0001, u32::MAX]), 0u8..=32)
            .prop_map(|(a, prefix)| Cidr { addr: IpAddr::V4(Ipv4Addr::from(a)), prefix }),
        (any::<u128>(), 0u8..=128).prop_map(|(a, prefix)| Cidr { addr: IpAddr::V6(Ipv6Addr::from(a)), prefix }),
        (prop::array::uniform8(group), 0u8..=128)
            .prop_map(|(g, prefix)| Cidr { addr: IpAddr::V6(Ipv6Addr::from(g)), prefix }),
        // IPv4-mapped addresses print as `::ffff:1.2.3.4`.
        (any::<u32>(), 0u8..=128)
            .prop_map(|(a, prefix)| Cidr { addr: IpAddr::V6(Ipv4Addr::from(a).to_ipv6_mapped()), prefix }),
    ]
}

fn arb_selector() -> impl Strategy<Value = Selector> {
    let key = prop_oneof![arb_string().prop_map(KeyPattern::Exact), arb_regex().prop_map(KeyPattern::Regex)];
    (any::<bool>(), key).prop_map(|(negated, key)| Selector { negated, key, span: Span::default() })
}

/// Any collection; keyed ones sometimes with key selectors.
fn arb_target() -> impl Strategy<Value = Target> {
    select(Collection::ALL.to_vec()).prop_flat_map(|collection| {
        let selectors = if collection.is_keyed() { 0..4 } else { 0..1 };
        vec(arb_selector(), selectors).prop_map(move |selectors| Target {
            collection,
            selectors,
            span: Span::default(),
        })
    })
}

fn arb_cmp() -> impl Strategy<Value = CmpOp> {
    select(vec![CmpOp::Eq, CmpOp::Ne, CmpOp::Lt, CmpOp::Le, CmpOp::Gt, CmpOp::Ge])
}

/// A number for `== N`, `< N`, ...
fn arb_i64() -> impl Strategy<Value = i64> {
    // BUG: `format_file` prints `Compare(_, i64::MIN)` as `-9223372036854775808`, which
    // the parser rejects ("number is too large": it negates a u64 that must fit in i64),
    // e.g. `rule 1 {\n    match     == -9223372036854775808\n}`. Until the parser accepts
    // it, i64::MIN is left out.
    prop_oneof![(i64::MIN + 1..=i64::MAX), -10i64..10, select(vec![0, -1, i64::MIN + 1, i64::MAX]),]
}

fn arb_strings() -> impl Strategy<Value = Vec<Spanned<String>>> {
    vec(arb_string().prop_map(at), 1..4)
}

fn arb_byte_range() -> impl Strategy<Value = Spanned<(u8, u8)>> {
    prop_oneof![
        any::<u8>().prop_map(|b| (b, b)),
        (any::<u8>(), any::<u8>()).prop_map(|(a, b)| (a.min(b), a.max(b))),
        Just((0, 255)),
    ]
    .prop_map(at)
}

/// Every operator.
fn arb_operator() -> impl Strategy<Value = Operator> {
    prop_oneof![
        arb_regex().prop_map(|r| Operator::Regex(at(r))),
        arb_strings().prop_map(|l| Operator::Phrases(PhraseSource::List(l))),
        arb_string().prop_map(|f| Operator::Phrases(PhraseSource::File(at(f)))),
        arb_string().prop_map(|s| Operator::Contains(at(s))),
        arb_string().prop_map(|s| Operator::StartsWith(at(s))),
        arb_string().prop_map(|s| Operator::EndsWith(at(s))),
        arb_string().prop_map(|s| Operator::Equals(at(s))),
        arb_strings().prop_map(|l| Operator::In(ListLiteral::Strings(l))),
        vec(arb_cidr().prop_map(at), 1..4).prop_map(|l| Operator::In(ListLiteral::Networks(l))),
        (arb_cmp(), arb_i64()).prop_map(|(op, n)| Operator::Compare(op, at(n))),
        (arb_cmp(), prop_oneof![any::<u64>(), 0u64..100, Just(u64::MAX)])
            .prop_map(|(op, n)| Operator::Length(op, at(n))),
        Just(Operator::DetectSqli),
        Just(Operator::DetectXss),
        Just(Operator::InvalidUtf8),
        Just(Operator::InvalidUrlEncoding),
        vec(arb_byte_range(), 1..4).prop_map(Operator::ByteRange),
    ]
}

/// `not` cannot be combined with `!=` (the parser rejects the double negation).
fn negation_allowed(negated: bool, op: &Operator) -> bool {
    negated && !matches!(op, Operator::Compare(CmpOp::Ne, _))
}

/// `subject [not] operator`; `count(...)` only with a number comparison.
fn arb_condition() -> impl Strategy<Value = Condition> {
    prop_oneof![
        3 => (arb_target(), any::<bool>(), arb_operator()).prop_map(|(target, negated, op)| Condition {
            subject: Subject::Values(target),
            negated: negation_allowed(negated, &op),
            op,
            span: Span::default(),
        }),
        1 => (arb_target(), any::<bool>(), arb_cmp(), arb_i64()).prop_map(|(target, negated, cmp, n)| Condition {
            subject: Subject::Count(target),
            negated: negated && cmp != CmpOp::Ne,
            op: Operator::Compare(cmp, at(n)),
            span: Span::default(),
        }),
    ]
}

/// A `when` expression, nested up to 3 levels; `and`/`or` have 2-3 parts.
fn arb_expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        1 => select(Flag::ALL.to_vec()).prop_map(|f| Expr::Flag(at(f))),
        3 => arb_condition().prop_map(Expr::Cond),
    ];
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            vec(inner.clone(), 2..4).prop_map(Expr::Or),
            vec(inner.clone(), 2..4).prop_map(Expr::And),
            inner.prop_map(|e| Expr::Not(Box::new(e))),
        ]
    })
}

fn arb_action() -> impl Strategy<Value = Action> {
    prop_oneof![
        Just(Action::Deny(None)),
        (100u16..=599).prop_map(|s| Action::Deny(Some(s))),
        Just(Action::Allow),
        Just(Action::Log),
        prop_oneof![any::<u32>(), 0u32..10].prop_map(Action::Score),
    ]
}

/// A rule with a random subset of statements. The parser does not check that
/// a rule is complete (that is the compiler's job), so any subset round-trips.
fn arb_rule() -> impl Strategy<Value = Rule> {
    let head = (
        arb_u32(),
        arb_string(),
        option::of(select(vec![PhaseName::Headers, PhaseName::Body])),
        option::of(1u8..=4),
        option::of(select(Severity::ALL.to_vec())),
        vec(arb_tag(), 0..4),
    );
    let body = (
        option::of(vec(arb_target(), 1..4)),
        option::of(vec(select(Transform::ALL), 0..4)),
        option::of((any::<bool>(), arb_operator())),
        option::of(arb_expr()),
        option::of(arb_action()),
    );
    (head, body).prop_map(
        |((id, message, phase, paranoia, severity, tags), (inspect, transform, matcher, when, action))| Rule {
            message: at(message),
            phase: phase.map(at),
            paranoia: paranoia.map(at),
            severity: severity.map(at),
            tags: tags.into_iter().map(at).collect(),
            inspect: inspect.map(at),
            transform: transform.map(|list| at(list.into_iter().map(at).collect())),
            matcher: matcher.map(|(negated, op)| at(Match { negated: negation_allowed(negated, &op), op })),
            when: when.map(at),
            action: action.map(at),
            ..Rule::new(id)
        },
    )
}

/// `exclude rule ids/ranges` or `exclude tag tags`, with optional `for` and `when`.
fn arb_exclude() -> impl Strategy<Value = Exclude> {
    let by_id = prop_oneof![
        arb_u32().prop_map(|n| RuleSelector::Id(at(n))),
        (arb_u32(), arb_u32()).prop_map(|(a, b)| RuleSelector::Range(at(a.min(b)), at(a.max(b)))),
    ];
    let rules = prop_oneof![vec(by_id, 1..4), vec(arb_tag().prop_map(|t| RuleSelector::Tag(at(t))), 1..4)];
    (rules, vec(arb_target(), 0..3), option::of(arb_expr())).prop_map(|(rules, targets, when)| Exclude {
        rules,
        targets,
        when,
        span: Span::default(),
    })
}

fn arb_item() -> impl Strategy<Value = Item> {
    prop_oneof![
        4 => arb_rule().prop_map(Item::Rule),
        2 => arb_exclude().prop_map(Item::Exclude),
        1 => arb_string().prop_map(|path| Item::Include(Include { path: at(path), span: Span::default() })),
    ]
}

/// A file of 1-6 items.
fn arb_file() -> impl Strategy<Value = File> {
    vec(arb_item(), 1..=6).prop_map(|items| File { items })
}

// ---------------------------------------------------------------------------
// Comments and mutations
// ---------------------------------------------------------------------------

/// Comment texts (after the `#`), made unique by a `<n>` marker; the rest
/// checks that they are copied verbatim.
const COMMENT_TAILS: &[&str] =
    &["", " note", " \"quoted\" and `ticked`", " {braces} [brackets]", " # again", " é😀", "\t\\"];

/// Inserts comments into `text` (which ends with a newline): before line `n`
/// an own-line comment when `own[n] % 3 == 1` (indented per `own[n] / 3`),
/// after non-blank line `n` a trailing comment when `trailing[n] % 3 == 1`
/// (with or without a space before the `#`). Missing entries and zeros (where
/// shrinking goes) mean no comment. Returns the text and the comment texts in
/// order.
fn insert_comments(text: &str, own: &[u8], trailing: &[u8]) -> (String, Vec<String>) {
    let mut out = String::new();
    let mut texts = Vec::new();
    let comment = |texts: &mut Vec<String>, pick: u8| {
        let text = format!(" <{}>{}", texts.len(), COMMENT_TAILS[usize::from(pick) % COMMENT_TAILS.len()]);
        texts.push(text.clone());
        format!("#{text}")
    };
    let lines: Vec<&str> = text.strip_suffix('\n').unwrap_or(text).split('\n').collect();
    for (n, line) in lines.iter().enumerate() {
        let own = own.get(n).copied().unwrap_or(0);
        if own % 3 == 1 {
            let indent = ["", "    ", "\t"][usize::from(own / 3) % 3];
            let c = comment(&mut texts, own / 9);
            let _ = writeln!(out, "{indent}{c}");
        }
        out.push_str(line);
        let trail = trailing.get(n).copied().unwrap_or(0);
        if trail % 3 == 1 && !line.trim().is_empty() {
            let c = comment(&mut texts, trail / 6);
            let space = if trail / 3 % 2 == 0 { " " } else { "" };
            let _ = write!(out, "{space}{c}");
        }
        out.push('\n');
    }
    if own.get(lines.len()).is_some_and(|b| b % 3 == 1) {
        let c = comment(&mut texts, 0);
        let _ = writeln!(out, "{c}");
    }
    (out, texts)
}

/// An edit of the text, as bytes: the result may not even be UTF-8.
///
/// A few edits cannot nest expressions thousands deep, so these properties do
/// not reach the parser's unbounded recursion.
// BUG: `parse` recurses once per `(` and per `not` with no depth limit, so
// `rule 1 {\n    when ` + "(" x 4500 + `body_error` + ")" x 4500 + `\n}` (or ~12 000
// `not `) overflows an 8 MiB stack and aborts the process instead of reporting
// an error; a 2 MiB thread stack gives out about four times sooner.
#[derive(Clone, Debug)]
enum Mutation {
    Delete(Index, usize),
    Insert(Index, Vec<u8>),
    Duplicate(Index, usize),
}

/// Fragments worth splicing in: openers without closers, escapes, keywords.
const FRAGMENTS: &[&str] = &[
    "\"", "`", "#", "{", "}", "[", "]", "(", ")", ",", "!", "-", "..", "\\u{", "\\", "\n", "\r\n", " ", "rule ",
    "exclude ", "include ", "not ", " or ", " and ", "count(", "== ", "!= ", "é", "\u{feff}", "\u{2028}",
];

/// Numbers and escapes just out of range.
const OUT_OF_RANGE: &[&str] = &["-9223372036854775808", "99999999999999999999", "4294967296", "\\u{110000}"];

fn arb_mutation() -> impl Strategy<Value = Mutation> {
    let bytes = prop_oneof![
        vec(any::<u8>(), 1..4),
        select(FRAGMENTS).prop_map(|s| s.as_bytes().to_vec()),
        select(OUT_OF_RANGE).prop_map(|s| s.as_bytes().to_vec()),
    ];
    prop_oneof![
        (any::<Index>(), 1usize..24).prop_map(|(pos, len)| Mutation::Delete(pos, len)),
        (any::<Index>(), bytes).prop_map(|(pos, bytes)| Mutation::Insert(pos, bytes)),
        (any::<Index>(), 1usize..24).prop_map(|(pos, len)| Mutation::Duplicate(pos, len)),
    ]
}

fn mutate(text: &str, mutations: &[Mutation]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for m in mutations {
        match m {
            Mutation::Delete(pos, len) if !bytes.is_empty() => {
                let start = pos.index(bytes.len());
                let end = (start + len).min(bytes.len());
                bytes.drain(start..end);
            }
            Mutation::Insert(pos, new) => {
                let start = pos.index(bytes.len() + 1);
                bytes.splice(start..start, new.iter().copied());
            }
            Mutation::Duplicate(pos, len) if !bytes.is_empty() => {
                let start = pos.index(bytes.len());
                let end = (start + len).min(bytes.len());
                let copy = bytes[start..end].to_vec();
                bytes.splice(end..end, copy);
            }
            _ => {}
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

fn source(text: &str) -> SourceFile {
    SourceFile::new("prop.rules", text)
}

fn shorts(errors: &[RuleError]) -> String {
    errors.iter().map(RuleError::short).collect::<Vec<_>>().join("\n")
}

/// Every error's line:column is a place in `text`: an existing line, and a
/// column at most one past its last character.
fn check_positions(text: &str, errors: &[RuleError]) -> Result<(), TestCaseError> {
    let lines: Vec<&str> = text.split('\n').collect();
    for e in errors {
        let (line, column) = (e.line() as usize, e.column() as usize);
        prop_assert!(line >= 1 && column >= 1, "{} is not 1-based", e.short());
        prop_assert!(line <= lines.len(), "{} is past the last line ({})", e.short(), lines.len());
        let width = lines[line - 1].chars().count();
        prop_assert!(column <= width + 1, "{} is past the end of its line ({width} chars)", e.short());
    }
    Ok(())
}

fn config() -> Config {
    // 256 cases unless PROPTEST_CASES says otherwise (the default config reads it).
    Config { failure_persistence: None, ..Config::default() }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn format_then_parse_gives_the_same_file(file in arb_file()) {
        let text = dsl::format_file(&file);
        let (parsed, errors) = dsl::parse(&source(&text));
        prop_assert!(errors.is_empty(), "errors:\n{}\ntext:\n{text}", shorts(&errors));
        prop_assert_eq!(parsed, file, "text:\n{}", text);
    }

    #[test]
    fn formatting_is_idempotent(file in arb_file()) {
        let once = dsl::format_file(&file);
        let (parsed, _) = dsl::parse(&source(&once));
        let twice = dsl::format_file(&parsed);
        prop_assert_eq!(twice, once);
    }

    #[test]
    fn comments_survive_formatting(
        file in arb_file(),
        own in vec(any::<u8>(), 0..64),
        trailing in vec(any::<u8>(), 0..64),
    ) {
        let plain = dsl::format_file(&file);
        let (text, texts) = insert_comments(&plain, &own, &trailing);
        let src = source(&text);
        let (parsed, comments, errors) = dsl::parse_with_comments(&src);
        prop_assert!(errors.is_empty(), "errors:\n{}\ntext:\n{text}", shorts(&errors));
        prop_assert_eq!(&parsed, &file, "text:\n{}", text);
        let seen: Vec<&str> = comments.iter().map(|c| c.text.as_str()).collect();
        prop_assert_eq!(&seen, &texts, "comments as parsed, text:\n{}", text);

        let out = dsl::format_file_with_comments(&parsed, &comments, &src);
        let (again, again_comments, errors) = dsl::parse_with_comments(&source(&out));
        prop_assert!(errors.is_empty(), "errors:\n{}\ninput:\n{text}\noutput:\n{out}", shorts(&errors));
        prop_assert_eq!(&again, &file, "input:\n{}\noutput:\n{}", text, out);
        for t in &texts {
            // A string in the file could hold the same characters; count beyond those.
            let written = format!("#{t}");
            let extra = out.matches(&written).count() - plain.matches(&written).count();
            prop_assert_eq!(extra, 1, "`{}` appears {} times, input:\n{}\noutput:\n{}", written, extra, text, out);
        }
        let again_texts: Vec<&str> = again_comments.iter().map(|c| c.text.as_str()).collect();
        prop_assert_eq!(&again_texts, &texts, "comment order, input:\n{}\noutput:\n{}", text, out);
        let twice = dsl::format_file_with_comments(&again, &again_comments, &source(&out));
        prop_assert_eq!(twice, out, "not idempotent, input:\n{}", text);
    }

    #[test]
    fn parser_never_panics_and_errors_point_inside_the_text(
        file in arb_file(),
        mutations in vec(arb_mutation(), 1..6),
    ) {
        let text = mutate(&dsl::format_file(&file), &mutations);
        let src = source(&text);
        let (_, errors) = dsl::parse(&src);
        check_positions(&text, &errors)?;
        let (_, _, errors) = dsl::parse_with_comments(&src);
        check_positions(&text, &errors)?;
    }

    #[test]
    fn whatever_parses_formats_back(file in arb_file(), mutations in vec(arb_mutation(), 1..6)) {
        let text = mutate(&dsl::format_file(&file), &mutations);
        let (parsed, _) = dsl::parse(&source(&text));
        let formatted = dsl::format_file(&parsed);
        let (again, errors) = dsl::parse(&source(&formatted));
        prop_assert!(errors.is_empty(), "errors:\n{}\nmutated:\n{text}\nformatted:\n{formatted}", shorts(&errors));
        prop_assert_eq!(again, parsed, "mutated:\n{}\nformatted:\n{}", text, formatted);
    }
}
