// The deliveries actor and one delivery actor per pending webhook delivery; see the header.
//
// Attempt -> outcome -> write -> wait: the outcome of an attempt and the time of the next one are
// on disk before the actor sleeps, so after a SIGKILL the delivery resumes where it was. An
// attempt that was out when the process died is sent again (at least once); a delivery written
// as delivered is never sent again by the retries, only by an explicit redeliver.
#include "actors/delivery_actor.hpp"

#include "base/backoff.hpp"
#include "base/logging.hpp"
#include "base/metrics.hpp"
#include "config/limits.hpp"
#include "config/settings.hpp"
#include "models/crypto.hpp"
#include "models/dialects/mercadream.hpp"
#include "models/job_json.hpp"
#include "models/json_writer.hpp"
#include "models/webhook_signature.hpp"
#include "outbound/http_client.hpp"
#include "persistence/records.hpp"
#include "persistence/store.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <spdlog/spdlog.h>

#include <cstring>

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::outbound::outbound_result)

namespace kiln {
namespace {

/// One delivery's own messages: its timer, its attempt's outcome, and a retry of its write.
using delivery_actor = caf::typed_actor<caf::reacts_to<tick_atom>,
                                        caf::reacts_to<attempted_atom, outbound::outbound_result>,
                                        caf::reacts_to<write_atom>>;

/// SplitMix64: eight bytes of state for jitter and fault draws. A pending delivery is mostly
/// waiting, and 100k of them should not carry a 2.5 KB Mersenne Twister each.
struct small_random {
  std::uint64_t state = 0;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  ///< [0, 1)
};

struct delivery_state {
  delivery current;                              ///< as last written
  std::shared_ptr<const actor_context> context;  ///< shared by every delivery actor
  small_random random;
  std::vector<job_event> events;  ///< the timeline events of the attempt being written
  std::int64_t attempt_started_ms = 0;
  kiln::backoff write_backoff{limits::write_retry_delay_min, limits::write_retry_delay_max};
  static inline const char* name = "delivery";
};

using delivery_self = delivery_actor::stateful_pointer<delivery_state>;

void schedule(delivery_self self) {
  auto& st = self->state;
  auto wait =
    std::max<std::int64_t>(st.current.next_attempt_at_ms - st.context->clock->now_ms(), 0);
  if (wait == 0) self->send(self, tick_atom::value);
  else self->delayed_send(self, std::chrono::milliseconds(wait), tick_atom::value);
}

/// Writes the delivery as it now is; then waits for the next attempt or ends. A failed write is
/// retried (the attempt happened; its record must land) with backoff.
void write(delivery_self self) {
  auto& st = self->state;
  write_batch batch;
  records::put_delivery(batch, st.current);
  for (const auto& event : st.events) records::put_event(batch, st.current.job_id, event);
  self->request(st.context->writer, supervised_wait, commit_atom::value, std::move(batch))
    .then(
      [=](caf::ok_atom) {
        auto& s = self->state;
        s.write_backoff.reset();
        s.events.clear();
        if (s.current.status == delivery_status::pending) schedule(self);
        else self->quit();
      },
      [=](caf::error& error) {
        auto& s = self->state;
        logs::get("webhooks")
          ->warn(R"("event":"webhook.write_failed","delivery":"{}","trace_id":"{}","error":"{}")",
                 s.current.id, s.current.trace_id, logs::json_text(describe(error)));
        self->delayed_send(self, s.write_backoff.next(), write_atom::value);
      });
}

void on_attempted(delivery_self self, const outbound::outbound_result& result) {
  auto& st = self->state;
  auto& d = st.current;
  const auto now = st.context->clock->now_ms();
  delivery_attempt a;
  a.attempt = static_cast<std::uint32_t>(d.attempts.size() + 1);
  a.at_ms = st.attempt_started_ms;
  a.status_code = result.status;
  a.error = result.error;
  a.duration_ms = result.duration_ms;
  auto decision =
    decide_retry(st.context->config->webhooks.retry_schedule_ms, a.attempt, result.status,
                 parse_retry_after(result.retry_after, now), 0.9 + 0.2 * st.random.unit());
  d.status = decision.status;
  if (decision.status == delivery_status::pending) {
    d.next_attempt_at_ms = now + decision.delay_ms;
    a.next_retry_at_ms = d.next_attempt_at_ms;
  }
  auto& counters = metrics::global();
  metrics::add(counters.webhook_attempts);
  if (d.status == delivery_status::delivered) metrics::add(counters.webhooks_delivered);
  if (d.status == delivery_status::failed) metrics::add(counters.webhooks_failed);
  logs::get("webhooks")
    ->info(
      R"("event":"webhook.attempt","delivery":"{}","event_id":"{}","job":"{}","trace_id":"{}",)"
      R"("attempt":{},"status_code":{},"error":"{}","duration_ms":{},"outcome":"{}","next_in_ms":{})",
      d.id, d.event_id, d.job_id, d.trace_id, a.attempt, a.status_code, logs::json_text(a.error),
      a.duration_ms, delivery_status_name(d.status), decision.delay_ms);
  json_writer details;
  details.begin_object().field("delivery_id", d.id).field("attempt", a.attempt);
  if (a.status_code) details.field("status_code", static_cast<std::int64_t>(a.status_code));
  else details.field("error", a.error);
  details.end_object();
  st.events.push_back(make_event("webhook.attempt", a.at_ms, d.trace_id, details.take()));
  if (d.status != delivery_status::pending)
    st.events.push_back(
      make_event(d.status == delivery_status::delivered ? "webhook.delivered" : "webhook.failed",
                 now, d.trace_id, R"({"delivery_id":")" + d.id + R"("})"));
  d.attempts.push_back(std::move(a));
  write(self);
}

/// The job and account the event is about, as stored now; nullopt when either is gone or does
/// not decode (the delivery cannot be made); an error when the store failed (it is tried again).
caf::expected<std::optional<std::pair<job, account>>> event_subject(const store& db,
                                                                    const delivery& d) {
  auto job_bytes = db.get(column::jobs, d.job_id);
  if (!job_bytes) return job_bytes.error();
  auto account_bytes = db.get(column::accounts, d.account_id);
  if (!account_bytes) return account_bytes.error();
  auto record = *job_bytes ? records::decode_job(**job_bytes) : std::nullopt;
  auto owner = *account_bytes ? records::decode_account(**account_bytes) : std::nullopt;
  if (!record || !owner) return std::optional<std::pair<job, account>>{};
  return std::optional(std::pair(std::move(*record), std::move(*owner)));
}

void attempt(delivery_self self) {
  auto& st = self->state;
  auto& d = st.current;
  const auto now = st.context->clock->now_ms();
  st.attempt_started_ms = now;
  auto subject = event_subject(*st.context->db, d);
  if (!subject) {  // the store failed: the attempt did not happen; try again later
    logs::get("webhooks")
      ->warn(R"("event":"webhook.read_failed","delivery":"{}","error":"{}")", d.id,
             logs::json_text(describe(subject.error())));
    self->delayed_send(self, st.write_backoff.next(), tick_atom::value);
    return;
  }
  if (!*subject) {  // cannot happen while the store is intact; retrying cannot help
    logs::get("webhooks")
      ->error(R"("event":"webhook.orphaned","delivery":"{}","job":"{}")", d.id, d.job_id);
    d.status = delivery_status::failed;
    return write(self);
  }
  const auto& [record, owner] = **subject;
  if (st.random.unit() < st.context->faults->webhook_drop_rate.load()) {
    outbound::outbound_result lost;  // fault injection: as if the network lost the request
    lost.error = "dropped by fault injection";
    return on_attempted(self, lost);
  }
  outbound::outbound_request request;
  request.url = d.url;
  request.body = render_webhook_event(
    d, record, url_context{st.context->public_url, st.context->url_signing_key, now});
  // MercaDream's body carries its own signature, by the account's current secret.
  if (record.spec.origin.webhook_format == "mercadream")
    if (auto key = webhooks::decode_secret(owner.webhook_secret))
      request.body = mercadream::signed_webhook(request.body, *key);
  const auto timestamp = now / 1000;
  request.headers = {
    {"webhook-id", d.event_id},
    {"webhook-timestamp", std::to_string(timestamp)},
    {"webhook-signature",
     webhooks::signature_header(signing_secrets(owner, now), d.event_id, timestamp, request.body)},
  };
  if (auto parent = crypto::traceparent_for(d.trace_id); !parent.empty())
    request.headers.emplace_back("traceparent", std::move(parent));
  auto handle = caf::actor_cast<delivery_actor>(self);
  st.context->webhook_client->post(std::move(request), [handle](outbound::outbound_result result) {
    caf::anon_send(handle, attempted_atom::value, std::move(result));
  });
}

delivery_actor::behavior_type delivery_behavior(delivery_self self,
                                                std::shared_ptr<const actor_context> context,
                                                delivery d) {
  auto& st = self->state;
  st.context = std::move(context);
  st.current = std::move(d);
  std::memcpy(&st.random.state, crypto::random_bytes(8).data(), 8);
  schedule(self);
  return {
    [=](tick_atom) { attempt(self); },
    [=](attempted_atom, outbound::outbound_result& result) {
      // The client stops at shutdown: the attempt did not happen, and the delivery resumes after
      // the restart from what was last written. The actor ends normally: left waiting with no
      // handle to it, it would end as `unreachable`, which reads as a crash.
      if (result.error == "stopped") return self->quit();
      on_attempted(self, result);
    },
    [=](write_atom) { write(self); },
  };
}

// -- the deliveries actor ----------------------------------------------------------------------

struct deliveries_state {
  actor_context context;
  std::shared_ptr<const actor_context> shared;  ///< handed to every delivery actor
  std::size_t live = 0;
  bool started = false;           ///< the server is listening and public_url is known
  std::vector<delivery> waiting;  ///< deliveries that arrived before that
  static inline const char* name = "deliveries";
};

using deliveries_self = deliveries_actor::stateful_pointer<deliveries_state>;

void start_delivery(deliveries_self self, delivery d) {
  if (!self->state.started) return self->state.waiting.push_back(std::move(d));
  auto actor = self->spawn(delivery_behavior, self->state.shared, std::move(d));
  self->monitor(actor);
  self->state.live += 1;
}

/// A new delivery of the job's terminal event to its webhook_url, with the event id of its first
/// delivery (a redelivery is the same event), written before it is started and answered.
caf::result<delivery> redeliver(deliveries_self self, const job& j) {
  auto& st = self->state;
  auto d = new_delivery(j, st.context.clock->now_ms());
  auto scanned = st.context.db->scan(column::deliveries, j.id + "/",
                                     [&](std::string_view, std::string_view value) {
                                       if (auto first = records::decode_delivery(value)) {
                                         d.event_id = first->event_id;
                                         d.created_at_ms = first->created_at_ms;
                                       }
                                       return false;
                                     });
  if (scanned) return scanned;
  write_batch batch;
  records::put_delivery(batch, d);
  auto promise = self->make_response_promise<delivery>();
  self->request(st.context.writer, supervised_wait, commit_atom::value, std::move(batch))
    .then(
      [=](caf::ok_atom) mutable {
        start_delivery(self, d);
        promise.deliver(d);
      },
      [=](caf::error& error) mutable { promise.deliver(error); });
  return promise;
}

void on_register(deliveries_self self, std::string& public_url) {
  auto& st = self->state;
  st.context.public_url = std::move(public_url);
  st.shared = std::make_shared<const actor_context>(st.context);
  st.started = true;
  auto waiting = std::move(st.waiting);
  st.waiting.clear();
  for (auto& d : waiting) start_delivery(self, std::move(d));
}

deliveries_actor::behavior_type deliveries(deliveries_self self, actor_context context,
                                           std::vector<delivery> pending) {
  self->state.context = std::move(context);
  self->state.context.deliveries = caf::actor_cast<deliveries_actor>(self);
  self->set_down_handler([=](caf::down_msg& down) {
    self->state.live -= 1;
    if (down.reason && down.reason != caf::exit_reason::normal)
      logs::get("webhooks")
        ->error(R"("event":"webhook.actor_crashed","reason":"{}")",
                logs::json_text(caf::to_string(down.reason)));
  });
  self->state.waiting = std::move(pending);
  return {
    [=](register_atom, std::string& public_url) { on_register(self, public_url); },
    [=](deliver_atom, delivery& d) { start_delivery(self, std::move(d)); },
    [=](redeliver_atom, const job& j) { return redeliver(self, j); },
    [=](stats_atom) { return static_cast<std::uint64_t>(self->state.live); },
  };
}

}  // namespace

deliveries_actor spawn_deliveries(caf::actor_system& system, const actor_context& context,
                                  std::vector<delivery> pending) {
  return system.spawn(deliveries, context, std::move(pending));
}

}  // namespace kiln
