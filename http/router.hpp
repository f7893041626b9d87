// The routing table: method + path pattern ("/v1/jobs/{id}") -> handler, with 404 for unknown
// paths and 405 (with the allowed methods) for a known path and the wrong method. HEAD is
// answered wherever GET is (RFC 9110 9.3.2): it matches the GET route, and the server sends the
// answer's headers without its body.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::http {

template <class Handler>
class router {
public:
  struct route {
    std::string method;
    std::vector<std::string> segments;  ///< "{...}" matches any one segment
    Handler handler;
    bool takes_body = false;  ///< POST bodies must be application/json
  };

  enum class outcome { found, not_found, method_not_allowed };
  struct match_result {
    outcome kind = outcome::not_found;
    const route* found = nullptr;
    std::vector<std::string> params;
    std::string allow;  ///< for 405: "GET, POST"
  };

  void add(std::string method, std::string_view pattern, Handler handler, bool takes_body = false) {
    routes_.push_back(route{std::move(method), split(pattern), std::move(handler), takes_body});
  }

  match_result match(std::string_view method, std::string_view path) const {
    match_result result;
    auto parts = split(path);
    auto wanted = method == "HEAD" ? std::string_view("GET") : method;
    for (const auto& r : routes_) {
      std::vector<std::string> params;
      if (!segments_match(r.segments, parts, params)) continue;
      if (r.method == wanted) {
        result.kind = outcome::found;
        result.found = &r;
        result.params = std::move(params);
        return result;
      }
      result.kind = outcome::method_not_allowed;
      result.allow += (result.allow.empty() ? "" : ", ") + r.method;
      if (r.method == "GET") result.allow += ", HEAD";
    }
    return result;
  }

  static std::vector<std::string> split(std::string_view path) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (start < path.size()) {
      if (path[start] == '/') {
        ++start;
        continue;
      }
      auto end = path.find('/', start);
      if (end == std::string_view::npos) end = path.size();
      parts.emplace_back(path.substr(start, end - start));
      start = end;
    }
    return parts;
  }

private:
  static bool segments_match(const std::vector<std::string>& pattern,
                             const std::vector<std::string>& parts,
                             std::vector<std::string>& params) {
    if (pattern.size() != parts.size()) return false;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
      if (!pattern[i].empty() && pattern[i].front() == '{') params.push_back(parts[i]);
      else if (pattern[i] != parts[i]) return false;
    }
    return true;
  }

  std::vector<route> routes_;
};

/// Splits "a=1&b=x%20y" into decoded pairs.
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query);
std::string percent_decode(std::string_view text);
/// The first query parameter `name` of `target` ("/path?a=1&b=2"), decoded; "" when absent.
std::string query_param(std::string_view target, std::string_view name);

}  // namespace kiln::http
