// The HTTP/1.1 server: Beast, asynchronous, N io threads, one strand per connection, keep-alive,
// per-read deadlines, and the contract's body and header limits. Beast stays inside server.cpp.
#pragma once

#include "http/message.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace kiln::http {

struct server_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  ///< 0 picks a free port
  std::uint32_t threads = 2;
  std::chrono::milliseconds idle_timeout{30000};
  /// Answer for requests that break a limit before reaching the handler (413, 431, 400), given
  /// the request's target as far as it was read (may be empty).
  std::function<response(int status, std::string_view target)> limit_response;
  /// The body limit of requests whose body streams to a temporary file instead of memory
  /// (uploads), by (method, target); 0 for every other request, whose body is read into memory
  /// under limits::request_body_bytes_max.
  std::function<std::uint64_t(std::string_view method, std::string_view target)>
    streamed_body_limit;
  /// Where streamed bodies are written while they arrive.
  std::string streamed_body_dir;
  /// Names the listener on every request it hands on (request::listener): "" for the main one.
  std::string name;
};

class server {
public:
  server(server_options options, handler on_request);
  ~server();
  /// Binds and starts the io threads; returns the bound port, or 0 and `error`.
  std::uint16_t start(std::string& error);
  /// Stops accepting, lets in-flight requests finish for up to `grace`, then stops.
  void stop(std::chrono::milliseconds grace);
  /// Requests whose handler has not answered yet.
  std::size_t in_flight() const;

  struct impl;  ///< Beast state, defined in server.cpp

private:
  std::unique_ptr<impl> impl_;
};

}  // namespace kiln::http
