// The `http` device executor: runs a job on an external inference server over HTTP, so that a
// real model server can sit behind a Kiln device. The protocol (create a run, poll it, delete it
// on cancel) is in docs/http-executor.md. Plain structs only: no CAF, Beast or simdjson here;
// the HTTP calls go through outbound::http_client, JSON is read with simdjson inside the .cpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace kiln {

/// What is sent to the inference server (POST /v1/runs).
struct http_run_request {
  std::string job_id, type, model, prompt;
  std::uint32_t n = 1;
  std::uint32_t width = 0, height = 0, duration_seconds = 0;
  std::uint64_t seed = 0;
  std::uint32_t attempt = 1;
  std::string trace_id;  ///< 32 lowercase hex digits; sent as a W3C traceparent when it is one
  std::string options;   ///< the job's model options (a JSON object); empty: {}
  std::string inputs;    ///< the job's inputs with their signed URLs (a JSON array); empty: none
};

struct http_run_output {
  std::string content_type;
  std::string bytes;  ///< decoded from data_base64
};

struct http_run_result {
  /// Empty on success. Otherwise "canceled", "stopped", "inference server failed the run:
  /// <the server's error>", or the failed call and its cause, e.g. "POST http://gpu:8000/v1/runs:
  /// connection refused (6 tries)", "GET http://gpu:8000/v1/runs/r1: HTTP 503: busy (6 tries)",
  /// "GET http://gpu:8000/v1/runs/r1: invalid response: 1 outputs, expected 2".
  std::string error;
  std::vector<http_run_output> outputs;  ///< exactly `n` on success, in the server's order
  std::int64_t credits_used = -1;        ///< "credits_used" of a succeeded run, when it said
};

class http_executor {
public:
  struct options {
    /// "http(s)://host[:port][/prefix]"; the calls go to {base_url}/v1/runs... A trailing '/' is
    /// ignored. The constructor throws std::invalid_argument when it is not an http(s) URL.
    std::string base_url;
    /// Time between the end of one GET and the start of the next (and before the first).
    std::chrono::milliseconds poll_interval{200};
    /// One deadline per HTTP call, from connect to the last byte read.
    std::chrono::milliseconds call_timeout{10000};
    /// The largest response body read (base64 outputs inside JSON); more fails the run.
    std::size_t max_response_bytes = 64 << 20;
    /// Lets base_url reach loopback and private addresses (the usual place of a model server).
    bool allow_private_targets = true;
    /// Consecutive failed polls (network errors, timeouts, 429, 5xx) retried before the run
    /// fails; also how often a create refused with connection refused / 429 / 503 is retried.
    std::uint32_t max_retries = 5;
    /// Retries wait poll_interval, doubling each time, at most this long.
    std::chrono::milliseconds max_backoff{5000};
    /// PEM file of extra trusted CAs for an https base_url (constructor throws if unreadable).
    std::string ca_file;
  };

  /// Starts the executor's threads: one for timers and callbacks, one HTTP io thread.
  explicit http_executor(options);
  /// Calls stop().
  ~http_executor();
  http_executor(const http_executor&) = delete;
  http_executor& operator=(const http_executor&) = delete;

  /// Starts one run. `on_progress` (0..100, strictly increasing, possibly never) and then `done`
  /// exactly once are called on the executor's callback thread, one call at a time over all runs:
  /// keep them short (send a message) and let them not throw (exceptions are swallowed). A second
  /// run of a job_id that is still running is refused at once (through `done`). After stop()
  /// has begun, `done` gets "stopped" at once, on the calling thread.
  void run(http_run_request request, std::function<void(std::uint32_t)> on_progress,
           std::function<void(http_run_result)> done);
  /// Asks the server to stop the run (DELETE, best effort, also when the run's id arrives only
  /// later); `done` then reports "canceled" at once, not waiting for the server. No-op for a
  /// job with no run in progress.
  void cancel(const std::string& job_id);
  /// Completes every run in progress with "stopped" (the server is not told: its runs are left
  /// to expire, see the document), then joins the threads. Must not be called from a callback.
  void stop();

  /// Runs in progress (started and not yet done).
  std::size_t running() const;

  struct impl;  ///< defined in http_executor.cpp

private:
  std::unique_ptr<impl> impl_;
};

}  // namespace kiln
