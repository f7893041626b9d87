// Unit tests for the model catalog: the built-in catalog matches the contract's table, parsing
// refuses bad catalogs with a message that names the problem, and json() lists every model.
#include <catch2/catch.hpp>

#include "models/catalog.hpp"

#include <simdjson.h>

#include <set>
#include <string>
#include <vector>

using kiln::catalog;

namespace {

struct expected_model {
  const char* id;
  const char* type;
  std::int64_t credits;
  const char* unit;
};

const std::vector<expected_model> contract_models{
  {"flux2-turbo", "image", 1, "asset"},     {"seedream", "image", 3, "asset"},
  {"nano-banana", "image", 2, "asset"},     {"gpt-image-2", "image", 4, "asset"},
  {"nano-banana-pro", "image", 6, "asset"}, {"seedance", "video", 30, "second"},
};

/// Parses `json` expecting failure; returns the error message.
std::string parse_failure(const std::string& json) {
  auto parsed = catalog::parse(json);
  REQUIRE_FALSE(parsed);
  auto error = kiln::to_api_error(parsed.error()).message;
  CHECK_FALSE(error.empty());
  return error;
}

std::string one_model(const std::string& fields) {
  return R"({"models":[{"id":"m1","type":"image","credits":2,"unit":"asset")" + fields + "}]}";
}

}  // namespace

TEST_CASE("the built-in catalog has the contract's six models and prices", "[models]") {
  const auto& models = catalog::builtin();
  for (const auto& want : contract_models) {
    INFO("model " << want.id);
    const auto* entry = models.find(want.id);
    REQUIRE(entry != nullptr);
    CHECK(entry->id == want.id);
    CHECK(entry->type == want.type);
    CHECK(entry->credits == want.credits);
    CHECK(kiln::unit_name(entry->unit) == want.unit);
    CHECK_FALSE(entry->description.empty());
    CHECK(entry->estimated_seconds > 0);
  }
}

TEST_CASE("seedance needs the pro plan and offers 5, 10 and 15 seconds", "[models]") {
  const auto* seedance = catalog::builtin().find("seedance");
  REQUIRE(seedance != nullptr);
  CHECK(seedance->min_plan == "pro");
  CHECK(seedance->durations_s == std::vector<std::uint32_t>{5, 10, 15});
}

TEST_CASE("the built-in image models are open to the free plan", "[models]") {
  for (const char* id :
       {"flux2-turbo", "seedream", "nano-banana", "gpt-image-2", "nano-banana-pro"}) {
    INFO("model " << id);
    REQUIRE(catalog::builtin().find(id) != nullptr);
    CHECK(catalog::builtin().find(id)->min_plan == "free");
  }
}

TEST_CASE("find returns null for an unknown model id", "[models]") {
  CHECK(catalog::builtin().find("no-such-model") == nullptr);
  CHECK(catalog::builtin().find("") == nullptr);
  CHECK(catalog::builtin().find("FLUX2-TURBO") == nullptr);
}

TEST_CASE("a valid custom catalog parses, defaulting min_plan to free", "[models]") {
  auto parsed = catalog::parse(
    R"({"models":[{"id":"a","type":"image","credits":2,"unit":"asset"},)"
    R"({"id":"v","type":"video","credits":7,"unit":"second","min_plan":"starter","durations_s":[4,8]}]})");
  REQUIRE(parsed);
  REQUIRE(parsed->models().size() == 2);
  CHECK(parsed->find("a")->min_plan == "free");
  CHECK(parsed->find("v")->min_plan == "starter");
  CHECK(parsed->find("v")->durations_s == std::vector<std::uint32_t>{4, 8});
}

TEST_CASE("a catalog entry with an unknown field is refused naming the field", "[models]") {
  auto error = parse_failure(one_model(R"(,"colour":"red")"));
  CHECK_THAT(error, Catch::Contains("colour"));
}

TEST_CASE("a catalog with a duplicate model id is refused naming the id", "[models]") {
  auto error =
    parse_failure(R"({"models":[{"id":"twin","type":"image","credits":1,"unit":"asset"},)"
                  R"({"id":"twin","type":"image","credits":2,"unit":"asset"}]})");
  CHECK_THAT(error, Catch::Contains("duplicate"));
  CHECK_THAT(error, Catch::Contains("twin"));
}

TEST_CASE("a catalog entry with a bad type is refused naming 'type'", "[models]") {
  auto error =
    parse_failure(R"({"models":[{"id":"m1","type":"hologram","credits":1,"unit":"asset"}]})");
  CHECK_THAT(error, Catch::Contains("type"));
}

TEST_CASE("a catalog entry whose field has the wrong JSON type is refused naming it", "[models]") {
  auto error =
    parse_failure(R"({"models":[{"id":"m1","type":"image","credits":"cheap","unit":"asset"}]})");
  CHECK_THAT(error, Catch::Contains("credits"));
}

TEST_CASE("a video model without durations is refused naming durations_s", "[models]") {
  auto error =
    parse_failure(R"({"models":[{"id":"vid","type":"video","credits":5,"unit":"second"}]})");
  CHECK_THAT(error, Catch::Contains("durations_s"));
}

TEST_CASE("catalog entries need an id, a positive price and a known unit", "[models]") {
  CHECK_THAT(parse_failure(R"({"models":[{"type":"image","credits":1,"unit":"asset"}]})"),
             Catch::Contains("id"));
  CHECK_THAT(parse_failure(R"({"models":[{"id":"m1","type":"image","credits":0,"unit":"asset"}]})"),
             Catch::Contains("credits"));
  CHECK_THAT(parse_failure(R"({"models":[{"id":"m1","type":"image","credits":1,"unit":"token"}]})"),
             Catch::Contains("unit"));
  CHECK_THAT(parse_failure(R"({"models":[{"id":"m1","type":"image","credits":1,"unit":"frame"}]})"),
             Catch::Contains("durations_s"));
}

TEST_CASE("a catalog that is not JSON or has no models array is refused", "[models]") {
  CHECK_THAT(parse_failure("this is not json"), Catch::Contains("JSON"));
  CHECK_THAT(parse_failure(R"({"models":)"), Catch::Contains("JSON"));
  CHECK_THAT(parse_failure(R"({"entries":[]})"), Catch::Contains("models"));
  CHECK_THAT(parse_failure(R"({"models":[]})"), Catch::Contains("no models"));
  CHECK_THAT(parse_failure(R"({"models":[42]})"), Catch::Contains("models[0]"));
}

TEST_CASE("json() is valid JSON listing every model with its price", "[models]") {
  const auto& models = catalog::builtin();
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  REQUIRE(parser.parse(models.json()).get(root) == simdjson::SUCCESS);
  simdjson::dom::array data;
  REQUIRE(root["data"].get_array().get(data) == simdjson::SUCCESS);
  std::set<std::string> ids;
  for (simdjson::dom::element entry : data) {
    std::string_view id, type, unit, min_plan, description;
    std::int64_t credits = 0, cost = 0;
    std::uint64_t estimated = 0;
    REQUIRE(entry["id"].get_string().get(id) == simdjson::SUCCESS);
    INFO("model " << id);
    CHECK(entry["type"].get_string().get(type) == simdjson::SUCCESS);
    CHECK(entry["unit"].get_string().get(unit) == simdjson::SUCCESS);
    CHECK(entry["min_plan"].get_string().get(min_plan) == simdjson::SUCCESS);
    CHECK(entry["description"].get_string().get(description) == simdjson::SUCCESS);
    CHECK(entry["estimated_seconds"].get_uint64().get(estimated) == simdjson::SUCCESS);
    REQUIRE(entry["credits"].get_int64().get(credits) == simdjson::SUCCESS);
    const auto* known = models.find(id);
    REQUIRE(known != nullptr);
    CHECK(credits == known->credits);
    CHECK(type == known->type);
    REQUIRE(entry["cost_per_generation"].get_int64().get(cost) == simdjson::SUCCESS);
    CHECK(cost == known->cost_per_generation);
    CHECK(cost >= credits);
    ids.insert(std::string(id));
  }
  CHECK(ids.size() == models.models().size());
  for (const auto& want : contract_models) CHECK(ids.count(want.id) == 1);
}

TEST_CASE("the built-in catalog sells every type the seeds need, in their units", "[models]") {
  std::set<std::string> types, units;
  for (const auto& m : catalog::builtin().models()) {
    types.insert(m.type);
    units.insert(std::string(kiln::unit_name(m.unit)));
    INFO(m.id);
    CHECK(m.requires_input_media == (m.id == "image-edit"));
    CHECK_FALSE(m.output_formats.empty());
  }
  CHECK(types.count("image") == 1);
  CHECK(types.count("video") == 1);
  CHECK(types.count("audio") == 1);
  for (const char* unit : {"asset", "second", "1k_characters", "frame", "clip"})
    CHECK(units.count(unit) == 1);
  // Seedance lists 30 credits per second; a default job (5 s) costs 150.
  CHECK(catalog::builtin().find("seedance")->cost_per_generation == 150);
  CHECK(catalog::builtin().find("flux")->id == "flux2-turbo");  // an alias
  CHECK(catalog::builtin().find("gemini-3-1-flash-tts")->id == "gemini-tts");
  CHECK(catalog::builtin().find("ltx-2-3")->cost_per_generation == 6 * 30);  // 6 s at 30 fps
}

TEST_CASE("a catalog declares options, surcharges, ranges, limits and aliases", "[models]") {
  auto parsed = catalog::parse(
    R"({"models":[{"id":"song","type":"audio","credits":2,"unit":"second","minimum_credits":50,)"
    R"("duration_range_s":[10,120],"default_duration_s":30,"max_text_chars":8000,)"
    R"("aliases":["tune"],"output_formats":["wav"],"options":[{"name":"quality","type":"string",)"
    R"("enum":["std","hq"],"default":"std","surcharges":{"hq":{"percent":25}}},)"
    R"({"name":"stems","type":"boolean","default":false,"surcharges":{"true":{"credits":7}}},)"
    R"({"name":"bpm","type":"integer","minimum":0,"maximum":200,"default":0}]}]})");
  REQUIRE(parsed);
  const auto* song = parsed->find("tune");
  REQUIRE(song);
  CHECK(song->default_duration_s == 30);
  CHECK(song->allows_duration(10));
  CHECK(song->allows_duration(120));
  CHECK_FALSE(song->allows_duration(121));
  CHECK(song->max_text_chars == 8000);
  CHECK(song->cost_per_generation == 60);  // 30 s x 2, over the minimum of 50
  REQUIRE(song->options.size() == 4);      // output_format first, from output_formats
  CHECK(song->options[0].name == "output_format");
  CHECK(song->options[0].default_value == "\"wav\"");
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  REQUIRE(parser.parse(parsed->json()).get(root) == simdjson::SUCCESS);
  CHECK(root["data"].at(0)["options"].at(1)["surcharges"]["hq"]["percent"].get_int64().value() ==
        25);
  CHECK(root["data"].at(0)["duration_range_s"].at(1).get_int64().value() == 120);

  CHECK_THAT(parse_failure(one_model(R"(,"options":[{"name":"q","type":"string","enum":["a"]}])")),
             Catch::Contains("'default' is required"));
  CHECK_THAT(parse_failure(one_model(R"(,"options":[{"name":"q","type":"integer","minimum":1,)"
                                     R"("maximum":3,"default":9}])")),
             Catch::Contains("not an allowed value"));
  CHECK_THAT(parse_failure(one_model(R"(,"options":[{"name":"q","type":"boolean","default":true,)"
                                     R"("surcharges":{"true":{"percent":5,"credits":1}}}])")),
             Catch::Contains("surcharge"));
  CHECK_THAT(parse_failure(one_model(R"(,"max_text_chars":10001)")),
             Catch::Contains("max_text_chars"));
  CHECK_THAT(parse_failure(one_model(R"(,"aliases":["m1"])")), Catch::Contains("alias"));
  CHECK_THAT(parse_failure(one_model(R"(,"durations_s":[5])")), Catch::Contains("durations"));
  CHECK_THAT(parse_failure(R"({"models":[{"id":"s","type":"audio","credits":1,"unit":"second",)"
                           R"("duration_range_s":[10,20],"default_duration_s":30}]})"),
             Catch::Contains("outside"));
  CHECK_THAT(parse_failure(R"({"models":[{"id":"d","type":"json","credits":1,"unit":"asset"}]})"),
             Catch::Contains("fields"));
}
