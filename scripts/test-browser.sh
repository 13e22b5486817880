#!/usr/bin/env bash
# Browser test of /docs (docs/openapi.md): starts aitools-server on free ports with a temporary
# services directory, loads /docs in headless Chromium and checks that Swagger UI lists the
# served route; then adds a manifest, waits for its generation, loads /docs again and checks
# that the new route is listed. Saves a screenshot of the second load in the build directory.
#
#   scripts/test-browser.sh [BUILD_DIR]      (make test-browser)
#
# Installs Chromium from Debian when it is missing. Exits non-zero on any failure.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "$root" && mkdir -p "${1:-build}" && cd "${1:-build}" && pwd)"
screenshot="$build/docs-screenshot.png"

fail() {
  echo "test-browser: FAILED: $*" >&2
  [ -f "${tmp:-}/server.log" ] && { echo "--- server log" >&2; cat "$tmp/server.log" >&2; }
  exit 1
}

if ! command -v chromium >/dev/null; then
  echo "test-browser: installing chromium" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
"$root/scripts/install-deps.sh"
[ -f "$root/web/node_modules/swagger-ui-dist/swagger-ui-bundle.js" ] ||
  fail "swagger-ui-dist is not installed in web/node_modules (scripts/install-deps.sh)"
cmake -S "$root" -B "$build" >/dev/null
cmake --build "$build" --target aitools-server -j "$(nproc)" >/dev/null

tmp="$(mktemp -d)"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
port="$(free_port)"
admin_port="$(free_port)"

mkdir "$tmp/services"
cat >"$tmp/aitools.env" <<EOF
SERVICE_HOST=127.0.0.1
ADMIN_HOST=127.0.0.1
HOT_RELOAD_ENABLE=true
RELOAD_DEBOUNCE_MS=20
RESCAN_INTERVAL_S=0
DOCS_UI_DIR=$root/web/node_modules/swagger-ui-dist
OPENAPI_TITLE="aitools browser test"
EOF
cat >"$tmp/services/greeter.json" <<'EOF'
{"routes": [{"method": "GET", "path": "/v1/hello/{name}", "kind": "static",
             "options": {"body": {"msg": "hello {name}"}}}]}
EOF

"$build/aitools-server" --config "$tmp/aitools.env" --port "$port" --admin-port "$admin_port" \
  >"$tmp/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  curl -fs -o /dev/null "http://127.0.0.1:$admin_port/readyz" && break
  kill -0 "$server_pid" 2>/dev/null || fail "the server exited"
  sleep 0.1
done
curl -fs -o /dev/null "http://127.0.0.1:$admin_port/readyz" || fail "the server did not get ready"

# A fresh profile per load; --virtual-time-budget lets the page's scripts run to completion
# (fetching /openapi.json and rendering) before the DOM is dumped or the screenshot taken.
chrome() {
  local profile
  profile="$(mktemp -d "$tmp/profile.XXXXXX")"
  timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --virtual-time-budget=10000 "$@" 2>>"$tmp/chromium.log"
}
docs="http://127.0.0.1:$port/docs"
# Swagger UI writes each operation's path in a data-path attribute.
listed() { grep -qF "data-path=\"$2\"" "$1"; }

chrome --dump-dom "$docs" >"$tmp/dom1.html" || fail "chromium could not load $docs"
listed "$tmp/dom1.html" "/v1/hello/{name}" || fail "/docs does not list /v1/hello/{name}"
echo "test-browser: /docs lists /v1/hello/{name}" >&2

generation="$(curl -fs "http://127.0.0.1:$admin_port/admin/status" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["generation"])')"
cat >"$tmp/services/.items.json.tmp" <<'EOF'
{"routes": [{"method": "POST", "path": "/v1/items/{id}", "kind": "echo"}]}
EOF
mv "$tmp/services/.items.json.tmp" "$tmp/services/items.json"
next=$((generation + 1))
curl -fs -o /dev/null "http://127.0.0.1:$admin_port/admin/status?wait_for=$next&timeout_ms=10000" ||
  fail "generation $next was not served"

chrome --dump-dom "$docs" >"$tmp/dom2.html" || fail "chromium could not load $docs"
listed "$tmp/dom2.html" "/v1/items/{id}" || fail "/docs does not list the new route /v1/items/{id}"
listed "$tmp/dom2.html" "/v1/hello/{name}" || fail "/docs no longer lists /v1/hello/{name}"
echo "test-browser: after generation $next, /docs lists /v1/items/{id}" >&2

rm -f "$screenshot"
chrome --screenshot="$screenshot" --window-size=1280,1600 "$docs" >/dev/null ||
  fail "chromium could not take a screenshot of $docs"
[ -s "$screenshot" ] || fail "no screenshot was written"
echo "test-browser: passed; screenshot: $screenshot"
