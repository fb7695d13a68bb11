//! Every request of the shared corpora gets a verdict, without a panic, with
//! the built-in rules at paranoia 1 and 2. Skips when ../shared/corpus is absent
//! (a fresh clone of this repository alone); CI has it.

use std::path::PathBuf;
use std::sync::Arc;

use rampart::{Config, Phase, Ruleset, Transaction};
use serde_json::Value;

fn corpus_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus"));
    dir.is_dir().then_some(dir)
}

fn text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

#[test]
fn every_corpus_request_gets_a_verdict() {
    let Some(dir) = corpus_dir() else {
        eprintln!("skipped: ../shared/corpus not found (it is part of the CI workspace, not of this repository)");
        return;
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus dir is readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .jsonl files in {}", dir.display());
    for paranoia in [1, 2] {
        let ruleset = Arc::new(
            Ruleset::builder()
                .default_rules()
                .configure(Config::new().paranoia(paranoia))
                .build()
                .expect("default rules"),
        );
        let mut scratch = ruleset.create_scratch();
        let mut tx = Transaction::new(ruleset.clone());
        for file in &files {
            let content = std::fs::read_to_string(file).expect("corpus file is readable");
            let (mut requests, mut attacks, mut detected, mut benign, mut false_positives) =
                (0u64, 0u64, 0u64, 0u64, 0u64);
            for line in content.lines().filter(|l| !l.trim().is_empty()) {
                let r: Value = serde_json::from_str(line).expect("corpus lines are JSON");
                tx.reset();
                tx.set_client("127.0.0.1");
                tx.set_request(text(&r["method"]), text(&r["uri"]), r["version"].as_str().unwrap_or("HTTP/1.1"));
                if let Some(headers) = r["headers"].as_array() {
                    for h in headers {
                        tx.add_header(text(&h[0]), text(&h[1]));
                    }
                }
                let mut body = Vec::new();
                if let Some(b64) = r["body_b64"].as_str() {
                    assert!(rampart::base64_decode_strict(b64.as_bytes(), &mut body), "bad base64 in {}", r["id"]);
                } else if let Some(b) = r["body"].as_str() {
                    body.extend_from_slice(b.as_bytes());
                }
                tx.evaluate(Phase::RequestHeaders, &mut scratch);
                tx.append_body(&body);
                let verdict = tx.evaluate(Phase::RequestBody, &mut scratch);
                requests += 1;
                let blocked = verdict.would_block();
                match r["label"].as_str() {
                    Some("attack") => {
                        attacks += 1;
                        detected += u64::from(blocked);
                    }
                    Some("benign") => {
                        benign += 1;
                        false_positives += u64::from(blocked);
                    }
                    _ => {}
                }
                assert!(verdict.match_count() as usize == tx.matches().count());
            }
            assert!(requests > 0, "{} is empty", file.display());
            eprintln!(
                "paranoia {paranoia} {}: {requests} requests, detected {detected}/{attacks}, benign blocked {false_positives}/{benign}",
                file.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()
            );
        }
    }
}
