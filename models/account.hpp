// Accounts and their API keys as values. Keys exist only as SHA-256 hashes once created.
#pragma once

#include "models/balance.hpp"
#include "models/ledger.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kiln {

struct account {
  std::string id;  ///< "acct_..."
  std::string name;
  std::string plan;            ///< a plan name from the settings
  std::string webhook_secret;  ///< "whsec_..."
  /// The secret before the last rotation, which still signs until `previous_secret_until_ms`.
  std::string previous_webhook_secret;
  std::int64_t previous_secret_until_ms = 0;
  kiln::balance balance;
  std::int64_t created_at_ms = 0;
  /// The last period ("2026-12", UTC months) whose monthly allowance was granted: written in the
  /// same batch as that grant, so each period is granted once. Empty: none yet.
  std::string monthly_period;
  /// The seq of its newest job, written with every group: the newest job may be soft-deleted,
  /// and then account_jobs no longer says it.
  std::uint64_t last_job_seq = 0;
};

/// The secrets that sign a webhook sent at `now_ms`: the current one, and the previous one
/// during its rotation window.
std::vector<std::string> signing_secrets(const account& a, std::int64_t now_ms);

/// A key's mode: a live key's jobs run on any device and move credits; a test key's jobs run on
/// simulator devices only, move none, are marked `livemode: false` and may send webhooks only to
/// webhooks.test_targets (docs/decisions.md, "Test keys").
enum class key_mode : std::uint8_t { live, test };

/// "live" or "test".
std::string_view key_mode_name(key_mode mode);
/// The mode named `name` ("live" or "test"), or nullopt.
std::optional<key_mode> parse_key_mode(std::string_view name);

struct api_key {
  std::string id;  ///< "key_..."
  std::string account_id;
  std::string hash;    ///< hex SHA-256 of the full key
  std::string prefix;  ///< shown in listings: 12 characters, a front end's key prefix + 8
  std::string name;
  std::int64_t created_at_ms = 0;
  std::int64_t last_used_at_ms = 0;  ///< 0 = never
  std::int64_t revoked_at_ms = 0;    ///< 0 = active
  key_mode mode = key_mode::live;    ///< stored only when test: older records are live keys
};

/// What `create-account` hands back once: the account, its first key in full, its secret.
struct account_created {
  kiln::account account;
  api_key key;
  std::string api_key_plain;
  std::optional<ledger_entry> initial_grant;  ///< the starting credits, if any
};

/// A key as created: the record plus the full key, shown once.
struct key_created {
  api_key key;
  std::string plain;
};

}  // namespace kiln

namespace kiln {

/// A fresh account with `credits` granted, its first key and its webhook secret (not yet stored).
account_created new_account(std::string name, std::string plan, std::int64_t credits,
                            std::int64_t now_ms);
/// A fresh key for `account_id` (not yet stored): the core's "kiln_sk_" key ("kiln_test_" for a
/// test key), whose listed prefix is that + 4 characters, or with a `key_prefix`
/// (crypto::valid_key_prefix) a front end's, that prefix + 32 lowercase hex, whose listed prefix
/// is the key prefix + 8 characters ("ma_a1b2c3d4"). A front end's prefix never implies a mode:
/// it asks for both ("mk_test_" and key_mode::test).
key_created new_key(const std::string& account_id, std::string name, std::int64_t now_ms,
                    std::string_view key_prefix = {}, key_mode mode = key_mode::live);

}  // namespace kiln
