//! The value cache: values whose scan found nothing are remembered per
//! scratch and not scanned again; nothing a request's own state hid from a
//! scan is remembered, so verdicts never depend on what came before.

use std::sync::Arc;

use rampart::{Config, LimitAction, Phase, Ruleset, Scratch, Stats, Transaction};

fn ruleset(config: Config, rules: &str) -> Arc<Ruleset> {
    Arc::new(Ruleset::builder().configure(config).source("test.rules", rules).build().unwrap_or_else(|e| panic!("{e}")))
}

/// Evaluates a GET with the given query and headers; returns the matched
/// rule ids (sorted) and the statistics.
fn get(rs: &Arc<Ruleset>, scratch: &mut Scratch, query: &str, headers: &[(&str, &str)]) -> (Vec<u32>, Stats) {
    let mut tx = Transaction::new(rs.clone());
    tx.set_request("GET", format!("/x?{query}"), "HTTP/1.1");
    tx.add_header("Host", "shop.example");
    for (n, v) in headers {
        tx.add_header(n, v);
    }
    tx.evaluate(Phase::RequestBody, scratch);
    let mut ids: Vec<u32> = tx.matches().map(|m| m.id()).collect();
    ids.sort_unstable();
    (ids, tx.stats())
}

const RULES: &str = r#"
rule 1 "evil word" { severity critical inspect args, headers transform url_decode, lowercase match regex `evil[0-9]` }
rule 2 "only with x-mode" { severity critical inspect args match regex `bad[0-9]` when headers["x-mode"] == "strict" }
rule 3 "sqli" { severity critical inspect args match detect_sqli }
"#;

#[test]
fn a_repeated_benign_request_is_answered_from_the_cache() {
    let rs = ruleset(Config::new(), RULES);
    let mut scratch = rs.create_scratch();
    let headers = [("Accept", "text/html"), ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64)")];
    let (ids, first) = get(&rs, &mut scratch, "q=shoes&size=42", &headers);
    assert!(ids.is_empty());
    assert_eq!(first.values_cached, 0);
    assert!(first.values_inspected > 0);
    let (ids, second) = get(&rs, &mut scratch, "q=shoes&size=42", &headers);
    assert!(ids.is_empty());
    assert_eq!(second.values_inspected, 0, "{second:?}");
    assert_eq!(second.values_cached, first.values_inspected);
    // A new value is scanned; the others still come from the cache.
    let (ids, third) = get(&rs, &mut scratch, "q=boots&size=42", &headers);
    assert!(ids.is_empty());
    assert_eq!(third.values_inspected, 1, "{third:?}");
    // Off: nothing is remembered.
    let off = ruleset(Config::new().value_cache_bytes(0), RULES);
    let mut scratch = off.create_scratch();
    get(&off, &mut scratch, "q=shoes&size=42", &headers);
    let (_, again) = get(&off, &mut scratch, "q=shoes&size=42", &headers);
    assert_eq!(again.values_cached, 0);
    assert_eq!(again.values_inspected, first.values_inspected);
}

#[test]
fn pairs_parsed_from_a_clean_text_are_answered_together() {
    let rules = r#"
rule 1 "evil arg" { severity critical inspect args, args.names match regex `evil[0-9]` }
rule 4 "evil cookie" { severity critical inspect cookies, cookies.names match regex `evil[0-9]` }
"#;
    let rs = ruleset(Config::new(), rules);
    let mut scratch = rs.create_scratch();
    let (ids, first) = get(&rs, &mut scratch, "a=1&b=2&c=3", &[("Cookie", "s=1; t=2")]);
    assert!(ids.is_empty());
    let (ids, second) = get(&rs, &mut scratch, "a=1&b=2&c=3", &[("Cookie", "s=1; t=2")]);
    assert!(ids.is_empty());
    assert_eq!((second.values_inspected, second.values_cached), (0, first.values_inspected));
    // One new pair: the text is new, the pairs are looked up one by one.
    assert_eq!(get(&rs, &mut scratch, "a=1&b=2&c=evil3", &[]).0, [1]);
    assert_eq!(get(&rs, &mut scratch, "a=1&b=2&c=evil3", &[]).0, [1], "a text with a match is never kept");
    // Cookies are grouped only for a request's single Cookie header: with
    // two, the clean one must not answer for the other's pairs.
    let two = [("Cookie", "u=evil5"), ("Cookie", "s=1; t=2")];
    assert_eq!(get(&rs, &mut scratch, "a=1", &two).0, [4]);
    assert_eq!(get(&rs, &mut scratch, "a=1", &[("Cookie", "s=1; t=2"), ("Cookie", "u=evil5")]).0, [4]);
}

/// One request: matched rule ids (sorted), whether a limit was exceeded, and
/// the statistics.
fn request(
    rs: &Arc<Ruleset>,
    scratch: &mut Scratch,
    query: &str,
    headers: &[(&str, &str)],
    form: Option<&str>,
) -> (Vec<u32>, bool, Stats) {
    let mut tx = Transaction::new(rs.clone());
    tx.set_request(if form.is_some() { "POST" } else { "GET" }, format!("/x?{query}"), "HTTP/1.1");
    for (n, v) in headers {
        tx.add_header(n, v);
    }
    if let Some(body) = form {
        tx.add_header("Content-Type", "application/x-www-form-urlencoded");
        tx.append_body(body);
    }
    tx.evaluate(Phase::RequestBody, scratch);
    let mut ids: Vec<u32> = tx.matches().map(|m| m.id()).collect();
    ids.sort_unstable();
    (ids, tx.limit_exceeded().is_some(), tx.stats())
}

#[test]
fn a_header_block_answers_only_for_the_same_names_and_values_in_the_same_order() {
    // Rule 1 reads header values, not names: a name may hold its pattern.
    let rules = r#"rule 1 "evil header" { severity critical inspect headers match regex `evil[0-9]` }"#;
    let rs = ruleset(Config::new(), rules);
    let mut scratch = rs.create_scratch();
    let block = [("X-evil1", "a"), ("Accept", "text/html"), ("User-Agent", "curl/8.5")];
    let (ids, first) = get(&rs, &mut scratch, "", &block);
    assert!(ids.is_empty());
    assert!(first.values_inspected >= 4, "{first:?}");
    let (ids, second) = get(&rs, &mut scratch, "", &block);
    assert!(ids.is_empty());
    assert_eq!(second.values_inspected, 0, "every header comes from the block: {second:?}");
    // The same bytes, one after the other, with a part ending elsewhere: the
    // value `evil1a` must be scanned, whatever the block of the first request.
    let moved = [("X-", "evil1a"), ("Accept", "text/html"), ("User-Agent", "curl/8.5")];
    assert_eq!(get(&rs, &mut scratch, "", &moved).0, [1]);
    assert_eq!(get(&rs, &mut scratch, "", &moved).0, [1], "a block with a match is never kept");
    // The same headers in another order are another block; each header is
    // still answered on its own.
    let reordered = [("User-Agent", "curl/8.5"), ("Accept", "text/html"), ("X-evil1", "a")];
    let (ids, third) = get(&rs, &mut scratch, "", &reordered);
    assert!(ids.is_empty());
    assert_eq!(third.values_inspected, 0, "{third:?}");
    assert!(third.values_cached >= 4, "{third:?}");
    // One header more: the new value is scanned, the others come from the cache.
    let (ids, more) = get(&rs, &mut scratch, "", &[block[0], block[1], block[2], ("X-Extra", "evil2")]);
    assert_eq!(ids, [1]);
    assert_eq!(more.values_inspected, 1, "{more:?}");
}

/// Evaluates a request with this request line and no headers; returns the
/// matched rule ids and the statistics.
fn line(rs: &Arc<Ruleset>, scratch: &mut Scratch, method: &str, uri: &str, protocol: &str) -> (Vec<u32>, Stats) {
    let mut tx = Transaction::new(rs.clone());
    tx.set_request(method, uri, protocol);
    tx.evaluate(Phase::RequestBody, scratch);
    (tx.matches().map(|m| m.id()).collect(), tx.stats())
}

#[test]
fn a_request_line_answers_only_for_the_same_method_target_and_protocol() {
    let rules = r#"
rule 1 "evil path" { severity critical inspect path match regex `evil[0-9]` }
rule 2 "evil line" { severity critical inspect request_line, uri, query match regex `bad[0-9]` }
"#;
    let rs = ruleset(Config::new(), rules);
    let mut scratch = rs.create_scratch();
    let (ids, first) = line(&rs, &mut scratch, "GET /evil1", "/a?q=1", "HTTP/1.1");
    assert!(ids.is_empty());
    assert!(first.values_inspected >= 4, "{first:?}");
    let (ids, second) = line(&rs, &mut scratch, "GET /evil1", "/a?q=1", "HTTP/1.1");
    assert!(ids.is_empty());
    assert_eq!((second.values_inspected, second.values_cached), (0, first.values_inspected), "{second:?}");
    // The same request line with its parts ending elsewhere: the path is
    // `/evil1 /a` now, and must be scanned.
    assert_eq!(line(&rs, &mut scratch, "GET", "/evil1 /a?q=1", "HTTP/1.1").0, [1]);
    assert_eq!(line(&rs, &mut scratch, "GET", "/evil1 /a?q=1", "HTTP/1.1").0, [1], "a line with a match is never kept");
    // Another target: its values are looked up one by one (the method and
    // the protocol are found).
    let (ids, other) = line(&rs, &mut scratch, "GET /evil1", "/b?q=1", "HTTP/1.1");
    assert!(ids.is_empty());
    assert!(other.values_cached > 0 && other.values_inspected > 0, "{other:?}");
    assert_eq!(line(&rs, &mut scratch, "GET /evil1", "/b?q=bad2", "HTTP/1.1").0, [2]);
    // The host, scheme and client come from elsewhere: a known line does
    // not answer for them.
    let rules =
        r#"rule 3 "evil host" { severity critical inspect host, scheme, client_ip, path match regex `evil[0-9]` }"#;
    let rs = ruleset(Config::new(), rules);
    let mut scratch = rs.create_scratch();
    let from = |host: &str, scheme: &str, client: &str, scratch: &mut Scratch| {
        let mut tx = Transaction::new(rs.clone());
        tx.set_client(client);
        tx.set_scheme(scheme);
        tx.set_request("GET", "/a", "HTTP/1.1");
        tx.add_header("Host", host);
        tx.evaluate(Phase::RequestBody, scratch);
        tx.matches().map(|m| m.id()).collect::<Vec<u32>>()
    };
    assert!(from("shop.example", "https", "192.0.2.1", &mut scratch).is_empty());
    assert!(from("shop.example", "https", "192.0.2.1", &mut scratch).is_empty());
    assert_eq!(from("evil1.example", "https", "192.0.2.1", &mut scratch), [3]);
    assert_eq!(from("shop.example", "evil2", "192.0.2.1", &mut scratch), [3]);
    assert_eq!(from("shop.example", "https", "evil3", &mut scratch), [3]);
}

#[test]
fn pairs_of_a_known_clean_text_are_counted_and_still_read_by_conditions() {
    // The second time a query string, Cookie header or urlencoded body is
    // met, its pairs are counted but not parsed; conditions must see them
    // all the same.
    let rules = r#"
rule 1 "evil value" { severity critical inspect args, cookies match regex `evil[0-9]` }
rule 2 "probe with x=1" { action log inspect headers["x-probe"] match regex `probe` when args["x"] == "1" }
rule 3 "probe with sid" { action log inspect headers["x-probe"] match regex `probe` when cookies["sid"] regex `^a` }
rule 4 "many arguments" { action log when count(args) > 2 }
rule 5 "many cookies" { action log when count(cookies.names) > 1 }
rule 6 "one x" { action log when count(args["x"]) == 1 }
rule 7 "bad escape" { action log when encoding_error }
rule 8 "form a=1" { action log when args.body["a"] == "1" }
rule 9 "one form argument" { action log when count(args.body) == 1 }
"#;
    let cached = ruleset(Config::new().max_args(4).on_limit(LimitAction::Inspect), rules);
    let plain = ruleset(Config::new().max_args(4).on_limit(LimitAction::Inspect).value_cache_bytes(0), rules);
    let (mut scratch, mut plain_scratch) = (cached.create_scratch(), plain.create_scratch());
    let query = "x=1&y=2&z=%zz";
    let cookie = ("Cookie", "sid=abc; theme=dark");
    let probe = ("X-Probe", "probe");
    // (headers, form body, matched rules, limit exceeded)
    type Case<'a> = (&'a [(&'a str, &'a str)], Option<&'a str>, &'a [u32], bool);
    let cases: [Case<'_>; 7] = [
        (&[cookie], None, &[4, 5, 6, 7], false),
        (&[cookie], None, &[4, 5, 6, 7], false),
        (&[cookie, probe], None, &[2, 3, 4, 5, 6, 7], false),
        // Three query arguments leave room for one of the body's.
        (&[cookie], Some("a=1&b=evil7"), &[4, 5, 6, 7, 8, 9], true),
        (&[cookie, probe], Some("a=1"), &[2, 3, 4, 5, 6, 7, 8, 9], false),
        (&[cookie], Some("a=1"), &[4, 5, 6, 7, 8, 9], false),
        (&[cookie, probe], Some("a=1"), &[2, 3, 4, 5, 6, 7, 8, 9], false),
    ];
    let mut first = None;
    for (i, (headers, form, want, limit)) in cases.into_iter().enumerate() {
        let (ids, over, stats) = request(&cached, &mut scratch, query, headers, form);
        assert_eq!((ids.as_slice(), over), (want, limit), "request {i}: {stats:?}");
        let (ids, over, _) = request(&plain, &mut plain_scratch, query, headers, form);
        assert_eq!((ids.as_slice(), over), (want, limit), "request {i} without the cache");
        match first {
            None => first = Some(stats),
            // Three query values, two cookie values, the Cookie header.
            Some(first) if i == 1 => {
                assert_eq!((first.values_inspected, stats.values_inspected, stats.values_cached), (6, 0, 6))
            }
            Some(_) => {}
        }
    }
    // A known body with more pairs than the room the query left is parsed,
    // and cut, as a new one is.
    for (rs, scratch) in [(&cached, &mut scratch), (&plain, &mut plain_scratch)] {
        for _ in 0..2 {
            let (ids, over, _) = request(rs, scratch, "x=1", &[], Some("a=1&b=2"));
            assert_eq!((ids.as_slice(), over), (&[4, 6, 8][..], false));
        }
        let (ids, over, _) = request(rs, scratch, query, &[], Some("a=1&b=2"));
        assert_eq!((ids.as_slice(), over), (&[4, 6, 7, 8, 9][..], true));
    }
}

#[test]
fn kept_condition_results_answer_true_and_false() {
    // A regex condition on a header value is kept with its result: later
    // requests with the same value get the same answer, either way.
    let rules = r#"
rule 1 "json only" { severity critical inspect args match regex `evil[0-9]` when headers["content-type"] regex `(?i)json` }
rule 2 "not json" { action log when not headers["content-type"] regex `(?i)json` }
"#;
    let cached = ruleset(Config::new(), rules);
    let plain = ruleset(Config::new().value_cache_bytes(0), rules);
    let (mut scratch, mut plain_scratch) = (cached.create_scratch(), plain.create_scratch());
    for round in 0..3 {
        for (content_type, query, want) in [
            ("application/json", "q=evil1", &[1][..]),
            ("text/plain", "q=evil1", &[2][..]),
            ("application/json", "q=fine", &[][..]),
            ("text/plain", "q=fine", &[2][..]),
        ] {
            let headers = [("Content-Type", content_type)];
            for (rs, scratch) in [(&cached, &mut scratch), (&plain, &mut plain_scratch)] {
                let (ids, _) = get(rs, scratch, query, &headers);
                assert_eq!(ids, want, "round {round}: {content_type} {query}");
            }
        }
    }
}

#[test]
fn a_body_cut_short_by_the_argument_limit_is_not_kept_as_a_group() {
    let rules = r#"rule 1 "evil arg" { severity critical inspect args match regex `evil[0-9]` }"#;
    let rs = ruleset(Config::new().max_args(3).on_limit(LimitAction::Inspect), rules);
    let mut scratch = rs.create_scratch();
    let post = |scratch: &mut Scratch, query: &str| {
        let mut tx = Transaction::new(rs.clone());
        tx.set_request("POST", format!("/x?{query}"), "HTTP/1.1");
        tx.add_header("Content-Type", "application/x-www-form-urlencoded");
        tx.append_body("a=1&b=evil7");
        tx.evaluate(Phase::RequestBody, scratch);
        let ids: Vec<u32> = tx.matches().map(|m| m.id()).collect();
        (ids, tx.limit_exceeded().is_some())
    };
    // Two query arguments leave room for one of the body's: `b` is cut.
    for _ in 0..2 {
        assert_eq!(post(&mut scratch, "x=1&y=2"), (vec![], true));
    }
    // Without them the whole body is parsed: `b` must be scanned.
    assert_eq!(post(&mut scratch, "x=1"), (vec![1], false));
}

#[test]
fn a_value_that_matched_is_never_remembered() {
    let rs = ruleset(Config::new(), RULES);
    let mut scratch = rs.create_scratch();
    for _ in 0..3 {
        assert_eq!(get(&rs, &mut scratch, "q=EVIL7", &[]).0, [1]);
        assert_eq!(get(&rs, &mut scratch, "q=1'+or+'1'='1", &[]).0, [3]);
    }
}

#[test]
fn a_value_left_unconfirmed_for_a_rule_that_already_hit_is_not_remembered() {
    // In the first request rule 1 hits on `a`, so `b`'s candidate for it is
    // not confirmed (the rule is decided for that request). Had `b` been
    // remembered as clean, the second request would miss it.
    let rs = ruleset(Config::new(), RULES);
    let mut scratch = rs.create_scratch();
    assert_eq!(get(&rs, &mut scratch, "a=evil1&b=evil2", &[]).0, [1]);
    let (ids, stats) = get(&rs, &mut scratch, "b=evil2", &[]);
    assert_eq!(ids, [1]);
    assert_eq!(stats.values_inspected, 1, "b's value is scanned again: {stats:?}");
}

#[test]
fn a_gated_rule_runs_on_values_the_cache_takes() {
    // Without `x-mode: strict`, rule 2 is gated: it cannot match, and the scan
    // would skip its confirmation. For a value the cache may remember, it is
    // confirmed anyway; `bad1` matches it, so `bad1` is not remembered and the
    // strict request that follows finds it.
    let rs = ruleset(Config::new(), RULES);
    let mut scratch = rs.create_scratch();
    assert!(get(&rs, &mut scratch, "q=bad1", &[]).0.is_empty());
    let (ids, stats) = get(&rs, &mut scratch, "q=bad1", &[("X-Mode", "strict")]);
    assert_eq!(ids, [2]);
    assert_eq!(stats.values_cached, 1, "only the Host header came from the cache: {stats:?}");
    // A value clean for every rule, gated ones included, is remembered:
    // `badge` has rule 2's literal, and its regex, confirmed while the rule
    // was gated, does not match.
    assert!(get(&rs, &mut scratch, "q=badge", &[]).0.is_empty());
    let (ids, stats) = get(&rs, &mut scratch, "q=badge", &[("X-Mode", "strict")]);
    assert!(ids.is_empty());
    assert_eq!(stats.values_cached, 3, "Host, q's name and q's value: {stats:?}");
}

#[test]
fn a_scratch_forgets_clean_values_when_the_rules_change() {
    let lenient = ruleset(Config::new(), r#"rule 1 "x" { severity critical inspect args match contains "zzz" }"#);
    let strict = ruleset(Config::new(), r#"rule 1 "x" { severity critical inspect args match contains "shoes" }"#);
    let mut scratch = lenient.create_scratch();
    for _ in 0..2 {
        assert!(get(&lenient, &mut scratch, "q=shoes", &[]).0.is_empty());
    }
    assert_eq!(get(&strict, &mut scratch, "q=shoes", &[]).0, [1]);
    assert!(get(&lenient, &mut scratch, "q=shoes", &[]).0.is_empty());
    // Emptied by hand, the cache answers nothing until values repeat.
    scratch.clear_value_cache();
    let (_, stats) = get(&lenient, &mut scratch, "q=shoes", &[]);
    assert_eq!(stats.values_cached, 0);
}

#[test]
fn a_long_value_is_remembered_from_its_second_clean_scan() {
    // Long values are mostly unique (tokens, bodies): one is written to the
    // cache only when it is found clean a second time, so unique ones do not
    // push the short, repeating ones out.
    let rs = ruleset(Config::new(), RULES);
    let mut scratch = rs.create_scratch();
    let query = format!("q={}", "a".repeat(2000));
    let inspected = |stats: Stats| stats.values_inspected;
    let first = get(&rs, &mut scratch, &query, &[]).1;
    let second = get(&rs, &mut scratch, &query, &[]).1;
    let third = get(&rs, &mut scratch, &query, &[]).1;
    // The first scan of both values (Host, q); then q again; then nothing.
    assert_eq!(inspected(first), 2, "{first:?}");
    assert_eq!(inspected(second), 1, "{second:?}");
    assert_eq!(inspected(third), 0, "{third:?}");
    // Values over 16 KiB are always scanned.
    let huge = "a".repeat(20_000);
    let header = [("X-Long", huge.as_str())];
    for _ in 0..3 {
        get(&rs, &mut scratch, "q=1", &header);
    }
    assert_eq!(inspected(get(&rs, &mut scratch, "q=1", &header).1), 1);
    let (ids, _) = get(&rs, &mut scratch, &format!("{query}evil9"), &[]);
    assert_eq!(ids, [1]);
}

/// Evaluates a POST of a JSON body; returns the matched rule ids (sorted)
/// and the statistics.
fn post_json(rs: &Arc<Ruleset>, scratch: &mut Scratch, body: &str) -> (Vec<u32>, Stats) {
    let mut tx = Transaction::new(rs.clone());
    tx.set_request("POST", "/api/items", "HTTP/1.1");
    tx.add_header("Host", "shop.example");
    tx.add_header("Content-Type", "application/json");
    tx.append_body(body.as_bytes());
    tx.evaluate(Phase::RequestBody, scratch);
    let mut ids: Vec<u32> = tx.matches().map(|m| m.id()).collect();
    ids.sort_unstable();
    (ids, tx.stats())
}

#[test]
fn a_value_is_kept_without_its_key_only_when_no_key_selects_a_rule() {
    let rules = r#"
rule 1 "token only" { severity critical inspect args["token"] match contains "zzz" }
rule 2 "any" { severity critical inspect args match contains "evil" }
exclude rule 2 for args["quiet"]
"#;
    let rs = ruleset(Config::new(), rules);
    let mut scratch = rs.create_scratch();
    // The same clean value in every item of an array: scanned once, then
    // found in the cache under the other keys.
    let items: Vec<String> = (0..20).map(|i| format!(r#"{{"n":"v{i}","status":"active"}}"#)).collect();
    let (ids, stats) = post_json(&rs, &mut scratch, &format!(r#"{{"items":[{}]}}"#, items.join(",")));
    assert!(ids.is_empty());
    assert!(stats.values_cached >= 19, "{stats:?}");
    // Clean under a key no keyed rule reads, it is still scanned under a key
    // that selects a rule, and matches there.
    let (ids, _) = post_json(&rs, &mut scratch, r#"{"a":"zzz"}"#);
    assert!(ids.is_empty());
    let (ids, _) = post_json(&rs, &mut scratch, r#"{"a":"zzz","token":"zzz"}"#);
    assert_eq!(ids, [1]);
    // A hit an exclusion turns away under one key is not kept as clean.
    let (ids, _) = post_json(&rs, &mut scratch, r#"{"quiet":"evil"}"#);
    assert!(ids.is_empty());
    let (ids, _) = post_json(&rs, &mut scratch, r#"{"other":"evil"}"#);
    assert_eq!(ids, [2]);
}

#[test]
fn a_value_is_kept_with_its_key_when_a_rule_leaves_keys_out() {
    // `!"safe"` makes rule 1's result depend on the key beyond the groups it
    // selects (its operator, evaluated directly, is skipped for `safe`): the
    // cache keeps each value under its own key.
    let rules = r#"rule 1 "not safe" { severity critical inspect args[!"safe"] match length > 2 }"#;
    let rs = ruleset(Config::new(), rules);
    let mut scratch = rs.create_scratch();
    let (ids, _) = post_json(&rs, &mut scratch, r#"{"safe":"qqq"}"#);
    assert!(ids.is_empty());
    let (ids, _) = post_json(&rs, &mut scratch, r#"{"x":"qqq"}"#);
    assert_eq!(ids, [1]);
    let (_, stats) = post_json(&rs, &mut scratch, r#"{"a":"ok","b":"ok"}"#);
    assert_eq!(stats.values_cached, 0, "{stats:?}");
}

/// Matched rule ids and verdict of one request under `rs`.
fn outcome(rs: &Arc<Ruleset>, scratch: &mut Scratch, req: &Gen) -> (Vec<u32>, bool, u16) {
    let mut tx = Transaction::new(rs.clone());
    tx.set_request(&req.method, &req.uri, "HTTP/1.1");
    for (n, v) in &req.headers {
        tx.add_header(n, v);
    }
    let v = tx.evaluate(Phase::RequestHeaders, scratch);
    if !v.would_block() {
        tx.append_body(req.body.as_bytes());
        tx.evaluate(Phase::RequestBody, scratch);
    }
    let mut ids: Vec<u32> = tx.matches().map(|m| m.id()).collect();
    ids.sort_unstable();
    let v = tx.verdict();
    (ids, v.would_block(), v.status())
}

#[derive(Clone, Debug)]
struct Gen {
    method: String,
    uri: String,
    headers: Vec<(String, String)>,
    body: String,
}

/// Values a request is built from: benign ones that repeat, attacks of
/// several classes, and near misses that share an attack's literals.
const VALUES: &[&str] = &[
    "shoes",
    "42",
    "running+shoes",
    "1'+or+'1'='1",
    "union+select+password+from+users",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    ";cat+/etc/passwd",
    "selection",
    "scripture",
    "%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E",
    "${jndi:ldap://x/a}",
    "john%40example.com",
];

fn gen_request() -> impl proptest::strategy::Strategy<Value = Gen> {
    use proptest::prelude::*;
    let value = proptest::sample::select(VALUES);
    (
        proptest::sample::select(&["GET", "POST"][..]),
        proptest::collection::vec((proptest::sample::select(&["q", "id", "name", "sort"][..]), value.clone()), 0..4),
        proptest::collection::vec(
            (proptest::sample::select(&["Referer", "User-Agent", "X-Mode"][..]), value.clone()),
            0..3,
        ),
        proptest::collection::vec(value.clone(), 0..3),
        proptest::collection::vec(value, 0..3),
        proptest::bool::ANY,
    )
        .prop_map(|(method, args, headers, cookies, body, json)| {
            let query: Vec<String> = args.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let mut hs: Vec<(String, String)> = vec![("Host".into(), "shop.example".into())];
            hs.extend(headers.into_iter().map(|(k, v)| (k.to_owned(), v.replace('+', " "))));
            if !cookies.is_empty() {
                let jar: Vec<String> = cookies.iter().enumerate().map(|(i, v)| format!("c{i}={v}")).collect();
                hs.push(("Cookie".into(), jar.join("; ")));
            }
            let body = if json {
                let items: Vec<String> =
                    body.iter().enumerate().map(|(i, v)| format!("\"f{i}\":{:?}", v.replace('+', " "))).collect();
                format!("{{{}}}", items.join(","))
            } else {
                let items: Vec<String> = body.iter().enumerate().map(|(i, v)| format!("f{i}={v}")).collect();
                items.join("&")
            };
            if method == "POST" {
                let ct = if json { "application/json" } else { "application/x-www-form-urlencoded" };
                hs.push(("Content-Type".into(), ct.into()));
            }
            Gen { method: method.to_owned(), uri: format!("/x?{}", query.join("&")), headers: hs, body }
        })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 48, ..Default::default() })]

    #[test]
    fn the_default_rules_give_the_same_results_with_and_without_the_cache(
        requests in proptest::collection::vec(gen_request(), 1..24)
    ) {
        use std::sync::OnceLock;
        static RULESETS: OnceLock<(Arc<Ruleset>, Arc<Ruleset>)> = OnceLock::new();
        let (on, off) = RULESETS.get_or_init(|| {
            let build = |bytes: usize| {
                Arc::new(
                    Ruleset::builder()
                        .default_rules()
                        .configure(Config::new().value_cache_bytes(bytes))
                        .build()
                        .expect("default rules compile"),
                )
            };
            (build(1 << 20), build(0))
        });
        let mut cached = on.create_scratch();
        let mut plain = off.create_scratch();
        for r in &requests {
            // Twice: the second evaluation meets the values the first kept.
            for _ in 0..2 {
                proptest::prop_assert_eq!(outcome(on, &mut cached, r), outcome(off, &mut plain, r), "{:?}", r);
            }
        }
    }
}
