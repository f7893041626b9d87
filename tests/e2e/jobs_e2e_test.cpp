// Jobs from submission to downloaded media, on the real binary.
#include "tests/support/e2e.hpp"

#include <catch2/catch.hpp>

using namespace kiln::test;

namespace {

std::uint32_t be32(const std::string& bytes, std::size_t at) {
  auto b = [&](std::size_t i) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[at + i]));
  };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

/// The request target of an absolute output URL served by `http`'s server.
std::string target_of(const std::string& url, const http_client& http) {
  std::string base = "http://127.0.0.1:" + std::to_string(http.port());
  REQUIRE(url.rfind(base + "/v1/files/", 0) == 0);
  return url.substr(base.size());
}

}  // namespace

TEST_CASE(
  "An image job runs to success and its signed output URLs serve PNGs of the requested size",
  "[e2e]") {
  test_server server(builtin_devices);
  auto& http = server.http();
  auto account = create_account(http);

  auto created =
    http.post("/v1/jobs", R"({"type":"image","model":"flux2-turbo","prompt":"a kiln at dusk",
    "n":2,"params":{"width":640,"height":384},"metadata":{"order":42,"customer":"ada","rush":true,"tags":["a",{"b":null}]}})",
              account.key);
  REQUIRE(created.status == 201);
  auto job = json::parse(created.body);
  auto id = job["id"].str();
  CHECK(id.rfind("job_", 0) == 0);
  CHECK(created.header("location") == "/v1/jobs/" + id);
  CHECK(job["object"].str() == "job");
  CHECK(job["n"].integer() == 2);
  CHECK(job["/params/width"].integer() == 640);
  CHECK(job["/params/height"].integer() == 384);
  CHECK(job["/metadata/order"].integer() == 42);  // any JSON value comes back as sent
  CHECK(job["/metadata/customer"].str() == "ada");
  CHECK(job["/metadata/rush"].boolean());
  CHECK(job["/metadata/tags/0"].str() == "a");
  CHECK(job["/metadata/tags/1/b"].is_null());
  CHECK(job["credits_held"].integer() == 2);
  CHECK(job["output"].is_null());

  auto done = wait_for_terminal(http, account.key, id);
  REQUIRE(done["status"].str() == "succeeded");
  CHECK(done["progress"].integer() == 100);
  CHECK(done["device"].str() == "gpu-0");
  CHECK(done["/metadata/order"].integer() == 42);
  CHECK(done["/metadata/tags/1"].has("b"));
  CHECK_FALSE(done["completed_at"].is_null());
  auto outputs = done["output"];
  REQUIRE(outputs.size() == 2);

  std::string first_target;
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    auto output = outputs[i];
    CHECK(output["content_type"].str() == "image/png");
    auto target = target_of(output["url"].str(), http);
    if (i == 0) first_target = target;
    auto file = http.get(target);  // signed URLs need no key
    REQUIRE(file.status == 200);
    CHECK(file.header("content-type") == "image/png");
    CHECK(static_cast<std::int64_t>(file.body.size()) == output["bytes"].integer());
    REQUIRE(file.body.size() > 33);
    CHECK(file.body.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
    CHECK(be32(file.body, 8) == 13);
    CHECK(file.body.compare(12, 4, "IHDR") == 0);
    CHECK(be32(file.body, 16) == 640);
    CHECK(be32(file.body, 20) == 384);
  }
  CHECK(target_of(outputs[0]["url"].str(), http) != target_of(outputs[1]["url"].str(), http));

  SECTION("a tampered signature is refused") {
    auto at = first_target.find("signature=");
    REQUIRE(at != std::string::npos);
    std::string tampered = first_target;
    auto& digit = tampered[at + 10];  // the first character of the signature
    digit = digit == 'a' ? 'b' : 'a';
    auto refused = http.get(tampered);
    CHECK(refused.status == 403);
    CHECK(json::parse(refused.body)["/error/code"].str() == "forbidden");
  }
  SECTION("a URL without its signature is refused") {
    auto at = first_target.find("&signature=");
    REQUIRE(at != std::string::npos);
    auto refused = http.get(first_target.substr(0, at));
    CHECK(refused.status == 403);
    CHECK(json::parse(refused.body)["/error/code"].str() == "forbidden");
  }
  SECTION("a changed expiry invalidates the signature") {
    auto at = first_target.find("expires=");
    REQUIRE(at != std::string::npos);
    std::string changed = first_target;
    changed[at + 8] = changed[at + 8] == '9' ? '8' : '9';
    CHECK(http.get(changed).status == 403);
  }
}

TEST_CASE("A free account asking for a pro model gets 403 plan_required and no job", "[e2e]") {
  test_server server;
  auto& http = server.http();
  auto account = create_account(http, "free", 1000);

  auto refused =
    http.post("/v1/jobs", R"({"type":"video","model":"seedance","prompt":"a storm"})", account.key);
  CHECK(refused.status == 403);
  CHECK(json::parse(refused.body)["/error/code"].str() == "plan_required");

  auto listed = json::parse(http.get("/v1/jobs", account.key).body);
  CHECK(listed["data"].size() == 0);

  // The same account may still use the image models its plan includes.
  auto id = submit_job(http, account.key, image_job_body());
  CHECK(wait_for_terminal(http, account.key, id)["status"].str() == "succeeded");
}

namespace {

/// The response heads at the start of `stream`, `count` of them, each ending at its blank line,
/// and what follows them.
std::pair<std::vector<std::string>, std::string> split_heads(const std::string& stream,
                                                             std::size_t count) {
  std::vector<std::string> heads;
  std::size_t at = 0;
  for (std::size_t i = 0; i < count; ++i) {
    auto end = stream.find("\r\n\r\n", at);
    REQUIRE(end != std::string::npos);
    heads.push_back(stream.substr(at, end + 4 - at));
    at = end + 4;
  }
  return {heads, stream.substr(at)};
}

std::string content_length_of(const std::string& head) {
  auto at = head.find("Content-Length: ");
  REQUIRE(at != std::string::npos);
  return head.substr(at + 16, head.find("\r\n", at) - at - 16);
}

}  // namespace

TEST_CASE("HEAD is answered wherever GET is, with GET's headers and no content", "[e2e]") {
  // Found when a HEAD got a 405 whose JSON body was sent anyway: on a kept-alive connection the
  // next answer then started inside those bytes.
  test_server server(builtin_devices);
  auto& http = server.http();
  auto account = create_account(http);
  auto id = submit_job(http, account.key, image_job_body());
  auto done = wait_for_terminal(http, account.key, id);
  REQUIRE(done["status"].str() == "succeeded");
  auto file_target = target_of(done["output"][0]["url"].str(), http);
  auto file = http.get(file_target);
  REQUIRE(file.status == 200);
  auto job = http.get("/v1/jobs/" + id, account.key);
  REQUIRE(job.status == 200);

  const std::string host = "Host: 127.0.0.1:" + std::to_string(http.port()) + "\r\n";
  const std::string auth = "Authorization: Bearer " + account.key + "\r\n";
  raw_connection connection(http.port(), std::chrono::seconds(10));
  REQUIRE(connection.send("HEAD " + file_target + " HTTP/1.1\r\n" + host + "\r\n" +  //
                          "HEAD /v1/jobs/" + id + " HTTP/1.1\r\n" + host + auth + "\r\n" +
                          "HEAD /v1/jobs/" + id + "/cancel HTTP/1.1\r\n" + host + auth + "\r\n" +
                          "GET /healthz HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n"));
  auto stream = connection.read_until_closed();
  INFO(stream.substr(0, 2000));
  auto [heads, rest] = split_heads(stream, 3);

  CHECK(heads[0].rfind("HTTP/1.1 200", 0) == 0);
  CHECK(heads[0].find("Content-Type: image/png") != std::string::npos);
  CHECK(content_length_of(heads[0]) == std::to_string(file.body.size()));
  CHECK(heads[1].rfind("HTTP/1.1 200", 0) == 0);
  CHECK(content_length_of(heads[1]) == std::to_string(job.body.size()));
  CHECK(heads[2].rfind("HTTP/1.1 405", 0) == 0);
  CHECK(heads[2].find("Allow: POST") != std::string::npos);
  // No content after any head: the GET's answer follows the third head directly.
  REQUIRE(rest.rfind("HTTP/1.1 200", 0) == 0);
  auto [health_head, health_body] = split_heads(rest, 1);
  CHECK(content_length_of(health_head[0]) == std::to_string(health_body.size()));
  CHECK(json::parse(health_body)["status"].str() == "ok");

  // The Allow header of a GET route names HEAD too.
  auto wrong = http.del("/v1/jobs/" + id + "/events", account.key);
  CHECK(wrong.status == 405);
  CHECK(wrong.header("allow") == "GET, HEAD");
}
