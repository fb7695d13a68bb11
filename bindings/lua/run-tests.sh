#!/usr/bin/env bash
# Runs the LuaJIT binding tests against librampart.so. Idempotent; prints one
# line on success and everything on failure; exits non-zero on failure.
#
#   bindings/lua/run-tests.sh [-v | NAME-SUBSTRING]
#
# Needs `luajit` on PATH: on Debian install `luajit2` (OpenResty's LuaJIT), not
# `luajit`, which conflicts with libnginx-mod-http-lua.
# Environment:
#   RAMPART_LIBRARY  test this library instead of building target/release/librampart.so
#   LUAJIT           interpreter to use (default luajit)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
log=$(mktemp)
trap 'rm -f "$log"' EXIT

fail() {
    echo "FAIL: lua bindings: $1" >&2
    [ -s "$log" ] && cat "$log" >&2
    exit 1
}

luajit=${LUAJIT:-luajit}
command -v "$luajit" >/dev/null ||
    fail "$luajit not found (Debian: apt-get install -y luajit2; not the luajit package)"

# The library: cargo rebuilds only what changed (about a second when fresh).
if [ -z "${RAMPART_LIBRARY:-}" ]; then
    (cd "$repo" && cargo build --release --lib) >"$log" 2>&1 || fail "cargo build --release --lib"
    target=${CARGO_TARGET_DIR:-target}
    case $target in /*) ;; *) target=$repo/$target ;; esac
    export RAMPART_LIBRARY=$target/release/librampart.so
fi
case $RAMPART_LIBRARY in /*) ;; *) RAMPART_LIBRARY=$PWD/$RAMPART_LIBRARY ;; esac
[ -f "$RAMPART_LIBRARY" ] || fail "no library at $RAMPART_LIBRARY"

if "$luajit" "$here/test.lua" "$@" >"$log" 2>&1; then
    echo "ok: lua bindings ($(tail -n 1 "$log"); $("$luajit" -v | cut -d' ' -f1-2))"
else
    fail "test.lua failed (library: $RAMPART_LIBRARY)"
fi
