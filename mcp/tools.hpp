// An MCP tool set as a table: each tool's name, arguments (from which its inputSchema is made and
// its arguments are checked), outputSchema, and how a call becomes a request to the REST routes
// and the REST answer becomes the tool's result. The tools run nowhere else: a tool set is a
// front end over the same routes a REST client calls, so idempotency, holds, waits and errors
// are the REST ones. Another tool set mounts the same way (mcp/endpoint.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace simdjson::dom {
class object;
}

namespace kiln::mcp {

enum class argument_type { string, integer, boolean, object, array };

struct argument {
  std::string_view name;
  argument_type type = argument_type::string;
  bool required = false;
  std::string_view description;
  std::optional<std::int64_t> minimum;  ///< integers: checked, and published in the schema
  std::optional<std::int64_t> maximum;
  std::vector<std::string_view> one_of;    ///< strings: the allowed values ("enum")
  std::optional<std::int64_t> max_length;  ///< strings: published, left to the REST checks
  /// The property's whole JSON Schema, where the fields above cannot say it (nested objects);
  /// the type is still checked here, the rest by the REST routes.
  std::string_view schema;
};

/// A request to the REST routes, made from a tool's arguments.
struct rest_call {
  std::string method;
  std::string target;                                        ///< path and query
  std::string body;                                          ///< JSON; empty for none
  std::vector<std::pair<std::string, std::string>> headers;  ///< names lower-case
};

struct tool {
  std::string_view name;
  std::string_view title;
  std::string_view description;
  std::vector<argument> arguments;
  /// The JSON Schema of a successful result's structuredContent. A failed call's
  /// {"error": {...}} is added to it as the other branch of an anyOf.
  std::string_view success_schema;
  /// The REST request for checked arguments.
  rest_call (*to_rest)(const simdjson::dom::object& arguments) = nullptr;
  /// The structuredContent for a 2xx REST body; null: the body as it is.
  std::string (*to_result)(std::string_view rest_body) = nullptr;
};

struct tool_set {
  std::string_view name;          ///< "kiln"
  std::string_view instructions;  ///< sent in the initialize result
  std::vector<tool> tools;

  const tool* find(std::string_view tool_name) const;
};

/// Tool set `kiln` (POST /mcp): Kiln's own REST API as tools.
const tool_set& kiln_tools();

/// The tools/list result of a tool set: {"tools": [{name, title, description, inputSchema,
/// outputSchema}]}.
std::string list_result(const tool_set& tools);
/// A tool's full outputSchema: {"type":"object","anyOf":[success, error]}.
std::string output_schema(const tool& t);

/// What is wrong with a call's arguments: the argument and why.
struct argument_problem {
  std::string field;
  std::string message;
};
/// Checks the arguments against the tool's table: known names only, required ones present, JSON
/// types, integer bounds and allowed strings.
std::optional<argument_problem> check_arguments(const tool& t,
                                                const simdjson::dom::object& arguments);

/// The tools/call result for a REST answer: structuredContent (the tool's result, or
/// {"error": {code, message, field?}} with isError for a 4xx/5xx), a text copy,
/// and, when `links`, one resource_link per output file (protocol 2025-06-18 and later).
std::string call_result(const tool& t, int status, std::string_view body, bool links);

/// "a b/c" -> "a%20b%2Fc": a value placed in a path segment or a query.
std::string url_encoded(std::string_view text);

}  // namespace kiln::mcp
