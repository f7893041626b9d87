// Unit tests for the webhook retry policy and Retry-After parsing.
#include <catch2/catch.hpp>

#include "models/webhook.hpp"

#include <vector>

using kiln::decide_retry;
using kiln::delivery_status;

namespace {
const std::vector<std::uint64_t> contract{0, 30000, 120000, 600000, 1800000, 7200000};
}

TEST_CASE("2xx delivers and statuses other than 408 429 and 5xx fail at once",
          "[models][webhooks]") {
  for (int status : {200, 201, 204, 299})
    CHECK(decide_retry(contract, 1, status, -1, 1.0).status == delivery_status::delivered);
  for (int status : {100, 301, 302, 400, 401, 403, 404, 410, 422, 600})
    CHECK(decide_retry(contract, 1, status, -1, 1.0).status == delivery_status::failed);
  for (int status : {0, 408, 429, 500, 502, 503, 504, 599})
    CHECK(decide_retry(contract, 1, status, -1, 1.0).status == delivery_status::pending);
}

// Regression (issue "Durability and the contract's loose ends", finding 7): the first retry
// waited 30 s; the contract retries once at once, then after 30 s, 2 min, 10 min, 30 min, 2 h.
TEST_CASE(
  "the contract's schedule retries once at once, then after each step, seven attempts "
  "in all",
  "[models][webhooks]") {
  const std::int64_t expected[] = {0, 30000, 120000, 600000, 1800000, 7200000};
  for (std::uint32_t attempt = 1; attempt <= 6; ++attempt) {
    auto d = decide_retry(contract, attempt, 503, -1, 1.0);
    CHECK(d.status == delivery_status::pending);
    CHECK(d.delay_ms == expected[attempt - 1]);
  }
  CHECK(decide_retry(contract, 7, 503, -1, 1.0).status == delivery_status::failed);
  CHECK(decide_retry(contract, 2, 0, -1, 0.9).delay_ms == 27000);
  CHECK(decide_retry(contract, 2, 0, -1, 1.1).delay_ms == 33000);
  CHECK(decide_retry(contract, 1, 0, -1, 1.1).delay_ms == 0);  // jitter cannot delay "at once"
  CHECK(decide_retry({0}, 1, 500, -1, 1.0).status == delivery_status::pending);
  CHECK(decide_retry({0}, 2, 500, -1, 1.0).status == delivery_status::failed);
}

TEST_CASE("Retry-After on 429 and 503 replaces the delay up to the next step",
          "[models][webhooks]") {
  CHECK(decide_retry(contract, 2, 429, 5, 1.0).delay_ms == 5000);         // sooner than 30 s
  CHECK(decide_retry(contract, 2, 503, 90, 1.0).delay_ms == 90000);       // later, under 2 min
  CHECK(decide_retry(contract, 2, 429, 3600, 1.0).delay_ms == 120000);    // capped at 2 min
  CHECK(decide_retry(contract, 1, 429, 10, 1.0).delay_ms == 10000);       // at once: up to 30 s
  CHECK(decide_retry(contract, 6, 429, 99999, 1.0).delay_ms == 7200000);  // last step caps itself
  CHECK(decide_retry(contract, 2, 500, 5, 1.0).delay_ms == 30000);        // only 429 and 503
}

TEST_CASE("Retry-After reads delta seconds and HTTP dates", "[models][webhooks]") {
  const std::int64_t now = 784'111'777'000;  // Sun, 06 Nov 1994 08:49:37 GMT
  CHECK(kiln::parse_retry_after("120", now) == 120);
  CHECK(kiln::parse_retry_after(" 7 ", now) == 7);
  CHECK(kiln::parse_retry_after("Sun, 06 Nov 1994 08:50:37 GMT", now) == 60);
  CHECK(kiln::parse_retry_after("Sun, 06 Nov 1994 08:40:00 GMT", now) == 0);
  CHECK(kiln::parse_retry_after("", now) < 0);
  CHECK(kiln::parse_retry_after("-5", now) < 0);
  CHECK(kiln::parse_retry_after("soon", now) < 0);
}
