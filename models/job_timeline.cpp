// The job timeline: stored events plus those its record implies, in order.
#include "models/job_timeline.hpp"

#include "models/json_writer.hpp"
#include "models/webhook.hpp"

#include <algorithm>
#include <string>
#include <utility>

namespace kiln {
namespace {

std::string amount(std::int64_t credits) { return R"({"amount":)" + std::to_string(credits) + "}"; }

/// Orders events that share a millisecond: creation, runs and cancel, the end, then webhooks.
int phase(const job_event& e) {
  if (e.type == "job.queued" || e.type == "hold.placed") return 0;
  if (e.type.rfind("webhook.", 0) == 0) return 3;
  if (e.type == "job.succeeded" || e.type == "job.failed" || e.type.rfind("hold.", 0) == 0)
    return 2;
  return 1;
}

}  // namespace

std::string attempt_details(const job& j, std::string_view error) {
  json_writer w;
  w.begin_object().field("device", j.device).field("attempt", j.attempts);
  if (!error.empty()) w.field("error", error);
  return w.end_object().take();
}

std::vector<job_event> job_timeline(const job& j, std::vector<job_event> stored) {
  std::vector<job_event> events{make_event("job.queued", j.created_at_ms, j.trace_id)};
  // A test job holds nothing, so its timeline shows no hold.
  if (j.spec.livemode)
    events.push_back(
      make_event("hold.placed", j.created_at_ms, j.trace_id, amount(j.credits_held)));
  for (auto& e : stored) events.push_back(std::move(e));
  if (j.status == job_status::succeeded || j.status == job_status::failed)
    events.push_back(make_event(event_name(j.status), j.completed_at_ms, j.trace_id,
                                j.error ? R"({"code":")" + j.error->code + R"("})" : "{}"));
  if (j.status == job_status::succeeded && j.credits_used > 0)
    events.push_back(
      make_event("hold.captured", j.completed_at_ms, j.trace_id, amount(j.credits_used)));
  if (j.credits_refunded > 0)
    events.push_back(
      make_event("hold.released", j.completed_at_ms, j.trace_id, amount(j.credits_refunded)));
  std::stable_sort(events.begin(), events.end(), [](const job_event& a, const job_event& b) {
    return std::pair(a.at_ms, phase(a)) < std::pair(b.at_ms, phase(b));
  });
  return events;
}

}  // namespace kiln
