#!/usr/bin/env bash
# Installs rampart's C library: the header, the shared and static libraries,
# and a pkg-config file.
#
#   scripts/install.sh [--no-build] PREFIX
#
#   PREFIX/include/rampart.h
#   PREFIX/lib/librampart.so        the cdylib (see "SONAME" below)
#   PREFIX/lib/librampart.a         the staticlib
#   PREFIX/lib/pkgconfig/rampart.pc from bindings/c/rampart.pc.in
#
# It first runs `cargo build --release --lib`, unless --no-build is given or
# RAMPART_SKIP_BUILD=1 is set: then it installs what is already built (tests
# use this, since a cargo inside `cargo test` would wait for the target-dir
# lock). The libraries are taken from $RAMPART_LIB_DIR, by default
# ${CARGO_TARGET_DIR:-target}/release. DESTDIR is honoured for staged installs
# (files go to $DESTDIR$PREFIX; the .pc file names $PREFIX).
#
# SONAME: cargo links the cdylib without a DT_SONAME, so programs linked with
# -lrampart record "librampart.so" as their dependency, and the library is
# installed under that name only. If the library has a SONAME (e.g. once
# build.rs passes -Wl,-soname,librampart.so.0), it is installed under the
# SONAME, with librampart.so as a symlink to it for the linker.
set -euo pipefail

usage() {
    echo "usage: scripts/install.sh [--no-build] PREFIX" >&2
    exit 2
}

build=1
[ "${RAMPART_SKIP_BUILD:-0}" = "1" ] && build=0
prefix=""
while [ $# -gt 0 ]; do
    case "$1" in
        --no-build) build=0 ;;
        -h|--help) usage ;;
        -*) echo "unknown option: $1" >&2; usage ;;
        *) [ -z "$prefix" ] || usage; prefix="$1" ;;
    esac
    shift
done
[ -n "$prefix" ] || usage
case "$prefix" in
    /*) ;;
    *) prefix="$(pwd)/$prefix" ;;
esac

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
if [ "$build" = "1" ]; then
    cargo build --release --lib
fi
target="${CARGO_TARGET_DIR:-target}"
case "$target" in
    /*) ;;
    *) target="$root/$target" ;;
esac
libdir_in="${RAMPART_LIB_DIR:-$target/release}"

shared="$libdir_in/librampart.so"
static="$libdir_in/librampart.a"
for f in "$shared" "$static" include/rampart.h bindings/c/rampart.pc.in; do
    if [ ! -f "$f" ]; then
        echo "install.sh: $f is missing (build first: cargo build --release --lib)" >&2
        exit 1
    fi
done

version="$(sed -n 's/^version *= *"\([^"]*\)".*/\1/p' Cargo.toml | head -n 1)"
dest="${DESTDIR:-}$prefix"
install -d "$dest/include" "$dest/lib/pkgconfig"

install -m 0644 include/rampart.h "$dest/include/rampart.h"
install -m 0644 "$static" "$dest/lib/librampart.a"

soname=""
if command -v readelf >/dev/null 2>&1; then
    soname="$(readelf -d "$shared" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')"
fi
if [ -n "$soname" ] && [ "$soname" != "librampart.so" ]; then
    install -m 0755 "$shared" "$dest/lib/$soname"
    ln -sf "$soname" "$dest/lib/librampart.so"
else
    install -m 0755 "$shared" "$dest/lib/librampart.so"
fi

# The prefix goes into a sed replacement: escape \, & and the delimiter |.
escaped="$(printf '%s' "$prefix" | sed 's/[\\&|]/\\&/g')"
sed -e "s|@prefix@|$escaped|g" -e "s|@version@|$version|g" bindings/c/rampart.pc.in \
    > "$dest/lib/pkgconfig/rampart.pc"
chmod 0644 "$dest/lib/pkgconfig/rampart.pc"

echo "installed rampart $version into $dest${soname:+ (SONAME $soname)}"
