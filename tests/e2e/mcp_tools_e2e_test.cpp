// Tool set `kiln` on the real binary: every tool's result validates against the outputSchema the
// server lists, outputs are real files behind resource links, create_job keeps the REST
// idempotency and credit rules, and a held get_job wait ends when the client cancels it.
#include "tests/support/e2e.hpp"
#include "tests/support/json_schema.hpp"
#include "tests/support/mcp_client.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <thread>

using namespace kiln::test;

namespace {

/// name -> outputSchema, from tools/list.
std::map<std::string, std::string> output_schemas(http_client& http, const std::string& key) {
  auto listed = json::parse(mcp_post(http, key, rpc_request(1, "tools/list")).body);
  std::map<std::string, std::string> schemas;
  for (std::size_t i = 0; i < listed["/result/tools"].size(); ++i)
    schemas[listed["/result/tools"][i]["name"].str()] =
      listed["/result/tools"][i]["outputSchema"].dump();
  return schemas;
}

void check_balance_identity(http_client& http, const std::string& key) {
  auto balance = json::parse(http.get("/v1/balance", key).body);
  CHECK(balance["granted"].integer() ==
        balance["available"].integer() + balance["held"].integer() + balance["used"].integer());
}

}  // namespace

TEST_CASE("Every kiln tool's result validates against the outputSchema the server lists",
          "[e2e][mcp]") {
  test_server server(builtin_devices);
  auto& http = server.http();
  auto account = create_account(http, "pro", 100);
  auto schemas = output_schemas(http, account.key);
  REQUIRE(schemas.size() == 7);
  auto valid = [&](const std::string& tool, const json& result) {
    INFO(tool << ": " << result.dump());
    CHECK(schema_violation(schemas.at(tool), result["structuredContent"].dump()) == "");
    // The text copy says the same as structuredContent.
    CHECK(json::parse(result["/content/0/text"].str()).dump() ==
          result["structuredContent"].dump());
  };

  auto models = call_tool(http, account.key, "list_models");
  valid("list_models", models);
  CHECK(models["/structuredContent/models/0/id"].str() == "flux2-turbo");
  auto estimate = call_tool(http, account.key, "estimate_job",
                            R"({"type":"image","model":"seedream","prompt":"x","n":2})");
  valid("estimate_job", estimate);
  CHECK(estimate["/structuredContent/credits"].integer() == 6);

  // The trace the client starts is the job's trace.
  const std::string trace = "4bf92f3577b34da6a3ce929d0e0e4736";
  auto created = call_tool(http, account.key, "create_job",
                           R"({"type":"image","model":"flux2-turbo","prompt":"a fox","n":2})",
                           {{"traceparent", "00-" + trace + "-00f067aa0ba902b7-01"}});
  valid("create_job", created);
  auto id = created["/structuredContent/id"].str();
  CHECK(created["/structuredContent/trace_id"].str() == trace);
  check_balance_identity(http, account.key);

  auto done =
    call_tool(http, account.key, "get_job", R"({"id":")" + id + R"(","wait_seconds":30})");
  valid("get_job", done);
  REQUIRE(done["/structuredContent/status"].str() == "succeeded");
  REQUIRE(done["content"].size() == 3);  // the text and one link per output
  for (std::size_t i = 1; i < 3; ++i) {
    auto link = done["content"][i];
    CHECK(link["type"].str() == "resource_link");
    CHECK(link["mimeType"].str() == "image/png");
    auto uri = link["uri"].str();
    REQUIRE(uri.starts_with("http://127.0.0.1:" + std::to_string(http.port()) + "/v1/files/"));
    auto file = http.get(uri.substr(uri.find("/v1/files/")));  // signed: no key
    REQUIRE(file.status == 200);
    CHECK(file.body.substr(0, 8) == "\x89PNG\r\n\x1a\n");
    CHECK(static_cast<std::int64_t>(file.body.size()) == link["size"].integer());
  }
  auto events = json::parse(http.get("/v1/jobs/" + id + "/events", account.key).body);
  CHECK(events["/data/0/trace_id"].str() == trace);

  auto listed = call_tool(http, account.key, "list_jobs", R"({"limit":1})");
  valid("list_jobs", listed);
  CHECK(listed["/structuredContent/data/0/id"].str() == id);

  auto too_late = call_tool(http, account.key, "cancel_job", R"({"id":")" + id + R"("})");
  valid("cancel_job", too_late);  // the error branch of the schema
  CHECK(too_late["isError"].boolean());
  CHECK(too_late["/structuredContent/error/code"].str() == "cannot_cancel");
  auto missing = call_tool(http, account.key, "get_job", R"({"id":"job_nope"})");
  valid("get_job", missing);
  CHECK(missing["/structuredContent/error/code"].str() == "not_found");

  auto balance = call_tool(http, account.key, "get_balance");
  valid("get_balance", balance);
  CHECK(balance["/structuredContent/used"].integer() == 2);
  CHECK(balance["/structuredContent/available"].integer() == 98);
}

TEST_CASE("create_job keeps the REST idempotency and credit rules", "[e2e][mcp]") {
  test_server server;
  auto& http = server.http();
  auto account = create_account(http, "pro", 10);
  const std::string args =
    R"({"type":"image","model":"seedream","prompt":"p","idempotency_key":"k1"})";
  auto first = call_tool(http, account.key, "create_job", args);
  auto again = call_tool(http, account.key, "create_job", args);
  REQUIRE_FALSE(first["isError"].boolean());
  CHECK(again["/structuredContent/id"].str() == first["/structuredContent/id"].str());
  auto balance = json::parse(http.get("/v1/balance", account.key).body);
  CHECK(balance["available"].integer() == 7);  // one hold of 3, not two
  CHECK(json::parse(http.get("/v1/jobs", account.key).body)["data"].size() == 1);

  auto reused =
    call_tool(http, account.key, "create_job",
              R"({"type":"image","model":"seedream","prompt":"other","idempotency_key":"k1"})");
  CHECK(reused["isError"].boolean());
  CHECK(reused["/structuredContent/error/code"].str() == "idempotency_key_reused");

  // The same key and request over REST is the same request.
  auto rest =
    post_keyed(http, account.key, R"({"type":"image","model":"seedream","prompt":"p"})", "k1");
  CHECK(rest.status == 201);
  CHECK(rest.header("idempotent-replayed") == "true");
  CHECK(json::parse(rest.body)["id"].str() == first["/structuredContent/id"].str());

  auto poor = create_account(http, "pro", 0);
  auto refused = call_tool(http, poor.key, "create_job",
                           R"({"type":"image","model":"flux2-turbo","prompt":"p"})");
  CHECK(refused["isError"].boolean());
  CHECK(refused["/structuredContent/error/code"].str() == "insufficient_credits");
  CHECK(json::parse(http.get("/v1/jobs", poor.key).body)["data"].size() == 0);
  auto free = create_account(http, "free", 1000);
  auto plan = call_tool(
    http, free.key, "create_job",
    R"({"type":"video","model":"seedance","prompt":"p","params":{"duration_seconds":5}})");
  CHECK(plan["/structuredContent/error/code"].str() == "plan_required");
  auto bad = call_tool(http, account.key, "create_job",
                       R"({"type":"image","model":"flux2-turbo","prompt":""})");
  CHECK(bad["/structuredContent/error/code"].str() == "invalid_request");
  CHECK(bad["/structuredContent/error/field"].str() == "prompt");
}

TEST_CASE("cancel_job refunds, and notifications/cancelled ends a held get_job wait",
          "[e2e][mcp]") {
  test_server server(R"([{"id":"slow","executor":"sim","slots":1,"latency_ms":20000}])");
  auto& http = server.http();
  auto account = create_account(http, "pro", 100);
  auto running = call_tool(http, account.key, "create_job",
                           R"({"type":"image","model":"seedream","prompt":"p"})");
  auto id = running["/structuredContent/id"].str();
  // A wait held on its own connection, answered only when the client cancels it.
  raw_connection waiter(http.port(), std::chrono::seconds(1));
  auto body = R"({"jsonrpc":"2.0","id":"w-1","method":"tools/call","params":{"name":"get_job",)"
              R"("arguments":{"id":")" +
              id + R"(","wait_seconds":60}}})";
  REQUIRE(waiter.send("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                      account.key + "\r\nContent-Type: application/json\r\nContent-Length: " +
                      std::to_string(body.size()) + "\r\n\r\n" + body));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // Another account's cancellation of the same request id is not this wait's.
  auto stranger = create_account(http, "pro", 1);
  auto cancel =
    R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"w-1"}})";
  CHECK(mcp_post(http, stranger.key, cancel).status == 202);
  CHECK_THROWS(waiter.read_response());  // still held a second later
  auto started = std::chrono::steady_clock::now();
  auto accepted = mcp_post(http, account.key, cancel);
  CHECK(accepted.status == 202);
  CHECK(accepted.body.empty());
  auto answer = waiter.read_response();
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(3));
  auto message = json::parse(answer.body);
  CHECK(message["id"].str() == "w-1");
  CHECK(message["/error/code"].integer() == -32800);

  auto canceled = call_tool(http, account.key, "cancel_job", R"({"id":")" + id + R"("})");
  CHECK_FALSE(canceled["isError"].boolean());
  CHECK(canceled["/structuredContent/status"].str() == "canceled");
  CHECK(canceled["/structuredContent/credits_refunded"].integer() == 3);
  auto balance = call_tool(http, account.key, "get_balance");
  CHECK(balance["/structuredContent/available"].integer() == 100);
  CHECK(balance["/structuredContent/held"].integer() == 0);
}
