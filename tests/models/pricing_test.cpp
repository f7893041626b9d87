// Price formulas, table by table: each unit's quantity, percent and fixed surcharges, minimum
// charges, and the limit at which a price is refused instead of wrapping.
#include <catch2/catch.hpp>

#include "config/limits.hpp"
#include "models/catalog.hpp"
#include "models/pricing.hpp"

#include <string>
#include <vector>

using namespace kiln;

// Rows name the fields they set; g++ 12 warns about designated initializers that leave some out.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace {

model_entry model_of(const std::string& json) {
  auto parsed = catalog::parse(R"({"models":[)" + json + "]}");
  REQUIRE(parsed);
  return parsed->models().front();
}

const std::string options_json =
  R"("options":[{"name":"quality","type":"string","enum":["std","hq","max"],"default":"std",)"
  R"("surcharges":{"hq":{"percent":50},"max":{"percent":100}}},)"
  R"({"name":"script","type":"boolean","default":false,"surcharges":{"true":{"credits":5}}},)"
  R"({"name":"extra","type":"boolean","default":false,"surcharges":{"true":{"percent":33}}}])";

}  // namespace

TEST_CASE("Each unit prices the quantity it names", "[models][pricing]") {
  struct row {
    const char* model;
    price_request job;
    std::int64_t want;
  };
  const std::vector<row> rows{
    {R"({"id":"a","type":"image","credits":3,"unit":"asset"})", {.n = 4}, 12},
    {R"({"id":"c","type":"video","credits":12,"unit":"clip","durations_s":[30]})",
     {.n = 2, .duration_seconds = 30},
     24},
    {R"({"id":"s","type":"video","credits":30,"unit":"second","durations_s":[5,10]})",
     {.n = 1, .duration_seconds = 10},
     300},
    {R"({"id":"s2","type":"audio","credits":1,"unit":"second","duration_range_s":[1,300]})",
     {.n = 3, .duration_seconds = 240},
     720},
    // Started thousands of characters: 1 -> 1, 1000 -> 1, 1001 -> 2, 6000 -> 6.
    {R"({"id":"k","type":"audio","credits":4,"unit":"1k_characters"})", {.text_chars = 1}, 4},
    {R"({"id":"k","type":"audio","credits":4,"unit":"1k_characters"})", {.text_chars = 1000}, 4},
    {R"({"id":"k","type":"audio","credits":4,"unit":"1k_characters"})", {.text_chars = 1001}, 8},
    {R"({"id":"k","type":"audio","credits":4,"unit":"1k_characters"})", {.text_chars = 6000}, 24},
    // Frames: seconds x fps (24 by default, or the model's).
    {R"({"id":"f","type":"video","credits":1,"unit":"frame","durations_s":[5]})",
     {.duration_seconds = 5},
     120},
    {R"({"id":"f","type":"video","credits":2,"unit":"frame","fps":30,"durations_s":[6]})",
     {.n = 2, .duration_seconds = 6},
     720},
    // Megapixel-seconds, started: 320 x 180 x 5 s = 0.288 MP s -> 1; 1920 x 1080 x 10 = 20.7 -> 21.
    {R"({"id":"m","type":"video","credits":10,"unit":"megapixel_second","durations_s":[5,10]})",
     {.duration_seconds = 5, .width = 320, .height = 180},
     10},
    {R"({"id":"m","type":"video","credits":10,"unit":"megapixel_second","durations_s":[5,10]})",
     {.duration_seconds = 10, .width = 1920, .height = 1080},
     210},
  };
  for (const auto& r : rows) {
    INFO(r.model << " n=" << r.job.n << " seconds=" << r.job.duration_seconds
                 << " chars=" << r.job.text_chars);
    auto price = price_of(model_of(r.model), r.job);
    REQUIRE(price);
    CHECK(*price == r.want);
  }
}

TEST_CASE(
  "Surcharges add a rounded-up percentage of the base and fixed credits; a minimum "
  "holds",
  "[models][pricing]") {
  auto model = model_of(R"({"id":"v","type":"video","credits":7,"unit":"second",)"
                        R"("durations_s":[5],"minimum_credits":40,)" +
                        options_json + "}");
  struct row {
    std::vector<std::pair<std::string, std::string>> options;
    std::uint32_t n;
    std::int64_t want;
  };
  const std::vector<row> rows{
    {{}, 1, 40},                                              // 35, raised to the minimum
    {{{"quality", "std"}}, 2, 70},                            // 70: no surcharge
    {{{"quality", "hq"}}, 1, 53},                             // 35 + 17.5 -> 53 (rounded up)
    {{{"quality", "max"}}, 1, 70},                            // 35 + 35
    {{{"script", "true"}}, 1, 40},                            // 35 + 5 = 40
    {{{"script", "true"}}, 2, 75},                            // 70 + 5: fixed once per job
    {{{"quality", "hq"}, {"extra", "true"}}, 1, 65},          // 35 + 35 x 83% = 29.05 -> 30
    {{{"quality", "hq"}, {"script", "true"}}, 3, 163},        // 105 + 52.5 -> 53, + 5
    {{{"quality", "nonsense"}, {"unknown", "true"}}, 2, 70},  // no surcharge matches
  };
  for (const auto& r : rows) {
    price_request job{.n = r.n, .duration_seconds = 5, .options = r.options};
    auto price = price_of(model, job);
    REQUIRE(price);
    CHECK(*price == r.want);
  }
}

TEST_CASE("A price past the limit is refused, never wrapped", "[models][pricing]") {
  auto huge = model_of(R"({"id":"h","type":"video","credits":1000000000,"unit":"frame",)"
                       R"("fps":120,"durations_s":[1,600]})");
  auto refused = price_of(huge, {.n = 4, .duration_seconds = 600});
  REQUIRE_FALSE(refused);
  CHECK(to_api_error(refused.error()).code == error_code::invalid_request);
  // Exactly at the limit is allowed; one credit over is not.
  auto at = model_of(R"({"id":"l","type":"image","credits":250000000000,"unit":"asset"})");
  CHECK(*price_of(at, {.n = 4}) == limits::job_cost_max);
  auto over = model_of(R"({"id":"o","type":"image","credits":250000000000,"unit":"asset",)"
                       R"("options":[{"name":"x","type":"boolean","default":false,)"
                       R"("surcharges":{"true":{"credits":1}}}]})");
  CHECK_FALSE(price_of(over, {.n = 4, .options = {{"x", "true"}}}));
  // A percentage on the largest base that fits still cannot wrap 128 bits.
  auto percent = model_of(R"({"id":"p","type":"image","credits":1000000000000,"unit":"asset",)"
                          R"("options":[{"name":"x","type":"boolean","default":false,)"
                          R"("surcharges":{"true":{"percent":1000}}}]})");
  CHECK_FALSE(price_of(percent, {.n = 1, .options = {{"x", "true"}}}));
}
