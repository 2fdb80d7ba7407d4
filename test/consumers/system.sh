#!/usr/bin/env bash
# Packaging test against jeff installed in /usr (the Debian packages:
# libjeff-dev, its runtime libraries and jeffctl), the way a user of the
# packages builds: no prefix flags, no PKG_CONFIG_PATH, CMAKE_PREFIX_PATH or
# LD_LIBRARY_PATH.
#   - the installed libraries and jeffctl carry no run path (the packages are
#     configured with -Dorigin_rpath=false);
#   - the README's API tour (its ```cpp block, as app.cpp) built with the
#     README's pkg-config line and with its CMakeLists.txt, each run and
#     driven over HTTP with curl;
#   - test/consumers/main.cpp built with test/consumers/cmake (find_package)
#     and run;
#   - jeffctl --help, and a session listing on memory:// (jeffctl's own
#     empty store: exit status 1, nothing on stdout, "no live session" on stderr).
# Used by scripts/run-tests (Debian packages step) and debian/tests (autopkgtest).
# JEFF_CONSUMER_JOBS (default 2) bounds the compile jobs.
set -euo pipefail

# here, source_root, jobs; step, fail, new_project, loads_installed,
# readme_block, tour_project, free_port, start_app, drive_tour, drive_beast,
# expect_equal, cmake_build
source "$(dirname "$0")/common.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/jeff-system.XXXXXX")
app_pid=
cleanup() {
  [[ -z $app_pid ]] || kill "$app_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
unset LD_LIBRARY_PATH PKG_CONFIG_PATH CMAKE_PREFIX_PATH
started=$SECONDS

installed_libdir=/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
jeffctl=/usr/bin/jeffctl
[[ -f $installed_libdir/libjeff.so ]] || fail "no $installed_libdir/libjeff.so: is libjeff-dev installed?"
[[ -x $jeffctl ]] || fail "no $jeffctl: is jeffctl installed?"

step "no run path in the installed libraries and jeffctl"
for f in "$installed_libdir"/libjeff*.so.*.* "$jeffctl"; do
  runpath=$(readelf -d "$f" | sed -n 's/.*(\(RUNPATH\|RPATH\)).*\[\(.*\)\]/\2/p')
  [[ -z $runpath ]] || fail "$f has the run path '$runpath'"
done
echo "   $(ls "$installed_libdir"/libjeff*.so.*.* | wc -l) libraries and jeffctl: none"

step "jeffctl"
"$jeffctl" --help >"$work/help" 2>&1 || { cat "$work/help"; fail "jeffctl --help"; }
echo "   jeffctl --help: $(head -1 "$work/help")"
status=0
"$jeffctl" sessions list alice@example.com --store memory:// >"$work/list.out" 2>"$work/list.err" ||
  status=$?
expect_equal "jeffctl sessions list on memory:// finds nothing (exit 1)" 1 "$status" "$work/list.err"
expect_equal "jeffctl sessions list on memory:// prints no session" "" "$(cat "$work/list.out")" \
  "$work/list.err"
grep -q "no live session" "$work/list.err" || { cat "$work/list.err"; fail "jeffctl did not say it found no session"; }
echo "   stderr: $(tail -1 "$work/list.err" | cut -c1-60)..."

step "README: the API tour built with the README's pkg-config line"
dir=$(tour_project readme-pkg-config)
readme_block "runs these lines" >"$dir/build.sh"
grep -q '^c++ .*pkg-config' "$dir/build.sh" || fail "the README's pkg-config block has no c++ line"
(cd "$dir" && bash -euo pipefail <(grep -v '^\./app ' build.sh)) ||
  fail "the README's pkg-config lines do not build the tour against /usr"
loads_installed "$dir/app" libjeff-stores.so || fail "the tour does not load $installed_libdir/libjeff-stores.so"
drive_tour "$dir/app"

step "README: the API tour built with the README's CMakeLists.txt"
dir=$(tour_project readme-cmake)
readme_block "builds this file" >"$dir/CMakeLists.txt"
cmake_build "$dir" shared
loads_installed "$dir/build/app" libjeff-stores.so ||
  fail "the CMake tour does not load $installed_libdir/libjeff-stores.so"
drive_tour "$dir/build/app"

step "CMake consumer (find_package(jeff) from /usr)"
dir=$(new_project cmake cmake/CMakeLists.txt)
cmake_build "$dir" shared
loads_installed "$dir/build/consumer" libjeff.so ||
  fail "the CMake consumer does not load $installed_libdir/libjeff.so"
"$dir/build/consumer"

echo "system consumers: jeffctl, the README's tour (pkg-config, CMake) and the CMake consumer" \
  "built against /usr and ran in $((SECONDS - started)) s"
