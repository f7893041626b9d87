// Every way the contract says a job body can be wrong, and the HTTP-level refusals.
#include "tests/support/e2e.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace kiln::test;

namespace {

std::string repeat(const std::string& unit, std::size_t times) {
  std::string out;
  for (std::size_t i = 0; i < times; ++i) out += unit;
  return out;
}

/// An image body on flux2-turbo with `extra` members added.
std::string image(const std::string& extra = {}) {
  return R"({"type":"image","model":"flux2-turbo","prompt":"p")" +
         (extra.empty() ? "" : "," + extra) + "}";
}

std::string video(const std::string& extra = {}) {
  return R"({"type":"video","model":"seedance","prompt":"p")" + (extra.empty() ? "" : "," + extra) +
         "}";
}

std::string metadata_with(std::size_t keys) {
  std::string out = R"("metadata":{)";
  for (std::size_t i = 0; i < keys; ++i)
    out += (i ? "," : "") + std::string(R"("k)") + std::to_string(i) + R"(":"v")";
  return out + "}";
}

/// A webhook URL of exactly `bytes` bytes.
std::string webhook_of(std::size_t bytes) {
  std::string base = "https://hooks.example.com/";
  return R"("webhook_url":")" + base + std::string(bytes - base.size(), 'a') + R"(")";
}

struct bad_case {
  const char* what;
  std::string body;
  const char* code;
  std::string field;  ///< "" when details.field is not expected
};

std::vector<bad_case> bad_cases() {
  const std::string e = "\xC3\xA9";  // "é": one character, two bytes
  return {
    {"not JSON", "not json", "invalid_json", ""},
    {"an empty body", "", "invalid_json", ""},
    {"a JSON array", R"([{"type":"image"}])", "invalid_json", ""},
    {"a JSON string", R"("image")", "invalid_json", ""},
    {"trailing garbage", image() + " x", "invalid_json", ""},
    {"two objects", image() + image(), "invalid_json", ""},
    {"a truncated object", R"({"type":"image","model":)", "invalid_json", ""},
    {"missing type", R"({"model":"flux2-turbo","prompt":"p"})", "invalid_request", "type"},
    {"missing model", R"({"type":"image","prompt":"p"})", "invalid_request", "model"},
    {"missing prompt", R"({"type":"image","model":"flux2-turbo"})", "invalid_request", "prompt"},
    {"type a number", R"({"type":1,"model":"flux2-turbo","prompt":"p"})", "invalid_request",
     "type"},
    {"type null", R"({"type":null,"model":"flux2-turbo","prompt":"p"})", "invalid_request", "type"},
    {"type unknown", R"({"type":"audio","model":"flux2-turbo","prompt":"p"})", "invalid_request",
     "type"},
    {"model a number", R"({"type":"image","model":7,"prompt":"p"})", "invalid_request", "model"},
    {"model unknown", R"({"type":"image","model":"dall-e-9","prompt":"p"})", "invalid_request",
     "model"},
    {"prompt an array", R"({"type":"image","model":"flux2-turbo","prompt":["p"]})",
     "invalid_request", "prompt"},
    {"prompt empty", R"({"type":"image","model":"flux2-turbo","prompt":""})", "invalid_request",
     "prompt"},
    {"prompt of 4001 characters",
     R"({"type":"image","model":"flux2-turbo","prompt":")" + repeat(e, 4001) + R"("})",
     "invalid_request", "prompt"},
    {"type does not match the model", R"({"type":"video","model":"flux2-turbo","prompt":"p"})",
     "invalid_request", "type"},
    {"image type on a video model", R"({"type":"image","model":"seedance","prompt":"p"})",
     "invalid_request", "type"},
    {"unknown top-level field", image(R"("colour":"red")"), "invalid_request", "colour"},
    {"n 0", image(R"("n":0)"), "invalid_request", "n"},
    {"n 5", image(R"("n":5)"), "invalid_request", "n"},
    {"n -1", image(R"("n":-1)"), "invalid_request", "n"},
    {"n 1.5", image(R"("n":1.5)"), "invalid_request", "n"},
    {"n a string", image(R"("n":"2")"), "invalid_request", "n"},
    {"n null", image(R"("n":null)"), "invalid_request", "n"},
    {"metadata an array", image(R"("metadata":["a"])"), "invalid_request", "metadata"},
    {"metadata a string", image(R"("metadata":"a")"), "invalid_request", "metadata"},
    {"metadata with 17 keys", image(metadata_with(17)), "invalid_request", "metadata"},
    {"metadata key of 41 characters", image(R"("metadata":{")" + repeat(e, 41) + R"(":1})"),
     "invalid_request", "metadata." + repeat(e, 41)},
    {"metadata 5 levels deep", image(R"("metadata":{"a":{"b":{"c":{"d":[1]}}}})"),
     "invalid_request", "metadata.a"},
    {"metadata over 4 KiB", image(R"("metadata":{"a":")" + repeat("x", 4096 - 7) + R"("})"),
     "invalid_request", "metadata"},
    {"params not an object", image(R"("params":[512])"), "invalid_request", "params"},
    {"width not a multiple of 32", image(R"("params":{"width":500})"), "invalid_request",
     "params.width"},
    {"height not a multiple of 32", image(R"("params":{"height":33})"), "invalid_request",
     "params.height"},
    {"width 0", image(R"("params":{"width":0})"), "invalid_request", "params.width"},
    {"width 4128", image(R"("params":{"width":4128,"height":32})"), "invalid_request",
     "params.width"},
    {"width a string", image(R"("params":{"width":"512"})"), "invalid_request", "params.width"},
    {"width negative", image(R"("params":{"width":-512})"), "invalid_request", "params.width"},
    {"width x height over 4 MP", image(R"("params":{"width":4096,"height":1056})"),
     "invalid_request", "params.width"},
    {"height x width over 4 MP", image(R"("params":{"width":1024,"height":4128})"),
     "invalid_request", "params.height"},
    {"seed negative", image(R"("params":{"seed":-1})"), "invalid_request", "params.seed"},
    {"seed fractional", image(R"("params":{"seed":1.5})"), "invalid_request", "params.seed"},
    {"seed a string", image(R"("params":{"seed":"1"})"), "invalid_request", "params.seed"},
    {"unknown params field", image(R"("params":{"style":"noir"})"), "invalid_request",
     "params.style"},
    {"duration on an image job", image(R"("params":{"duration_seconds":5})"), "invalid_request",
     "params.duration_seconds"},
    {"duration 7 for seedance", video(R"("params":{"duration_seconds":7})"), "invalid_request",
     "params.duration_seconds"},
    {"duration a string", video(R"("params":{"duration_seconds":"5"})"), "invalid_request",
     "params.duration_seconds"},
    {"width on a video job", video(R"("params":{"width":512})"), "invalid_request", "params.width"},
    {"webhook_url not a URL", image(R"("webhook_url":"not a url")"), "invalid_request",
     "webhook_url"},
    {"webhook_url ftp", image(R"("webhook_url":"ftp://hooks.example.com/x")"), "invalid_request",
     "webhook_url"},
    {"webhook_url relative", image(R"("webhook_url":"/hooks")"), "invalid_request", "webhook_url"},
    {"webhook_url without a host", image(R"("webhook_url":"https:///x")"), "invalid_request",
     "webhook_url"},
    {"webhook_url a number", image(R"("webhook_url":5)"), "invalid_request", "webhook_url"},
    {"webhook_url of 2049 bytes", image(webhook_of(2049)), "invalid_request", "webhook_url"},
  };
}

}  // namespace

TEST_CASE(
  "Every malformed job body is refused with 400, its code and the offending field, "
  "and creates nothing",
  "[e2e]") {
  test_server server;
  auto& http = server.http();
  auto account = create_account(http);

  for (const auto& c : bad_cases()) {
    for (const char* endpoint : {"/v1/jobs", "/v1/jobs/estimate"}) {
      INFO(c.what << " on " << endpoint << ": " << c.body.substr(0, 200));
      auto response = http.post(endpoint, c.body, account.key);
      CHECK(response.status == 400);
      CHECK(response.has_header("x-request-id"));
      auto error = json::parse(response.body)["error"];
      CHECK(error["code"].str() == c.code);
      CHECK_FALSE(error["message"].str().empty());
      if (!c.field.empty()) CHECK(error["/details/field"].str() == c.field);
    }
  }

  auto listed = http.get("/v1/jobs?limit=100", account.key);
  REQUIRE(listed.status == 200);
  CHECK(json::parse(listed.body)["data"].size() == 0);
}

TEST_CASE("Bodies exactly at the documented limits are accepted", "[e2e]") {
  test_server server;
  auto& http = server.http();
  auto account = create_account(http);
  const std::string e = "\xC3\xA9";

  std::vector<std::pair<const char*, std::string>> good = {
    {"prompt of 4000 two-byte characters",
     R"({"type":"image","model":"flux2-turbo","prompt":")" + repeat(e, 4000) + R"("})"},
    {"n 4", image(R"("n":4)")},
    {"metadata with 16 keys", image(metadata_with(16))},
    {"metadata value of 512 characters", image(R"("metadata":{"a":")" + repeat(e, 512) + R"("})")},
    {"metadata of any JSON, 4 levels deep",
     image(R"("metadata":{"n":1.5,"b":false,"z":null,"a":{"b":{"c":[1]}}})")},
    {"metadata key of 40 characters", image(R"("metadata":{")" + repeat(e, 40) + R"(":1})")},
    {"metadata of exactly 4 KiB", image(R"("metadata":{"a":")" + repeat("x", 4096 - 8) + R"("})")},
    {"4096 x 1024, exactly 4 MP", image(R"("params":{"width":4096,"height":1024})")},
    {"seed 0", image(R"("params":{"seed":0,"width":32,"height":32})")},
    {"duration 15 for seedance", video(R"("params":{"duration_seconds":15})")},
    {"webhook_url of 2048 bytes", image(webhook_of(2048))},
    {"content type with a charset", image()},
  };
  for (const auto& [what, body] : good) {
    INFO(what);
    auto estimate = http.post("/v1/jobs/estimate", body, account.key);
    CHECK(estimate.status == 200);
    CHECK(json::parse(estimate.body)["sufficient"].boolean());
  }

  auto created = http.post("/v1/jobs", good[0].second, account.key);
  REQUIRE(created.status == 201);
  CHECK(json::parse(created.body)["prompt"].str() == repeat(e, 4000));
}

TEST_CASE(
  "The HTTP layer refuses missing keys, wrong media types, oversized requests and "
  "unknown routes, each with a request id",
  "[e2e]") {
  test_server server;
  auto& http = server.http();
  auto account = create_account(http);
  std::vector<http_response> seen;
  auto expect_error = [&](const http_response& r, int status, const std::string& code) {
    seen.push_back(r);
    CHECK(r.status == status);
    CHECK(json::parse(r.body)["/error/code"].str() == code);
  };

  expect_error(http.get("/v1/jobs"), 401, "unauthorized");
  expect_error(http.post("/v1/jobs", image()), 401, "unauthorized");
  expect_error(http.post("/v1/jobs", "not json"), 401, "unauthorized");
  expect_error(http.get("/v1/jobs", "kiln_sk_not_a_real_key"), 401, "unauthorized");
  expect_error(http.request("GET", "/v1/jobs", {}, {{"Authorization", "Basic abc"}}), 401,
               "unauthorized");
  expect_error(http.get("/v1/jobs/job_doesnotexist", account.key), 404, "not_found");

  auto by_header = http.request("GET", "/v1/jobs", {}, {{"x-api-key", account.key}});
  seen.push_back(by_header);
  CHECK(by_header.status == 200);
  auto charset =
    http.request("POST", "/v1/jobs/estimate", image(),
                 {bearer(account.key), {"Content-Type", "application/json; charset=utf-8"}});
  seen.push_back(charset);
  CHECK(charset.status == 200);

  expect_error(http.request("POST", "/v1/jobs", image(),
                            {bearer(account.key), {"Content-Type", "text/plain"}}),
               415, "unsupported_media_type");
  expect_error(http.request("POST", "/v1/jobs", image(), {bearer(account.key)}), 415,
               "unsupported_media_type");

  // A body of exactly 1 MiB is read; one byte more is refused before it is parsed.
  std::string exact = image();
  exact += std::string(1024 * 1024 - exact.size(), ' ');
  auto at_limit = http.post("/v1/jobs/estimate", exact, account.key);
  seen.push_back(at_limit);
  CHECK(at_limit.status == 200);
  expect_error(http.post("/v1/jobs", exact + " ", account.key), 413, "payload_too_large");

  auto big_header = http.request("GET", "/v1/jobs", {},
                                 {bearer(account.key), {"X-Filler", std::string(17 * 1024, 'h')}});
  seen.push_back(big_header);
  CHECK(big_header.status == 431);

  auto raw = send_raw(http.port(), "GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Filler: " +
                                     std::string(17 * 1024, 'r') + "\r\n\r\n");
  seen.push_back(raw);
  CHECK(raw.status == 431);
  auto garbage = send_raw(http.port(), "NOT AN HTTP REQUEST\r\n\r\n");
  seen.push_back(garbage);
  CHECK(garbage.status == 400);

  expect_error(http.get("/v1/nothing-here", account.key), 404, "not_found");
  expect_error(http.get("/", account.key), 404, "not_found");

  auto wrong_method = http.del("/v1/jobs", account.key);
  expect_error(wrong_method, 405, "method_not_allowed");
  auto allow = wrong_method.header("allow");
  CHECK(allow.find("GET") != std::string::npos);
  CHECK(allow.find("POST") != std::string::npos);
  auto put_job = http.request("PUT", "/v1/jobs/job_x", "{}", {bearer(account.key)});
  expect_error(put_job, 405, "method_not_allowed");
  CHECK(put_job.header("allow") == "GET, HEAD, DELETE");

  // After all of that the connection still serves requests.
  seen.push_back(http.get("/healthz"));
  CHECK(seen.back().status == 200);

  std::set<std::string> ids;
  for (const auto& r : seen) {
    INFO("status " << r.status << ": " << r.body.substr(0, 200));
    CHECK(r.header("x-request-id").size() > 4);
    ids.insert(r.header("x-request-id"));
  }
  CHECK(ids.size() == seen.size());
}

TEST_CASE(
  "Bytes that are not UTF-8 in a request target come back as valid JSON, in the answer "
  "and in the log",
  "[e2e]") {
  temp_dir dir;
  auto config = write_config(dir);
  kiln_process kiln({"serve", "--listen", "127.0.0.1:0", "--data-dir", dir / "data", "--config",
                     config, "--log-level", "info"},
                    dir / "kiln.stderr");
  auto raw = send_raw(kiln.port(), "GET /v1/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(raw.status == 404);
  // The parser checks UTF-8: the raw bytes would fail here. Each becomes U+FFFD.
  auto body = json::parse(raw.body);
  CHECK(body["/error/code"].str() == "not_found");
  CHECK(body["/error/message"].str() == "no such endpoint: /v1/\xEF\xBF\xBD\xEF\xBF\xBD");

  // The http.request log line is one valid JSON object with the same replacement.
  std::string line;
  REQUIRE(eventually([&] {
    auto text = kiln.stderr_text();
    auto at = text.find("\"http.request\"");
    if (at == std::string::npos) return false;
    auto start = text.rfind('\n', at);
    start = start == std::string::npos ? 0 : start + 1;
    line = text.substr(start, text.find('\n', at) - start);
    return true;
  }));
  INFO(line);
  auto logged = json::parse(line);
  CHECK(logged["status"].integer() == 404);
  CHECK(logged["path"].str() == "/v1/\xEF\xBF\xBD\xEF\xBF\xBD");
}
