#include "tests/support/ledger_e2e.hpp"

#include "tests/support/e2e.hpp"

#include <stdexcept>

namespace kiln::test {

std::string describe(const credits& c) {
  return "available=" + std::to_string(c.available) + " held=" + std::to_string(c.held) +
         " used=" + std::to_string(c.used) + " granted=" + std::to_string(c.granted);
}

credits credits_of(const json& balance) {
  return {balance["available"].integer(), balance["held"].integer(), balance["used"].integer(),
          balance["granted"].integer()};
}

credits balance_of(http_client& http, const std::string& key) {
  auto response = http.get("/v1/balance", key);
  if (response.status != 200)
    throw std::runtime_error("GET /v1/balance: " + std::to_string(response.status) + " " +
                             response.body);
  return credits_of(json::parse(response.body));
}

std::vector<json> all_pages(http_client& http, const std::string& key, const std::string& path,
                            int limit) {
  std::vector<json> items;
  std::string separator = path.find('?') == std::string::npos ? "?" : "&";
  std::string cursor;
  // Bounded against a cursor that never ends; long power-cut runs list ~600 000 entries.
  constexpr int pages_max = 100000;
  for (int page_number = 0; page_number < pages_max; ++page_number) {
    std::string target = path + separator + "limit=" + std::to_string(limit) +
                         (cursor.empty() ? "" : "&cursor=" + cursor);
    auto response = http.get(target, key);
    if (response.status != 200)
      throw std::runtime_error("GET " + target + ": " + std::to_string(response.status) + " " +
                               response.body);
    auto page = json::parse(response.body);
    for (std::size_t i = 0; i < page["data"].size(); ++i) items.push_back(page["data"][i]);
    if (!page["has_more"].boolean()) {
      if (!page["next_cursor"].is_null())
        throw std::runtime_error("GET " + target + ": a last page with a cursor");
      return items;
    }
    auto next = page["next_cursor"].str();
    if (next.empty()) throw std::runtime_error("GET " + target + ": has_more without a cursor");
    if (next == cursor) throw std::runtime_error("GET " + target + ": the cursor did not move");
    cursor = std::move(next);
  }
  throw std::runtime_error("GET " + path + ": more than " + std::to_string(pages_max) + " pages");
}

credits replay_ledger(const std::vector<json>& newest_first) {
  credits c;
  for (auto it = newest_first.rbegin(); it != newest_first.rend(); ++it) {
    const json& e = *it;
    auto kind = e["kind"].str();
    auto amount = e["amount"].integer();
    if (amount <= 0) throw std::runtime_error("ledger entry with amount <= 0: " + e.dump());
    if (kind == "grant") {
      c.available += amount;
      c.granted += amount;
    } else if (kind == "hold") {
      c.available -= amount;
      c.held += amount;
    } else if (kind == "capture") {
      c.held -= amount;
      c.used += amount;
    } else if (kind == "release") {
      c.held -= amount;
      c.available += amount;
    } else {
      throw std::runtime_error("unknown ledger kind: " + e.dump());
    }
    if (c.available < 0 || c.held < 0)
      throw std::runtime_error("replay goes negative at " + e.dump() + ": " + describe(c));
    if (e["available_after"].integer() != c.available)
      throw std::runtime_error("available_after of " + e.dump() + " differs from the replayed " +
                               std::to_string(c.available));
  }
  return c;
}

http_response cancel(http_client& http, const std::string& key, const std::string& job_id) {
  return http.request("POST", "/v1/jobs/" + job_id + "/cancel", {}, {bearer(key)});
}

json admin_devices(http_client& http) {
  auto response = http.request("GET", "/admin/v1/devices", {}, admin_headers());
  if (response.status != 200)
    throw std::runtime_error("GET /admin/v1/devices: " + std::to_string(response.status) + " " +
                             response.body);
  return json::parse(response.body);
}

}  // namespace kiln::test
