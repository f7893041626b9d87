// Talking MCP to the real server in end-to-end tests: one JSON-RPC message per POST /mcp, as
// the official SDK's Streamable HTTP transport sends it after initialize.
#pragma once

#include "tests/support/http_client.hpp"
#include "tests/support/json.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace kiln::test {

/// The protocol version the SDK negotiates with Kiln (and sends on every later POST).
inline const std::string mcp_version = "2025-11-25";

/// POSTs `body` to /mcp with the key, the JSON content type and MCP-Protocol-Version.
inline http_response mcp_post(http_client& http, const std::string& key, const std::string& body,
                              header_list extra = {}) {
  header_list headers{{"Content-Type", "application/json"},
                      {"Accept", "application/json, text/event-stream"},
                      {"MCP-Protocol-Version", mcp_version}};
  if (!key.empty()) headers.emplace_back("Authorization", "Bearer " + key);
  headers.insert(headers.end(), extra.begin(), extra.end());
  return http.request("POST", "/mcp", body, headers);
}

/// A JSON-RPC request with a numeric id.
inline std::string rpc_request(int id, const std::string& method,
                               const std::string& params = "{}") {
  return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) + R"(,"method":")" + method +
         R"(","params":)" + params + "}";
}

/// tools/call `name` with `arguments`; requires a 200 JSON-RPC result and returns the result
/// (content, structuredContent, isError).
inline json call_tool(http_client& http, const std::string& key, const std::string& name,
                      const std::string& arguments = "{}", header_list extra = {}) {
  static int next_id = 1000;
  auto answer = mcp_post(http, key,
                         rpc_request(next_id++, "tools/call",
                                     R"({"name":")" + name + R"(","arguments":)" + arguments + "}"),
                         std::move(extra));
  INFO(answer.body);
  REQUIRE(answer.status == 200);
  auto message = json::parse(answer.body);
  REQUIRE(message.has("result"));
  return message["result"];
}

}  // namespace kiln::test
