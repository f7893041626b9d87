// The upload session's record: the session and its files as JSON, and the expiry index key the
// upload sweep reads. Paired with its decoder, which must give back the same bytes under
// KILN_VERIFY.
#include "base/assert.hpp"
#include "config/limits.hpp"
#include "models/json_writer.hpp"
#include "persistence/detail/record_json.hpp"
#include "persistence/records.hpp"

#include <cstdio>

namespace kiln::records {
namespace {

using detail::integer;
using detail::parse;
using detail::text;
using simdjson::dom::element;

std::string encode_upload_record(const upload_session& v) {
  json_writer w;
  w.begin_object()
    .field("id", v.id)
    .field("account_id", v.account_id)
    .field("purpose", v.purpose)
    .field("max_files", static_cast<std::int64_t>(v.max_files))
    .field("max_bytes", static_cast<std::int64_t>(v.max_bytes))
    .field("created_at", v.created_at_ms)
    .field("expires_at", v.expires_at_ms)
    .field("files_deleted_at", v.files_deleted_at_ms);
  w.key("files").begin_array();
  for (const auto& f : v.files)
    w.begin_object()
      .field("index", static_cast<std::int64_t>(f.index))
      .field("name", f.name)
      .field("file", f.file)
      .field("content_type", f.content_type)
      .field("bytes", static_cast<std::int64_t>(f.bytes))
      .field("width", static_cast<std::int64_t>(f.width))
      .field("height", static_cast<std::int64_t>(f.height))
      .field("duration_us", f.duration_us)
      .field("probed", f.probed)
      .field("created_at", f.created_at_ms)
      .end_object();
  w.end_array().end_object();
  return w.take();
}

}  // namespace

std::optional<upload_session> decode_upload(std::string_view bytes) {
  auto root = parse(bytes);
  if (!root) return std::nullopt;
  element e = *root;
  upload_session v;
  v.id = text(e, "id");
  v.account_id = text(e, "account_id");
  v.purpose = text(e, "purpose");
  v.max_files = static_cast<std::uint32_t>(integer(e, "max_files"));
  v.max_bytes = static_cast<std::uint64_t>(integer(e, "max_bytes"));
  v.created_at_ms = integer(e, "created_at");
  v.expires_at_ms = integer(e, "expires_at");
  v.files_deleted_at_ms = integer(e, "files_deleted_at");
  if (v.id.empty() || v.account_id.empty()) return std::nullopt;
  simdjson::dom::array files;
  if (e["files"].get_array().get(files) == simdjson::SUCCESS)
    for (element f : files) {
      upload_file file;
      file.index = static_cast<std::uint32_t>(integer(f, "index"));
      file.name = text(f, "name");
      file.file = text(f, "file");
      file.content_type = text(f, "content_type");
      file.bytes = static_cast<std::uint64_t>(integer(f, "bytes"));
      file.width = static_cast<std::uint32_t>(integer(f, "width"));
      file.height = static_cast<std::uint32_t>(integer(f, "height"));
      file.duration_us = integer(f, "duration_us");
      bool probed = false;
      file.probed = f["probed"].get_bool().get(probed) == simdjson::SUCCESS && probed;
      file.created_at_ms = integer(f, "created_at");
      v.files.push_back(std::move(file));
    }
  return v;
}

std::string encode(const upload_session& v) {
  KILN_ASSERT(!v.id.empty());
  KILN_ASSERT(v.files.size() <= v.max_files);
  std::string bytes = encode_upload_record(v);
  KILN_VERIFY([&] {
    auto back = decode_upload(bytes);
    return back && encode_upload_record(*back) == bytes;
  }());
  return bytes;
}

std::string upload_expiry_key(const upload_session& v) {
  char due[20];
  std::snprintf(due, sizeof due, "%016llx",
                static_cast<unsigned long long>(v.expires_at_ms +
                                                limits::upload_files_kept_after_expiry.count()));
  return std::string(due) + "/" + v.id;
}

write_batch upload_batch(const upload_session& v) {
  write_batch batch;
  batch.put(column::uploads, v.id, encode(v));
  if (v.files_deleted_at_ms == 0) batch.put(column::upload_expiry, upload_expiry_key(v), "");
  else batch.erase(column::upload_expiry, upload_expiry_key(v));
  return batch;
}

}  // namespace kiln::records
