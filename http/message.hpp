// HTTP requests and responses as plain values, so routing and handlers never see Beast types.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kiln::http {

struct request {
  std::string method;                                        ///< "GET", "POST", ...
  std::string target;                                        ///< path and query as sent
  std::vector<std::pair<std::string, std::string>> headers;  ///< names lower-case
  std::string body;
  /// A body the server streamed to disk (server_options::streamed_body_limit) is in this file
  /// instead of `body`; the server removes it once the answer is written, unless the handler
  /// moved it away first.
  std::string body_file;
  std::uint64_t body_file_bytes = 0;
  std::string remote;    ///< peer address, for logs
  std::string listener;  ///< which listener took it (server_options::name): "" for the main one

  /// The value of the first header named `name` (lower-case); null when none was sent (an
  /// empty value is sent).
  const std::string* find_header(std::string_view name) const {
    for (const auto& [key, value] : headers)
      if (key == name) return &value;
    return nullptr;
  }
  /// The first header named `name` (lower-case), or empty.
  std::string_view header(std::string_view name) const {
    const auto* found = find_header(name);
    return found ? std::string_view(*found) : std::string_view();
  }
};

struct response {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  /// An answer whose content is this file, sent from disk rather than from `body` (large
  /// uploads); a file that cannot be opened by then is answered 404.
  std::string body_file;
  /// For HEAD: the Content-Length a GET would have, when the handler left the body out.
  std::optional<std::uint64_t> content_length;
  /// An error a front end wrote in its own envelope (api::set_envelope leaves it as it is).
  bool enveloped = false;
};

/// Called once per request with the answer; may be called from any thread.
using responder = std::function<void(response)>;
using handler = std::function<void(request&&, responder)>;

}  // namespace kiln::http
