// agent.media's pure translations: the pacing rule that picks the duration bucket, every field's
// validation with the seed's codes, the views and the envelope.
#include "models/dialects/agent_media.hpp"
#include "tests/support/json.hpp"

#include <catch2/catch.hpp>

using namespace kiln;
using test_json = kiln::test::json;

namespace {

/// `words` words of script, each 5 characters with its space.
std::string script_of(int words) {
  std::string s;
  for (int i = 0; i < words; ++i) s += "word ";
  return s;
}

std::string refusal(const std::string& body) {
  auto translated = agent_media::translate_create(body);
  REQUIRE_FALSE(translated);
  return to_api_error(translated.error()).field;  // agent.media's code
}

}  // namespace

TEST_CASE("The duration bucket fits the script at 2.5 words a second", "[agent_media]") {
  struct row {
    int words;
    int target;  // 0: none asked
    std::uint32_t duration;
    bool warned;
  };
  for (auto r : {row{10, 0, 5, false}, row{12, 0, 5, false}, row{13, 0, 10, false},
                 row{13, 5, 10, true}, row{25, 10, 10, false}, row{26, 10, 15, true},
                 row{37, 0, 15, false}, row{10, 15, 15, false}}) {
    INFO(r.words << " words, target " << r.target);
    std::string body = R"({"script":")" + script_of(r.words) + "\"" +
                       (r.target ? R"(,"target_duration":)" + std::to_string(r.target) : "") + "}";
    auto translated = agent_media::translate_create(body);
    REQUIRE(translated);
    CHECK(translated->duration == r.duration);
    CHECK(translated->word_count == static_cast<std::uint32_t>(r.words));
    CHECK(translated->pacing_warning.empty() != r.warned);
    CHECK(test_json::parse(translated->core_body)["/params/duration_seconds"].integer() ==
          r.duration);
  }
  CHECK(refusal(R"({"script":")" + script_of(38) + R"("})") == "script_too_long");
}

TEST_CASE("Every field is checked with agent.media's codes and carried as the model's options",
          "[agent_media]") {
  auto full = agent_media::translate_create(
    R"({"prompt":"founders at dawn","actor_slug":"emma","style":"neon","tone":"calm",)"
    R"("voice_speed":1.2,"music":"chill","cta":"Follow","aspect_ratio":"1:1","template":"listicle",)"
    R"("allow_broll":true,"broll_model":"wan21","broll_images":["https://x/a.png"],)"
    R"("composition_mode":"pip","pip_options":{"position":"bottom-left","size":"small"},)"
    R"("scenes":[{"type":"broll","text":"hello"}],"webhook_url":"https://h/hook"})");
  REQUIRE(full);
  auto core = test_json::parse(full->core_body);
  CHECK(core["model"].str() == "ugc-basic");
  CHECK(core["prompt"].str() == "founders at dawn");
  CHECK(core["/options/generate_script"].boolean());
  CHECK(core["/options/voice_speed_percent"].integer() == 120);
  CHECK(core["/options/pip_position"].str() == "bottom-left");
  CHECK(core["webhook_url"].str() == "https://h/hook");
  CHECK(full->duration == 10);  // a prompt's script: 10 s unless asked

  CHECK(refusal("{}") == "missing_script");
  CHECK(refusal(R"({"script":"too short"})") == "script_too_short");
  CHECK(refusal(R"({"prompt":"p","cta":")" + std::string(101, 'c') + R"("})") == "cta_too_long");
  CHECK(refusal(R"({"prompt":"p","target_duration":7})") == "invalid_target_duration");
  CHECK(refusal(R"({"prompt":"p","style":"comic"})") == "invalid_style");
  CHECK(refusal(R"({"prompt":"p","tone":"sad"})") == "invalid_tone");
  CHECK(refusal(R"({"prompt":"p","voice_speed":2})") == "invalid_voice_speed");
  CHECK(refusal(R"({"prompt":"p","broll_images":["a","b","c","d","e","f","g","h","i","j","k"]})") ==
        "invalid_broll_images");
  CHECK(refusal(R"({"prompt":"p","pip_options":{"corner":"x"}})") == "invalid_pip_options");
  CHECK(refusal(R"({"prompt":"p","scenes":[{"type":"broll"}]})") == "invalid_scenes");
  CHECK(refusal(R"({"prompt":"p","colour":"red"})") == "unknown_field");
  CHECK(refusal("not json") == "invalid_json");
}

TEST_CASE("Core errors come in agent.media's envelope with its codes and types", "[agent_media]") {
  auto shape = [](const std::string& core) {
    auto e = test_json::parse(agent_media::render_error(core))["error"];
    return e["code"].str() + "/" + e["type"].str();
  };
  CHECK(shape(R"({"error":{"code":"unauthorized","message":"send your API key as ..."}})") ==
        "missing_api_key/authentication_error");
  CHECK(shape(R"({"error":{"code":"unauthorized","message":"missing, unknown or revoked"}})") ==
        "invalid_api_key/authentication_error");
  CHECK(shape(R"({"error":{"code":"not_found","message":"m"}})") == "job_not_found/not_found");
  CHECK(shape(R"({"error":{"code":"insufficient_credits","message":"m"}})") ==
        "insufficient_credits/insufficient_credits");
  CHECK(shape(R"({"error":{"code":"rate_limited","message":"m"}})") ==
        "rate_limited/rate_limit_error");
  CHECK(shape(R"({"error":{"code":"cannot_cancel","message":"m"}})") ==
        "cannot_cancel/validation_error");
}
