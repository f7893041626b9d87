#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to every test run: installs what is missing, builds
# everything, and runs the unit and end-to-end tests with CTest.
#
# The power-loss, disk-fault and faultfs tests (Catch tag [faultfs]) mount faultfs, which needs
# /dev/fuse; on a machine without it they are left out, with a warning.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
cd build
if [ -c /dev/fuse ]; then
  ctest --output-on-failure --timeout 300
else
  echo "warning: /dev/fuse is missing: the power-loss, disk-fault and faultfs tests do not run" >&2
  # catch_discover_tests names each CTest test after its TEST_CASE: exclude exactly the names of
  # the [faultfs] ones, each a whole name with the regex characters escaped. (The listing exits
  # with the number of tests it names.)
  names=$(./kiln_tests '[faultfs]' --list-test-names-only || true)
  excluded=$(sed -e 's/[][\\.*+?^$()|]/\\&/g' -e 's/.*/^&$/' <<<"$names" | paste -sd '|')
  ctest --output-on-failure --timeout 300 -E "$excluded"
fi
