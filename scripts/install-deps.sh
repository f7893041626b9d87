#!/usr/bin/env bash
# Installs the Debian 12 packages Kiln builds, tests and benchmarks with, if any is missing, and
# the pinned npm packages of the MCP SDK tests (tests/mcp_sdk) from their package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(g++ cmake make pkg-config ca-certificates libcaf-dev libboost-dev libsimdjson-dev
  librocksdb-dev libspdlog-dev catch2 libssl-dev libpng-dev libgif-dev zlib1g-dev curl wrk
  clang-format libfuse3-dev fuse3 libsqlite3-dev libvpx-dev libwebp-dev libturbojpeg0-dev ffmpeg)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The MCP SDK tests run on Node.js with the official @modelcontextprotocol packages. Machines
# that have Node.js (and its npm) keep it: Debian's npm package conflicts with a Node installed
# otherwise. Only where node is missing altogether are Debian's nodejs and npm installed.
if ! command -v node >/dev/null 2>&1; then
  echo "installing: nodejs npm (node is missing)"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nodejs npm
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "error: node is installed without npm, which tests/mcp_sdk needs to install its packages" >&2
  exit 1
fi
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'; then
  echo "warning: the MCP conformance suite (0.1.11) is built for Node.js 20; found $(node --version)" >&2
fi
lock=tests/mcp_sdk/package-lock.json
installed=tests/mcp_sdk/node_modules/.package-lock.json
if [ ! -f "$installed" ] || [ "$installed" -ot "$lock" ]; then
  echo "installing the npm packages of tests/mcp_sdk"
  (cd tests/mcp_sdk && npm ci --no-audit --no-fund)
fi
