// The parts every tool set shares: schemas from the argument tables, the argument checks, and
// REST answers turned into tools/call results.
#include "mcp/tools.hpp"

#include "models/json_read.hpp"
#include "models/json_writer.hpp"

#include <simdjson.h>

namespace kiln::mcp {
namespace dom = simdjson::dom;

namespace {

constexpr std::string_view error_schema =
  R"({"type":"object","required":["error"],"properties":{"error":{"type":"object",)"
  R"("required":["code","message"],"properties":{"code":{"type":"string"},)"
  R"("message":{"type":"string"},"field":{"type":"string"}}}}})";

std::string_view type_name(argument_type type) {
  switch (type) {
    case argument_type::string:
      return "string";
    case argument_type::integer:
      return "integer";
    case argument_type::boolean:
      return "boolean";
    case argument_type::object:
      return "object";
    case argument_type::array:
      return "array";
  }
  return "string";
}

bool has_type(dom::element value, argument_type type) {
  switch (type) {
    case argument_type::string:
      return value.is_string();
    case argument_type::integer:
      return value.is_int64() || value.is_uint64();
    case argument_type::boolean:
      return value.is_bool();
    case argument_type::object:
      return value.is_object();
    case argument_type::array:
      return value.is_array();
  }
  return false;
}

void write_input_schema(json_writer& w, const tool& t) {
  w.begin_object().field("type", "object").key("properties").begin_object();
  for (const auto& a : t.arguments) {
    if (!a.schema.empty()) {
      w.key(a.name).raw(a.schema);
      continue;
    }
    w.key(a.name).begin_object().field("type", type_name(a.type));
    if (!a.description.empty()) w.field("description", a.description);
    if (a.minimum) w.field("minimum", *a.minimum);
    if (a.maximum) w.field("maximum", *a.maximum);
    if (!a.one_of.empty()) {
      w.key("enum").begin_array();
      for (auto value : a.one_of) w.value(value);
      w.end_array();
    }
    if (a.max_length) w.field("minLength", std::int64_t{1}).field("maxLength", *a.max_length);
    w.end_object();
  }
  w.end_object().key("required").begin_array();
  for (const auto& a : t.arguments)
    if (a.required) w.value(a.name);
  w.end_array().field("additionalProperties", false).end_object();
}

/// The file name of a signed output URL (".../v1/files/NAME?expires=...").
std::string_view file_name(std::string_view url) {
  url = url.substr(0, url.find('?'));
  auto slash = url.rfind('/');
  return slash == std::string_view::npos ? url : url.substr(slash + 1);
}

/// One resource_link per entry of the result's top-level "output" array.
void write_links(json_writer& w, std::string_view structured) {
  dom::parser parser;
  dom::object object;
  if (parser.parse(structured.data(), structured.size()).get_object().get(object)) return;
  dom::array outputs;
  if (object["output"].get_array().get(outputs)) return;
  for (dom::element output : outputs) {
    std::string_view url, content_type;
    std::int64_t bytes = 0;
    if (output["url"].get_string().get(url)) continue;
    w.begin_object().field("type", "resource_link").field("uri", url).field("name", file_name(url));
    if (!output["content_type"].get_string().get(content_type)) w.field("mimeType", content_type);
    if (!output["bytes"].get_int64().get(bytes)) w.field("size", bytes);
    w.end_object();
  }
}

/// {"error": {code, message, field?}} from a REST error body.
std::string error_content(int status, std::string_view body) {
  dom::parser parser;
  dom::element error;
  std::string_view code = status == 503 ? "unavailable" : "server_error",
                   message = "the request failed", field;
  if (!parser.parse(body.data(), body.size())["error"].get(error)) {
    code = json_read::text_or(error["code"], code);
    message = json_read::text_or(error["message"], message);
    field = json_read::text_or(error["details"]["field"]);
  }
  json_writer w;
  w.begin_object().key("error").begin_object().field("code", code).field("message", message);
  if (!field.empty()) w.field("field", field);
  w.end_object().end_object();
  return w.take();
}

}  // namespace

const tool* tool_set::find(std::string_view tool_name) const {
  for (const auto& t : tools)
    if (t.name == tool_name) return &t;
  return nullptr;
}

std::string output_schema(const tool& t) {
  json_writer w;
  w.begin_object()
    .field("type", "object")
    .key("anyOf")
    .begin_array()
    .raw(t.success_schema)
    .raw(error_schema)
    .end_array()
    .end_object();
  return w.take();
}

std::string list_result(const tool_set& tools) {
  json_writer w;
  w.begin_object().key("tools").begin_array();
  for (const auto& t : tools.tools) {
    w.begin_object()
      .field("name", t.name)
      .field("title", t.title)
      .field("description", t.description)
      .key("inputSchema");
    write_input_schema(w, t);
    w.key("outputSchema").raw(output_schema(t)).end_object();
  }
  w.end_array().end_object();
  return w.take();
}

std::optional<argument_problem> check_arguments(const tool& t, const dom::object& arguments) {
  for (auto [key, value] : arguments) {
    const argument* known = nullptr;
    for (const auto& a : t.arguments)
      if (a.name == key) known = &a;
    if (!known)
      return argument_problem{std::string(key), "unknown argument for " + std::string(t.name)};
    auto name = std::string(key);
    if (!has_type(value, known->type))
      return argument_problem{
        name, "must be " + std::string(known->type == argument_type::integer ? "an " : "a ") +
                std::string(type_name(known->type))};
    if (known->type == argument_type::integer) {
      std::int64_t number = 0;
      bool fits = value.get_int64().get(number) == simdjson::SUCCESS;
      if (!fits || (known->minimum && number < *known->minimum) ||
          (known->maximum && number > *known->maximum))
        return argument_problem{name, "must be from " + std::to_string(known->minimum.value_or(0)) +
                                        " to " + std::to_string(known->maximum.value_or(0))};
    }
    if (!known->one_of.empty()) {
      auto text = value.is_string() ? std::string_view(value.get_string().value_unsafe()) : "";
      bool allowed = false;
      std::string list;
      for (auto option : known->one_of) {
        allowed = allowed || option == text;
        list += (list.empty() ? "" : ", ") + std::string(option);
      }
      if (!allowed) return argument_problem{name, "must be one of " + list};
    }
  }
  for (const auto& a : t.arguments) {
    dom::element ignored;
    if (a.required && arguments[a.name].get(ignored) != simdjson::SUCCESS)
      return argument_problem{std::string(a.name), "is required"};
  }
  return std::nullopt;
}

std::string call_result(const tool& t, int status, std::string_view body, bool links) {
  bool failed = status < 200 || status > 299;
  std::string structured = failed        ? error_content(status, body)
                           : t.to_result ? t.to_result(body)
                                         : std::string(body);
  json_writer w;
  w.begin_object().key("content").begin_array();
  w.begin_object().field("type", "text").field("text", structured).end_object();
  if (links && !failed) write_links(w, structured);
  w.end_array().key("structuredContent").raw(structured).field("isError", failed).end_object();
  return w.take();
}

std::string url_encoded(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out.push_back(char(c));
    else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

}  // namespace kiln::mcp
