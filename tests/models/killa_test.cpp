// Killa Tamata's pure translations: status words, USD text, submit bodies into core bodies (each
// refusal naming Killa's field), the job view, the error envelope; and random bodies never throw.
#include "models/dialects/killa.hpp"
#include "models/catalog.hpp"
#include "tests/support/json.hpp"
#include "tests/support/seed.hpp"

#include <catch2/catch.hpp>

#include <random>

using namespace kiln;
using test_json = kiln::test::json;

namespace {

killa::dialect_settings settings() {
  killa::dialect_settings s;
  s.tasks = killa::default_tasks();
  return s;
}

std::string refused_field(const std::string& body) {
  auto translated = killa::translate_submit(body, settings(), catalog::builtin());
  REQUIRE_FALSE(translated);
  return to_api_error(translated.error()).field;
}

}  // namespace

TEST_CASE("Killa says completed, and writes dollars with at least two decimals", "[killa]") {
  CHECK(killa::status_word(job_status::succeeded) == "completed");
  CHECK(killa::status_word(job_status::processing) == "processing");
  CHECK(killa::status_word(job_status::canceled) == "canceled");
  CHECK(killa::usd_text(40000) == "0.04");
  CHECK(killa::usd_text(0) == "0.00");
  CHECK(killa::usd_text(1500000) == "1.50");
  CHECK(killa::usd_text(123) == "0.000123");
  CHECK(killa::usd_text(12345678901) == "12345.678901");
  CHECK(killa::usd_micros(4, settings()) == 40000);
}

TEST_CASE("A Killa submit becomes a core body on the task's model", "[killa]") {
  auto image = killa::translate_submit(
    R"({"task":"image.generate","completionCallbackUrl":"https://h/cb","idempotencyKey":"k",)"
    R"("input":{"prompt":"fox","width":1024,"height":512,"seed":7,"outputFormat":"jpg","highDetail":true}})",
    settings(), catalog::builtin());
  REQUIRE(image);
  auto core = test_json::parse(image->core_body);
  CHECK(core["type"].str() == "image");
  CHECK(core["model"].str() == "qwen-image");
  CHECK(core["prompt"].str() == "fox");
  CHECK(core["/params/width"].integer() == 1024);
  CHECK(core["/params/seed"].integer() == 7);
  CHECK(core["/options/output_format"].str() == "jpeg");  // Killa's jpg
  CHECK(core["/options/high_detail"].boolean());
  CHECK(core["webhook_url"].str() == "https://h/cb");
  CHECK(image->body_key == "k");
  // The callback is not part of what idempotency compares.
  auto other = killa::translate_submit(
    R"({"task":"image.generate","completionCallbackUrl":"https://other/cb",)"
    R"("input":{"prompt":"fox","width":1024,"height":512,"seed":7,"outputFormat":"jpg","highDetail":true}})",
    settings(), catalog::builtin());
  CHECK(other->fingerprint == image->fingerprint);

  auto speech = killa::translate_submit(
    R"({"task":"audio.speak","input":{"provider":"gemini","text":"hello","instructions":"calm"}})",
    settings(), catalog::builtin());
  REQUIRE(speech);
  CHECK(test_json::parse(speech->core_body)["model"].str() == "gemini-tts");
  CHECK(test_json::parse(speech->adjustments).size() == 2);  // provider and instructions: not used
  auto video = killa::translate_submit(
    R"({"task":"video.generate","input":{"prompt":"city","durationSeconds":6,"width":1920,"height":1088}})",
    settings(), catalog::builtin());
  REQUIRE(video);
  CHECK(test_json::parse(video->core_body)["/params/duration_seconds"].integer() == 6);
  CHECK(test_json::parse(video->adjustments).size() == 2);  // the video's size is the device's

  CHECK(refused_field(R"({"input":{"prompt":"p"}})") == "task");
  CHECK(refused_field(R"({"task":"nope","input":{"prompt":"p"}})") == "task");
  CHECK(refused_field(R"({"task":"trellis.generate","input":{}})") == "task");
  CHECK(refused_field(R"({"task":"image.generate"})") == "input");
  CHECK(refused_field(R"({"task":"image.generate","input":{}})") == "input.prompt");
  CHECK(refused_field(R"({"task":"audio.speak","input":{}})") == "input.text");
  CHECK(refused_field(R"({"task":"image.generate","input":{"prompt":"p","width":"big"}})") ==
        "input.width");
  CHECK(refused_field(R"({"task":"image.generate","input":{"prompt":"p","sourceImage":"u"}})") ==
        "input.sourceImage");
  CHECK(refused_field(R"({"task":"image.generate","input":{"prompt":"p"},"extra":1})") == "extra");
  CHECK(refused_field(R"({"task":"image.generate","idempotencyKey":"","input":{"prompt":"p"}})") ==
        "idempotencyKey");
}

TEST_CASE("Killa's envelope carries the core's code, message and field", "[killa]") {
  auto e = test_json::parse(killa::render_error(
    R"({"error":{"code":"insufficient_credits","message":"m","details":{"field":"n"}}})"));
  CHECK(e["ok"].boolean() == false);
  CHECK(e["error"].str() == "m");
  CHECK(e["/details/code"].str() == "insufficient_credits");
  CHECK(e["/details/field"].str() == "n");
  CHECK(test_json::parse(killa::render_error("not json"))["/details/code"].str() == "server_error");
}

TEST_CASE("Random Killa bodies are translated or refused, never thrown", "[killa][fuzz]") {
  std::mt19937_64 rng(kiln::test::test_seed("killa translate fuzz"));
  const char* pieces[] = {R"("task":"image.generate")",
                          R"("task":"audio.speak")",
                          R"("task":"video.generate")",
                          R"("task":5)",
                          R"("input":{"prompt":"p"})",
                          R"("input":{"text":"t","provider":"gemini"})",
                          R"("input":[])",
                          R"("input":{"width":null})",
                          R"("idempotencyKey":3)",
                          R"("completionCallbackUrl":{})",
                          R"("input":{"prompt":"p","durationSeconds":-1,"seed":1e99})"};
  for (int i = 0; i < 3000; ++i) {
    std::string body = "{";
    for (int n = static_cast<int>(rng() % 4); n > 0; --n)
      body += std::string(body.size() > 1 ? "," : "") + pieces[rng() % std::size(pieces)];
    body += "}";
    if (rng() % 8 == 0) body.resize(rng() % body.size());
    CHECK_NOTHROW(killa::translate_submit(body, settings(), catalog::builtin()));
  }
}
