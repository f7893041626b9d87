-- wrk script: POST /v1/jobs/{id}/cancel over the job ids in the file KILN_JOB_IDS, each id once
-- (thread i takes ids i, i + threads, ...). Prints one RESULT line with the 200s per second.
local key = os.getenv("KILN_KEY")
threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_index", #threads)
end

function init(args)
  ids, canceled, others = {}, 0, 0
  for line in io.lines(os.getenv("KILN_JOB_IDS")) do ids[#ids + 1] = line end
  step = tonumber(os.getenv("KILN_THREADS") or "2")
  position = thread_index
  headers = { ["Authorization"] = "Bearer " .. key }
end

function request()
  local id = ids[position]
  if id == nil then id = ids[1] end  -- ran out: a 409 costs the same path minus the writes
  position = position + step
  return wrk.format("POST", "/v1/jobs/" .. id .. "/cancel", headers)
end

function response(status, headers, body)
  if status == 200 then canceled = canceled + 1 else others = others + 1 end
end

function done(summary, latency, requests)
  local ok, rest = 0, 0
  for _, thread in ipairs(threads) do
    ok = ok + thread:get("canceled")
    rest = rest + thread:get("others")
  end
  io.write(string.format(
    "RESULT canceled=%d other_statuses=%d cancels_per_s=%.0f p50_ms=%.2f p99_ms=%.2f\n",
    ok, rest, ok / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000))
end
