// The listing of an account's jobs: account_jobs indexes all its jobs that are not deleted, and
// job_listing those in each status, with a count per status; all change in the same batch as the
// job's record (records::job_batch). A page is then a seek, a skip of at most `offset` index
// keys and one read per job shown; a total is one read (five for all statuses). Nothing scans
// the account's jobs per request.
#pragma once

#include "models/job.hpp"
#include "persistence/store.hpp"

#include <caf/expected.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace kiln {

/// One page of an account's jobs, newest first unless `oldest_first`.
struct listing_query {
  std::string account_id;
  std::uint32_t limit = 20;
  std::optional<job_status> status;  ///< only jobs in this status
  std::string cursor;        ///< from the previous page's next_cursor: the page continues after it
  std::uint32_t offset = 0;  ///< index keys skipped before the page (config/limits.hpp bounds it)
  bool oldest_first = false;
  /// Newest first from the last job created before this instant (Unix ms; 0: none): a time as
  /// the cursor. Jobs are created in seq order, so it is found by bisection, not a scan.
  std::int64_t created_before_ms = 0;
};

namespace listing {

/// The index of the account's jobs (in `status`, if given) and its keys' prefix.
struct index_range {
  column family;
  std::string prefix;
};
index_range index_of(std::string_view account_id, std::optional<job_status> status);

/// The listing writes for a job going from `before` (nullptr: new, whose account_jobs key
/// job_batch writes) to `next`: its status key moves with its status; a deleted job has no
/// listing keys (account_jobs included); each status's count follows.
void update(write_batch& batch, const job& next, const job* before);

/// A page: the jobs, has_more, next_cursor (the last job's place), and the tag's total.
caf::expected<job_page> page(const store& db, const listing_query& q);

/// How many jobs the account lists (in `status`, if given).
caf::expected<std::uint64_t> total(const store& db, const std::string& account_id,
                                   std::optional<job_status> status);

/// Builds the index and counts from the jobs once, for a store written before the listing
/// existed (meta key "job_listing"); `progress` is called every 10,000 jobs. Safe to run again
/// after a crash: index keys are put, counts are written whole at the end with the meta key.
caf::error build_once(store& db, const std::function<void(std::size_t)>& progress);

}  // namespace listing
}  // namespace kiln
