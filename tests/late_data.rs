//! Data that arrives after its phase: late headers are still inspected; a
//! replaced request line forgets everything that came from the old target.

use std::sync::Arc;

use rampart::{Action, Phase, Ruleset, Transaction};

fn ruleset() -> Arc<Ruleset> {
    Arc::new(
        Ruleset::from_rules(
            r#"
            rule 1 "scanner" { severity critical inspect headers["user-agent"] transform lowercase match contains "sqlmap" }
            rule 2 "tautology" { severity critical inspect args match contains "' or 1=1" }
            rule 3 "cookie" { severity critical inspect cookies match equals "evil" }
            rule 4 "host" { severity critical inspect host match equals "old.example" }
            "#,
        )
        .expect("valid rules"),
    )
}

#[test]
fn issue_late_header_is_inspected_in_the_body_phase() {
    let rs = ruleset();
    let mut scratch = rs.create_scratch();
    let mut tx = Transaction::new(rs.clone());
    tx.set_request("GET", "/", "HTTP/1.1");
    tx.add_header("Host", "a.example");
    assert_eq!(tx.evaluate(Phase::RequestHeaders, &mut scratch).action(), Action::Allow);
    assert!(tx.is_evaluated(Phase::RequestHeaders));
    tx.add_header("User-Agent", "sqlmap/1.7");
    tx.add_header("Cookie", "session=evil");
    let v = tx.evaluate(Phase::RequestBody, &mut scratch);
    assert_eq!(v.action(), Action::Block);
    let mut ids: Vec<u32> = tx.matches().map(|m| m.id()).collect();
    ids.sort_unstable();
    assert_eq!(ids, [1, 3]);
}

#[test]
fn issue_second_set_request_forgets_the_first_target() {
    let rs = ruleset();
    let mut scratch = rs.create_scratch();
    let mut tx = Transaction::new(rs.clone());
    tx.set_request("GET", "http://old.example/?id=%27%20or%201%3D1", "HTTP/1.1");
    tx.set_request("GET", "/ok", "HTTP/1.1");
    tx.add_header("Host", "new.example");
    let v = tx.evaluate(Phase::RequestBody, &mut scratch);
    assert_eq!(v.action(), Action::Allow, "matches: {:?}", tx.matches().map(|m| m.id()).collect::<Vec<_>>());
}
