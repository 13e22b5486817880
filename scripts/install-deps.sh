#!/usr/bin/env bash
# Installs the Debian packages aitools builds and tests with. Safe to run repeatedly:
# it only calls apt-get when something is missing.
set -euo pipefail

packages=(g++ cmake make pkg-config ccache curl
          libcaf-dev libpistache-dev rapidjson-dev libboost-test-dev)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
