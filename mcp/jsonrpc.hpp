// JSON-RPC 2.0 framing as MCP uses it: one message per HTTP POST or stdio line, ids that are
// strings or numbers (never null), params that are objects, and the standard error codes.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kiln::mcp {

/// JSON-RPC 2.0 error codes (and MCP's use of them).
namespace rpc {
constexpr int parse_error = -32700;       ///< the body is not JSON
constexpr int invalid_request = -32600;   ///< JSON, but not a JSON-RPC message (or a batch)
constexpr int method_not_found = -32601;  ///< no such method
constexpr int invalid_params = -32602;    ///< bad params, unknown tool, bad tool arguments
constexpr int internal_error = -32603;
constexpr int request_cancelled = -32800;  ///< answer to a request the client cancelled
}  // namespace rpc

enum class message_kind {
  request,       ///< method and id: answered
  notification,  ///< method, no id: never answered
  response,      ///< result or error with an id: a client's answer (Kiln sends no requests)
};

struct message {
  message_kind kind = message_kind::request;
  std::string id;      ///< the id as JSON text ("7", "\"a\""); empty for a notification
  std::string method;  ///< empty for a response
  std::string params;  ///< the params object as JSON text; "{}" when absent
};

/// A message, or the error to answer with (and the id to answer it under, "null" when unreadable).
struct parsed_message {
  std::optional<message> value;
  int error_code = 0;
  std::string error_message;
  std::string id = "null";
};

/// Reads one JSON-RPC message. Batches (JSON arrays) are refused with invalid_request: MCP
/// removed them in 2025-06-18, and no version of the official SDK sends them.
parsed_message parse_message(std::string_view text);

/// `{"jsonrpc":"2.0","id":ID,"result":RESULT}`; `result` is JSON text.
std::string result_message(std::string_view id, std::string_view result);
/// `{"jsonrpc":"2.0","id":ID,"error":{"code":C,"message":M[,"data":DATA]}}`; `data` is JSON text.
std::string error_message(std::string_view id, int code, std::string_view text,
                          std::string_view data = {});

}  // namespace kiln::mcp
