// The MCP endpoint as an HTTP resource on the real binary: refusals at the HTTP level (key,
// origin, protocol version, method, media type, size, rate), the JSON-RPC error of each
// malformed message, version negotiation, and a few thousand random messages that leave the
// server healthy and the books unchanged.
#include "tests/support/e2e.hpp"
#include "tests/support/mcp_client.hpp"
#include "tests/support/seed.hpp"

#include <catch2/catch.hpp>

#include <random>

using namespace kiln::test;

namespace {

const std::string ping = rpc_request(1, "ping");

int rpc_error(const http_response& answer) {
  return static_cast<int>(json::parse(answer.body)["/error/code"].integer());
}

}  // namespace

TEST_CASE("The MCP endpoint refuses at the HTTP level what is not a caller's JSON-RPC",
          "[e2e][mcp]") {
  test_server server(sim_devices, R"("mcp":{"allowed_origins":["https://app.example.com"]})");
  auto& http = server.http();
  auto account = create_account(http);

  auto anonymous = mcp_post(http, "", ping);
  CHECK(anonymous.status == 401);
  CHECK(anonymous.header("www-authenticate") == "Bearer");
  CHECK(mcp_post(http, "kiln_sk_wrong", ping).status == 401);
  CHECK(http
          .request("POST", "/mcp", ping,
                   {{"Content-Type", "application/json"}, {"x-api-key", account.key}})
          .status == 200);

  // Origins: a listed one passes; any other is refused before the key is even looked at.
  CHECK(mcp_post(http, account.key, ping, {{"Origin", "https://app.example.com"}}).status == 200);
  auto foreign = mcp_post(http, "", ping, {{"Origin", "http://evil.example.com"}});
  CHECK(foreign.status == 403);
  CHECK(rpc_error(foreign) == -32600);
  CHECK(mcp_post(http, account.key, ping, {{"Origin", "http://localhost:3000"}}).status == 403);

  auto version = http.request("POST", "/mcp", ping,
                              {{"Content-Type", "application/json"},
                               {"Authorization", "Bearer " + account.key},
                               {"MCP-Protocol-Version", "2099-01-01"}});
  CHECK(version.status == 400);
  CHECK(json::parse(version.body)["/error/message"].str().find("2099-01-01") != std::string::npos);

  for (const char* method : {"GET", "DELETE", "PUT"}) {
    auto answer = http.request(method, "/mcp", {}, {{"Authorization", "Bearer " + account.key}});
    CHECK(answer.status == 405);
    CHECK(answer.header("allow") == "POST");
  }
  CHECK(http
          .request("POST", "/mcp", ping,
                   {{"Content-Type", "text/plain"}, {"Authorization", "Bearer " + account.key}})
          .status == 415);
  auto huge = mcp_post(http, account.key,
                       rpc_request(2, "tools/call",
                                   R"({"name":"create_job","arguments":{"prompt":")" +
                                     std::string(1100000, 'a') + R"("}})"));
  CHECK(huge.status == 413);

  auto notified =
    mcp_post(http, account.key, R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  CHECK(notified.status == 202);
  CHECK(notified.body.empty());
  CHECK(mcp_post(http, account.key, R"({"jsonrpc":"2.0","id":5,"result":{}})").status == 202);
  // Authenticated answers carry the rate headers as REST ones do.
  CHECK(mcp_post(http, account.key, ping).has_header("x-ratelimit-remaining"));
}

TEST_CASE("Each malformed JSON-RPC message gets its error code and changes nothing", "[e2e][mcp]") {
  test_server server;
  auto& http = server.http();
  auto account = create_account(http, "pro", 50);
  auto post = [&](const std::string& body) { return mcp_post(http, account.key, body); };

  auto unparsable = post(R"({"jsonrpc":"2.0","id":1,"method":)");
  CHECK(unparsable.status == 400);
  CHECK(rpc_error(unparsable) == -32700);
  CHECK(json::parse(unparsable.body)["id"].is_null());
  auto batch = post("[" + ping + "]");
  CHECK(batch.status == 400);
  CHECK(rpc_error(batch) == -32600);
  CHECK(rpc_error(post(R"({"jsonrpc":"2.0","id":null,"method":"ping"})")) == -32600);
  auto unknown = post(rpc_request(7, "resources/list"));
  CHECK(unknown.status == 200);
  CHECK(rpc_error(unknown) == -32601);
  CHECK(json::parse(unknown.body)["id"].integer() == 7);
  CHECK(rpc_error(post(rpc_request(8, "tools/call", R"({"name":"nope"})"))) == -32602);
  CHECK(rpc_error(post(rpc_request(8, "tools/call", R"({"arguments":{}})"))) == -32602);
  CHECK(rpc_error(post(rpc_request(8, "tools/call", R"({"name":"get_job","arguments":[]})"))) ==
        -32602);
  auto typed = post(
    rpc_request(9, "tools/call",
                R"({"name":"create_job","arguments":{"type":"image","model":1,"prompt":"p"}})"));
  CHECK(rpc_error(typed) == -32602);
  CHECK(json::parse(typed.body)["/error/data/field"].str() == "model");
  CHECK(rpc_error(post(rpc_request(10, "initialize", R"({"protocolVersion":7})"))) == -32602);
  CHECK(rpc_error(post(rpc_request(10, "ping", "[]"))) == -32602);

  // Nothing above created a job or moved a credit.
  CHECK(json::parse(http.get("/v1/jobs", account.key).body)["data"].size() == 0);
  CHECK(json::parse(http.get("/v1/balance", account.key).body)["available"].integer() == 50);
}

TEST_CASE("initialize answers the client's protocol version when Kiln speaks it", "[e2e][mcp]") {
  test_server server;
  auto& http = server.http();
  auto account = create_account(http);
  auto initialize = [&](const std::string& version) {
    auto answer = json::parse(
      mcp_post(http, account.key,
               rpc_request(1, "initialize",
                           R"({"protocolVersion":")" + version +
                             R"(","capabilities":{},"clientInfo":{"name":"t","version":"1"}})"))
        .body);
    return answer["result"];
  };
  for (const char* version : {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"})
    CHECK(initialize(version)["protocolVersion"].str() == version);
  auto newer = initialize("2030-01-01");
  CHECK(newer["protocolVersion"].str() == "2025-11-25");
  CHECK(newer["/serverInfo/name"].str() == "kiln");
  CHECK(newer["/capabilities/tools"].is_object());
  CHECK_FALSE(newer["instructions"].str().empty());
  // A client of 2025-03-26 gets no resource_link content, which it would not know.
  CHECK(json::parse(http
                      .request("POST", "/mcp", rpc_request(2, "tools/list"),
                               {{"Content-Type", "application/json"},
                                {"Authorization", "Bearer " + account.key},
                                {"MCP-Protocol-Version", "2025-03-26"}})
                      .body)["/result/tools"]
          .size() == 7);
}

TEST_CASE("Each MCP POST counts against the account's rate like a REST request",
          "[e2e][mcp][rate_limit]") {
  test_server server(sim_devices, R"("plans":[{"name":"free","rank":0,"requests_per_minute":4,)"
                                  R"("max_concurrent_jobs":1}])");
  auto& http = server.http();
  auto account = create_account(http, "free", 10);
  for (int i = 0; i < 4; ++i) REQUIRE(mcp_post(http, account.key, ping).status == 200);
  auto limited = mcp_post(http, account.key, ping);
  CHECK(limited.status == 429);
  CHECK(std::stoi(limited.header("retry-after")) >= 1);
  CHECK(json::parse(limited.body)["/error/code"].str() == "rate_limited");
}

TEST_CASE("Thousands of random MCP messages leave the server healthy and the books balanced",
          "[e2e][mcp][fuzz]") {
  test_server server(sim_devices,
                     R"("plans":[{"name":"pro","rank":2,"requests_per_minute":10000000,)"
                     R"("max_concurrent_jobs":8}])");
  auto& http = server.http();
  auto account = create_account(http, "pro", 1000);
  std::mt19937_64 rng(test_seed("mcp fuzz"));
  auto pick = [&](std::initializer_list<const char*> options) {
    return std::string(*(options.begin() + rng() % options.size()));
  };
  auto random_value = [&](int depth, auto& self) -> std::string {
    switch (rng() % (depth > 2 ? 6 : 8)) {
      case 0:
        return std::to_string(static_cast<std::int64_t>(rng()));
      case 1:
        return pick({"true", "false", "null", "1.5e300", "-0", "\"\"", "4"});
      case 2:
        return "\"" +
               pick({"image", "video", "flux2-turbo", "seedance", "job_x", "\\u0000", "a\\\"b",
                     "\\ud800"}) +
               "\"";
      case 3:
        return "\"" + std::string(rng() % 5000, 'x') + "\"";
      case 4:
        return pick({"1", "2", "60", "61", "-1", "5"});
      case 5:
        return pick({"\"p\"", "\"k\"", "\"queued\""});
      case 6: {
        std::string object = "{";
        int members = static_cast<int>(rng() % 5);
        for (int i = 0; i < members; ++i)
          object += (i ? "," : "") + std::string("\"") +
                    pick({"type", "model", "prompt", "n", "id", "wait_seconds", "limit", "params",
                          "metadata", "idempotency_key", "width", "zz"}) +
                    "\":" + self(depth + 1, self);
        return object + "}";
      }
      default:
        return "[" + self(depth + 1, self) + "]";
    }
  };
  auto random_message = [&] {
    auto id = pick({"1", "\"a\"", "null", "{}", "2.5", "-7"});
    auto method = pick({"initialize", "ping", "tools/list", "tools/call", "tools/call",
                        "notifications/cancelled", "notifications/initialized", "nope", ""});
    std::string params = rng() % 4 == 0
                           ? random_value(0, random_value)
                           : R"({"name":")" +
                               pick({"create_job", "get_job", "list_jobs", "cancel_job",
                                     "estimate_job", "get_balance", "list_models", "x"}) +
                               R"(","arguments":)" + random_value(1, random_value) + "}";
    std::string text = R"({"jsonrpc":")" + pick({"2.0", "2.0", "2.0", "1.0"}) + R"(",)" +
                       (rng() % 5 ? R"("id":)" + id + "," : "") + R"("method":")" + method +
                       R"(","params":)" + params + "}";
    if (rng() % 10 == 0) text.resize(rng() % (text.size() + 1));  // cut short
    if (!text.empty() && rng() % 20 == 0) text[rng() % text.size()] = static_cast<char>(rng());
    return text;
  };

  const int messages = 3000;
  int answered = 0;
  for (int i = 0; i < messages; ++i) {
    auto body = random_message();
    auto answer = mcp_post(http, account.key, body);
    INFO(body.substr(0, 300) << " -> " << answer.status << " " << answer.body.substr(0, 300));
    REQUIRE((answer.status == 200 || answer.status == 202 || answer.status == 400));
    if (answer.status == 202) {
      REQUIRE(answer.body.empty());
      continue;
    }
    auto message = json::parse(answer.body);
    REQUIRE(message["jsonrpc"].str() == "2.0");
    REQUIRE((message.has("result") != message.has("error")));
    ++answered;
  }
  CHECK(answered > messages / 2);
  CHECK(http.get("/healthz").status == 200);
  auto balance = json::parse(http.get("/v1/balance", account.key).body);
  CHECK(balance["granted"].integer() == 1000);
  CHECK(balance["granted"].integer() ==
        balance["available"].integer() + balance["held"].integer() + balance["used"].integer());
  // Still a working MCP server.
  auto created = call_tool(http, account.key, "create_job",
                           R"({"type":"image","model":"flux2-turbo","prompt":"after the storm"})");
  CHECK_FALSE(created["isError"].boolean());
}
