-- wrk script: POST /v1/jobs with the API key in KILN_KEY. With KILN_STOP_AFTER=N each wrk
-- thread stops after N responses (the run script divides its total by the thread count).
local key = os.getenv("KILN_KEY")
local stop_after = tonumber(os.getenv("KILN_STOP_AFTER") or "0")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. key
wrk.body = '{"type":"image","model":"flux2-turbo","prompt":"a lighthouse at dusk, oil painting",'
  .. '"params":{"width":512,"height":512}}'

local responses = 0
function response(status, headers, body)
  responses = responses + 1
  if stop_after > 0 and responses >= stop_after then wrk.thread:stop() end
end

function done(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    "RESULT requests=%d non_2xx_or_errors=%d requests_per_s=%.0f p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, errors, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
