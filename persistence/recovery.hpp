// Start-up recovery: everything the actors need to rebuild themselves from the store.
//
// Recovery reads every account, key, unfinished job and pending webhook delivery. A record it
// cannot decode stops it: Kiln refuses to start rather than run without a job someone paid
// for. The error names the family and key; `kiln admin inspect --family F --key K` shows the
// record.
#pragma once

#include "models/account.hpp"
#include "models/job.hpp"
#include "models/webhook.hpp"
#include "persistence/store.hpp"

#include <caf/expected.hpp>

#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

namespace kiln {

/// Where an account's sequences stood at the stop.
struct account_sequences {
  std::uint64_t last_job_seq = 0;     ///< of its newest job (account_jobs)
  std::uint64_t last_ledger_seq = 0;  ///< of its newest ledger entry
  bool has_idempotency_keys = false;  ///< bound keys that will expire and need sweeping
};

struct recovered_state {
  std::vector<account> accounts;
  std::unordered_map<std::string, account_sequences> sequences;  ///< by account id
  std::vector<api_key> keys;
  /// Jobs that were queued or processing, by account id, oldest first.
  std::unordered_map<std::string, std::vector<job>> live_jobs;
  /// Canceled jobs whose refund was not written before the stop, by account id.
  std::unordered_map<std::string, std::vector<job>> pending_refunds;
  /// Webhook deliveries not yet delivered or given up.
  std::vector<delivery> pending_deliveries;
  std::size_t jobs_scanned = 0;
};

/// Where one account's sequences stand in the store.
caf::expected<account_sequences> recover_sequences(const store& db, const std::string& account_id);

/// Reads every account, key, non-terminal job and pending delivery. `progress` is called every
/// 10,000 jobs. Fails on a read error or on the first record that does not decode.
caf::expected<recovered_state> recover(const store& db,
                                       const std::function<void(std::size_t)>& progress);

}  // namespace kiln
