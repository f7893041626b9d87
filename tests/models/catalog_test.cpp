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

TEST_CASE("the built-in catalog has exactly the contract's six models and prices", "[models]") {
  const auto& models = catalog::builtin();
  REQUIRE(models.models().size() == contract_models.size());
  for (const auto& want : contract_models) {
    INFO("model " << want.id);
    const auto* entry = models.find(want.id);
    REQUIRE(entry != nullptr);
    CHECK(entry->id == want.id);
    CHECK(entry->type == want.type);
    CHECK(entry->credits == want.credits);
    CHECK(entry->unit == want.unit);
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
    parse_failure(R"({"models":[{"id":"m1","type":"audio","credits":1,"unit":"asset"}]})");
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
  CHECK_THAT(parse_failure(R"({"models":[{"id":"m1","type":"image","credits":1,"unit":"frame"}]})"),
             Catch::Contains("unit"));
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
    std::int64_t credits = 0;
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
    ids.insert(std::string(id));
  }
  CHECK(ids == std::set<std::string>{"flux2-turbo", "seedream", "nano-banana", "gpt-image-2",
                                     "nano-banana-pro", "seedance"});
}
