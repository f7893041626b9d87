// MercaDream's translations: the worked signature example of docs/frontends.md, the bodies of
// generate, speech and music as core jobs with every refusal naming its field, estimated
// completion, and the times `before` takes.
#include <catch2/catch.hpp>

#include "models/dialects/mercadream.hpp"
#include "models/json_writer.hpp"
#include "models/webhook_signature.hpp"

#include <simdjson.h>

#include <string>

namespace md = kiln::mercadream;

namespace {

std::string field_of(const caf::error& e) { return kiln::to_api_error(e).field; }

}  // namespace

TEST_CASE("the webhook signature of docs/frontends.md's worked example", "[models][mercadream]") {
  auto key = kiln::webhooks::decode_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  REQUIRE(key);
  const std::string body =
    R"({"event":"job.completed","job_id":"job_01J8X9K2M4P6Q8R0000000000A","status":"completed",)"
    R"("download_url":"https://api.example.com/v1/files/job_01J8X9K2M4P6Q8R0000000000A-0.webm?)"
    R"(expires=1796611534&signature=7ed1","livemode":true,"timestamp":"2026-12-07T01:45:34.406Z"})";
  CHECK(
    md::signed_webhook(body, *key) ==
    body.substr(0, body.size() - 1) +
      R"(,"signature":"sha256=b8792d6e48e7bd0ed40512b419777ee40506573d222882c499038393ac809686"})");
}

TEST_CASE("generate, speech and music become core jobs; refusals name the field",
          "[models][mercadream]") {
  auto video = md::translate_generate(R"({"prompt":"Neon rain","duration":60,"fps":30})");
  REQUIRE(video);
  simdjson::dom::parser parser;
  auto core = parser.parse(video->core_body);
  CHECK(core["model"].get_string().value() == "merca-video");
  CHECK(core["params"]["duration_seconds"].get_int64().value() == 60);
  CHECK(core["options"]["resolution"].get_string().value() == "4k");  // the seed's default
  CHECK(core["options"]["style"].get_string().value() == "cinematic");
  CHECK(core["options"]["fps"].get_int64().value() == 30);
  CHECK(video->resolution == "4k");

  auto speech = md::translate_speech(R"({"text":"hello","speed":0.5,"voice_id":"calm-guide"})");
  REQUIRE(speech);
  auto s = parser.parse(speech->core_body);
  CHECK(s["model"].get_string().value() == "merca-speech");
  CHECK(s["options"]["speed_percent"].get_int64().value() == 50);
  CHECK(s["options"]["voice_id"].get_string().value() == "calm-guide");

  auto music = md::translate_music(R"({"prompt":"piano"})");
  REQUIRE(music);
  auto m = parser.parse(music->core_body);
  CHECK(m["params"]["duration_seconds"].get_int64().value() == 60);
  CHECK(m["options"]["bpm"].get_int64().value() == 0);  // auto

  CHECK(field_of(md::translate_generate(R"({"prompt":""})").error()) == "prompt");
  CHECK(field_of(md::translate_generate(R"({"prompt":"x","resolution":"2k"})").error()) ==
        "resolution");
  CHECK(field_of(md::translate_generate(R"({"prompt":"x","duration":"30"})").error()) ==
        "duration");
  CHECK(field_of(md::translate_generate(R"({"prompt":"x","colour":"red"})").error()) == "colour");
  CHECK(field_of(md::translate_speech(R"({"text":"x","format":"aac"})").error()) == "format");
  CHECK(field_of(md::translate_music(R"({"prompt":"x","bpm":201})").error()) == "bpm");
  CHECK(kiln::to_api_error(md::translate_music("[1]").error()).code ==
        kiln::error_code::invalid_json);
  CHECK(md::pixels_of("8k") == 7680u * 4320u);
  CHECK(md::pixels_of("2k") == 0);
}

TEST_CASE("estimated completion follows the queue, the run and the end", "[models][mercadream]") {
  kiln::job j;
  j.status = kiln::job_status::queued;
  j.created_at_ms = 1'000'000;
  j.queue_position = 3;
  CHECK(md::estimated_completion_ms(j, 10, 1'000'000) == 1'000'000 + 3 * 10'000);
  j.status = kiln::job_status::processing;
  j.started_at_ms = 1'050'000;
  CHECK(md::estimated_completion_ms(j, 10, 1'055'000) == 1'060'000);
  CHECK(md::estimated_completion_ms(j, 10, 1'070'000) == 1'070'000);  // late: not in the past
  j.status = kiln::job_status::succeeded;
  j.completed_at_ms = 1'058'000;
  CHECK(md::estimated_completion_ms(j, 10, 1'070'000) == 1'058'000);
}

TEST_CASE("times for `before`: RFC 3339 UTC, with or without milliseconds",
          "[models][mercadream]") {
  CHECK(kiln::parse_time_ms("2025-06-01T14:22:31Z") == 1'748'787'751'000);
  CHECK(kiln::parse_time_ms("2025-06-01T14:22:31.250Z") == 1'748'787'751'250);
  CHECK(kiln::parse_time_ms("2025-06-01T14:22:31+00:00") == 1'748'787'751'000);
  CHECK(kiln::format_time_ms(*kiln::parse_time_ms("2026-12-07T01:45:34.406Z")) ==
        "2026-12-07T01:45:34.406Z");
  for (const char* bad : {"2025-06-01", "2025-06-01T14:22:31", "2025-06-01T14:22:31.25Z",
                          "2025-13-01T00:00:00Z", "2025-06-01T14:22:31+02:00", "yesterday"})
    CHECK_FALSE(kiln::parse_time_ms(bad));
}
