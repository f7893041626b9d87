-- wrk script: GET the URL's path with the API key in KILN_KEY; prints one RESULT line.
local key = os.getenv("KILN_KEY")
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer " .. key

function done(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    "RESULT requests=%d non_2xx_or_errors=%d requests_per_s=%.0f p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, errors, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
