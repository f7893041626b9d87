// The account actor: the credit ledger of one account. It is the only writer of the account's
// balance and ledger entries, and commits them in groups: a new job with its hold (the job's
// first record), a job's terminal record with the capture or release of its hold, grants, and
// webhook secret rotations. Requests carrying an Idempotency-Key wait at the key's owner actor
// while the key's first request is in flight.
#pragma once

#include "persistence/store.hpp"
#include "protocol/job.hpp"

#include <cstdint>
#include <string>

namespace kiln {

/// The Idempotency-Key a request carries and what the request was; an empty key: none.
struct idempotency_claim {
  std::string key;
  std::string fingerprint;  ///< request_fingerprint of method, path and body
};

/// What POST /v1/jobs answers: the job as created, and whether this answer replays it.
struct submitted {
  job record;
  bool replayed = false;
};

/// What POST /v1/jobs/estimate answers.
struct estimate {
  std::int64_t credits = 0;
  std::int64_t available = 0;
  bool sufficient = false;
};

/// A grant as recorded, and whether this answer replays an earlier one (Idempotency-Key).
struct grant_result {
  ledger_entry entry;
  kiln::balance balance;
  bool replayed = false;
};

/// GET /v1/webhook-secret and POST /v1/webhook-secret/rotate.
struct webhook_secret_view {
  std::string secret;
  std::string previous_secret;  ///< during a rotation window: still signs until `previous_until_ms`
  std::int64_t previous_until_ms = 0;
};

/// A job's end, from its actor: the capture (succeeded) or release (failed, canceled) of its
/// hold, and the job's own writes (its terminal record, its events, its webhook delivery), which
/// the ledger commits in the same batch as the ledger entry.
struct settlement {
  std::string job_id;
  std::string model;
  bool capture = false;
  /// capture: the credits the run reported it used, when fewer than held (the rest is released
  /// in the same batch); -1: the whole hold.
  std::int64_t used = -1;
  write_batch writes;
};

/// A request with an Idempotency-Key waiting at the key's owner: enough to answer it from the
/// key's binding, or to run it again if the first request failed.
struct keyed_submit {
  idempotency_claim claim;
  job_spec spec;
  std::string trace_id;
};
struct keyed_grant {
  idempotency_claim claim;
  std::int64_t amount = 0;
  std::string reason;
};

using account_actor = caf::typed_actor<
  /// (spec, trace id, claim): a new job and its hold, durable before the answer.
  caf::replies_to<submit_atom, job_spec, std::string, idempotency_claim>::with<submitted>,
  /// (amount, reason, claim)
  caf::replies_to<grant_atom, std::int64_t, std::string, idempotency_claim>::with<grant_result>,
  caf::replies_to<settle_atom, settlement>::with<caf::ok_atom>,
  /// (credits): whether the durable balance covers a job of that cost.
  caf::replies_to<estimate_atom, std::int64_t>::with<estimate>,
  caf::replies_to<balance_atom>::with<kiln::balance>,
  caf::replies_to<get_account_atom>::with<account>,
  caf::replies_to<secret_atom>::with<webhook_secret_view>,
  caf::replies_to<rotate_atom>::with<webhook_secret_view>,
  /// The router of this account's jobs: new jobs' tickets name it.
  caf::reacts_to<register_atom, job_router_actor>,
  /// From a key's owner: it answered everyone who waited; the binding is read from the store now.
  caf::reacts_to<key_done_atom, std::string>,
  /// Internal: delete expired idempotency keys.
  caf::reacts_to<sweep_atom>,
  /// Internal: grant the plan's monthly credits if a new period began (the durable timer).
  caf::reacts_to<period_atom>>;

using idempotency_owner_actor = caf::typed_actor<
  /// A request with the key, answered once the first request's outcome is known.
  caf::replies_to<join_atom, keyed_submit>::with<submitted>,
  caf::replies_to<join_atom, keyed_grant>::with<grant_result>,
  /// The first request is durable and the key bound to it.
  caf::reacts_to<bound_atom, idempotency_record>,
  /// (fingerprint, failure): the first request failed and bound nothing.
  caf::reacts_to<unbound_atom, std::string, caf::error>, caf::reacts_to<stop_atom>>;

}  // namespace kiln

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::idempotency_claim)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::submitted)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::estimate)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::grant_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::webhook_secret_view)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::settlement)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::keyed_submit)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::keyed_grant)
