#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a running server: installs what is missing,
# builds, and starts `kiln serve` on its embedded defaults (./data, 127.0.0.1:8080, two devices).
# Extra arguments go to `kiln serve` (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh --target kiln
exec build/kiln serve "$@"
