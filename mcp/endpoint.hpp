// MCP's Streamable HTTP transport on the API's listener: one JSON-RPC message per POST, answered
// with one application/json response (a notification or a client's answer gets 202). Stateless:
// no Mcp-Session-Id, no server stream (GET and DELETE answer 405), so any server of a cluster can
// answer any POST. Each POST is authenticated and rate-counted like a REST request; the tools
// call the REST routes in-process as that caller (mcp/tools.hpp).
#pragma once

#include "mcp/tools.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace kiln::http {
class api;
}

namespace kiln::mcp {

struct endpoint_options {
  /// Origins a browser may call from ("https://app.example.com"); empty: loopback origins only
  /// (http(s)://localhost, 127.0.0.1 or [::1], any port). A request without Origin (not a
  /// browser) is not affected. The spec's defence against DNS rebinding.
  std::vector<std::string> allowed_origins;
};

/// The protocol versions Kiln speaks, newest first: every version the official SDK speaks.
const std::vector<std::string_view>& protocol_versions();

/// Whether a browser at `origin` may call the endpoint.
bool origin_allowed(std::string_view origin, const std::vector<std::string>& allowed);

/// Serves `tools` at POST `path` on `core`. Call before the server starts.
void mount(http::api& core, std::string_view path, const tool_set& tools, endpoint_options options);

}  // namespace kiln::mcp
