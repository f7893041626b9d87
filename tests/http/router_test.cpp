// Unit tests for routing (404 vs 405 with Allow, path parameters, trailing slashes), query-string
// decoding, and signed file URLs that refuse any tampering or expiry.
#include <catch2/catch.hpp>

#include "config/limits.hpp"
#include "http/render.hpp"
#include "http/router.hpp"

#include <string>

using kiln::http::parse_query;
using kiln::http::percent_decode;
using table = kiln::http::router<int>;
using outcome = table::outcome;

namespace {

table make_table() {
  table r;
  r.add("GET", "/v1/jobs", 1);
  r.add("POST", "/v1/jobs", 2, true);
  r.add("GET", "/v1/jobs/{id}", 3);
  r.add("POST", "/v1/jobs/{id}/cancel", 4, true);
  r.add("DELETE", "/v1/keys/{id}", 5);
  r.add("GET", "/admin/v1/accounts/{account}/keys/{key}", 6);
  return r;
}

using pairs = std::vector<std::pair<std::string, std::string>>;

/// The parts of "/v1/files/NAME?expires=E&signature=S".
struct signed_parts {
  std::string file, expires, signature;
};

signed_parts split_signed(const std::string& path) {
  const std::string prefix = "/v1/files/";
  REQUIRE(path.rfind(prefix, 0) == 0);
  auto question = path.find('?');
  REQUIRE(question != std::string::npos);
  signed_parts parts;
  parts.file = path.substr(prefix.size(), question - prefix.size());
  for (const auto& [key, value] : parse_query(path.substr(question + 1))) {
    if (key == "expires") parts.expires = value;
    if (key == "signature") parts.signature = value;
  }
  return parts;
}

const std::string signing_key = std::string("\x01\x02secret-key\xff", 13);
constexpr std::int64_t now_ms = 1700000000123;

}  // namespace

TEST_CASE("an exact path and method finds its handler", "[http]") {
  auto r = make_table();
  auto list = r.match("GET", "/v1/jobs");
  REQUIRE(list.kind == outcome::found);
  CHECK(list.found->handler == 1);
  CHECK(list.params.empty());
  CHECK_FALSE(list.found->takes_body);
  auto create = r.match("POST", "/v1/jobs");
  REQUIRE(create.kind == outcome::found);
  CHECK(create.found->handler == 2);
  CHECK(create.found->takes_body);
}

TEST_CASE("{id} segments are captured in order", "[http]") {
  auto r = make_table();
  auto get = r.match("GET", "/v1/jobs/job_01ABC");
  REQUIRE(get.kind == outcome::found);
  CHECK(get.found->handler == 3);
  CHECK(get.params == std::vector<std::string>{"job_01ABC"});
  auto cancel = r.match("POST", "/v1/jobs/job_9/cancel");
  REQUIRE(cancel.kind == outcome::found);
  CHECK(cancel.found->handler == 4);
  CHECK(cancel.params == std::vector<std::string>{"job_9"});
  auto two = r.match("GET", "/admin/v1/accounts/acct_1/keys/key_2");
  REQUIRE(two.kind == outcome::found);
  CHECK(two.params == std::vector<std::string>{"acct_1", "key_2"});
}

TEST_CASE("an unknown path is not_found whatever the method", "[http]") {
  auto r = make_table();
  CHECK(r.match("GET", "/v1/nothing").kind == outcome::not_found);
  CHECK(r.match("GET", "/v1/jobs/a/b").kind == outcome::not_found);
  CHECK(r.match("POST", "/v1/jobs/a/cancel/now").kind == outcome::not_found);
  CHECK(r.match("GET", "/").kind == outcome::not_found);
  CHECK(r.match("GET", "").kind == outcome::not_found);
  CHECK(r.match("GET", "/V1/JOBS").kind == outcome::not_found);
  CHECK(r.match("DELETE", "/v1/keys").kind == outcome::not_found);
}

TEST_CASE("a known path with the wrong method is 405 listing the allowed methods", "[http]") {
  auto r = make_table();
  auto jobs = r.match("DELETE", "/v1/jobs");
  CHECK(jobs.kind == outcome::method_not_allowed);
  CHECK(jobs.found == nullptr);
  CHECK(jobs.allow == "GET, HEAD, POST");
  auto cancel = r.match("GET", "/v1/jobs/job_1/cancel");
  CHECK(cancel.kind == outcome::method_not_allowed);
  CHECK(cancel.allow == "POST");
  auto key = r.match("GET", "/v1/keys/key_1");
  CHECK(key.kind == outcome::method_not_allowed);
  CHECK(key.allow == "DELETE");
}

TEST_CASE("HEAD finds the GET route, and only where GET is routed", "[http]") {
  auto r = make_table();
  auto job = r.match("HEAD", "/v1/jobs/job_1");
  REQUIRE(job.kind == outcome::found);
  CHECK(job.found->handler == 3);
  CHECK(job.params == std::vector<std::string>{"job_1"});
  auto cancel = r.match("HEAD", "/v1/jobs/job_1/cancel");
  CHECK(cancel.kind == outcome::method_not_allowed);
  CHECK(cancel.allow == "POST");
  CHECK(r.match("HEAD", "/v1/nothing").kind == outcome::not_found);
}

TEST_CASE("methods are matched case-sensitively", "[http]") {
  auto r = make_table();
  CHECK(r.match("get", "/v1/jobs").kind == outcome::method_not_allowed);
}

TEST_CASE("a trailing slash or doubled slash matches the same route as without", "[http]") {
  // Documented behaviour: empty segments are ignored, so "/v1/jobs/" is "/v1/jobs".
  auto r = make_table();
  auto slash = r.match("GET", "/v1/jobs/");
  REQUIRE(slash.kind == outcome::found);
  CHECK(slash.found->handler == 1);
  auto id = r.match("GET", "/v1/jobs/job_1/");
  REQUIRE(id.kind == outcome::found);
  CHECK(id.found->handler == 3);
  CHECK(id.params == std::vector<std::string>{"job_1"});
  auto doubled = r.match("GET", "//v1//jobs");
  REQUIRE(doubled.kind == outcome::found);
  CHECK(doubled.found->handler == 1);
}

TEST_CASE("parse_query splits pairs and percent-decodes names and values", "[http]") {
  CHECK(parse_query("limit=10&status=queued") == pairs{{"limit", "10"}, {"status", "queued"}});
  CHECK(parse_query("q=a%20b+c") == pairs{{"q", "a b c"}});
  CHECK(parse_query("cursor=%2Fx%3D%3d&na%6De=v") == pairs{{"cursor", "/x=="}, {"name", "v"}});
  CHECK(parse_query("plus=%2B") == pairs{{"plus", "+"}});
  CHECK(parse_query("a=%41") == pairs{{"a", "A"}});
  CHECK(parse_query("e=%C3%A9") == pairs{{"e", "\xC3\xA9"}});
}

TEST_CASE("parse_query keeps bare names and empty values and skips empty parts", "[http]") {
  CHECK(parse_query("").empty());
  CHECK(parse_query("&&").empty());
  CHECK(parse_query("flag") == pairs{{"flag", ""}});
  CHECK(parse_query("a=1&&b=2&") == pairs{{"a", "1"}, {"b", "2"}});
  CHECK(parse_query("a=") == pairs{{"a", ""}});
  CHECK(parse_query("a=b=c") == pairs{{"a", "b=c"}});
}

TEST_CASE("malformed percent escapes are kept literally", "[http]") {
  CHECK(percent_decode("%zz") == "%zz");
  CHECK(percent_decode("100%") == "100%");
  CHECK(percent_decode("%4") == "%4");
  CHECK(percent_decode("x%4g") == "x%4g");
}

TEST_CASE("a signed file path verifies with its own parts until it expires", "[http]") {
  auto parts = split_signed(kiln::signed_file_path("job_1-0.png", signing_key, now_ms));
  CHECK(parts.file == "job_1-0.png");
  CHECK(parts.expires == std::to_string(now_ms / 1000 + kiln::limits::file_url_ttl.count()));
  CHECK_FALSE(parts.signature.empty());
  CHECK(
    kiln::verify_file_signature(parts.file, parts.expires, parts.signature, signing_key, now_ms));
  const std::int64_t expires_ms = std::stoll(parts.expires) * 1000;
  CHECK(kiln::verify_file_signature(parts.file, parts.expires, parts.signature, signing_key,
                                    expires_ms));
}

TEST_CASE("a signed file path is refused after any change or once expired", "[http]") {
  auto parts = split_signed(kiln::signed_file_path("job_1-0.png", signing_key, now_ms));
  using kiln::verify_file_signature;
  SECTION("another file name") {
    CHECK_FALSE(
      verify_file_signature("job_1-1.png", parts.expires, parts.signature, signing_key, now_ms));
    CHECK_FALSE(
      verify_file_signature("job_2-0.png", parts.expires, parts.signature, signing_key, now_ms));
  }
  SECTION("a later expiry") {
    auto later = std::to_string(std::stoll(parts.expires) + 3600);
    CHECK_FALSE(verify_file_signature(parts.file, later, parts.signature, signing_key, now_ms));
  }
  SECTION("an expiry that is not a number") {
    CHECK_FALSE(
      verify_file_signature(parts.file, parts.expires + "x", parts.signature, signing_key, now_ms));
    CHECK_FALSE(verify_file_signature(parts.file, "", parts.signature, signing_key, now_ms));
  }
  SECTION("a changed signature") {
    auto changed = parts.signature;
    changed[0] = changed[0] == '0' ? '1' : '0';
    CHECK_FALSE(verify_file_signature(parts.file, parts.expires, changed, signing_key, now_ms));
    CHECK_FALSE(verify_file_signature(parts.file, parts.expires, "", signing_key, now_ms));
    CHECK_FALSE(verify_file_signature(parts.file, parts.expires, parts.signature.substr(1),
                                      signing_key, now_ms));
  }
  SECTION("another signing key") {
    CHECK_FALSE(
      verify_file_signature(parts.file, parts.expires, parts.signature, "other-key", now_ms));
  }
  SECTION("a time past the expiry") {
    const std::int64_t expires_ms = std::stoll(parts.expires) * 1000;
    CHECK_FALSE(verify_file_signature(parts.file, parts.expires, parts.signature, signing_key,
                                      expires_ms + 1000));
    CHECK_FALSE(verify_file_signature(parts.file, parts.expires, parts.signature, signing_key,
                                      expires_ms + 86400000));
  }
}
