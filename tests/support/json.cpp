// simdjson DOM behind kiln::test::json.
#include "tests/support/json.hpp"

#include <simdjson.h>

#include <stdexcept>

namespace kiln::test {

struct json::document {
  simdjson::dom::parser parser;  ///< owns the tape every element points into
  std::string text;
};

struct json::node {
  simdjson::dom::element element;
};

json::json(std::shared_ptr<const document> doc, std::shared_ptr<const node> at, std::string path)
  : doc_(std::move(doc)), node_(std::move(at)), path_(std::move(path)) {}

json json::parse(std::string_view text) {
  auto doc = std::make_shared<document>();
  doc->text = std::string(text);
  simdjson::dom::element root;
  if (auto error = doc->parser.parse(doc->text).get(root))
    throw std::runtime_error(std::string("not JSON (") + simdjson::error_message(error) +
                             "): " + doc->text.substr(0, 2000));
  return json(doc, std::make_shared<node>(node{root}), "");
}

void json::fail(const std::string& what) const {
  throw std::runtime_error("JSON " + (path_.empty() ? std::string("(root)") : path_) + ": " + what +
                           " in " + doc_->text.substr(0, 2000));
}

json json::operator[](std::string_view key) const {
  simdjson::dom::element found;
  if (!key.empty() && key.front() == '/') {
    if (node_->element.at_pointer(key).get(found) != simdjson::SUCCESS)
      json(doc_, node_, path_ + std::string(key)).fail("no such value");
    return json(doc_, std::make_shared<node>(node{found}), path_ + std::string(key));
  }
  std::string path = path_ + "/" + std::string(key);
  simdjson::dom::object object;
  if (node_->element.get_object().get(object) != simdjson::SUCCESS) fail("not an object");
  if (object.at_key(key).get(found) != simdjson::SUCCESS) json(doc_, node_, path).fail("missing");
  return json(doc_, std::make_shared<node>(node{found}), path);
}

json json::operator[](std::size_t index) const {
  std::string path = path_ + "/" + std::to_string(index);
  simdjson::dom::array array;
  if (node_->element.get_array().get(array) != simdjson::SUCCESS) fail("not an array");
  simdjson::dom::element found;
  if (array.at(index).get(found) != simdjson::SUCCESS) json(doc_, node_, path).fail("out of range");
  return json(doc_, std::make_shared<node>(node{found}), path);
}

bool json::has(std::string_view key) const {
  simdjson::dom::object object;
  if (node_->element.get_object().get(object) != simdjson::SUCCESS) return false;
  return object.at_key(key).error() == simdjson::SUCCESS;
}

bool json::is_null() const { return node_->element.is_null(); }
bool json::is_object() const { return node_->element.is_object(); }
bool json::is_array() const { return node_->element.is_array(); }

std::size_t json::size() const {
  simdjson::dom::array array;
  if (node_->element.get_array().get(array) == simdjson::SUCCESS) return array.size();
  simdjson::dom::object object;
  if (node_->element.get_object().get(object) == simdjson::SUCCESS) return object.size();
  fail("neither an array nor an object");
}

std::vector<std::string> json::keys() const {
  simdjson::dom::object object;
  if (node_->element.get_object().get(object) != simdjson::SUCCESS) fail("not an object");
  std::vector<std::string> result;
  for (auto field : object) result.emplace_back(field.key);
  return result;
}

std::string json::str() const {
  std::string_view text;
  if (node_->element.get_string().get(text) != simdjson::SUCCESS) fail("not a string");
  return std::string(text);
}

std::int64_t json::integer() const {
  std::int64_t value = 0;
  if (node_->element.get_int64().get(value) != simdjson::SUCCESS) fail("not an integer");
  return value;
}

double json::number() const {
  double value = 0;
  if (node_->element.get_double().get(value) != simdjson::SUCCESS) fail("not a number");
  return value;
}

bool json::boolean() const {
  bool value = false;
  if (node_->element.get_bool().get(value) != simdjson::SUCCESS) fail("not a boolean");
  return value;
}

std::string json::dump() const { return simdjson::minify(node_->element); }

}  // namespace kiln::test
