// Upload sessions; see the header.
#include "models/upload.hpp"

#include "config/limits.hpp"
#include "models/crypto.hpp"
#include "models/json_writer.hpp"
#include "models/media_probe.hpp"

namespace kiln {
namespace {

std::string file_key(std::string_view session_id, std::string_view index) {
  return "upload\n" + std::string(session_id) + "/" + std::string(index);
}

/// A time as the rest of the API writes it (RFC 3339, UTC).
void time_field(json_writer& w, std::string_view name, std::int64_t ms) {
  w.field(name, format_time_ms(ms));
}

}  // namespace

std::string upload_token(const upload_session& session, std::string_view key) {
  return crypto::hex(crypto::hmac_sha256(
    key, "upload-token\n" + session.id + "\n" + std::to_string(session.expires_at_ms)));
}

bool upload_token_valid(const upload_session& session, std::string_view token, std::string_view key,
                        std::int64_t now_ms) {
  return crypto::constant_time_equal(upload_token(session, key), token) &&
         now_ms < session.expires_at_ms;
}

std::string_view upload_status(const upload_session& session, std::int64_t now_ms) {
  bool full = session.files.size() >= session.max_files;
  return full || now_ms >= session.expires_at_ms ? "complete" : "open";
}

std::string_view billing_readiness(const upload_session& session) {
  for (const auto& f : session.files)
    if (!f.probed) return "pessimistic_fallback";
  return "exact";
}

bool upload_files_due(const upload_session& session, std::int64_t now_ms) {
  return session.files_deleted_at_ms == 0 &&
         now_ms >= session.expires_at_ms + limits::upload_files_kept_after_expiry.count();
}

std::string signed_upload_file_path(std::string_view session_id, std::uint32_t index,
                                    std::string_view key, std::int64_t now_ms) {
  auto n = std::to_string(index);
  auto expires = std::to_string(now_ms / 1000 + limits::file_url_ttl.count());
  auto signature = crypto::hex(crypto::hmac_sha256(key, file_key(session_id, n) + "\n" + expires));
  return "/v1/uploads/" + std::string(session_id) + "/files/" + n + "?expires=" + expires +
         "&signature=" + signature;
}

bool verify_upload_file_signature(std::string_view session_id, std::string_view index,
                                  std::string_view expires, std::string_view signature,
                                  std::string_view key, std::int64_t now_ms) {
  return verify_file_signature(file_key(session_id, index), expires, signature, key, now_ms);
}

std::string render_upload(const upload_session& s, const url_context& urls) {
  json_writer w;
  w.begin_object()
    .field("id", s.id)
    .field("object", "upload")
    .field("token", upload_token(s, urls.signing_key))
    .field("upload_url",
           urls.base + "/v1/uploads/" + s.id + "/files?token=" + upload_token(s, urls.signing_key))
    .field("status", upload_status(s, urls.now_ms))
    .field("billing_readiness", billing_readiness(s));
  time_field(w, "created_at", s.created_at_ms);
  time_field(w, "expires_at", s.expires_at_ms);
  w.field("max_files", static_cast<std::uint64_t>(s.max_files)).field("max_bytes", s.max_bytes);
  if (!s.purpose.empty()) w.field("purpose", s.purpose);
  w.key("accepted_types").begin_array();
  for (auto type : accepted_content_types()) w.value(type);
  w.end_array();
  if (s.files_deleted_at_ms != 0) time_field(w, "files_deleted_at", s.files_deleted_at_ms);
  w.key("files").begin_array();
  for (const auto& f : s.files) {
    w.begin_object().field("id", static_cast<std::uint64_t>(f.index)).field("name", f.name);
    if (s.files_deleted_at_ms == 0)
      w.field("url",
              urls.base + signed_upload_file_path(s.id, f.index, urls.signing_key, urls.now_ms));
    w.field("content_type", f.content_type).field("bytes", f.bytes);
    if (f.width != 0) w.field("width", static_cast<std::uint64_t>(f.width));
    if (f.height != 0) w.field("height", static_cast<std::uint64_t>(f.height));
    if (f.probed && f.duration_us != 0) w.field("duration_seconds", f.duration_us / 1e6);
    w.field("probe", f.probed ? "exact" : "none").end_object();
  }
  w.end_array().end_object();
  return w.take();
}

}  // namespace kiln
