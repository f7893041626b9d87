#!/usr/bin/env bash
# Configures (once) and builds Kiln in ./build, Release, on every core.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f build/CMakeCache.txt ] || cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build -j "$(nproc)" "$@"
