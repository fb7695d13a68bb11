#!/usr/bin/env bash
# Speed of rampart against libmodsecurity 3 + OWASP CRS v4 on the same corpora,
# same machine, one after the other. Not a CI step (it takes minutes).
#
#   scripts/compare.sh [CORPUS.jsonl...]     (default: benign-api, gotestwaf)
#
# Environment: PARANOIA (1), REPEAT (3), WARMUP (1), SHARED (../shared).
# Prints a Markdown table: median and best-of-K median microseconds per request
# for each engine, and the ratio modsec/rampart.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
shared=${SHARED:-$repo/../shared}
runner_dir=$shared/tools/modsec-runner
paranoia=${PARANOIA:-1}
repeat=${REPEAT:-3}
warmup=${WARMUP:-1}
if [ $# -eq 0 ]; then
    set -- "$shared/corpus/benign-api.jsonl" "$shared/corpus/gotestwaf.jsonl"
fi

[ -x "$runner_dir/modsec-runner" ] || (cd "$runner_dir" && ./build.sh) >&2
cargo build --release --quiet
rampart=${CARGO_TARGET_DIR:-$repo/target}/release/rampart
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

field() { python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(d[sys.argv[1]])' "$1"; }

echo "| corpus | requests | ModSecurity + CRS v4 PL$paranoia median µs (best-of-$repeat) | rampart median µs (best-of-$repeat) | ratio (median) | ratio (best-of-$repeat) |"
echo "|---|---:|---:|---:|---:|---:|"
for corpus in "$@"; do
    name=$(basename "$corpus" .jsonl)
    (cd "$runner_dir" && ./modsec-runner --rules crs4.conf --paranoia "$paranoia" --warmup "$warmup" \
        --repeat "$repeat" "$corpus" 2>/dev/null) | tail -n 1 > "$tmp/modsec.json"
    "$rampart" bench --paranoia "$paranoia" --warmup "$warmup" --repeat "$repeat" --json "$corpus" \
        | tail -n 1 > "$tmp/rampart.json"
    m_med=$(field median_us < "$tmp/modsec.json")
    m_best=$(field best_of_k_median_us < "$tmp/modsec.json")
    r_med=$(field median_us < "$tmp/rampart.json")
    r_best=$(field best_of_k_median_us < "$tmp/rampart.json")
    n=$(field requests < "$tmp/rampart.json")
    rules=$(field rules < "$tmp/rampart.json")
    ratio=$(python3 -c "print(f'{$m_med/$r_med:.1f}x')")
    ratio_best=$(python3 -c "print(f'{$m_best/$r_best:.1f}x')")
    echo "| $name | $n | $m_med ($m_best) | $r_med ($r_best) | $ratio | $ratio_best |"
done
echo
echo "ModSecurity: libmodsecurity 3 + CRS v4 (shared/corpus/crs-v4, paranoia $paranoia, modsec-runner defaults)."
echo "rampart: built-in rules ($rules rules at paranoia $paranoia), one thread, rampart bench."
