// The output expiry index: one key per succeeded job whose files are kept, in the order the jobs
// completed, so output retention (actors/retention_actor) finds the jobs past their window by
// reading the front of one column family instead of scanning every job. Written in the batches
// that store a job (records::job_batch), like the listing index.
#pragma once

#include "models/job.hpp"
#include "persistence/store.hpp"

#include <caf/error.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::output_expiry {

/// Whether retention still has to delete the job's files: it succeeded with outputs, and they
/// have not expired yet.
bool holds_files(const job& value);

/// "<completed_at_ms, 16 hex>/<job id>" -> account id. Keyed by completion, not by the end of the
/// window, so a change of `outputs.retention_days` applies to every stored job at once.
std::string key(std::int64_t completed_at_ms, std::string_view job_id);

/// One entry of the index.
struct entry {
  std::string key;
  std::int64_t completed_at_ms = 0;
  std::string job_id;
  std::string account_id;
};
/// Splits an index key and its value; false for a key this index does not write.
bool parse(std::string_view key, std::string_view account_id, entry& out);

/// The index writes for a job going from `before` (nullptr: new) to `next`: its key appears
/// when it starts to hold files and goes when it stops (its outputs expired).
void update(write_batch& batch, const job& next, const job* before);

/// The first `limit` entries of jobs completed at or before `completed_at_ms_max`, oldest first.
/// An unreadable key is skipped (and logged by the caller); a failed read is an error.
caf::error due(const store& db, std::int64_t completed_at_ms_max, std::size_t limit,
               std::vector<entry>& out);

/// Builds the index once from the jobs, for a store written before it existed (meta key
/// "output_expiry"); `progress` is called every 10,000 jobs. Safe to run again after a crash.
caf::error build_once(store& db, const std::function<void(std::size_t)>& progress);

}  // namespace kiln::output_expiry
