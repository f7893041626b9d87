// Directory actor: key hash -> principal, and account and key life cycles.
#include "actors/directory_actor.hpp"

#include "actors/account_actor.hpp"
#include "base/assert.hpp"
#include "config/limits.hpp"
#include "models/crypto.hpp"
#include "persistence/records.hpp"
#include "persistence/recovery.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace kiln {
namespace {

/// An account's request budget, shared by all its keys: `tokens` of at most the plan's requests
/// per minute, refilled continuously at that rate. In memory only (a restart refills it).
struct token_bucket {
  double tokens = -1;  ///< negative: not used yet (starts full)
  std::int64_t at_ms = 0;
};

struct account_entry {
  account record;
  account_handles actors;
  std::size_t active_keys = 0;  ///< including keys being created right now
  token_bucket bucket{};        ///< the account's one rate-limit bucket, shared by all its keys
};

struct directory_state {
  actor_context context;
  std::unordered_map<std::string, api_key> keys_by_hash;
  std::unordered_map<std::string, account_entry> accounts;
  static inline const char* name = "directory";
};

using directory_self = directory_actor::stateful_pointer<directory_state>;

/// Takes one token from the account's bucket (sized by its plan; more keys buy no more rate) and
/// writes the bucket's state into `who`; an empty bucket marks `who` rate limited and takes
/// nothing.
void take_token(directory_state& st, token_bucket& bucket, principal& who, std::int64_t now) {
  const auto* plan = st.context.config->find_plan(who.plan);
  if (!plan) return;
  const double capacity = plan->requests_per_minute;
  const double per_ms = capacity / 60'000.0;
  if (bucket.tokens < 0) bucket.tokens = capacity;
  else bucket.tokens = std::min(capacity, bucket.tokens + (now - bucket.at_ms) * per_ms);
  bucket.at_ms = now;
  who.rate_limit = plan->requests_per_minute;
  if (bucket.tokens >= 1.0) bucket.tokens -= 1.0;
  else {
    who.rate_limited = true;
    who.retry_after_s =
      static_cast<std::uint32_t>(std::ceil((1.0 - bucket.tokens) / per_ms / 1000.0));
  }
  who.rate_remaining = static_cast<std::uint32_t>(bucket.tokens);
  who.rate_reset_s =
    static_cast<std::uint32_t>(std::ceil((capacity - bucket.tokens) / per_ms / 1000.0));
}

caf::result<principal> on_auth(directory_self self, const std::string& key_hash) {
  auto& st = self->state;
  auto it = st.keys_by_hash.find(key_hash);
  if (it == st.keys_by_hash.end() || it->second.revoked_at_ms != 0 ||
      !crypto::constant_time_equal(it->second.hash, key_hash))
    return make_error(error_code::unauthorized, "missing, unknown or revoked API key");
  auto& key = it->second;
  auto& entry = st.accounts.at(key.account_id);
  auto now = st.context.clock->now_ms();
  // Last-used times are kept in memory and written without waiting, at most once a minute.
  if (now - key.last_used_at_ms >= limits::key_last_used_write_interval.count()) {
    key.last_used_at_ms = now;
    write_batch batch;
    batch.put(column::keys, key.hash, records::encode(key));
    caf::anon_send(st.context.writer, commit_atom::value, std::move(batch));
  }
  principal who{key.account_id, key.id, entry.record.plan, entry.actors.ledger, entry.actors.jobs};
  who.mode = key.mode;
  take_token(st, entry.bucket, who, now);
  return who;
}

caf::result<account_created> on_create_account(directory_self self, std::string& name,
                                               std::string& plan, std::int64_t credits) {
  auto& st = self->state;
  auto created = std::make_shared<account_created>(
    new_account(std::move(name), std::move(plan), credits, st.context.clock->now_ms()));
  auto promise = self->make_response_promise<account_created>();
  self
    ->request(st.context.writer, supervised_wait, commit_atom::value,
              records::create_account_batch(created->account, created->key, created->initial_grant))
    .then(
      [=](caf::ok_atom) mutable {
        auto& s = self->state;
        account_start start;
        start.record = created->account;
        if (created->initial_grant) start.last_ledger_seq = created->initial_grant->seq;
        auto actors = spawn_account(self->system(), s.context, std::move(start));
        s.accounts[created->account.id] = account_entry{created->account, actors, 1, {}};
        s.keys_by_hash[created->key.hash] = created->key;
        promise.deliver(std::move(*created));
      },
      [=](caf::error& error) mutable { promise.deliver(std::move(error)); });
  return promise;
}

caf::result<key_created> on_create_key(directory_self self, const std::string& account_id,
                                       key_request& request) {
  auto& st = self->state;
  auto entry = st.accounts.find(account_id);
  if (entry == st.accounts.end()) return make_error(error_code::not_found, "no such account");
  if (entry->second.active_keys >= limits::api_keys_active_max)
    return make_error(
      error_code::key_limit,
      "an account has at most " + std::to_string(limits::api_keys_active_max) + " active keys");
  entry->second.active_keys += 1;
  auto created = std::make_shared<key_created>(new_key(
    account_id, std::move(request.name), st.context.clock->now_ms(), request.prefix, request.mode));
  KILN_ASSERT(created->key.mode == request.mode);
  write_batch batch;
  batch.put(column::keys, created->key.hash, records::encode(created->key));
  auto promise = self->make_response_promise<key_created>();
  self->request(st.context.writer, supervised_wait, commit_atom::value, std::move(batch))
    .then(
      [=](caf::ok_atom) mutable {
        self->state.keys_by_hash[created->key.hash] = created->key;
        promise.deliver(std::move(*created));
      },
      [=](caf::error& error) mutable {
        KILN_ASSERT(self->state.accounts[account_id].active_keys > 0);
        self->state.accounts[account_id].active_keys -= 1;
        promise.deliver(std::move(error));
      });
  return promise;
}

caf::result<caf::ok_atom> on_revoke_key(directory_self self, const std::string& account_id,
                                        const std::string& key_id) {
  auto& st = self->state;
  for (auto& [hash, key] : st.keys_by_hash) {
    if (key.id != key_id || key.account_id != account_id || key.revoked_at_ms != 0) continue;
    api_key revoked = key;
    revoked.revoked_at_ms = st.context.clock->now_ms();
    key.revoked_at_ms = revoked.revoked_at_ms;  // refused from this message on
    KILN_ASSERT(st.accounts[account_id].active_keys > 0);
    st.accounts[account_id].active_keys -= 1;
    write_batch batch;
    batch.put(column::keys, revoked.hash, records::encode(revoked));
    auto promise = self->make_response_promise<caf::ok_atom>();
    self->request(st.context.writer, supervised_wait, commit_atom::value, std::move(batch))
      .then([=](caf::ok_atom) mutable { promise.deliver(caf::ok_atom::value); },
            [=](caf::error& error) mutable {
              auto& s = self->state;  // not durable: the key stays usable, the caller retries
              s.keys_by_hash[revoked.hash].revoked_at_ms = 0;
              s.accounts[account_id].active_keys += 1;
              promise.deliver(std::move(error));
            });
    return promise;
  }
  return make_error(error_code::not_found, "no active key " + key_id);
}

std::vector<api_key> on_list_keys(directory_self self, const std::string& account_id) {
  std::vector<api_key> result;
  for (const auto& [hash, key] : self->state.keys_by_hash)
    if (key.account_id == account_id && key.revoked_at_ms == 0) result.push_back(key);
  std::sort(result.begin(), result.end(),
            [](const api_key& a, const api_key& b) { return a.id < b.id; });
  return result;
}

caf::result<account> on_get_account(directory_self self, const std::string& account_id) {
  auto entry = self->state.accounts.find(account_id);
  if (entry == self->state.accounts.end())
    return make_error(error_code::not_found, "no such account");
  auto promise = self->make_response_promise<account>();
  return promise.delegate(entry->second.actors.ledger, get_account_atom::value);
}

caf::result<grant_result> on_grant(directory_self self, const std::string& account_id,
                                   std::int64_t amount, std::string& reason,
                                   idempotency_claim& claim) {
  auto entry = self->state.accounts.find(account_id);
  if (entry == self->state.accounts.end())
    return make_error(error_code::not_found, "no such account");
  auto promise = self->make_response_promise<grant_result>();
  return promise.delegate(entry->second.actors.ledger, grant_atom::value, amount, std::move(reason),
                          std::move(claim));
}

caf::result<job> on_restore(directory_self self, const std::string& account_id,
                            const std::string& job_id) {
  auto entry = self->state.accounts.find(account_id);
  if (entry == self->state.accounts.end())
    return make_error(error_code::not_found, "no such account");
  auto promise = self->make_response_promise<job>();
  return promise.delegate(entry->second.actors.jobs, restore_atom::value, job_id);
}

caf::result<job> on_expire(directory_self self, const std::string& account_id,
                           const std::string& job_id, const file_remover_actor& remover) {
  auto entry = self->state.accounts.find(account_id);
  if (entry == self->state.accounts.end())
    return make_error(error_code::not_found, "no such account");
  auto promise = self->make_response_promise<job>();
  return promise.delegate(entry->second.actors.jobs, expire_atom::value, job_id, remover);
}

/// Spawns the actors of every recovered account and indexes its keys.
void recover_accounts(directory_self self, recovered_state& recovered) {
  auto& st = self->state;
  for (auto& record : recovered.accounts) {
    account_start start;
    const auto& sequences = recovered.sequences[record.id];
    start.last_job_seq = sequences.last_job_seq;
    start.last_ledger_seq = sequences.last_ledger_seq;
    start.has_idempotency_keys = sequences.has_idempotency_keys;
    start.live = std::move(recovered.live_jobs[record.id]);
    start.refunds = std::move(recovered.pending_refunds[record.id]);
    start.record = record;
    auto id = record.id;
    st.accounts[id] = account_entry{
      std::move(record), spawn_account(self->system(), st.context, std::move(start)), 0, {}};
  }
  for (auto& key : recovered.keys) {
    auto entry = st.accounts.find(key.account_id);
    if (entry == st.accounts.end()) continue;
    if (key.revoked_at_ms == 0) entry->second.active_keys += 1;
    auto hash = key.hash;
    st.keys_by_hash[hash] = std::move(key);
  }
}

directory_actor::behavior_type directory(directory_self self, actor_context context,
                                         std::shared_ptr<recovered_state> recovered) {
  self->state.context = std::move(context);
  recover_accounts(self, *recovered);
  return {
    [=](auth_atom, const std::string& key_hash) { return on_auth(self, key_hash); },
    [=](create_account_atom, std::string& name, std::string& plan, std::int64_t credits) {
      return on_create_account(self, name, plan, credits);
    },
    [=](get_account_atom, const std::string& account_id) {
      return on_get_account(self, account_id);
    },
    [=](grant_atom, const std::string& account_id, std::int64_t amount, std::string& reason,
        idempotency_claim& claim) { return on_grant(self, account_id, amount, reason, claim); },
    [=](restore_atom, const std::string& account_id, const std::string& job_id) {
      return on_restore(self, account_id, job_id);
    },
    [=](expire_atom, const std::string& account_id, const std::string& job_id,
        const file_remover_actor& remover) { return on_expire(self, account_id, job_id, remover); },
    [=](create_key_atom, const std::string& account_id, std::string& name) {
      key_request request{std::move(name), {}, key_mode::live};
      return on_create_key(self, account_id, request);
    },
    [=](create_key_atom, const std::string& account_id, std::string& name,
        const std::string& key_prefix) {
      key_request request{std::move(name), key_prefix, key_mode::live};
      return on_create_key(self, account_id, request);
    },
    [=](create_key_atom, const std::string& account_id, key_request& request) {
      return on_create_key(self, account_id, request);
    },
    [=](list_keys_atom, const std::string& account_id) { return on_list_keys(self, account_id); },
    [=](revoke_key_atom, const std::string& account_id, const std::string& key_id) {
      return on_revoke_key(self, account_id, key_id);
    },
  };
}

}  // namespace

directory_actor spawn_directory(caf::actor_system& system, const actor_context& context,
                                recovered_state recovered) {
  return system.spawn(directory, context, std::make_shared<recovered_state>(std::move(recovered)));
}

}  // namespace kiln
