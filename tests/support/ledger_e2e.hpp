// Reading an account's credits over the API in end-to-end tests: the balance, every page of a
// list endpoint, the ledger replayed from zero, cancels and the admin device view.
#pragma once

#include "tests/support/http_client.hpp"
#include "tests/support/json.hpp"

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace kiln::test {

struct credits {
  std::int64_t available = 0;
  std::int64_t held = 0;
  std::int64_t used = 0;
  std::int64_t granted = 0;
  bool operator==(const credits&) const = default;
};

/// "available=.. held=.. used=.. granted=.." for messages.
std::string describe(const credits& c);

inline std::ostream& operator<<(std::ostream& out, const credits& c) { return out << describe(c); }

/// GET /v1/balance; throws unless it answers 200.
credits balance_of(http_client& http, const std::string& key);

/// The `balance` object of an account or balance response.
credits credits_of(const json& balance);

/// Every element of a cursor-paged list (`/v1/jobs`, `/v1/ledger`, with or without a query),
/// newest first, following next_cursor with `limit` per page. Throws on a non-200 page, on a page
/// with has_more but no cursor, or after 1000 pages.
std::vector<json> all_pages(http_client& http, const std::string& key, const std::string& path,
                            int limit = 100);

/// Replays ledger entries (given newest first, as the API lists them) from an empty balance.
/// Throws when an entry's available_after differs from the replayed available, or when a
/// movement would make a figure negative.
credits replay_ledger(const std::vector<json>& newest_first);

/// POST /v1/jobs/{id}/cancel with no body and no Content-Type.
http_response cancel(http_client& http, const std::string& key, const std::string& job_id);

/// GET /admin/v1/devices; throws unless it answers 200.
json admin_devices(http_client& http);

}  // namespace kiln::test
