// Where a request with an Idempotency-Key goes, as a plain class the account actor uses. While
// the key's first request is in flight the request waits at the key's owner actor; once the key
// is bound (in the store) it is answered from the binding; otherwise it is the key's first
// request. Also the sweep that deletes expired keys, in expiry order.
#pragma once

#include "persistence/store.hpp"
#include "protocol/account.hpp"

#include <caf/expected.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

namespace kiln {

/// The answer a key bound to `binding` gives to a request with `claim`: the first answer,
/// replayed, or 422 idempotency_key_reused when the request differs.
caf::expected<submitted> replay_submit(const idempotency_record& binding,
                                       const idempotency_claim& claim);
caf::expected<grant_result> replay_grant(const idempotency_record& binding,
                                         const idempotency_claim& claim);

class idempotency_router {
public:
  explicit idempotency_router(std::string account_id) : account_id_(std::move(account_id)) {}

  /// The owner of `key` while its first request is in flight; null otherwise.
  idempotency_owner_actor owner_of(const std::string& key) const;
  /// The key's binding in the store unless it has expired; an error when the read failed.
  caf::expected<std::optional<idempotency_record>> binding(const store& db, const std::string& key,
                                                           std::int64_t now_ms) const;
  /// `owner` runs the key's first request.
  void own(const std::string& key, idempotency_owner_actor owner);
  /// `owner` is done; the key is read from the store from now on (unless another owns it).
  void forget(const std::string& key, const idempotency_owner_actor& owner);

  /// One pass of the expiry sweep: the deletions to write (at most idempotency_sweep_batch_max
  /// keys) and when the next key expires, if any remain.
  struct sweep_pass {
    write_batch batch;
    std::size_t expired = 0;
    std::optional<std::int64_t> next_expiry_ms;
  };
  caf::expected<sweep_pass> sweep(const store& db, std::int64_t now_ms) const;

private:
  std::string account_id_;
  std::unordered_map<std::string, idempotency_owner_actor> owners_;
};

}  // namespace kiln
