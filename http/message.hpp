// HTTP requests and responses as plain values, so routing and handlers never see Beast types.
#pragma once

#include <functional>
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
  std::string remote;  ///< peer address, for logs

  /// The first header named `name` (lower-case), or empty.
  std::string_view header(std::string_view name) const {
    for (const auto& [key, value] : headers)
      if (key == name) return value;
    return {};
  }
  /// Whether a header named `name` (lower-case) was sent, even with an empty value.
  bool has_header(std::string_view name) const {
    for (const auto& [key, value] : headers)
      if (key == name) return true;
    return false;
  }
};

struct response {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

/// Called once per request with the answer; may be called from any thread.
using responder = std::function<void(response)>;
using handler = std::function<void(request&&, responder)>;

}  // namespace kiln::http
