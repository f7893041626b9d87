// Unit tests for the JSON writer: escaping, comma placement in nested structures, output that a
// real parser accepts and reads back, and the RFC 3339 time format.
#include <catch2/catch.hpp>

#include "models/json_writer.hpp"

#include <simdjson.h>

#include <cstdint>
#include <limits>
#include <string>

using kiln::json_writer;

namespace {

std::string single_string(std::string_view text) {
  json_writer w;
  w.value(text);
  return w.take();
}

/// Parses `json` (which must be an array of one string) and returns that string.
std::string read_back_string(const std::string& json) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  REQUIRE(parser.parse(json).get(root) == simdjson::SUCCESS);
  std::string_view text;
  REQUIRE(root.at(0).get_string().get(text) == simdjson::SUCCESS);
  return std::string(text);
}

}  // namespace

TEST_CASE("quotes and backslashes are escaped", "[models]") {
  CHECK(single_string(R"(say "hi")") == R"("say \"hi\"")");
  CHECK(single_string(R"(C:\path)") == R"("C:\\path")");
}

TEST_CASE("control characters are escaped, short forms where JSON has them", "[models]") {
  CHECK(single_string("a\x01z") == R"("a\u0001z")");
  CHECK(single_string(std::string("\0", 1)) == R"("\u0000")");
  CHECK(single_string("\x1f") == R"("\u001f")");
  CHECK(single_string("\n\r\t\b\f") == R"("\n\r\t\b\f")");
}

TEST_CASE("non-ASCII UTF-8 passes through unchanged", "[models]") {
  const std::string text = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80";
  CHECK(single_string(text) == "\"" + text + "\"");
}

// Regression (issue "Durability and the contract's loose ends", finding 1): a request target's raw
// bytes were echoed into JSON answers and logs as they were.
TEST_CASE("bytes that are not valid UTF-8 become U+FFFD, so the output always parses", "[models]") {
  const std::string fffd = "\xEF\xBF\xBD";
  CHECK(single_string("/v1/\xff\xfe") == "\"/v1/" + fffd + fffd + "\"");
  CHECK(single_string("a\x80"
                      "b") == "\"a" + fffd + "b\"");                           // stray continuation
  CHECK(single_string("\xC0\xAF") == "\"" + fffd + fffd + "\"");               // overlong '/'
  CHECK(single_string("\xED\xA0\x80") == "\"" + fffd + fffd + fffd + "\"");    // a surrogate
  CHECK(single_string("\xF4\x90\x80\x80").find("\xF4") == std::string::npos);  // > U+10FFFF
  CHECK(single_string("cut \xE2\x82") == "\"cut " + fffd + fffd + "\"");       // cut short
  for (std::string text : {std::string("\xff"), std::string("x\xC3"), std::string("\xE0\x80\x80"),
                           std::string("\xF0\x80\x80\x80"), std::string("\xF8\x88\x80\x80\x80")}) {
    json_writer w;
    w.begin_array().value(text).end_array();
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    INFO("bytes " << text.size());
    CHECK(parser.parse(w.str()).get(root) == simdjson::SUCCESS);
  }
}

TEST_CASE("keys are escaped like values", "[models]") {
  json_writer w;
  w.begin_object().field("a\"b", 1).end_object();
  CHECK(w.str() == R"({"a\"b":1})");
}

TEST_CASE("every string survives a write and a parse unchanged", "[models]") {
  std::string all_controls;
  for (int c = 0; c < 0x20; ++c) all_controls.push_back(static_cast<char>(c));
  for (std::string text : {std::string("plain"), std::string("\"\\/"), all_controls,
                           std::string("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"), std::string()}) {
    json_writer w;
    w.begin_array().value(text).end_array();
    CHECK(read_back_string(w.str()) == text);
  }
}

TEST_CASE("commas separate members and elements at every nesting level", "[models]") {
  json_writer w;
  w.begin_object()
    .field("a", 1)
    .key("b")
    .begin_array()
    .value(1)
    .value(2)
    .begin_object()
    .end_object()
    .begin_array()
    .end_array()
    .end_array()
    .key("c")
    .begin_object()
    .key("d")
    .null()
    .field("e", true)
    .end_object()
    .field("f", "x")
    .end_object();
  CHECK(w.str() == R"({"a":1,"b":[1,2,{},[]],"c":{"d":null,"e":true},"f":"x"})");
}

TEST_CASE("arrays of objects get commas between the objects", "[models]") {
  json_writer w;
  w.begin_array();
  for (int i = 0; i < 3; ++i) w.begin_object().field("i", i).end_object();
  w.end_array();
  CHECK(w.str() == R"([{"i":0},{"i":1},{"i":2}])");
}

TEST_CASE("raw JSON is inserted as one value with commas around it", "[models]") {
  json_writer w;
  w.begin_object().field("a", 1).key("job").raw(R"({"id":"x"})").field("b", 2).end_object();
  CHECK(w.str() == R"({"a":1,"job":{"id":"x"},"b":2})");
}

TEST_CASE("numbers and booleans are written exactly and parse back", "[models]") {
  json_writer w;
  w.begin_object()
    .field("min", std::numeric_limits<std::int64_t>::min())
    .field("max", std::numeric_limits<std::uint64_t>::max())
    .field("neg", -42)
    .field("small", std::uint32_t{7})
    .field("ratio", 0.5)
    .field("yes", true)
    .field("no", false)
    .end_object();
  CHECK(w.str() == R"({"min":-9223372036854775808,"max":18446744073709551615,"neg":-42,)"
                   R"("small":7,"ratio":0.5,"yes":true,"no":false})");
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  REQUIRE(parser.parse(w.str()).get(root) == simdjson::SUCCESS);
  std::int64_t min = 0;
  std::uint64_t max = 0;
  double ratio = 0;
  CHECK(root["min"].get_int64().get(min) == simdjson::SUCCESS);
  CHECK(min == std::numeric_limits<std::int64_t>::min());
  CHECK(root["max"].get_uint64().get(max) == simdjson::SUCCESS);
  CHECK(max == std::numeric_limits<std::uint64_t>::max());
  CHECK(root["ratio"].get_double().get(ratio) == simdjson::SUCCESS);
  CHECK(ratio == 0.5);
}

TEST_CASE("a realistic nested document parses with simdjson", "[models]") {
  json_writer w;
  w.begin_object().field("id", "job_1").field("prompt", "line1\nline2 \"quoted\" \x02");
  w.key("metadata").begin_object().field("k1", "v1").field("k2", "v2").end_object();
  w.key("output").begin_array();
  for (int i = 0; i < 2; ++i)
    w.begin_object().field("url", "/v1/files/x").field("bytes", std::uint64_t{10}).end_object();
  w.end_array().key("error").null().end_object();
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  REQUIRE(parser.parse(w.str()).get(root) == simdjson::SUCCESS);
  std::string_view prompt;
  REQUIRE(root["prompt"].get_string().get(prompt) == simdjson::SUCCESS);
  CHECK(prompt == "line1\nline2 \"quoted\" \x02");
  simdjson::dom::array output;
  REQUIRE(root["output"].get_array().get(output) == simdjson::SUCCESS);
  CHECK(output.size() == 2);
  CHECK(root["error"].is_null());
}

TEST_CASE("format_time_ms writes RFC 3339 UTC with milliseconds", "[models]") {
  CHECK(kiln::format_time_ms(0) == "1970-01-01T00:00:00.000Z");
  CHECK(kiln::format_time_ms(1614265330000) == "2021-02-25T15:02:10.000Z");
  CHECK(kiln::format_time_ms(1614265330123) == "2021-02-25T15:02:10.123Z");
  CHECK(kiln::format_time_ms(1614265330007) == "2021-02-25T15:02:10.007Z");
  CHECK(kiln::format_time_ms(951782400000) == "2000-02-29T00:00:00.000Z");
  CHECK(kiln::format_time_ms(1735689599999) == "2024-12-31T23:59:59.999Z");
}
