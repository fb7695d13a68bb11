#!/usr/bin/env bash
# Load comparison on loopback with wrk (not run in CI):
#
#   plain nginx | nginx + ngx_http_rampart_module (built-in rules) |
#   nginx + ngx_http_rampart_module with no rules (the connector's own cost) |
#   nginx + ModSecurity 3 + OWASP CRS v4
#
# for a GET with query arguments (the same each time, and with values new in
# each request) and a POST with a 1 KiB form body: requests/s,
# latency percentiles and nginx worker CPU per request, median of N runs.
#
# Usage: scripts/load-compare.sh [-d SECONDS] [-n RUNS] [-c CONNECTIONS] [-t THREADS]
#        defaults: -d 10 -n 3 -c 50 -t 2; CONFIGS="plain rampart" picks configs.
# Before each run it waits up to QUIET_WAIT seconds (90) for a second in which
# other processes use less than QUIET_PCT % (15) of the machine, and reports
# the other processes' share during each run ("other load").
#
# Needs: nginx, nginx-dev (to build the module), libnginx-mod-http-modsecurity,
# wrk, python3; the CRS in ../shared/corpus/crs-v4 (or CRS_DIR=...). Debian:
#   apt-get install nginx nginx-dev libnginx-mod-http-modsecurity wrk
# Every nginx runs with a private prefix on 127.0.0.1 and is stopped by its
# pid at the end. The configs are identical except for the WAF lines; only
# one of them is under load at a time.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

DURATION=10 RUNS=3 CONNS=50 THREADS=2
while getopts "d:n:c:t:" opt; do
    case $opt in
        d) DURATION=$OPTARG ;;
        n) RUNS=$OPTARG ;;
        c) CONNS=$OPTARG ;;
        t) THREADS=$OPTARG ;;
        *) echo "usage: $0 [-d SECONDS] [-n RUNS] [-c CONNECTIONS] [-t THREADS]" >&2; exit 2 ;;
    esac
done
CRS_DIR=${CRS_DIR:-$ROOT/../shared/corpus/crs-v4}
MODSEC_SO=/usr/lib/nginx/modules/ngx_http_modsecurity_module.so

for tool in nginx wrk python3; do
    command -v "$tool" >/dev/null || { echo "load-compare: $tool is not installed" >&2; exit 1; }
done
[ -r /usr/share/nginx/src/conf_flags ] || { echo "load-compare: install nginx-dev" >&2; exit 1; }
[ -f "$MODSEC_SO" ] || { echo "load-compare: install libnginx-mod-http-modsecurity" >&2; exit 1; }
[ -f "$CRS_DIR/crs-setup.conf.example" ] || { echo "load-compare: no CRS in $CRS_DIR (set CRS_DIR)" >&2; exit 1; }
CRS_DIR=$(cd "$CRS_DIR" && pwd)

W=$(mktemp -d /tmp/rampart-load.XXXXXX)
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

echo "== building the engine and the module" >&2
cargo build --release --lib -q
MOD=$(bindings/nginx/build.sh "$W/ngx-build")

PORT=$((21000 + RANDOM % 20000))

# CRS v4 at paranoia level 1 (crs-setup.conf.example's default), blocking.
# Debian's recommended modsecurity.conf, with the engine on and response body
# inspection off (rampart inspects requests only; this keeps the comparison
# to request inspection).
cat > "$W/modsec-main.conf" <<EOF
Include /etc/nginx/modsecurity.conf
SecRuleEngine On
SecResponseBodyAccess Off
SecAuditEngine RelevantOnly
SecAuditLog $W/modsec_audit.log
Include $CRS_DIR/crs-setup.conf.example
Include $CRS_DIR/rules/*.conf
EOF

# conf NAME MAIN_LINES SERVER_LINES
conf() {
    local p=$W/$1
    mkdir -p "$p/logs" "$p/tmp"
    cat > "$p/nginx.conf" <<EOF
$2
worker_processes 2;
pid $p/nginx.pid;
error_log $p/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 100000;
    client_body_temp_path $p/tmp/body;
    proxy_temp_path $p/tmp/proxy;
    fastcgi_temp_path $p/tmp/fastcgi;
    uwsgi_temp_path $p/tmp/uwsgi;
    scgi_temp_path $p/tmp/scgi;
    server {
        listen 127.0.0.1:$PORT;
$3
        # try_files -> @ok: ModSecurity's phase 2 runs in the preaccess phase,
        # which a bare 'return' in the location would skip. Same for all configs.
        location / { try_files /nonexistent @ok; }
        location @ok { return 200 "ok\n"; }
    }
}
EOF
}
conf plain "" ""
conf rampart "load_module $MOD;" "        rampart on;"
printf '[engine]\nmode = "block"\n' > "$W/no-rules.toml"
conf rampart-no-rules "load_module $MOD;" "        rampart on;
        rampart_config $W/no-rules.toml;"
conf modsecurity "load_module $MODSEC_SO;" "        modsecurity on;
        modsecurity_rules_file $W/modsec-main.conf;"

# Requests: what a browser sends to a shop (the Host is a name: CRS scores a
# numeric Host), a GET with query arguments and a 1 KiB urlencoded POST.
cat > "$W/common.lua" <<'EOF'
headers = {
  ["Host"] = "shop.example.com",
  ["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
  ["Accept"] = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
  ["Accept-Language"] = "en-US,en;q=0.9",
  ["Accept-Encoding"] = "gzip, deflate, br",
  ["Cookie"] = "session=3f9a2c1b7d5e4f60a8b9c0d1e2f3a4b5; cart=17; theme=dark",
  ["Referer"] = "https://shop.example.com/catalog/sports",
}
EOF
cat > "$W/get.lua" <<'EOF'
dofile(os.getenv("LOAD_DIR") .. "/common.lua")
request = function()
  return wrk.format("GET", "/search?q=running+shoes&category=sports&page=2&sort=price_asc&lang=en-US", headers)
end
EOF
# The same GET with query values new in every request (a counter per wrk
# thread): the headers repeat, as a browser's do, the arguments do not, so
# the engine's value cache answers only for the headers.
cat > "$W/getvar.lua" <<'EOF'
dofile(os.getenv("LOAD_DIR") .. "/common.lua")
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
local words = { "running", "shoes", "trail", "jacket", "blue", "socks", "winter", "boots", "hiking", "kids" }
local n = 0
request = function()
  n = n + 1
  local q = words[n % #words + 1] .. "+" .. words[math.floor(n / 10) % #words + 1] .. "+" .. tid .. "x" .. n
  return wrk.format("GET", "/search?q=" .. q .. "&category=sports&page=" .. (n % 50)
    .. "&sort=price_asc&lang=en-US&ref=" .. tid .. "-" .. n, headers)
end
EOF
cat > "$W/post.lua" <<'EOF'
dofile(os.getenv("LOAD_DIR") .. "/common.lua")
local fields = {
  "name=John+Doe", "email=john.doe%40example.com", "phone=%2B1-555-0100",
  "address=1200+Market+Street%2C+Apt+4B", "city=San+Francisco", "zip=94103", "country=US",
  "product=trail-running-shoes", "size=10.5", "color=blue", "qty=2", "gift=no",
}
local body = table.concat(fields, "&") .. "&comments="
local words = "Please+leave+the+parcel+with+the+concierge+if+nobody+answers+the+door+thanks+"
while #body + #words <= 1024 do body = body .. words end
body = body .. string.rep("x", 1024 - #body)
assert(#body == 1024)
headers["Content-Type"] = "application/x-www-form-urlencoded"
request = function()
  return wrk.format("POST", "/checkout/submit?step=2", headers, body)
end
EOF
export LOAD_DIR=$W

# One wrk run -> "rps avg_ms p50_ms p90_ms p99_ms cpu_us_per_req non2xx other_cpu_pct"
# nginx CPU/req: user+sys time of the master's workers / requests served.
# other_cpu_pct: CPU time of everything but those workers and wrk, in % of
# the machine, during the run (other tenants of a shared machine).
cat > "$W/run_wrk.py" <<'EOF'
import os, re, resource, subprocess, sys, time

pidfile, script, url, threads, conns, duration = sys.argv[1:7]
hz = os.sysconf("SC_CLK_TCK")

def workers():
    master = open(pidfile).read().strip()
    return subprocess.run(["pgrep", "-P", master], capture_output=True, text=True).stdout.split()

def worker_ticks(pids):
    t = 0
    for pid in pids:
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        t += int(f[11]) + int(f[12])          # utime, stime
    return t

def busy_ticks():
    f = [int(x) for x in open("/proc/stat").readline().split()[1:9]]
    # user, nice, system, steal (irq/softirq left out: loopback traffic lands there); all
    return f[0] + f[1] + f[2] + f[7], sum(f)

# Wait (up to QUIET_WAIT s) for a second in which other processes use less
# than QUIET_PCT % of the machine: on a shared machine other tenants come and go.
quiet_pct, quiet_wait = float(os.environ.get("QUIET_PCT", "15")), float(os.environ.get("QUIET_WAIT", "90"))
waited = 0.0
while waited < quiet_wait:
    b0, t0 = busy_ticks()
    time.sleep(1.0)
    b1, t1 = busy_ticks()
    if (b1 - b0) / max(t1 - t0, 1) * 100 < quiet_pct:
        break
    waited += 1.0

pids = workers()
w0, (b0, t0) = worker_ticks(pids), busy_ticks()
r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
out = subprocess.run(["wrk", f"-t{threads}", f"-c{conns}", f"-d{duration}s", "--latency", "-s", script, url],
                     capture_output=True, text=True, check=True).stdout
r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
w1, (b1, t1) = worker_ticks(pids), busy_ticks()

def ms(v, unit):
    return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
total = int(re.search(r"(\d+) requests in", out).group(1))
avg = re.search(r"Latency\s+([\d.]+)(us|ms|s)", out)
pct = {p: ms(v, u) for p, v, u in re.findall(r"^\s+(50|90|99)%\s+([\d.]+)(us|ms|s)", out, re.M)}
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
cpu_us = (w1 - w0) / hz * 1e6 / max(total, 1)
wrk_ticks = ((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)) * hz
other = max(0.0, (b1 - b0) - (w1 - w0) - wrk_ticks) / max(t1 - t0, 1) * 100
print(f"{rps:.0f} {ms(*avg.groups()):.3f} {pct['50']:.3f} {pct['90']:.3f} {pct['99']:.3f} "
      f"{cpu_us:.1f} {non2xx.group(1) if non2xx else 0} {other:.1f}")
EOF

read -r -a NAMES <<< "${CONFIGS:-plain rampart rampart-no-rules modsecurity}"
RESULTS=$W/results.txt
: > "$RESULTS"
# All configs run at once, each on its own port, idle but for the one under
# load; the runs go round-robin over the configs, so a change in the
# machine's load (other tenants) spreads over all of them, not one.
port=$PORT
for name in "${NAMES[@]}"; do
    p=$W/$name
    sed -i "s/listen 127.0.0.1:$PORT;/listen 127.0.0.1:$port;/" "$p/nginx.conf"
    echo "$port" > "$p/port"
    nginx -t -q -p "$p" -c "$p/nginx.conf"
    nginx -p "$p" -c "$p/nginx.conf"
    PIDFILES+=("$p/nginx.pid")
    for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
    for shape in get getvar post; do                                            # warm-up
        wrk -t1 -c1 -d1s -s "$W/$shape.lua" "http://127.0.0.1:$port/" > /dev/null
    done
    attack=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: shop.example.com" \
        "http://127.0.0.1:$port/search?id=1%27%20or%20%271%27%3D%271")
    echo "== $name on port $port: a SQL injection gets $attack" >&2
    port=$((port + 1))
done
for i in $(seq "$RUNS"); do
    for shape in get getvar post; do
        for name in "${NAMES[@]}"; do
            r=$(python3 "$W/run_wrk.py" "$W/$name/nginx.pid" "$W/$shape.lua" \
                "http://127.0.0.1:$(cat "$W/$name/port")/" "$THREADS" "$CONNS" "$DURATION")
            echo "$name $shape $i $r" >> "$RESULTS"
            echo "   run $i $shape $name: $r" >&2
        done
    done
done

python3 - "$RESULTS" "$RUNS" "$CONNS" "$THREADS" "$DURATION" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
runs, conns, threads, dur = sys.argv[2:6]
label = {"plain": "plain nginx", "rampart": "nginx + rampart module (built-in rules)",
         "rampart-no-rules": "nginx + rampart module, no rules (connector only)",
         "modsecurity": "nginx + ModSecurity 3 + CRS v4 (PL1)"}
shape_label = {"get": "GET, query args", "getvar": "GET, query values new each request", "post": "POST, 1 KiB form"}
print(f"wrk -t{threads} -c{conns} -d{dur}s, median of {runs} runs (each column separately); other load:")
print("CPU used by other processes (not nginx, not wrk) during the runs, in % of the machine")
print()
print("| request | config | req/s | % of plain | the runs (req/s) | lat avg | p50 | p90 | p99 | nginx CPU/req | non-2xx | other load |")
print("|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
for shape in ("get", "getvar", "post"):
    plain = None
    for name in ("plain", "rampart", "rampart-no-rules", "modsecurity"):
        rs = [r for r in rows if r[0] == name and r[1] == shape]
        if not rs:
            continue
        col = lambda i: statistics.median(float(r[i]) for r in rs)
        rps = col(3)
        if name == "plain":
            plain = rps
        pct = f"{100 * rps / plain:.1f} %" if plain else "-"
        runs_txt = " / ".join(f"{float(r[3]):,.0f}" for r in rs)
        non2xx = sum(int(r[9]) for r in rs)
        print(f"| {shape_label[shape]} | {label[name]} | {rps:,.0f} | {pct} | {runs_txt} | "
              f"{col(4):.2f} ms | {col(5):.2f} ms | {col(6):.2f} ms | {col(7):.2f} ms | {col(8):.0f} us | {non2xx} | {col(10):.0f} % |")
EOF
