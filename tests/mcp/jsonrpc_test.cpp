// JSON-RPC framing: what a message is, which error each malformed one gets, and the id that
// error is answered under.
#include "mcp/jsonrpc.hpp"
#include "tests/support/json.hpp"

#include <catch2/catch.hpp>

using namespace kiln::mcp;
using kiln::test::json;

TEST_CASE("Requests, notifications and client answers are told apart", "[mcp][jsonrpc]") {
  auto request = parse_message(R"({"jsonrpc":"2.0","id":7,"method":"tools/list"})");
  REQUIRE(request.value);
  CHECK(request.value->kind == message_kind::request);
  CHECK(request.value->id == "7");
  CHECK(request.value->method == "tools/list");
  CHECK(request.value->params == "{}");

  auto named = parse_message(R"({"jsonrpc":"2.0","id":"a\"b","method":"ping","params":{"x":1}})");
  REQUIRE(named.value);
  CHECK(named.value->id == R"("a\"b")");
  CHECK(named.value->params == R"({"x":1})");

  auto notification = parse_message(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  REQUIRE(notification.value);
  CHECK(notification.value->kind == message_kind::notification);
  CHECK(notification.value->id.empty());

  auto answer = parse_message(R"({"jsonrpc":"2.0","id":3,"result":{}})");
  REQUIRE(answer.value);
  CHECK(answer.value->kind == message_kind::response);
  auto failed = parse_message(R"({"jsonrpc":"2.0","id":"s1","error":{"code":1,"message":"x"}})");
  REQUIRE(failed.value);
  CHECK(failed.value->kind == message_kind::response);
}

TEST_CASE("Each malformed message gets the JSON-RPC error code the spec names", "[mcp][jsonrpc]") {
  struct example {
    const char* text;
    int code;
    const char* id;
  };
  const example examples[] = {
    {"", rpc::parse_error, "null"},
    {"{\"jsonrpc\":\"2.0\",", rpc::parse_error, "null"},
    {"not json", rpc::parse_error, "null"},
    {R"([{"jsonrpc":"2.0","id":1,"method":"ping"}])", rpc::invalid_request, "null"},
    {"[]", rpc::invalid_request, "null"},
    {"42", rpc::invalid_request, "null"},
    {R"({"id":1,"method":"ping"})", rpc::invalid_request, "1"},
    {R"({"jsonrpc":"1.0","id":"x","method":"ping"})", rpc::invalid_request, "\"x\""},
    {R"({"jsonrpc":"2.0","id":null,"method":"ping"})", rpc::invalid_request, "null"},
    {R"({"jsonrpc":"2.0","id":{"a":1},"method":"ping"})", rpc::invalid_request, "null"},
    {R"({"jsonrpc":"2.0","id":true,"method":"ping"})", rpc::invalid_request, "null"},
    {R"({"jsonrpc":"2.0","id":2,"method":5})", rpc::invalid_request, "2"},
    {R"({"jsonrpc":"2.0","id":2,"method":""})", rpc::invalid_request, "2"},
    {R"({"jsonrpc":"2.0","id":2})", rpc::invalid_request, "2"},
    {R"({"jsonrpc":"2.0","result":{}})", rpc::invalid_request, "null"},
    {R"({"jsonrpc":"2.0","id":3,"method":"ping","params":[1]})", rpc::invalid_params, "3"},
    {R"({"jsonrpc":"2.0","id":3,"method":"ping","params":"x"})", rpc::invalid_params, "3"},
  };
  for (const auto& e : examples) {
    INFO(e.text);
    auto parsed = parse_message(e.text);
    CHECK_FALSE(parsed.value);
    CHECK(parsed.error_code == e.code);
    CHECK(parsed.id == e.id);
    CHECK_FALSE(parsed.error_message.empty());
  }
}

TEST_CASE("Answers are JSON-RPC 2.0 objects under the request's id", "[mcp][jsonrpc]") {
  auto result = json::parse(result_message("\"q\"", R"({"tools":[]})"));
  CHECK(result["jsonrpc"].str() == "2.0");
  CHECK(result["id"].str() == "q");
  CHECK(result["/result/tools"].size() == 0);

  auto error =
    json::parse(error_message("9", rpc::invalid_params, "bad \"x\"", R"({"field":"x"})"));
  CHECK(error["id"].integer() == 9);
  CHECK(error["/error/code"].integer() == -32602);
  CHECK(error["/error/message"].str() == "bad \"x\"");
  CHECK(error["/error/data/field"].str() == "x");
  CHECK_FALSE(json::parse(error_message("null", rpc::parse_error, "p")).has("result"));
  CHECK(json::parse(error_message("null", rpc::parse_error, "p"))["id"].is_null());
}
