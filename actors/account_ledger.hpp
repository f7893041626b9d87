// The credit ledger of one account and its group commit, as a plain class the account actor
// drives. Movements (a new job's hold, a job's settlement, a grant, a secret rotation) wait
// until the group before them is written; then they are validated against the ledger as it
// stands, applied, and written together as one batch with the account's new record. Groups are
// chained (a group is written only if the one before it was), so a failed write undoes every
// group in flight exactly, newest first, and nothing else moved meanwhile.
//
// Nothing here sends messages or touches the store: the actor commits the batches and answers.
#pragma once

#include "models/ledger.hpp"
#include "persistence/store.hpp"
#include "protocol/account.hpp"

#include <caf/response_promise.hpp>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace kiln {

/// A request that moves credits or rewrites the account, waiting for its group.
struct movement {
  /// monthly: the plan's allowance for a period, granted once (the account record names the
  /// last period granted, written in the same batch).
  enum class kind : std::uint8_t { submit, settle, grant, rotate, monthly } what = kind::submit;
  job record;                     ///< submit: the new job (its seq is set in the group)
  kiln::settlement settlement;    ///< settle: the hold to close and the job's own writes
  std::int64_t amount = 0;        ///< grant; monthly: the allowance
  std::string reason;             ///< grant; monthly: the period ("2026-12")
  idempotency_claim claim;        ///< submit and grant: the key it binds, if any
  idempotency_owner_actor owner;  ///< the key's owner, told how the movement ended
  caf::response_promise promise;
};

/// A movement whose group landed, with the ledger entry that records it (none for a rotation,
/// or for a settlement of a hold settled before).
struct landed_movement {
  movement m;
  std::optional<ledger_entry> entry;
};

/// A movement that will not be written, and why.
struct refused_movement {
  movement m;
  caf::error why;
};

/// A group ready to be written.
struct group_batch {
  std::uint64_t id = 0;
  write_batch batch;
};

class account_ledger {
public:
  struct options {
    std::int64_t idempotency_ttl_ms = 0;
    std::int64_t secret_rotation_window_ms = 0;
  };

  /// `ledger` holds the open holds of the account's unfinished jobs; `last_job_seq` is the seq
  /// of its newest job.
  account_ledger(account record, credit_ledger ledger, std::uint64_t last_job_seq, options opts);

  /// Queues `m` for the next group.
  void add(movement m);
  /// Whether a group can start now: movements wait and fewer than the maximum are in flight.
  bool can_start() const;
  /// Applies the waiting movements (refusing those the ledger cannot take, into `refused`) and
  /// returns the batch that writes them, or nullopt when none was accepted.
  std::optional<group_batch> start_group(std::int64_t now_ms,
                                         std::vector<refused_movement>& refused);
  /// Group `id` is durable: its movements, oldest first, to be answered.
  std::vector<landed_movement> written(std::uint64_t id);
  /// Group `id` failed: every group in flight is undone; their movements, to be refused. Empty
  /// when `id` was undone already (a later group of a failed chain).
  std::vector<movement> failed(std::uint64_t id);

  /// The account as last written, with its durable balance.
  account shown() const;
  /// The balance on disk: what reads show, so none shows credits a failed write undoes.
  const kiln::balance& durable() const { return durable_; }
  const account& record() const { return record_; }

private:
  struct group {
    std::uint64_t id = 0;
    std::vector<movement> movements;
    std::vector<std::optional<ledger_entry>> entries;  ///< per movement
    /// Per movement: the release that follows a partial capture's entry, if any.
    std::vector<std::optional<ledger_entry>> remainders;
    std::uint64_t seq_before = 0;  ///< next_seq_ before this group
    account record_before;         ///< to undo a rotation
    kiln::balance balance_after;   ///< the balance once this group is on disk
  };

  /// Validates `m` against the ledger, applies it and adds its writes to `batch`; the error
  /// when it is refused.
  caf::error apply(movement& m, write_batch& batch, std::optional<ledger_entry>& entry,
                   std::optional<ledger_entry>& remainder, std::int64_t now_ms);
  void bind_key(const movement& m, write_batch& batch, const ledger_entry* entry,
                std::int64_t now_ms) const;

  account record_;  ///< its balance includes the groups in flight (it is written with each)
  kiln::balance durable_;
  credit_ledger ledger_;
  options options_;
  std::uint64_t next_seq_ = 1;
  std::vector<movement> waiting_;
  std::deque<group> in_flight_;               ///< sent to the store, oldest first
  std::shared_ptr<commit_token> last_token_;  ///< the newest group's; the next depends on it
  std::uint64_t next_group_id_ = 1;
};

/// What a key bound by `m` is bound to: its request and its answer (the job as created, or the
/// grant's entry).
idempotency_record binding_of(const movement& m, const ledger_entry* entry,
                              std::int64_t expires_at_ms);

}  // namespace kiln
