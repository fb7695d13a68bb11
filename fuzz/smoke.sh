#!/usr/bin/env bash
# A short fuzz run of every target (SMOKE_SECONDS each, default 25) from a
# small seed corpus (the hand-written seeds plus SEEDS_PER_TARGET, default
# 200, extracted from ../shared/corpus when it exists). Fails on the first
# finding, leaving it in fuzz/artifacts/<target>/. For CI; the long runs are
# fuzz/run.sh. Needs cargo-fuzz (installed when missing) and a C++ compiler.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/.."
seconds="${SMOKE_SECONDS:-25}"
export RUSTC_BOOTSTRAP=1
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked >/dev/null
fi
started=$(date +%s)
cargo fuzz build -a >/dev/null
built=$(date +%s)
corpus="$here/target/smoke-corpus"
rm -rf "$corpus"
mkdir -p "$corpus"
for dir in "$here"/seeds/*/; do
    mkdir -p "$corpus/$(basename "$dir")"
    cp "$dir"* "$corpus/$(basename "$dir")/"
done
if [ -d "${RAMPART_CORPUS:-$here/../../shared/corpus}" ]; then
    SEEDS_PER_TARGET="${SEEDS_PER_TARGET:-200}" python3 "$here/seed.py" \
        "${RAMPART_CORPUS:-$here/../../shared/corpus}" "$here/.." "$corpus" >/dev/null
fi
dict_for() {
    case "$1" in
        parse_rules) echo "-dict=$here/dict/rules.dict" ;;
        config_toml) echo "-dict=$here/dict/config.dict" ;;
        ffi_calls) echo "" ;;
        *) echo "-dict=$here/dict/http.dict" ;;
    esac
}
for t in parse_rules config_toml evaluate body_urlencoded body_json body_multipart transforms ffi_calls; do
    mkdir -p "$corpus/$t" "$here/artifacts/$t"
    log="$here/target/smoke-$t.log"
    # shellcheck disable=SC2046
    if ! cargo fuzz run -a "$t" "$corpus/$t" -- -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$here/artifacts/$t/" \
        $(dict_for "$t") >"$log" 2>&1; then
        grep -E "panicked|ERROR|SUMMARY" -A3 "$log" | head -20 >&2
        echo "fuzz smoke: $t found a problem (log: $log, input in fuzz/artifacts/$t/)" >&2
        exit 1
    fi
    runs="$(awk '/stat::number_of_executed_units/ {print $2}' "$log" | tail -1)"
    cov="$(grep -oE 'cov: [0-9]+' "$log" | tail -1)"
    echo "fuzz smoke: $t ok (${runs:-?} executions, ${cov:-cov: ?})"
done
echo "fuzz smoke: build $((built - started)) s, total $(( $(date +%s) - started )) s"
