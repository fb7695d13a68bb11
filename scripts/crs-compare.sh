#!/usr/bin/env bash
# Same rules, same corpora, same machine, one session: rampart (CRS v4 loaded
# through the SecLang front end) against libmodsecurity 3 (modsec-runner),
# at paranoia levels 1 and 2, on benign-api and gotestwaf.
#
# Prints, per (paranoia, corpus): both engines' median and best-of-K median
# microseconds per request (runs interleaved, ROUNDS times, the fastest round
# kept per engine, as the machine is shared), the speed ratio, and verdict
# agreement (blocked or not, per request), listing every disagreement with
# the rules each side matched.
#
# Usage: scripts/crs-compare.sh [OUT_DIR]
# Env:   SHARED (default ../shared), ROUNDS (2), REPEAT (3), WARMUP (1),
#        LEVELS ("1 2"), CORPORA ("benign-api gotestwaf")
# modsec-runner runs with --no-body-error-rules: CRS only, as rampart (the
# runner's 200002/200003 body-error denies are not part of CRS).
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
OUT=${1:-target/crs-compare}
ROUNDS=${ROUNDS:-2}
REPEAT=${REPEAT:-3}
WARMUP=${WARMUP:-1}
LEVELS=${LEVELS:-"1 2"}
CORPORA=${CORPORA:-"benign-api gotestwaf"}
CRS="$SHARED/corpus/crs-v4"
RUNNER_SRC=$(cd "$SHARED/tools/modsec-runner" && pwd)
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
FILE_DIR=$(cd "$SHARED/corpus" && pwd)
cargo build --release --quiet
RAMPART=${CARGO_TARGET_DIR:-target}/release/rampart
# The runner's folder may be read-only: use its binary when built there,
# else compile it (as its build.sh does) into target/modsec-runner/.
if [ -x "$RUNNER_SRC/modsec-runner" ]; then
  RUNNER_BIN="$RUNNER_SRC/modsec-runner"
else
  RUNNER_BIN="$(pwd)/target/modsec-runner/modsec-runner"
  if [ ! -x "$RUNNER_BIN" ] || [ "$RUNNER_SRC/modsec_runner.c" -nt "$RUNNER_BIN" ]; then
    mkdir -p target/modsec-runner
    # shellcheck disable=SC2046
    cc -std=gnu11 -O2 -g -Wall -Wextra -o "$RUNNER_BIN" "$RUNNER_SRC/modsec_runner.c" \
      $(pkg-config --cflags --libs modsecurity jansson 2>/dev/null || echo -lmodsecurity -ljansson) -lm
  fi
fi

for pl in $LEVELS; do
  for corpus in $CORPORA; do
    file="$FILE_DIR/$corpus.jsonl"
    tag="pl$pl-$corpus"
    for round in $(seq "$ROUNDS"); do
      (cd "$RUNNER_SRC" && "$RUNNER_BIN" --rules crs4.conf --paranoia "$pl" --no-body-error-rules \
          --warmup "$WARMUP" --repeat "$REPEAT" --out "$OUT/modsec-$tag.jsonl" \
          "$file" 2>/dev/null | tail -1) > "$OUT/modsec-$tag-$round.json"
      $RAMPART bench --crs "$CRS" --paranoia "$pl" --warmup "$WARMUP" --repeat "$REPEAT" --json "$file" \
          | tail -1 > "$OUT/rampart-$tag-$round.json"
    done
    $RAMPART scan --crs "$CRS" --paranoia "$pl" --out "$OUT/rampart-$tag.jsonl" "$file" > /dev/null
  done
done

python3 - "$OUT" "$ROUNDS" "$LEVELS" "$CORPORA" <<'EOF'
import json, sys
out, rounds, levels, corpora = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(), sys.argv[4].split()
def load(path):
    return json.loads(open(path).read())
print("| PL | corpus | libmodsecurity median / best-of-K µs | rampart median / best-of-K µs | ratio (median, best-of-K) | same verdict |")
print("|---|---|---:|---:|---:|---:|")
details = []
for pl in levels:
    for corpus in corpora:
        tag = f"pl{pl}-{corpus}"
        m = [load(f"{out}/modsec-{tag}-{r}.json") for r in range(1, rounds + 1)]
        z = [load(f"{out}/rampart-{tag}-{r}.json") for r in range(1, rounds + 1)]
        mm = min(x["median_us"] for x in m); mb = min(x["best_of_k_median_us"] for x in m)
        zm = min(x["median_us"] for x in z); zb = min(x["best_of_k_median_us"] for x in z)
        ref = {}
        for l in open(f"{out}/modsec-{tag}.jsonl"):
            r = json.loads(l); ref[r["id"]] = r
        ours = {}
        for l in open(f"{out}/rampart-{tag}.jsonl"):
            r = json.loads(l); ours[r["id"]] = r
        same = sum(1 for i in ours if i in ref and ours[i]["blocked"] == ref[i]["blocked"])
        n = sum(1 for i in ours if i in ref)
        print(f"| {pl} | {corpus} | {mm:.0f} / {mb:.0f} | {zm:.1f} / {zb:.1f} | {mm/zm:.1f}x, {mb/zb:.1f}x | {same}/{n} ({100*same/n:.2f}%) |")
        for i in ours:
            if i in ref and ours[i]["blocked"] != ref[i]["blocked"]:
                a = set(ref[i]["matched_rules"]); b = set(ours[i]["matched_rules"])
                details.append(f"PL{pl} {i}: libmodsecurity {'blocks' if ref[i]['blocked'] else 'passes'}, rampart {'blocks' if ours[i]['blocked'] else 'passes'}; only libmodsecurity: {sorted(a - b)}, only rampart: {sorted(b - a)}")
print()
print(f"{len(details)} disagreements:")
for d in details:
    print(d)
EOF
