#!/usr/bin/env bash
# Runs the Python binding tests against librampart.so. Idempotent; prints one
# line on success and everything on failure; exits non-zero on failure.
#
#   bindings/python/run-tests.sh [PYTEST ARGS...]
#
# Environment:
#   RAMPART_LIBRARY  test this library instead of building target/release/librampart.so
#   PYTHON           interpreter to use (default python3)
#   RAMPART_VENV     where to create a venv with pytest when the interpreter lacks it
#                    (default ${XDG_CACHE_HOME:-~/.cache}/rampart/python-venv)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
log=$(mktemp)
trap 'rm -f "$log"' EXIT

fail() {
    echo "FAIL: python bindings: $1" >&2
    [ -s "$log" ] && cat "$log" >&2
    exit 1
}

# 1. The library: cargo rebuilds only what changed (about a second when fresh).
if [ -z "${RAMPART_LIBRARY:-}" ]; then
    (cd "$repo" && cargo build --release --lib) >"$log" 2>&1 || fail "cargo build --release --lib"
    target=${CARGO_TARGET_DIR:-target}
    case $target in /*) ;; *) target=$repo/$target ;; esac
    export RAMPART_LIBRARY=$target/release/librampart.so
fi
case $RAMPART_LIBRARY in /*) ;; *) RAMPART_LIBRARY=$PWD/$RAMPART_LIBRARY ;; esac
[ -f "$RAMPART_LIBRARY" ] || fail "no library at $RAMPART_LIBRARY"

# 2. An interpreter with pytest: the given one, else a cached venv, else the user site.
py=${PYTHON:-python3}
command -v "$py" >/dev/null || fail "$py not found"
if ! "$py" -c 'import pytest' >/dev/null 2>&1; then
    venv=${RAMPART_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/rampart/python-venv}
    if "$venv/bin/python" -c 'import pytest' >/dev/null 2>&1; then
        py=$venv/bin/python
    elif { "$py" -m venv "$venv" && "$venv/bin/python" -m pip install -q pytest; } >"$log" 2>&1; then
        py=$venv/bin/python
    elif "$py" -m pip install -q --user pytest >>"$log" 2>&1 ||
        "$py" -m pip install -q --user --break-system-packages pytest >>"$log" 2>&1; then
        "$py" -c 'import pytest' >>"$log" 2>&1 || fail "pytest installed but not importable"
    else
        fail "cannot install pytest (tried a venv at $venv and pip --user; on Debian: apt-get install python3-venv or python3-pytest)"
    fi
fi

# 3. The tests. No .pytest_cache or __pycache__ left in the source tree.
cd "$here"
if PYTHONDONTWRITEBYTECODE=1 "$py" -m pytest -p no:cacheprovider "$@" >"$log" 2>&1; then
    echo "ok: python bindings ($(grep -Eo '[0-9]+ passed.*' "$log" | tail -n 1 | sed 's/ in [0-9.]*s.*//'))"
else
    fail "pytest failed (library: $RAMPART_LIBRARY, python: $py)"
fi
