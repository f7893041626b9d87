#!/usr/bin/env bash
# Formats every C++ source with the checked-in .clang-format (clang-format 14, Debian 12), or with
# --check only reports the files that are not formatted (exit 1), as the test suite does.
#
#   scripts/format.sh [--check]
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  -h|--help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
files=$(git ls-files --cached --others --exclude-standard '*.cpp' '*.hpp')
if [ "${1:-}" = "--check" ]; then
  bad=""
  for f in $files; do
    clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad="$bad $f"
  done
  if [ -n "$bad" ]; then
    echo "not formatted (run scripts/format.sh):"
    printf '  %s\n' $bad
    exit 1
  fi
  echo "format: $(echo "$files" | wc -w) files formatted"
  exit 0
fi
clang-format -i $files
