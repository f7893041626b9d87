// What every job actor of one account shares: the node's actor context, the account's ledger
// and router, and its plan's concurrency limit. One copy per account, held by shared pointer.
#pragma once

#include "actors/actor_context.hpp"
#include "config/limits.hpp"
#include "protocol/account.hpp"

#include <chrono>
#include <string>

namespace kiln {

/// The model's timeout_seconds (or the node's override): past it, a run is a device fault.
inline std::chrono::milliseconds run_timeout(const actor_context& node, const std::string& model) {
  if (node.run_timeout.count() > 0) return node.run_timeout;
  const auto* entry = node.models->find(model);
  return entry ? std::chrono::milliseconds(std::chrono::seconds(entry->timeout_seconds))
               : limits::run_timeout_default;
}

struct job_context {
  actor_context node;
  account_actor ledger;
  job_router_actor router;
  std::uint32_t max_concurrent_jobs = 0;  ///< the account's plan's; 0 = none
};

/// The scheduler's ticket for `record` of an account whose plan runs at most
/// `max_concurrent_jobs` (0 = no limit); its dispatch goes to `target`. A test job's ticket is
/// `sim_only`, from the record itself, wherever the ticket is made.
inline job_ticket ticket_for(const job& record, std::uint32_t max_concurrent_jobs,
                             dispatch_target_actor target,
                             std::vector<std::string> failed_on = {}) {
  job_ticket ticket{record.id,           record.account_id, record.spec.model,
                    max_concurrent_jobs, std::move(target), std::move(failed_on)};
  ticket.sim_only = !record.spec.livemode;
  return ticket;
}

}  // namespace kiln
