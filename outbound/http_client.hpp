// The outbound HTTP/1.1 client for webhook deliveries (and the http device executor's calls to an
// inference server): one request per attempt on a fresh connection,
// one deadline per attempt, TLS verified against the system store, no redirects, SSRF checks on
// the addresses actually connected to, and per-endpoint queues so that one slow receiver cannot
// hold up the others. Beast, Asio and OpenSSL stay inside http_client.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace kiln::outbound {

struct client_options {
  std::uint32_t threads = 1;
  /// One absolute deadline per attempt, from the start of the lookup to the last byte read.
  std::chrono::milliseconds timeout{10000};
  /// Response bodies are read up to this many bytes; see outbound_result.
  std::size_t max_response_body = 64 * 1024;
  /// Lets deliveries reach loopback, private, link-local... addresses (tests, on-premise).
  /// Otherwise every address a host resolves to is checked (forbidden_reason()) right before
  /// connecting, and a host with any forbidden address fails with "forbidden address".
  bool allow_private_targets = false;
  /// PEM file of extra trusted CAs, added to the system store (tests). The constructor throws
  /// std::invalid_argument when it cannot be loaded.
  std::string extra_ca_file;
  /// Attempts running at once, over all endpoints.
  std::uint32_t max_in_flight = 256;
  /// Attempts running at once to one endpoint (scheme + host + port); the rest wait in its FIFO.
  std::uint32_t max_per_endpoint = 8;
  /// Name lookups that may run at once (asio runs one getaddrinfo per io_context at a time).
  std::uint32_t resolver_lanes = 2;
};

struct outbound_request {
  std::string url;  ///< absolute http(s) URL, see parse_url()
  /// Any HTTP token ("GET", "DELETE", ...); one that is not fails with "invalid method".
  std::string method = "POST";
  /// Sent as it is, with Content-Type: application/json. Without a body, a method other than
  /// POST, PUT or PATCH gets neither Content-Type nor Content-Length.
  std::string body;
  /// Extra headers (webhook-id, webhook-timestamp, webhook-signature...). They replace the
  /// defaults of the same name (Content-Type, User-Agent); Host, Content-Length,
  /// Transfer-Encoding and Connection are the client's own and are ignored here. A name that is
  /// not an HTTP token, or a value with CR, LF or NUL, fails the post with "invalid header".
  std::vector<std::pair<std::string, std::string>> headers;
  /// Return the response body in outbound_result::body (up to max_response_body bytes).
  bool keep_body = false;
};

struct outbound_result {
  /// The HTTP status, 0 when no HTTP answer came. 3xx are returned as they are (never followed).
  /// A response whose body is larger than max_response_body still gives its status (and no
  /// error), with body_too_large set and no body.
  int status = 0;
  /// Empty when an HTTP answer came. Otherwise one of: "timeout", "connection refused",
  /// "connection reset", "connection closed before a response", "forbidden address",
  /// "invalid url", "invalid header", "invalid method", "stopped", "host not found",
  /// "tls: <detail>" (e.g. "tls: certificate verify failed: unable to get local issuer
  /// certificate"), "invalid response: <detail>", or the system's message for anything else.
  std::string error;
  std::string retry_after;       ///< the raw Retry-After header, "" when absent
  std::int64_t duration_ms = 0;  ///< from the start of the attempt (not of the queue wait)
  /// The whole response body, only when the request asked for it (keep_body) and it fit in
  /// max_response_body; empty otherwise.
  std::string body;
  /// The response body was larger than max_response_body (the status is still reported).
  bool body_too_large = false;
};

class http_client {
public:
  /// Starts the io threads. Throws std::invalid_argument when extra_ca_file cannot be loaded.
  explicit http_client(client_options options);
  /// Calls stop().
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  /// Queues one request. `done` is called exactly once, on a client thread, and must not throw
  /// (exceptions are swallowed). Once stop() has begun, queued and running posts complete with
  /// "stopped"; a post made after stop() completes at once, on the calling thread.
  void post(outbound_request request, std::function<void(outbound_result)> done);
  /// Completes every pending post with "stopped" and joins the threads; waits for a lookup
  /// already inside getaddrinfo. Must not be called from a `done` callback.
  void stop();

  /// Attempts running now.
  std::size_t in_flight() const;
  /// Posts waiting for a slot.
  std::size_t queued() const;

  struct impl;  ///< Beast state, defined in http_client.cpp

private:
  std::unique_ptr<impl> impl_;
};

}  // namespace kiln::outbound
