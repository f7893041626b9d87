// The directory: accounts and API keys. It authenticates a key hash to a principal (with the
// handles of the account's ledger and job router), creates accounts and keys, revokes keys at
// once, and keeps each account's request budget (token bucket).
#pragma once

#include "protocol/account.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln {

/// Who a request is from, once its key is known.
struct principal {
  std::string account_id;
  std::string key_id;
  std::string plan;
  account_actor account;  ///< the account's ledger
  job_router_actor jobs;  ///< the account's jobs
  /// The account's token bucket after this request: its size (the plan's requests per minute),
  /// whole tokens left, seconds until full, and whether this request found it empty.
  std::uint32_t rate_limit = 0;
  std::uint32_t rate_remaining = 0;
  std::uint32_t rate_reset_s = 0;
  bool rate_limited = false;
  std::uint32_t retry_after_s = 0;  ///< when rate_limited: seconds until one token is back
  /// The key's mode: a test key's jobs are test jobs (docs/decisions.md, "Test keys").
  key_mode mode = key_mode::live;
};

/// A key to make: its name, a front end's key prefix ("" = the core's "kiln_sk_" or
/// "kiln_test_") and its mode (models/account.hpp new_key).
struct key_request {
  std::string name;
  std::string prefix;
  key_mode mode = key_mode::live;
};

using directory_actor = caf::typed_actor<
  /// (SHA-256 hex of the key): the principal, or unauthorized.
  caf::replies_to<auth_atom, std::string>::with<principal>,
  /// (name, plan, credits)
  caf::replies_to<create_account_atom, std::string, std::string,
                  std::int64_t>::with<account_created>,
  caf::replies_to<get_account_atom, std::string>::with<account>,
  /// (account id, amount, reason, claim)
  caf::replies_to<grant_atom, std::string, std::int64_t, std::string,
                  idempotency_claim>::with<grant_result>,
  /// (account id, job id): an admin's restore of a soft-deleted job, at the account's router.
  caf::replies_to<restore_atom, std::string, std::string>::with<job>,
  /// (account id, job id, remover): output retention's expiry of a job, at the account's router.
  caf::replies_to<expire_atom, std::string, std::string, file_remover_actor>::with<job>,
  /// (account id, name)
  caf::replies_to<create_key_atom, std::string, std::string>::with<key_created>,
  /// (account id, name, key prefix): a front end's key, its prefix + 32 hex (models/account.hpp);
  /// an empty prefix makes the core's key.
  caf::replies_to<create_key_atom, std::string, std::string, std::string>::with<key_created>,
  /// (account id, what to make): a key of either mode, the core's or a front end's.
  caf::replies_to<create_key_atom, std::string, key_request>::with<key_created>,
  caf::replies_to<list_keys_atom, std::string>::with<std::vector<api_key>>,
  /// (account id, key id)
  caf::replies_to<revoke_key_atom, std::string, std::string>::with<caf::ok_atom>>;

}  // namespace kiln

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::principal)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::key_request)
