// The tool table: schemas made from it, the argument checks, REST answers turned into results
// that validate against the tool's own outputSchema, and the origin rule.
#include "mcp/tools.hpp"
#include "mcp/endpoint.hpp"
#include "tests/support/json.hpp"
#include "tests/support/json_schema.hpp"

#include <simdjson.h>
#include <catch2/catch.hpp>

#include <set>

using namespace kiln::mcp;
using kiln::test::json;
using kiln::test::schema_violation;

namespace {

/// check_arguments on `arguments_json` for tool `name`: "" when accepted, else "field: why".
std::string checked(std::string_view name, std::string_view arguments_json) {
  const tool* t = kiln_tools().find(name);
  REQUIRE(t);
  simdjson::dom::parser parser;
  simdjson::dom::object arguments;
  REQUIRE(parser.parse(arguments_json).get(arguments) == simdjson::SUCCESS);
  auto problem = check_arguments(*t, arguments);
  return problem ? problem->field + ": " + problem->message : "";
}

const std::string job_body =
  R"({"id":"job_1","object":"job","status":"succeeded","type":"image","model":"flux2-turbo",)"
  R"("prompt":"p","n":2,"params":{"width":512,"height":512,"seed":1},"metadata":{},)"
  R"("webhook_url":null,"credits_held":0,"credits_used":2,"credits_refunded":0,"progress":100,)"
  R"("device":"gpu-0","attempts":1,"output":[)"
  R"({"url":"http://h/v1/files/job_1-0.png?expires=1&signature=ab","content_type":"image/png","bytes":10},)"
  R"({"url":"http://h/v1/files/job_1-1.png?expires=1&signature=cd","content_type":"image/png","bytes":12}],)"
  R"("error":null,"trace_id":"t","created_at":"2026-01-01T00:00:00.000Z","started_at":null,)"
  R"("completed_at":null,"canceled_at":null})";

}  // namespace

TEST_CASE("Tool set kiln lists its seven tools, each with schemas an MCP client accepts",
          "[mcp][tools]") {
  auto listed = json::parse(list_result(kiln_tools()));
  std::set<std::string> names;
  for (std::size_t i = 0; i < listed["tools"].size(); ++i) {
    auto t = listed["tools"][i];
    names.insert(t["name"].str());
    INFO(t["name"].str());
    CHECK_FALSE(t["description"].str().empty());
    CHECK(t["/inputSchema/type"].str() == "object");
    CHECK(t["/inputSchema/additionalProperties"].boolean() == false);
    CHECK(t["/outputSchema/type"].str() == "object");
    CHECK(t["/outputSchema/anyOf"].size() == 2);
    // Every required argument is a declared property.
    for (std::size_t r = 0; r < t["/inputSchema/required"].size(); ++r)
      CHECK(t["/inputSchema/properties"].has(t["/inputSchema/required"][r].str()));
  }
  CHECK(names == std::set<std::string>{"list_models", "create_job", "get_job", "list_jobs",
                                       "cancel_job", "estimate_job", "get_balance"});
  auto create = listed["tools"][1];
  CHECK(create["/inputSchema/properties/n/maximum"].integer() == 4);
  CHECK(create["/inputSchema/properties/prompt/maxLength"].integer() == 10000);
  CHECK(create["/inputSchema/properties/type/enum"].size() == 5);
  CHECK(create["/inputSchema/properties"].has("idempotency_key"));
  CHECK_FALSE(listed["tools"][5]["/inputSchema/properties"].has("idempotency_key"));
}

TEST_CASE("Arguments are checked against the table: names, required ones, types, bounds, enums",
          "[mcp][tools]") {
  CHECK(checked("create_job", R"({"type":"image","model":"m","prompt":"p"})") == "");
  CHECK(checked("create_job",
                R"({"type":"image","model":"m","prompt":"p","n":4,)"
                R"("metadata":{"a":[1]},"params":{"seed":3},"idempotency_key":"k"})") == "");
  CHECK(checked("create_job", R"({"model":"m","prompt":"p"})") == "type: is required");
  CHECK(checked("create_job", R"({"type":"hologram","model":"m","prompt":"p"})") ==
        "type: must be one of image, video, audio, json, 3d");
  CHECK(checked("create_job", R"({"type":"image","model":"m","prompt":7})") ==
        "prompt: must be a string");
  CHECK(checked("create_job", R"({"type":"image","model":"m","prompt":"p","n":5})") ==
        "n: must be from 1 to 4");
  CHECK(checked("create_job", R"({"type":"image","model":"m","prompt":"p","n":1.5})") ==
        "n: must be an integer");
  CHECK(checked("create_job", R"({"type":"image","model":"m","prompt":"p","metadata":[]})") ==
        "metadata: must be a object");
  CHECK(checked("create_job", R"({"type":"image","model":"m","prompt":"p","color":"red"})") ==
        "color: unknown argument for create_job");
  CHECK(
    checked("estimate_job", R"({"type":"image","model":"m","prompt":"p","idempotency_key":"k"})") ==
    "idempotency_key: unknown argument for estimate_job");
  CHECK(checked("get_job", R"({"id":"job_1","wait_seconds":60})") == "");
  CHECK(checked("get_job", R"({"id":"job_1","wait_seconds":61})") ==
        "wait_seconds: must be from 0 to 60");
  CHECK(checked("get_job", R"({"id":"job_1","wait_seconds":-1})") ==
        "wait_seconds: must be from 0 to 60");
  CHECK(checked("get_job", R"({})") == "id: is required");
  CHECK(checked("list_jobs", R"({"status":"done"})") ==
        "status: must be one of queued, processing, succeeded, failed, canceled");
  CHECK(checked("get_balance", R"({})") == "");
  CHECK(checked("get_balance", R"({"x":1})") == "x: unknown argument for get_balance");
}

TEST_CASE("Tools make the REST request of their route", "[mcp][tools]") {
  simdjson::dom::parser parser;
  auto call = [&](std::string_view name, std::string_view text) {
    simdjson::dom::object arguments;
    REQUIRE(parser.parse(text).get(arguments) == simdjson::SUCCESS);
    return kiln_tools().find(name)->to_rest(arguments);
  };
  auto create =
    call("create_job", R"({"type":"image","model":"m","prompt":"p","idempotency_key":"k 1"})");
  CHECK(create.method == "POST");
  CHECK(create.target == "/v1/jobs");
  CHECK(create.body == R"({"type":"image","model":"m","prompt":"p"})");
  REQUIRE(create.headers.size() == 1);
  CHECK(create.headers[0] == std::pair<std::string, std::string>{"idempotency-key", "k 1"});

  auto wait = call("get_job", R"({"id":"job_1/../x?y","wait_seconds":30})");
  CHECK(wait.target == "/v1/jobs/job_1%2F..%2Fx%3Fy");  // an id cannot reach another route
  CHECK(wait.headers == std::vector<std::pair<std::string, std::string>>{{"prefer", "wait=30"}});
  CHECK(call("get_job", R"({"id":"job_1","wait_seconds":0})").headers.empty());
  CHECK(call("list_jobs", R"({"limit":5,"cursor":"a&b"})").target ==
        "/v1/jobs?limit=5&cursor=a%26b");
  CHECK(call("cancel_job", R"({"id":"job_2"})").target == "/v1/jobs/job_2/cancel");
  CHECK(call("estimate_job", R"({"type":"video","model":"s","prompt":"p"})").target ==
        "/v1/jobs/estimate");
}

TEST_CASE("A REST answer becomes a result that validates against the tool's outputSchema",
          "[mcp][tools]") {
  const tool& get_job = *kiln_tools().find("get_job");
  auto result = json::parse(call_result(get_job, 200, job_body, true));
  CHECK(result["isError"].boolean() == false);
  CHECK(schema_violation(output_schema(get_job), result["structuredContent"].dump()) == "");
  REQUIRE(result["content"].size() == 3);
  CHECK(result["/content/0/type"].str() == "text");
  CHECK(json::parse(result["/content/0/text"].str()).dump() == result["structuredContent"].dump());
  CHECK(result["/content/1/type"].str() == "resource_link");
  CHECK(result["/content/1/uri"].str() == "http://h/v1/files/job_1-0.png?expires=1&signature=ab");
  CHECK(result["/content/1/name"].str() == "job_1-0.png");
  CHECK(result["/content/1/mimeType"].str() == "image/png");
  CHECK(result["/content/2/size"].integer() == 12);
  // Clients older than 2025-06-18 know no resource_link.
  CHECK(json::parse(call_result(get_job, 200, job_body, false))["content"].size() == 1);

  auto refused = json::parse(call_result(
    *kiln_tools().find("create_job"), 402,
    R"({"error":{"code":"insufficient_credits","message":"m","details":{"field":"n"}}})", true));
  CHECK(refused["isError"].boolean());
  CHECK(refused["/structuredContent/error/code"].str() == "insufficient_credits");
  CHECK(refused["/structuredContent/error/field"].str() == "n");
  CHECK(refused["content"].size() == 1);
  CHECK(schema_violation(output_schema(*kiln_tools().find("create_job")),
                         refused["structuredContent"].dump()) == "");
  auto broken = json::parse(call_result(get_job, 503, "not json", true));
  CHECK(broken["/structuredContent/error/code"].str() == "unavailable");

  const tool& models = *kiln_tools().find("list_models");
  auto listed = json::parse(call_result(
    models, 200,
    R"({"object":"list","data":[{"id":"a","object":"model","type":"image","credits":1,"unit":"asset",)"
    R"("min_plan":"free","estimated_seconds":2,"description":"d"}]})",
    true));
  CHECK(listed["/structuredContent/models/0/id"].str() == "a");
  CHECK(schema_violation(output_schema(models), listed["structuredContent"].dump()) == "");
  // The schema can fail: a job without its status matches neither branch.
  CHECK_FALSE(schema_violation(output_schema(get_job), R"({"id":"job_1"})").empty());
  CHECK_FALSE(schema_violation(output_schema(models), R"({"models":[{"id":1}]})").empty());
}

TEST_CASE("Only listed origins, or loopback ones by default, may call from a browser",
          "[mcp][origin]") {
  CHECK(origin_allowed("http://localhost", {}));
  CHECK(origin_allowed("http://localhost:6274", {}));
  CHECK(origin_allowed("https://127.0.0.1:8080", {}));
  CHECK(origin_allowed("http://[::1]:3000", {}));
  CHECK_FALSE(origin_allowed("http://evil.example.com", {}));
  CHECK_FALSE(origin_allowed("http://localhost.evil.example.com", {}));
  CHECK_FALSE(origin_allowed("http://localhost:80abc", {}));
  CHECK_FALSE(origin_allowed("null", {}));
  CHECK(origin_allowed("https://APP.example.com", {"https://app.example.com"}));
  CHECK_FALSE(origin_allowed("http://localhost", {"https://app.example.com"}));
  CHECK(protocol_versions().front() == "2025-11-25");
}

TEST_CASE("Values are percent-encoded for paths and queries", "[mcp][tools]") {
  CHECK(url_encoded("job_AZ-09.~") == "job_AZ-09.~");
  CHECK(url_encoded("a b/c?d&e=f%") == "a%20b%2Fc%3Fd%26e%3Df%25");
}
