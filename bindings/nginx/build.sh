#!/usr/bin/env bash
# Builds ngx_http_rampart_module.so for the nginx installed from Debian's
# packages (nginx + nginx-dev), with that nginx's own configure flags, as
# Debian's libnginx-mod-* packages are built.
#
#   bindings/nginx/build.sh [BUILD_DIR]      default: target/nginx-module
#
# Prints the module's path. The first run configures nginx's source tree into
# BUILD_DIR (about 8 s); later runs only recompile the module. RAMPART_INC /
# RAMPART_LIBS choose the engine to link (see `config`); by default the static
# target/release/librampart.a, built here if missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
build=$(realpath -m "${1:-$target/nginx-module}")
src=/usr/share/nginx/src

if [ ! -r "$src/conf_flags" ]; then
    echo "build.sh: $src/conf_flags not found: install nginx-dev (apt-get install nginx-dev)" >&2
    exit 1
fi
if [ -z "${RAMPART_LIBS:-}" ] && [ ! -f "$target/release/librampart.a" ]; then
    (cd "$root" && cargo build --release --lib >&2)
fi

mkdir -p "$build"
# Reconfigure when the flags, the nginx version or the module's config change.
stamp="$build/configure.stamp"
want="$(cat "$src/conf_flags"; nginx -v 2>&1; cat "$here/config"; echo "${RAMPART_INC:-}|${RAMPART_LIBS:-}")"
if [ ! -f "$build/objs/Makefile" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    (
        cd "$src"        # configure and make run from nginx's source tree; --builddir keeps it clean
        # shellcheck disable=SC1091
        . ./conf_flags   # the bash array NGX_CONF_FLAGS
        ./configure \
            --with-cc-opt="$(dpkg-buildflags --get CFLAGS) -fPIC $(dpkg-buildflags --get CPPFLAGS)" \
            --with-ld-opt="$(dpkg-buildflags --get LDFLAGS) -fPIC" \
            "${NGX_CONF_FLAGS[@]}" \
            --add-dynamic-module="$here" \
            --builddir="$build/objs"
    ) > "$build/configure.log" 2>&1 || { echo "build.sh: configure failed, see $build/configure.log" >&2; tail -20 "$build/configure.log" >&2; exit 1; }
    printf '%s' "$want" > "$stamp"
fi
# The archive is a dependency make does not know about: relink every time.
rm -f "$build/objs/ngx_http_rampart_module.so"
(cd "$src" && make -j"$(nproc)" -f "$build/objs/Makefile" modules) > "$build/make.log" 2>&1 \
    || { echo "build.sh: make failed, see $build/make.log" >&2; tail -30 "$build/make.log" >&2; exit 1; }
echo "$build/objs/ngx_http_rampart_module.so"
