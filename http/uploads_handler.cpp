// Upload sessions (docs/decisions.md, "Uploads"): create and read them (authenticated, the
// owner's only), PUT a file into one (authorized by the upload URL's token alone, so a browser
// page can use it; the server has streamed the body to a temporary file) and serve a stored
// file through a signed URL. The upload actor checks, stores and probes; this only translates.
#include "config/limits.hpp"
#include "config/settings.hpp"
#include "http/actor_bridge.hpp"
#include "http/detail/call.hpp"
#include "http/detail/request_parsing.hpp"
#include "http/router.hpp"
#include "models/media_probe.hpp"
#include "models/upload.hpp"

#include <filesystem>
#include <optional>

namespace kiln::http {
namespace {

url_context upload_urls(const api_context& context, const call_ptr& c) {
  auto host = c->req.header("host");
  std::string base = "http://" + std::string(host.empty() ? "127.0.0.1" : host);
  return url_context{std::move(base), context.url_signing_key, context.clock->now_ms()};
}

/// `max_files` (1..20, default 10) and `purpose` of an optional JSON body; or answers 400/415.
bool read_create_body(const call_ptr& c, std::uint32_t& max_files, std::string& purpose) {
  max_files = limits::upload_session_files_default;
  if (c->req.body.empty()) return true;
  if (!is_json_body(c->req)) {
    reply_error(c, make_api_error(error_code::unsupported_media_type,
                                  "send the body as Content-Type: application/json"));
    return false;
  }
  simdjson::dom::parser parser;
  auto body = read_object(c, parser, {"max_files", "purpose"});
  if (!body) return false;
  if (simdjson::dom::element value; body->at_key("max_files").get(value) == simdjson::SUCCESS) {
    std::int64_t n = 0;
    if (value.get_int64().get(n) != simdjson::SUCCESS || n < 1 ||
        n > static_cast<std::int64_t>(limits::upload_session_files_max)) {
      reply_error(c, make_api_error(error_code::invalid_request,
                                    "max_files must be an integer from 1 to " +
                                      std::to_string(limits::upload_session_files_max),
                                    "max_files"));
      return false;
    }
    max_files = static_cast<std::uint32_t>(n);
  }
  if (simdjson::dom::element value; body->at_key("purpose").get(value) == simdjson::SUCCESS) {
    std::string_view text;
    if (value.get_string().get(text) != simdjson::SUCCESS ||
        text.size() > limits::upload_purpose_bytes_max) {
      reply_error(c, make_api_error(error_code::invalid_request,
                                    "purpose must be a string of at most " +
                                      std::to_string(limits::upload_purpose_bytes_max) + " bytes",
                                    "purpose"));
      return false;
    }
    purpose = std::string(text);
  }
  return true;
}

/// The stored file `index` of session `id` ("<index>.<ext>" in its directory) and the media type
/// its extension names; nullopt when there is none (never uploaded, or swept).
std::optional<std::pair<std::string, std::string>> find_stored(const std::string& uploads_dir,
                                                               std::string_view id,
                                                               std::string_view index) {
  auto safe = [](std::string_view s) {
    return !s.empty() && s.find_first_not_of(
                           "abcdefghijklmnopqrstuvwxyz"
                           "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == s.npos;
  };
  if (!safe(id) || !safe(index)) return std::nullopt;
  std::error_code ec;
  std::filesystem::directory_iterator it(uploads_dir + "/" + std::string(id), ec);
  for (; !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    auto name = it->path().filename().string();
    if (name.size() <= index.size() + 1 || !name.starts_with(index) || name[index.size()] != '.')
      continue;
    auto extension = name.substr(index.size() + 1);
    for (auto type : accepted_content_types())
      if (probe_extension_of(type) == extension)
        return std::pair{it->path().string(), std::string(type)};
  }
  return std::nullopt;
}

}  // namespace

bool is_upload_put(std::string_view method, std::string_view target) {
  auto path = target.substr(0, target.find('?'));
  auto parts = router<int>::split(path);
  return method == "PUT" && parts.size() == 4 && parts[0] == "v1" && parts[1] == "uploads" &&
         parts[3] == "files";
}

void create_upload(const api_context& context, const call_ptr& c) {
  std::uint32_t max_files = 0;
  std::string purpose;
  bool valid = read_create_body(c, max_files, purpose);
  if (!valid) return;
  answer_with<upload_session>(
    context, c, 201,
    [&context, max_files, purpose](auto* self, const principal& who) {
      return self->request(context.uploads, actor_reply_timeout, upload_create_atom::value,
                           who.account_id, max_files, purpose);
    },
    [&context, c](const upload_session& s) { return render_upload(s, upload_urls(context, c)); });
}

void get_upload(const api_context& context, const call_ptr& c) {
  answer_with<upload_session>(
    context, c, 200,
    [&context, c](auto* self, const principal& who) {
      return self->request(context.uploads, actor_reply_timeout, upload_get_atom::value,
                           who.account_id, c->params[0]);
    },
    [&context, c](const upload_session& s) { return render_upload(s, upload_urls(context, c)); });
}

/// The token in the URL authorizes the PUT: no API key is needed (the upload actor checks it).
void put_upload_file(const api_context& context, const call_ptr& c) {
  const auto* token = c->query_value("token");
  const auto* name = c->query_value("name");
  if (!token || token->empty())
    return reply_error(c, make_api_error(error_code::forbidden, "the upload URL has no token"));
  if (c->req.body_file.empty())  // a body the server did not stream: not an upload route's
    return reply_error(c, make_api_error(error_code::invalid_request, "send the file as the body"));
  upload_part part;
  part.session_id = c->params[0];
  part.token = *token;
  part.name = name ? name->substr(0, limits::upload_file_name_bytes_max) : std::string();
  part.declared_type = std::string(c->req.header("content-type"));
  part.temp_path = c->req.body_file;
  part.bytes = c->req.body_file_bytes;
  context.actors->post([&context, c, part = std::move(part)](caf::event_based_actor* self) {
    self->request(context.uploads, limits::upload_store_timeout, upload_put_atom::value, part)
      .then(
        [&context, c](upload_session& s) {
          auto r = json_response(201, render_upload(s, upload_urls(context, c)));
          r.headers.emplace_back("Location", "/v1/uploads/" + s.id);
          c->reply(std::move(r));
        },
        [c](caf::error& error) { reply_error(c, error); });
  });
}

void get_upload_file(const api_context& context, const call_ptr& c) {
  const auto& id = c->params[0];
  const auto& index = c->params[1];
  const auto* expires = c->query_value("expires");
  const auto* signature = c->query_value("signature");
  if (!expires || !signature ||
      !verify_upload_file_signature(id, index, *expires, *signature, context.url_signing_key,
                                    context.clock->now_ms()))
    return reply_error(c, make_api_error(error_code::forbidden,
                                         "the file URL is invalid, tampered with or expired"));
  // The signature covers (id, index): both are what Kiln handed out, never a path a client made.
  auto found = find_stored(context.uploads_dir, id, index);
  if (!found) return reply_error(c, make_api_error(error_code::not_found, "no such file"));
  response r;
  r.content_type = std::string(canonical_content_type(found->second));
  std::error_code ec;
  auto size = std::filesystem::file_size(found->first, ec);
  if (ec) return reply_error(c, make_api_error(error_code::not_found, "no such file"));
  r.content_length = size;  // HEAD
  r.body_file = found->first;
  r.headers.emplace_back("Cache-Control",
                         "private, max-age=" + std::to_string(limits::file_url_ttl.count()));
  c->reply(std::move(r));
}

}  // namespace kiln::http
