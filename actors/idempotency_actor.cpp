// The owner of one idempotency key while its first request is in flight; see the header.
#include "actors/idempotency_actor.hpp"

#include "actors/idempotency_router.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <variant>
#include <vector>

namespace kiln {
namespace {

/// A request waiting for the first one's outcome.
struct waiter {
  std::variant<keyed_submit, keyed_grant> request;
  caf::response_promise promise;
};

struct owner_state {
  owner_state() = default;  // not an aggregate: CAF would build it from the actor's pointer
  account_actor account;
  std::string key;
  std::vector<waiter> waiting;
  std::optional<idempotency_record> binding;
  bool released = false;  ///< the first request failed: the key is free again
  static inline const char* name = "idempotency_owner";
};

using owner_self = idempotency_owner_actor::stateful_pointer<owner_state>;

const idempotency_claim& claim_of(const waiter& w) {
  return std::visit([](const auto& r) -> const idempotency_claim& { return r.claim; }, w.request);
}

/// Answers `w` from the key's binding.
void replay(waiter& w, const idempotency_record& binding) {
  if (auto* s = std::get_if<keyed_submit>(&w.request)) {
    auto answer = replay_submit(binding, s->claim);
    answer ? w.promise.deliver(std::move(*answer)) : w.promise.deliver(answer.error());
  } else {
    auto answer = replay_grant(binding, std::get<keyed_grant>(w.request).claim);
    answer ? w.promise.deliver(std::move(*answer)) : w.promise.deliver(answer.error());
  }
}

/// Runs `w` afresh through the account: the first request failed and bound nothing.
void rerun(owner_self self, waiter& w) {
  const auto& account = self->state.account;
  if (auto* s = std::get_if<keyed_submit>(&w.request))
    w.promise.delegate(account, submit_atom::value, std::move(s->spec), std::move(s->trace_id),
                       std::move(s->claim));
  else {
    auto& g = std::get<keyed_grant>(w.request);
    w.promise.delegate(account, grant_atom::value, g.amount, std::move(g.reason),
                       std::move(g.claim));
  }
}

/// A request with the key: answered at once when the outcome is known, else it waits.
template <class Answer, class Request>
caf::result<Answer> on_join(owner_self self, Request& request) {
  auto& st = self->state;
  auto promise = self->make_response_promise<Answer>();
  waiter w{std::move(request), promise};
  if (st.binding) replay(w, *st.binding);
  else if (st.released) rerun(self, w);
  else st.waiting.push_back(std::move(w));
  return promise;
}

void on_bound(owner_self self, idempotency_record& binding) {
  auto& st = self->state;
  st.binding = std::move(binding);
  for (auto& w : st.waiting) replay(w, *st.binding);
  st.waiting.clear();
  self->send(st.account, key_done_atom::value, st.key);
}

void on_unbound(owner_self self, const std::string& fingerprint, const caf::error& failure) {
  auto& st = self->state;
  st.released = true;
  // First, so that the account forgets this owner before any request sent back arrives.
  self->send(st.account, key_done_atom::value, st.key);
  for (auto& w : st.waiting) {
    if (claim_of(w).fingerprint == fingerprint) w.promise.deliver(failure);
    else rerun(self, w);
  }
  st.waiting.clear();
}

idempotency_owner_actor::behavior_type idempotency_owner(owner_self self, account_actor account,
                                                         std::string key) {
  self->state.account = std::move(account);
  self->state.key = std::move(key);
  return {
    [=](join_atom, keyed_submit& request) { return on_join<submitted>(self, request); },
    [=](join_atom, keyed_grant& request) { return on_join<grant_result>(self, request); },
    [=](bound_atom, idempotency_record& binding) { on_bound(self, binding); },
    [=](unbound_atom, const std::string& fingerprint, const caf::error& failure) {
      on_unbound(self, fingerprint, failure);
    },
    [=](stop_atom) { self->quit(); },
  };
}

}  // namespace

idempotency_owner_actor spawn_idempotency_owner(caf::actor_system& system, account_actor account,
                                                std::string key) {
  return system.spawn(idempotency_owner, std::move(account), std::move(key));
}

}  // namespace kiln
