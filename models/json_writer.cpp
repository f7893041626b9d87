// Implementation of the JSON writer and the RFC 3339 time formatter.
#include "models/json_writer.hpp"

#include <charconv>
#include <cstdio>
#include <ctime>

namespace kiln {

void json_writer::before_value() {
  if (need_comma_) out_.push_back(',');
  need_comma_ = true;
}

json_writer& json_writer::begin_object() {
  before_value();
  out_.push_back('{');
  need_comma_ = false;
  return *this;
}

json_writer& json_writer::end_object() {
  out_.push_back('}');
  need_comma_ = true;
  return *this;
}

json_writer& json_writer::begin_array() {
  before_value();
  out_.push_back('[');
  need_comma_ = false;
  return *this;
}

json_writer& json_writer::end_array() {
  out_.push_back(']');
  need_comma_ = true;
  return *this;
}

json_writer& json_writer::key(std::string_view name) {
  before_value();
  out_.push_back('"');
  json_escape(out_, name);
  out_ += "\":";
  need_comma_ = false;
  return *this;
}

json_writer& json_writer::value(std::string_view text) {
  before_value();
  out_.push_back('"');
  json_escape(out_, text);
  out_.push_back('"');
  return *this;
}

json_writer& json_writer::value(std::int64_t number) {
  before_value();
  char buffer[24];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, number);
  out_.append(buffer, result.ptr);
  return *this;
}

json_writer& json_writer::value(std::uint64_t number) {
  before_value();
  char buffer[24];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, number);
  out_.append(buffer, result.ptr);
  return *this;
}

json_writer& json_writer::value(double number) {
  before_value();
  char buffer[32];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, number);
  out_.append(buffer, result.ptr);
  return *this;
}

json_writer& json_writer::value(bool flag) {
  before_value();
  out_ += flag ? "true" : "false";
  return *this;
}

json_writer& json_writer::null() {
  before_value();
  out_ += "null";
  return *this;
}

json_writer& json_writer::raw(std::string_view json) {
  before_value();
  out_ += json;
  return *this;
}

std::string format_time_ms(std::int64_t unix_ms) {
  std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900,
                parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec,
                static_cast<int>(unix_ms % 1000));
  return buffer;
}

}  // namespace kiln

namespace kiln {

std::string format_day(std::int64_t unix_ms) { return format_time_ms(unix_ms).substr(0, 10); }

void time_or_null(json_writer& w, std::string_view name, std::int64_t ms) {
  w.key(name);
  if (ms == 0) w.null();
  else w.value(format_time_ms(ms));
}

std::optional<std::int64_t> parse_time_ms(std::string_view text) {
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
      text[16] != ':')
    return std::nullopt;
  auto number = [&](std::size_t at, std::size_t digits, int& out) {
    auto [end, ec] = std::from_chars(text.data() + at, text.data() + at + digits, out);
    return ec == std::errc{} && end == text.data() + at + digits;
  };
  std::tm parts{};
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, millis = 0;
  if (!number(0, 4, year) || !number(5, 2, month) || !number(8, 2, day) || !number(11, 2, hour) ||
      !number(14, 2, minute) || !number(17, 2, second))
    return std::nullopt;
  auto rest = text.substr(19);
  if (!rest.empty() && rest.front() == '.') {
    std::size_t digits = 1;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
    if (digits != 4) return std::nullopt;  // milliseconds: three digits
    if (!number(20, 3, millis)) return std::nullopt;
    rest.remove_prefix(4);
  }
  if (rest != "Z" && rest != "+00:00") return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
    return std::nullopt;
  parts.tm_year = year - 1900;
  parts.tm_mon = month - 1;
  parts.tm_mday = day;
  parts.tm_hour = hour;
  parts.tm_min = minute;
  parts.tm_sec = second;
  return static_cast<std::int64_t>(timegm(&parts)) * 1000 + millis;
}

}  // namespace kiln
