//! Work is shared: rules that scan the same values with the same transform
//! pipeline share one pipeline run and one automaton pass per value, so adding
//! rules to a group adds patterns, not passes (but for one regex-set pass per
//! ~500 NFA states of unanchored literal-less regexes).

use std::fmt::Write as _;
use std::sync::Arc;

use rampart::{Config, Phase, Ruleset, Stats, Transaction};

/// Two rules (one regex with a literal prefilter, one without) plus `extra`
/// more of each kind, all on `args` with the same pipeline.
fn rules(extra: usize) -> String {
    let mut text = String::from(
        "rule 1 \"literal regex\" { severity critical inspect args transform url_decode_uni, lowercase match regex `union\\s+select` }\n\
         rule 2 \"set regex\" { severity critical inspect args transform url_decode_uni, lowercase match regex `^[0-9]+x$` }\n",
    );
    for i in 0..extra {
        let id = 100 + 3 * i;
        let _ = writeln!(
            text,
            "rule {id} \"literal {i}\" {{ severity critical inspect args transform url_decode_uni, lowercase match regex `token{i}\\s*=\\s*[a-z]+` }}"
        );
        let _ = writeln!(
            text,
            "rule {} \"set {i}\" {{ severity critical inspect args.query, args.body transform url_decode_uni, lowercase match regex `^[a-f]{{{}}}[0-9]$` }}",
            id + 1,
            1 + i % 7
        );
        let _ = writeln!(
            text,
            "rule {} \"phrase {i}\" {{ severity critical inspect args transform url_decode_uni, lowercase match phrases [\"word{i}\", \"other{i}\"] }}",
            id + 2
        );
    }
    text
}

fn stats_for(text: &str) -> (Stats, usize) {
    let ruleset = Arc::new(Ruleset::from_rules(text).unwrap_or_else(|e| panic!("{e}")));
    let mut scratch = ruleset.create_scratch();
    let mut tx = Transaction::new(ruleset.clone());
    tx.set_request(
        "POST",
        "/search?q=blue+suede+shoes&page=second-page&sort=price-ascending&lang=english-uk&size=forty-two",
        "HTTP/1.1",
    );
    tx.add_header("Host", "shop.example");
    tx.add_header("Content-Type", "application/x-www-form-urlencoded");
    tx.append_body("name=Ada+Lovelace&city=London+Borough");
    tx.evaluate(Phase::RequestBody, &mut scratch);
    (tx.stats(), ruleset.summary().rules)
}

#[test]
fn adding_rules_to_a_group_adds_no_passes() {
    let (small, small_rules) = stats_for(&rules(0));
    let (large, large_rules) = stats_for(&rules(100));
    assert_eq!(small_rules, 2);
    assert_eq!(large_rules, 302);
    // 7 argument values, each transformed once by the one pipeline, and
    // scanned at most once by the Aho-Corasick automaton and once by the
    // regex set however many rules there are (a pass is skipped when the text
    // lacks every byte its patterns need).
    assert_eq!(small.values_inspected, 7);
    assert_eq!(small.pipeline_runs, 7);
    assert_eq!(large.values_inspected, small.values_inspected);
    assert_eq!(large.pipeline_runs, small.pipeline_runs, "150x the rules, same pipeline runs");
    assert!(small.automaton_passes <= 2 * small.values_inspected);
    assert!(
        large.automaton_passes <= 2 * large.values_inspected,
        "150x the rules, still at most two passes per value: {large:?}"
    );
    // Nothing in this benign request contains a prefilter literal.
    assert_eq!(large.regex_confirmations, 0);
}

#[test]
fn rules_on_overlapping_fields_share_the_transformed_value() {
    // `args`, `args.query` and `json` overlap; with one pipeline each value is
    // transformed once, however many rules read it.
    let text = "rule 1 { severity critical inspect args transform lowercase match contains \"zq1\" }\n\
                rule 2 { severity critical inspect args.query transform lowercase match contains \"zq2\" }\n\
                rule 3 { severity critical inspect args, headers transform lowercase match contains \"zq3\" }\n";
    let (one_pipeline, _) = stats_for(text);
    // 7 args + 2 headers; each transformed once.
    assert_eq!(one_pipeline.values_inspected, 9);
    assert_eq!(one_pipeline.pipeline_runs, 9);
    let text2 =
        format!("{text}rule 4 {{ severity critical inspect args transform url_decode match contains \"zq4\" }}\n");
    let (two_pipelines, _) = stats_for(&text2);
    // A second pipeline on args runs once more per argument value only.
    assert_eq!(two_pipelines.pipeline_runs, 9 + 7);
}

#[test]
fn a_prefilter_hit_confirms_only_the_rules_whose_literal_occurs() {
    let ruleset = Arc::new(Ruleset::from_rules(&rules(100)).unwrap_or_else(|e| panic!("{e}")));
    let mut scratch = ruleset.create_scratch();
    let mut tx = Transaction::new(ruleset.clone());
    tx.set_request("GET", "/?q=token7%3Dabc&x=1%20UNION%20SELECT%201", "HTTP/1.1");
    let verdict = tx.evaluate(Phase::RequestBody, &mut scratch);
    let mut ids: Vec<u32> = tx.matches().map(|m| m.id()).collect();
    ids.sort_unstable();
    assert_eq!(ids, [1, 121]);
    assert!(verdict.would_block());
    // Two literals occurred (`token7` and `select`): two confirmations, not 150.
    assert_eq!(tx.stats().regex_confirmations, 2);
}

/// Evaluates one request (query `q`, optional body) and returns the matched
/// rule ids and the statistics.
fn run(rules: &str, query: &str, content_type: &str, body: &str) -> (Vec<u32>, Stats) {
    run_with(rules, Config::new(), query, content_type, body)
}

/// [`run`] with engine settings.
fn run_with(rules: &str, config: Config, query: &str, content_type: &str, body: &str) -> (Vec<u32>, Stats) {
    let ruleset = Arc::new(
        Ruleset::builder().configure(config).source("test.rules", rules).build().unwrap_or_else(|e| panic!("{e}")),
    );
    let mut scratch = ruleset.create_scratch();
    let mut tx = Transaction::new(ruleset.clone());
    tx.set_request("POST", format!("/x?q={query}"), "HTTP/1.1");
    tx.add_header("Host", "shop.example");
    tx.add_header("Content-Type", content_type);
    tx.append_body(body);
    tx.evaluate(Phase::RequestBody, &mut scratch);
    let mut ids: Vec<u32> = tx.matches().map(|m| m.id()).collect();
    ids.sort_unstable();
    (ids, tx.stats())
}

#[test]
fn texts_equal_but_for_case_share_one_automaton_pass() {
    // The raw value and its lower-cased form differ only in ASCII case: the
    // case-insensitive automaton runs once and its matches serve both, while
    // `contains` still compares bytes exactly in each text.
    let rules = "rule 1 \"raw\" { severity critical inspect args.query transform none match contains \"Evil\" }\n\
                 rule 2 \"lower\" { severity critical inspect args.query transform lowercase match contains \"evil\" }\n";
    let (ids, stats) = run(rules, "EVIL", "text/plain", "");
    assert_eq!(ids, [2], "`Evil` is not in `EVIL`; `evil` is in `evil`");
    assert_eq!(stats.values_inspected, 1);
    assert_eq!(stats.automaton_passes, 1, "one pass for `EVIL` and `evil`: {stats:?}");
    let (ids, _) = run(rules, "an+Evil+plan", "text/plain", "");
    assert_eq!(ids, [1, 2]);
    let (ids, _) = run(rules, "harmless", "text/plain", "");
    assert!(ids.is_empty());
}

#[test]
fn a_failed_cheap_condition_skips_the_scan_not_the_verdict() {
    // Rule 1 only counts for XML bodies: for a JSON body its regex is not
    // confirmed even though its literal `{` occurs. Rule 2, the same without
    // the condition, is confirmed and matches.
    let rules = "rule 1 \"xml only\" { severity critical inspect body match regex `^\\{.*[0-9]` \
                 when headers[\"content-type\"] regex `(?i)xml` }\n\
                 rule 2 \"any body\" { severity critical inspect body match regex `^\\{.*[0-9]` }\n";
    let (ids, json) = run_with(rules, Config::new().value_cache_bytes(0), "a", "application/json", "{\"n\": 1}");
    assert_eq!(ids, [2]);
    let (ids, xml) = run_with(rules, Config::new().value_cache_bytes(0), "a", "application/xml", "{\"n\": 1}");
    assert_eq!(ids, [1, 2]);
    let regex_work = |s: &Stats| s.regex_confirmations + s.direct_checks;
    assert_eq!(regex_work(&json) + 1, regex_work(&xml), "json {json:?} xml {xml:?}");
    // With the value cache on, a value it can remember is scanned in full,
    // gated rule included (else the scan's result would be this request's,
    // not the value's): the same work as for XML, and the same verdict.
    let (ids, learning) = run(rules, "a", "application/json", "{\"n\": 1}");
    assert_eq!(ids, [2]);
    assert_eq!(regex_work(&learning), regex_work(&xml), "{learning:?}");
}

#[test]
fn patterns_of_rules_on_named_headers_do_not_run_on_other_headers() {
    // Same pipeline, different keys: rule 1's phrases are not in the
    // automaton that scans `Accept`, so `sqlmap` there is not even a literal hit.
    let rules = "rule 1 \"ua\" { severity critical inspect headers[\"user-agent\"] match phrases [\"sqlmap\"] }\n\
                 rule 2 \"any\" { severity critical inspect headers match phrases [\"${jndi:\"] }\n";
    let ruleset = Arc::new(Ruleset::from_rules(rules).unwrap_or_else(|e| panic!("{e}")));
    let mut scratch = ruleset.create_scratch();
    let mut tx = Transaction::new(ruleset.clone());
    let mut check = |ua: &str, accept: &str| {
        tx.reset();
        tx.set_request("GET", "/", "HTTP/1.1");
        tx.add_header("User-Agent", ua);
        tx.add_header("Accept", accept);
        tx.evaluate(Phase::RequestHeaders, &mut scratch);
        let ids: Vec<u32> = tx.matches().map(|m| m.id()).collect();
        (ids, tx.stats().literal_hits)
    };
    assert_eq!(check("curl", "sqlmap"), (vec![], 0));
    assert_eq!(check("sqlmap/1.7", "*/*"), (vec![1], 1));
    assert_eq!(check("curl", "${jndi:ldap://x}"), (vec![2], 1));
}

#[test]
fn common_header_names_are_scanned_only_when_a_rule_could_match_them() {
    let run = |rules: &str| {
        let ruleset = Arc::new(Ruleset::from_rules(rules).unwrap_or_else(|e| panic!("{e}")));
        let mut scratch = ruleset.create_scratch();
        let mut tx = Transaction::new(ruleset.clone());
        tx.set_request("GET", "/", "HTTP/1.1");
        tx.add_header("Host", "shop.example");
        tx.add_header("Accept", "*/*");
        tx.add_header("X-Odd-Name", "1");
        tx.evaluate(Phase::RequestHeaders, &mut scratch);
        let ids: Vec<u32> = tx.matches().map(|m| m.id()).collect();
        (ids, tx.stats().values_inspected)
    };
    // No rule can match `Host` or `Accept` as a name: their scans are skipped,
    // the uncommon name is scanned.
    let (ids, inspected) = run("rule 1 \"odd\" { severity critical inspect headers.names match phrases [\"odd\"] }");
    assert_eq!(ids, [1]);
    assert_eq!(inspected, 1, "only X-Odd-Name");
    // A rule that can match a common name: it is scanned and matches.
    let (ids, inspected) = run("rule 2 \"host\" { severity critical inspect headers.names match phrases [\"host\"] }");
    assert_eq!(ids, [2]);
    assert_eq!(inspected, 2, "Host and X-Odd-Name; Accept cannot match");
    // `match not` matches every name that lacks the phrase, common or not.
    let (ids, inspected) =
        run("rule 3 \"not\" { severity critical inspect headers.names match not phrases [\"zzz\"] }");
    assert_eq!(ids, [3]);
    assert_eq!(inspected, 3);
}

#[test]
fn a_pass_with_too_many_matches_to_log_is_run_again_for_its_case_twin() {
    // The raw text has over 4,096 matches (every `A` is one for the
    // case-insensitive `a`), more than the replay log keeps: the lower-cased
    // twin is scanned again, so rule 2 still finds `zq` at the very end.
    let rules = "rule 1 \"a\" { severity notice inspect args.query transform none match phrases [\"a\"] }\n\
                 rule 2 \"zq\" { severity notice inspect args.query transform lowercase match contains \"zq\" }\n\
                 rule 3 \"Zq\" { severity notice inspect args.query transform none match contains \"Zq\" }\n";
    let value = format!("{}Zq", "A".repeat(5000));
    let (ids, stats) = run(rules, &value, "text/plain", "");
    assert_eq!(ids, [1, 2, 3]);
    assert_eq!(stats.automaton_passes, 2, "{stats:?}");
    // Under the cap the twin replays: one pass.
    let (ids, stats) = run(rules, "AAAZq", "text/plain", "");
    assert_eq!(ids, [1, 2, 3]);
    assert_eq!(stats.automaton_passes, 1, "{stats:?}");
}

#[test]
fn an_evasion_tolerant_regex_runs_only_on_texts_that_could_hide_a_command() {
    // Letters split by quotes, backslashes or `$VAR` (`w"g"et`, `c\url`,
    // `cu${x}rl`): no literal is required in general, so the regex would run
    // on every value. On a value with none of those bytes a command must be
    // spelled plainly, so the literal pass stands for the regex there.
    let gap = r#"["'\\]*(?:\$\{?[a-z_]{0,8}\}?)?"#;
    let words: Vec<String> = ["wget", "curl", "ncat", "bash", "perl"]
        .iter()
        .map(|w| w.chars().map(String::from).collect::<Vec<_>>().join(gap))
        .collect();
    let rules = format!(
        "rule 1 \"command\" {{ severity critical inspect args transform url_decode_uni match regex `(?i)\\b(?:{})\\b` }}\n",
        words.join("|")
    );
    let (ids, plain) = run(&rules, "please+wget+it", "text/plain", "");
    assert_eq!(ids, [1]);
    assert_eq!((plain.direct_checks, plain.regex_confirmations), (0, 1), "{plain:?}");
    let (ids, benign) = run(&rules, "ordinary+words+only", "text/plain", "");
    assert!(ids.is_empty());
    assert_eq!((benign.direct_checks, benign.regex_confirmations), (0, 0), "{benign:?}");
    for evasion in ["w%22g%22et", "c%5Curl", "cu%24%7Bx%7Drl", "n'c'at"] {
        let (ids, s) = run(&rules, evasion, "text/plain", "");
        assert_eq!(ids, [1], "{evasion}");
        assert_eq!(s.direct_checks, 1, "{evasion}: the regex runs directly: {s:?}");
    }
    let (ids, quoted) = run(&rules, "a+%22quoted%22+word", "text/plain", "");
    assert!(ids.is_empty());
    assert_eq!(quoted.direct_checks, 1, "{quoted:?}");
}

/// `n` rules on `args`, each with a literal-less regex of complexity ~40:
/// unanchored (`[b-d][0-9]{30}[x-z][j-l]{k}[m-n]`: found anywhere) or anchored
/// at the start of the value.
fn class_regex_rules(n: usize, anchored: bool) -> String {
    let mut text = String::new();
    for i in 0..n {
        let anchor = if anchored { "^" } else { "" };
        let _ = writeln!(
            text,
            "rule {} {{ severity critical inspect args match regex `{anchor}[b-d][0-9]{{30}}[x-z][j-l]{{{}}}[m-n]` }}",
            1000 + i,
            1 + i
        );
    }
    text
}

#[test]
fn unanchored_regex_sets_are_split_so_their_automata_stay_small() {
    // 40 unanchored regexes of ~35-75 states each would make one lazy DFA
    // whose states multiply; they are matched in several bounded passes
    // instead (plus one Aho-Corasick pass for the few short ones that have
    // literals), and a regex in the last pass still matches.
    let last = format!("c{}z{}m", "1".repeat(30), "k".repeat(40));
    let (ids, stats) = run(&class_regex_rules(40, false), &format!("x{last}"), "text/plain", "");
    assert_eq!(ids, [1039]);
    assert!(stats.automaton_passes >= 5, "one Aho-Corasick and at least four set passes: {stats:?}");
    // Anchored regexes cannot multiply the others' states: one set pass.
    let (ids, stats) = run(&class_regex_rules(40, true), &last, "text/plain", "");
    assert_eq!(ids, [1039]);
    assert_eq!(stats.automaton_passes, 2, "one Aho-Corasick and one set pass: {stats:?}");
}

#[test]
fn start_anchored_regexes_pass_apart_and_match_only_at_the_start() {
    // A literal-less regex anchored at the start (rule 1, negated: the value
    // must start with a letter) and an unanchored one that needs a `.` (rule
    // 2): the anchored one runs alone as an anchored search, and a value
    // without a `.` skips the unanchored pass.
    let rules = "rule 1 { severity critical inspect args match not regex `^[a-z][a-z0-9]*(?:-[0-9]+)?$` }\n\
                 rule 2 { severity critical inspect args match regex `(?:^|/)\\.\\.(?:/|$)` }\n\
                 rule 3 { severity critical inspect args match regex `^[0-9]{3}-[0-9]+$|^x{4}` }\n";
    let (ids, stats) = run(rules, "shoes-12", "text/plain", "");
    assert_eq!(ids, Vec::<u32>::new());
    assert_eq!(stats.automaton_passes, 1, "only the anchored set's pass: {stats:?}");
    // Matches that would start later do not count for anchored regexes.
    let (ids, _) = run(rules, "a123-45", "text/plain", "");
    assert_eq!(ids, Vec::<u32>::new(), "`123-45` and `-45` are not at the start");
    let (ids, _) = run(rules, "123-45", "text/plain", "");
    assert_eq!(ids, [1, 3]);
    let (ids, _) = run(rules, "-xxxx", "text/plain", "");
    assert_eq!(ids, [1]);
    let (ids, stats) = run(rules, "a/../b", "text/plain", "");
    assert_eq!(ids, [1, 2]);
    assert_eq!(stats.automaton_passes, 2, "the anchored set and the dot-dot one: {stats:?}");
}

#[test]
fn key_regexes_run_only_on_keys_with_a_byte_they_need() {
    // Rule 1's key regex needs `@type`: keys without `@` skip it; the prefix
    // and the exact name are checked on every key.
    let rules = "rule 1 \"type key\" { severity critical inspect args[`(?:^|\\.)@type$`] match regex `x` }\n\
                 rule 2 \"prefixed\" { severity critical inspect args[`^pre_`] match regex `x` }\n\
                 rule 3 \"named\" { severity critical inspect args[\"name\"] match regex `x` }\n";
    let ids = |query: &str| run(rules, query, "text/plain", "").0;
    assert_eq!(ids("x&a.@type=x"), [1]);
    assert_eq!(ids("x&@TYPE=x"), [1]);
    assert_eq!(ids("x&a@type.b=x"), Vec::<u32>::new(), "an `@` but no match");
    assert_eq!(ids("x&type=x"), Vec::<u32>::new());
    assert_eq!(ids("x&PRE_a=x"), [2]);
    assert_eq!(ids("x&Name=x"), [3]);
    assert_eq!(ids("x&pre_b=x&name=x&c.@type=x"), [1, 2, 3]);
}
