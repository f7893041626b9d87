// Query-string decoding for the router.
#include "http/router.hpp"

namespace kiln::http {

std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') out.push_back(' ');
    else if (text[i] == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 &&
             hex(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2])));
      i += 2;
    } else out.push_back(text[i]);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> pairs;
  std::size_t start = 0;
  while (start <= query.size() && !query.empty()) {
    auto end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    auto part = query.substr(start, end - start);
    if (!part.empty()) {
      auto eq = part.find('=');
      if (eq == std::string_view::npos) pairs.emplace_back(percent_decode(part), "");
      else
        pairs.emplace_back(percent_decode(part.substr(0, eq)), percent_decode(part.substr(eq + 1)));
    }
    start = end + 1;
  }
  return pairs;
}

std::string query_param(std::string_view target, std::string_view name) {
  auto at = target.find('?');
  if (at == std::string_view::npos) return {};
  for (auto& [key, value] : parse_query(target.substr(at + 1)))
    if (key == name) return std::move(value);
  return {};
}

}  // namespace kiln::http
