#!/usr/bin/env bash
# Kiln benchmarks: submit throughput and latency, cancels, memory per queued job, end-to-end
# jobs/s, idempotency-key replays and memory per retained key, and a streamed 200 MiB upload.
# Starts its own servers on free ports with throw-away data directories and prints figures.
set -euo pipefail

usage() {
  cat <<USAGE
usage: benchmarks/run_benchmarks.sh [--duration SECONDS] [--connections N] [--queued N] [--keys N] [--only NAME]

  --duration S     length of each timed wrk run (default 10)
  --connections N  keep-alive connections (default 64)
  --queued N       jobs queued for the memory and restart measurement (default 100000)
  --keys N         distinct idempotency keys for the idempotency runs (default 100000)
  --pending N      pending webhook deliveries for the memory measurement (default 100000)
  --listed N       jobs in the account for the listing runs (default 100000)
  --only NAMES     run only these, comma-separated: submit, mcp, killa, list, cancel, memory
                   (with the restart after it), e2e, idempotency, webhooks, scheduler, uploads
Needs build/kiln, build/webhook_sink and build/scheduler_bench (scripts/build.sh) and wrk.
Prints one RESULT line per measurement.
USAGE
}

duration=10 connections=64 queued=100000 keys=100000 pending=100000 listed=100000 only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --queued) queued=$2; shift 2 ;;
    --keys) keys=$2; shift 2 ;;
    --pending) pending=$2; shift 2 ;;
    --listed) listed=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage; exit 2 ;;
  esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
kiln=${KILN_BINARY:-$root/build/kiln}
work=$(mktemp -d)
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# start_server NAME DEVICES_JSON [MORE_CONFIG]: starts kiln, sets $port, $server_pid and $key.
# The account is on an enterprise plan raised to 10M requests per minute and 100k concurrent
# jobs, so neither the rate limit nor plan concurrency is what the figures measure.
start_server() {
  local dir="$work/$1"
  mkdir -p "$dir"
  write_config "$dir" "$2" "${3:-}"
  launch_server "$dir"
  key=$(curl -sf -X POST "http://127.0.0.1:$port/admin/v1/accounts" -H 'Authorization: Bearer bench' \
    -H 'Content-Type: application/json' -d '{"name":"bench","plan":"enterprise","credits":1000000000}' |
    sed -n 's/.*"api_key":"\([^"]*\)".*/\1/p')
}

# write_config DIR DEVICES_JSON [MORE_CONFIG]
write_config() {
  cat > "$1/config.json" <<JSON
{"admin_token": "bench", "demo_account": false, "durability": "fsync", "devices": $2 ${3:+, $3},
 "plans": [{"name": "free", "rank": 0, "requests_per_minute": 60, "max_concurrent_jobs": 1},
           {"name": "starter", "rank": 1, "requests_per_minute": 300, "max_concurrent_jobs": 2},
           {"name": "pro", "rank": 2, "requests_per_minute": 1200, "max_concurrent_jobs": 8},
           {"name": "enterprise", "rank": 3, "requests_per_minute": 10000000, "max_concurrent_jobs": 100000}]}
JSON
}

# launch_server DIR: starts kiln on DIR's config and data directory; sets $port and $server_pid.
launch_server() {
  local dir=$1
  : > "$dir/stdout"  # a restart must not read the previous run's listening line
  # The script's own KILN_* variables are not settings: kiln refuses unknown ones.
  env -u KILN_BINARY -u KILN_SINK -u KILN_SCHEDULER_BENCH "$kiln" serve --config "$dir/config.json" --data-dir "$dir/data" --listen 127.0.0.1:0 \
    --log-level warn > "$dir/stdout" 2> "$dir/stderr" &
  server_pid=$!
  port=""
  for _ in $(seq 2000); do
    port=$(sed -n 's|^kiln listening on http://127.0.0.1:\([0-9]*\)$|\1|p' "$dir/stdout" 2>/dev/null || true)
    [ -n "$port" ] && break
    sleep 0.01
  done
  [ -n "$port" ] || { echo "kiln did not start:"; cat "$dir/stderr"; exit 1; }
}

# wait_terminal COUNT: until COUNT jobs have succeeded or failed.
wait_terminal() {
  while [ "$(( $(metric kiln_jobs_succeeded_total) + $(metric kiln_jobs_failed_total) ))" -lt "$1" ]; do
    sleep 0.1
  done
}

# submit_until COUNT LABEL SCRIPT: 2 s wrk rounds of SCRIPT (with the caller's KILN_* variables)
# until COUNT jobs were created; wrk always runs its whole -d, so rounds stay short.
submit_until() {
  while [ "$(metric kiln_jobs_created_total)" -lt "$1" ]; do
    KILN_KEY=$key wrk -t2 -c"$connections" -d2s -s "$root/benchmarks/$3" \
      "http://127.0.0.1:$port/v1/jobs" > /dev/null
    echo "  $2: created $(metric kiln_jobs_created_total) of $1 jobs" >&2
  done
}

# wants NAME: whether --only is empty or lists NAME.
wants() { [ -z "$only" ] || [[ ",$only," == *",$1,"* ]]; }

stop_server() { kill -TERM "$server_pid"; wait "$server_pid" || true; server_pid=""; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$server_pid/status"; }
metric() { curl -sf "http://127.0.0.1:$port/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

# Devices that serve no model in the catalog: jobs stay queued, so only the submit path is timed.
parked='[{"id": "parked", "executor": "sim", "slots": 1, "models": ["none"]}]'

echo "kiln benchmarks on $(nproc) cores, $(date -u +%Y-%m-%dT%H:%M:%SZ), durability fsync"

if wants submit; then
  start_server submit "$parked"
  KILN_KEY=$key wrk -t2 -c"$connections" -d"${duration}s" -s "$root/benchmarks/submit.lua" \
    "http://127.0.0.1:$port/v1/jobs" | grep RESULT | sed "s/^RESULT/RESULT submit connections=$connections/"
  echo "RESULT submit store_batches=$(metric kiln_store_batches_total) fsyncs=$(metric kiln_store_syncs_total)"
  stop_server
fi

# compare NAME SCRIPT PATH [BODY]: SCRIPT against PATH (with KILN_BODY=BODY when given),
# interleaved with the core submit on the same server (core, NAME, core, NAME), each for the
# duration; prints each round and the ratio of the summed rates.
compare() {
  local name=$1 script=$2 path=$3 body=${4:-} core_rate=0 rate=0 line
  for round in 1 2; do
    line=$(KILN_KEY=$key wrk -t2 -c"$connections" -d"${duration}s" -s "$root/benchmarks/submit.lua" \
      "http://127.0.0.1:$port/v1/jobs" | grep RESULT)
    echo "${line/RESULT/RESULT $name-core-submit round=$round connections=$connections}"
    core_rate=$((core_rate + $(sed -n 's/.*requests_per_s=\([0-9]*\).*/\1/p' <<<"$line")))
    line=$(env KILN_KEY="$key" ${body:+KILN_BODY="$body"} wrk -t2 -c"$connections" \
      -d"${duration}s" -s "$root/benchmarks/$script" "http://127.0.0.1:$port$path" | grep RESULT)
    echo "${line/RESULT/RESULT $name round=$round connections=$connections}"
    rate=$((rate + $(sed -n 's/.*requests_per_s=\([0-9]*\).*/\1/p' <<<"$line")))
  done
  echo "RESULT $name vs_core_submit=$(awk -v a="$rate" -v b="$core_rate" 'BEGIN {printf "%.2f", a / b}')"
}

if wants mcp; then
  # MCP tools/call create_job: every create is fsynced, as with REST.
  start_server mcp "$parked"
  compare mcp-create-job mcp_create.lua /mcp
  stop_server
fi

if wants killa; then
  # Killa's POST /api/v1/media/jobs: the same job held and fsynced (qwen-image, not flux2-turbo).
  start_server killa "$parked"
  compare killa-submit submit.lua /api/v1/media/jobs \
    '{"task":"image.generate","input":{"prompt":"a lighthouse at dusk, oil painting","width":512,"height":512}}'
  stop_server
fi

if wants list; then
  # One account with --listed queued jobs: a core page (newest first, cursor; then filtered by
  # status) against agent.media's page with its total (first page, then deep offsets: each
  # skipped job is one index key visited), interleaved, two rounds each.
  start_server list "$parked"
  submit_until "$listed" list submit.lua
  for round in 1 2; do
    for run in "core-list /v1/jobs?limit=20" \
               "core-list-status /v1/jobs?limit=20&status=queued" \
               "agent-media-list /api/v1/videos?limit=20" \
               "agent-media-list-offset /api/v1/videos?limit=20&offset=5000&sort=oldest" \
               "agent-media-list-offset-max /api/v1/videos?limit=20&offset=10000"; do
      set -- $run
      KILN_KEY=$key wrk -t2 -c"$connections" -d"${duration}s" -s "$root/benchmarks/get.lua" \
        "http://127.0.0.1:$port$2" | grep RESULT |
        sed "s/^RESULT/RESULT $1 round=$round jobs=$(metric kiln_jobs_created_total) connections=$connections/"
    done
  done
  total=$(curl -sf "http://127.0.0.1:$port/api/v1/videos?limit=1" -H "Authorization: Bearer $key" |
    sed -n 's/.*"total":\([0-9]*\).*/\1/p')
  echo "RESULT list total_reported=$total"
  stop_server
fi

if wants cancel; then
  # Queue jobs on parked devices, collect their ids, then cancel them (each a durable cancel
  # and a durable release) for a third of the submit duration.
  start_server cancel "$parked"
  KILN_KEY=$key wrk -t2 -c"$connections" -d"${duration}s" -s "$root/benchmarks/submit.lua" \
    "http://127.0.0.1:$port/v1/jobs" > /dev/null
  cursor=""
  : > "$work/job_ids"
  while :; do
    page=$(curl -sf "http://127.0.0.1:$port/v1/jobs?limit=100${cursor:+&cursor=$cursor}" \
      -H "Authorization: Bearer $key")
    grep -o '"id":"job_[^"]*"' <<< "$page" | cut -d'"' -f4 >> "$work/job_ids"
    cursor=$(sed -n 's/.*"next_cursor":"\([0-9a-f]*\)".*/\1/p' <<< "$page")
    [ -n "$cursor" ] || break
  done
  echo "  queued $(wc -l < "$work/job_ids") jobs to cancel" >&2
  KILN_KEY=$key KILN_JOB_IDS="$work/job_ids" KILN_THREADS=2 wrk -t2 -c"$connections" \
    -d"$(( duration / 3 > 0 ? duration / 3 : 1 ))s" -s "$root/benchmarks/cancel.lua" \
    "http://127.0.0.1:$port" | grep RESULT | sed 's/^RESULT/RESULT cancel/'
  balance=$(curl -sf "http://127.0.0.1:$port/v1/balance" -H "Authorization: Bearer $key")
  echo "RESULT cancel balance=$balance"
  stop_server
fi

if wants memory; then
  start_server memory "$parked"
  before=$(rss_kib)
  created=0
  while [ "$created" -lt "$queued" ]; do  # short rounds: wrk always runs its whole -d
    KILN_KEY=$key wrk -t2 -c"$connections" -d1s -s "$root/benchmarks/submit.lua" \
      "http://127.0.0.1:$port/v1/jobs" > /dev/null
    created=$(metric kiln_jobs_created_total)
    echo "  queued $created jobs" >&2
  done
  after=$(rss_kib)
  # CAF 0.17 keeps each request's timeout entry until it fires (15 s at most): wait that out,
  # so the settled figure is what the queued jobs themselves cost.
  sleep 16
  settled=$(rss_kib)
  echo "RESULT memory queued_jobs=$created rss_before_kib=$before rss_after_burst_kib=$after" \
    "rss_settled_kib=$settled bytes_per_queued_job_after_burst=$(( (after - before) * 1024 / created ))" \
    "bytes_per_queued_job_settled=$(( (settled - before) * 1024 / created ))"
  # Restart on the same data: how soon the server listens and every queued job is back in the
  # scheduler's queue, and what they cost then.
  stop_server
  started=$(date +%s.%N)
  launch_server "$work/memory"
  listening=$(date +%s.%N)
  while [ "$(curl -sf "http://127.0.0.1:$port/admin/v1/devices" -H 'Authorization: Bearer bench' |
             sed -n 's/.*"queued":\([0-9]*\).*/\1/p')" != "$created" ]; do sleep 0.01; done
  requeued=$(date +%s.%N)
  echo "RESULT restart queued_jobs=$created" \
    "listening_s=$(awk -v a="$started" -v b="$listening" 'BEGIN {printf "%.2f", b - a}')" \
    "all_queued_s=$(awk -v a="$started" -v b="$requeued" 'BEGIN {printf "%.2f", b - a}')" \
    "rss_kib=$(rss_kib) bytes_per_queued_job=$(( ($(rss_kib) - before) * 1024 / created ))"
  stop_server
fi

if wants e2e; then
  devices='['
  for i in 0 1 2 3 4 5 6 7; do
    devices+="{\"id\": \"sim-$i\", \"executor\": \"sim\", \"slots\": 4, \"latency_ms\": 0},"
  done
  devices="${devices%,}]"
  start_server e2e "$devices"
  started=$(date +%s.%N)
  KILN_KEY=$key wrk -t2 -c"$connections" -d"${duration}s" -s "$root/benchmarks/submit.lua" \
    "http://127.0.0.1:$port/v1/jobs" | grep RESULT | sed 's/^RESULT/RESULT e2e-submit/'
  created=$(metric kiln_jobs_created_total)
  wait_terminal "$created"
  finished=$(date +%s.%N)
  succeeded=$(metric kiln_jobs_succeeded_total)
  echo "RESULT e2e jobs=$created succeeded=$succeeded devices=8x4 latency_ms=0" \
    "jobs_per_s=$(awk -v n="$succeeded" -v a="$started" -v b="$finished" 'BEGIN {printf "%d", n / (b - a)}')"
  stop_server
fi

if wants idempotency; then
  # Replays of one hot key: every request but the first is answered from the key's binding.
  start_server idempotency-hot "$parked"
  KILN_KEY=$key KILN_HOT_KEY=hot wrk -t2 -c"$connections" -d"${duration}s" \
    -s "$root/benchmarks/keyed.lua" "http://127.0.0.1:$port/v1/jobs" |
    grep RESULT | sed 's/^RESULT/RESULT idempotency-hot-key/'
  echo "RESULT idempotency-hot-key jobs_created=$(metric kiln_jobs_created_total)" \
    "replays=$(metric kiln_idempotent_replays_total)"
  stop_server

  # Replays spread over $keys distinct keys: bind them all, then replay them in turn.
  start_server idempotency-keys "$parked"
  KILN_KEYS=$keys KILN_STATE="$work/keys-bound" submit_until "$keys" "binding keys" keyed.lua
  replays_before=$(metric kiln_idempotent_replays_total)
  KILN_KEY=$key KILN_KEYS=$keys wrk -t2 -c"$connections" -d"${duration}s" \
    -s "$root/benchmarks/keyed.lua" "http://127.0.0.1:$port/v1/jobs" |
    grep RESULT | sed "s/^RESULT/RESULT idempotency-distinct-keys keys=$keys/"
  echo "RESULT idempotency-distinct-keys jobs_created=$(metric kiln_jobs_created_total)" \
    "replays=$(( $(metric kiln_idempotent_replays_total) - replays_before ))"
  stop_server

  # Memory per retained key: the same $keys jobs run to completion on sim devices with and
  # without keys; the difference in resident memory is what the retained keys cost.
  devices='[{"id": "sim-0", "executor": "sim", "slots": 8, "latency_ms": 0}]'
  for mode in plain keyed; do
    start_server "retained-$mode" "$devices"
    before=$(rss_kib)
    if [ "$mode" = keyed ]; then
      KILN_KEYS=$keys KILN_STATE="$work/keys-retained" submit_until "$keys" "$mode" keyed.lua
    else
      submit_until "$keys" "$mode" submit.lua
    fi
    created=$(metric kiln_jobs_created_total)
    wait_terminal "$created"
    sleep 16  # CAF 0.17 request timers of the burst expire (see the memory run)
    rss=$(rss_kib)
    disk=$(du -sk "$work/retained-$mode/data/db" | cut -f1)
    echo "RESULT idempotency-retained mode=$mode jobs=$created rss_before_kib=$before rss_kib=$rss db_kib=$disk"
    eval "rss_$mode=\$(( rss - before )) jobs_$mode=\$created disk_$mode=\$disk"
    [ "$mode" = keyed ] && keyed_key=$key
    stop_server
  done
  # Retained keys live in RocksDB, not in actors: a restart on the keyed data directory loads
  # none of them, so its resident memory is that of a fresh server plus RocksDB's index blocks.
  launch_server "$work/retained-keyed"
  sleep 2
  echo "RESULT idempotency-retained after_restart_rss_kib=$(rss_kib) fresh_server_rss_kib=$before" \
    "replay_after_restart=$(curl -s -D - -o /dev/null -X POST "http://127.0.0.1:$port/v1/jobs" \
      -H "Authorization: Bearer $keyed_key" -H 'Content-Type: application/json' -H 'Idempotency-Key: k-0' \
      -d '{"type":"image","model":"flux2-turbo","prompt":"a lighthouse at dusk, oil painting","params":{"width":512,"height":512}}' |
      tr -d '\r' | awk -F': ' 'tolower($1) == "idempotent-replayed" {print $2}')"
  stop_server
  echo "RESULT idempotency-retained bytes_rss_per_key=$(( (rss_keyed * 1024 / jobs_keyed) - (rss_plain * 1024 / jobs_plain) ))" \
    "bytes_disk_per_key=$(( (disk_keyed * 1024 / jobs_keyed) - (disk_plain * 1024 / jobs_plain) ))"
fi

if wants webhooks; then
  # Deliveries per second: jobs on 8x4 sim devices at 0 ms, each with a webhook_url pointing at
  # a local receiver that answers 204; timed from the first submit to the last delivery.
  sink=${KILN_SINK:-$root/build/webhook_sink}
  "$sink" > "$work/sink.out" &
  sink_pid=$!
  for _ in $(seq 100); do
    sink_port=$(sed -n 's/^listening on //p' "$work/sink.out" 2>/dev/null || true)
    [ -n "$sink_port" ] && break
    sleep 0.05
  done
  hook_body='{"type":"image","model":"flux2-turbo","prompt":"a lighthouse","webhook_url":"http://127.0.0.1:'$sink_port'/hook"}'
  devices='['
  for i in 0 1 2 3 4 5 6 7; do
    devices+="{\"id\": \"sim-$i\", \"executor\": \"sim\", \"slots\": 4, \"latency_ms\": 0},"
  done
  devices="${devices%,}]"
  start_server webhooks "$devices" '"webhooks": {"allow_private_targets": true}'
  started=$(date +%s.%N)
  KILN_KEY=$key KILN_BODY=$hook_body wrk -t2 -c"$connections" -d"${duration}s" \
    -s "$root/benchmarks/submit.lua" "http://127.0.0.1:$port/v1/jobs" |
    grep RESULT | sed 's/^RESULT/RESULT webhooks-submit/'
  created=$(metric kiln_jobs_created_total)
  while [ "$(( $(metric kiln_webhooks_delivered_total) + $(metric kiln_webhooks_failed_total) ))" -lt "$created" ]; do
    sleep 0.1
  done
  finished=$(date +%s.%N)
  delivered=$(metric kiln_webhooks_delivered_total)
  echo "RESULT webhooks jobs=$created delivered=$delivered attempts=$(metric kiln_webhook_attempts_total)" \
    "deliveries_per_s=$(awk -v n="$delivered" -v a="$started" -v b="$finished" 'BEGIN {printf "%d", n / (b - a)}')"
  stop_server
  kill -TERM "$sink_pid"; wait "$sink_pid" || true

  # Memory per pending delivery: $pending jobs whose webhook_url refuses connections, so every
  # delivery waits 10 minutes for its second attempt, against the same jobs without a webhook_url.
  refused_body='{"type":"image","model":"flux2-turbo","prompt":"a lighthouse","webhook_url":"http://127.0.0.1:9/hook"}'
  plain_body='{"type":"image","model":"flux2-turbo","prompt":"a lighthouse"}'
  devices='[{"id": "sim-0", "executor": "sim", "slots": 8, "latency_ms": 0}]'
  for mode in plain pending; do
    start_server "deliveries-$mode" "$devices" \
      '"webhooks": {"allow_private_targets": true, "retry_schedule_ms": [0, 600000]}'
    before=$(rss_kib)
    body=$plain_body
    [ "$mode" = pending ] && body=$refused_body
    KILN_BODY=$body submit_until "$pending" "$mode" submit.lua
    created=$(metric kiln_jobs_created_total)
    wait_terminal "$created"
    if [ "$mode" = pending ]; then
      while [ "$(metric kiln_webhook_attempts_total)" -lt "$created" ]; do sleep 0.2; done
    fi
    sleep 16  # CAF 0.17 request timers of the burst expire (see the memory run)
    rss=$(rss_kib)
    echo "RESULT webhooks-memory mode=$mode jobs=$created attempts=$(metric kiln_webhook_attempts_total)" \
      "rss_before_kib=$before rss_kib=$rss"
    eval "rss_$mode=\$(( rss - before )) jobs_$mode=\$created"
    stop_server
  done
  echo "RESULT webhooks-memory bytes_per_pending_delivery=$(( (rss_pending * 1024 / jobs_pending) - (rss_plain * 1024 / jobs_plain) ))"
fi

if wants uploads; then
  # A 200 MiB upload (a WAV header, then zeros) PUT with curl: the body streams to disk, so the
  # server's resident memory grows by a buffer, not by the file (issue 18: under 32 MiB).
  start_server uploads '[{"id": "sim-0", "executor": "sim", "slots": 1, "latency_ms": 0}]'
  file="$work/upload.wav"
  size=$(( 200 * 1024 * 1024 ))
  printf 'RIFF\xff\xff\xff\xffWAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\xc0\x5d\x00\x00\x80\xbb\x00\x00\x02\x00\x10\x00data\xff\xff\xff\xff' > "$file"
  head -c $(( size - 44 )) /dev/zero >> "$file"
  url=$(curl -sf -X POST "http://127.0.0.1:$port/v1/uploads" -H "Authorization: Bearer $key" |
    sed -n 's/.*"upload_url":"\([^"]*\)".*/\1/p')
  before=$(rss_kib)
  started=$(date +%s.%N)
  status=$(curl -s -o "$work/upload.json" -w '%{http_code}' -X PUT -H 'Content-Type: audio/wav' \
    --data-binary "@$file" "$url&name=big.wav")
  finished=$(date +%s.%N)
  after=$(rss_kib)
  peak=$(awk '/^VmHWM/ {print $2}' "/proc/$server_pid/status")
  echo "RESULT uploads bytes=$size status=$status rss_before_kib=$before rss_after_kib=$after" \
    "rss_peak_kib=$peak seconds=$(awk -v a="$started" -v b="$finished" 'BEGIN {printf "%.2f", b - a}')" \
    "mib_per_s=$(awk -v a="$started" -v b="$finished" 'BEGIN {printf "%.1f", 200 / (b - a)}')"
  # ... and served back from disk, not from memory.
  file_url=$(sed -n 's/.*"files":\[{[^}]*"url":"\([^"]*\)".*/\1/p' "$work/upload.json")
  started=$(date +%s.%N)
  got=$(curl -s -o /dev/null -w '%{size_download}' "$file_url")
  finished=$(date +%s.%N)
  echo "RESULT uploads-download bytes=$got rss_after_kib=$(rss_kib)" \
    "rss_peak_kib=$(awk '/^VmHWM/ {print $2}' "/proc/$server_pid/status")" \
    "seconds=$(awk -v a="$started" -v b="$finished" 'BEGIN {printf "%.2f", b - a}')"
  stop_server
  rm -f "$file"
fi

if wants scheduler; then
  # Dispatch latency of the real scheduler actor with $queued jobs over 1000 accounts.
  "${KILN_SCHEDULER_BENCH:-$root/build/scheduler_bench}" --jobs "$queued" --accounts 1000 --devices 32
fi
