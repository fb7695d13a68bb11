#!/usr/bin/env bash
# Runs fuzz targets one after the other for SECONDS each (default 600) and
# prints libFuzzer's final stats line per target. Crashes land in
# fuzz/artifacts/<target>/; logs in fuzz/artifacts/logs/<target>.log.
#
#   fuzz/run.sh                     # every target, 10 minutes each
#   fuzz/run.sh 30 evaluate ffi_calls
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`); on a stable toolchain the
# script sets RUSTC_BOOTSTRAP=1. Builds with debug assertions (-a), so
# integer overflow is a finding too.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/.."
seconds="${1:-600}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(parse_rules config_toml evaluate body_urlencoded body_json body_multipart transforms ffi_calls)
fi
export RUSTC_BOOTSTRAP=1
[ -d "$here/corpus" ] || "$here/seed.sh"
cargo fuzz build -a >/dev/null
mkdir -p "$here/artifacts/logs"
dict_for() {
    case "$1" in
        parse_rules) echo "-dict=$here/dict/rules.dict" ;;
        config_toml) echo "-dict=$here/dict/config.dict" ;;
        ffi_calls) echo "" ;;
        *) echo "-dict=$here/dict/http.dict" ;;
    esac
}
status=0
for t in "${targets[@]}"; do
    mkdir -p "$here/corpus/$t" "$here/artifacts/$t"
    log="$here/artifacts/logs/$t.log"
    # shellcheck disable=SC2046
    # -fork=1 with -ignore_*: a finding is saved and fuzzing goes on, so one
    # run collects every finding; the run fails if any was found.
    cargo fuzz run -a "$t" "$here/corpus/$t" -- \
        -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
        -artifact_prefix="$here/artifacts/$t/" $(dict_for "$t") >"$log" 2>&1 || true
    # Fork mode's progress lines: "#N: cov: C ft: F corp: K exec/s E oom/timeout/crash: a/b/c time: Ts job: J".
    last="$(grep -E '^#[0-9]+: cov:' "$log" | tail -1)"
    found="$(find "$here/artifacts/$t" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | wc -l)"
    echo "$t: ${last:-no stats (see $log)}; findings: $found"
    if [ "$found" -gt 0 ]; then
        echo "  findings in fuzz/artifacts/$t/ (minimise: cargo fuzz tmin -a $t <file>)"
        status=1
    fi
done
exit $status
