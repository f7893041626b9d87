#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to every test run: installs what is missing, builds
# everything, and runs the unit and end-to-end tests with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
cd build
ctest --output-on-failure --timeout 300
