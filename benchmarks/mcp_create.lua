-- wrk script: MCP tools/call create_job (POST /mcp, one JSON-RPC message per request) with the
-- API key in KILN_KEY; prints one RESULT line. A tool result with isError counts as an error,
-- since MCP answers it with HTTP 200.
local key = os.getenv("KILN_KEY")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2025-11-25"
wrk.headers["Authorization"] = "Bearer " .. key
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"create_job",'
  .. '"arguments":{"type":"image","model":"flux2-turbo","prompt":"a lighthouse at dusk, oil painting",'
  .. '"params":{"width":512,"height":512}}}}'

tool_errors = 0  -- global: done() reads it from each thread
function response(status, headers, body)
  if not body:find('"isError":false', 1, true) then tool_errors = tool_errors + 1 end
end

-- Each wrk thread has its own Lua state: report the thread's count through a shared table.
local threads = {}
function setup(thread) table.insert(threads, thread) end
function done(summary, latency, requests)
  local failed = 0
  for _, thread in ipairs(threads) do failed = failed + (thread:get("tool_errors") or 0) end
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    "RESULT requests=%d non_2xx_or_errors=%d tool_errors=%d requests_per_s=%.0f p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, errors, failed, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
