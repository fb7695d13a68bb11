#!/usr/bin/env bash
# Regenerates include/rampart.h from src/ffi/mod.rs with the pinned cbindgen
# (a dev-dependency; see Cargo.lock), then shows what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
RAMPART_WRITE_HEADER=1 cargo test --release --test header -- --quiet
git diff --stat -- include/rampart.h || true
