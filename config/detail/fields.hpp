// Private machinery behind load_settings: the kinds of value a configuration key can hold, how each
// kind is read from JSON (the file) or from text (environment, flags), checked and stored, and how
// a JSON object is walked against a table of keys. The tables themselves live in settings.cpp.
#pragma once

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/settings.hpp"

namespace kiln::config_detail {

namespace dom = simdjson::dom;

/// What went wrong, without the "config: " prefix; empty means nothing did.
using problem = std::string;

/// The name an error message gives a value: "http.threads", "devices[1].url", "KILN_DEVICES[0].id".
struct location {
  std::string path;

  location child(std::string_view key) const {
    return {path.empty() ? std::string(key) : path + "." + std::string(key)};
  }
  location item(std::size_t index) const { return {path + "[" + std::to_string(index) + "]"}; }
  std::string quoted() const { return "'" + path + "'"; }
  problem must_be(std::string_view requirement) const {
    return quoted() + " must be " + std::string(requirement);
  }
};

/// Reaches one field of a Root: `&member<&settings::http, &http_settings::threads>` yields
/// s.http.threads.
template <class Root, class T>
using accessor = T& (*)(Root&);

template <class MemberPointer>
struct owner_of;
template <class Class, class T>
struct owner_of<T Class::*> {
  using type = Class;
};

template <auto First, auto... Rest>
auto& member(typename owner_of<decltype(First)>::type& root) {
  return ((root.*First).*....*Rest);
}

// The kinds of key. Each names the field it sets and what a valid value is.

/// A string; `choices` (if any) lists the allowed values, `check` returns a requirement it fails.
template <class Root>
struct text_field {
  accessor<Root, std::string> field;
  std::span<const std::string_view> choices = {};
  std::string_view (*check)(std::string_view) = nullptr;
};

/// An enum spelled as a string; names[i] is the spelling of the enumerator with value i.
template <class Root, class Enum>
struct enum_field {
  accessor<Root, Enum> field;
  std::span<const std::string_view> names;
};

template <class Root, class Int>
struct int_field {
  accessor<Root, Int> field;
  Int min;
  Int max;
};

template <class Root>
struct number_field {
  accessor<Root, double> field;
  double min;
  double max;
};

template <class Root>
struct bool_field {
  accessor<Root, bool> field;
};

/// An array or object, read by its own function; from text it is given as JSON.
template <class Root>
struct json_field {
  problem (*apply)(dom::element value, Root& root, const location& at);
};

template <class Root>
using field = std::variant<text_field<Root>, enum_field<Root, durability_mode>,
                           int_field<Root, std::uint32_t>, int_field<Root, std::uint64_t>,
                           number_field<Root>, bool_field<Root>, json_field<Root>>;

/// One row of a key table: the dotted path (relative to Root) and what it holds.
template <class Root>
struct key_spec {
  std::string_view path;
  field<Root> value;
};

// Reading a raw value from either source. Each returns false when the value has the wrong type.

inline bool read(dom::element value, std::string_view& out) { return !value.get_string().get(out); }
inline bool read(dom::element value, std::uint64_t& out) { return !value.get_uint64().get(out); }
inline bool read(dom::element value, double& out) { return !value.get_double().get(out); }
inline bool read(dom::element value, bool& out) { return !value.get_bool().get(out); }

inline bool read(std::string_view text, std::string_view& out) {
  out = text;
  return true;
}
template <class Number>
bool read_number(std::string_view text, Number& out) {
  const char* end = text.data() + text.size();
  auto [stop, error] = std::from_chars(text.data(), end, out);
  return error == std::errc() && stop == end;
}
inline bool read(std::string_view text, std::uint64_t& out) { return read_number(text, out); }
inline bool read(std::string_view text, double& out) { return read_number(text, out); }
inline bool read(std::string_view text, bool& out) {
  if (text == "true" || text == "1") return out = true, true;
  if (text == "false" || text == "0") return out = false, true;
  return false;
}

/// "one of a, b, c"
inline std::string one_of(std::span<const std::string_view> names) {
  std::string text = "one of ";
  for (std::size_t i = 0; i < names.size(); ++i) text += (i ? ", " : "") + std::string(names[i]);
  return text;
}

/// The shortest text that reads back as `number`: "0", "0.5", "1".
inline std::string format_number(double number) {
  char buffer[32];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, number);
  return std::string(buffer, error == std::errc() ? end : buffer);
}

// Checking and storing a value of each kind; Source is dom::element or std::string_view.

template <class Root, class Source>
problem apply_kind(const text_field<Root>& kind, Source source, Root& root, const location& at) {
  std::string_view text;
  if (!read(source, text)) return at.must_be("a string");
  if (!kind.choices.empty() &&
      std::find(kind.choices.begin(), kind.choices.end(), text) == kind.choices.end())
    return at.must_be(one_of(kind.choices));
  if (kind.check)
    if (std::string_view requirement = kind.check(text); !requirement.empty())
      return at.must_be(requirement);
  kind.field(root) = std::string(text);
  return {};
}

template <class Root, class Enum, class Source>
problem apply_kind(const enum_field<Root, Enum>& kind, Source source, Root& root,
                   const location& at) {
  std::string_view text;
  if (read(source, text))
    for (std::size_t i = 0; i < kind.names.size(); ++i)
      if (kind.names[i] == text) return kind.field(root) = static_cast<Enum>(i), problem{};
  return at.must_be(one_of(kind.names));
}

template <class Root, class Int, class Source>
problem apply_kind(const int_field<Root, Int>& kind, Source source, Root& root,
                   const location& at) {
  std::uint64_t number = 0;
  if (!read(source, number) || number < kind.min || number > kind.max)
    return at.must_be("an integer from " + std::to_string(kind.min) + " to " +
                      std::to_string(kind.max));
  kind.field(root) = static_cast<Int>(number);
  return {};
}

template <class Root, class Source>
problem apply_kind(const number_field<Root>& kind, Source source, Root& root, const location& at) {
  double number = 0;
  if (!read(source, number) || !(number >= kind.min && number <= kind.max))  // also rejects NaN
    return at.must_be("a number from " + format_number(kind.min) + " to " +
                      format_number(kind.max));
  kind.field(root) = number;
  return {};
}

template <class Root, class Source>
problem apply_kind(const bool_field<Root>& kind, Source source, Root& root, const location& at) {
  bool flag = false;
  if (!read(source, flag)) return at.must_be("true or false");
  kind.field(root) = flag;
  return {};
}

template <class Root>
problem apply_kind(const json_field<Root>& kind, dom::element value, Root& root,
                   const location& at) {
  return kind.apply(value, root, at);
}

template <class Root>
problem apply_kind(const json_field<Root>& kind, std::string_view text, Root& root,
                   const location& at) {
  simdjson::padded_string padded(text);
  dom::parser parser;
  dom::element value;
  if (auto error = parser.parse(padded).get(value))
    return at.must_be("valid JSON") + " (" + simdjson::error_message(error) + ")";
  return kind.apply(value, root, at);
}

/// Checks `source` against the key's kind and stores it in `root`.
template <class Root, class Source>
problem apply(const field<Root>& key, Source source, Root& root, const location& at) {
  return std::visit([&](const auto& kind) { return apply_kind(kind, source, root, at); }, key);
}

template <class Root>
const key_spec<Root>* find_key(std::span<const key_spec<Root>> table, std::string_view path) {
  for (const auto& spec : table)
    if (spec.path == path) return &spec;
  return nullptr;
}

/// True when `path` is a group of keys such as "http" (some key starts with "http.").
template <class Root>
bool is_group(std::span<const key_spec<Root>> table, std::string_view path) {
  for (const auto& spec : table)
    if (spec.path.size() > path.size() && spec.path.starts_with(path) &&
        spec.path[path.size()] == '.')
      return true;
  return false;
}

/// Applies every member of the JSON object `value` (at group `prefix` of the table) to `root`;
/// stops at the first unknown or repeated key, wrong type or out-of-range value.
template <class Root>
problem apply_object(std::span<const key_spec<Root>> table, dom::element value, Root& root,
                     const location& at, const std::string& prefix = {}) {
  dom::object object;
  if (value.get_object().get(object)) return at.must_be("an object");
  std::set<std::string_view> seen;
  for (auto [key, member_value] : object) {
    location here = at.child(key);
    if (!seen.insert(key).second) return "duplicate key " + here.quoted();
    std::string path = prefix.empty() ? std::string(key) : prefix + "." + std::string(key);
    problem trouble;
    if (const key_spec<Root>* spec = find_key(table, path))
      trouble = apply(spec->value, member_value, root, here);
    else if (is_group(table, path)) trouble = apply_object(table, member_value, root, here, path);
    else return "unknown key " + here.quoted();
    if (!trouble.empty()) return trouble;
  }
  return {};
}

/// Reads a non-empty array of objects described by `keys`, each starting from Item{}; the member
/// `name` (key `name_key`) must be present and unique, and `finish` (if any) checks each item.
template <class Item>
problem read_named_list(dom::element value, const location& at,
                        std::span<const key_spec<Item>> keys, std::string Item::*name,
                        std::string_view name_key, problem (*finish)(const Item&, const location&),
                        std::vector<Item>& out) {
  dom::array array;
  if (value.get_array().get(array) || array.size() == 0)
    return at.must_be("a non-empty array of objects");
  std::vector<Item> items;
  std::set<std::string> names;
  for (dom::element element : array) {
    location here = at.item(items.size());
    Item item;
    if (problem trouble = apply_object(keys, element, item, here); !trouble.empty()) return trouble;
    location name_at = here.child(name_key);
    if ((item.*name).empty()) return name_at.quoted() + " is required";
    if (!names.insert(item.*name).second) return name_at.quoted() + " repeats '" + item.*name + "'";
    if (finish)
      if (problem trouble = finish(item, here); !trouble.empty()) return trouble;
    items.push_back(std::move(item));
  }
  out = std::move(items);
  return {};
}

}  // namespace kiln::config_detail
