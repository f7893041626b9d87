// How domain values are stored: record encoding (JSON, readable with any RocksDB tool) and the key
// layout of each column family. Encoding and decoding are paired and round-trip tested.
#pragma once

#include "models/account.hpp"
#include "models/idempotency.hpp"
#include "models/job.hpp"
#include "models/job_event.hpp"
#include "models/ledger.hpp"
#include "models/upload.hpp"
#include "models/webhook.hpp"
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
/// jobs (those not soft-deleted) in creation order.
std::string account_job_key(std::string_view account_id, std::uint64_t seq);
std::string account_job_prefix(std::string_view account_id);
/// The number written as 16 hex digits: an account_jobs or ledger key's seq, an expiry's ms.
bool parse_seq(std::string_view digits, std::uint64_t& seq);

/// ledger key: "<account_id>/<seq as 16 hex digits>"; the same prefix as account_job_prefix.
std::string ledger_key(std::string_view account_id, std::uint64_t seq);
/// idempotency key: "<account_id>/<idempotency key>".
std::string idempotency_key(std::string_view account_id, std::string_view key);
/// idempotency_expiry key: "<account_id>/<expires_at_ms as 16 hex digits>/<idempotency key>", so
/// a prefix scan visits an account's keys in the order they expire.
std::string idempotency_expiry_key(std::string_view account_id, std::int64_t expires_at_ms,
                                   std::string_view key);
/// Splits an idempotency_expiry key (after the account prefix) into its expiry and key.
bool parse_idempotency_expiry(std::string_view rest, std::int64_t& expires_at_ms, std::string& key);

/// Lines: the fingerprint, the expiry, "job" or "grant", then that record's JSON.
std::string encode(const idempotency_record& value);
std::optional<idempotency_record> decode_idempotency_record(std::string_view bytes);
std::string encode(const delivery& value);
std::optional<delivery> decode_delivery(std::string_view bytes);
/// deliveries and pending_deliveries key: "<job_id>/<delivery_id>", so a prefix scan lists a
/// job's deliveries in creation order.
std::string delivery_key(std::string_view job_id, std::string_view delivery_id);
/// The writes that store a delivery as it now is: its record, and its pending index entry while
/// it is pending (removed once it is delivered or failed).
void put_delivery(write_batch& batch, const delivery& value);

/// job_events: the event's key under its job, in time order, and its record.
void put_event(write_batch& batch, std::string_view job_id, const job_event& event);
std::optional<job_event> decode_event(std::string_view bytes);

/// The writes that bind a key: its record and its expiry index entry.
void bind_idempotency_key(write_batch& batch, std::string_view account_id, std::string_view key,
                          const idempotency_record& value);

/// The writes that create an account with its first key (and the grant of its starting
/// credits, so the ledger replays to its balance): used by the directory actor and by
/// `kiln admin create-account` alike.
write_batch create_account_batch(const account& value, const api_key& key,
                                 const std::optional<ledger_entry>& initial_grant);
/// The writes that store a job as it is now, changed from `before` (nullptr: new): its record,
/// when new its account_jobs entry, its listing keys and counts (persistence/job_listing), and
/// its output expiry key while its files are kept (persistence/output_expiry).
void put_job(write_batch& batch, const job& value, const job* before);
/// put_job into a batch of its own.
write_batch job_batch(const job& value, const job* before);

/// An upload session's record (upload_record.cpp), checked under verification like the rest.
std::string encode(const upload_session& value);
std::optional<upload_session> decode_upload(std::string_view bytes);
/// upload_expiry key: "<files due at ms, 16 hex>/<session id>".
std::string upload_expiry_key(const upload_session& value);
/// The writes that store a session as it now is; while its files are kept, its expiry key too
/// (erased once the sweep marked them deleted).
write_batch upload_batch(const upload_session& value);

/// meta keys
inline constexpr std::string_view meta_url_signing_key = "url_signing_key";
inline constexpr std::string_view meta_demo_account = "demo_account";

}  // namespace kiln::records
