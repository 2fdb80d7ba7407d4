#!/usr/bin/env bash
# Packaging test: installs jeff into a temporary prefix and uses it as the
# README says, with no LD_LIBRARY_PATH anywhere:
#   - the installed jeffctl --help runs; libraries and jeffctl carry an
#     $ORIGIN run path; the shared libraries export no internals;
#   - nothing the build should have made is missing: jeffctl, and the shared
#     and static libraries its default_library asks for (both, by default);
#   - the README's API tour (its ```cpp block, as app.cpp) is built with the
#     README's own pkg-config lines and its own CMakeLists.txt (shared, then
#     static), and each program is run and driven over HTTP with curl;
#   - test/consumers/main.cpp is built the three ways the README shows:
#     pkg-config  c++ main.cpp $(pkg-config --cflags --libs jeff-memory jeff-redis)
#     meson       jeff in subprojects/jeff, dependency('jeff-memory', fallback: 'jeff')
#     cmake       find_package(jeff), jeff::jeff jeff::memory jeff::redis; shared,
#                 then static (-DJEFF_USE_STATIC_LIBS=ON)
# The install is staged with DESTDIR; the build must have relocatable .pc
# files (-Dpkgconfig.relocatable=true, jeff's default), so the staged prefix
# is used exactly like one installed with --prefix.
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
app_pid=
cleanup() {
  [[ -z $app_pid ]] || kill "$app_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
# What the README promises: nothing needs LD_LIBRARY_PATH.
unset LD_LIBRARY_PATH
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

# True when PROGRAM loads LIBRARY (libjeff.so, ...) from the installed libdir
# (the run path may spell it with ../ segments).
loads_installed() {  # loads_installed PROGRAM LIBRARY
  local path
  path=$(ldd "$1" | sed -n "s|^[[:space:]]*$2[^ ]* => \\(/[^ ]*\\) .*|\\1|p" | head -1)
  [[ -n $path && $(realpath "$(dirname "$path")") == "$(realpath "$installed_libdir")" ]]
}

readme_block() {  # readme_block MARKER: the README's code block after <!-- ...MARKER... -->
  python3 "$here/readme_block.py" "$source_root/README.md" "$1" || fail "README block '$1'"
}

# A project holding the README's API tour as app.cpp.
tour_project() {  # tour_project NAME: prints its directory
  mkdir -p "$work/$1"
  readme_block "as app.cpp" >"$work/$1/app.cpp"
  echo "$work/$1"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Runs the tour program APP on a free port and drives it as the README says a
# user would: wrong password, bad input, login, the pages behind the session,
# logout. Stops it by its PID.
drive_tour() {  # drive_tour APP
  local app=$1 port url headers cookie out i
  port=$(free_port)
  url=http://127.0.0.1:$port
  "$app" "$port" >"$work/app.log" 2>&1 &
  app_pid=$!
  for ((i = 0; i < 100; i++)); do
    curl -s -o /dev/null "$url/" && break
    kill -0 "$app_pid" 2>/dev/null || { cat "$work/app.log"; fail "$app exited at start"; }
    sleep 0.1
  done
  expect_http() {  # expect_http WHAT EXPECTED ACTUAL
    [[ $3 == "$2" ]] || { cat "$work/app.log"; fail "$app: $1: got '$3', expected '$2'"; }
    echo "   $app: $1 ok"
  }
  expect_http "wrong password is 401" 401 \
    "$(curl -s -o /dev/null -w '%{http_code}' -d email=alice@example.com -d password=nope "$url/login")"
  expect_http "an empty key is bad input, 400" 400 \
    "$(curl -s -o /dev/null -w '%{http_code}' -d email= -d password=correct-horse "$url/login")"
  headers=$work/login-headers
  curl -s -o /dev/null -D "$headers" -d email=alice@example.com -d password=correct-horse "$url/login"
  cookie=$(sed -n 's/^[Ss]et-[Cc]ookie: *\([^;]*\).*/\1/p' "$headers" | head -1)
  [[ -n $cookie ]] || { cat "$headers"; fail "$app: the login set no cookie"; }
  expect_http "/account with the cookie" "hello alice@example.com" \
    "$(curl -s -H "Cookie: $cookie" "$url/account")"
  expect_http "/ with the cookie" "hi alice@example.com" "$(curl -s -H "Cookie: $cookie" "$url/")"
  out=$(curl -s -H "Cookie: $cookie" "$url/sessions")
  expect_http "/sessions lists this one" 1 "$(grep -c ' (this one)$' <<<"$out")"
  expect_http "/sessions/others revokes none" "0 revoked" \
    "$(curl -s -d "" -H "Cookie: $cookie" "$url/sessions/others")"
  expect_http "/logout" "bye alice@example.com" "$(curl -s -d "" -H "Cookie: $cookie" "$url/logout")"
  expect_http "/account after logout redirects" 302 \
    "$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" "$url/account")"
  kill "$app_pid"
  wait "$app_pid" 2>/dev/null || true
  app_pid=
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
bindir=$(option_value "$build" bindir)
[[ $bindir == /* ]] || bindir=$prefix/$bindir
installed=$work/root$prefix
installed_libdir=$work/root$libdir
installed_jeffctl=$work/root$bindir/jeffctl
# What this build must have installed: a piece that is missing fails here
# rather than leaving its checks out.
[[ -x $installed_jeffctl ]] || fail "jeffctl was not installed (expected $bindir/jeffctl)"
default_library=$(option_value "$build" default_library)
kinds=()
[[ $default_library == static ]] || kinds+=(shared)
[[ $default_library == shared ]] || kinds+=(static)
for kind in "${kinds[@]}"; do
  suffix=$([[ $kind == shared ]] && echo so || echo a)
  for lib in jeff jeff-memory jeff-stores; do
    [[ -f $installed_libdir/lib$lib.$suffix ]] ||
      fail "lib$lib.$suffix was not installed (default_library=$default_library)"
  done
done
if [[ $default_library == both ]]; then
  for lib in "$installed_libdir"/libjeff*.so; do
    [[ -f ${lib%.so}.a ]] || fail "$(basename "$lib") has no static variant"
  done
fi
for f in include/jeff/sessions.hpp include/jeff/export.hpp include/jeff/version.hpp \
  include/jeff/stores/memory/memory_store.hpp include/jeff/stores/redis/redis_store.hpp; do
  [[ -f $installed/$f ]] || fail "$f was not installed"
done
[[ ! -e $installed/include/jeff/detail ]] || fail "detail/ headers were installed"
[[ -f $installed_libdir/libjeff-redis.so || -f $installed_libdir/libjeff-redis.a ]] ||
  fail "the consumers link the Redis store, which was not built (Debian: libhiredis-dev)"
pkgconfig_dir=$installed_libdir/pkgconfig
grep -q '^prefix=${pcfiledir}/' "$pkgconfig_dir/jeff.pc" ||
  fail "jeff.pc is not relocatable: configure $build with -Dpkgconfig.relocatable=true"
for pc in "$pkgconfig_dir"/jeff*.pc; do echo "   $(basename "$pc"): $(grep '^Requires:' "$pc")"; done

# --- run paths and jeffctl -----------------------------------------------------
step "run paths; the installed jeffctl runs"
for f in "$installed_libdir"/libjeff*.so "$installed_jeffctl"; do
  [[ -e $f ]] || continue
  runpath=$(readelf -d "$f" | sed -n 's/.*(\(RUNPATH\|RPATH\)).*\[\(.*\)\]/\2/p')
  [[ $runpath == '$ORIGIN'* ]] || fail "$(basename "$f") has no \$ORIGIN run path ('$runpath')"
  echo "   $(basename "$f"): $runpath"
done
"$installed_jeffctl" --help >"$work/jeffctl-help" 2>&1 ||
  { cat "$work/jeffctl-help"; fail "the installed jeffctl --help"; }
echo "   jeffctl --help: $(head -1 "$work/jeffctl-help")"

# --- a compiler not in C++20 mode --------------------------------------------
step "including jeff as C++17 stops with one clear #error first"
printf '#include <jeff/sessions.hpp>\n#include <jeff/stores/open_store.hpp>\nint main() {}\n' >"$work/cxx17.cpp"
if c++ -std=c++17 -fsyntax-only -I"$installed/include" "$work/cxx17.cpp" >"$work/cxx17.log" 2>&1; then
  fail "a C++17 build of a jeff include compiled"
fi
first_error=$(grep -m1 'error' "$work/cxx17.log")
[[ $first_error == *'#error'*'-std=c++20'* ]] ||
  { cat "$work/cxx17.log" | head -20; fail "the first error of a C++17 build is not jeff's #error: $first_error"; }
echo "   $first_error"

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

[[ $default_library != static ]] ||
  fail "the consumers need the shared libraries: configure $build with default_library=both"
export PKG_CONFIG_PATH=$pkgconfig_dir
export CMAKE_PREFIX_PATH=$installed

# jeff-stores links by itself: OpenStore can return any store that was built.
stores_libs=$(pkg-config --libs jeff-stores)
echo "   pkg-config --libs jeff-stores: $stores_libs"
for lib in "$installed_libdir"/libjeff-*.so; do
  name=${lib##*/lib}
  name=${name%.so}
  [[ $name == jeff-stores || $name == *-async ]] || grep -q -- "-l$name\b" <<<"$stores_libs" ||
    fail "pkg-config --libs jeff-stores does not link $name"
done

# --- 1. the README's tour with the README's pkg-config lines ------------------
step "README: the API tour built with the README's pkg-config lines"
dir=$(tour_project readme-pkg-config)
readme_block "runs these lines" >"$dir/build.sh"
grep -q '^c++ .*pkg-config' "$dir/build.sh" || fail "the README's pkg-config block has no c++ line"
grep -q '^\./app ' "$dir/build.sh" || fail "the README's pkg-config block does not run ./app"
# Every line as printed, except that ./app runs on a free port, driven by curl.
(cd "$dir" && bash -euo pipefail <(grep -v '^\./app ' build.sh)) ||
  fail "the README's pkg-config lines do not build the tour"
loads_installed "$dir/app" libjeff-stores.so ||
  fail "the tour does not load the installed libjeff-stores.so"
drive_tour "$dir/app"

# --- 2. main.cpp with pkg-config -----------------------------------------------
step "pkg-config consumer"
dir=$(new_project pkg-config)
# shellcheck disable=SC2046  # pkg-config prints several words on purpose
c++ -std=c++20 -Wall -Wextra -Wpedantic -Werror "$dir/main.cpp" -o "$dir/consumer" \
  $(pkg-config --cflags --libs jeff-memory jeff-redis)
loads_installed "$dir/consumer" libjeff.so ||
  fail "the pkg-config consumer does not load the installed libjeff.so"
"$dir/consumer"

# --- 3. CMake, shared then static: the README's CMakeLists.txt and main.cpp --
cmake_build() {  # cmake_build DIR KIND: configure (CMAKE_PREFIX_PATH from the environment) and build
  cmake -S "$1" -B "$1/build" -DCMAKE_BUILD_TYPE=Release \
    -DJEFF_USE_STATIC_LIBS="$([[ $2 == static ]] && echo ON || echo OFF)" >"$work/cmake.log" 2>&1 &&
    cmake --build "$1/build" -j "$jobs" >>"$work/cmake.log" 2>&1 ||
    { cat "$work/cmake.log"; fail "CMake build of $1 ($2)"; }
}
check_loads() {  # check_loads PROGRAM KIND LIBRARY
  if [[ $2 == shared ]]; then
    loads_installed "$1" "$3" || fail "$1 does not load the installed $3"
  elif ldd "$1" | grep -q libjeff; then
    fail "the static $1 loads a shared jeff library"
  fi
}
for kind in "${kinds[@]}"; do
  step "README: the API tour built with the README's CMakeLists.txt ($kind)"
  dir=$(tour_project "readme-cmake-$kind")
  readme_block "builds this file" >"$dir/CMakeLists.txt"
  cmake_build "$dir" "$kind"
  check_loads "$dir/build/app" "$kind" libjeff-stores.so
  drive_tour "$dir/build/app"

  step "CMake consumer ($kind)"
  dir=$(new_project "cmake-$kind" cmake/CMakeLists.txt)
  cmake_build "$dir" "$kind"
  check_loads "$dir/build/consumer" "$kind" libjeff.so
  "$dir/build/consumer"
done

# --- 4. meson subproject -----------------------------------------------------
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

echo "consumers: the README's tour (pkg-config, CMake $(IFS=/; echo "${kinds[*]}")) and" \
  "main.cpp (pkg-config, CMake, meson subproject) built and ran in $((SECONDS - started)) s"
