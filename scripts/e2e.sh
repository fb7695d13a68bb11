#!/usr/bin/env bash
# End-to-end tests of rampart's host connectors against the real servers from
# Debian's packages, with real HTTP requests (curl) on loopback:
#
#   nginx   + ngx_http_rampart_module (bindings/nginx, C, built here against nginx-dev)
#   nginx   + libnginx-mod-http-lua + bindings/lua (OpenResty style, bindings/nginx/lua)
#   HAProxy + rampart_haproxy.so + rampart.lua (bindings/haproxy)
#
# Usage: scripts/e2e.sh [--keep]      (--keep: leave the temp dir for a look)
#
# Installs nothing. Needs nginx, nginx-dev, libnginx-mod-http-lua, haproxy,
# liblua5.3-dev, curl, python3 (the loopback backend) and a C compiler; a
# part whose packages are missing is skipped with a message (a failure when
# RAMPART_E2E_REQUIRE=1, as in CI). Every server runs with a private prefix
# in a temp dir, on 127.0.0.1 high ports, never with the system config, and
# is stopped by its pid at the end, also when a test fails. The last line is
# the summary: `e2e: N passed, N failed` (`, N skipped` when some were).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}

KEEP=0
[ "${1:-}" = "--keep" ] && KEEP=1

PASS=0 FAIL=0 SKIP=0
ok() { PASS=$((PASS + 1)); echo "ok   $*"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL $*"; }
skip() {
    if [ "${RAMPART_E2E_REQUIRE:-0}" = 1 ]; then
        bad "$* (RAMPART_E2E_REQUIRE=1)"
    else
        SKIP=$((SKIP + 1)); echo "skip $*"
    fi
}
section() { echo "== $*"; }

summary() {
    local line="e2e: $PASS passed, $FAIL failed"
    [ "$SKIP" -gt 0 ] && line="$line, $SKIP skipped"
    echo "$line"
}

# ---------------------------------------------------------------------------
# Servers: started with pid files, stopped by pid on exit (trap)
# ---------------------------------------------------------------------------
W=""
NGINX_PIDS=()    # pid files of nginx masters
OTHER_PIDS=()    # pid files of haproxy and the backend

stop_nginx() { # PIDFILE: graceful stop, then wait for the master to go
    local f=$1 pid
    [ -s "$f" ] || return 0
    pid=$(cat "$f")
    kill -QUIT "$pid" 2>/dev/null || return 0
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
}

stop_pidfile() { # PIDFILE
    local f=$1 pid
    [ -s "$f" ] || return 0
    pid=$(cat "$f")
    kill "$pid" 2>/dev/null || return 0
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
    local f
    for f in "${NGINX_PIDS[@]}"; do stop_nginx "$f"; done
    for f in "${OTHER_PIDS[@]}"; do stop_pidfile "$f"; done
    if [ -n "$W" ] && [ -d "$W" ]; then
        if [ "$KEEP" = 1 ] || [ "$FAIL" -gt 0 ]; then
            echo "e2e: files kept in $W"
        else
            rm -rf "$W"
        fi
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------
# HTTP checks
# ---------------------------------------------------------------------------
CURL=(curl -s -S --max-time 20 -o /dev/null -w '%{http_code}')

# expect STATUS NAME CURL_ARGS...: the response status is STATUS.
expect() {
    local want=$1 name=$2 got
    shift 2
    got=$("${CURL[@]}" "$@" 2>/dev/null) || true
    if [ "$got" = "$want" ]; then ok "$name ($got)"; else bad "$name: want $want, got ${got:-no answer}"; fi
}

# expect_body STATUS REGEX NAME CURL_ARGS...: status and a body matching REGEX.
expect_body() {
    local want=$1 re=$2 name=$3 out code body
    shift 3
    out=$(curl -s -S --max-time 30 -w '\n%{http_code}' "$@" 2>/dev/null) || true
    code=${out##*$'\n'}
    body=${out%$'\n'*}
    if [ "$code" = "$want" ] && [[ "$body" =~ $re ]]; then
        ok "$name ($code, ${body%%$'\n'*})"
    else
        bad "$name: want $want and /$re/, got ${code:-no answer}: ${body:0:200}"
    fi
}

# expect_line FILE FIXED_STRING... NAME: one line of FILE has every string (waits up to 3 s).
expect_line() {
    local file=$1 name=${*: -1} line
    local -a needles=("${@:2:$#-2}")
    for _ in $(seq 30); do
        if [ -f "$file" ]; then
            while IFS= read -r line; do
                local all=1 n
                for n in "${needles[@]}"; do [[ "$line" == *"$n"* ]] || { all=0; break; }; done
                if [ "$all" = 1 ]; then ok "$name"; return 0; fi
            done < "$file"
        fi
        sleep 0.1
    done
    bad "$name: no line of $file has all of: ${needles[*]}"
}

wait_port() { # PORT: until something answers HTTP there (5 s)
    for _ in $(seq 100); do
        curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$1/" && return 0
        sleep 0.05
    done
    return 1
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---------------------------------------------------------------------------
# Prerequisites
# ---------------------------------------------------------------------------
section "prerequisites"
if ! command -v curl >/dev/null 2>&1; then
    skip "everything: curl is not installed (apt-get install curl)"
    summary
    [ "$FAIL" -eq 0 ]; exit
fi
if ! command -v python3 >/dev/null 2>&1; then
    skip "everything: python3 is not installed (it runs the loopback backend)"
    summary
    [ "$FAIL" -eq 0 ]; exit
fi

HAVE_NGINX=1 HAVE_LUA=1 HAVE_HAPROXY=1
if ! command -v nginx >/dev/null 2>&1 || [ ! -r /usr/share/nginx/src/conf_flags ] || ! command -v cc >/dev/null 2>&1; then
    HAVE_NGINX=0
fi
if ! command -v nginx >/dev/null 2>&1 || [ ! -f /usr/lib/nginx/modules/ngx_http_lua_module.so ] \
    || [ ! -f /usr/lib/nginx/modules/ndk_http_module.so ]; then
    HAVE_LUA=0
fi
if ! command -v haproxy >/dev/null 2>&1 || [ ! -r /usr/include/lua5.3/lua.h ] || ! command -v cc >/dev/null 2>&1; then
    HAVE_HAPROXY=0
elif ! grep -q 'Built with Lua version : Lua 5\.3' <<< "$(haproxy -vv 2>/dev/null)"; then
    # (not `haproxy -vv | grep -q`: under pipefail, grep quitting early
    # can kill haproxy with SIGPIPE and fail the pipeline)
    HAVE_HAPROXY=0
fi
echo "nginx module: $HAVE_NGINX, nginx lua: $HAVE_LUA, haproxy: $HAVE_HAPROXY"
if [ "$HAVE_NGINX$HAVE_LUA$HAVE_HAPROXY" = 000 ]; then
    skip "nginx module: needs nginx, nginx-dev and a C compiler (apt-get install nginx nginx-dev)"
    skip "nginx lua: needs nginx and libnginx-mod-http-lua (apt-get install libnginx-mod-http-lua)"
    skip "haproxy: needs haproxy (with Lua 5.3), liblua5.3-dev and a C compiler (apt-get install haproxy liblua5.3-dev)"
    summary
    [ "$FAIL" -eq 0 ]; exit
fi

W=$(mktemp -d /tmp/rampart-e2e.XXXXXX)
chmod 755 "$W"     # nginx workers run as nobody and read below it

# Ten free ports in a row, somewhere high.
BASE=""
for _ in $(seq 30); do
    b=$((20000 + (RANDOM % 2000) * 20))
    free=1
    for p in $(seq "$b" $((b + 9))); do port_free "$p" || { free=0; break; }; done
    if [ "$free" = 1 ]; then BASE=$b; break; fi
done
if [ -z "$BASE" ]; then bad "no free ports found"; summary; exit 1; fi
P_BACKEND=$BASE P_NGX=$((BASE + 1)) P_LUA=$((BASE + 2))
P_HAP=$((BASE + 3)) P_HAP_DETECT=$((BASE + 4)) P_HAP_INSPECT=$((BASE + 5)) P_NGX_H2=$((BASE + 6)) P_HAP_ENGINE_DETECT=$((BASE + 7))
echo "temp dir $W, ports $BASE-$((BASE + 9))"

# ---------------------------------------------------------------------------
# Shared fixtures: the engine, rules, request bodies, the backend
# ---------------------------------------------------------------------------
section "build the engine"
if ! cargo build --release --lib -q; then
    bad "cargo build --release --lib"
    summary; exit 1
fi

# Rules: a copy of the built-in ones (the reload tests change them) plus a
# site file with a marker rule, and variants of the engine config.
mkdir -p "$W/rules/site" "$W/logs"
cp -r rules/core "$W/rules/"
cat > "$W/rules/rampart.toml" <<'EOF'
[engine]
mode = "block"

[rules]
include = ["core/*.rules", "site/*.rules"]
EOF
cat > "$W/rules/detect.toml" <<'EOF'
[engine]
mode = "detect"

[rules]
include = ["core/*.rules"]
EOF
cat > "$W/rules/inspect.toml" <<'EOF'
[rules]
include = ["core/*.rules"]

[limits]
on_limit = "inspect"
EOF
marker_rule() { # NAME: a rule that denies /e2e-marker-NAME
    cat <<EOF
# e2e: which rules are serving
rule 100001 "e2e marker $1" {
    when      path starts_with "/e2e-marker-$1"
    action    deny 403
}
EOF
}
marker_rule a > "$W/rules/site/e2e.rules"
cp -r "$W/rules" "$W/rules-lua"         # the lua path's own copy
chmod -R a+rX "$W/rules" "$W/rules-lua"

# Bodies: 100 KB form with an attack at the end (past client_body_buffer_size,
# so nginx spills it to a temp file; past HAProxy's buffer), 10 MiB benign.
python3 - "$W" <<'EOF'
import sys
w = sys.argv[1]
open(w + "/big-attack.form", "w").write("pad=" + "x" * 100000 + "&q=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
open(w + "/big-benign.form", "w").write("pad=" + "x" * 100000 + "&q=hello")
open(w + "/10mib.bin", "w").write("a" * (10 * 1024 * 1024))
EOF

cat > "$W/backend.py" <<'EOF'
# Loopback backend: answers 200 "backend ok METHOD len=N" with the body length it received.
import os, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def any(self):
        n = 0
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                n += len(self.rfile.read(size))
                self.rfile.readline()
        else:
            left = int(self.headers.get("Content-Length") or 0)
            while left > 0:
                got = self.rfile.read(min(left, 1 << 16))
                if not got:
                    break
                n += len(got)
                left -= len(got)
        body = ("backend ok %s len=%d\n" % (self.command, n)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = any

    def log_message(self, *args):
        pass

class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients that hang up

server = Server(("127.0.0.1", int(sys.argv[1])), Handler)
with open(sys.argv[2], "w") as f:
    f.write("%d\n" % os.getpid())
server.serve_forever()
EOF
python3 "$W/backend.py" "$P_BACKEND" "$W/backend.pid" > "$W/logs/backend.log" 2>&1 &
OTHER_PIDS+=("$W/backend.pid")
if wait_port "$P_BACKEND"; then ok "loopback backend up on $P_BACKEND"; else bad "loopback backend did not start"; fi

# ---------------------------------------------------------------------------
# The request matrix every connector must pass
# ---------------------------------------------------------------------------
SQLI="id=1%27%20or%201%3D1--"
FORM=(-H "Content-Type: application/x-www-form-urlencoded")
JSON=(-H "Content-Type: application/json")

# matrix LABEL PORT: benign traffic passes; attacks anywhere get 403.
matrix() {
    local l=$1 u=http://127.0.0.1:$2
    expect_body 200 "backend ok GET" "[$l] benign GET passes" "$u/search?q=running+shoes&page=2"
    expect_body 200 "backend ok POST len=44" "[$l] benign form POST passes" "${FORM[@]}" \
        --data 'name=John+Doe&email=john%40example.com&qty=2' "$u/checkout"
    expect_body 200 "backend ok POST len=35" "[$l] benign JSON POST passes" "${JSON[@]}" \
        --data '{"name":"John Doe","items":[1,2,3]}' "$u/api/order"
    expect 403 "[$l] SQLi in the query" "$u/item?$SQLI"
    expect 403 "[$l] attack in a header (shellshock)" -H "X-Api-Version: () { :; }; /bin/cat /etc/passwd" "$u/"
    expect 403 "[$l] attack in a header (scanner user agent)" -A "sqlmap/1.7.2#stable (https://sqlmap.org)" "$u/"
    expect 403 "[$l] XSS in a cookie" -H "Cookie: session=abc; pref=<script>alert(1)</script>" "$u/"
    expect 403 "[$l] LFI in a urlencoded body" "${FORM[@]}" --data 'file=../../../../etc/passwd' "$u/upload"
    expect 403 "[$l] SQLi in a JSON body" "${JSON[@]}" \
        --data '{"user":{"name":"x","q":"1 union select password from users"}}' "$u/api/search"
    expect 403 "[$l] attack in a chunked body" "${FORM[@]}" -H "Transfer-Encoding: chunked" \
        --data 'q=%3Cscript%3Ealert(1)%3C%2Fscript%3E' "$u/comment"
}

# nginx_conf PREFIX MAIN_LINES HTTP_LINES SERVER_LINES PORT: a private nginx config.
nginx_conf() {
    local p=$1
    mkdir -p "$p/logs" "$p/tmp"
    cat > "$p/nginx.conf" <<EOF
$2
worker_processes 2;
pid $p/nginx.pid;
error_log $p/logs/error.log notice;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $p/tmp/body;
    proxy_temp_path $p/tmp/proxy;
    fastcgi_temp_path $p/tmp/fastcgi;
    uwsgi_temp_path $p/tmp/uwsgi;
    scgi_temp_path $p/tmp/scgi;
    client_max_body_size 20m;
    proxy_http_version 1.1;
$3
    server {
        listen 127.0.0.1:$5;
$4
    }
}
EOF
}

start_nginx() { # PREFIX PORT
    local p=$1
    if ! nginx -t -q -p "$p" -c "$p/nginx.conf" > "$p/logs/nginx-t.log" 2>&1; then
        bad "nginx -t ($p/nginx.conf): $(head -c 600 "$p/logs/nginx-t.log")"
        return 1
    fi
    nginx -p "$p" -c "$p/nginx.conf" 2>> "$p/logs/startup.log"
    NGINX_PIDS+=("$p/nginx.pid")
    if wait_port "$2"; then ok "nginx up on $2 ($(basename "$p"))"; return 0; fi
    bad "nginx did not start on $2: $(tail -5 "$p/logs/error.log" 2>/dev/null)"
    return 1
}

reload_nginx() { # PREFIX: reload, then wait (10 s) for the old workers to exit
    local old pid
    old=$(pgrep -P "$(cat "$1/nginx.pid")" 2>/dev/null || true)
    nginx -p "$1" -c "$1/nginx.conf" -s reload 2>> "$1/logs/startup.log"
    # Until the old workers have gone they still accept connections on the
    # shared socket and answer with the old rules.
    for pid in $old; do
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    done
}

# wait_status STATUS URL: until URL answers STATUS (5 s), for reloads.
wait_status() {
    for _ in $(seq 50); do
        [ "$("${CURL[@]}" "$2" 2>/dev/null)" = "$1" ] && return 0
        sleep 0.1
    done
    return 1
}

# reload_matrix LABEL PREFIX PORT RULES_DIR ERROR_PATTERN: rules change on reload; a
# broken rule file fails the reload, logs file:line:col, and the old rules keep serving.
reload_matrix() {
    local l=$1 p=$2 u=http://127.0.0.1:$3 rules=$4 pattern=$5
    expect 403 "[$l] marker rule a is served" "$u/e2e-marker-a"
    marker_rule b > "$rules/site/e2e.rules"
    reload_nginx "$p"
    if wait_status 403 "$u/e2e-marker-b"; then ok "[$l] reload picks up the changed rules (marker b: 403)"
    else bad "[$l] reload did not pick up the changed rules"; fi
    expect_body 200 "backend ok" "[$l] after the reload, the old marker passes" "$u/e2e-marker-a"

    # Broken: an unknown transform on line 5, column 15.
    cat > "$rules/site/e2e.rules" <<'EOF'
# e2e: a broken rule file
rule 100001 "e2e broken" {
    severity  critical
    inspect   args
    transform url_decod
    match     contains "e2e"
}
EOF
    local before
    before=$(wc -l < "$p/logs/error.log")
    # SIGHUP, as `nginx -s reload` and `systemctl reload` send it: the master
    # parses the new configuration and keeps the old one when that fails.
    kill -HUP "$(cat "$p/nginx.pid")"
    local found=0
    for _ in $(seq 50); do
        if tail -n +"$((before + 1))" "$p/logs/error.log" | grep -q "$pattern"; then found=1; break; fi
        sleep 0.1
    done
    if [ "$found" = 1 ]; then
        ok "[$l] broken rule file: reload refused, error log has $(tail -n +"$((before + 1))" "$p/logs/error.log" | grep -o "$pattern" | head -1)"
    else
        bad "[$l] broken rule file: no /$pattern/ in the error log: $(tail -n +"$((before + 1))" "$p/logs/error.log" | head -c 600)"
    fi
    sleep 0.3
    expect 403 "[$l] after the failed reload, the old rules serve (marker b)" "$u/e2e-marker-b"
    expect 403 "[$l] after the failed reload, attacks are blocked" "$u/item?$SQLI"
    expect_body 200 "backend ok" "[$l] after the failed reload, benign requests pass" "$u/search?q=shoes"
    marker_rule b > "$rules/site/e2e.rules"
}

# ---------------------------------------------------------------------------
# 1. nginx + ngx_http_rampart_module
# ---------------------------------------------------------------------------
section "nginx + ngx_http_rampart_module (C)"
if [ "$HAVE_NGINX" = 0 ]; then
    skip "nginx module: needs nginx, nginx-dev and a C compiler (apt-get install nginx nginx-dev)"
else
    if MOD=$(bindings/nginx/build.sh "$W/ngx-build" 2> "$W/logs/ngx-build.err"); then
        ok "module built: $(basename "$MOD") ($(nm -D --defined-only "$MOD" | wc -l) exported symbols)"
    else
        bad "module build failed: $(tail -20 "$W/logs/ngx-build.err")"
        MOD=""
    fi
fi
if [ "$HAVE_NGINX" = 1 ] && [ -n "$MOD" ]; then
    P=$W/nginx-module
    AUDIT=$P/logs/audit.log
    nginx_conf "$P" "load_module $MOD;" "
    server {
        listen 127.0.0.1:$P_NGX_H2 http2;    # h2c, prior knowledge
        rampart on;
        location / { proxy_pass http://127.0.0.1:$P_BACKEND; }
    }
    rampart on;
    rampart_config $W/rules/rampart.toml;
    rampart_audit_log $AUDIT;" "
        location / { proxy_pass http://127.0.0.1:$P_BACKEND; }
        location /ret { return 200 \"ret ok\n\"; }
        location /sat { satisfy any; allow 127.0.0.1; deny all; proxy_pass http://127.0.0.1:$P_BACKEND; }
        location /detect { rampart_mode detect; proxy_pass http://127.0.0.1:$P_BACKEND; }
        location /cfg-detect { rampart_config $W/rules/detect.toml; proxy_pass http://127.0.0.1:$P_BACKEND; }
        location /cfg-detect-block { rampart_config $W/rules/detect.toml; rampart_mode block; proxy_pass http://127.0.0.1:$P_BACKEND; }
        location /inspect { rampart_config $W/rules/inspect.toml; proxy_pass http://127.0.0.1:$P_BACKEND; }
        location /off { rampart off; proxy_pass http://127.0.0.1:$P_BACKEND; }
        location /err { error_page 403 = /ret; proxy_pass http://127.0.0.1:$P_BACKEND; }" "$P_NGX"
    if start_nginx "$P" "$P_NGX"; then
        U=http://127.0.0.1:$P_NGX
        matrix nginx "$P_NGX"
        # A worker reuses idle transactions: on one keep-alive connection,
        # requests for two rulesets, attacks and benign ones in turn, each
        # get their own verdict.
        urls=()
        for path in "item?$SQLI" "search?q=shoes" "cfg-detect?$SQLI" "item?$SQLI" "search?q=shoes" \
            "cfg-detect?q=shoes" "item?$SQLI" "search?q=shoes"; do
            urls+=(-o /dev/null "$U/$path")
        done
        got=$(curl -s -S --max-time 20 -w '%{http_code} ' "${urls[@]}" 2>/dev/null) || true
        if [ "$got" = "403 200 200 403 200 200 403 200 " ]; then
            ok "[nginx] reused transactions: verdicts per request on one connection ($got)"
        else
            bad "[nginx] reused transactions: want 403 200 200 403 200 200 403 200, got ${got:-no answer}"
        fi
        H2=(--http2-prior-knowledge)
        expect_body 200 "backend ok GET" "[nginx] HTTP/2: benign GET passes" "${H2[@]}" "http://127.0.0.1:$P_NGX_H2/search?q=shoes"
        expect 403 "[nginx] HTTP/2: SQLi in the query" "${H2[@]}" "http://127.0.0.1:$P_NGX_H2/item?$SQLI"
        expect_body 200 "backend ok POST len=35" "[nginx] HTTP/2: benign JSON POST passes" "${H2[@]}" "${JSON[@]}" \
            --data '{"name":"John Doe","items":[1,2,3]}' "http://127.0.0.1:$P_NGX_H2/api/order"
        expect 403 "[nginx] HTTP/2: SQLi in a JSON body" "${H2[@]}" "${JSON[@]}" \
            --data '{"q":"1 union select password from users"}' "http://127.0.0.1:$P_NGX_H2/api/search"
        expect 403 "[nginx] a 'return 200' location is protected" "$U/ret?$SQLI"
        expect_body 200 "ret ok" "[nginx] a 'return 200' location answers benign requests" "$U/ret"
        expect 403 "[nginx] a 'satisfy any' location is protected" "$U/sat?$SQLI"
        expect 200 "[nginx] rampart off: not inspected" "$U/off?$SQLI"
        expect_body 200 "ret ok" "[nginx] error_page of a blocked request is served, not blocked again" "$U/err?$SQLI"
        expect_body 200 "backend ok POST len=100012" "[nginx] 100 KB benign body (temp file) passes intact" \
            "${FORM[@]}" --data-binary @"$W/big-benign.form" "$U/upload"
        expect 403 "[nginx] 100 KB body with an attack at the end (temp file)" \
            "${FORM[@]}" --data-binary @"$W/big-attack.form" "$U/upload"
        # Detect mode: from the location, and from the engine config (and overridden back).
        expect_body 200 "backend ok" "[nginx] rampart_mode detect passes an attack" "$U/detect?e2e=ngx-detect&$SQLI"
        expect_line "$AUDIT" '"uri":"/detect?e2e=ngx-detect' '"action":"log"' '"mode":"detect"' '"would_block":true' \
            "[nginx] detect mode wrote the audit line"
        expect_body 200 "backend ok" "[nginx] engine mode detect (rampart_config) passes an attack" "$U/cfg-detect?e2e=cfg-detect&$SQLI"
        expect_line "$AUDIT" '"uri":"/cfg-detect?e2e=cfg-detect' '"mode":"detect"' '"would_block":true' \
            "[nginx] engine detect mode wrote the audit line"
        expect 403 "[nginx] rampart_mode block over an engine in detect mode blocks" "$U/cfg-detect-block?$SQLI"
        expect 403 "[nginx] audited block" "$U/item?e2e=ngx-block&$SQLI"
        expect_line "$AUDIT" '"uri":"/item?e2e=ngx-block' '"action":"block"' '"status":403' '"client":"127.0.0.1"' \
            "[nginx] blocked request wrote the audit line"
        expect_line "$P/logs/error.log" "rampart: blocked, status 403" 'args["id"]' "[nginx] error log names the rules of a block"
        # 10 MiB: over max_body_bytes (1 MiB): 413 by default, inspected and passed with on_limit = "inspect".
        expect 413 "[nginx] 10 MiB body, on_limit = reject (default): 413" --data-binary @"$W/10mib.bin" "$U/upload"
        expect_body 200 "backend ok POST len=10485760" "[nginx] 10 MiB body, on_limit = inspect: passes intact" \
            --data-binary @"$W/10mib.bin" "$U/inspect/upload"
        expect_line "$AUDIT" '"limit":"max_body_bytes"' '"status":413' "[nginx] the over-limit request is audited"
        # Audit lines are whole JSON objects, one per line.
        if python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$AUDIT" 2>/dev/null; then
            ok "[nginx] every audit line is one JSON object ($(wc -l < "$AUDIT") lines)"
        else
            bad "[nginx] audit log has a line that is not one JSON object"
        fi
        # Two workers: both serve, both block.
        workers=$(pgrep -P "$(cat "$P/nginx.pid")" | wc -l)
        if [ "$workers" -ge 2 ]; then ok "[nginx] $workers worker processes share the rules"; else bad "[nginx] expected 2 workers, found $workers"; fi
        reload_matrix nginx "$P" "$P_NGX" "$W/rules" 'e2e\.rules:5:15: error: unknown transform'
        # Each reload compiles new rulesets in the master and releases the old
        # cycle's. A leak would keep a whole cycle's rulesets (three here,
        # about 55 MB together) per reload: over 1 GB in 20 reloads. Allocator
        # fragmentation alone adds up to a few tens of MB before it levels
        # off (load and release leak nothing: tests/c_api.rs runs the C
        # programs, reloads included, under valgrind), so the bound sits
        # between the two.
        master=$(cat "$P/nginx.pid")
        rss() { awk '/^VmRSS/ {print $2}' "/proc/$master/status"; }
        for _ in $(seq 5); do kill -HUP "$master"; sleep 0.3; done
        rss0=$(rss)
        for _ in $(seq 20); do kill -HUP "$master"; sleep 0.3; done
        rss1=$(rss)
        if [ $((rss1 - rss0)) -lt 131072 ]; then
            ok "[nginx] 20 more reloads: master RSS ${rss0} -> ${rss1} kB (no ruleset leaked)"
        else
            bad "[nginx] master RSS grew from ${rss0} to ${rss1} kB over 20 reloads"
        fi
        expect 403 "[nginx] after 25 reloads, attacks are blocked" "$U/item?$SQLI"
        # `nginx -t` and `nginx -s reload` parse the configuration first: both
        # refuse a broken rule file with its file:line:col, and send no signal.
        marker_rule b | sed 's/path starts_with/path startswith/' > "$W/rules/site/e2e.rules"
        for cmd in "-t" "-s reload"; do
            # shellcheck disable=SC2086
            if nginx $cmd -p "$P" -c "$P/nginx.conf" > "$P/logs/broken.log" 2>&1; then
                bad "[nginx] nginx $cmd accepted a broken rule file"
            elif grep -q 'e2e\.rules:3:20: error: unknown operator' "$P/logs/broken.log"; then
                ok "[nginx] nginx $cmd refuses a broken rule file with e2e.rules:3:20"
            else
                bad "[nginx] nginx $cmd error has no file:line:col: $(head -c 400 "$P/logs/broken.log")"
            fi
        done
        expect 403 "[nginx] after the refused reload, the old rules serve" "$U/e2e-marker-b"
        marker_rule b > "$W/rules/site/e2e.rules"
        stop_nginx "$P/nginx.pid"
    fi
fi

# ---------------------------------------------------------------------------
# 2. nginx + lua-nginx-module + bindings/lua (OpenResty style)
# ---------------------------------------------------------------------------
section "nginx + libnginx-mod-http-lua + bindings/lua (LuaJIT FFI)"
if [ "$HAVE_LUA" = 0 ]; then
    skip "nginx lua: needs nginx and libnginx-mod-http-lua (apt-get install libnginx-mod-http-lua)"
else
    P=$W/nginx-lua
    AUDIT=$P/logs/audit.log
    nginx_conf "$P" "load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
env RAMPART_LIBRARY=$TARGET/release/librampart.so;" "
    lua_package_path \"$ROOT/bindings/lua/?.lua;$ROOT/bindings/nginx/lua/?.lua;;\";
    rewrite_by_lua_no_postpone on;
    init_by_lua_block {
        require(\"rampart_waf\").init {
            config = \"$W/rules-lua/rampart.toml\",
            rulesets = { detect = \"$W/rules-lua/detect.toml\", inspect = \"$W/rules-lua/inspect.toml\" },
            audit_log = \"$AUDIT\",
        }
    }" "
        rewrite_by_lua_block { require(\"rampart_waf\").check() }
        location / { proxy_pass http://127.0.0.1:$P_BACKEND; }
        location /ret { return 200 \"ret ok\n\"; }
        location /sat { satisfy any; allow 127.0.0.1; deny all; proxy_pass http://127.0.0.1:$P_BACKEND; }
        location /detect {
            rewrite_by_lua_block { require(\"rampart_waf\").check { mode = \"detect\" } }
            proxy_pass http://127.0.0.1:$P_BACKEND;
        }
        location /cfg-detect-block {
            rewrite_by_lua_block { require(\"rampart_waf\").check { ruleset = \"detect\", mode = \"block\" } }
            proxy_pass http://127.0.0.1:$P_BACKEND;
        }
        location /inspect {
            rewrite_by_lua_block { require(\"rampart_waf\").check { ruleset = \"inspect\" } }
            proxy_pass http://127.0.0.1:$P_BACKEND;
        }" "$P_LUA"
    if start_nginx "$P" "$P_LUA"; then
        U=http://127.0.0.1:$P_LUA
        matrix lua "$P_LUA"
        expect 403 "[lua] a 'return 200' location is protected" "$U/ret?$SQLI"
        expect 403 "[lua] a 'satisfy any' location is protected" "$U/sat?$SQLI"
        expect_body 200 "backend ok POST len=100012" "[lua] 100 KB benign body (temp file) passes intact" \
            "${FORM[@]}" --data-binary @"$W/big-benign.form" "$U/upload"
        expect 403 "[lua] 100 KB body with an attack at the end (temp file)" \
            "${FORM[@]}" --data-binary @"$W/big-attack.form" "$U/upload"
        expect_body 200 "backend ok" "[lua] detect mode passes an attack" "$U/detect?e2e=lua-detect&$SQLI"
        expect_line "$AUDIT" '"uri":"/detect?e2e=lua-detect' '"action":"log"' '"mode":"detect"' '"would_block":true' \
            "[lua] detect mode wrote the audit line"
        expect 403 "[lua] mode block over an engine in detect mode blocks" "$U/cfg-detect-block?$SQLI"
        expect 403 "[lua] audited block" "$U/item?e2e=lua-block&$SQLI"
        expect_line "$AUDIT" '"uri":"/item?e2e=lua-block' '"action":"block"' '"status":403' \
            "[lua] blocked request wrote the audit line"
        expect 413 "[lua] 10 MiB body, on_limit = reject (default): 413" --data-binary @"$W/10mib.bin" "$U/upload"
        expect_body 200 "backend ok POST len=10485760" "[lua] 10 MiB body, on_limit = inspect: passes intact" \
            --data-binary @"$W/10mib.bin" "$U/inspect/upload"
        reload_matrix lua "$P" "$P_LUA" "$W/rules-lua" 'e2e\.rules:5:15: error: unknown transform'
        stop_nginx "$P/nginx.pid"
    fi
fi

# ---------------------------------------------------------------------------
# 3. HAProxy + rampart_haproxy.so + rampart.lua
# ---------------------------------------------------------------------------
section "HAProxy + Lua C module (bindings/haproxy)"
if [ "$HAVE_HAPROXY" = 0 ]; then
    skip "haproxy: needs haproxy (with Lua 5.3), liblua5.3-dev and a C compiler (apt-get install haproxy liblua5.3-dev)"
else
    if HMOD=$(bindings/haproxy/build.sh "$W/haproxy-build" 2> "$W/logs/haproxy-build.err"); then
        ok "Lua C module built: $(basename "$HMOD")"
    else
        bad "Lua C module build failed: $(tail -20 "$W/logs/haproxy-build.err")"
        HMOD=""
    fi
fi
if [ "$HAVE_HAPROXY" = 1 ] && [ -n "$HMOD" ]; then
    P=$W/haproxy
    mkdir -p "$P/logs"
    AUDIT=$P/logs/audit.log
    haproxy_cfg() { # RULES_CONFIG [PIDFILE]
        cat <<EOF
global
    setenv RAMPART_CPATH $(dirname "$HMOD")/?.so
    setenv RAMPART_CONFIG $1
    setenv RAMPART_AUDIT_LOG $AUDIT
    lua-load-per-thread $ROOT/bindings/haproxy/rampart.lua
    pidfile ${2:-$P/haproxy.pid}
    log stderr format short local0 warning
defaults
    mode http
    log global
    timeout connect 2s
    timeout client 20s
    timeout server 20s
    option http-buffer-request
backend be
    server app 127.0.0.1:$P_BACKEND
frontend fe
    bind 127.0.0.1:$P_HAP
    http-request lua.rampart
    http-request return status 200 content-type text/plain string "ret ok" if { path_beg /ret }
    default_backend be
frontend fe_detect
    bind 127.0.0.1:$P_HAP_DETECT
    http-request set-var(txn.rampart_mode) str(detect)
    http-request lua.rampart
    default_backend be
frontend fe_inspect
    bind 127.0.0.1:$P_HAP_INSPECT
    http-request set-var(txn.rampart_body_over_buffer) str(inspect)
    http-request lua.rampart
    default_backend be
EOF
    }
    haproxy_cfg "$W/rules/rampart.toml" > "$P/haproxy.cfg"
    if haproxy -c -q -f "$P/haproxy.cfg" > "$P/logs/check.log" 2>&1; then
        haproxy -f "$P/haproxy.cfg" -D 2> "$P/logs/haproxy.log"
        OTHER_PIDS+=("$P/haproxy.pid")
        if wait_port "$P_HAP"; then ok "haproxy up on $P_HAP"; else bad "haproxy did not start: $(tail -5 "$P/logs/haproxy.log")"; fi
        U=http://127.0.0.1:$P_HAP
        matrix haproxy "$P_HAP"
        expect 403 "[haproxy] an 'http-request return' after the action is protected" "$U/ret?$SQLI"
        expect_body 200 "ret ok" "[haproxy] an 'http-request return' answers benign requests" "$U/ret"
        expect_body 200 "backend ok" "[haproxy] detect mode passes an attack" "http://127.0.0.1:$P_HAP_DETECT/item?e2e=hap-detect&$SQLI"
        expect_line "$AUDIT" '"uri":"/item?e2e=hap-detect' '"action":"log"' '"mode":"detect"' '"would_block":true' \
            "[haproxy] detect mode wrote the audit line"
        expect 403 "[haproxy] audited block" "$U/item?e2e=hap-block&$SQLI"
        expect_line "$AUDIT" '"uri":"/item?e2e=hap-block' '"action":"block"' '"status":403' '"client":"127.0.0.1"' \
            "[haproxy] blocked request wrote the audit line"
        # Bodies past one HAProxy buffer are never passed uninspected.
        expect 413 "[haproxy] 100 KB body (over one buffer), reject (default): 413" \
            "${FORM[@]}" --data-binary @"$W/big-attack.form" "$U/upload"
        expect 413 "[haproxy] 10 MiB body, reject (default): 413" --data-binary @"$W/10mib.bin" "$U/upload"
        expect_line "$AUDIT" '"limit":"body_over_buffer"' '"status":413' "[haproxy] the over-buffer request is audited"
        expect_body 200 "backend ok POST len=100012" "[haproxy] 100 KB body, inspect: first buffer inspected, passes intact" \
            "${FORM[@]}" --data-binary @"$W/big-benign.form" "http://127.0.0.1:$P_HAP_INSPECT/upload"
        # The engine's max_body_bytes (1 MiB, on_limit = reject) comes before
        # the connector's buffer policy: a declared 10 MiB body is refused in
        # the headers phase.
        expect 413 "[haproxy] 10 MiB body, inspect, engine on_limit = reject: 413 from the engine" \
            --data-binary @"$W/10mib.bin" "http://127.0.0.1:$P_HAP_INSPECT/upload"
        expect 403 "[haproxy] inspect: an attack in the first buffer is still blocked" \
            "${FORM[@]}" --data-binary "q=<script>alert(1)</script>&pad=$(head -c 30000 /dev/zero | tr '\0' x)" \
            "http://127.0.0.1:$P_HAP_INSPECT/upload"
        if python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$AUDIT" 2>/dev/null; then
            ok "[haproxy] every audit line is one JSON object ($(wc -l < "$AUDIT") lines)"
        else
            bad "[haproxy] audit log has a line that is not one JSON object"
        fi
        stop_pidfile "$P/haproxy.pid"
    else
        bad "haproxy -c: $(head -c 600 "$P/logs/check.log")"
    fi
    # The engine's own detect mode (mode = "detect" in its config): attacks and
    # bodies over one buffer pass, logged and audited.
    haproxy_cfg "$W/rules/detect.toml" "$P/haproxy-detect.pid" | sed \
        -e "s/127.0.0.1:$P_HAP\$/127.0.0.1:$P_HAP_ENGINE_DETECT/" \
        -e "/bind 127.0.0.1:$P_HAP_DETECT/d;/bind 127.0.0.1:$P_HAP_INSPECT/d;/^frontend fe_/,\$d" \
        > "$P/haproxy-detect.cfg"
    if haproxy -f "$P/haproxy-detect.cfg" -D 2> "$P/logs/haproxy-detect.log"; then
        OTHER_PIDS+=("$P/haproxy-detect.pid")
        U=http://127.0.0.1:$P_HAP_ENGINE_DETECT
        if wait_port "$P_HAP_ENGINE_DETECT"; then
            expect_body 200 "backend ok" "[haproxy] engine detect mode passes an attack" "$U/item?e2e=hap-engine-detect&$SQLI"
            expect_line "$AUDIT" '"uri":"/item?e2e=hap-engine-detect' '"mode":"detect"' '"would_block":true' \
                "[haproxy] engine detect mode wrote the audit line"
            expect_body 200 "backend ok POST len=100012" "[haproxy] engine detect mode passes a body over one buffer" \
                "${FORM[@]}" --data-binary @"$W/big-benign.form" "$U/upload-e2e-detect"
            expect_line "$AUDIT" '"uri":"/upload-e2e-detect' '"limit":"body_over_buffer"' '"mode":"detect"' \
                "[haproxy] engine detect mode audits the body over one buffer"
        else
            bad "haproxy (engine detect) did not start: $(tail -5 "$P/logs/haproxy-detect.log")"
        fi
        stop_pidfile "$P/haproxy-detect.pid"
    else
        bad "haproxy (engine detect) did not start: $(tail -5 "$P/logs/haproxy-detect.log")"
    fi
    # A broken rule file stops HAProxy from (re)starting, with file:line:col.
    cp -r "$W/rules" "$W/rules-broken"
    printf 'rule 100002 "broken" {\n    severity  critical\n    inspect   args\n    transform url_decod\n    match     contains "x"\n}\n' \
        > "$W/rules-broken/site/e2e.rules"
    haproxy_cfg "$W/rules-broken/rampart.toml" > "$P/haproxy-broken.cfg"
    if haproxy -c -f "$P/haproxy-broken.cfg" > "$P/logs/check-broken.log" 2>&1; then
        bad "[haproxy] haproxy -c accepted a broken rule file"
    elif grep -q 'e2e\.rules:4:15: error: unknown transform' "$P/logs/check-broken.log"; then
        ok "[haproxy] a broken rule file fails haproxy -c with e2e.rules:4:15"
    else
        bad "[haproxy] haproxy -c error has no file:line:col: $(head -c 600 "$P/logs/check-broken.log")"
    fi
fi

section "done"
stop_pidfile "$W/backend.pid"
summary
[ "$FAIL" -eq 0 ]
