// Streamable HTTP for MCP: origin and protocol-version checks, authentication, JSON-RPC dispatch,
// and tools/call answered through the REST routes.
#include "mcp/endpoint.hpp"

#include "base/logging.hpp"
#include "base/version.hpp"
#include "http/api.hpp"
#include "mcp/jsonrpc.hpp"
#include "models/json_writer.hpp"

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <mutex>
#include <unordered_map>

namespace kiln::mcp {
namespace dom = simdjson::dom;

namespace {

/// A tools/call whose answer is held (get_job with wait_seconds): notifications/cancelled from
/// the same account answers it at once, and the REST answer that comes later is dropped.
struct held_call {
  http::exchange_ptr outer;
  std::string id;
  std::atomic<bool> answered{false};
};

struct endpoint {
  http::api* core = nullptr;
  const tool_set* tools = nullptr;
  endpoint_options options;
  std::string tools_list;  ///< the tools/list result, made once
  std::mutex mutex;
  std::unordered_map<std::string, std::weak_ptr<held_call>> held;  ///< account + "\n" + id
};

void answer_error(const http::exchange_ptr& x, int status, std::string_view id, int code,
                  std::string_view text, std::string_view data = {}) {
  x->reply(http::json_response(status, error_message(id, code, text, data)));
}

bool is_loopback_origin(std::string_view origin) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (!origin.starts_with(scheme)) continue;
    auto host = origin.substr(scheme.size());
    for (std::string_view name : {"localhost", "127.0.0.1", "[::1]"})
      if (host == name ||
          (host.starts_with(name) && host[name.size()] == ':' && host.size() > name.size() + 1 &&
           host.find_first_not_of("0123456789", name.size() + 1) == std::string_view::npos))
        return true;
  }
  return false;
}

bool version_known(std::string_view version) {
  for (auto known : protocol_versions())
    if (known == version) return true;
  return false;
}

std::string initialize_result(std::string_view version, const tool_set& tools) {
  json_writer w;
  w.begin_object()
    .field("protocolVersion", version)
    .key("capabilities")
    .begin_object()
    .key("tools")
    .begin_object()
    .field("listChanged", false)
    .end_object()
    .end_object()
    .key("serverInfo")
    .begin_object()
    .field("name", "kiln")
    .field("title", "Kiln")
    .field("version", kiln::version)
    .end_object()
    .field("instructions", tools.instructions)
    .end_object();
  return w.take();
}

void initialize(const http::exchange_ptr& x, const endpoint& e, const message& m) {
  dom::parser parser;
  std::string_view asked;
  if (parser.parse(m.params)["protocolVersion"].get_string().get(asked))
    return answer_error(x, 200, m.id, rpc::invalid_params,
                        "Invalid params: \"protocolVersion\" must be a string");
  // The client's version when Kiln speaks it, else Kiln's newest (the client then decides).
  auto version = version_known(asked) ? asked : protocol_versions().front();
  x->reply(http::json_response(200, result_message(m.id, initialize_result(version, *e.tools))));
}

std::string held_key(const http::exchange& x, std::string_view id) {
  return x.who->account_id + "\n" + std::string(id);
}

void call_tool(const std::shared_ptr<endpoint>& e, const http::exchange_ptr& x, const message& m) {
  dom::parser parser;
  dom::object params = parser.parse(m.params).get_object().value_unsafe();
  std::string_view name;
  if (params["name"].get_string().get(name))
    return answer_error(x, 200, m.id, rpc::invalid_params,
                        "Invalid params: \"name\" must be the tool's name");
  const tool* t = e->tools->find(name);
  if (!t)
    return answer_error(x, 200, m.id, rpc::invalid_params,
                        "Unknown tool: " + std::string(name) + " (tools/list names them)");
  dom::element raw_arguments;
  dom::object arguments;
  dom::parser empty_parser;
  if (params["arguments"].get(raw_arguments) == simdjson::SUCCESS) {
    if (raw_arguments.get_object().get(arguments))
      return answer_error(x, 200, m.id, rpc::invalid_params,
                          "Invalid params: \"arguments\" must be an object");
  } else {
    arguments = empty_parser.parse(std::string_view("{}")).get_object().value_unsafe();
  }
  if (auto problem = check_arguments(*t, arguments)) {
    json_writer data;
    data.begin_object().field("field", problem->field).end_object();
    return answer_error(
      x, 200, m.id, rpc::invalid_params,
      "Invalid arguments for " + std::string(name) + ": " + problem->field + " " + problem->message,
      data.str());
  }
  auto rest = t->to_rest(arguments);
  auto inner =
    http::inner_request(*x, std::move(rest.method), std::move(rest.target), std::move(rest.body));
  for (auto& header : rest.headers) inner.headers.push_back(std::move(header));
  // A POST without a body (cancel_job) is still JSON to the route.
  if (inner.method == "POST" && !inner.find_header("content-type"))
    inner.headers.emplace_back("content-type", "application/json");
  // resource_link content came with protocol 2025-06-18; older clients would refuse it.
  bool links = x->req.header("mcp-protocol-version") >= std::string_view("2025-06-18");

  auto held = std::make_shared<held_call>();
  held->outer = x;
  held->id = m.id;
  std::string key;
  if (inner.find_header("prefer")) {
    key = held_key(*x, m.id);
    std::lock_guard lock(e->mutex);
    e->held[key] = held;
  }
  e->core->dispatch_as(*x, std::move(inner), [e, held, t, links, key](http::response r) {
    if (!key.empty()) {
      std::lock_guard lock(e->mutex);
      auto found = e->held.find(key);
      if (found != e->held.end() && found->second.lock() == held) e->held.erase(found);
    }
    if (held->answered.exchange(true)) return;  // canceled: answered already
    held->outer->reply(
      http::json_response(200, result_message(held->id, call_result(*t, r.status, r.body, links))));
  });
}

/// notifications/cancelled: a held wait of the same account with that request id is answered at
/// once (the client stopped listening for it); anything else is ignored, as the spec allows.
void cancel_held(endpoint& e, const http::exchange& x, std::string_view params) {
  dom::parser parser;
  dom::element request_id;
  if (parser.parse(params)["requestId"].get(request_id)) return;
  std::shared_ptr<held_call> held;
  {
    std::lock_guard lock(e.mutex);
    auto found = e.held.find(held_key(x, simdjson::minify(request_id)));
    if (found == e.held.end()) return;
    held = found->second.lock();
    e.held.erase(found);
  }
  if (held && !held->answered.exchange(true))
    held->outer->reply(http::json_response(
      200, error_message(held->id, rpc::request_cancelled, "Request cancelled")));
}

void serve(const std::shared_ptr<endpoint>& e, const http::exchange_ptr& x) {
  auto parsed = parse_message(x->req.body);
  if (!parsed.value)
    return answer_error(x, 400, parsed.id, parsed.error_code, parsed.error_message);
  const auto& m = *parsed.value;
  logs::get("mcp")->debug(
    R"("event":"mcp.message","request_id":"{}","trace_id":"{}","method":"{}","id":"{}")",
    x->request_id, x->trace_id, logs::json_text(m.method), logs::json_text(m.id));
  if (m.kind != message_kind::request) {
    if (m.method == "notifications/cancelled") cancel_held(*e, *x, m.params);
    http::response accepted;
    accepted.status = 202;
    return x->reply(std::move(accepted));
  }
  if (m.method == "initialize") return initialize(x, *e, m);
  if (m.method == "ping") return x->reply(http::json_response(200, result_message(m.id, "{}")));
  if (m.method == "tools/list")
    return x->reply(http::json_response(200, result_message(m.id, e->tools_list)));
  if (m.method == "tools/call") return call_tool(e, x, m);
  answer_error(x, 200, m.id, rpc::method_not_found, "Method not found: " + m.method);
}

}  // namespace

const std::vector<std::string_view>& protocol_versions() {
  static const std::vector<std::string_view> versions{"2025-11-25", "2025-06-18", "2025-03-26",
                                                      "2024-11-05", "2024-10-07"};
  return versions;
}

bool origin_allowed(std::string_view origin, const std::vector<std::string>& allowed) {
  if (allowed.empty()) return is_loopback_origin(origin);
  for (const auto& one : allowed)
    if (one.size() == origin.size() &&
        std::equal(one.begin(), one.end(), origin.begin(),
                   [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
      return true;
  return false;
}

void mount(http::api& core, std::string_view path, const tool_set& tools,
           endpoint_options options) {
  auto e = std::make_shared<endpoint>();
  e->core = &core;
  e->tools = &tools;
  e->options = std::move(options);
  e->tools_list = list_result(tools);
  core.mount(
    "POST", path,
    [e](const http::exchange_ptr& x) {
      // Before authentication: a page on another site must learn nothing, not even a 401.
      if (const auto* origin = x->req.find_header("origin");
          origin && !origin_allowed(*origin, e->options.allowed_origins))
        return answer_error(x, 403, "null", rpc::invalid_request,
                            "Forbidden: Origin " + *origin + " is not allowed");
      if (const auto* version = x->req.find_header("mcp-protocol-version");
          version && !version_known(*version))
        return answer_error(x, 400, "null", rpc::invalid_request,
                            "Bad Request: unsupported MCP-Protocol-Version " + *version);
      e->core->authenticate(x, [e, x] { serve(e, x); });
    },
    true);
}

}  // namespace kiln::mcp
