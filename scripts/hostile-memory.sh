#!/usr/bin/env bash
# Peak memory of `rampart scan` over hostile requests (docs/hardening.md,
# "Memory"). Generates corpus files of hostile requests, runs the release CLI
# on each under /usr/bin/time -v, and checks the peak RSS against
#
#   baseline + corpus cost + engine bound
#
# where baseline is the peak RSS of scanning one benign request (binary,
# built-in rules, allocator), corpus cost is what the CLI itself holds to
# read a corpus (it keeps the file text, the parsed records and each body as
# bytes: 3 x the file size), and the engine bound is the per-transaction
# bound of docs/hardening.md for the default limits:
#   40 x max_body_bytes + 16 x (max_header_bytes + max_uri_bytes) + 16 MiB
#   = 40 MiB + 1.125 MiB + 16 MiB (default limits: 1 MiB, 64 KiB, 8 KiB).
#
#   scripts/hostile-memory.sh            # build, generate, measure, check
#   RAMPART_SKIP_BUILD=1 scripts/hostile-memory.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${RAMPART_SKIP_BUILD:-0}" != 1 ]; then
    cargo build -q --release --bin rampart
fi
bin=${CARGO_TARGET_DIR:-target}/release/rampart
[ -x /usr/bin/time ] || { echo "hostile-memory: /usr/bin/time is missing (Debian: apt-get install time)" >&2; exit 1; }
work="$(mktemp -d "${TMPDIR:-/tmp}/rampart-hostile.XXXXXX")"
trap 'rm -rf "$work"' EXIT

python3 - "$work" <<'PY'
import base64, json, os, sys
out = sys.argv[1]
H = [["Host", "shop.example"], ["User-Agent", "hostile/1.0"]]

def rec(i, **kw):
    r = {"id": f"hostile-{i}", "method": "POST", "uri": "/submit", "headers": list(H),
         "label": "attack", "class": "other"}
    r.update(kw)
    return r

def ct(value):
    return H + [["Content-Type", value]]

records = []
add = lambda **kw: records.append(rec(len(records), **kw))
add(method="GET", uri="/search?" + "".join(f"a{i}=1&" for i in range(100_000)))
add(headers=ct("application/x-www-form-urlencoded"), body="".join(f"a{i}=1&" for i in range(100_000)))
add(method="GET", headers=H + [[f"X-H{i}", "v"] for i in range(10_000)])
add(method="GET", headers=H + [[f"X-Big{i}", "A" * 8192] for i in range(20)])
add(method="GET", headers=H + [["Cookie", "; ".join(f"c{i}=v" for i in range(10_000))]])
add(headers=ct("application/json"), body="[" * 100_000 + "1" + "]" * 100_000)
add(headers=ct("application/json"), body='{"a":' * 100_000 + "1" + "}" * 100_000)
add(headers=ct("application/json"), body='{"' + "k" * (500 << 10) + '":[' + "0," * 250_000 + "0]}")
parts = "".join(f'--b\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\nv\r\n' for i in range(100_000)) + "--b--\r\n"
add(headers=ct("multipart/form-data; boundary=b"), body=parts)
add(headers=ct("multipart/form-data"), body=parts[:100_000])
bad = b"\xc0\xaf\xe0\x80\xaf\xf0\x80\x80\xaf\xed\xa0\x80\xf4\x90\x80\x80\xf8\x88\x80\x80\xaf\xff\xfe" * 1000
add(headers=ct("application/x-www-form-urlencoded"), body_b64=base64.b64encode(b"a=" + bad).decode())
add(headers=ct("application/json"), body_b64=base64.b64encode(b'{"' + bad + b'":"' + bad + b'"}').decode())
add(method="GET", uri="/%c0%ae%c0%ae/%c0%af?x=%e0%80%af%ed%a0%80%f4%90%80%80%00%00")
add(headers=ct("text/plain"), body_b64=base64.b64encode(b"\0" * (1 << 20)).decode())
add(method="GET", uri="/a/?q=%" + "25" * 4000 + "41")
add(headers=ct("application/x-www-form-urlencoded"), body="q=" + "%2525" * 100_000)
with open(os.path.join(out, "hostile.jsonl"), "w") as f:
    for r in records:
        f.write(json.dumps(r) + "\n")
# The 100 MiB body on its own (the CLI reads a record whole).
with open(os.path.join(out, "body-100mib.jsonl"), "w") as f:
    chunk = "a=1&b=<script>&" * 4370  # ~64 KiB
    body = (chunk * 1600)[: 100 << 20]
    f.write(json.dumps(rec(0, headers=ct("application/x-www-form-urlencoded"), body=body)) + "\n")
with open(os.path.join(out, "baseline.jsonl"), "w") as f:
    f.write(json.dumps(rec(0, method="GET", uri="/", label="benign", **{"class": "benign"})) + "\n")
PY

peak_kib() { # file [scan options] -> peak RSS in KiB
    local file="$1"
    shift
    /usr/bin/time -v "$bin" scan "$@" "$file" 2>"$work/time.txt" >/dev/null
    awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$work/time.txt"
}
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

engine_kib=$(( (40 * 1024 * 1024 + 16 * (65536 + 8192) + 16 * 1024 * 1024) / 1024 ))
base=$(peak_kib "$work/baseline.jsonl")
echo "baseline (one benign request): $(mib "$base") MiB; engine bound for the default limits: $(mib "$engine_kib") MiB"
status=0
for name in hostile body-100mib; do
    file="$work/$name.jsonl"
    size_kib=$(( $(stat -c %s "$file") / 1024 ))
    peak=$(peak_kib "$file")
    # Mode off: the same corpus read and fed, nothing parsed or inspected.
    off=$(peak_kib "$file" --mode off)
    bound=$(( base + 3 * size_kib + engine_kib ))
    # What inspection adds, plus the body copy (1 MiB) that both runs hold.
    engine=$(( peak - off + 1024 ))
    printf '%-12s corpus %6s MiB  peak RSS %6s MiB (mode off %6s MiB)  bound %6s MiB  engine %5s MiB <= %s MiB\n' \
        "$name" "$(mib "$size_kib")" "$(mib "$peak")" "$(mib "$off")" "$(mib "$bound")" "$(mib "$engine")" "$(mib "$engine_kib")"
    if [ "$peak" -gt "$bound" ] || [ "$engine" -gt "$engine_kib" ]; then
        echo "hostile-memory: $name is over the bound" >&2
        status=1
    fi
done
exit $status
