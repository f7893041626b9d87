// A small streaming JSON writer: objects, arrays, escaped strings, integers, booleans and null.
// Commas are placed automatically, so callers write keys and values in order and nothing else.
#pragma once

#include "base/json_escape.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kiln {

class json_writer {
public:
  json_writer& begin_object();
  json_writer& end_object();
  json_writer& begin_array();
  json_writer& end_array();
  json_writer& key(std::string_view name);
  json_writer& value(std::string_view text);
  json_writer& value(const char* text) { return value(std::string_view(text)); }
  json_writer& value(const std::string& text) { return value(std::string_view(text)); }
  json_writer& value(std::int64_t number);
  json_writer& value(std::uint64_t number);
  json_writer& value(int number) { return value(static_cast<std::int64_t>(number)); }
  json_writer& value(std::uint32_t number) { return value(static_cast<std::uint64_t>(number)); }
  json_writer& value(double number);
  json_writer& value(bool flag);
  json_writer& null();
  /// Inserts already-encoded JSON as one value.
  json_writer& raw(std::string_view json);

  template <class T>
  json_writer& field(std::string_view name, const T& v) {
    key(name);
    return value(v);
  }

  const std::string& str() const { return out_; }
  std::string take() { return std::move(out_); }

private:
  void before_value();
  std::string out_;
  bool need_comma_ = false;
};

/// RFC 3339 UTC with milliseconds and Z, e.g. "2026-11-24T10:09:29.123Z".
std::string format_time_ms(std::int64_t unix_ms);
/// The instant of an RFC 3339 UTC time ("2026-11-24T10:09:29Z", with .mmm or not, Z or +00:00);
/// nullopt for anything else.
std::optional<std::int64_t> parse_time_ms(std::string_view text);
/// The UTC date, e.g. "2026-11-24".
std::string format_day(std::int64_t unix_ms);
/// Writes `ms` as an RFC 3339 time under `name`, or null when it is 0 (not yet).
void time_or_null(json_writer& w, std::string_view name, std::int64_t ms);

}  // namespace kiln
