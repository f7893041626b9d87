#!/usr/bin/env bash
# Checks that every header of the source layers compiles on its own (it includes what it uses),
# by compiling a one-line file that includes just that header, two at a time.
#
#   scripts/check-headers.sh [COMPILER]     default: c++; exits 1 naming each header that fails
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
  sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
compiler=${1:-c++}
export compiler
# spdlog as Debian builds it (the flags its CMake target would add).
export flags="-std=c++20 -fsyntax-only -Wall -Wextra -Werror -I. -DSPDLOG_FMT_EXTERNAL \
-DSPDLOG_COMPILED_LIB -DSPDLOG_SHARED_LIB"
headers=$(find base config models persistence outbound protocol devices actors http runtime \
  -name '*.hpp' | sort)
failed=$(printf '%s\n' $headers | xargs -P 2 -I{} sh -c \
  'printf "#include \"%s\"\n" "{}" | $compiler $flags -x c++ - -o /dev/null 2>/dev/null || echo "{}"')
if [ -n "$failed" ]; then
  echo "headers that do not compile on their own:"
  printf '  %s\n' $failed
  exit 1
fi
echo "headers: $(printf '%s\n' $headers | wc -l) compile on their own"
