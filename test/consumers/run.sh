#!/usr/bin/env bash
# Packaging test: installs jeff into a temporary prefix and uses it as the
# README says, with no LD_LIBRARY_PATH anywhere:
#   - the installed jeffctl --help runs; libraries and jeffctl carry an
#     $ORIGIN run path; the shared libraries export no internals;
#   - the README's API tour (its ```cpp block, as app.cpp) is built with the
#     README's own pkg-config lines and its own CMakeLists.txt (shared, then
#     static), and each program is run and driven over HTTP with curl;
#   - the README's Boost.Beast server (its Event-loop block, as beast-app.cpp)
#     is built with the README's lines, driven with curl on the memory store
#     and on a real redis-server, and stopped with SIGTERM (it must exit 0
#     while the Redis store holds its connections open);
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
redis_pid=
cleanup() {
  [[ -z $app_pid ]] || kill "$app_pid" 2>/dev/null || true
  [[ -z $redis_pid ]] || kill "$redis_pid" 2>/dev/null || true
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
# user would: wrong password, bad input, a POST from another origin, login,
# the pages behind the session, logout. Stops it by its PID.
drive_tour() {  # drive_tour APP
  local app=$1 port url headers cookie out i post
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
  post=(curl -s -H "Origin: $url")  # a POST as a browser on the app's own page sends it
  expect_http "wrong password is 401" 401 \
    "$("${post[@]}" -o /dev/null -w '%{http_code}' -d email=alice@example.com -d password=nope "$url/login")"
  expect_http "a missing email is 400, said so" "email is required" \
    "$("${post[@]}" -d email= -d password=correct-horse "$url/login")"
  expect_http "an over-long User-Agent is 400, said so" "User-Agent is too long" \
    "$("${post[@]}" -A "$(printf 'x%.0s' {1..5000})" -d email=alice@example.com -d password=correct-horse "$url/login")"
  expect_http "a POST from another origin is 403" 403 \
    "$(curl -s -o /dev/null -w '%{http_code}' -H 'Origin: http://evil.example' -d email=alice@example.com \
      -d password=correct-horse "$url/login")"
  headers=$work/login-headers
  "${post[@]}" -o /dev/null -D "$headers" -d email=alice@example.com -d password=correct-horse "$url/login"
  cookie=$(sed -n 's/^[Ss]et-[Cc]ookie: *\([^;]*\).*/\1/p' "$headers" | head -1)
  [[ -n $cookie ]] || { cat "$headers"; fail "$app: the login set no cookie"; }
  expect_http "/account with the cookie" "hello alice@example.com" \
    "$(curl -s -H "Cookie: $cookie" "$url/account")"
  expect_http "/ with the cookie" "hi alice@example.com" "$(curl -s -H "Cookie: $cookie" "$url/")"
  out=$(curl -s -H "Cookie: $cookie" "$url/sessions")
  expect_http "/sessions lists this one" 1 "$(grep -c ' (this one)$' <<<"$out")"
  expect_http "/sessions/others without Origin is 403" 403 \
    "$(curl -s -o /dev/null -w '%{http_code}' -d "" -H "Cookie: $cookie" "$url/sessions/others")"
  expect_http "/sessions/others revokes none" "0 revoked" \
    "$("${post[@]}" -d "" -H "Cookie: $cookie" "$url/sessions/others")"
  expect_http "/logout" "bye alice@example.com" "$("${post[@]}" -d "" -H "Cookie: $cookie" "$url/logout")"
  expect_http "/account after logout redirects" 302 \
    "$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" "$url/account")"
  kill "$app_pid"
  wait "$app_pid" 2>/dev/null || true
  app_pid=
}

expect_equal() {  # expect_equal WHAT EXPECTED ACTUAL LOG
  [[ $3 == "$2" ]] || { cat "$4"; fail "$1: got '$3', expected '$2'"; }
  echo "   $1 ok"
}

# Runs the README's Beast server APP on a free port over STORE_URL, drives it
# (no session, a cross-site login, a wrong password, a login, the page behind
# the session), then stops it with SIGTERM: it must exit 0.
drive_beast() {  # drive_beast APP STORE_URL
  local app=$1 store=$2 port url log=$work/beast-app.log origin cookie i status
  port=$(free_port)
  url=http://127.0.0.1:$port
  origin="Origin: $url"
  "$app" "$port" "$store" >"$log" 2>&1 &
  app_pid=$!
  for ((i = 0; i < 100; i++)); do
    curl -s -o /dev/null "$url/" && break
    kill -0 "$app_pid" 2>/dev/null || { cat "$log"; fail "$app exited at start"; }
    sleep 0.1
  done
  expect_equal "beast-app on $store: /account without a session redirects" 302 \
    "$(curl -s -o /dev/null -w '%{http_code}' "$url/account")" "$log"
  expect_equal "beast-app on $store: a cross-site login is 403" 403 \
    "$(curl -s -o /dev/null -w '%{http_code}' -H 'Origin: https://evil.example' \
      -d 'email=alice&password=correct-horse' "$url/login")" "$log"
  expect_equal "beast-app on $store: a wrong password is 401" 401 \
    "$(curl -s -o /dev/null -w '%{http_code}' -H "$origin" -d 'email=alice&password=no' "$url/login")" "$log"
  cookie=$(curl -s -o /dev/null -D - -H "$origin" -d 'email=alice&password=correct-horse' "$url/login" |
    sed -n 's/^[Ss]et-[Cc]ookie: *\([^;]*\).*/\1/p' | head -1)
  [[ -n $cookie ]] || { cat "$log"; fail "beast-app on $store: the login set no cookie"; }
  expect_equal "beast-app on $store: /account with the cookie" "hello alice" \
    "$(curl -s -H "Cookie: $cookie" "$url/account")" "$log"
  kill -TERM "$app_pid"
  for ((i = 0; i < 300; i++)); do
    kill -0 "$app_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$app_pid" 2>/dev/null && { cat "$log"; fail "beast-app on $store did not stop on SIGTERM"; }
  status=0
  wait "$app_pid" || status=$?
  app_pid=
  expect_equal "beast-app on $store: exit status after SIGTERM" 0 "$status" "$log"
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
pkgconfig_dir=$installed_libdir/pkgconfig
grep -q '^prefix=${pcfiledir}/' "$pkgconfig_dir/jeff.pc" ||
  fail "jeff.pc is not relocatable: configure $build with -Dpkgconfig.relocatable=true"
for pc in "$pkgconfig_dir"/jeff*.pc; do echo "   $(basename "$pc"): $(grep '^Requires:' "$pc")"; done

# --- run paths and jeffctl -----------------------------------------------------
step "run paths; the installed jeffctl runs"
for f in "$installed_libdir"/libjeff*.so "$installed/bin/jeffctl"; do
  [[ -e $f ]] || continue
  runpath=$(readelf -d "$f" | sed -n 's/.*(\(RUNPATH\|RPATH\)).*\[\(.*\)\]/\2/p')
  [[ $runpath == '$ORIGIN'* ]] || fail "$(basename "$f") has no \$ORIGIN run path ('$runpath')"
  echo "   $(basename "$f"): $runpath"
done
if [[ -f $installed/bin/jeffctl ]]; then
  "$installed/bin/jeffctl" --help >"$work/jeffctl-help" 2>&1 ||
    { cat "$work/jeffctl-help"; fail "the installed jeffctl --help"; }
  echo "   jeffctl --help: $(head -1 "$work/jeffctl-help")"
fi

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

[[ -f $installed_libdir/libjeff.so ]] ||
  fail "no shared libraries were installed (default_library=static?)"
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

# --- 1b. the README's Beast server ------------------------------------------
step "README: the Boost.Beast server built with the README's lines, on memory and on Redis"
[[ -f $pkgconfig_dir/jeff-stores-async.pc ]] ||
  fail "jeff-stores-async was not built (Debian: libboost-dev), so the README's Beast server cannot be"
dir=$work/readme-beast
mkdir -p "$dir"
readme_block "as beast-app.cpp" >"$dir/beast-app.cpp"
readme_block "runs these Beast lines" >"$dir/build.sh"
grep -q '^c++ .*pkg-config' "$dir/build.sh" || fail "the README's Beast block has no c++ line"
grep -q '^\./beast-app ' "$dir/build.sh" || fail "the README's Beast block does not run ./beast-app"
(cd "$dir" && bash -euo pipefail <(grep -v '^\./beast-app ' build.sh)) ||
  fail "the README's lines do not build the Beast server"
loads_installed "$dir/beast-app" libjeff-stores-async.so ||
  fail "the Beast server does not load the installed libjeff-stores-async.so"
drive_beast "$dir/beast-app" memory://
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
  >"$work/redis.log" 2>&1 &
redis_pid=$!
for ((i = 0; i < 100; i++)); do
  redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
  kill -0 "$redis_pid" 2>/dev/null || { cat "$work/redis.log"; fail "redis-server exited at start"; }
  sleep 0.1
done
drive_beast "$dir/beast-app" "redis://127.0.0.1:$redis_port"
kill "$redis_pid"
wait "$redis_pid" 2>/dev/null || true
redis_pid=

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
kinds=()
[[ ! -f $installed_libdir/libjeff.so ]] || kinds+=(shared)
[[ ! -f $installed_libdir/libjeff.a ]] || kinds+=(static)
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

step "CMake: a component jeff does not have fails as an unknown component"
dir=$work/cmake-unknown-component
mkdir -p "$dir"
printf '%s\n' 'cmake_minimum_required(VERSION 3.16)' 'project(unknown LANGUAGES CXX)' \
  'find_package(jeff REQUIRED COMPONENTS no-such-store)' >"$dir/CMakeLists.txt"
if cmake -S "$dir" -B "$dir/build" >"$work/cmake-unknown.log" 2>&1; then
  fail "find_package(jeff COMPONENTS no-such-store) succeeded"
fi
grep -q "unknown component no-such-store" "$work/cmake-unknown.log" ||
  { cat "$work/cmake-unknown.log"; fail "CMake does not call no-such-store an unknown component"; }
echo "   $(grep -m1 -o 'unknown component no-such-store.*' "$work/cmake-unknown.log")"

# --- 4. meson subproject -----------------------------------------------------
step "README: the wrap file's revision is a commit of jeff"
revision=$(readme_block "checks this revision" | sed -n 's/^revision = //p')
[[ -n $revision ]] || fail "the README's wrap file names no revision"
if git -C "$source_root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git -C "$source_root" cat-file -e "$revision^{commit}" 2>/dev/null ||
    fail "the README's wrap revision $revision is not a commit of $source_root"
  echo "   revision = $revision: $(git -C "$source_root" log -1 --format=%cs "$revision")"
else
  echo "   $source_root is not a git checkout: revision $revision not looked up"
fi

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

# --- 5. -Dexample=disabled ----------------------------------------------------
step "-Dexample=disabled defines no example target"
meson setup "$work/no-example" "$source_root" -Dexample=disabled -Dtests=disabled \
  --wrap-mode=nofallback >"$work/no-example.log" 2>&1 ||
  { cat "$work/no-example.log"; fail "meson setup -Dexample=disabled"; }
examples=$(meson introspect "$work/no-example" --targets |
  python3 -c 'import json, sys; print(" ".join(t["name"] for t in json.load(sys.stdin) if "example" in t["name"]))')
[[ -z $examples ]] || fail "-Dexample=disabled still defines: $examples"

echo "consumers: the README's tour (pkg-config, CMake $(IFS=/; echo "${kinds[*]}")), its Beast server and" \
  "main.cpp (pkg-config, CMake, meson subproject) built and ran in $((SECONDS - started)) s"
