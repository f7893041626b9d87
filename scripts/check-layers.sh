#!/usr/bin/env bash
# Checks that the folders stay layers: every #include "FOLDER/..." in a source folder names the
# folder itself or a layer below it (the order is the README's layout, bottom first). The CMake
# libraries link in the same order; this catches a header-only include the linker cannot see.
#
#   scripts/check-layers.sh        exits 1 and names each include that runs back up a layer
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
  sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi

# Each layer, and the layers it may include (itself included).
declare -A allowed=(
  [base]="base"
  [config]="config base"
  [models]="models config base"
  [persistence]="persistence models config base"
  [outbound]="outbound config base"
  [protocol]="protocol persistence models config base"
  [devices]="devices protocol outbound persistence models config base"
  [actors]="actors protocol outbound persistence models config base"
  [http]="http protocol outbound persistence models config base"
  [mcp]="mcp http protocol outbound persistence models config base"
  [runtime]="runtime mcp http actors devices protocol outbound persistence models config base"
)

status=0
for layer in "${!allowed[@]}"; do
  while IFS= read -r line; do
    file=${line%%:*}
    target=$(sed -E 's/.*#include "([a-z_]+)\/.*/\1/' <<<"$line")
    case " ${allowed[$layer]} " in
      *" $target "*) ;;
      *) echo "$file includes $target/, which is not below $layer/: ${line#*:}"; status=1 ;;
    esac
  done < <(grep -rnE '#include "[a-z_]+/' "$layer" --include='*.hpp' --include='*.cpp' \
             | sed -E 's/^([^:]+):[0-9]+:/\1:/')
done
[ $status -eq 0 ] && echo "layers: every include runs down (${#allowed[@]} layers)"
exit $status
