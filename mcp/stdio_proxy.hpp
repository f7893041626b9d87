// `kiln mcp`: MCP's stdio transport for clients that only spawn processes (desktop agents). It
// reads newline-delimited JSON-RPC on stdin, POSTs each message to a Kiln server's MCP endpoint
// with the API key, and writes the answers to stdout, one per line; logs go to stderr. It holds
// no data and no tools: the server answers everything, so both transports behave the same.
#pragma once

#include <cstdio>
#include <string>

namespace kiln::mcp {

struct stdio_options {
  std::string url = "http://127.0.0.1:8080";  ///< the server's base URL
  std::string tools = "kiln";                 ///< the tool set: "kiln" is POST /mcp
  std::string api_key;                        ///< sent as Authorization: Bearer
};

/// Serves `in` until it ends and every answer is written; returns the exit status (0, or 2 for
/// bad options). Messages are forwarded concurrently, so a long get_job wait holds up nothing.
int run_stdio_proxy(const stdio_options& options, std::FILE* in, std::FILE* out);

}  // namespace kiln::mcp
