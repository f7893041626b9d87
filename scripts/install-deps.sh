#!/usr/bin/env bash
# Installs the Debian 12 packages Kiln builds, tests and benchmarks with, if any is missing.
set -euo pipefail
packages=(g++ cmake make pkg-config ca-certificates libcaf-dev libboost-dev libsimdjson-dev
  librocksdb-dev libspdlog-dev catch2 libssl-dev libpng-dev libgif-dev zlib1g-dev curl wrk
  clang-format libfuse3-dev fuse3 libsqlite3-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo=sudo
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
