#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with seeds: requests, bodies, argument values,
# rule files and configs extracted from ../shared/corpus and this repository
# (fuzz/seed.py), plus the hand-written seeds in fuzz/seeds/<target>/.
# fuzz/corpus is not committed (.gitignore); rerun this after a fresh clone.
#
#   fuzz/seed.sh                 # corpus from ../shared/corpus (if present)
#   RAMPART_CORPUS=/path fuzz/seed.sh
#   SEEDS_PER_TARGET=500 fuzz/seed.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
corpus="${RAMPART_CORPUS:-$repo/../shared/corpus}"
out="$here/corpus"
mkdir -p "$out"
for dir in "$here"/seeds/*/; do
    [ -d "$dir" ] || continue
    target="$(basename "$dir")"
    mkdir -p "$out/$target"
    cp -n "$dir"* "$out/$target/" 2>/dev/null || true
done
if [ -d "$corpus" ]; then
    python3 "$here/seed.py" "$corpus" "$repo" "$out"
else
    echo "seed.sh: no corpus at $corpus; only the hand-written seeds" >&2
    python3 "$here/seed.py" /nonexistent "$repo" "$out"
fi
for target in parse_rules config_toml evaluate body_urlencoded body_json body_multipart transforms ffi_calls; do
    mkdir -p "$out/$target"
done
