// A tiny HTTP/1.1 receiver on 127.0.0.1 for webhook client tests: plain or TLS, one thread per
// connection, told to answer with a status (and headers, body), to never answer, or to close.
// It records every request it read and how many connections were open at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace kiln::test {

struct received_request {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;  ///< names as sent, in order
  std::string body;
  std::chrono::steady_clock::time_point at;

  /// The first value of header `name` (any case), or "" when absent.
  std::string header(const std::string& name) const;
  std::size_t count(const std::string& name) const;
};

enum class listener_mode {
  respond,       ///< read the request, answer `status`, close
  never_answer,  ///< read the request, then hold the connection open until the peer leaves
  close_at_once  ///< accept and close without reading
};

struct listener_options {
  listener_mode mode = listener_mode::respond;
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  ///< extra response headers
  std::string body;
  /// respond mode: the statuses of the first requests, in order (-1: hold that one unanswered
  /// until the peer leaves); later requests get `status`.
  std::vector<int> script;
  std::string tls_cert_file;  ///< TLS when set (PEM), with tls_key_file
  std::string tls_key_file;
};

class webhook_listener {
public:
  explicit webhook_listener(listener_options options);
  ~webhook_listener();
  webhook_listener(const webhook_listener&) = delete;
  webhook_listener& operator=(const webhook_listener&) = delete;

  std::uint16_t port() const;
  /// "http://127.0.0.1:PORT" or "https://127.0.0.1:PORT".
  std::string base_url() const;
  std::vector<received_request> requests() const;
  /// Connections accepted so far.
  std::size_t connections() const;
  /// The most connections that were open at the same time.
  std::size_t max_concurrent() const;
  /// Closes the listening socket and every connection, and joins the threads.
  void stop();

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

/// A port on 127.0.0.1 that was bound a moment ago and is closed now: connecting is refused.
std::uint16_t closed_port();

}  // namespace kiln::test
