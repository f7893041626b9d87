#!/usr/bin/env bash
# Runs the official MCP conformance suite (@modelcontextprotocol/conformance, pinned in
# package.json) against Kiln's MCP endpoint.
#
# Starts `kiln serve` on a free port with a temporary data directory, creates a `pro` account over
# the admin API, and starts auth_proxy.mjs in front of the server: the conformance runner sends no
# API key (a real MCP client sends its configured one), so the proxy adds
# `Authorization: Bearer <key>` and forwards everything else as it came, Host and Origin included.
# Then it runs the server scenarios below against http://127.0.0.1:<proxy port>/mcp and fails
# unless every check of every scenario has status SUCCESS (WARNING and FAILURE checks are
# printed). Everything it started or wrote is removed on exit.
#
# Run (after `npm ci` in tests/mcp_sdk, which scripts/install-deps.sh does):
#   tests/mcp_sdk/conformance.sh /abs/path/to/build/kiln
set -euo pipefail

scenarios=(server-initialize ping tools-list dns-rebinding-protection)

[ $# -eq 1 ] || { echo "usage: $0 /path/to/build/kiln" >&2; exit 2; }
kiln=$(realpath "$1")
[ -x "$kiln" ] || { echo "error: $kiln is not an executable" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
runner="$here/node_modules/.bin/conformance"
[ -x "$runner" ] || { echo "error: $runner is missing: run scripts/install-deps.sh" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kiln-mcp-conformance.XXXXXX")
kiln_pid=""
proxy_pid=""
stop() { # stop PID: SIGTERM, then SIGKILL after 10 s
  local pid=$1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  stop "$proxy_pid"
  stop "$kiln_pid"
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_line FILE REGEX PID: prints the first line of FILE that matches REGEX, within 20 s.
wait_line() {
  for _ in $(seq 200); do
    if grep -qE "$2" "$1" 2>/dev/null; then grep -m1 -E "$2" "$1"; return 0; fi
    kill -0 "$3" 2>/dev/null || break
    sleep 0.1
  done
  echo "error: no line matching '$2' from pid $3; it printed:" >&2
  cat "$1" >&2
  return 1
}

# The server: no KILN_* variable of this environment reaches it (kiln refuses unknown ones).
admin_token=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
(
  for v in $(compgen -e | grep '^KILN_' || true); do unset "$v"; done
  export KILN_ADMIN_TOKEN="$admin_token" KILN_DEMO_ACCOUNT=false KILN_DURABILITY=fsync KILN_VERIFY=1
  exec "$kiln" serve --listen 127.0.0.1:0 --data-dir "$tmp/data"
) >"$tmp/kiln.out" 2>"$tmp/kiln.err" &
kiln_pid=$!
line=$(wait_line "$tmp/kiln.out" '^kiln listening on http://127\.0\.0\.1:[0-9]+' "$kiln_pid") || {
  cat "$tmp/kiln.err" >&2; exit 1; }
base=${line#kiln listening on }
echo "# kiln listening on $base"

# An account and its key, over the admin API.
answer=$(curl -sS -X POST "$base/admin/v1/accounts" -H "Authorization: Bearer $admin_token" \
  -H 'Content-Type: application/json' -d '{"name":"conformance","plan":"pro","credits":100}')
key=$(node -e 'const a = JSON.parse(process.argv[1]); if (!a.api_key) process.exit(1); console.log(a.api_key)' "$answer") || {
  echo "error: POST /admin/v1/accounts answered: $answer" >&2; exit 1; }

# The proxy that adds the key.
KILN_API_KEY="$key" node "$here/auth_proxy.mjs" "$base" >"$tmp/proxy.out" 2>&1 &
proxy_pid=$!
line=$(wait_line "$tmp/proxy.out" '^auth proxy listening on http://127\.0\.0\.1:[0-9]+' "$proxy_pid")
url="${line#auth proxy listening on }/mcp"
echo "# auth proxy in front of it: $url"

# The scenarios, run in the temp dir (the runner writes results/ where it is told).
passed=0
failed=0
for scenario in "${scenarios[@]}"; do
  echo
  echo "# ==== conformance scenario $scenario"
  rc=0
  (cd "$tmp" && timeout 180 "$runner" server --url "$url" --scenario "$scenario" -o "$tmp/results") || rc=$?
  shopt -s nullglob
  files=("$tmp/results/server-$scenario-"*/checks.json)
  shopt -u nullglob
  verdict=0
  if [ ${#files[@]} -ne 1 ]; then
    echo "not ok - $scenario: expected one checks.json, found ${#files[@]} (runner exit code $rc)"
    verdict=1
  else
    # Every check must be SUCCESS; print the others with their messages and details.
    node -e '
      const checks = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      let bad = 0;
      if (!Array.isArray(checks) || checks.length === 0) { console.log("not ok - no checks recorded"); process.exit(1); }
      for (const c of checks) {
        if (c.status === "SUCCESS") { console.log(`ok - ${process.argv[2]}: ${c.id}: ${c.description}`); continue; }
        bad++;
        console.log(`not ok - ${process.argv[2]}: ${c.id}: ${c.status}: ${c.description}`);
        if (c.errorMessage) console.log(`    ${c.errorMessage}`);
        if (c.details) console.log(`    details: ${JSON.stringify(c.details)}`);
      }
      process.exit(bad === 0 ? 0 : 1);
    ' "${files[0]}" "$scenario" || verdict=1
    if [ "$rc" -ne 0 ]; then
      echo "not ok - $scenario: the conformance runner exited with $rc"
      verdict=1
    fi
  fi
  if [ "$verdict" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done

if [ "$failed" -ne 0 ]; then
  echo
  echo "# kiln stderr (last lines):"
  tail -n 30 "$tmp/kiln.err"
  echo "# auth proxy output:"
  tail -n 30 "$tmp/proxy.out"
fi
echo
echo "conformance: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
