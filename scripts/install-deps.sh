#!/usr/bin/env bash
# Installs the Debian packages aitools builds and tests with, and the npm package of its /docs
# page. Safe to run repeatedly: it only calls apt-get or npm when something is missing.
set -euo pipefail

packages=(g++ cmake make pkg-config ccache curl
          libcaf-dev libpistache-dev rapidjson-dev libboost-test-dev
          libcurl4-openssl-dev libssl-dev openssl python3
          etcd-server)  # the cluster tests start their own etcd (docs/cluster.md)

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
apt_updated=false
apt_install() {
  echo "install-deps: installing $*" >&2
  $apt_updated || { $SUDO apt-get update -qq; apt_updated=true; }
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"

# Swagger UI for /docs (docs/openapi.md): swagger-ui-dist as pinned by web/package-lock.json.
# Without it the server still runs and /docs answers 503, so a failure here only warns.
# An npm that came with node (e.g. NodeSource's) is used as it is.
web="$(cd "$(dirname "$0")/.." && pwd)/web"
if [ ! -f "$web/node_modules/.package-lock.json" ] ||
   [ "$web/package-lock.json" -nt "$web/node_modules/.package-lock.json" ]; then
  { command -v npm >/dev/null || apt_install nodejs npm; } &&
    echo "install-deps: installing swagger-ui-dist into web/node_modules" >&2 &&
    npm ci --prefix "$web" --ignore-scripts --no-audit --no-fund >/dev/null ||
    echo "install-deps: warning: swagger-ui-dist is not installed; /docs answers 503 until it is" >&2
fi
