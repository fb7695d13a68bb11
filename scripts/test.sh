#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit/integration/doc tests (the
# corpus tests run when ../shared/corpus exists), and the README's main job.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets --release -- -D warnings
echo "== cargo test --release"
cargo test --release
echo "== rampart check (built-in rules)"
./target/release/rampart check >/dev/null
echo "== rampart scan examples/requests.jsonl"
./target/release/rampart scan examples/requests.jsonl | tail -n 2
echo "all tests passed"
