// A small real inference server for http executor tests, speaking docs/http-executor.md on
// 127.0.0.1 (a free port): POST /v1/runs, GET /v1/runs/{id}, DELETE /v1/runs/{id}. Each run
// "works" for run_time, its progress rising in steps, and then succeeds with real PNGs
// (media::render_png of the request's prompt, seed and size) or fails. It can be told to refuse
// or hang creates, to answer 503 to polls, or to hang polls; it records every request and cancel.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace kiln::test {

struct inference_options {
  std::chrono::milliseconds run_time{300};  ///< from the POST to "succeeded" / "failed"
  std::uint32_t progress_steps = 4;         ///< progress rises 0, 100/steps, ... while running
  std::string fail_with;    ///< non-empty: runs end "failed" with this error instead of outputs
  int create_status = 202;  ///< another status refuses creates: {"error": "refused by the test"}
  std::uint32_t poll_503s = 0;  ///< the first this many GETs (over all runs) answer 503
  bool hang_creates = false;    ///< POSTs are read and never answered
  std::chrono::milliseconds create_delay{0};  ///< POSTs are answered this late
  bool hang_polls = false;                    ///< GETs are read and never answered
  std::int64_t credits_used = -1;  ///< >= 0: succeeded runs report they used this many credits
};

/// One POST /v1/runs as the server understood it.
struct inference_run {
  std::string id;  ///< the server's run id ("run-1", "run-2", ...)
  std::string job_id, type, model, prompt, trace_id;
  std::uint32_t n = 0, width = 0, height = 0, duration_seconds = 0, attempt = 0;
  std::uint64_t seed = 0;
  std::string options;  ///< the "options" object as sent (minified JSON)
  std::string inputs;   ///< the "inputs" array as sent (minified JSON), "" when absent
  /// Each input's bytes as the server downloaded them from its `url` (an http:// URL on
  /// 127.0.0.1), or "HTTP <status>" when the download was refused.
  std::vector<std::string> input_bytes;
  std::string traceparent;  ///< the header, "" when absent
  bool canceled = false;    ///< a DELETE reached it
};

/// One request line the server read: "POST /v1/runs", "GET /v1/runs/run-1", ...
struct inference_request {
  std::string method;
  std::string target;
  int status = 0;  ///< what was answered; 0 while held (hang) or never answered
};

class inference_server {
public:
  explicit inference_server(inference_options options = {});
  ~inference_server();
  inference_server(const inference_server&) = delete;
  inference_server& operator=(const inference_server&) = delete;

  std::uint16_t port() const;
  std::string base_url() const;  ///< "http://127.0.0.1:PORT"

  std::vector<inference_run> runs() const;
  std::vector<inference_request> requests() const;
  /// Run ids that got a DELETE, in order (unknown ids too).
  std::vector<std::string> cancels() const;
  /// Waits until `count` DELETEs arrived; false after `limit`.
  bool wait_for_cancels(std::size_t count, std::chrono::milliseconds limit) const;

  /// Closes the listening socket and every connection, and joins the threads.
  void stop();

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

}  // namespace kiln::test
