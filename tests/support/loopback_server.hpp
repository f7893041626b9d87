// The socket half of the test servers (webhook_listener, inference_server): a TCP listener on
// 127.0.0.1 at a free port that runs `serve(fd)` on a thread of its own for each connection,
// closes the connection when `serve` returns, and on stop() wakes and joins everything.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace kiln::test {

class loopback_server {
public:
  /// Binds and starts accepting; throws std::runtime_error naming `owner` when it cannot.
  loopback_server(std::function<void(int fd)> serve, const std::string& owner);
  ~loopback_server();  ///< stop()
  loopback_server(const loopback_server&) = delete;
  loopback_server& operator=(const loopback_server&) = delete;

  std::uint16_t port() const;
  std::size_t accepted() const;        ///< connections accepted so far
  std::size_t max_concurrent() const;  ///< the most open at the same time
  /// Closes the listening socket, shuts every open connection down (their reads return) and
  /// joins the threads. Safe to call more than once.
  void stop();

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

/// The reason phrase of an HTTP status the test servers answer with ("Status" for others).
const char* http_reason_phrase(int status);
/// `text` in ASCII lower case (header names).
std::string lowercase(std::string text);

}  // namespace kiln::test
