// Output retention (docs/decisions.md, "Output retention"): the sweeper that finds the jobs
// whose files are past `outputs.retention_days` and has their account's job router expire them,
// and the file remover the router hands a job's files to. The remover runs detached, because
// deleting a file durably blocks on fsync; the router, which owns the job's record, writes the
// expiry only once the files are gone.
#pragma once

#include "protocol/common.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln {

using file_remover_actor = caf::typed_actor<
  /// (output file names): deletes them from disk durably (a missing one is no error); ok once
  /// every one is gone, an error (nothing promised) otherwise.
  caf::replies_to<delete_atom, std::vector<std::string>>::with<caf::ok_atom>>;

using retention_actor = file_remover_actor::extend<
  /// Sweeps now: expires the jobs past their window (a bounded number per sweep, oldest first)
  /// and answers how many it expired; a sweep asked for during another runs after it.
  caf::replies_to<sweep_atom>::with<std::uint64_t>,
  /// Internal: the sweep of each minute.
  caf::reacts_to<tick_atom>>;

}  // namespace kiln
