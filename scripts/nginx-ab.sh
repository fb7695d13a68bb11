#!/usr/bin/env bash
# Pinned, alternating nginx comparison (not run in CI): plain nginx against
# nginx + ngx_http_rampart_module builds, for small differences that
# load-compare.sh's runs cannot resolve on a shared 2-core machine.
#
# Each nginx runs one worker pinned to CPU 0 and wrk one thread pinned to
# CPU 1, so the worker is the bottleneck (its CPU near 100 %) and the
# client does not preempt it. Rounds alternate the configurations; each
# round's requests/s is divided by plain nginx's in the same round, and the
# medians of those ratios (and of the extra worker CPU per request) are
# printed. The machine's drift cancels out of a round's ratio.
#
# Usage: scripts/nginx-ab.sh [-r ROUNDS] [-d SECONDS] [-s get|getvar|post] [NAME=MODULE.so ...]
#        defaults: -r 20 -d 2 -s get, and the module built from this tree
#        (`current`). The requests are load-compare.sh's.
# Needs: nginx, nginx-dev, wrk, python3, taskset, 2 CPUs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=20 DUR=2 SHAPE=get
while getopts "r:d:s:" opt; do
    case $opt in
        r) ROUNDS=$OPTARG ;;
        d) DUR=$OPTARG ;;
        s) SHAPE=$OPTARG ;;
        *) echo "usage: $0 [-r ROUNDS] [-d SECONDS] [-s get|getvar|post] [NAME=MODULE.so ...]" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
for tool in nginx wrk python3 taskset; do
    command -v "$tool" >/dev/null || { echo "nginx-ab: $tool is not installed" >&2; exit 1; }
done
[ "$(nproc)" -ge 2 ] || { echo "nginx-ab: needs 2 CPUs" >&2; exit 1; }

W=$(mktemp -d /tmp/rampart-ab.XXXXXX)
chmod 755 "$W"
PIDFILES=()
cleanup() {
    local f pid
    for f in "${PIDFILES[@]}"; do
        [ -s "$f" ] || continue
        pid=$(cat "$f")
        kill -QUIT "$pid" 2>/dev/null || continue
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    rm -rf "$W"
}
trap cleanup EXIT

SPECS=("$@")
if [ ${#SPECS[@]} -eq 0 ]; then
    echo "== building the engine and the module" >&2
    cargo build --release --lib -q
    SPECS=("current=$(bindings/nginx/build.sh "$W/ngx-build")")
fi

# The request scripts of load-compare.sh (one definition for both).
eval "$(sed -n '/^cat > "\$W\/common.lua"/,/^export LOAD_DIR/p' scripts/load-compare.sh)"
[ -f "$W/$SHAPE.lua" ] || { echo "nginx-ab: no request shape '$SHAPE'" >&2; exit 2; }

BASE=$((22000 + RANDOM % 20000))
NAMES=() PORTS=()
i=0
for spec in plain "${SPECS[@]}"; do
    name=${spec%%=*} so=${spec#*=} port=$((BASE + i)) d=$W/n$i
    i=$((i + 1))
    mkdir -p "$d/logs" "$d/tmp"
    load="" on=""
    if [ "$name" != plain ]; then
        [ -f "$so" ] || { echo "nginx-ab: $so not found" >&2; exit 1; }
        load="load_module $so;" on="rampart on;"
    fi
    cat > "$d/nginx.conf" <<EOF
$load
worker_processes 1;
worker_cpu_affinity 01;
pid $d/nginx.pid;
error_log $d/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 100000;
    client_body_temp_path $d/tmp/body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
    server {
        listen 127.0.0.1:$port;
        $on
        location / { try_files /nonexistent @ok; }
        location @ok { return 200 "ok\n"; }
    }
}
EOF
    PIDFILES+=("$d/nginx.pid")
    nginx -p "$d" -c "$d/nginx.conf" 2>/dev/null
    NAMES+=("$name") PORTS+=("$port")
done
sleep 1

# One wrk run: "round name requests/s worker-CPU-us-per-request".
tick=$(getconf CLK_TCK)
for r in $(seq "$ROUNDS"); do
    for j in "${!NAMES[@]}"; do
        worker=$(pgrep -P "$(cat "$W/n$j/nginx.pid")" | head -1)
        t0=$(awk '{print $14 + $15}' "/proc/$worker/stat")
        rps=$(taskset -c 1 wrk -t1 -c50 -d"${DUR}s" -s "$W/$SHAPE.lua" "http://127.0.0.1:${PORTS[$j]}/" |
            awk '/Requests\/sec/ {print $2}')
        t1=$(awk '{print $14 + $15}' "/proc/$worker/stat")
        echo "$r ${NAMES[$j]} $rps $(python3 -c "print(($t1 - $t0) / $tick * 1e6 / ($rps * $DUR))")"
    done
done > "$W/runs"

python3 - "$W/runs" "$ROUNDS" "$DUR" "$SHAPE" <<'EOF'
import collections, statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
by_round = collections.defaultdict(dict)
for r, name, rps, cpu in rows:
    by_round[r][name] = (float(rps), float(cpu))
names = [n for n in dict.fromkeys(row[1] for row in rows) if n != "plain"]
plain = [d["plain"] for d in by_round.values()]
print(f"{sys.argv[4]}: {sys.argv[2]} rounds of {sys.argv[3]} s, nginx worker on CPU 0, wrk -t1 -c50 on CPU 1")
print(f"plain nginx: median {statistics.median(p[0] for p in plain):,.0f} req/s, "
      f"{statistics.median(p[1] for p in plain):.2f} us worker CPU per request")
for n in names:
    ratio = [d[n][0] / d["plain"][0] for d in by_round.values()]
    extra = [d[n][1] - d["plain"][1] for d in by_round.values()]
    q = statistics.quantiles(ratio, n=4) if len(ratio) > 1 else [ratio[0]] * 3
    print(f"{n}: median {statistics.median(ratio) * 100:.1f} % of plain (quartiles {q[0] * 100:.1f}-{q[2] * 100:.1f} %), "
          f"median extra worker CPU {statistics.median(extra):.2f} us per request")
EOF
