// Shared request parsing for the resource handlers.
#include "http/detail/request_parsing.hpp"

#include "config/limits.hpp"
#include "models/idempotency.hpp"

#include <algorithm>
#include <charconv>

namespace kiln::http {

std::optional<simdjson::dom::object> read_object(const call_ptr& c, simdjson::dom::parser& parser,
                                                 std::initializer_list<std::string_view> allowed) {
  simdjson::dom::element root;
  simdjson::dom::object object;
  if (parser.parse(c->req.body).get(root) != simdjson::SUCCESS ||
      root.get_object().get(object) != simdjson::SUCCESS) {
    reply_error(c, make_api_error(error_code::invalid_json, "the body must be a JSON object"));
    return std::nullopt;
  }
  for (auto field : object) {
    if (std::find(allowed.begin(), allowed.end(), field.key) == allowed.end()) {
      std::string key(field.key);
      reply_error(c,
                  make_api_error(error_code::invalid_request, "unknown field '" + key + "'", key));
      return std::nullopt;
    }
  }
  return object;
}

/// An Idempotency-Key header that is sent must be a valid key: an empty one is a client's bug
/// (a variable left unset), and treating it as "no key" would create a job on every retry.
std::optional<idempotency_claim> read_idempotency_claim(const call_ptr& c) {
  const auto* named = c->req.find_header("idempotency-key");
  const auto* alias_named = c->req.find_header("x-idempotency-key");
  if (!named && !alias_named) return idempotency_claim{};
  std::string_view key = named ? *named : *alias_named;
  std::string_view alias = alias_named ? std::string_view(*alias_named) : key;
  if (!valid_idempotency_key(key) || alias != key) {
    reply_error(
      c, make_api_error(error_code::invalid_request,
                        alias == key ? "Idempotency-Key must be 1 to 255 printable ASCII characters"
                                     : "Idempotency-Key and X-Idempotency-Key differ",
                        "Idempotency-Key"));
    return std::nullopt;
  }
  // A front end may say what identifies its request (Killa: the task and input, not the
  // callback URL); otherwise the method, path and body do.
  const auto& body =
    c->front_end && !c->front_end->fingerprint.empty() ? c->front_end->fingerprint : c->req.body;
  return idempotency_claim{std::string(key), request_fingerprint(c->req.method, c->path, body)};
}

bool read_page(const call_ptr& c, std::uint32_t& limit, std::string& cursor) {
  limit = limits::page_limit_default;
  if (const auto* text = c->query_value("limit")) {
    auto parsed = std::from_chars(text->data(), text->data() + text->size(), limit);
    if (parsed.ec != std::errc{} || parsed.ptr != text->data() + text->size() ||
        limit < limits::page_limit_min || limit > limits::page_limit_max) {
      reply_error(c, make_api_error(error_code::invalid_request,
                                    "limit must be an integer from 1 to 100", "limit"));
      return false;
    }
  }
  if (const auto* text = c->query_value("cursor")) {
    if (text->size() != 16 || text->find_first_not_of("0123456789abcdef") != std::string::npos) {
      reply_error(c, make_api_error(error_code::invalid_request, "malformed cursor", "cursor"));
      return false;
    }
    cursor = *text;
  }
  return true;
}

bool read_listing_order(const call_ptr& c, std::uint32_t& offset, bool& oldest_first) {
  if (const auto* text = c->query_value("offset")) {
    auto parsed = std::from_chars(text->data(), text->data() + text->size(), offset);
    if (parsed.ec != std::errc{} || parsed.ptr != text->data() + text->size() ||
        offset > limits::page_offset_max) {
      reply_error(
        c, make_api_error(error_code::invalid_request,
                          "offset must be an integer from 0 to " +
                            std::to_string(limits::page_offset_max) + "; page further with cursor",
                          "offset"));
      return false;
    }
    if (offset > 0 && c->query_value("cursor")) {
      reply_error(c, make_api_error(error_code::invalid_request,
                                    "send either offset or cursor, not both", "offset"));
      return false;
    }
  }
  if (const auto* text = c->query_value("order")) {
    if (*text != "asc" && *text != "desc") {
      reply_error(c, make_api_error(error_code::invalid_request,
                                    "order must be desc (newest first) or asc", "order"));
      return false;
    }
    oldest_first = *text == "asc";
  }
  return true;
}

}  // namespace kiln::http
