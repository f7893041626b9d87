// webhooks.test_targets: the only webhook targets a test key's jobs may name (docs/decisions.md,
// "Test keys"). Kept apart from target.cpp, which is about where no webhook may go at all.
#include "outbound/target.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace kiln::outbound {

bool is_test_target(const std::vector<std::string>& allowed, std::string_view url) {
  auto parsed = parse_url(url);
  if (!parsed) return false;
  for (std::string_view host : allowed) {
    std::string_view port;
    if (host.starts_with('[')) {  // "[v6]" or "[v6]:port"
      auto close = host.find(']');
      if (close == std::string_view::npos) continue;
      port = host.substr(close + 1);
      host = host.substr(1, close - 1);
      if (!port.empty() && !port.starts_with(':')) continue;
      if (!port.empty()) port.remove_prefix(1);
    } else if (auto colon = host.find(':'); colon != std::string_view::npos) {
      port = host.substr(colon + 1);
      host = host.substr(0, colon);
    }
    std::string name(host);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (name != parsed->host) continue;
    if (port.empty()) return true;
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec == std::errc{} && end == port.data() + port.size() && value == parsed->port) return true;
  }
  return false;
}

}  // namespace kiln::outbound
