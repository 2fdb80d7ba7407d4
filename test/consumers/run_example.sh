#!/usr/bin/env bash
# Test of scripts/run-example, on a tiny stand-in project (the real script and
# scripts/setup copied beside a one-file "example"), so that it runs in seconds:
#   - a compile error: the compiler's message is printed and the exit status is
#     not 0, with stderr a file and on a terminal (script(1));
#   - fixed: progress lines on stderr, the program runs with the arguments;
#   - it builds in build-example/, and leaves a user's build/ alone.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source_root=$(cd "$here/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/jeff-run-example.XXXXXX")
trap 'rm -rf "$work"' EXIT

fail() {
  echo "run_example: FAILED: $*" >&2
  exit 1
}

mkdir -p "$work/scripts" "$work/example" "$work/build"
cp "$source_root/scripts/run-example" "$source_root/scripts/setup" "$work/scripts/"
cat >"$work/meson.build" <<'MESON'
project('stand-in', 'cpp')
subdir('example')
MESON
cat >"$work/meson_options.txt" <<'MESON'
option('example', type: 'feature', value: 'auto')
option('tests', type: 'feature', value: 'auto')
MESON
echo "executable('jeff-example', 'main.cpp')" >"$work/example/meson.build"
echo "a build directory of the user's" >"$work/build/marker"

# 1. A compile error.
echo 'int main() { return not_declared_anywhere; }' >"$work/example/main.cpp"
status=0
bash "$work/scripts/run-example" >"$work/out" 2>"$work/err" || status=$?
cat "$work/err"
(( status != 0 )) || fail "exit status 0 after a compile error"
grep -q "not_declared_anywhere.*not declared" "$work/err" || fail "the compiler's error was not printed"
grep -q "run-example: the build failed" "$work/err" || fail "no line saying the build failed"
echo "ok: a compile error is printed, exit status $status"

# 1b. The same on a terminal (script(1) gives it one), where the build shows a
# [done/total] counter in place: the error is still printed in full.
touch "$work/example/main.cpp"
status=0
script -qec "bash '$work/scripts/run-example'" /dev/null >"$work/tty" 2>&1 </dev/null || status=$?
cat "$work/tty"
(( status != 0 )) || fail "exit status 0 after a compile error, on a terminal"
grep -q "not_declared_anywhere.*not declared" "$work/tty" || fail "no compiler error on a terminal"
grep -q "\[1/2\] compiling" "$work/tty" || fail "no [done/total] counter on a terminal"
echo "ok: on a terminal too, with a progress counter"

# 2. Fixed: it builds, says so, and runs the program with the arguments.
cat >"$work/example/main.cpp" <<'CPP'
#include <cstdio>
int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) std::printf("%s%s", argv[i], i + 1 < argc ? " " : "\n");
}
CPP
bash "$work/scripts/run-example" --port 9 hello >"$work/out" 2>"$work/err" ||
  { cat "$work/err"; fail "run-example failed on a correct source"; }
cat "$work/err"
[[ $(cat "$work/out") == "--port 9 hello" ]] || fail "the program got '$(cat "$work/out")'"
grep -q "run-example: building example/jeff-example in build-example/" "$work/err" ||
  fail "no progress line for the build"
echo "ok: progress on stderr, the arguments reach the program"

# 3. Its own build directory.
[[ -f $work/build-example/build.ninja ]] || fail "build-example/ was not used"
[[ $(ls "$work/build") == marker ]] || fail "the user's build/ was touched"
echo "ok: built in build-example/, build/ untouched"
