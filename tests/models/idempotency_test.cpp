// Unit tests for request fingerprints: the JSON value counts, not its spelling.
#include <catch2/catch.hpp>

#include "models/idempotency.hpp"

#include <string>

using kiln::canonical_json;
using kiln::request_fingerprint;

TEST_CASE("canonical JSON sorts keys at every depth and drops white space", "[models]") {
  CHECK(canonical_json(R"( { "b" : [ 1 , {"z":true,"a":null} ], "a":"x" } )") ==
        R"({"a":"x","b":[1,{"a":null,"z":true}]})");
  CHECK(canonical_json(R"({"s":"caf\u00e9 \"q\" \n"})") == "{\"s\":\"caf\xC3\xA9 \\\"q\\\" \\n\"}");
  CHECK(canonical_json(R"({"s":"café"})") == canonical_json(R"({"s":"caf\u00e9"})"));
  CHECK(canonical_json("[1.50, 2.0, -0.25, 1e3, 18446744073709551615, -9223372036854775808]") ==
        "[1.5,2,-0.25,1000,18446744073709551615,-9223372036854775808]");
  CHECK_FALSE(canonical_json("{\"a\":"));
  CHECK_FALSE(canonical_json("not json"));
}

TEST_CASE("request fingerprints depend on method path and JSON value only", "[models]") {
  auto base = request_fingerprint("POST", "/v1/jobs", R"({"a":1,"b":"two"})");
  CHECK(base.size() == 64);
  CHECK(request_fingerprint("POST", "/v1/jobs", "{\"b\": \"two\",\n \"a\": 1}") == base);
  CHECK(request_fingerprint("POST", "/v1/jobs", R"({"a":1,"b":"two2"})") != base);
  CHECK(request_fingerprint("POST", "/v1/jobs", R"({"a":1})") != base);
  CHECK(request_fingerprint("PUT", "/v1/jobs", R"({"a":1,"b":"two"})") != base);
  CHECK(request_fingerprint("POST", "/v1/jobz", R"({"a":1,"b":"two"})") != base);
  // A body that is not JSON is compared as bytes.
  CHECK(request_fingerprint("POST", "/x", "abc") == request_fingerprint("POST", "/x", "abc"));
  CHECK(request_fingerprint("POST", "/x", "abc") != request_fingerprint("POST", "/x", "abd"));
}

TEST_CASE("idempotency keys are 1 to 255 printable ASCII characters", "[models]") {
  CHECK(kiln::valid_idempotency_key("a"));
  CHECK(kiln::valid_idempotency_key(std::string(255, '~')));
  CHECK(kiln::valid_idempotency_key("with space and /slash"));
  CHECK_FALSE(kiln::valid_idempotency_key(""));
  CHECK_FALSE(kiln::valid_idempotency_key(std::string(256, 'a')));
  CHECK_FALSE(kiln::valid_idempotency_key("tab\t"));
  CHECK_FALSE(kiln::valid_idempotency_key("caf\xC3\xA9"));
  CHECK_FALSE(kiln::valid_idempotency_key(std::string("nul\0", 4)));
}
