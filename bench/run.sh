#!/usr/bin/env bash
# Side-by-side benchmarks of aitools against the servers people would pick instead.
#
#   bench/run.sh [quick|full|smoke]      (default: quick; smoke only checks the script works)
#
# Builds aitools in Release (build-release/), installs what it needs from Debian packages,
# starts every server on 127.0.0.1 with its own config and pid file under the run directory,
# kills only what it started, and writes a markdown report (build-release/bench/report.md).
# On a machine with 2+ cores the servers run on cpu 0 and the load generator on cpu 1.
# See bench/README.md for what each part measures.
set -euo pipefail

MODE=${1:-quick}
case "$MODE" in
  quick) DURATION=5; REPEATS=3; LOAD_SECONDS=20; LOAD_ROUNDS=2; LATENCY_TRIALS=200; CHURN=10000 ;;
  full) DURATION=10; REPEATS=5; LOAD_SECONDS=60; LOAD_ROUNDS=2; LATENCY_TRIALS=500; CHURN=10000 ;;
  smoke) DURATION=1; REPEATS=1; LOAD_SECONDS=3; LOAD_ROUNDS=1; LATENCY_TRIALS=20; CHURN=200 ;;
  *) echo "usage: bench/run.sh [quick|full|smoke]" >&2; exit 2 ;;
esac
ROUTE_COUNTS=(10 1000 10000 100000)
[ "$MODE" = smoke ] && ROUTE_COUNTS=(10 1000)

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build-release
RUN=$BUILD/bench
PY=/usr/bin/python3  # Debian's python, where python3-fastapi installs

# ---- setup --------------------------------------------------------------------------------

install_packages() {
  local missing=()
  for pkg in wrk nginx-light caddy python3-fastapi python3-uvicorn; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  echo "installing ${missing[*]}"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
}

"$ROOT/scripts/install-deps.sh"
install_packages
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j "$(nproc)" --target aitools-server raw-pistache reload-bench greeting-server >/dev/null

rm -rf "$RUN"
mkdir -p "$RUN"
RESULTS=$RUN/results.tsv
: >"$RESULTS"

if [ "$(nproc)" -ge 2 ]; then
  SERVER_CPU="taskset -c 0"
  LOAD_CPU="taskset -c 1"
else
  SERVER_CPU=""
  LOAD_CPU=""
fi

PIDFILES=()
cleanup() {
  for pidfile in "${PIDFILES[@]}"; do
    [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
  done
}
trap cleanup EXIT

free_port() {
  $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Waits until `url` answers (any HTTP status), at most 20 s.
wait_http() {
  local url=$1
  for _ in $(seq 200); do
    curl -s -o /dev/null --max-time 1 "$url" && return 0
    sleep 0.1
  done
  echo "no answer from $url" >&2
  return 1
}

# start NAME COMMAND...: runs COMMAND on the server cpu, logging to $RUN/NAME.log.
start() {
  local name=$1
  shift
  $SERVER_CPU "$@" >"$RUN/$name.log" 2>&1 &
  echo $! >"$RUN/$name.pid"
  PIDFILES+=("$RUN/$name.pid")
}

stop() {
  local pidfile=$RUN/$1.pid
  if [ -f "$pidfile" ]; then
    kill "$(cat "$pidfile")" 2>/dev/null || true
    wait "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
  fi
}

record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RESULTS"; }

peak_rss_kib() {  # VmHWM of a process and its children (nginx master + worker)
  local total=0
  for pid in "$@" $(pgrep -P "$1" || true); do
    local hwm
    hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    total=$((total + ${hwm:-0}))
  done
  echo "$total"
}

# A 1 KB JSON body for the POST requests.
BODY=$($PY -c 'import json; print(json.dumps({"tool": "bench", "text": "x" * 990}))')
cat >"$RUN/post.lua" <<EOF
wrk.method = "POST"
wrk.body = '$BODY'
wrk.headers["Content-Type"] = "application/json"
EOF

# wrk_run CELL CONNECTIONS SECONDS URL [LUA]: records requests/s and failed requests.
wrk_run() {
  local cell=$1 conns=$2 seconds=$3 url=$4 script=${5:-}
  local out
  out=$($LOAD_CPU wrk -t1 -c"$conns" -d"${seconds}s" -H 'Connection: keep-alive' \
    ${script:+-s "$script"} "$url" 2>&1)
  local rps non2xx sockerr
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  sockerr=$(awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}' <<<"$out")
  record "$cell" rps "${rps:-0}"
  record "$cell" failed "$(( ${non2xx:-0} + ${sockerr:-0} ))"
}

# ---- servers under test -------------------------------------------------------------------

AITOOLS_PORT=$(free_port)
AITOOLS_ADMIN=$(free_port)
mkdir -p "$RUN/aitools/services"
cat >"$RUN/aitools/aitools.env" <<EOF
SERVICE_HOST=127.0.0.1
LOG_LEVEL=warn
RESCAN_INTERVAL_S=0
EOF
# The proxy route relays to the nginx below (started after aitools, on a port chosen now).
NGINX_PORT=$(free_port)
cat >"$RUN/aitools/services/bench.json" <<EOF
{"routes": [
  {"method": "GET", "path": "/v1/hello/{name}", "kind": "static",
   "options": {"body": {"msg": "hello {name}", "from": "aitools"}}},
  {"method": "POST", "path": "/v1/echo", "kind": "echo"},
  {"method": "GET", "path": "/v1/actor/{name}", "kind": "actor_echo"},
  {"method": "POST", "path": "/v1/actor-echo", "kind": "actor_echo"},
  {"method": "GET", "path": "/v1/proxy/{name}", "kind": "proxy",
   "options": {"url": "http://127.0.0.1:$NGINX_PORT/v1/hello/{name}"}}
]}
EOF
start aitools "$BUILD/aitools-server" --config "$RUN/aitools/aitools.env" \
  --port "$AITOOLS_PORT" --admin-port "$AITOOLS_ADMIN"

RAW_PORT=$(free_port)
start raw-pistache "$BUILD/raw-pistache" "$RAW_PORT"

# An actor-backed route as users write one: the embedding example's greeting actor
# (examples/embed), answering a small JSON like the raw handler.
GREETING_PORT=$(free_port)
mkdir -p "$RUN/greeting/services"
cp "$ROOT/examples/embed/etc/services/greeting.json" "$RUN/greeting/services/"
printf 'SERVICE_HOST=127.0.0.1\nSERVICE_PORT=%s\nADMIN_PORT=0\nCAF_ADMIN_PORT=0\nLOG_LEVEL=warn\nRESCAN_INTERVAL_S=0\n' \
  "$GREETING_PORT" >"$RUN/greeting/greeting.env"
start greeting "$BUILD/greeting-server" "$RUN/greeting/greeting.env" "$RUN/greeting/services"

mkdir -p "$RUN/nginx/logs"
nginx_conf() {  # nginx_conf BODY
  cat >"$RUN/nginx/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $RUN/nginx/nginx.pid;
error_log $RUN/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $RUN/nginx;
  proxy_temp_path $RUN/nginx;
  fastcgi_temp_path $RUN/nginx;
  uwsgi_temp_path $RUN/nginx;
  scgi_temp_path $RUN/nginx;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / { default_type application/json; return 200 '$1'; }
  }
}
EOF
}
nginx_conf '{"msg":"hello world","from":"aitools"}'
start nginx nginx -p "$RUN/nginx" -c "$RUN/nginx/nginx.conf"

FASTAPI_PORT=$(free_port)
start fastapi $PY -m uvicorn --app-dir "$ROOT/bench" --host 127.0.0.1 --port "$FASTAPI_PORT" \
  --log-level warning --no-access-log fastapi_app:app

CADDY_PORT=$(free_port)
CADDY_ADMIN=$(free_port)
caddy_conf() {  # caddy_conf BODY
  cat <<EOF
{"admin": {"listen": "127.0.0.1:$CADDY_ADMIN"},
 "logging": {"logs": {"default": {"level": "ERROR"}}},
 "apps": {"http": {"servers": {"bench": {"listen": ["127.0.0.1:$CADDY_PORT"],
   "routes": [{"handle": [{"handler": "static_response", "status_code": 200,
     "headers": {"Content-Type": ["application/json"]}, "body": "$1"}]}]}}}}}
EOF
}
caddy_conf '{\"msg\":\"hello world\",\"from\":\"aitools\"}' >"$RUN/caddy.json"
start caddy caddy run --config "$RUN/caddy.json"

wait_http "http://127.0.0.1:$AITOOLS_PORT/v1/hello/world"
wait_http "http://127.0.0.1:$RAW_PORT/v1/hello/world"
wait_http "http://127.0.0.1:$GREETING_PORT/v1/greet/world"
wait_http "http://127.0.0.1:$NGINX_PORT/"
wait_http "http://127.0.0.1:$FASTAPI_PORT/v1/hello/world"
wait_http "http://127.0.0.1:$CADDY_PORT/"
echo "servers up: aitools $AITOOLS_PORT, raw-pistache $RAW_PORT, nginx $NGINX_PORT," \
  "fastapi $FASTAPI_PORT, caddy $CADDY_PORT (mode $MODE)"

# ---- 1. throughput ------------------------------------------------------------------------

# name|url|lua script (empty: GET)
CELLS=(
  "aitools static GET|http://127.0.0.1:$AITOOLS_PORT/v1/hello/world|"
  "aitools echo POST 1 KB|http://127.0.0.1:$AITOOLS_PORT/v1/echo|$RUN/post.lua"
  "aitools actor_echo GET|http://127.0.0.1:$AITOOLS_PORT/v1/actor/world|"
  "aitools actor_echo POST 1 KB|http://127.0.0.1:$AITOOLS_PORT/v1/actor-echo|$RUN/post.lua"
  "aitools proxy → nginx GET|http://127.0.0.1:$AITOOLS_PORT/v1/proxy/world|"
  "aitools embedded greeting actor GET|http://127.0.0.1:$GREETING_PORT/v1/greet/world|"
  "raw Pistache GET|http://127.0.0.1:$RAW_PORT/v1/hello/world|"
  "raw Pistache POST 1 KB|http://127.0.0.1:$RAW_PORT/v1/echo|$RUN/post.lua"
  "raw Pistache + CAF actor GET|http://127.0.0.1:$RAW_PORT/v1/actor/world|"
  "nginx return 200 GET|http://127.0.0.1:$NGINX_PORT/v1/hello/world|"
  "caddy static_response GET|http://127.0.0.1:$CADDY_PORT/v1/hello/world|"
  "FastAPI/uvicorn GET|http://127.0.0.1:$FASTAPI_PORT/v1/hello/world|"
  "FastAPI/uvicorn POST 1 KB|http://127.0.0.1:$FASTAPI_PORT/v1/echo|$RUN/post.lua"
)
for cell in "${CELLS[@]}"; do  # warm-up: caches, JIT-free but allocator and page cache
  IFS='|' read -r name url script <<<"$cell"
  $LOAD_CPU wrk -t1 -c32 -d1s -H 'Connection: keep-alive' ${script:+-s "$script"} "$url" >/dev/null
done
# Repeats are interleaved, so that every server sees the same machine conditions.
for rep in $(seq "$REPEATS"); do
  for conns in 32 256; do
    for cell in "${CELLS[@]}"; do
      IFS='|' read -r name url script <<<"$cell"
      echo "throughput: $name -c$conns (run $rep/$REPEATS)"
      wrk_run "throughput|$name|$conns" "$conns" "$DURATION" "$url" "$script"
    done
  done
done
record "rss|aitools" kib "$(peak_rss_kib "$(cat "$RUN/aitools.pid")")"
record "rss|raw Pistache" kib "$(peak_rss_kib "$(cat "$RUN/raw-pistache.pid")")"
record "rss|aitools embedded (greeting)" kib "$(peak_rss_kib "$(cat "$RUN/greeting.pid")")"
record "rss|nginx" kib "$(peak_rss_kib "$(cat "$RUN/nginx.pid")")"
record "rss|caddy" kib "$(peak_rss_kib "$(cat "$RUN/caddy.pid")")"
record "rss|FastAPI/uvicorn" kib "$(peak_rss_kib "$(cat "$RUN/fastapi.pid")")"
stop raw-pistache
stop greeting
stop fastapi

# ---- 2. reload latency and a burst of saves -----------------------------------------------

echo "reload latency: $LATENCY_TRIALS trials"
record "latency" line "$($LOAD_CPU "$BUILD/reload-bench" latency "$AITOOLS_PORT" \
  "$RUN/aitools/services" "$LATENCY_TRIALS")"
# The same with the services directory on tmpfs: what the server does, without the disk's
# stalls (a virtual disk can hold the read of a freshly renamed file for 100 ms and more).
if [ -w /dev/shm ]; then
  SHM=$(mktemp -d /dev/shm/aitools-bench.XXXXXX)
  mkdir -p "$SHM/services"
  cp "$RUN/aitools/aitools.env" "$SHM/aitools.env"
  SHM_PORT=$(free_port)
  start aitools-tmpfs "$BUILD/aitools-server" --config "$SHM/aitools.env" --port "$SHM_PORT" \
    --admin-port 0
  wait_http "http://127.0.0.1:$SHM_PORT/"
  echo "reload latency on tmpfs: $LATENCY_TRIALS trials"
  record "latency_tmpfs" line "$($LOAD_CPU "$BUILD/reload-bench" latency "$SHM_PORT" \
    "$SHM/services" "$LATENCY_TRIALS")"
  stop aitools-tmpfs
  rm -rf "$SHM"
fi
echo "burst: 100 saves in 1 s"
record "burst" line "$($LOAD_CPU "$BUILD/reload-bench" burst "$AITOOLS_PORT" \
  "$RUN/aitools/services" 100 1000)"

# ---- 3. reload under load -----------------------------------------------------------------

# under_load NAME URL CHANGE_COMMAND: wrk for LOAD_SECONDS without, then with one change a
# second; LOAD_ROUNDS such pairs, so that one slow moment of the machine does not decide the
# drop.
under_load() {
  local name=$1 url=$2 change=$3
  for round in $(seq "$LOAD_ROUNDS"); do
    echo "under load: $name, no reloads (round $round/$LOAD_ROUNDS)"
    wrk_run "load|$name|steady" 32 "$LOAD_SECONDS" "$url"
    echo "under load: $name, one reload a second (round $round/$LOAD_ROUNDS)"
    (
      for i in $(seq "$LOAD_SECONDS"); do
        sleep 1
        $change "$(((round - 1) * LOAD_SECONDS + i))" || echo "reload $i failed" >&2
      done
    ) &
    local changer=$!
    wrk_run "load|$name|reloading" 32 "$LOAD_SECONDS" "$url"
    wait "$changer"
  done
}
cp "$RUN/aitools/services/bench.json" "$RUN/aitools/bench.json.template"
aitools_change() {
  sed "s/\"from\": \"aitools\"/\"from\": \"aitools $1\"/" "$RUN/aitools/bench.json.template" \
    >"$RUN/aitools/services/.bench.json.tmp"
  mv "$RUN/aitools/services/.bench.json.tmp" "$RUN/aitools/services/bench.json"
}
caddy_change() {
  caddy_conf "{\\\"msg\\\":\\\"hello world\\\",\\\"v\\\":$1}" |
    curl -sf -X POST -H 'Content-Type: application/json' --data-binary @- \
      "http://127.0.0.1:$CADDY_ADMIN/load" >/dev/null
}
nginx_change() {
  nginx_conf "{\"msg\":\"hello world\",\"v\":$1}"
  nginx -p "$RUN/nginx" -c "$RUN/nginx/nginx.conf" -s reload 2>/dev/null
}
before=$(curl -s -D - -o /dev/null "http://127.0.0.1:$AITOOLS_PORT/v1/hello/world" |
  awk -F': ' 'tolower($1)=="x-route-generation" {print $2+0}')
under_load aitools "http://127.0.0.1:$AITOOLS_PORT/v1/hello/world" aitools_change
after=$(curl -s -D - -o /dev/null "http://127.0.0.1:$AITOOLS_PORT/v1/hello/world" |
  awk -F': ' 'tolower($1)=="x-route-generation" {print $2+0}')
record "load|aitools|reloading" generations "$((after - before))"
under_load caddy "http://127.0.0.1:$CADDY_PORT/v1/hello/world" caddy_change
under_load nginx "http://127.0.0.1:$NGINX_PORT/v1/hello/world" nginx_change
stop caddy
stop nginx

# ---- 4. memory under churn ----------------------------------------------------------------

echo "churn: $CHURN reloads"
record "churn" line "$("$BUILD/reload-bench" churn "$AITOOLS_PORT" "$AITOOLS_ADMIN" \
  "$RUN/aitools/services" "$(cat "$RUN/aitools.pid")" "$CHURN")"
stop aitools

# ---- 5. route-count scaling ---------------------------------------------------------------

# All four servers run at once and their cells are interleaved, like the throughput cells, so
# the ratio between route counts is not skewed by the machine getting faster or slower.
declare -A ROUTE_PORT ROUTE_ADMIN
for count in "${ROUTE_COUNTS[@]}"; do
  dir=$RUN/routes-$count
  mkdir -p "$dir/services"
  printf 'SERVICE_HOST=127.0.0.1\nLOG_LEVEL=warn\nRESCAN_INTERVAL_S=0\nHOT_RELOAD_ENABLE=false\n' \
    >"$dir/aitools.env"
  $PY "$ROOT/bench/gen_routes.py" "$count" "$dir/services/routes.json" 1
  ROUTE_PORT[$count]=$(free_port)
  ROUTE_ADMIN[$count]=$(free_port)
  start "routes-$count" "$BUILD/aitools-server" --config "$dir/aitools.env" \
    --port "${ROUTE_PORT[$count]}" --admin-port "${ROUTE_ADMIN[$count]}"
done
for count in "${ROUTE_COUNTS[@]}"; do
  wait_http "http://127.0.0.1:${ROUTE_PORT[$count]}/p/5/x"
  $LOAD_CPU wrk -t1 -c32 -d1s -H 'Connection: keep-alive' \
    "http://127.0.0.1:${ROUTE_PORT[$count]}/p/5/x" >/dev/null
done
echo "routes: ${ROUTE_COUNTS[*]}"
for rep in $(seq "$REPEATS"); do
  for count in "${ROUTE_COUNTS[@]}"; do
    wrk_run "routes|$count" 32 "$DURATION" "http://127.0.0.1:${ROUTE_PORT[$count]}/p/5/x"
    # Build and swap: a changed manifest of the same size, applied by POST /admin/reload
    # (answered once the new table serves).
    $PY "$ROOT/bench/gen_routes.py" "$count" "$RUN/routes-$count/services/routes.json" "$((rep + 1))"
    reload=$(curl -s -X POST -w ' %{time_total}' "http://127.0.0.1:${ROUTE_ADMIN[$count]}/admin/reload")
    record "routes|$count" pass_ms "$($PY -c 'import json,sys; print(json.loads(sys.argv[1].rsplit(" ",1)[0])["duration_ms"])' "$reload")"
    record "routes|$count" reload_ms "$($PY -c 'import sys; print(float(sys.argv[1].rsplit(" ",1)[1]) * 1000)' "$reload")"
  done
done
for count in "${ROUTE_COUNTS[@]}"; do
  record "routes|$count" rss_kib "$(awk '/VmRSS/ {print $2}' "/proc/$(cat "$RUN/routes-$count.pid")/status")"
  stop "routes-$count"
done

# ---- report -------------------------------------------------------------------------------

$PY "$ROOT/bench/report.py" "$RESULTS" "$MODE" "$DURATION" "$REPEATS" "$LOAD_SECONDS" \
  >"$RUN/report.md"
cat "$RUN/report.md"
echo
echo "report: $RUN/report.md"
