//! Rule-author mistakes never reach production: a reload whose rule file,
//! config or data file is broken fails with an error and leaves the running
//! ruleset untouched, through the Rust API and through the C ABI's hot-reload
//! path (`rampart_ruleset_load` + `rampart_tx_reset_with`, called here from
//! Rust). Meanwhile the old ruleset keeps serving, on another thread too; a
//! corrected reload then takes over.

use std::fs;
use std::path::{Path, PathBuf};
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rampart::ffi::*;
use rampart::{Action, Phase, Ruleset, Transaction};

const GOOD_CONFIG: &str = "[engine]\nmode = \"block\"\n\n[rules]\ninclude = [\"app/*.rules\"]\n";
const GOOD_RULES: &str = r#"
rule 100 "Path traversal" {
    severity  critical
    inspect   args
    transform url_decode
    match     contains "../"
}
rule 101 "Known bad agents" {
    severity  critical
    inspect   headers["user-agent"]
    transform lowercase
    match     phrases file "agents.data"
}
"#;
/// The corrected version adds a rule: a successful reload is visible.
const NEW_RULES: &str = r#"
rule 102 "SQL comment" {
    severity  critical
    inspect   args
    match     contains "--"
}
"#;

/// Each way to break a deployment, applied to a good rule folder.
/// Breaks a deployment folder.
type Mistake = Box<dyn Fn(&Path)>;

fn mistakes() -> Vec<(&'static str, Mistake)> {
    fn write(dir: &Path, name: &str, text: &[u8]) {
        fs::write(dir.join(name), text).unwrap();
    }
    vec![
        (
            "rule syntax error",
            Box::new(|d| {
                write(d, "app/main.rules", b"rule 100 { severity critical inspect args match contains \"x\"\n")
            }),
        ),
        (
            "unknown transform",
            Box::new(|d| write(d, "app/main.rules", GOOD_RULES.replace("url_decode", "url_decod").as_bytes())),
        ),
        (
            "invalid regex",
            Box::new(|d| {
                write(d, "app/extra.rules", b"rule 200 { severity critical inspect args match regex `(a` }\n")
            }),
        ),
        (
            "backreference",
            Box::new(|d| {
                write(d, "app/extra.rules", b"rule 200 { severity critical inspect args match regex `(a)\\1` }\n")
            }),
        ),
        (
            "duplicate rule id",
            Box::new(|d| {
                write(d, "app/extra.rules", b"rule 100 { severity critical inspect args match contains \"y\" }\n")
            }),
        ),
        (
            "rule file not UTF-8",
            Box::new(|d| {
                write(
                    d,
                    "app/extra.rules",
                    b"rule 200 \"\xff\" { severity critical inspect args match contains \"y\" }\n",
                )
            }),
        ),
        ("include of a missing file", Box::new(|d| write(d, "app/extra.rules", b"include \"nowhere.rules\"\n"))),
        ("include cycle", Box::new(|d| write(d, "app/extra.rules", b"include \"extra.rules\"\n"))),
        ("missing data file", Box::new(|d| fs::remove_file(d.join("app/agents.data")).unwrap())),
        ("empty data file", Box::new(|d| write(d, "app/agents.data", b"# nothing\n\n"))),
        ("data file not UTF-8", Box::new(|d| write(d, "app/agents.data", b"sqlmap\n\xff\xfe\n"))),
        ("config syntax error", Box::new(|d| write(d, "rampart.toml", b"[engine\nmode = \"block\"\n"))),
        ("config unknown key", Box::new(|d| write(d, "rampart.toml", b"[engine]\nmoed = \"block\"\n"))),
        ("config value out of range", Box::new(|d| write(d, "rampart.toml", b"[limits]\nmax_body_bytes = 0\n"))),
        ("config not UTF-8", Box::new(|d| write(d, "rampart.toml", b"[engine]\nmode = \"\xff\"\n"))),
        ("config missing", Box::new(|d| fs::remove_file(d.join("rampart.toml")).unwrap())),
    ]
}

/// A fresh folder with a good deployment.
fn deployment(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "rampart-reload-{}-{tag}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("app")).unwrap();
    fs::write(dir.join("rampart.toml"), GOOD_CONFIG).unwrap();
    fs::write(dir.join("app/main.rules"), GOOD_RULES).unwrap();
    fs::write(dir.join("app/agents.data"), "sqlmap\nnikto\n").unwrap();
    dir
}

/// (traversal, bad agent, sql comment, benign): what `rs` does with each.
fn behaviour(rs: &Arc<Ruleset>) -> [Action; 4] {
    let mut scratch = rs.create_scratch();
    let mut tx = Transaction::new(rs.clone());
    let mut one = |uri: &str, agent: &str| {
        tx.reset();
        tx.set_request("GET", uri, "HTTP/1.1");
        tx.add_header("User-Agent", agent);
        tx.evaluate(Phase::RequestBody, &mut scratch).action()
    };
    [one("/f?p=..%2f..%2fetc", "curl"), one("/", "sqlmap/1.7"), one("/q?id=1--", "curl"), one("/q?id=1", "curl")]
}

const OLD: [Action; 4] = [Action::Block, Action::Block, Action::Allow, Action::Allow];
const NEW: [Action; 4] = [Action::Block, Action::Block, Action::Block, Action::Allow];

#[test]
fn rust_api_failed_reloads_leave_the_running_ruleset_untouched() {
    for (name, break_it) in mistakes() {
        let dir = deployment("rust");
        let config = dir.join("rampart.toml");
        let running = Arc::new(Ruleset::from_config_file(&config).unwrap_or_else(|e| panic!("{e}")));
        let (id, count) = (running.id(), running.rule_count());
        assert_eq!(behaviour(&running), OLD);

        // Another thread serves with the running ruleset all along.
        let current = Arc::new(Mutex::new(running.clone()));
        let stop = Arc::new(AtomicBool::new(false));
        let server = {
            let (current, stop) = (current.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut served = 0;
                while !stop.load(Ordering::Relaxed) || served == 0 {
                    let rs = current.lock().unwrap().clone();
                    let b = behaviour(&rs);
                    assert!(b == OLD || b == NEW, "served {b:?}");
                    served += 1;
                }
                served
            })
        };

        break_it(&dir);
        let err = match Ruleset::from_config_file(&config) {
            Ok(_) => panic!("{name}: a broken deployment compiled"),
            Err(e) => e,
        };
        let first = err.first().expect("at least one error");
        assert!(!first.message().is_empty(), "{name}: an error says what is wrong");
        assert!(!first.file().is_empty(), "{name}: and where: {}", first.short());
        // The running ruleset is the same object, doing the same thing.
        let still = current.lock().unwrap().clone();
        assert!(Arc::ptr_eq(&still, &running));
        assert_eq!((still.id(), still.rule_count()), (id, count), "{name}");
        assert_eq!(behaviour(&still), OLD, "{name}: the old ruleset changed");

        // The author fixes the deployment (and adds a rule): the reload succeeds.
        fs::write(dir.join("rampart.toml"), GOOD_CONFIG).unwrap();
        fs::write(dir.join("app/main.rules"), GOOD_RULES).unwrap();
        fs::write(dir.join("app/agents.data"), "sqlmap\nnikto\n").unwrap();
        fs::write(dir.join("app/extra.rules"), NEW_RULES).unwrap();
        let fixed = Arc::new(Ruleset::from_config_file(&config).unwrap_or_else(|e| panic!("{name}: fixed: {e}")));
        assert_ne!(fixed.id(), id);
        assert_eq!(behaviour(&fixed), NEW, "{name}");
        // A transaction made before the swap finishes with the old ruleset.
        let mut scratch = running.create_scratch();
        let mut old_tx = Transaction::new(running.clone());
        old_tx.set_request("GET", "/q?id=1--", "HTTP/1.1");
        *current.lock().unwrap() = fixed.clone();
        assert_eq!(old_tx.evaluate(Phase::RequestBody, &mut scratch).action(), Action::Allow);
        // ... and moves to the new one on reset_with.
        old_tx.reset_with(fixed.clone());
        let mut scratch = fixed.create_scratch();
        old_tx.set_request("GET", "/q?id=1--", "HTTP/1.1");
        assert_eq!(old_tx.evaluate(Phase::RequestBody, &mut scratch).action(), Action::Block);

        stop.store(true, Ordering::Relaxed);
        assert!(server.join().expect("the serving thread never panicked") > 0);
        assert_eq!(behaviour(&running), OLD, "{name}: the old ruleset still works after the swap");
        let _ = fs::remove_dir_all(&dir);
    }
}

/// Evaluates the four requests of [`behaviour`] through the C ABI.
fn c_behaviour(tx: *mut rampart_tx) -> [Action; 4] {
    let one = |uri: &[u8], agent: &[u8]| {
        rampart_tx_reset(tx);
        assert_eq!(
            rampart_tx_set_request(tx, b"GET".as_ptr().cast(), 3, uri.as_ptr().cast(), uri.len(), null(), 0),
            rampart_result::Ok
        );
        assert_eq!(
            rampart_tx_add_header(tx, b"User-Agent".as_ptr().cast(), 10, agent.as_ptr().cast(), agent.len()),
            rampart_result::Ok
        );
        let mut v = rampart_verdict::default();
        assert_eq!(rampart_tx_evaluate(tx, RAMPART_PHASE_REQUEST_BODY, &raw mut v), rampart_result::Ok);
        match v.action {
            RAMPART_ACTION_BLOCK => Action::Block,
            RAMPART_ACTION_LOG => Action::Log,
            _ => Action::Allow,
        }
    };
    [
        one(b"/f?p=..%2f..%2fetc", b"curl"),
        one(b"/", b"sqlmap/1.7"),
        one(b"/q?id=1--", b"curl"),
        one(b"/q?id=1", b"curl"),
    ]
}

fn c_load(path: &Path, out: &mut *mut rampart_ruleset, err: &mut *mut rampart_error) -> rampart_result {
    let p = path.to_str().unwrap().as_bytes();
    rampart_ruleset_load(p.as_ptr().cast(), p.len(), out, err)
}

#[test]
fn c_abi_failed_reloads_leave_the_running_ruleset_untouched() {
    for (name, break_it) in mistakes() {
        let dir = deployment("c");
        let config = dir.join("rampart.toml");
        let mut current = null_mut();
        let mut err = null_mut();
        assert_eq!(c_load(&config, &mut current, &mut err), rampart_result::Ok, "{name}");
        assert!(err.is_null());
        let count = rampart_ruleset_rule_count(current);
        let tx = rampart_tx_new(current);
        assert_eq!(c_behaviour(tx), OLD);

        break_it(&dir);
        // A sentinel: `*out` must not be written on failure.
        let sentinel = std::ptr::NonNull::<rampart_ruleset>::dangling().as_ptr();
        let mut candidate = sentinel;
        let r = c_load(&config, &mut candidate, &mut err);
        assert!(matches!(r, rampart_result::RuleError | rampart_result::Io), "{name}: {r:?}");
        assert_eq!(candidate, sentinel, "{name}: *out written on failure");
        assert!(!err.is_null(), "{name}: no error object");
        // SAFETY: NUL-terminated strings owned by the live error.
        let message = unsafe { std::ffi::CStr::from_ptr(rampart_error_message(err)) }.to_string_lossy().into_owned();
        let file = unsafe { std::ffi::CStr::from_ptr(rampart_error_file(err)) }.to_string_lossy().into_owned();
        assert!(message.contains("error"), "{name}: {message}");
        assert!(!file.is_empty(), "{name}: {message}");
        rampart_error_free(err);
        err = null_mut();

        // The host keeps the old ruleset: same rules, same answers, also for
        // a transaction made now.
        assert_eq!(rampart_ruleset_rule_count(current), count);
        assert_eq!(c_behaviour(tx), OLD, "{name}");
        let tx2 = rampart_tx_new(current);
        assert_eq!(c_behaviour(tx2), OLD, "{name}");

        // Fixed: the reload succeeds and the transaction moves over.
        fs::write(dir.join("rampart.toml"), GOOD_CONFIG).unwrap();
        fs::write(dir.join("app/main.rules"), GOOD_RULES).unwrap();
        fs::write(dir.join("app/agents.data"), "sqlmap\nnikto\n").unwrap();
        fs::write(dir.join("app/extra.rules"), NEW_RULES).unwrap();
        let mut fresh = null_mut();
        assert_eq!(c_load(&config, &mut fresh, &mut err), rampart_result::Ok, "{name}: fixed");
        assert_eq!(rampart_tx_reset_with(tx, fresh), rampart_result::Ok);
        rampart_ruleset_release(current); // the host's reference to the old one
        assert_eq!(c_behaviour(tx), NEW, "{name}");
        assert_eq!(c_behaviour(tx2), OLD, "{name}: a transaction keeps its ruleset until reset_with");
        rampart_tx_free(tx2); // drops the last reference to the old ruleset
        rampart_tx_free(tx);
        rampart_ruleset_release(fresh);
        let _ = fs::remove_dir_all(&dir);
    }
}
