-- wrk script: POST /v1/jobs with an Idempotency-Key on every request; prints one RESULT line.
-- KILN_KEY: the API key. KILN_HOT_KEY: one key for every request (all but the first replay).
-- Otherwise KILN_KEYS distinct keys "k-0".."k-(N-1)", spread over the wrk threads (KILN_THREADS,
-- default 2) and cycled: the first pass binds them, later passes replay them. With KILN_STATE
-- each thread resumes where the previous run stopped (a file per thread), so short runs in a row
-- bind keys without replaying the ones bound before.
local api_key = os.getenv("KILN_KEY")
local hot = os.getenv("KILN_HOT_KEY")
local keys = tonumber(os.getenv("KILN_KEYS") or "100000")
local step = tonumber(os.getenv("KILN_THREADS") or "2")
local body = '{"type":"image","model":"flux2-turbo","prompt":"a lighthouse at dusk, oil painting",'
  .. '"params":{"width":512,"height":512}}'

local state = os.getenv("KILN_STATE")
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  n = id
  local saved = state and io.open(state .. "." .. id)
  if saved then
    n = tonumber(saved:read("*l")) or id
    saved:close()
  end
end

function request()
  local key = hot
  if not key then
    key = "k-" .. n
    n = n + step
    if n >= keys then n = id end
  end
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. api_key,
    ["Idempotency-Key"] = key,
  }, body)
end

function done(summary, latency, requests)
  if state then
    for _, thread in ipairs(threads) do
      local out = io.open(state .. "." .. thread:get("id"), "w")
      out:write(tostring(thread:get("n")))
      out:close()
    end
  end
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    "RESULT requests=%d non_2xx_or_errors=%d requests_per_s=%.0f p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, errors, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
