//! SecLang semantics through the public API: rules given as SecLang text,
//! requests evaluated, matched rule ids and verdicts checked.

use std::sync::Arc;

use rampart::{Action, Config, Mode, Phase, Ruleset, Transaction};

fn ruleset(text: &str) -> Arc<Ruleset> {
    Arc::new(
        Ruleset::builder().seclang_source("test.conf", text).build().unwrap_or_else(|e| panic!("rules compile:\n{e}")),
    )
}

struct Req<'a> {
    method: &'a str,
    uri: &'a str,
    headers: &'a [(&'a str, &'a str)],
    body: &'a str,
}

fn get(uri: &str) -> Req<'_> {
    Req { method: "GET", uri, headers: &[("Host", "example.com")], body: "" }
}

/// Evaluates both phases; returns the evaluated transaction.
fn evaluate(rs: &Arc<Ruleset>, r: &Req<'_>) -> Transaction {
    let mut scratch = rs.create_scratch();
    let mut tx = Transaction::new(rs.clone());
    tx.set_client("10.0.0.1");
    tx.set_request(r.method, r.uri, "HTTP/1.1");
    for (n, v) in r.headers {
        tx.add_header(n, v);
    }
    tx.evaluate(Phase::RequestHeaders, &mut scratch);
    tx.append_body(r.body);
    tx.evaluate(Phase::RequestBody, &mut scratch);
    tx
}

/// The matched rule ids and the verdict.
fn run(rs: &Arc<Ruleset>, r: &Req<'_>) -> (Vec<u32>, rampart::Verdict) {
    let tx = evaluate(rs, r);
    (tx.matches().map(|m| m.id()).collect(), tx.verdict())
}

fn ids(rs: &Arc<Ruleset>, r: &Req<'_>) -> Vec<u32> {
    run(rs, r).0
}

#[test]
fn a_rule_matches_args_and_denies() {
    let rs =
        ruleset(r#"SecRule ARGS "@rx (?i)union\s+select" "id:1,phase:2,deny,status:406,t:urlDecodeUni,msg:'sqli'""#);
    let (m, v) = run(&rs, &get("/?q=1%20UNION%20SELECT%20x"));
    assert_eq!(m, [1]);
    assert_eq!(v.action(), Action::Block);
    assert_eq!(v.status(), 406);
    assert_eq!(run(&rs, &get("/?q=union")).1.action(), Action::Allow);
}

#[test]
fn chains_need_every_link_and_matched_var_follows() {
    let rs = ruleset(
        r#"
SecRule REQUEST_METHOD "@streq POST" "id:10,phase:2,pass,log,chain"
    SecRule ARGS:cmd "@rx ^(\w+)" "capture,chain"
        SecRule TX:1 "@within ls cat rm" "setvar:tx.hit=%{MATCHED_VAR}"
SecRule TX:hit "@streq cat" "id:11,phase:2,pass,log"
"#,
    );
    let post = Req {
        method: "POST",
        uri: "/",
        headers: &[("Content-Type", "application/x-www-form-urlencoded")],
        body: "cmd=cat+x",
    };
    assert_eq!(ids(&rs, &post), [10, 11]);
    let get = Req { method: "GET", uri: "/?cmd=cat", headers: &[], body: "" };
    assert!(ids(&rs, &get).is_empty(), "the first link fails");
    let other = Req { body: "cmd=echo", ..post };
    assert!(ids(&rs, &other).is_empty(), "the last link fails");
}

#[test]
fn setvar_arithmetic_macros_and_anomaly_blocking() {
    let rs = ruleset(
        r#"
SecAction "id:1,phase:1,pass,nolog,setvar:tx.critical=5,setvar:tx.score=0,setvar:tx.threshold=7"
SecRule ARGS "@contains ../" "id:2,phase:2,pass,log,t:urlDecode,setvar:tx.score=+%{tx.critical}"
SecRule ARGS_NAMES "@streq debug" "id:3,phase:2,pass,log,setvar:tx.score=-1"
SecRule TX:score "@ge %{tx.threshold}" "id:4,phase:2,deny,status:403,log"
"#,
    );
    // One value matching: 5 < 7.
    let (m, v) = run(&rs, &get("/?a=../x"));
    assert_eq!(m, [2]);
    assert!(!v.would_block());
    // Every matching value adds its score (ModSecurity runs setvar per match): 10 >= 7.
    let (m, v) = run(&rs, &get("/?a=../x&b=..%2fy"));
    assert_eq!(m, [2, 4]);
    assert_eq!(v.status(), 403);
    // 10 - 1 = 9 still blocks; the subtraction ran.
    assert_eq!(ids(&rs, &get("/?a=../x&b=../y&debug=1")), [2, 3, 4]);
}

#[test]
fn skip_after_jumps_to_the_marker() {
    let rs = ruleset(
        r#"
SecAction "id:1,phase:1,pass,nolog,setvar:tx.level=1"
SecRule TX:level "@lt 2" "id:2,phase:2,pass,nolog,skipAfter:END-LEVEL-2"
SecRule ARGS "@contains x" "id:3,phase:2,pass,log"
SecMarker END-LEVEL-2
SecRule ARGS "@contains y" "id:4,phase:2,pass,log"
"#,
    );
    assert_eq!(ids(&rs, &get("/?a=xy")), [4]);
    let stats = rs.seclang_stats().expect("seclang rules");
    assert_eq!(stats.unreachable, 1, "rule 3 can never run with tx.level=1: {stats:?}");
}

#[test]
fn ctl_removes_rules_and_targets_for_this_request() {
    let rs = ruleset(
        r#"
SecRule REQUEST_FILENAME "@beginsWith /api/" "id:1,phase:1,pass,nolog,ctl:ruleRemoveById=10,ctl:ruleRemoveTargetById=11;ARGS:token"
SecRule ARGS "@contains evil" "id:10,phase:2,pass,log"
SecRule ARGS "@contains evil" "id:11,phase:2,pass,log"
"#,
    );
    assert_eq!(ids(&rs, &get("/web?token=evil")), [10, 11]);
    assert!(ids(&rs, &get("/api/x?token=evil")).is_empty());
    assert_eq!(ids(&rs, &get("/api/x?other=evil")), [11]);
}

#[test]
fn exclusions_in_the_target_list_and_update_target() {
    let rs = ruleset(
        r#"
SecRule ARGS|!ARGS:safe "@contains <script" "id:1,phase:2,pass,log"
SecRule REQUEST_COOKIES "@contains <script" "id:2,phase:2,pass,log"
SecRuleUpdateTargetById 2 "!REQUEST_COOKIES:/^_ga/"
"#,
    );
    assert!(ids(&rs, &get("/?safe=%3Cscript")).is_empty());
    assert_eq!(ids(&rs, &get("/?other=%3Cscript")), [1]);
    let cookie = Req { method: "GET", uri: "/", headers: &[("Cookie", "_ga_x=<script>; a=1")], body: "" };
    assert!(ids(&rs, &cookie).is_empty());
    let cookie = Req { method: "GET", uri: "/", headers: &[("Cookie", "sid=<script>")], body: "" };
    assert_eq!(ids(&rs, &cookie), [2]);
}

#[test]
fn counts_negation_and_empty_scalars() {
    let rs = ruleset(
        r#"
SecRule &REQUEST_HEADERS:Host "@eq 0" "id:1,phase:1,pass,log"
SecRule &ARGS "@gt 2" "id:2,phase:2,pass,log"
SecRule REQUEST_HEADERS:Content-Length "!@rx ^\d+$" "id:3,phase:1,pass,log"
SecRule QUERY_STRING "@rx ^$" "id:4,phase:1,pass,log"
"#,
    );
    let no_host = Req { method: "GET", uri: "/", headers: &[], body: "" };
    // No Host: rule 1; no Content-Length: rule 3 has no value to test; the
    // absent query string is the empty value (ModSecurity's scalars always have one).
    assert_eq!(ids(&rs, &no_host), [1, 4]);
    assert_eq!(ids(&rs, &get("/?a=1&b=2&c=3")), [2]);
    let bad = Req { method: "GET", uri: "/?x", headers: &[("Host", "h"), ("Content-Length", "1x")], body: "" };
    assert_eq!(ids(&rs, &bad), [3]);
}

#[test]
fn multi_match_tests_every_changed_step() {
    let rs = ruleset(
        r#"
SecRule ARGS "@streq %41" "id:1,phase:2,pass,log,t:urlDecode"
SecRule ARGS "@streq %41" "id:2,phase:2,pass,log,t:urlDecode,multiMatch"
"#,
    );
    // The argument is `%41` (query arguments are decoded once); t:urlDecode
    // makes it `A`: only multiMatch also tests the value before the step.
    assert_eq!(ids(&rs, &get("/?a=%2541")), [2]);
    assert!(ids(&rs, &get("/?a=%41")).is_empty());
}

#[test]
fn normalize_path_keeps_unresolved_parents_of_relative_paths() {
    // As ModSecurity's t:normalizePath: `../.history` keeps its `..`, so the
    // `/.history` a data file lists is still there; an absolute path still
    // stops at the root.
    let rs = ruleset(
        r#"SecRule ARGS "@pm /.history /etc/passwd" "id:7,phase:2,pass,log,t:none,t:urlDecodeUni,t:normalizePathWin""#,
    );
    assert_eq!(ids(&rs, &get("/?code=../.history")), [7]);
    assert_eq!(ids(&rs, &get("/?code=..%5c..%5c.history")), [7]);
    assert_eq!(ids(&rs, &get("/?f=/../../etc/passwd")), [7]);
    assert!(ids(&rs, &get("/?code=a/../.history")).is_empty());
}

#[test]
fn detection_only_logs_and_goes_on() {
    let text = r#"
SecRuleEngine DetectionOnly
SecRule ARGS "@contains a" "id:1,phase:1,deny,log"
SecRule ARGS "@contains a" "id:2,phase:2,pass,log"
"#;
    let rs = ruleset(text);
    let (m, v) = run(&rs, &get("/?q=a"));
    assert_eq!(m, [1, 2], "after a would-be deny, phase 2 still runs");
    assert_eq!(v.action(), Action::Log);
    assert!(v.would_block());
    // The host's config wins over SecRuleEngine.
    let rs = Arc::new(
        Ruleset::builder().configure(Config::new().mode(Mode::Block)).seclang_source("t.conf", text).build().unwrap(),
    );
    let (m, v) = run(&rs, &get("/?q=a"));
    assert_eq!(m, [1]);
    assert_eq!(v.action(), Action::Block);
}

#[test]
fn block_uses_the_default_action() {
    let rs = ruleset(
        r#"
SecDefaultAction "phase:2,log,deny,status:418"
SecRule ARGS "@contains a" "id:1,phase:2,block"
"#,
    );
    let (_, v) = run(&rs, &get("/?q=a"));
    assert_eq!((v.action(), v.status()), (Action::Block, 418));
    let rs = ruleset(
        r#"
SecDefaultAction "phase:2,log,pass"
SecRule ARGS "@contains a" "id:1,phase:2,block"
"#,
    );
    assert_eq!(run(&rs, &get("/?q=a")).1.action(), Action::Log);
}

#[test]
fn json_xml_and_request_body() {
    let rs = ruleset(
        r#"
SecRule ARGS "@rx ^evil$" "id:1,phase:2,pass,log"
SecRule XML:/* "@contains hidden" "id:2,phase:2,pass,log"
SecRule XML://@* "@streq <x>" "id:3,phase:2,pass,log"
SecRule REQUEST_BODY "@contains needle" "id:4,phase:2,pass,log"
"#,
    );
    let json = Req {
        method: "POST",
        uri: "/",
        headers: &[("Content-Type", "application/json")],
        body: r#"{"a":["evil"],"n":"needle"}"#,
    };
    assert_eq!(ids(&rs, &json), [1, 4]);
    let xml = Req {
        method: "POST",
        uri: "/",
        headers: &[("Content-Type", "application/xml")],
        body: r#"<r a="&lt;x&gt;"><b>hid</b><c>den needle</c></r>"#,
    };
    // XML: text content and attributes; REQUEST_BODY is not filled for XML
    // bodies (as in ModSecurity v2 and Coraza; see docs/seclang.md).
    assert_eq!(ids(&rs, &xml), [2, 3]);
}

#[test]
fn errors_name_file_line_and_column() {
    let err = Ruleset::builder()
        .seclang_source(
            "bad.conf",
            "SecRule ARGS \"@rx (a)\\1\" \"id:1,phase:2,deny\"\nSecRule ARGS \"@rx x\" \"phase:2\"\n",
        )
        .build()
        .unwrap_err();
    let msgs: Vec<String> = err.errors().iter().map(|e| e.short()).collect();
    assert!(msgs[0].starts_with("bad.conf:1:"), "{msgs:?}");
    assert!(msgs[0].contains("backreferences"), "{msgs:?}");
    assert!(msgs.iter().any(|m| m.starts_with("bad.conf:2:1: error: rule has no `id`")), "{msgs:?}");
    let err = Ruleset::builder().seclang_source("q.conf", "SecRule ARGS \"@rx x\n").build().unwrap_err();
    assert_eq!(err.errors()[0].line(), 1);
}

#[test]
fn unsupported_items_are_warnings_with_places() {
    let rs = ruleset(
        "SecRule RESPONSE_BODY \"@rx x\" \"id:1,phase:2,pass\"\nSecRule ARGS \"@inspectFile /x.sh\" \"id:2,phase:2,pass\"\nSecFooBar on\n",
    );
    let w: Vec<String> = rs.warnings().iter().map(|w| w.to_string()).collect();
    assert!(w.iter().any(|w| w.starts_with("test.conf:1:9: warning: variable `RESPONSE_BODY`")), "{w:?}");
    assert!(w.iter().any(|w| w.starts_with("test.conf:2:15: warning: operator `@inspectFile`")), "{w:?}");
    assert!(w.iter().any(|w| w.contains("unknown directive `SecFooBar`")), "{w:?}");
}

#[test]
fn the_rule_language_and_seclang_share_one_ruleset() {
    // Rule 100 is a notice (score 2, under the threshold of 5): a blocking
    // rule would end the phase before the SecLang rule runs.
    let rs = Arc::new(
        Ruleset::builder()
            .source("a.rules", "rule 100 \"x\" { severity notice inspect args match contains \"zzz\" }")
            .seclang_source("b.conf", r#"SecRule ARGS "@contains yyy" "id:200,phase:2,pass,log""#)
            .build()
            .unwrap(),
    );
    assert_eq!(ids(&rs, &get("/?a=zzz&b=yyy")), [100, 200]);
}

#[test]
fn a_config_file_loads_seclang_relative_to_itself() {
    let dir = std::env::temp_dir().join(format!("rampart-seclang-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("crs/rules")).unwrap();
    std::fs::write(dir.join("crs/rules/words.data"), "# comment\nbadword\n").unwrap();
    std::fs::write(
        dir.join("crs/rules/a.conf"),
        "SecRule ARGS \"@pmFromFile words.data\" \"id:1,phase:2,deny,status:403\"\n",
    )
    .unwrap();
    std::fs::write(dir.join("rampart.toml"), "[rules]\nseclang = [\"crs/rules/*.conf\"]\n").unwrap();
    let rs = Arc::new(Ruleset::from_config_file(dir.join("rampart.toml")).unwrap());
    assert!(run(&rs, &get("/?q=a%20BADWORD")).1.is_blocked());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn tx_regex_targets_see_static_and_run_time_names() {
    // `TX:/^pc_/` reads the names set at compile time (tx.pc_a, tx.pc_b;
    // tx.other is left out) and those made from request data (tx.pc_<arg name>).
    let rs = ruleset(
        r#"
SecAction "id:1,phase:1,pass,nolog,setvar:tx.pc_a=1,setvar:tx.pc_b=1,setvar:tx.other=1"
SecRule ARGS_NAMES "@rx ^" "id:2,phase:2,pass,nolog,setvar:tx.pc_%{MATCHED_VAR}=1"
SecRule &TX:/^pc_/ "@eq 2" "id:3,phase:2,pass,log"
SecRule &TX:/^pc_/ "@eq 4" "id:4,phase:2,pass,log"
SecRule TX:/^pc_/ "@streq 1" "id:5,phase:2,pass,log,setvar:tx.seen=+1"
SecRule TX:seen "@eq 4" "id:6,phase:2,pass,log"
SecRule TX:/^other$/ "@eq 1" "id:7,phase:2,pass,log"
"#,
    );
    assert_eq!(ids(&rs, &get("/")), [3, 5, 7]);
    assert_eq!(ids(&rs, &get("/?x=1&y=2")), [4, 5, 6, 7], "rule 2 matches but does not log");
}

/// The matched rule ids and the work counters.
fn run_stats(rs: &Arc<Ruleset>, r: &Req<'_>) -> (Vec<u32>, rampart::Stats) {
    let tx = evaluate(rs, r);
    (tx.matches().map(|m| m.id()).collect(), tx.stats())
}

#[test]
fn the_walk_tests_only_the_values_the_scan_matched() {
    // Rule 1 adds one per matching value; rule 2 checks that both counted.
    let rs = ruleset(
        r#"
SecRule ARGS "@rx (?i)union\s+select" "id:1,phase:2,pass,log,t:none,t:urlDecodeUni,setvar:tx.n=+1"
SecRule TX:n "@eq 2" "id:2,phase:2,pass,log"
"#,
    );
    let args = |n: usize, hits: &[usize]| {
        let list: Vec<String> = (0..n)
            .map(|i| {
                if hits.contains(&i) { format!("a{i}=1%20UNION%20SELECT%20x") } else { format!("a{i}=plain+text+{i}") }
            })
            .collect();
        format!("/?{}", list.join("&"))
    };
    let uri = args(40, &[10, 30]);
    let (m, stats) = run_stats(&rs, &get(&uri));
    assert_eq!(m, [1, 2], "both matching values count");
    assert_eq!(stats.sec_values_tested, 2, "only the two flagged values are tested again");

    // Past the first 64 pairs the scan keeps no record: those are tested.
    let uri = args(80, &[5, 70]);
    let (m, stats) = run_stats(&rs, &get(&uri));
    assert_eq!(m, [1, 2]);
    assert!(
        (2 + 15..=2 + 17).contains(&stats.sec_values_tested),
        "the flagged value below 64 and the ~16 args past it: {}",
        stats.sec_values_tested
    );

    // multiMatch: a value matching only before decoding and one only after.
    let rs = ruleset(
        r#"
SecRule ARGS "@rx ^a%41$" "id:3,phase:2,pass,log,multiMatch,t:none,t:urlDecodeUni,setvar:tx.n=+1"
SecRule TX:n "@eq 2" "id:4,phase:2,pass,log"
"#,
    );
    // `x=a%2541` arrives as `a%41`, matching raw; `y=a%252541` arrives as
    // `a%2541`, which decodes to `a%41`.
    let (m, stats) = run_stats(&rs, &get("/?p=1&x=a%2541&q=2&y=a%252541&r=3"));
    assert_eq!(m, [3, 4]);
    assert_eq!(stats.sec_values_tested, 2);
}

#[test]
fn a_regex_matching_every_value_is_not_scanned_for() {
    // 920450's shape: capture each header name whole, make a TX name of it,
    // test the names in a chain. `^.*$` matches every value, so no scan runs
    // for it; the walk evaluates it directly, with the same captures.
    let rs = ruleset(
        r#"
SecAction "id:1,phase:1,pass,nolog,setvar:'tx.restricted=/proxy/ /x-evil/'"
SecRule REQUEST_HEADERS_NAMES "@rx ^.*$" "id:2,phase:1,deny,capture,t:none,t:lowercase,setvar:'tx.header_name_%{tx.0}=/%{tx.0}/',chain"
    SecRule TX:/^header_name_/ "@within %{tx.restricted}" "t:none"
"#,
    );
    let with = |headers: &[(&str, &str)]| {
        let r = Req { method: "GET", uri: "/", headers, body: "" };
        run_stats(&rs, &r)
    };
    let (m, stats) = with(&[("Host", "example.com"), ("X-Evil", "1")]);
    assert_eq!(m, [2]);
    assert_eq!(stats.values_inspected, 0, "no value is scanned");
    assert!(with(&[("Host", "example.com"), ("X-Evil-Not", "1")]).0.is_empty());
    assert!(with(&[]).0.is_empty());
}

#[test]
fn a_rule_whose_walk_has_run_is_not_confirmed_on_later_values() {
    // Rule 1 (phase 1) hits in the query; its walk runs in phase 1, so the
    // body's values (phase 2) need no confirming for it.
    let rs = ruleset(r#"SecRule ARGS "@rx union\s+select" "id:1,phase:1,pass,log,t:none""#);
    let post = |n: usize| {
        let body: Vec<String> = (0..n).map(|i| format!("b{i}=union+select+{i}")).collect();
        let body = body.join("&");
        let r = Req {
            method: "POST",
            uri: "/?q=union+select+1",
            headers: &[("Host", "example.com"), ("Content-Type", "application/x-www-form-urlencoded")],
            body: &body,
        };
        run_stats(&rs, &r)
    };
    let (m1, one) = post(1);
    let (m10, ten) = post(10);
    assert_eq!((m1, m10), (vec![1], vec![1]));
    assert_eq!(one.regex_confirmations, ten.regex_confirmations, "no confirmations for body values");
}
