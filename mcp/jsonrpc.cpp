// JSON-RPC 2.0 messages: reading one with simdjson, writing answers with json_writer.
#include "mcp/jsonrpc.hpp"

#include "models/json_writer.hpp"

#include <simdjson.h>

namespace kiln::mcp {
namespace dom = simdjson::dom;

namespace {

parsed_message refuse(int code, std::string text, std::string id = "null") {
  parsed_message out;
  out.error_code = code;
  out.error_message = std::move(text);
  out.id = std::move(id);
  return out;
}

}  // namespace

parsed_message parse_message(std::string_view text) {
  thread_local dom::parser parser;
  dom::element root;
  if (parser.parse(text.data(), text.size()).get(root))
    return refuse(rpc::parse_error, "Parse error: the body is not JSON");
  if (root.is_array())
    return refuse(rpc::invalid_request, "Invalid Request: batches are not supported");
  dom::object object;
  if (root.get_object().get(object))
    return refuse(rpc::invalid_request, "Invalid Request: a message is a JSON object");

  message m;
  dom::element id;
  bool has_id = object["id"].get(id) == simdjson::SUCCESS;
  // An id we can read is echoed even when the rest of the message is wrong.
  std::string id_text;
  if (has_id && (id.is_string() || id.is_int64() || id.is_uint64() || id.is_double()))
    id_text = simdjson::minify(id);
  std::string_view version;
  if (object["jsonrpc"].get_string().get(version) || version != "2.0")
    return refuse(rpc::invalid_request, "Invalid Request: \"jsonrpc\" must be \"2.0\"",
                  id_text.empty() ? "null" : id_text);
  if (has_id && id_text.empty())
    return refuse(rpc::invalid_request, "Invalid Request: \"id\" must be a string or a number");

  dom::element method;
  bool has_method = object["method"].get(method) == simdjson::SUCCESS;
  if (!has_method) {
    bool answer =
      object["result"].error() == simdjson::SUCCESS || object["error"].error() == simdjson::SUCCESS;
    if (!answer || !has_id)
      return refuse(rpc::invalid_request, "Invalid Request: \"method\" is missing",
                    id_text.empty() ? "null" : id_text);
    m.kind = message_kind::response;
    m.id = std::move(id_text);
    return parsed_message{std::move(m), 0, {}, "null"};
  }
  std::string_view name;
  if (method.get_string().get(name) || name.empty())
    return refuse(rpc::invalid_request, "Invalid Request: \"method\" must be a non-empty string",
                  id_text.empty() ? "null" : id_text);
  m.method = std::string(name);
  m.kind = has_id ? message_kind::request : message_kind::notification;
  m.id = std::move(id_text);
  dom::element params;
  if (object["params"].get(params) == simdjson::SUCCESS) {
    if (!params.is_object())
      return refuse(rpc::invalid_params, "Invalid params: \"params\" must be an object",
                    m.id.empty() ? "null" : m.id);
    m.params = simdjson::minify(params);
  } else {
    m.params = "{}";
  }
  return parsed_message{std::move(m), 0, {}, "null"};
}

std::string result_message(std::string_view id, std::string_view result) {
  json_writer w;
  w.begin_object().field("jsonrpc", "2.0").key("id").raw(id).key("result").raw(result).end_object();
  return w.take();
}

std::string error_message(std::string_view id, int code, std::string_view text,
                          std::string_view data) {
  json_writer w;
  w.begin_object()
    .field("jsonrpc", "2.0")
    .key("id")
    .raw(id)
    .key("error")
    .begin_object()
    .field("code", static_cast<std::int64_t>(code))
    .field("message", text);
  if (!data.empty()) w.key("data").raw(data);
  w.end_object().end_object();
  return w.take();
}

}  // namespace kiln::mcp
