// Unit tests for the POST /v1/jobs body parser: valid bodies give the right spec and cost, every
// invalid field is named in the error, and each limit holds at the value and fails one past it.
#include <catch2/catch.hpp>

#include "models/catalog.hpp"
#include "models/job_request.hpp"

#include <string>
#include <variant>

using kiln::api_error;
using kiln::error_code;
using kiln::job_spec;

namespace {

constexpr std::uint64_t default_seed = 123456789;

std::variant<job_spec, api_error> parse(const std::string& body) {
  auto parsed = kiln::parse_job_request(body, kiln::catalog::builtin(), default_seed);
  if (!parsed) return kiln::to_api_error(parsed.error());
  return std::move(*parsed);
}

job_spec parse_ok(const std::string& body) {
  auto result = parse(body);
  if (auto* error = std::get_if<api_error>(&result))
    FAIL("expected a valid request, got field '" << error->field << "': " << error->message);
  return std::get<job_spec>(result);
}

api_error parse_error(const std::string& body) {
  auto result = parse(body);
  if (std::holds_alternative<job_spec>(result)) FAIL("expected an error for " << body);
  return std::get<api_error>(result);
}

/// Asserts that `body` is rejected as invalid_request naming `field`.
void check_rejects(const std::string& body, const std::string& field) {
  INFO("body: " << body.substr(0, 200));
  auto error = parse_error(body);
  CHECK(error.code == error_code::invalid_request);
  CHECK(error.field == field);
  CHECK_FALSE(error.message.empty());
}

std::string image(const std::string& extra) {
  return R"({"type":"image","model":"flux2-turbo","prompt":"a cat")" + extra + "}";
}

std::string video(const std::string& extra) {
  return R"({"type":"video","model":"seedance","prompt":"waves")" + extra + "}";
}

std::string repeat(const std::string& unit, std::size_t count) {
  std::string out;
  for (std::size_t i = 0; i < count; ++i) out += unit;
  return out;
}

std::string metadata_with_keys(std::size_t count) {
  std::string out = R"(,"metadata":{)";
  for (std::size_t i = 0; i < count; ++i)
    out += (i ? "," : "") + std::string("\"k") + std::to_string(i) + "\":\"v\"";
  return out + "}";
}

}  // namespace

TEST_CASE("an image request yields its spec with price times n as cost", "[models]") {
  auto spec = parse_ok(image(R"(,"n":3)"));
  CHECK(spec.type == "image");
  CHECK(spec.model == "flux2-turbo");
  CHECK(spec.prompt == "a cat");
  CHECK(spec.n == 3);
  CHECK(spec.cost == 3);
}

TEST_CASE("an image request without params gets 512x512, n 1 and the default seed", "[models]") {
  auto spec = parse_ok(image(""));
  CHECK(spec.n == 1);
  CHECK(spec.params.width == 512);
  CHECK(spec.params.height == 512);
  CHECK(spec.params.seed == default_seed);
  CHECK(spec.cost == 1);
  CHECK(spec.webhook_url.empty());
  CHECK(spec.metadata.empty());
}

TEST_CASE("a given seed, size, webhook and metadata are kept as sent", "[models]") {
  auto spec = parse_ok(
    R"({"model":"seedream","type":"image","prompt":"p","n":2,"params":{"seed":42,"width":1024,)"
    R"("height":768},"webhook_url":"https://example.com/hook?x=1","metadata":{"z":"1","a":"2"}})");
  CHECK(spec.params.seed == 42);
  CHECK(spec.params.width == 1024);
  CHECK(spec.params.height == 768);
  CHECK(spec.webhook_url == "https://example.com/hook?x=1");
  CHECK(spec.metadata == R"({"z":"1","a":"2"})");  // the client's order
  CHECK(spec.cost == 6);                           // seedream: 3 per asset x 2
}

TEST_CASE("a video request costs price x seconds and defaults to 5 seconds", "[models]") {
  auto ten = parse_ok(video(R"(,"params":{"duration_seconds":10})"));
  CHECK(ten.params.duration_seconds == 10);
  CHECK(ten.cost == 300);
  auto plain = parse_ok(video(""));
  CHECK(plain.params.duration_seconds == 5);
  CHECK(plain.cost == 150);
  CHECK(plain.params.seed == default_seed);
  auto fifteen_twice = parse_ok(video(R"(,"n":2,"params":{"duration_seconds":15,"seed":9})"));
  CHECK(fifteen_twice.cost == 900);
  CHECK(fifteen_twice.params.seed == 9);
}

TEST_CASE("a body that is not a JSON object is invalid_json", "[models]") {
  for (std::string body : {"", "not json", "{\"type\":", "[1,2]", "42", "\"text\"", "null"}) {
    INFO("body: " << body);
    auto error = parse_error(body);
    CHECK(error.code == error_code::invalid_json);
  }
}

TEST_CASE("each malformed or missing field is named in the error", "[models]") {
  check_rejects(R"({"model":"flux2-turbo","prompt":"a"})", "type");
  check_rejects(R"({"type":"audio","model":"flux2-turbo","prompt":"a"})", "type");
  check_rejects(R"({"type":7,"model":"flux2-turbo","prompt":"a"})", "type");
  check_rejects(R"({"type":"video","model":"flux2-turbo","prompt":"a"})", "type");
  check_rejects(R"({"type":"image","prompt":"a"})", "model");
  check_rejects(R"({"type":"image","model":"no-such-model","prompt":"a"})", "model");
  check_rejects(R"({"type":"image","model":"flux2-turbo"})", "prompt");
  check_rejects(R"({"type":"image","model":"flux2-turbo","prompt":""})", "prompt");
  check_rejects(R"({"type":"image","model":"flux2-turbo","prompt":["a"]})", "prompt");
  check_rejects(image(R"(,"n":0)"), "n");
  check_rejects(image(R"(,"n":"2")"), "n");
  check_rejects(image(R"(,"n":1.5)"), "n");
  check_rejects(image(R"(,"n":-1)"), "n");
  check_rejects(image(R"(,"metadata":["a"])"), "metadata");
  check_rejects(image(R"(,"metadata":"a")"), "metadata");
  check_rejects(image(R"(,"metadata":null)"), "metadata");
  check_rejects(image(R"(,"params":{"width":500})"), "params.width");
  check_rejects(image(R"(,"params":{"width":0})"), "params.width");
  check_rejects(image(R"(,"params":{"width":"512"})"), "params.width");
  check_rejects(image(R"(,"params":{"height":100})"), "params.height");
  check_rejects(image(R"(,"params":{"height":-32})"), "params.height");
  check_rejects(image(R"(,"params":{"duration_seconds":5})"), "params.duration_seconds");
  check_rejects(video(R"(,"params":{"duration_seconds":7})"), "params.duration_seconds");
  check_rejects(video(R"(,"params":{"duration_seconds":0})"), "params.duration_seconds");
  check_rejects(video(R"(,"params":{"duration_seconds":"10"})"), "params.duration_seconds");
  check_rejects(video(R"(,"params":{"width":512})"), "params.width");
  check_rejects(image(R"(,"params":{"seed":-1})"), "params.seed");
  check_rejects(image(R"(,"params":{"seed":"7"})"), "params.seed");
  check_rejects(image(R"(,"params":{"seed":9223372036854775808})"), "params.seed");
  check_rejects(image(R"(,"params":{"foo":1})"), "params.foo");
  check_rejects(image(R"(,"webhook_url":"ftp://example.com/x")"), "webhook_url");
  check_rejects(image(R"(,"webhook_url":"not a url")"), "webhook_url");
  check_rejects(image(R"(,"webhook_url":"http://")"), "webhook_url");
  check_rejects(image(R"(,"webhook_url":5)"), "webhook_url");
  check_rejects(image(R"(,"colour":"red")"), "colour");
}

TEST_CASE("params must be an object", "[models]") {
  check_rejects(image(R"(,"params":[1])"), "params");
}

TEST_CASE("the largest seed below 2^63 is accepted", "[models]") {
  CHECK(parse_ok(image(R"(,"params":{"seed":9223372036854775807})")).params.seed ==
        9223372036854775807ull);
}

TEST_CASE("prompt length is counted in characters, 4000 allowed and 4001 refused", "[models]") {
  const std::string two_byte = "\xC3\xA9";  // é: 2 bytes, 1 character
  auto with_prompt = [](const std::string& prompt) {
    return R"({"type":"image","model":"flux2-turbo","prompt":")" + prompt + "\"}";
  };
  auto spec = parse_ok(with_prompt(repeat(two_byte, 4000)));
  CHECK(spec.prompt.size() == 8000);
  check_rejects(with_prompt(repeat(two_byte, 4001)), "prompt");
}

TEST_CASE("metadata allows 16 keys and refuses 17", "[models]") {
  CHECK(parse_ok(image(metadata_with_keys(16))).metadata.find(R"("k15":"v")") != std::string::npos);
  check_rejects(image(metadata_with_keys(17)), "metadata");
}

TEST_CASE("metadata values are any JSON, kept minified as the same value", "[models]") {
  auto spec = parse_ok(image(
    R"(,"metadata":{ "s" : "x", "i": 42, "f": 1.5, "neg": -3, "t": true, "no": false, "z": null,)"
    R"( "a": [1, "two", [3]], "o": {"k": {"v": "café"}} })"));
  CHECK(spec.metadata == R"({"s":"x","i":42,"f":1.5,"neg":-3,"t":true,"no":false,"z":null,)"
                         R"("a":[1,"two",[3]],"o":{"k":{"v":"café"}}})");
}

TEST_CASE("an empty metadata object is kept as none", "[models]") {
  CHECK(parse_ok(image(R"(,"metadata":{})")).metadata.empty());
}

TEST_CASE("metadata keys allow 40 characters and refuse 41 or none", "[models]") {
  const std::string two_byte = "\xC3\xA9";
  auto key40 = repeat(two_byte, 40);
  CHECK(!parse_ok(image(R"(,"metadata":{")" + key40 + R"(":1})")).metadata.empty());
  check_rejects(image(R"(,"metadata":{")" + repeat("k", 41) + R"(":1})"),
                "metadata." + repeat("k", 41));
  check_rejects(image(R"(,"metadata":{"":1})"), "metadata.");
  check_rejects(image(R"(,"metadata":{"a":1,"a":2})"), "metadata.a");
  check_rejects(image(R"(,"metadata":{"a":[{"k":1,"k":2}]})"), "metadata.a");  // nested too
}

TEST_CASE("metadata nests 4 levels deep, the metadata object being the first", "[models]") {
  CHECK(!parse_ok(image(R"(,"metadata":{"a":{"b":{"c":[1]}}})")).metadata.empty());
  CHECK(!parse_ok(image(R"(,"metadata":{"a":[[[]]]})")).metadata.empty());
  check_rejects(image(R"(,"metadata":{"a":{"b":{"c":[[1]]}}})"), "metadata.a");
  check_rejects(image(R"(,"metadata":{"ok":1,"a":[[[{}]]]})"), "metadata.a");
}

TEST_CASE("metadata allows 4 KiB serialized and refuses more", "[models]") {
  // {"k":"..."} is 8 bytes around the value.
  CHECK(parse_ok(image(R"(,"metadata":{"k":")" + repeat("x", 4096 - 8) + "\"}")).metadata.size() ==
        4096);
  check_rejects(image(R"(,"metadata":{"k":")" + repeat("x", 4096 - 7) + "\"}"), "metadata");
  // Whitespace around the values does not count: the size is the minified JSON's.
  CHECK(parse_ok(image(R"(,"metadata":{"k":   ")" + repeat("x", 4096 - 8) + "\"   }"))
          .metadata.size() == 4096);
}

TEST_CASE("n allows 4 and refuses 5", "[models]") {
  CHECK(parse_ok(image(R"(,"n":4)")).cost == 4);
  check_rejects(image(R"(,"n":5)"), "n");
}

TEST_CASE("image sides allow 4096 and refuse 4128", "[models]") {
  auto wide = parse_ok(image(R"(,"params":{"width":4096,"height":1024})"));
  CHECK(wide.params.width == 4096);
  check_rejects(image(R"(,"params":{"width":4128,"height":32})"), "params.width");
  check_rejects(image(R"(,"params":{"width":32,"height":4128})"), "params.height");
}

TEST_CASE("image area allows 4 MP and refuses one row of 32 more", "[models]") {
  auto square = parse_ok(image(R"(,"params":{"width":2048,"height":2048})"));
  CHECK(square.params.width * square.params.height == 4194304u);
  auto error = parse_error(image(R"(,"params":{"width":2048,"height":2080})"));
  CHECK(error.code == error_code::invalid_request);
  CHECK((error.field == "params.width" || error.field == "params.height"));
}

TEST_CASE("webhook_url allows 2048 bytes and refuses 2049", "[models]") {
  std::string base = "https://example.com/";
  std::string at_limit = base + repeat("a", 2048 - base.size());
  CHECK(parse_ok(image(R"(,"webhook_url":")" + at_limit + "\"")).webhook_url == at_limit);
  check_rejects(image(R"(,"webhook_url":")" + at_limit + "a\""), "webhook_url");
}

TEST_CASE("is_valid_webhook_url accepts absolute http(s) URLs with a host", "[models]") {
  CHECK(kiln::is_valid_webhook_url("https://example.com/hook"));
  CHECK(kiln::is_valid_webhook_url("http://127.0.0.1:8080/x?y=1#z"));
  CHECK(kiln::is_valid_webhook_url("https://example.com"));
  CHECK(kiln::is_valid_webhook_url("http://[::1]:9000/cb"));
}

TEST_CASE("is_valid_webhook_url refuses other schemes, missing hosts and bad characters",
          "[models]") {
  CHECK_FALSE(kiln::is_valid_webhook_url(""));
  CHECK_FALSE(kiln::is_valid_webhook_url("example.com/hook"));
  CHECK_FALSE(kiln::is_valid_webhook_url("ftp://example.com/hook"));
  CHECK_FALSE(kiln::is_valid_webhook_url("http://"));
  CHECK_FALSE(kiln::is_valid_webhook_url("https:///path"));
  CHECK_FALSE(kiln::is_valid_webhook_url("http://:8080/x"));
  CHECK_FALSE(kiln::is_valid_webhook_url("http://user:pw@example.com/"));
  CHECK_FALSE(kiln::is_valid_webhook_url("http://exa mple.com/"));
  CHECK_FALSE(kiln::is_valid_webhook_url("http://example.com/\nx"));
  CHECK_FALSE(kiln::is_valid_webhook_url("http://example.com/<x>"));
}

TEST_CASE("utf8_length counts code points, not bytes", "[models]") {
  CHECK(kiln::utf8_length("") == 0);
  CHECK(kiln::utf8_length("abc") == 3);
  CHECK(kiln::utf8_length("\xC3\xA9") == 1);          // é, 2 bytes
  CHECK(kiln::utf8_length("\xE2\x82\xAC") == 1);      // €, 3 bytes
  CHECK(kiln::utf8_length("\xF0\x9F\x98\x80") == 1);  // 😀, 4 bytes
  CHECK(kiln::utf8_length("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80") == 4);
}

TEST_CASE("Options are checked against the model, defaults filled in, and priced",
          "[models][options]") {
  auto plain = parse_ok(image(""));
  CHECK(plain.options == R"({"output_format":"png"})");
  auto webp = parse_ok(image(R"(,"options":{"output_format":"webp"})"));
  CHECK(webp.options == R"({"output_format":"webp"})");

  auto detailed = parse_ok(
    R"({"type":"image","model":"qwen-image","prompt":"p","n":2,"options":{"high_detail":true}})");
  CHECK(detailed.options == R"({"output_format":"webp","high_detail":true})");
  CHECK(detailed.cost == 12);  // 2 x 4 = 8, +50%

  check_rejects(image(R"(,"options":{"output_format":"bmp"})"), "options.output_format");
  check_rejects(image(R"(,"options":{"output_format":1})"), "options.output_format");
  check_rejects(image(R"(,"options":{"high_detail":true})"), "options.high_detail");  // qwen's
  check_rejects(image(R"(,"options":[])"), "options");
  check_rejects(R"({"type":"audio","model":"merca-music","prompt":"p","options":{"bpm":201}})",
                "options.bpm");
  check_rejects(R"({"type":"audio","model":"merca-music","prompt":"p","options":{"bpm":"fast"}})",
                "options.bpm");
  check_rejects(
    R"({"type":"audio","model":"ace-step","prompt":"p","options":{"instrumental":"yes"}})",
    "options.instrumental");
}

TEST_CASE("Audio jobs: speech priced by its text, music by its seconds within the range",
          "[models][options]") {
  auto speech = parse_ok(R"({"type":"audio","model":"gemini-tts","prompt":")" +
                         std::string(2500, 'a') + R"("})");
  CHECK(speech.cost == 12);  // 3 started thousands x 4
  CHECK(speech.params.duration_seconds == 0);
  CHECK(parse_ok(R"({"type":"audio","model":"gemini-tts","prompt":"hi"})").cost == 4);
  // gemini-tts takes 6000 characters; other models keep 4000.
  parse_ok(R"({"type":"audio","model":"gemini-tts","prompt":")" + std::string(6000, 'a') + R"("})");
  check_rejects(
    R"({"type":"audio","model":"gemini-tts","prompt":")" + std::string(6001, 'a') + R"("})",
    "prompt");
  check_rejects(image(",\"n\":1").replace(image("").find("a cat"), 5, std::string(4001, 'a')),
                "prompt");
  check_rejects(
    R"({"type":"audio","model":"gemini-tts","prompt":"x","params":{"duration_seconds":5}})",
    "params.duration_seconds");

  auto song = parse_ok(
    R"({"type":"audio","model":"ace-step","prompt":"lofi","params":{"duration_seconds":45}})");
  CHECK(song.params.duration_seconds == 45);
  CHECK(song.cost == 45);
  CHECK(parse_ok(R"({"type":"audio","model":"ace-step","prompt":"lofi"})").cost == 60);
  CHECK(
    parse_ok(
      R"({"type":"audio","model":"moss-sound-effect","prompt":"door","params":{"duration_seconds":2}})")
      .cost == 2);
  check_rejects(
    R"({"type":"audio","model":"ace-step","prompt":"p","params":{"duration_seconds":241}})",
    "params.duration_seconds");
  check_rejects(R"({"type":"video","model":"gemini-tts","prompt":"p"})", "type");
  check_rejects(R"({"type":"audio","model":"ace-step","prompt":"p","params":{"width":64}})",
                "params.width");
  CHECK(parse_ok(R"({"type":"image","model":"flux","prompt":"p"})").model == "flux2-turbo");
}
