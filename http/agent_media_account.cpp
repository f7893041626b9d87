// agent.media's API keys (seed 002, /api/v1/account/keys) over the core's /v1/keys: keys made
// here start with "ma_" (front_end_call::key_prefix), and since authentication hashes whatever
// key arrives they work on every route, the core's included. Answers in agent.media's shapes.
#include "config/limits.hpp"
#include "http/agent_media_routes.hpp"
#include "http/api.hpp"
#include "models/dialects/agent_media.hpp"
#include "models/json_read.hpp"
#include "models/json_writer.hpp"

#include <simdjson.h>

#include <memory>
#include <string>

namespace kiln::http {
namespace dom = simdjson::dom;

namespace {

/// agent.media's key prefix (the seed: "API keys use the ma_ prefix").
constexpr std::string_view key_prefix = "ma_";
/// Longest key name, in characters (the seed); the core also caps it at 200 bytes.
constexpr std::size_t key_name_chars_max = 100;
constexpr std::size_t key_name_bytes_max = 200;

response refusal(int status, std::string_view code, std::string_view message,
                 std::string_view type = "validation_error") {
  return enveloped_error(status, agent_media::render_error(code, message, type));
}

std::size_t chars(std::string_view text) {
  std::size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

/// The core error's code, "" when the body is not one.
std::string core_code(std::string_view body) {
  dom::parser parser;
  dom::element error;
  if (parser.parse(body.data(), body.size())["error"].get(error)) return {};
  return std::string(json_read::text_or(error["code"]));
}

/// The key name of a create body: "Default" when there is no body or no name; or the refusal.
bool read_key_name(const request& message, std::string& name, response& refused) {
  name = "Default";
  if (message.body.empty()) return true;
  dom::parser parser;
  dom::object body;
  if (parser.parse(message.body).get_object().get(body)) {
    refused = refusal(400, "invalid_json", "Request body is not a valid JSON object");
    return false;
  }
  for (auto [key, value] : body) {
    if (std::string_view(key) != "name") {
      refused = refusal(400, "unknown_field", "unknown field '" + std::string(key) + "'");
      return false;
    }
    if (value.is_null()) continue;
    std::string_view text;
    if (value.get_string().get(text) || text.empty() || chars(text) > key_name_chars_max ||
        text.size() > key_name_bytes_max) {
      refused = refusal(400, "invalid_name",
                        "name must be a string of 1 to 100 characters (at most 200 bytes)");
      return false;
    }
    name = std::string(text);
  }
  return true;
}

void create_key(api& core, const exchange_ptr& x) {
  if (!x->req.body.empty() && !is_json_body(x->req))
    return x->reply(
      refusal(415, "unsupported_media_type", "send the body as Content-Type: application/json"));
  // Authenticate first, as the core does: a caller without a key learns nothing of the body.
  core.authenticate(x, [&core, x] {
    std::string name;
    response refused;
    if (!read_key_name(x->req, name, refused)) return x->reply(std::move(refused));
    json_writer core_body;
    core_body.begin_object().field("name", name).end_object();
    auto front_end = std::make_shared<front_end_call>();
    front_end->key_prefix = std::string(key_prefix);
    core.dispatch_as(
      *x, inner_request(*x, "POST", "/v1/keys", core_body.take()),
      [x](response r) {
        if (r.status == 409 && core_code(r.body) == "key_limit")
          return x->reply(
            refusal(400, "key_limit_reached",
                    "an account has at most " + std::to_string(limits::api_keys_active_max) +
                      " active keys; revoke one with DELETE /api/v1/account/keys/{id}"));
        x->reply(passed_on(std::move(r), [](std::string_view created) {
          dom::parser parser;
          dom::element k;
          if (parser.parse(created.data(), created.size()).get(k)) return std::string("{}");
          json_writer w;
          w.begin_object()
            .field("key", json_read::text_or(k["key"]))
            .field("id", json_read::text_or(k["id"]))
            .field("key_prefix", json_read::text_or(k["prefix"]))
            .field("name", json_read::text_or(k["name"]))
            .field("created_at", json_read::text_or(k["created_at"]));
          return w.end_object().take();
        }));
      },
      std::move(front_end));
  });
}

void list_keys(api& core, const exchange_ptr& x) {
  core.authenticate(x, [&core, x] {
    core.dispatch_as(*x, inner_request(*x, "GET", "/v1/keys"), [x](response r) {
      x->reply(passed_on(std::move(r), [](std::string_view body) {
        json_writer w;
        w.begin_object().key("keys").begin_array();
        for_each_listed_key(body, [&](const listed_key& k) {
          w.begin_object()
            .field("id", k.id)
            .field("key_prefix", k.prefix)
            .field("name", k.name)
            .field("created_at", k.created_at)
            .key("last_used_at");
          if (k.last_used_at.empty()) w.null();
          else w.value(k.last_used_at);
          w.end_object();
        });
        return w.end_array().end_object().take();
      }));
    });
  });
}

void revoke_key(api& core, const exchange_ptr& x) {
  auto path = std::string_view(x->req.target).substr(0, x->req.target.find('?'));
  std::string id(path.substr(path.rfind('/') + 1));
  core.authenticate(x, [&core, x, id] {
    core.dispatch_as(*x, inner_request(*x, "DELETE", "/v1/keys/" + id), [x, id](response r) {
      if (r.status == 404)
        return x->reply(
          refusal(404, "key_not_found", "no active key has the id '" + id + "'", "not_found"));
      x->reply(passed_on(std::move(r), [&](std::string_view) {
        json_writer w;
        w.begin_object().field("revoked", true).field("id", id);
        return w.end_object().take();
      }));
    });
  });
}

}  // namespace

void mount_agent_media_account(api& core) {
  core.mount(
    "POST", "/api/v1/account/keys", [&core](const exchange_ptr& x) { create_key(core, x); }, false);
  core.mount(
    "GET", "/api/v1/account/keys", [&core](const exchange_ptr& x) { list_keys(core, x); }, false);
  core.mount(
    "DELETE", "/api/v1/account/keys/{id}", [&core](const exchange_ptr& x) { revoke_key(core, x); },
    false);
}

}  // namespace kiln::http
