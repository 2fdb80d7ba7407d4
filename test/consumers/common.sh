# Helpers of the consumer tests (test/consumers/run.sh, against a staged
# install; test/consumers/system.sh, against installed Debian packages).
# Sourced first; it sets `here` (this directory), `source_root` and `jobs`
# (JEFF_CONSUMER_JOBS, default 2: the compile jobs); the caller then sets
# `work` (a scratch directory it removes) and `app_pid` (empty; its EXIT trap
# kills a program left running), and `installed_libdir` before loads_installed.

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_root=$(cd "$here/../.." && pwd)
jobs=${JEFF_CONSUMER_JOBS:-2}

step() {
  echo "== $* (at ${SECONDS}s)"
}

fail() {
  echo "consumers: FAILED: $*" >&2
  exit 1
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

# Starts APP ARGS... in the background (its PID in app_pid, its output in
# LOG) and waits up to 10 s for URL to answer; fails if APP exits first.
start_app() {  # start_app URL LOG APP [ARGS...]
  local url=$1 log=$2 i
  shift 2
  "$@" >"$log" 2>&1 &
  app_pid=$!
  for ((i = 0; i < 100; i++)); do
    curl -s -o /dev/null "$url/" && return 0
    kill -0 "$app_pid" 2>/dev/null || { cat "$log"; fail "$1 exited at start"; }
    sleep 0.1
  done
}

# Runs the tour program APP on a free port and drives it as the README says a
# user would: wrong password, bad input, a POST from another origin, login,
# the pages behind the session, logout. Stops it by its PID.
drive_tour() {  # drive_tour APP
  local app=$1 port url headers cookie out post
  port=$(free_port)
  url=http://127.0.0.1:$port
  start_app "$url" "$work/app.log" "$app" "$port"
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
  start_app "$url" "$log" "$app" "$port" "$store"
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

cmake_build() {  # cmake_build DIR KIND: configure (CMAKE_PREFIX_PATH from the environment) and build
  cmake -S "$1" -B "$1/build" -DCMAKE_BUILD_TYPE=Release \
    -DJEFF_USE_STATIC_LIBS="$([[ $2 == static ]] && echo ON || echo OFF)" >"$work/cmake.log" 2>&1 &&
    cmake --build "$1/build" -j "$jobs" >>"$work/cmake.log" 2>&1 ||
    { cat "$work/cmake.log"; fail "CMake build of $1 ($2)"; }
}
