#!/usr/bin/env bash
# Builds rampart_haproxy.so, the Lua 5.3 C module HAProxy's Lua loads with
# `require "rampart_haproxy"` (see rampart.lua and README.md).
#
#   bindings/haproxy/build.sh [OUT_DIR]      default: target/haproxy-module
#
# Prints the module's path. Needs a C compiler and liblua5.3-dev. By default
# the engine is linked in statically (target/release/librampart.a, built here
# if missing) with its symbols hidden, so the module is self-contained;
# RAMPART_INC / RAMPART_LIBS choose another engine build, e.g.
#   RAMPART_LIBS="-L/usr/local/lib -lrampart -Wl,-rpath,/usr/local/lib"
# Never link liblua: the lua_* symbols come from the HAProxy binary.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
out=$(realpath -m "${1:-$target/haproxy-module}")
cc=${CC:-cc}

if ! pkg-config --exists lua5.3 2>/dev/null && [ ! -r /usr/include/lua5.3/lua.h ]; then
    echo "build.sh: Lua 5.3 headers not found: install liblua5.3-dev" >&2
    exit 1
fi
lua_cflags=$(pkg-config --cflags lua5.3 2>/dev/null || echo "-I/usr/include/lua5.3")
inc=${RAMPART_INC:-$root/include}
if [ -z "${RAMPART_LIBS:-}" ]; then
    [ -f "$target/release/librampart.a" ] || (cd "$root" && cargo build --release --lib >&2)
    libs="$target/release/librampart.a -Wl,--exclude-libs,ALL -Wl,--gc-sections -lgcc_s -lutil -lrt -lpthread -lm -ldl"
else
    libs=$RAMPART_LIBS
fi
mkdir -p "$out"
# shellcheck disable=SC2086
"$cc" -std=gnu99 -O2 -g -Wall -Wextra -Werror -fPIC -shared $lua_cflags -I"$inc" \
    "$here/rampart_haproxy.c" $libs -o "$out/rampart_haproxy.so"
echo "$out/rampart_haproxy.so"
