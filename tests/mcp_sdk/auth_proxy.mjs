// A tiny HTTP proxy that plays the part of an MCP client's configured API key for the official
// conformance runner, which sends no Authorization header and has no option to add one.
//
// Listens on 127.0.0.1 (port 0 = a free one, or the first argument) and forwards every request
// to the target unchanged: method, path, every header including the original Host and Origin
// (Kiln checks Origin before authentication: dns-rebinding-protection depends on it), and the
// body; the answer is streamed back with its status and headers. The one change: it adds
// `Authorization: Bearer $KILN_API_KEY` to a request that has none.
//
// Run: KILN_API_KEY=kiln_sk_... node tests/mcp_sdk/auth_proxy.mjs http://127.0.0.1:KILN_PORT [PORT]
// Prints `auth proxy listening on http://127.0.0.1:PORT` once it accepts connections.
// Used by tests/mcp_sdk/conformance.sh.

import http from "node:http";

const target = new URL(process.argv[2] ?? "");
const listenPort = Number(process.argv[3] ?? 0);
const apiKey = process.env.KILN_API_KEY;
if (target.protocol !== "http:" || !apiKey) {
  console.error("usage: KILN_API_KEY=kiln_sk_... node auth_proxy.mjs http://HOST:PORT [LISTEN_PORT]");
  process.exit(2);
}

const server = http.createServer((req, res) => {
  // rawHeaders keeps every header as sent (names, repeats, Host and Origin included).
  const headers = [];
  let hasAuth = false;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i].toLowerCase() === "authorization") hasAuth = true;
    headers.push(req.rawHeaders[i], req.rawHeaders[i + 1]);
  }
  if (!hasAuth) headers.push("Authorization", `Bearer ${apiKey}`);

  const upstream = http.request({
    host: target.hostname,
    port: target.port,
    method: req.method,
    path: req.url,
    headers, // an array of raw name/value pairs: sent as they are, Host included
    setHost: false,
  });
  upstream.on("response", (up) => {
    res.writeHead(up.statusCode, up.statusMessage, up.rawHeaders);
    up.pipe(res);
  });
  upstream.on("error", (err) => {
    console.error(`auth proxy: ${req.method} ${req.url}: ${err.message}`);
    if (!res.headersSent) res.writeHead(502, { "Content-Type": "text/plain" });
    res.end(`auth proxy: ${err.message}\n`);
  });
  req.pipe(upstream);
});

server.listen(listenPort, "127.0.0.1", () => {
  console.log(`auth proxy listening on http://127.0.0.1:${server.address().port}`);
});
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(0));
