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

# here, source_root, jobs; step, fail, new_project, loads_installed,
# readme_block, tour_project, free_port, start_app, drive_tour, drive_beast,
# expect_equal, cmake_build
source "$(dirname "$0")/common.sh"
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

option_value() {  # option_value BUILD_DIR NAME: a meson option of that build
  meson introspect "$1" --buildoptions |
    python3 -c 'import json, sys
print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == sys.argv[1]))' "$2"
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

# --- 1a. the README's data-at-rest program --------------------------------------
step "README: the data-at-rest program"
dir=$work/readme-at-rest
mkdir -p "$dir"
readme_block "as at-rest.cpp" >"$dir/at-rest.cpp"
# shellcheck disable=SC2046  # pkg-config prints several words on purpose
c++ -std=c++20 -Wall -Wextra -Werror "$dir/at-rest.cpp" -o "$dir/at-rest" $(pkg-config --cflags --libs jeff-stores) ||
  fail "the README's data-at-rest program does not build"
"$dir/at-rest" | grep -qx "ann@example.com: Firefox on Ann's laptop" ||
  fail "the README's data-at-rest program failed"

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

# --- 2b. a POCO consumer: the installed <jeff/http/poco.hpp> ------------------
# Debian's libpoco-dev ships CMake packages but no .pc file: PocoNet and
# PocoFoundation are linked by name.
if [[ -f /usr/include/Poco/Net/HTTPServer.h ]]; then
  step "POCO consumer (pkg-config jeff-memory, -lPocoNet -lPocoFoundation)"
  dir="$work/poco"
  mkdir -p "$dir"
  cp "$here/poco/main.cpp" "$dir/"
  # shellcheck disable=SC2046  # pkg-config prints several words on purpose
  c++ -std=c++20 -Wall -Wextra -Wpedantic -Werror "$dir/main.cpp" -o "$dir/consumer" \
    $(pkg-config --cflags --libs jeff-memory) -lPocoNet -lPocoFoundation ||
    fail "the POCO consumer does not build"
  "$dir/consumer" || fail "the POCO consumer"
fi

# --- 3. CMake, shared then static: the README's CMakeLists.txt and main.cpp --
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
