// The JSON Schema subset checker (see json_schema.hpp).
#include "tests/support/json_schema.hpp"

#include <simdjson.h>

#include <stdexcept>

namespace kiln::test {
namespace dom = simdjson::dom;
namespace {

bool has_type(dom::element value, std::string_view type) {
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  if (type == "string") return value.is_string();
  if (type == "integer") return value.is_int64() || value.is_uint64();
  if (type == "number") return value.is_number();
  if (type == "boolean") return value.is_bool();
  if (type == "null") return value.is_null();
  throw std::runtime_error("schema: unknown type " + std::string(type));
}

std::string check(dom::element schema, dom::element value, const std::string& at);

dom::array array_of(dom::element e) {
  dom::array a;
  if (e.get_array().get(a)) throw std::runtime_error("schema: expected an array");
  return a;
}

dom::object object_of(dom::element e) {
  dom::object o;
  if (e.get_object().get(o)) throw std::runtime_error("schema: expected an object");
  return o;
}

std::string_view string_of(dom::element e) {
  std::string_view text;
  if (e.get_string().get(text)) throw std::runtime_error("schema: expected a string");
  return text;
}

std::string check_type(dom::element type, dom::element value, const std::string& at) {
  if (type.is_string()) {
    auto name = string_of(type);
    return has_type(value, name) ? "" : at + ": not " + std::string(name);
  }
  std::string names;
  for (dom::element one : array_of(type)) {
    auto name = string_of(one);
    if (has_type(value, name)) return "";
    names += (names.empty() ? "" : " or ") + std::string(name);
  }
  return at + ": not " + names;
}

std::string check(dom::element schema, dom::element value, const std::string& at) {
  dom::object rules;
  if (schema.get_object().get(rules)) throw std::runtime_error("schema: not an object at " + at);
  for (auto [keyword, rule] : rules) {
    std::string problem;
    if (keyword == "type") problem = check_type(rule, value, at);
    else if (keyword == "required" && value.is_object()) {
      for (dom::element name : array_of(rule)) {
        auto key = string_of(name);
        if (value[key].error()) problem = at + ": " + std::string(key) + " is missing";
      }
    } else if (keyword == "properties" && value.is_object()) {
      for (auto [name, sub] : object_of(rule)) {
        dom::element member;
        if (!value[name].get(member)) problem = check(sub, member, at + "/" + std::string(name));
        if (!problem.empty()) break;
      }
    } else if (keyword == "additionalProperties" && value.is_object()) {
      if (rule.is_bool() && !rule.get_bool().value_unsafe()) {
        dom::object known;
        bool has_known = !rules["properties"].get_object().get(known);
        for (auto [name, member] : object_of(value))
          if (!has_known || known[name].error())
            problem = at + ": " + std::string(name) + " is not allowed";
      }
    } else if (keyword == "items" && value.is_array()) {
      std::size_t index = 0;
      for (dom::element item : array_of(value)) {
        problem = check(rule, item, at + "/" + std::to_string(index++));
        if (!problem.empty()) break;
      }
    } else if (keyword == "anyOf") {
      std::string reasons;
      bool any = false;
      for (dom::element branch : array_of(rule)) {
        auto why = check(branch, value, at);
        if (why.empty()) any = true;
        else reasons += (reasons.empty() ? "" : "; ") + why;
      }
      if (!any) problem = at + ": no anyOf branch matches (" + reasons + ")";
    } else if (keyword == "enum" || keyword == "const") {
      bool found = false;
      auto wanted = simdjson::minify(value);
      if (keyword == "const") found = simdjson::minify(rule) == wanted;
      else
        for (dom::element option : array_of(rule))
          found = found || simdjson::minify(option) == wanted;
      if (!found) problem = at + ": " + wanted + " is not allowed";
    } else if ((keyword == "minimum" || keyword == "maximum") && value.is_number()) {
      double limit = rule.get_double().value_unsafe(), number = value.get_double().value_unsafe();
      if (keyword == "minimum" ? number < limit : number > limit)
        problem = at + ": " + simdjson::minify(value) + " is out of range";
    } else if (keyword != "description" && keyword != "minLength" && keyword != "maxLength" &&
               keyword != "required" && keyword != "properties" && keyword != "items" &&
               keyword != "additionalProperties" && keyword != "minimum" && keyword != "maximum") {
      throw std::runtime_error("schema: unknown keyword " + std::string(keyword));
    }
    if (!problem.empty()) return problem;
  }
  return "";
}

}  // namespace

std::string schema_violation(std::string_view schema_text, std::string_view value_text) {
  dom::parser schema_parser, value_parser;
  dom::element schema, value;
  if (schema_parser.parse(schema_text.data(), schema_text.size()).get(schema))
    throw std::runtime_error("schema is not JSON: " + std::string(schema_text));
  if (value_parser.parse(value_text.data(), value_text.size()).get(value))
    throw std::runtime_error("value is not JSON: " + std::string(value_text));
  return check(schema, value, "");
}

}  // namespace kiln::test
