#!/usr/bin/env bash
# Packaging test: installs jeff into a temporary directory and builds
# test/consumers/main.cpp against the installed files the three ways the
# README shows, then runs each program:
#   pkg-config  c++ main.cpp $(pkg-config --cflags --libs jeff-memory jeff-redis)
#   meson       jeff in subprojects/jeff, dependency('jeff-memory', fallback: 'jeff')
#   cmake       find_package(jeff), jeff::jeff jeff::memory jeff::redis; shared,
#               then static (-DJEFF_USE_STATIC_LIBS=ON)
# It also checks that the installed shared libraries export no internals.
#
# Usage: test/consumers/run.sh [BUILD_DIR]
#   BUILD_DIR  a built jeff build directory to install from (meson test passes
#              its own, so nothing is compiled twice). Without it, a
#              library-only release build is configured and built first.
# Nothing is downloaded: the meson consumer uses --wrap-mode=nodownload.
# JEFF_CONSUMER_JOBS (default 2) bounds the compile jobs.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
source_root=$(cd "$here/../.." && pwd)
jobs=${JEFF_CONSUMER_JOBS:-2}
work=$(mktemp -d "${TMPDIR:-/tmp}/jeff-consumers.XXXXXX")
trap 'rm -rf "$work"' EXIT
started=$SECONDS

step() {
  echo "== $* (at ${SECONDS}s)"
}

fail() {
  echo "consumers: FAILED: $*" >&2
  exit 1
}

option_value() {  # option_value BUILD_DIR NAME: a meson option of that build
  meson introspect "$1" --buildoptions |
    python3 -c 'import json, sys
print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == sys.argv[1]))' "$2"
}

# A consumer project in its own directory, as a user would have it.
new_project() {  # new_project NAME [BUILD DESCRIPTION]: prints its directory
  mkdir -p "$work/$1"
  cp "$here/main.cpp" "$work/$1/"
  [[ -z ${2:-} ]] || cp "$here/$2" "$work/$1/"
  echo "$work/$1"
}

# --- install -----------------------------------------------------------------
build=${1:-}
if [[ -z $build ]]; then
  step "configure and build jeff (library only, release)"
  build=$work/jeff-build
  meson setup "$build" "$source_root" -Dbuildtype=release -Dtests=disabled -Dexample=disabled \
    --wrap-mode=nofallback >/dev/null
  ninja -C "$build" -j "$jobs" >/dev/null
fi
step "meson install into a staging directory"
meson install -C "$build" --no-rebuild --destdir "$work/root" >/dev/null
prefix=$(option_value "$build" prefix)
libdir=$(option_value "$build" libdir)
[[ $libdir == /* ]] || libdir=$prefix/$libdir
installed=$work/root$prefix
installed_libdir=$work/root$libdir
for f in include/jeff/sessions.hpp include/jeff/export.hpp include/jeff/version.hpp \
  include/jeff/stores/memory/memory_store.hpp include/jeff/stores/redis/redis_store.hpp; do
  [[ -f $installed/$f ]] || fail "$f was not installed"
done
[[ ! -e $installed/include/jeff/detail ]] || fail "detail/ headers were installed"
[[ -f $installed_libdir/libjeff-redis.so || -f $installed_libdir/libjeff-redis.a ]] ||
  fail "the consumers link the Redis store, which was not built (Debian: libhiredis-dev)"

# --- exported symbols --------------------------------------------------------
step "exported symbols of the shared libraries"
for lib in "$installed_libdir"/libjeff*.so; do
  exported=$(nm -DC --defined-only "$lib")
  if grep -E 'jeff::detail|::Impl\b' <<<"$exported"; then
    fail "$(basename "$lib") exports internals (above)"
  fi
  echo "   $(basename "$lib"): $(wc -l <<<"$exported") symbols," \
    "$(grep -c 'jeff::' <<<"$exported") in jeff::"
done

# --- 1. pkg-config -----------------------------------------------------------
step "pkg-config consumer"
[[ -f $installed_libdir/libjeff.so ]] ||
  fail "no shared libraries were installed (default_library=static?)"
dir=$(new_project pkg-config)
# The files are staged under $work/root: the sysroot maps the .pc files'
# /usr/local/... onto it, as for any staged install.
export PKG_CONFIG_SYSROOT_DIR=$work/root
export PKG_CONFIG_PATH=$installed_libdir/pkgconfig
# shellcheck disable=SC2046  # pkg-config prints several words on purpose
c++ -std=c++20 -Wall -Wextra -Wpedantic -Werror "$dir/main.cpp" -o "$dir/consumer" \
  $(pkg-config --cflags --libs jeff-memory jeff-redis)
unset PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_PATH
LD_LIBRARY_PATH=$installed_libdir ldd "$dir/consumer" | grep -q "$installed_libdir/libjeff.so" ||
  fail "the pkg-config consumer does not load the installed libjeff.so"
LD_LIBRARY_PATH=$installed_libdir "$dir/consumer"

# --- 2. CMake, shared then static --------------------------------------------
kinds=()
[[ ! -f $installed_libdir/libjeff.so ]] || kinds+=(shared)
[[ ! -f $installed_libdir/libjeff.a ]] || kinds+=(static)
for kind in "${kinds[@]}"; do
  step "CMake consumer ($kind)"
  dir=$(new_project "cmake-$kind" cmake/CMakeLists.txt)
  cmake -S "$dir" -B "$dir/build" -DCMAKE_PREFIX_PATH="$installed" -DCMAKE_BUILD_TYPE=Release \
    -DJEFF_USE_STATIC_LIBS="$([[ $kind == static ]] && echo ON || echo OFF)" >/dev/null
  cmake --build "$dir/build" -j "$jobs" >/dev/null
  if [[ $kind == shared ]]; then
    ldd "$dir/build/consumer" | grep -q "$installed_libdir/libjeff.so" ||
      fail "the CMake consumer does not load the installed libjeff.so"
  elif ldd "$dir/build/consumer" | grep -q libjeff; then
    fail "the static CMake consumer loads a shared jeff library"
  fi
  "$dir/build/consumer"
done

# --- 3. meson subproject -----------------------------------------------------
step "meson subproject consumer (compiles jeff's core, memory and Redis stores)"
dir=$(new_project meson meson/meson.build)
mkdir -p "$dir/subprojects"
ln -s "$source_root" "$dir/subprojects/jeff"
# buildtype=plain: no optimisation, the quickest compile of jeff.
meson setup "$dir/build" "$dir" -Dbuildtype=plain --wrap-mode=nodownload \
  --force-fallback-for=jeff-memory,jeff-redis -Djeff:redis=enabled -Djeff:memcached=disabled \
  >"$work/meson-setup.log" || { cat "$work/meson-setup.log"; fail "meson setup of the consumer"; }
ninja -C "$dir/build" -j "$jobs" consumer >/dev/null
"$dir/build/consumer"

echo "consumers: pkg-config, CMake ($(IFS=/; echo "${kinds[*]}")) and meson subproject" \
  "builds passed in $((SECONDS - started)) s"
