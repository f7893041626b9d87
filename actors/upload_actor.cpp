// Upload sessions' actor; see the header.
#include "actors/upload_actor.hpp"

#include "base/assert.hpp"
#include "base/logging.hpp"
#include "config/limits.hpp"
#include "models/crypto.hpp"
#include "models/media_probe.hpp"
#include "persistence/durable_fs.hpp"
#include "persistence/records.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>

namespace kiln {
namespace {

struct upload_state {
  actor_context node;
  std::string uploads_dir;
  static inline const char* name = "uploads";
};

using upload_self = upload_actor::stateful_pointer<upload_state>;
using session_promise = caf::typed_response_promise<upload_session>;

caf::expected<upload_session> load(upload_self self, const std::string& id) {
  if (id.size() > 64 || !id.starts_with("upl_"))
    return make_error(error_code::not_found, "no such upload session");
  auto found = self->state.node.db->get(column::uploads, id);
  if (!found) return std::move(found.error());
  if (!*found) return make_error(error_code::not_found, "no such upload session");
  auto session = records::decode_upload(**found);
  KILN_ASSERT(session.has_value());
  KILN_ASSERT(session->id == id);
  return std::move(*session);
}

/// Commits the session's record, then answers `promise` with it; no other message is handled
/// meanwhile (await), so the next PUT reads what this one wrote.
void commit(upload_self self, upload_session session, session_promise promise,
            std::function<void()> on_failure = {}) {
  auto batch = records::upload_batch(session);
  self->request(self->state.node.writer, supervised_wait, commit_atom::value, std::move(batch))
    .await([=](caf::ok_atom) mutable { promise.deliver(std::move(session)); },
           [=](caf::error& error) mutable {
             if (on_failure) on_failure();
             promise.deliver(std::move(error));
           });
}

caf::result<upload_session> on_create(upload_self self, const std::string& account_id,
                                      std::uint32_t max_files, const std::string& purpose) {
  KILN_ASSERT(max_files >= 1 && max_files <= limits::upload_session_files_max);
  auto now = self->state.node.clock->now_ms();
  upload_session s;
  s.id = crypto::make_id("upl_", now);
  s.account_id = account_id;
  s.purpose = purpose;
  s.max_files = max_files;
  s.max_bytes = self->state.node.config->uploads.max_bytes;
  s.created_at_ms = now;
  s.expires_at_ms = now + limits::upload_session_ttl.count();
  auto promise = self->make_response_promise<upload_session>();
  commit(self, std::move(s), promise);
  return promise;
}

caf::result<upload_session> on_get(upload_self self, const std::string& account_id,
                                   const std::string& id) {
  auto session = load(self, id);
  if (!session) return std::move(session.error());
  if (session->account_id != account_id)
    return make_error(error_code::not_found, "no such upload session");
  return std::move(*session);
}

/// The file's first bytes, for sniffing and probing.
std::string read_head(const std::string& path) {
  std::string head(limits::upload_probe_bytes_max, '\0');
  std::ifstream in(path, std::ios::binary);
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(std::max<std::streamsize>(in.gcount(), 0)));
  return head;
}

/// Everything checked before the file is kept: the session's token, its file count, the bytes.
caf::expected<upload_session> check_part(upload_self self, const upload_part& part,
                                         media_probe& probed) {
  auto session = load(self, part.session_id);
  if (!session) return session;
  auto& st = self->state;
  auto now = st.node.clock->now_ms();
  if (!upload_token_valid(*session, part.token, st.node.url_signing_key, now))
    return make_error(error_code::forbidden, "the upload token is invalid or expired");
  if (session->files.size() >= session->max_files)
    return make_error(error_code::invalid_request, "the session holds its " +
                                                     std::to_string(session->max_files) +
                                                     " files already; create another session");
  if (part.bytes == 0) return make_error(error_code::invalid_request, "the file is empty");
  auto declared = canonical_content_type(part.declared_type);
  probed = probe_media(read_head(part.temp_path), part.bytes);
  auto actual =
    probed.content_type.empty() ? std::string_view("unknown bytes") : probed.content_type;
  if (declared.empty() || declared != probed.content_type)
    return make_error(error_code::unsupported_media_type,
                      "the Content-Type is " +
                        (part.declared_type.empty() ? std::string("missing") : part.declared_type) +
                        " but the bytes are " + std::string(actual) + "; accepted: image/png, " +
                        "image/jpeg, image/webp, image/gif, audio/wav, audio/mpeg, video/webm, " +
                        "video/x-matroska, video/mp4");
  return session;
}

caf::result<upload_session> on_put(upload_self self, const upload_part& part) {
  media_probe probed;
  auto session = check_part(self, part, probed);
  std::error_code ignored;
  if (!session) {
    std::filesystem::remove(part.temp_path, ignored);
    return std::move(session.error());
  }
  auto& st = self->state;
  upload_file file;
  file.index = static_cast<std::uint32_t>(session->files.size());
  file.name = part.name;
  file.file = std::to_string(file.index) + "." + std::string(probed.extension);
  file.content_type = std::string(probed.content_type);
  file.bytes = part.bytes;
  file.width = probed.width;
  file.height = probed.height;
  file.duration_us = probed.duration_us;
  file.probed = probed.exact;
  file.created_at_ms = st.node.clock->now_ms();
  auto directory = st.uploads_dir + "/" + session->id;
  bool sync = st.node.config->durability == durability_mode::fsync;
  auto error = durable_fs::create_directories(directory);
  if (!error) error = durable_fs::adopt_file(part.temp_path, directory, file.file, sync);
  if (error) {
    std::filesystem::remove(part.temp_path, ignored);
    logs::get("actors")->error(R"("event":"upload.store_failed","session":"{}","error":"{}")",
                               session->id, logs::json_text(describe(error)));
    return make_error(error_code::unavailable, "the file could not be stored; nothing was kept");
  }
  session->files.push_back(file);
  auto promise = self->make_response_promise<upload_session>();
  auto stored = directory + "/" + file.file;
  commit(self, std::move(*session), promise, [stored] {
    std::error_code ignored;
    std::filesystem::remove(stored, ignored);  // not recorded: not kept
  });
  return promise;
}

/// Deletes the files of the sessions that are due (durably), then records in one batch that
/// they are gone: how many sessions that was. A session whose files could not be deleted stays
/// due for the next sweep.
void sweep(upload_self self, std::function<void(caf::expected<std::uint64_t>)> done) {
  auto& st = self->state;
  auto now = st.node.clock->now_ms();
  std::vector<std::string> due;
  auto error =
    st.node.db->scan(column::upload_expiry, "", [&](std::string_view key, std::string_view) {
      std::uint64_t due_ms = 0;
      if (key.size() < 18 || !records::parse_seq(key.substr(0, 16), due_ms) ||
          static_cast<std::int64_t>(due_ms) > now ||
          due.size() >= limits::upload_sweep_sessions_max)
        return false;
      due.emplace_back(key.substr(17));
      return true;
    });
  if (error)
    logs::get("actors")->warn(R"("event":"upload.sweep_read_failed","error":"{}")",
                              logs::json_text(describe(error)));
  write_batch batch;
  std::uint64_t swept = 0;
  for (const auto& id : due) {
    auto session = load(self, id);
    if (!session || !upload_files_due(*session, now)) continue;
    std::error_code ec;
    std::filesystem::remove_all(st.uploads_dir + "/" + id, ec);
    if (ec || durable_fs::sync_directory(st.uploads_dir)) continue;
    session->files_deleted_at_ms = now;
    for (auto& op : records::upload_batch(*session).ops) batch.ops.push_back(std::move(op));
    ++swept;
  }
  if (swept == 0) return done(std::uint64_t{0});
  self->request(st.node.writer, supervised_wait, commit_atom::value, std::move(batch))
    .await(
      [=](caf::ok_atom) {
        logs::get("actors")->info(R"("event":"upload.swept","sessions":{})", swept);
        done(swept);
      },
      [=](caf::error& failure) {
        logs::get("actors")->warn(R"("event":"upload.sweep_failed","error":"{}")",
                                  logs::json_text(describe(failure)));
        done(std::move(failure));
      });
}

upload_actor::behavior_type uploads(upload_self self, actor_context context,
                                    std::string uploads_dir) {
  self->state.node = std::move(context);
  self->state.uploads_dir = std::move(uploads_dir);
  self->send(self, tick_atom::value);
  return {
    [=](upload_create_atom, const std::string& account_id, std::uint32_t max_files,
        const std::string& purpose) { return on_create(self, account_id, max_files, purpose); },
    [=](upload_get_atom, const std::string& account_id, const std::string& id) {
      return on_get(self, account_id, id);
    },
    [=](upload_put_atom, const upload_part& part) { return on_put(self, part); },
    [=](sweep_atom) {
      auto promise = self->make_response_promise<std::uint64_t>();
      sweep(self, [promise](caf::expected<std::uint64_t> swept) mutable {
        if (swept) promise.deliver(*swept);
        else promise.deliver(std::move(swept.error()));
      });
      return promise;
    },
    [=](tick_atom) {
      sweep(self, [](caf::expected<std::uint64_t>) {});  // logged; the next tick tries again
      self->delayed_send(self, limits::upload_sweep_interval, tick_atom::value);
    },
  };
}

}  // namespace

upload_actor spawn_uploads(caf::actor_system& system, const actor_context& context,
                           std::string uploads_dir) {
  return system.spawn<caf::detached>(uploads, context, std::move(uploads_dir));
}

}  // namespace kiln
