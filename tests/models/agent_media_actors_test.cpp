// agent.media's actor library as data: the compiled-in file is valid, a malformed one is refused
// with a message naming the entry, the filters, the slug suggestions, the views, the portraits,
// the create's actor check and voice, and the "ma_" keys a front end asks the core for.
#include "models/dialects/agent_media_actors.hpp"
#include "devices/media/media_render.hpp"
#include "models/account.hpp"
#include "models/crypto.hpp"
#include "models/dialects/agent_media.hpp"
#include "models/dialects/agent_media_portrait.hpp"
#include "models/embedded_data.hpp"
#include "tests/support/json.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace kiln;
using agent_media::actor_catalog;
using test_json = kiln::test::json;

namespace {

std::string actor_json(const std::string& slug, const std::string& id,
                       const std::string& extra = {}) {
  return R"({"id":")" + id + R"(","name":")" + slug + R"( Name","slug":")" + slug +
         R"(","gender":"female","age_range":"26-35","actor_type":"Young Adult",)" +
         R"("voice_id":"V0ice)" + std::to_string(slug.size()) + R"(","status":"active")" + extra +
         "}";
}

constexpr const char* uuid_a = "11111111-2222-4333-8444-555555555555";
constexpr const char* uuid_b = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";

/// The message of the refusal of `json`, which must be refused.
std::string refusal(const std::string& json) {
  auto parsed = actor_catalog::parse(json);
  REQUIRE_FALSE(parsed);
  return to_api_error(parsed.error()).message;
}

actor_catalog small_catalog() {
  auto parsed = actor_catalog::parse(R"({"actors":[
    {"id":"11111111-2222-4333-8444-555555555501","name":"Emma","slug":"emma","gender":"female",
     "age_range":"26-35","actor_type":"Young Adult","voice_id":"EmmaVoice","status":"active"},
    {"id":"11111111-2222-4333-8444-555555555502","name":"Emmett","slug":"emmett","gender":"male",
     "age_range":"26-35","actor_type":"Professional","voice_id":"EmmettVoice","status":"active"},
    {"id":"11111111-2222-4333-8444-555555555503","name":"Gemma Rose","slug":"gemma","gender":"female",
     "age_range":"18-25","actor_type":"Gen Z","voice_id":"GemmaVoice","status":"active"},
    {"id":"11111111-2222-4333-8444-555555555504","name":"Old Tom","slug":"tom","gender":"male",
     "age_range":"60+","actor_type":"Senior","voice_id":"TomVoice","status":"inactive"}]})");
  REQUIRE(parsed);
  return std::move(*parsed);
}

std::vector<std::string> slugs(const std::vector<const agent_media::actor*>& actors) {
  std::vector<std::string> out;
  for (const auto* a : actors) out.push_back(a->slug);
  return out;
}

}  // namespace

TEST_CASE("The compiled-in actor library is valid, with unique slugs and emma as the seed shows",
          "[models][agent_media]") {
  auto parsed = actor_catalog::parse(embedded::agent_media_actors());
  INFO((parsed ? std::string() : to_api_error(parsed.error()).message));
  REQUIRE(parsed);
  const auto& actors = actor_catalog::builtin().actors();
  REQUIRE(actors.size() == parsed->actors().size());
  CHECK(actors.size() >= 12);
  std::set<std::string> slug_set, ids, genders, ages, types;
  for (const auto& a : actors) {
    slug_set.insert(a.slug);
    ids.insert(a.id);
    genders.insert(a.gender);
    ages.insert(a.age_range);
    types.insert(a.actor_type);
    CHECK(a.status == "active");
  }
  CHECK(slug_set.size() == actors.size());
  CHECK(ids.size() == actors.size());
  CHECK(genders.size() >= 2);
  CHECK(ages.size() >= 3);
  CHECK(types.size() >= 3);
  const auto* emma = actor_catalog::builtin().find("emma");
  REQUIRE(emma);
  CHECK(emma->name == "Emma");
  CHECK(emma->gender == "female");
  CHECK(emma->age_range == "26-35");
  CHECK(emma->actor_type == "Young Adult");
  CHECK(emma->voice_id == "EXAVITQu4vr4xnSDxMaL");
}

TEST_CASE("A malformed actor library is refused with a message naming what is wrong",
          "[models][agent_media]") {
  auto one = [](const std::string& entry) { return R"({"actors":[)" + entry + "]}"; };
  struct row {
    std::string json;
    std::string says;
  };
  for (const auto& r : std::vector<row>{
         {"{oops", "invalid JSON"},
         {R"({"people":[]})", "'actors' array"},
         {R"({"actors":[]})", "no actors"},
         {R"({"actors":[1]})", "actors[0] must be an object"},
         {one(actor_json("emma", "not-a-uuid")), "actors[0]: id must be a lowercase UUID"},
         {one(actor_json("Emma", uuid_a)), "slug must be"},
         {one(actor_json("emma", uuid_a, R"(,"smile":"wide")")), "unknown field 'smile'"},
         {one(R"({"id":")" + std::string(uuid_a) + R"(","slug":"emma"})"), "is required"},
         {one(R"({"id":")" + std::string(uuid_a) + R"(","slug":7})"), "slug must be a string"},
         {R"({"actors":[)" + actor_json("emma", uuid_a) + "," + actor_json("emma", uuid_b) + "]}",
          "actors[1]: duplicate slug 'emma'"},
         {R"({"actors":[)" + actor_json("emma", uuid_a) + "," + actor_json("liam", uuid_a) + "]}",
          "actors[1]: duplicate id"},
       }) {
    INFO(r.json);
    auto message = refusal(r.json);
    INFO(message);
    CHECK(message.find("actor library: ") == 0);
    CHECK(message.find(r.says) != std::string::npos);
  }
  auto with = [&](const std::string& field, const std::string& value) {
    auto entry = actor_json("emma", uuid_a);
    auto at = entry.find("\"" + field + "\":\"");
    auto start = at + field.size() + 4;
    entry.replace(start, entry.find('"', start) - start, value);
    return refusal(one(entry));
  };
  CHECK(with("age_range", "35-26").find("age_range must be") != std::string::npos);
  CHECK(with("age_range", "old").find("age_range must be") != std::string::npos);
  CHECK(with("status", "retired").find("status must be") != std::string::npos);
  CHECK(with("voice_id", "has space").find("voice_id must be") != std::string::npos);
  CHECK(with("gender", "").find("gender must be") != std::string::npos);
  CHECK(with("name", std::string(101, 'n')).find("name must be") != std::string::npos);
  CHECK(actor_catalog::parse(one(actor_json("emma", uuid_a))));
  CHECK(actor_catalog::parse(one(actor_json("emma-2", uuid_a))));
}

TEST_CASE("Actor filters match whole values in any case and search a part of the name",
          "[models][agent_media]") {
  auto catalog = small_catalog();
  using v = std::vector<std::string>;
  CHECK(slugs(catalog.matching({})) == v{"emma", "emmett", "gemma", "tom"});
  CHECK(slugs(catalog.matching({"Female", "", "", ""})) == v{"emma", "gemma"});
  CHECK(slugs(catalog.matching({"fem", "", "", ""})).empty());
  CHECK(slugs(catalog.matching({"", "26-35", "", ""})) == v{"emma", "emmett"});
  CHECK(slugs(catalog.matching({"", "", "young adult", ""})) == v{"emma"});
  CHECK(slugs(catalog.matching({"", "", "", "EMM"})) == v{"emma", "emmett", "gemma"});
  CHECK(slugs(catalog.matching({"", "", "", "rose"})) == v{"gemma"});
  CHECK(slugs(catalog.matching({"male", "26-35", "", "emm"})) == v{"emmett"});
}

TEST_CASE("An unknown slug suggests up to three close slugs, closest first",
          "[models][agent_media]") {
  auto catalog = small_catalog();
  using v = std::vector<std::string>;
  CHECK(catalog.suggestions("emmma") == v{"emma", "gemma"});  // emmett: 3 edits
  CHECK(catalog.suggestions("emmet") == v{"emmett", "emma"});
  CHECK(catalog.suggestions("emmat") == v{"emma", "emmett", "gemma"});
  CHECK(catalog.suggestions("EMA") == v{"emma", "gemma"});
  CHECK(catalog.suggestions("tomm") == v{"tom"});
  CHECK(catalog.suggestions("zzzzzzzz").empty());
  CHECK(catalog.suggestions("").empty());
  CHECK(catalog.suggestions(std::string(500, 'e')).empty());
  CHECK(actor_catalog::builtin().suggestions("emmma").front() == "emma");
  auto four = actor_catalog::parse(R"({"actors":[)" +
                                   actor_json("ae", "00000000-0000-4000-8000-000000000004") + "," +
                                   actor_json("ad", "00000000-0000-4000-8000-000000000003") + "," +
                                   actor_json("ac", "00000000-0000-4000-8000-000000000002") + "," +
                                   actor_json("ab", "00000000-0000-4000-8000-000000000001") + "]}");
  REQUIRE(four);
  CHECK(four->suggestions("aa") == v{"ab", "ac", "ad"});  // four at one edit: the first three
}

TEST_CASE("Actors render in agent.media's shapes with portrait URLs on the given host",
          "[models][agent_media]") {
  auto catalog = small_catalog();
  auto list = test_json::parse(
    agent_media::render_actors(catalog.matching({"female", "", "", ""}), "http://127.0.0.1:8080"));
  CHECK(list["total"].integer() == 2);
  REQUIRE(list["actors"].size() == 2);
  auto emma = list["actors"][0];
  CHECK(emma.keys() == std::vector<std::string>{"id", "name", "slug", "gender", "age_range",
                                                "actor_type", "portrait_url", "voice_id",
                                                "status"});
  CHECK(emma["portrait_url"].str() == "http://127.0.0.1:8080/api/v1/actors/emma/portrait.png");
  auto one = test_json::parse(agent_media::render_actor_found(*catalog.find("tom"), "http://h"));
  CHECK(one["/actor/status"].str() == "inactive");
  auto missing =
    test_json::parse(agent_media::render_actor_not_found("emmma", catalog.suggestions("emmma")));
  CHECK(missing["/error/code"].str() == "actor_not_found");
  CHECK(missing["/error/type"].str() == "not_found");
  CHECK(missing["/error/suggestions/0"].str() == "emma");
}

TEST_CASE("Portraits are real PNGs, the same bytes for the same actor", "[models][agent_media]") {
  const auto& actors = actor_catalog::builtin().actors();
  std::set<std::string> seen;
  for (const auto& a : actors) {
    auto png = agent_media::render_portrait(a);
    auto info = media::read_png_info(png);
    INFO(a.slug);
    REQUIRE(info.ok);
    CHECK(info.width == agent_media::portrait_side);
    CHECK(info.height == agent_media::portrait_side);
    CHECK(png.size() < 64 * 1024);
    CHECK(agent_media::render_portrait(a) == png);
    seen.insert(png);
  }
  CHECK(seen.size() == actors.size());
}

TEST_CASE("A create names a library actor: its voice is selected, an unknown one is refused",
          "[models][agent_media]") {
  const std::string script = R"({"prompt":"founders at dawn","actor_slug":")";
  auto created = agent_media::translate_create(script + R"(emma"})");
  REQUIRE(created);
  CHECK(created->selected_voice == "EXAVITQu4vr4xnSDxMaL");
  CHECK(test_json::parse(created->core_body)["/options/actor_slug"].str() == "emma");
  job made;
  made.id = "job_1";
  auto answer = test_json::parse(agent_media::render_created(made, *created));
  CHECK(answer["selected_voice"].str() == "EXAVITQu4vr4xnSDxMaL");
  CHECK_FALSE(answer["voice_auto_detected"].boolean());
  auto without = agent_media::translate_create(R"({"prompt":"founders at dawn"})");
  REQUIRE(without);
  CHECK_FALSE(test_json::parse(agent_media::render_created(made, *without)).has("selected_voice"));

  auto refused = agent_media::translate_create(script + R"(emmma"})");
  REQUIRE_FALSE(refused);
  auto error = to_api_error(refused.error());
  CHECK(error.field == "actor_not_found");
  CHECK(error.message.find("did you mean emma") != std::string::npos);
  // Another library: its actors, and an inactive one cannot be chosen.
  auto catalog = small_catalog();
  auto emmett = agent_media::translate_create(script + R"(emmett"})", catalog);
  REQUIRE(emmett);
  CHECK(emmett->selected_voice == "EmmettVoice");
  auto tom = agent_media::translate_create(script + R"(tom"})", catalog);
  REQUIRE_FALSE(tom);
  CHECK(to_api_error(tom.error()).field == "actor_not_found");
}

TEST_CASE("A front end's key is its prefix and 32 hex digits, listed by prefix and 8 more",
          "[models]") {
  auto key = crypto::make_prefixed_api_key("ma_");
  REQUIRE(key.size() == 3 + 32);
  CHECK(key.substr(0, 3) == "ma_");
  CHECK(key.find_first_not_of("0123456789abcdef", 3) == std::string::npos);
  CHECK(key != crypto::make_prefixed_api_key("ma_"));
  CHECK(crypto::valid_key_prefix("ma_"));
  CHECK(crypto::valid_key_prefix("mk_live_"));
  CHECK_FALSE(crypto::valid_key_prefix(""));
  CHECK_FALSE(crypto::valid_key_prefix("MA_"));
  CHECK_FALSE(crypto::valid_key_prefix(std::string(17, 'a')));

  auto made = new_key("acct_1", "Production Key", 1700000000000, "ma_");
  CHECK(made.plain.substr(0, 3) == "ma_");
  CHECK(made.key.prefix == made.plain.substr(0, 11));
  CHECK(made.key.hash == crypto::sha256_hex(made.plain));
  auto core = new_key("acct_1", "core", 1700000000000);
  CHECK(core.plain.substr(0, 8) == "kiln_sk_");
  CHECK(core.key.prefix.size() == 12);
}
