// A one-time pass over every stored job, for an index a newer Kiln keeps that an older one did
// not write (the job listing, the output expiry): the index is built from the records once,
// at start-up, and a meta key says it was.
#pragma once

#include "models/job.hpp"
#include "persistence/store.hpp"

#include <caf/error.hpp>

#include <cstddef>
#include <functional>
#include <string_view>

namespace kiln {

/// Unless meta key `marker` is set: runs `add` on every stored job, in key order, committing
/// its writes every 10,000 jobs (`progress` is called with the count so far), then commits
/// `finish`'s writes with `marker` set. Safe to run again after a crash: `add`'s writes must be
/// puts, and what `finish` writes whole. A record that does not decode stops it; the error
/// names the job and `what` ("the listing").
caf::error backfill_jobs(store& db, std::string_view marker, std::string_view what,
                         const std::function<void(const job&, write_batch&)>& add,
                         const std::function<void(write_batch&)>& finish,
                         const std::function<void(std::size_t)>& progress);

}  // namespace kiln
