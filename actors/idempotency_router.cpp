// Idempotency routing and the expiry sweep; see the header.
#include "actors/idempotency_router.hpp"

#include "base/metrics.hpp"
#include "config/limits.hpp"
#include "persistence/records.hpp"

namespace kiln {
namespace {

caf::error reused() {
  return make_error(error_code::idempotency_key_reused,
                    "this Idempotency-Key was used with a different request");
}

}  // namespace

caf::expected<submitted> replay_submit(const idempotency_record& binding,
                                       const idempotency_claim& claim) {
  if (binding.fingerprint != claim.fingerprint || !binding.created) return reused();
  metrics::add(metrics::global().idempotent_replays);
  return submitted{*binding.created, true};
}

caf::expected<grant_result> replay_grant(const idempotency_record& binding,
                                         const idempotency_claim& claim) {
  if (binding.fingerprint != claim.fingerprint || !binding.granted) return reused();
  metrics::add(metrics::global().idempotent_replays);
  return grant_result{*binding.granted, balance{}, true};
}

idempotency_owner_actor idempotency_router::owner_of(const std::string& key) const {
  auto it = owners_.find(key);
  return it == owners_.end() ? idempotency_owner_actor{} : it->second;
}

caf::expected<std::optional<idempotency_record>> idempotency_router::binding(
  const store& db, const std::string& key, std::int64_t now_ms) const {
  auto bytes = db.get(column::idempotency, records::idempotency_key(account_id_, key));
  if (!bytes) return bytes.error();
  if (!*bytes) return std::optional<idempotency_record>{};
  auto record = records::decode_idempotency_record(**bytes);
  if (!record)
    return make_error(error_code::server_error, "the Idempotency-Key's record does not decode");
  if (record->expires_at_ms <= now_ms) return std::optional<idempotency_record>{};
  return record;
}

void idempotency_router::own(const std::string& key, idempotency_owner_actor owner) {
  owners_[key] = std::move(owner);
}

void idempotency_router::forget(const std::string& key, const idempotency_owner_actor& owner) {
  if (auto it = owners_.find(key); it != owners_.end() && it->second == owner) owners_.erase(it);
}

/// Deletes bindings of expired keys with their index entries, in expiry order. A binding is
/// deleted only if the index entry is its own (a key bound again after expiring has a new one)
/// and no request with the key is in flight.
caf::expected<idempotency_router::sweep_pass> idempotency_router::sweep(const store& db,
                                                                        std::int64_t now_ms) const {
  const auto prefix = records::account_job_prefix(account_id_);
  sweep_pass pass;
  std::vector<std::pair<std::string, std::int64_t>> expired;  ///< bindings to check, and when
  auto visit = [&](std::string_view index_key, std::string_view) {
    std::int64_t expires_at = 0;
    std::string key;
    if (!records::parse_idempotency_expiry(index_key.substr(prefix.size()), expires_at, key)) {
      pass.batch.erase(column::idempotency_expiry, std::string(index_key));
      return true;
    }
    if (expires_at > now_ms || pass.expired == limits::idempotency_sweep_batch_max) {
      pass.next_expiry_ms = expires_at;
      return false;
    }
    ++pass.expired;
    pass.batch.erase(column::idempotency_expiry, std::string(index_key));
    if (!owners_.count(key))
      expired.emplace_back(records::idempotency_key(account_id_, key), expires_at);
    return true;
  };
  if (auto scanned = db.scan(column::idempotency_expiry, prefix, visit)) return scanned;
  // The bindings are read after the scan: a visitor must not call back into the store.
  for (auto& [primary, expires_at] : expired) {
    auto bytes = db.get(column::idempotency, primary);
    if (!bytes) return bytes.error();
    auto binding = *bytes ? records::decode_idempotency_record(**bytes) : std::nullopt;
    if (!binding || binding->expires_at_ms == expires_at)
      pass.batch.erase(column::idempotency, std::move(primary));
  }
  return pass;
}

}  // namespace kiln
