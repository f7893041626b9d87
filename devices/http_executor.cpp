// The http executor: one loop thread owns every run's state, its timers and the simdjson parser,
// and makes every user callback, so a run's callbacks never overlap and none follows its `done`.
// HTTP calls go through a http_client (its io thread only posts the answers back to the loop).
// Each run is a small state machine: create (POST, retried only when surely not received), then
// poll (GET every poll_interval, failures retried with backoff), then done; cancel answers at
// once and sends a DELETE, also for a run whose id arrives after the cancel.
#include "devices/http_executor.hpp"

#include "devices/detail/loop_thread.hpp"
#include "devices/detail/run_protocol.hpp"

#include "models/crypto.hpp"
#include "models/json_writer.hpp"
#include "models/webhook.hpp"
#include "outbound/http_client.hpp"
#include "outbound/target.hpp"

#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <mutex>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

namespace kiln {

namespace {

using detail::create_body;
using detail::percent_encode;
using detail::printable;
using detail::read_outputs;
using std::chrono::milliseconds;

constexpr std::size_t run_id_bytes_max = 256;
/// A parser that grew past this for one large response is dropped afterwards (memory).
constexpr std::size_t parser_keep_bytes_max = 1 << 20;

outbound::client_options client_options_for(const http_executor::options& o) {
  outbound::client_options c;
  c.threads = 1;
  c.timeout = o.call_timeout;
  c.max_response_body = o.max_response_bytes;
  c.allow_private_targets = o.allow_private_targets;
  c.extra_ca_file = o.ca_file;
  c.max_in_flight = 4096;  // one endpoint: its calls must not wait behind each other
  c.max_per_endpoint = 4096;
  c.resolver_lanes = 1;
  return c;
}

/// base_url without trailing slashes; throws std::invalid_argument when unusable.
std::string checked_base(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.find_first_of("?#") != std::string::npos)
    throw std::invalid_argument("http executor: base_url must not have a query or fragment: " +
                                url);
  if (!outbound::parse_url(url + "/v1/runs"))
    throw std::invalid_argument("http executor: base_url is not an http(s) URL: " + url);
  return url;
}

/// Failed calls worth another try: nothing was answered, or the server said "not now".
bool retryable(const outbound::outbound_result& r) {
  return !r.error.empty() || r.status == 429 || r.status >= 500;
}

/// Retry-After (delta-seconds or an HTTP date, read as webhooks read it), 0 when absent; at most
/// a day, which max_backoff caps further.
milliseconds retry_after(const std::string& value) {
  auto now_ms =
    std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
  auto seconds = std::min<std::int64_t>(parse_retry_after(value, now_ms), 86400);
  return milliseconds(seconds > 0 ? seconds * 1000 : 0);
}

void call_safely(const std::function<void(http_run_result)>& done, http_run_result result) {
  try {
    if (done) done(std::move(result));
  } catch (...) {
    // documented: callbacks must not throw; the loop thread must survive one that does
  }
}

/// Holds a run's `done` until the loop starts the run; answers "stopped" if it never does (the
/// loop had exited, or stop() dropped the queued start), wherever the last copy is destroyed.
struct start_guard {
  std::function<void(http_run_result)> done;
  start_guard() = default;
  start_guard(const start_guard&) = delete;
  start_guard& operator=(const start_guard&) = delete;
  ~start_guard() {
    if (done) call_safely(done, {"stopped", {}});
  }
};

}  // namespace

struct http_executor::impl {
  struct run_state {
    http_run_request request;
    std::function<void(std::uint32_t)> on_progress;
    std::function<void(http_run_result)> done;
    std::string run_id;       ///< the server's id, once created
    std::uint32_t tries = 0;  ///< of the current call (create, or the current poll)
    bool create_in_flight = false;
    int last_progress = -1;
  };

  explicit impl(options o)
    : opts(std::move(o)), base(checked_base(opts.base_url)), client(client_options_for(opts)) {}

  /// Every run ends "stopped". Runs on the loop thread, last (stop()).
  void shutdown() {
    auto ending = std::move(runs);
    runs.clear();
    by_job.clear();
    orphans.clear();
    active.store(0);
    for (auto& [token, run] : ending) call_safely(run.done, {"stopped", {}});
  }

  // ----- runs (loop thread only) -----

  std::string runs_url() const { return base + "/v1/runs"; }
  std::string run_url(const std::string& id) const { return runs_url() + "/" + percent_encode(id); }

  outbound::outbound_request call(std::string method, std::string url) const {
    outbound::outbound_request r;
    r.method = std::move(method);
    r.url = std::move(url);
    r.keep_body = true;
    r.headers = {{"User-Agent", "kiln-executor/1"}, {"Accept", "application/json"}};
    return r;
  }

  /// "POST http://host/v1/runs: <cause> (N tries)".
  static std::string call_error(const outbound::outbound_request& r, const std::string& cause,
                                std::uint32_t tries) {
    std::string text = r.method + " " + r.url + ": " + cause;
    if (tries > 1) text += " (" + std::to_string(tries) + " tries)";
    return text;
  }

  /// What went wrong with an answer that is not a success: the client's error, or the status
  /// with the server's own message ({"error": "..."} or {"error": {"message": "..."}} or text).
  std::string cause(outbound::outbound_result& r) {
    if (!r.error.empty()) return r.error;
    std::string text = "HTTP " + std::to_string(r.status);
    if (r.body_too_large)
      return text + " with a body over " + std::to_string(opts.max_response_bytes) + " bytes";
    if (r.body.empty()) return text;
    std::string_view message;
    simdjson::dom::element root, error;
    if (parse(r.body, root) && root["error"].get(error) == simdjson::SUCCESS &&
        (error.get_string().get(message) == simdjson::SUCCESS ||
         error["message"].get_string().get(message) == simdjson::SUCCESS))
      return text + ": " + printable(message);
    return text + ": " + printable(r.body);
  }

  /// Parses `body` (padded in place); false when it is not JSON.
  bool parse(std::string& body, simdjson::dom::element& root) {
    body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
    return parser.parse(body).get(root) == simdjson::SUCCESS;
  }

  void release_parser_if_large(std::size_t parsed_bytes) {
    if (parsed_bytes > parser_keep_bytes_max) parser = simdjson::dom::parser{};
  }

  milliseconds backoff(std::uint32_t tries, const outbound::outbound_result& r) const {
    auto wait = opts.poll_interval;
    for (std::uint32_t i = 1; i < tries && wait < opts.max_backoff; ++i) wait *= 2;
    wait = std::max(wait, retry_after(r.retry_after));
    return std::min(wait, opts.max_backoff);
  }

  void start(http_run_request request, std::function<void(std::uint32_t)> on_progress,
             std::function<void(http_run_result)> done) {
    if (by_job.count(request.job_id)) {
      call_safely(done, {"a run of job " + request.job_id + " is already in progress", {}});
      return;
    }
    auto token = next_token++;
    by_job.emplace(request.job_id, token);
    auto& run = runs[token];
    run.request = std::move(request);
    run.on_progress = std::move(on_progress);
    run.done = std::move(done);
    active.store(runs.size());
    create(token);
  }

  void finish(std::uint64_t token, http_run_result result) {
    auto it = runs.find(token);
    if (it == runs.end()) return;
    auto done = std::move(it->second.done);
    by_job.erase(it->second.request.job_id);
    runs.erase(it);
    active.store(runs.size());
    call_safely(done, std::move(result));
  }

  void fail(std::uint64_t token, std::string error) { finish(token, {std::move(error), {}}); }

  void create(std::uint64_t token) {
    auto it = runs.find(token);
    if (it == runs.end()) return;
    auto& run = it->second;
    ++run.tries;
    run.create_in_flight = true;
    auto request = call("POST", runs_url());
    request.body = create_body(run.request);
    if (auto parent = crypto::traceparent_for(run.request.trace_id); !parent.empty())
      request.headers.emplace_back("traceparent", std::move(parent));
    auto sent = request;
    sent.body.clear();
    client.post(std::move(request),
                [this, token, sent = std::move(sent)](outbound::outbound_result r) mutable {
                  loop.post([this, token, sent = std::move(sent), r = std::move(r)]() mutable {
                    on_created(token, sent, r);
                  });
                });
  }

  void on_created(std::uint64_t token, const outbound::outbound_request& sent,
                  outbound::outbound_result& r) {
    if (orphans.erase(token)) {  // canceled while the POST was out: delete what it created
      std::string id;
      if (r.error.empty() && r.status >= 200 && r.status < 300 && read_run_id(r.body, id))
        remove(id);
      return;
    }
    auto it = runs.find(token);
    if (it == runs.end()) return;
    auto& run = it->second;
    run.create_in_flight = false;
    if (r.error.empty() && r.status >= 200 && r.status < 300) {
      if (!read_run_id(r.body, run.run_id))
        return fail(token, call_error(sent,
                                      "invalid response: expected {\"id\": \"<run id>\"} of 1.." +
                                        std::to_string(run_id_bytes_max) + " bytes",
                                      run.tries));
      run.tries = 0;
      loop.after(opts.poll_interval, [this, token] { poll(token); });
      return;
    }
    // Retried only when the server surely started nothing: nothing connected, or it said so.
    bool not_started = r.error == "connection refused" || r.status == 429 || r.status == 503;
    if (not_started && run.tries <= opts.max_retries) {
      loop.after(backoff(run.tries, r), [this, token] { create(token); });
      return;
    }
    fail(token, call_error(sent, cause(r), run.tries));
  }

  bool read_run_id(std::string& body, std::string& id) {
    simdjson::dom::element root;
    std::string_view text;
    if (!parse(body, root) || root["id"].get_string().get(text) != simdjson::SUCCESS ||
        text.empty() || text.size() > run_id_bytes_max)
      return false;
    id = std::string(text);
    return true;
  }

  void poll(std::uint64_t token) {
    auto it = runs.find(token);
    if (it == runs.end()) return;
    auto& run = it->second;
    ++run.tries;
    auto request = call("GET", run_url(run.run_id));
    auto sent = request;
    client.post(std::move(request),
                [this, token, sent = std::move(sent)](outbound::outbound_result r) mutable {
                  loop.post([this, token, sent = std::move(sent), r = std::move(r)]() mutable {
                    on_polled(token, sent, r);
                  });
                });
  }

  void on_polled(std::uint64_t token, const outbound::outbound_request& sent,
                 outbound::outbound_result& r) {
    auto it = runs.find(token);
    if (it == runs.end()) return;  // canceled or stopped meanwhile
    auto& run = it->second;
    if (retryable(r)) {
      if (run.tries <= opts.max_retries) {
        loop.after(backoff(run.tries, r), [this, token] { poll(token); });
        return;
      }
      return fail(token, call_error(sent, cause(r), run.tries));
    }
    if (r.status == 404)
      return fail(token, call_error(sent,
                                    "the inference server no longer knows run " +
                                      printable(run.run_id) + " (" + cause(r) + ")",
                                    run.tries));
    if (r.status < 200 || r.status >= 300 || r.body_too_large)
      return fail(token, call_error(sent, cause(r), run.tries));
    auto tries = run.tries;
    run.tries = 0;
    auto size = r.body.size();
    auto invalid = [&](const std::string& what) {
      return call_error(sent, "invalid response: " + what, tries);
    };
    simdjson::dom::element root;
    std::string_view status;
    if (!parse(r.body, root) || root["status"].get_string().get(status) != simdjson::SUCCESS) {
      release_parser_if_large(size);
      return fail(token, invalid("expected a JSON object with a string \"status\""));
    }
    if (status == "queued" || status == "running") {
      double progress = 0;
      simdjson::dom::element value;
      if (root["progress"].get(value) == simdjson::SUCCESS &&
          value.get_double().get(progress) != simdjson::SUCCESS) {
        release_parser_if_large(size);
        return fail(token, invalid("\"progress\" is not a number"));
      }
      release_parser_if_large(size);
      report_progress(run, progress);
      loop.after(opts.poll_interval, [this, token] { poll(token); });
      return;
    }
    if (status == "succeeded") {
      http_run_result result;
      auto problem = read_outputs(root, run.request.n, result.outputs);
      // "credits_used": what the run actually cost, when less than Kiln held (docs).
      simdjson::dom::element used;
      if (problem.empty() && root["credits_used"].get(used) == simdjson::SUCCESS &&
          (used.get_int64().get(result.credits_used) != simdjson::SUCCESS ||
           result.credits_used < 0))
        problem = "\"credits_used\" is not a non-negative integer";
      release_parser_if_large(size);
      if (!problem.empty()) return fail(token, invalid(problem));
      return finish(token, std::move(result));
    }
    if (status == "failed") {
      std::string_view error;
      if (root["error"].get_string().get(error) != simdjson::SUCCESS || error.empty())
        error = "no error given";
      auto text = "inference server failed the run: " + printable(error);
      release_parser_if_large(size);
      return fail(token, std::move(text));
    }
    if (status == "canceled") {
      release_parser_if_large(size);
      return fail(token, "the inference server canceled the run");
    }
    auto text = invalid("unknown status \"" + printable(status) + "\"");
    release_parser_if_large(size);
    fail(token, std::move(text));
  }

  void report_progress(run_state& run, double value) {
    if (!std::isfinite(value)) return;
    int progress = static_cast<int>(std::clamp(std::floor(value), 0.0, 100.0));
    if (progress <= run.last_progress) return;
    run.last_progress = progress;
    try {
      if (run.on_progress) run.on_progress(static_cast<std::uint32_t>(progress));
    } catch (...) {
      // documented: callbacks must not throw
    }
  }

  void cancel(const std::string& job_id) {
    auto found = by_job.find(job_id);
    if (found == by_job.end()) return;
    auto token = found->second;
    auto& run = runs.at(token);
    if (!run.run_id.empty()) remove(run.run_id);
    else if (run.create_in_flight) orphans.insert(token);
    // else: the create waits for a retry that will now never be made
    fail(token, "canceled");
  }

  /// DELETE, best effort: the answer is not awaited by anyone.
  void remove(const std::string& run_id) {
    client.post(call("DELETE", run_url(run_id)), [](outbound::outbound_result) {});
  }

  options opts;
  std::string base;
  outbound::http_client client;

  bool stop_begun = false;  ///< guarded by stop_mutex
  std::mutex stop_mutex;
  std::atomic<std::size_t> active{0};

  // loop thread only
  std::unordered_map<std::uint64_t, run_state> runs;
  std::unordered_map<std::string, std::uint64_t> by_job;
  std::unordered_set<std::uint64_t> orphans;  ///< canceled with their create still out
  std::uint64_t next_token = 1;
  simdjson::dom::parser parser;

  detail::loop_thread loop;  ///< last: stopped (by stop()) before the members it uses go
};

http_executor::http_executor(options o) : impl_(new impl(std::move(o))) {}

http_executor::~http_executor() { stop(); }

void http_executor::run(http_run_request request, std::function<void(std::uint32_t)> on_progress,
                        std::function<void(http_run_result)> done) {
  auto state = impl_.get();
  auto guard = std::make_shared<start_guard>();
  guard->done = std::move(done);
  state->loop.post([state, request = std::move(request), on_progress = std::move(on_progress),
                    guard = std::move(guard)]() mutable {
    auto done = std::move(guard->done);
    guard->done = nullptr;
    state->start(std::move(request), std::move(on_progress), std::move(done));
  });
}

void http_executor::cancel(const std::string& job_id) {
  auto state = impl_.get();
  state->loop.post([state, job_id] { state->cancel(job_id); });
}

void http_executor::stop() {
  auto& state = *impl_;
  {
    std::lock_guard lock(state.stop_mutex);
    if (state.stop_begun) return;
    state.stop_begun = true;
  }
  state.loop.stop([s = &state] { s->shutdown(); });
  state.client.stop();  // answers still in flight find the loop gone and are dropped
}

std::size_t http_executor::running() const { return impl_->active.load(); }

}  // namespace kiln
