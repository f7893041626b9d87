// The one-time pass over stored jobs; see the header.
#include "persistence/job_backfill.hpp"

#include "models/error.hpp"
#include "persistence/records.hpp"

#include <string>

namespace kiln {

caf::error backfill_jobs(store& db, std::string_view marker, std::string_view what,
                         const std::function<void(const job&, write_batch&)>& add,
                         const std::function<void(write_batch&)>& finish,
                         const std::function<void(std::size_t)>& progress) {
  auto built = db.get(column::meta, marker);
  if (!built) return built.error();
  if (*built) return {};
  std::string after;
  std::size_t seen = 0;
  constexpr std::size_t chunk = 10'000;
  for (;;) {
    write_batch batch;
    std::size_t taken = 0;
    bool undecodable = false;
    // A visitor must not call back into the store: each chunk is committed after its scan.
    auto scanned =
      db.scan_after(column::jobs, "", after, [&](std::string_view key, std::string_view bytes) {
        after = std::string(key);
        auto record = records::decode_job(bytes);
        if (!record) {
          undecodable = true;
          return false;
        }
        add(*record, batch);
        return ++taken < chunk;
      });
    if (scanned) return scanned;
    if (undecodable)
      return make_error(error_code::server_error, "job " + after + " does not decode: " +
                                                    std::string(what) + " cannot be built");
    if (!batch.ops.empty())
      if (auto error = db.commit(std::move(batch))) return error;
    seen += taken;
    if (progress && taken == chunk) progress(seen);
    if (taken < chunk) break;
  }
  write_batch last;
  finish(last);
  last.put(column::meta, std::string(marker), "1");
  return db.commit(std::move(last));
}

}  // namespace kiln
