//! `when` conditions: alternatives of an `or` that test the same values with
//! a regex are compiled as one alternation (see `lower_or`); the answers must
//! be those of the alternatives evaluated one by one, and errors still point
//! at the regex at fault.

use std::sync::Arc;

use rampart::{Phase, Ruleset, Transaction};

fn ruleset(rules: &str) -> Arc<Ruleset> {
    Arc::new(Ruleset::builder().source("test.rules", rules).build().unwrap_or_else(|e| panic!("{e}")))
}

/// The ids of the rules a GET with `query` and the header `x-t: header` matches.
fn matched(rs: &Arc<Ruleset>, query: &str, header: &str) -> Vec<u32> {
    let mut scratch = rs.create_scratch();
    let mut tx = Transaction::new(rs.clone());
    tx.set_request("GET", format!("/x?{query}"), "HTTP/1.1");
    tx.add_header("Host", "shop.example");
    tx.add_header("X-T", header);
    tx.evaluate(Phase::RequestBody, &mut scratch);
    let mut ids: Vec<u32> = tx.matches().map(|m| m.id()).collect();
    ids.sort_unstable();
    ids
}

/// Each rule fires on `go` in an argument and decides with its condition.
/// Rule 1's alternatives are merged (the three `args` regexes, not the
/// negated one nor the header's); rule 2 writes each regex as a rule of its own
/// condition, so rule 1 must fire exactly when one of 2..=6 does.
const RULES: &str = r#"
rule 1 "merged" {
    action log inspect args match contains "go"
    when args regex `^a[0-9]+$` or headers["x-t"] regex `h1` or args regex `b{2}` or not args regex `z` or args regex `(?i)^c-`
}
rule 2 "a" { action log inspect args match contains "go" when args regex `^a[0-9]+$` }
rule 3 "h" { action log inspect args match contains "go" when headers["x-t"] regex `h1` }
rule 4 "b" { action log inspect args match contains "go" when args regex `b{2}` }
rule 5 "not z" { action log inspect args match contains "go" when not args regex `z` }
rule 6 "c" { action log inspect args match contains "go" when args regex `(?i)^c-` }
"#;

#[test]
fn merged_regex_alternatives_answer_as_the_alternatives_do() {
    let rs = ruleset(RULES);
    let cases = [
        ("q=go&z=z", "none", false),
        ("q=go&v=a12&z=z", "none", true),
        ("q=go&v=a12x&z=z", "none", false),
        ("q=go&z=z", "xh1x", true),
        ("q=go&v=abba&z=z", "none", true),
        ("q=go&v=ab&z=z", "none", false),
        ("q=go", "none", true),
        ("q=go&v=C-3&z=z", "none", true),
        ("q=go&v=x-c-&z=z", "none", false),
        ("q=stop&v=a1", "h1", false),
    ];
    for (query, header, merged) in cases {
        let ids = matched(&rs, query, header);
        let apart = ids.iter().any(|&id| (2..=6).contains(&id));
        assert_eq!(ids.contains(&1), apart, "{query} / {header}: {ids:?}");
        assert_eq!(ids.contains(&1), merged, "{query} / {header}: {ids:?}");
    }
}

#[test]
fn a_bad_regex_among_merged_alternatives_is_reported_at_its_place() {
    let rules = "rule 1 \"x\" {\n    severity critical inspect args match contains \"go\"\n    when args regex `ok` or args regex `(bad`\n}\n";
    let err = Ruleset::builder().source("test.rules", rules).build().unwrap_err();
    let shorts: Vec<String> = err.errors().iter().map(|e| e.short()).collect();
    assert_eq!(shorts, ["test.rules:3:41: error: invalid regex: unclosed group"]);
}

#[test]
fn regexes_too_large_together_are_kept_apart() {
    // Each compiles on its own; their alternation is over the regex
    // engine's size limit, so each stays a condition of its own.
    let big = |last: char| format!(r"(?u)\w{{200}}{last}");
    let rules = format!(
        "rule 1 \"x\" {{ severity critical inspect args match contains \"go\" when args regex `{}` or args regex `{}` }}",
        big('x'),
        big('y')
    );
    let rs = ruleset(&rules);
    let word = "é".repeat(200);
    assert_eq!(matched(&rs, &format!("q=go&v={word}y"), "none"), [1]);
    assert_eq!(matched(&rs, &format!("q=go&v={word}x"), "none"), [1]);
    assert_eq!(matched(&rs, &format!("q=go&v={word}z"), "none"), Vec::<u32>::new());
}
