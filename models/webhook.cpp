// Webhook deliveries and the retry policy.
#include "models/webhook.hpp"

#include "models/crypto.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>

namespace kiln {

std::string_view delivery_status_name(delivery_status status) {
  switch (status) {
    case delivery_status::pending:
      return "pending";
    case delivery_status::delivered:
      return "delivered";
    case delivery_status::failed:
      return "failed";
  }
  return "pending";
}

std::optional<delivery_status> parse_delivery_status(std::string_view name) {
  for (auto s : {delivery_status::pending, delivery_status::delivered, delivery_status::failed})
    if (delivery_status_name(s) == name) return s;
  return std::nullopt;
}

bool sends_event(const job& value) {
  if (value.spec.webhook_url.empty()) return false;
  return is_terminal(value.status) || (value.status == job_status::processing &&
                                       value.spec.origin.webhook_format == "mercadream");
}

std::optional<delivery> progress_delivery(const job& value, std::uint32_t before_percent,
                                          std::int64_t now_ms) {
  constexpr std::uint32_t step = 25;
  if (value.status != job_status::processing || !sends_event(value) ||
      value.progress / step <= before_percent / step || value.progress >= 100)
    return std::nullopt;
  auto d = new_delivery(value, now_ms);
  d.event = "job.progress";
  d.progress = value.progress / step * step;
  return d;
}

std::string event_name(job_status status) {
  switch (status) {
    case job_status::succeeded:
      return "job.succeeded";
    case job_status::failed:
      return "job.failed";
    case job_status::canceled:
      return "job.canceled";
    case job_status::processing:
      return "job.processing";
    default:
      return {};
  }
}

delivery new_delivery(const job& j, std::int64_t now_ms) {
  delivery d;
  d.id = crypto::make_id("dlv_", now_ms);
  d.event_id = crypto::make_id("evt_", now_ms);
  d.event = event_name(j.status);
  d.job_id = j.id;
  d.account_id = j.account_id;
  d.url = j.spec.webhook_url;
  d.trace_id = j.trace_id;
  d.created_at_ms = now_ms;
  d.next_attempt_at_ms = now_ms;
  return d;
}

bool is_retryable(int status_code) {
  return status_code == 0 || status_code == 408 || status_code == 429 ||
         (status_code >= 500 && status_code <= 599);
}

retry_decision decide_retry(const std::vector<std::uint64_t>& schedule_ms, std::uint32_t attempt,
                            int status_code, std::int64_t retry_after_s, double jitter) {
  if (status_code >= 200 && status_code <= 299) return {delivery_status::delivered, 0};
  if (!is_retryable(status_code) || attempt == 0 || attempt > schedule_ms.size())
    return {delivery_status::failed, 0};
  auto step = static_cast<double>(schedule_ms[attempt - 1]);
  auto delay = static_cast<std::int64_t>(std::llround(step * jitter));
  if (retry_after_s >= 0 && (status_code == 429 || status_code == 503)) {
    auto cap = static_cast<std::int64_t>(
      schedule_ms[std::min<std::size_t>(attempt, schedule_ms.size() - 1)]);
    delay = std::min(retry_after_s * 1000, std::max(cap, static_cast<std::int64_t>(step)));
  }
  return {delivery_status::pending, std::max<std::int64_t>(delay, 0)};
}

std::int64_t parse_retry_after(std::string_view value, std::int64_t now_ms) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return -1;
  std::int64_t seconds = -1;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec == std::errc{} && end == value.data() + value.size()) return seconds < 0 ? -1 : seconds;
  std::tm parts{};  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
  std::string text(value);
  if (!strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &parts)) return -1;
  auto at = static_cast<std::int64_t>(timegm(&parts));
  return std::max<std::int64_t>(at - now_ms / 1000, 0);
}

}  // namespace kiln
