// How domain values are stored: record encoding (JSON, readable with any RocksDB tool) and the key
// layout of each column family. Encoding and decoding are paired and round-trip tested.
#pragma once

#include "models/account.hpp"
#include "models/job.hpp"
#include "models/ledger.hpp"
#include "persistence/store.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace kiln::records {

std::string encode(const job& value);
std::string encode(const account& value);
std::string encode(const api_key& value);
std::string encode(const ledger_entry& value);

std::optional<job> decode_job(std::string_view bytes);
std::optional<account> decode_account(std::string_view bytes);
std::optional<api_key> decode_key(std::string_view bytes);
std::optional<ledger_entry> decode_ledger_entry(std::string_view bytes);

/// account_jobs key: "<account_id>/<seq as 16 hex digits>", so a prefix scan lists an account's
/// jobs in creation order.
std::string account_job_key(std::string_view account_id, std::uint64_t seq);
std::string account_job_prefix(std::string_view account_id);

/// ledger key: "<account_id>/<seq as 16 hex digits>"; the same prefix as account_job_prefix.
std::string ledger_key(std::string_view account_id, std::uint64_t seq);
/// grant_keys key: "<account_id>/<idempotency key>".
std::string grant_key(std::string_view account_id, std::string_view idempotency_key);

/// The writes that create an account with its first key (and the grant of its starting
/// credits, so the ledger replays to its balance): used by the directory actor and by
/// `kiln admin create-account` alike.
write_batch create_account_batch(const account& value, const api_key& key,
                                 const std::optional<ledger_entry>& initial_grant);
/// The writes that store a job (new or changed) and, when new, its listing index entry.
write_batch job_batch(const job& value, bool is_new);

/// meta keys
inline constexpr std::string_view meta_url_signing_key = "url_signing_key";
inline constexpr std::string_view meta_demo_account = "demo_account";

}  // namespace kiln::records
