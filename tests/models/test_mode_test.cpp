// Test keys as values: the keys the core and front ends mint, a test job as the contract shows
// it (livemode, no hold in its timeline), and usage that counts test jobs apart.
#include "models/account.hpp"
#include "models/job_json.hpp"
#include "models/job_timeline.hpp"
#include "models/usage.hpp"

#include <catch2/catch.hpp>

using namespace kiln;

TEST_CASE("the core's test keys start kiln_test_ and its live keys kiln_sk_", "[models]") {
  auto live = new_key("acct_1", "ci", 1000);
  CHECK(live.key.mode == key_mode::live);
  CHECK(live.plain.starts_with("kiln_sk_"));
  CHECK(live.key.prefix == live.plain.substr(0, 12));
  auto test = new_key("acct_1", "ci", 1000, {}, key_mode::test);
  CHECK(test.key.mode == key_mode::test);
  CHECK(test.plain.starts_with("kiln_test_"));
  CHECK(test.plain.size() == std::string("kiln_test_").size() + 43);
  CHECK(test.key.prefix == test.plain.substr(0, 14));
}

TEST_CASE("a front end's prefix is its own, and the mode it asks for comes with it", "[models]") {
  auto test = new_key("acct_1", "ci", 1000, "mk_test_", key_mode::test);
  CHECK(test.plain.starts_with("mk_test_"));
  CHECK(test.key.mode == key_mode::test);
  CHECK(test.key.prefix == test.plain.substr(0, 16));
  auto live = new_key("acct_1", "ci", 1000, "mk_live_", key_mode::live);
  CHECK(live.plain.starts_with("mk_live_"));
  CHECK(live.key.mode == key_mode::live);
}

TEST_CASE("key modes are spelled live and test, and nothing else parses", "[models]") {
  CHECK(key_mode_name(key_mode::live) == "live");
  CHECK(key_mode_name(key_mode::test) == "test");
  CHECK(parse_key_mode("live") == key_mode::live);
  CHECK(parse_key_mode("test") == key_mode::test);
  CHECK_FALSE(parse_key_mode("Test"));
  CHECK_FALSE(parse_key_mode(""));
  CHECK_FALSE(parse_key_mode("sandbox"));
}

namespace {

job made(bool livemode, job_status status, std::int64_t at_ms, std::string model = "seedance") {
  job j;
  j.id = "job_" + std::to_string(at_ms);
  j.spec.type = "video";
  j.spec.model = std::move(model);
  j.spec.params.duration_seconds = 5;
  j.spec.livemode = livemode;
  j.spec.cost = 150;
  j.credits_held = livemode ? 150 : 0;
  j.status = status;
  j.created_at_ms = at_ms;
  j.completed_at_ms = at_ms + 10;
  return j;
}

}  // namespace

TEST_CASE("every job shows livemode, false for a test job's", "[models]") {
  url_context urls{"http://h", "k", 0};
  CHECK(render_job(made(true, job_status::queued, 1), urls).find(R"("livemode":true)") !=
        std::string::npos);
  CHECK(render_job(made(false, job_status::queued, 1), urls).find(R"("livemode":false)") !=
        std::string::npos);
}

TEST_CASE("a test job's timeline shows no hold", "[models]") {
  auto types = [](const std::vector<job_event>& events) {
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(e.type);
    return out;
  };
  CHECK(types(job_timeline(made(false, job_status::succeeded, 1), {})) ==
        std::vector<std::string>{"job.queued", "job.succeeded"});
  CHECK(types(job_timeline(made(true, job_status::queued, 1), {})) ==
        std::vector<std::string>{"job.queued", "hold.placed"});
}

TEST_CASE("usage counts test jobs apart and never in the rows or credits", "[models]") {
  usage_builder builder(0, 1'000'000);
  builder.add(made(true, job_status::succeeded, 100));
  builder.add(made(false, job_status::succeeded, 200));
  builder.add(made(false, job_status::canceled, 300));
  builder.add(made(false, job_status::failed, 400, "flux2-turbo"));
  builder.add(made(false, job_status::succeeded, 2'000'000));  // outside the period
  auto report = std::move(builder).finish();
  CHECK(report.created == 1);
  CHECK(report.succeeded == 1);
  CHECK(report.canceled == 0);
  CHECK(report.test.created == 3);
  CHECK(report.test.succeeded == 1);
  CHECK(report.test.canceled == 1);
  CHECK(report.test.failed == 1);
  REQUIRE(report.by_model.size() == 1);
  CHECK(report.by_model[0].key == "seedance");
  CHECK(report.by_model[0].created == 1);
  CHECK(report.by_model[0].duration_s == 5);
  REQUIRE(report.by_day.size() == 1);
  CHECK(report.by_day[0].created == 1);
  CHECK(report.credits == 0);
}
