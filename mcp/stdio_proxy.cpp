// The stdio proxy: stdin lines -> POST {url}/mcp -> stdout lines.
#include "mcp/stdio_proxy.hpp"

#include "base/logging.hpp"
#include "mcp/jsonrpc.hpp"
#include "models/json_read.hpp"
#include "models/json_writer.hpp"
#include "outbound/http_client.hpp"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <mutex>

namespace kiln::mcp {
namespace {

/// What the proxy shares between stdin's reader and the client threads that get the answers.
struct proxy_state {
  std::mutex mutex;
  std::condition_variable idle;
  std::size_t in_flight = 0;
  std::string protocol_version;  ///< negotiated by initialize; sent on every later POST
  std::FILE* out = nullptr;

  void write_line(std::string_view line) {
    std::lock_guard lock(mutex);
    std::fwrite(line.data(), 1, line.size(), out);
    std::fputc('\n', out);
    std::fflush(out);
  }
};

/// The answer to write for a POST's outcome: the server's JSON-RPC message as it is; for a
/// request that got none (401, 429, a dead server), an error for its id; nothing otherwise.
std::string answer_line(const message* sent, const outbound::outbound_result& result) {
  simdjson::dom::parser parser;
  simdjson::dom::object body;
  if (!result.body.empty() &&
      !parser.parse(result.body.data(), result.body.size()).get_object().get(body) &&
      body["jsonrpc"].error() == simdjson::SUCCESS)
    return result.body;
  if (!sent || sent->kind != message_kind::request) return {};
  std::string why = result.status == 0
                      ? "cannot reach the Kiln server: " + result.error
                      : "the Kiln server answered HTTP " + std::to_string(result.status) + ": " +
                          std::string(json_read::text_or(
                            parser.parse(result.body)["error"]["message"], "no details"));
  json_writer data;
  data.begin_object().field("status", static_cast<std::int64_t>(result.status));
  if (!result.retry_after.empty()) data.field("retry_after", result.retry_after);
  data.end_object();
  return error_message(sent->id, -32000, why, data.str());
}

}  // namespace

int run_stdio_proxy(const stdio_options& options, std::FILE* in, std::FILE* out) {
  auto endpoint = options.url + (options.tools == "kiln" ? "/mcp" : "/mcp/" + options.tools);
  outbound::client_options client_options;
  client_options.allow_private_targets = true;  // the operator's own server, often on loopback
  client_options.timeout = std::chrono::milliseconds(90000);  // get_job waits up to 60 s
  client_options.max_response_body = 16u << 20;
  client_options.max_per_endpoint = 32;
  outbound::http_client client(client_options);
  proxy_state state;
  state.out = out;
  auto log = logs::get("mcp");

  std::string line;
  for (int c = std::fgetc(in);; c = std::fgetc(in)) {
    if (c != '\n' && c != EOF) {
      line.push_back(static_cast<char>(c));
      continue;
    }
    if (line.find_first_not_of(" \t\r") != std::string::npos) {
      auto parsed = parse_message(line);
      auto sent = parsed.value ? std::make_shared<message>(*parsed.value) : nullptr;
      outbound::outbound_request request;
      request.url = endpoint;
      request.body = line;
      request.keep_body = true;
      request.headers = {{"Authorization", "Bearer " + options.api_key},
                         {"Accept", "application/json, text/event-stream"}};
      {
        std::lock_guard lock(state.mutex);
        if (!state.protocol_version.empty())
          request.headers.emplace_back("MCP-Protocol-Version", state.protocol_version);
        ++state.in_flight;
      }
      client.post(std::move(request), [&state, sent, log](outbound::outbound_result result) {
        if (result.status != 200 && result.status != 202)
          log->warn(R"("event":"mcp.forward_failed","status":{},"error":"{}")", result.status,
                    logs::json_text(result.error));
        if (sent && sent->method == "initialize" && result.status == 200) {
          simdjson::dom::parser parser;
          auto version =
            json_read::text_or(parser.parse(result.body)["result"]["protocolVersion"], "");
          std::lock_guard lock(state.mutex);
          state.protocol_version = std::string(version);
        }
        if (auto answer = answer_line(sent.get(), result); !answer.empty())
          state.write_line(answer);
        std::lock_guard lock(state.mutex);
        if (--state.in_flight == 0) state.idle.notify_all();
      });
    }
    line.clear();
    if (c == EOF) break;
  }
  std::unique_lock lock(state.mutex);
  state.idle.wait(lock, [&] { return state.in_flight == 0; });
  lock.unlock();
  client.stop();
  return 0;
}

}  // namespace kiln::mcp
