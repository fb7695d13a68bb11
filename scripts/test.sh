#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit/integration/doc tests (the
# corpus tests run when ../shared/corpus exists; the C ABI tests build C
# programs with cc and run them under valgrind and ASan when available), the
# Python and LuaJIT binding tests, the connectors' end-to-end tests against
# real nginx and HAProxy (skipped with a message when they are not installed),
# and the README's main job.
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
echo "== rampart check (built-in rules)"
./target/release/rampart check >/dev/null
echo "== rampart scan examples/requests.jsonl"
./target/release/rampart scan examples/requests.jsonl | tail -n 2
echo "all tests passed"
