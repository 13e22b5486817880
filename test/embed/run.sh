#!/usr/bin/env bash
# CTest embed.example: installs this build into a temporary prefix, builds examples/embed
# against it as a separate CMake project (find_package(aitools)), then runs greeting-server
# with the example's manifest (kind `greeting`, served by the example's own actor) and checks
# its answers, a reload that keeps the actor, and a clean exit on SIGTERM.
#
#   run.sh CMAKE BUILD_DIR SOURCE_DIR [EXAMPLE_CONFIGURE_ARGS...]
set -euo pipefail

cmake=$1
build_dir=$2
source_dir=$3
example_args=("${@:4}")
work=$(mktemp -d "${TMPDIR:-/tmp}/aitools-embed.XXXXXX")
pid=""

cleanup() {
  if [[ -n $pid ]]; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "embed.example: FAILED: $*" >&2
  if [[ -s $work/example.log ]]; then
    echo "--- greeting-server output:" >&2
    cat "$work/example.log" >&2
  fi
  exit 1
}

step() { echo "embed.example: $*"; }

# Runs a command with its output in $work/NAME.log, shown only if it fails.
run_logged() {
  local name=$1
  shift
  if ! "$@" >"$work/$name.log" 2>&1; then
    cat "$work/$name.log" >&2
    fail "$name failed: $*"
  fi
}

# ---- (a) install ----
prefix=$work/prefix
step "cmake --install $build_dir --prefix $prefix"
run_logged install "$cmake" --install "$build_dir" --prefix "$prefix"
for file in include/aitools/actors/server.hpp include/aitools/actors/scheduler.hpp \
            include/aitools/http/request_value.hpp include/aitools/util/log.hpp \
            share/aitools/aitools.env share/aitools/services/greeter.json bin/aitools-server \
            share/doc/aitools/embedding.md; do
  [[ -e $prefix/$file ]] || fail "cmake --install did not install $file"
done
config=$(find "$prefix" -name aitoolsConfig.cmake)
[[ -n $config && -e $(dirname "$config")/aitoolsConfigVersion.cmake &&
   -e $(dirname "$config")/aitoolsTargets.cmake ]] || fail "the CMake package is not installed"
library=$(find "$prefix" -name 'libaitools.so.*' -type f)
[[ -n $library ]] || fail "libaitools.so.* is not installed"
soname=$(objdump -p "$library" | sed -n 's/^ *SONAME *//p')
[[ $soname =~ ^libaitools\.so\.[0-9]+\.[0-9]+$ && -e $(dirname "$library")/$soname ]] ||
  fail "$library: expected the SONAME libaitools.so.MAJOR.MINOR beside it, got \"$soname\""
# The build tree's RPATH is gone once installed: this finds the library through $ORIGIN.
run_logged installed-server "$prefix/bin/aitools-server" --help

# ---- (b) build examples/embed against the installed package ----
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  # Paths under $work are hashed relative to the build directory, so the next run, in a
  # new temporary directory, still hits the cache.
  export CCACHE_BASEDIR=$work
fi
step "building examples/embed with CMAKE_PREFIX_PATH=$prefix"
run_logged configure "$cmake" -S "$source_dir/examples/embed" -B "$work/build" \
  -DCMAKE_PREFIX_PATH="$prefix" "${launcher[@]}" "${example_args[@]}"
grep -qx "aitools_DIR:PATH=$(dirname "$config")" "$work/build/CMakeCache.txt" ||
  fail "find_package(aitools) did not take the package installed in $prefix: $(grep aitools_DIR "$work/build/CMakeCache.txt")"
run_logged build "$cmake" --build "$work/build" -j2

# ---- (c) run it ----
# A port nothing listens on now (bash's /dev/tcp connects or fails).
free_port() {
  local port
  for _ in $(seq 200); do
    port=$((20000 + RANDOM % 12000))
    [[ $port == "${1:-}" ]] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
  fail "found no free port"
}
port=$(free_port)
admin_port=$(free_port "$port")
mkdir -p "$work/run/services"
cp "$source_dir/examples/embed/etc/services/greeting.json" "$work/run/services/"
cat >"$work/run/embed.env" <<ENV
SERVICE_HOST=127.0.0.1
SERVICE_PORT=$port
ADMIN_HOST=127.0.0.1
ADMIN_PORT=$admin_port
CAF_ADMIN_PORT=0
HTTP_THREADS=2
ENV

step "starting greeting-server on ports $port (admin $admin_port)"
"$work/build/greeting-server" "$work/run/embed.env" "$work/run/services" >"$work/example.log" 2>&1 &
pid=$!

# Polls the command every 20 ms, for 20 s at most; fails at once if greeting-server exits.
wait_until() {
  local what=$1
  shift
  local deadline=$((SECONDS + 20))
  until "$@"; do
    kill -0 "$pid" 2>/dev/null || fail "greeting-server exited while waiting for $what"
    ((SECONDS < deadline)) || fail "timed out waiting for $what"
    sleep 0.02
  done
}

admin_get() { curl -sf "http://127.0.0.1:$admin_port$1"; }
greeting_active() { admin_get /admin/status | grep -q '"greeting":{"state":"active","file":"greeting.json","routes":2,'; }
# The kind was given to Server::start, so the first load (generation 1) already serves it.
wait_until "the greeting service to be active" greeting_active
admin_get /admin/status | grep -q '"generation":1,' ||
  fail "expected the greeting routes in generation 1: $(admin_get /admin/status)"

# GET on the main port: sets status, body, generation (X-Route-Generation).
get() {
  status=$(curl -sS -D "$work/headers" -o "$work/body" -w '%{http_code}' "http://127.0.0.1:$port$1") ||
    fail "GET $1: curl failed"
  body=$(<"$work/body")
  generation=$(grep -i '^x-route-generation:' "$work/headers" | tr -dc '0-9' || true)
}

# GET $1 must answer 200 with the JSON body $2 from the greeting actor.
expect_greeting() {
  get "$1"
  [[ $status == 200 ]] || fail "GET $1: expected 200, got $status: $body"
  [[ $body == "$2" ]] || fail "GET $1: expected $2, got $body"
  grep -qi '^content-type: application/json' "$work/headers" ||
    fail "GET $1: expected Content-Type application/json, got headers: $(cat "$work/headers")"
  [[ -n $generation ]] || fail "GET $1: no X-Route-Generation header: $(cat "$work/headers")"
}

step "greeting routes answer from the example's actor"
expect_greeting /v1/greet/Ada '{"greeting":"Hello, Ada!","name":"Ada","count":1}'
expect_greeting /v1/greet/Bob%20Smith '{"greeting":"Hello, Bob Smith!","name":"Bob Smith","count":2}'
expect_greeting /v1/greet/%22Q%22 '{"greeting":"Hello, \"Q\"!","name":"\"Q\"","count":3}'
expect_greeting /v1/greet '{"greeting":"Hello, world!","name":"world","count":4}'
first_generation=$generation
get /v1/nothing
[[ $status == 404 ]] || fail "GET /v1/nothing: expected 404, got $status: $body"

routes=$(admin_get /admin/routes) || fail "GET /admin/routes failed"
[[ $routes == *'{"method":"GET","path":"/v1/greet/{name}","service":"greeting","kind":"greeting"}'* ]] ||
  fail "/admin/routes does not list /v1/greet/{name} of kind greeting: $routes"

step "a manifest edit adds a route; the same actor (and its count) serves it"
cat >"$work/run/services/.greeting.json.tmp" <<'JSON'
{
  "name": "greeting",
  "prefix": "/v1",
  "routes": [
    {"method": "GET", "path": "/greet/{name}", "kind": "greeting"},
    {"method": "GET", "path": "/hi/{name}", "kind": "greeting"}
  ]
}
JSON
mv "$work/run/services/.greeting.json.tmp" "$work/run/services/greeting.json"
# Answers once the pass that read the edit is served (whether it or the watcher started it).
reload=$(curl -sf -X POST "http://127.0.0.1:$admin_port/admin/reload") || fail "POST /admin/reload failed"
expect_greeting /v1/hi/Ada '{"greeting":"Hello, Ada!","name":"Ada","count":5}'
((generation > first_generation)) ||
  fail "expected a generation after $first_generation once /v1/hi/{name} is served, got $generation ($reload)"
get /v1/greet
[[ $status == 404 ]] || fail "GET /v1/greet: expected 404 once the route is removed, got $status: $body"

step "SIGTERM: drain, stop, exit 0"
kill -TERM "$pid"
# Not wait_until: it fails when the process is gone, which is what is awaited here (bash
# reaps its background child at once, so it does not linger as a zombie). 20 s at most.
for _ in $(seq 1000); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.02
done
kill -0 "$pid" 2>/dev/null && fail "greeting-server did not exit within 20 s of SIGTERM"
rc=0
wait "$pid" || rc=$?
pid=""
((rc == 0)) || fail "greeting-server exited with $rc after SIGTERM"
for event in "event=kind_registered kind=greeting" "event=greeting_ready" "event=stopped" \
             "event=greeting_stopped"; do
  grep -q "$event" "$work/example.log" || fail "greeting-server did not log \"$event\""
done
step "passed"
