// The store's two actor families. The writer turns the store's group commit into
// request/response: an actor sends a batch and continues once it is durable. The readers answer
// the queries that scan (listings, ledger pages, usage, timelines, deliveries): detached actors
// with their own threads, so a long scan never stalls the actors that write, and every scan is
// bounded (config/limits.hpp: query_*).
#pragma once

#include "models/usage.hpp"
#include "persistence/job_listing.hpp"
#include "persistence/store.hpp"
#include "protocol/common.hpp"

#include <optional>
#include <string>

namespace kiln {

using store_writer_actor = caf::typed_actor<
  /// Writes the batch; answers once it is durable, or with `unavailable` (nothing written).
  caf::replies_to<commit_atom, write_batch>::with<caf::ok_atom>,
  /// A consistent on-line copy of the database into the directory (which must not exist).
  caf::replies_to<snapshot_atom, std::string>::with<caf::ok_atom>,
  /// Internal: the store's committer thread reporting the outcome of commit `token`.
  caf::reacts_to<committed_atom, std::uint64_t, caf::error>>;

/// GET /v1/jobs: one page of an account's jobs.
using job_query = listing_query;

using store_reader_actor = caf::typed_actor<
  caf::replies_to<list_jobs_atom, job_query>::with<job_page>,
  /// (account id, limit, cursor): one page of the account's ledger, newest first.
  caf::replies_to<ledger_atom, std::string, std::uint32_t, std::string>::with<ledger_page>,
  /// (account id, from ms): captured credits since then, up to now.
  caf::replies_to<usage_atom, std::string, std::int64_t>::with<usage_report>,
  /// (account id, job id): the job's timeline; not_found unless the job is the account's.
  caf::replies_to<events_atom, std::string, std::string>::with<std::vector<job_event>>,
  /// (account id, job id): the job's webhook deliveries, oldest first.
  caf::replies_to<deliveries_atom, std::string, std::string>::with<std::vector<delivery>>>;

}  // namespace kiln

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::write_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::listing_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::usage_report)
