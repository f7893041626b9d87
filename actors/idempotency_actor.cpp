// The owner of one idempotency key while its first request is in flight; see the header.
#include "actors/idempotency_actor.hpp"

#include "actors/protocol.hpp"
#include "base/metrics.hpp"

#include <vector>

namespace kiln {
namespace {

struct waiter {
  keyed_request request;
  caf::response_promise promise;
};

struct owner_state {
  caf::actor account;
  std::string key;
  std::vector<waiter> waiting;
  std::optional<idempotency_record> binding;
  bool released = false;  ///< the first request failed: the key is free again
  static inline const char* name = "idempotency_owner";
};

using owner_self = caf::stateful_actor<owner_state>*;

}  // namespace

/// The answer a key bound to `binding` gives to `request`: the first answer, replayed, or 422.
void answer_from_binding(caf::response_promise& promise, const idempotency_record& binding,
                         const keyed_request& request) {
  bool submit = request.what == keyed_request::kind::submit;
  if (binding.fingerprint != request.claim.fingerprint ||
      !(submit ? binding.created.has_value() : binding.granted.has_value()))
    return promise.deliver(make_error(error_code::idempotency_key_reused,
                                      "this Idempotency-Key was used with a different request"));
  metrics::add(metrics::global().idempotent_replays);
  if (submit) promise.deliver(submitted{*binding.created, true});
  else promise.deliver(grant_result{*binding.granted, balance{}, true});
}

namespace {

caf::behavior idempotency_owner(owner_self self, caf::actor account, std::string key) {
  self->state.account = std::move(account);
  self->state.key = std::move(key);
  return {
    [=](join_atom, keyed_request& request) -> caf::response_promise {
      auto& st = self->state;
      auto promise = self->make_response_promise();
      if (st.binding) answer_from_binding(promise, *st.binding, request);
      else if (st.released) promise.delegate(st.account, keyed_atom::value, std::move(request));
      else st.waiting.push_back({std::move(request), promise});
      return promise;
    },
    [=](bound_atom, idempotency_record& binding) {
      auto& st = self->state;
      st.binding = std::move(binding);
      for (auto& w : st.waiting) answer_from_binding(w.promise, *st.binding, w.request);
      st.waiting.clear();
      self->send(st.account, key_done_atom::value, st.key);
    },
    [=](unbound_atom, const std::string& fingerprint, caf::error& failure) {
      auto& st = self->state;
      st.released = true;
      // First, so that the account forgets this owner before any request sent back arrives.
      self->send(st.account, key_done_atom::value, st.key);
      for (auto& w : st.waiting) {
        if (w.request.claim.fingerprint == fingerprint) w.promise.deliver(failure);
        else w.promise.delegate(st.account, keyed_atom::value, std::move(w.request));
      }
      st.waiting.clear();
    },
    [=](stop_atom) { self->quit(); },
  };
}

}  // namespace

caf::actor spawn_idempotency_owner(caf::actor_system& system, caf::actor account,
                                   std::string key) {
  return system.spawn(idempotency_owner, std::move(account), std::move(key));
}

}  // namespace kiln
