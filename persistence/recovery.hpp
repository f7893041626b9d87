// Start-up recovery: everything the actors need to rebuild themselves from the store.
#pragma once

#include "models/account.hpp"
#include "models/job.hpp"
#include "persistence/store.hpp"

#include <string>
#include <unordered_map>
#include <vector>

namespace kiln {

struct recovered_state {
  std::vector<account> accounts;
  std::vector<api_key> keys;
  /// Jobs that were queued or processing, by account id, oldest first.
  std::unordered_map<std::string, std::vector<job>> live_jobs;
  /// Canceled jobs whose refund was not written before the stop, by account id.
  std::unordered_map<std::string, std::vector<job>> pending_refunds;
  std::size_t jobs_scanned = 0;
};

/// Reads every account, key and non-terminal job. `progress` is called every 10,000 jobs.
recovered_state recover(const store& db, const std::function<void(std::size_t)>& progress);

}  // namespace kiln
