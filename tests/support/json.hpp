// Reading JSON responses in tests: a simdjson DOM document kept alive with its parser, behind a
// small interface so test files need not include simdjson.h. Every accessor throws a
// std::runtime_error that names the path when the value is missing or of another type.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::test {

class json {
public:
  /// Parses `text`; throws (with the text) when it is not JSON.
  static json parse(std::string_view text);

  /// A member of an object, or with a leading '/', a JSON pointer ("/error/details/field").
  json operator[](std::string_view key) const;
  /// An element of an array.
  json operator[](std::size_t index) const;
  json operator[](int index) const { return (*this)[static_cast<std::size_t>(index)]; }

  bool has(std::string_view key) const;  ///< an object with this member
  bool is_null() const;
  bool is_object() const;
  bool is_array() const;
  std::size_t size() const;  ///< elements of an array or members of an object
  std::vector<std::string> keys() const;

  std::string str() const;
  std::int64_t integer() const;
  double number() const;
  bool boolean() const;
  /// The value written back as minified JSON.
  std::string dump() const;

private:
  struct document;
  struct node;
  json(std::shared_ptr<const document> doc, std::shared_ptr<const node> at, std::string path);
  [[noreturn]] void fail(const std::string& what) const;

  std::shared_ptr<const document> doc_;
  std::shared_ptr<const node> node_;
  std::string path_;
};

}  // namespace kiln::test
