#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit/integration/doc tests (the
# corpus tests run when ../shared/corpus exists; the C ABI tests build C
# programs with cc and run them under valgrind and ASan when available), the
# Python and LuaJIT binding tests, the connectors' end-to-end tests against
# real nginx and HAProxy (skipped with a message when they are not installed),
# the peak memory of hostile requests, the dependency policy (cargo deny,
# when installed), and the README's main job.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets --release -- -D warnings
echo "== cargo test --release"
cargo test --release
echo "== bindings: Python (ctypes)"
if command -v python3 >/dev/null 2>&1; then
    bindings/python/run-tests.sh
else
    echo "skipped: python3 is not installed"
fi
echo "== bindings: LuaJIT (FFI)"
if command -v luajit >/dev/null 2>&1; then
    bindings/lua/run-tests.sh
else
    echo "skipped: luajit is not installed (Debian: apt-get install luajit2; .ci/run installs it)"
fi
echo "== connectors: nginx module, nginx + Lua, HAProxy (end-to-end)"
scripts/e2e.sh
echo "== hostile requests: peak memory of rampart scan (/usr/bin/time -v)"
if [ -x /usr/bin/time ]; then
    RAMPART_SKIP_BUILD=1 scripts/hostile-memory.sh
else
    echo "skipped: /usr/bin/time is not installed (Debian: apt-get install time)"
fi
echo "== dependency policy: cargo deny check licenses bans sources"
if cargo deny --version >/dev/null 2>&1; then
    cargo deny check licenses bans sources
else
    echo "skipped: cargo-deny is not installed (cargo install cargo-deny --locked)"
fi
echo "== rampart check (built-in rules)"
./target/release/rampart check >/dev/null
echo "== rampart scan examples/requests.jsonl"
./target/release/rampart scan examples/requests.jsonl | tail -n 2
echo "all tests passed"
