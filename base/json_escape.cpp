// JSON string escaping, shared by the JSON writer (answers, records, webhook bodies) and the
// JSON-lines logs, so every JSON Kiln writes escapes text the same way. Text that is not valid
// UTF-8 (a request target's raw bytes, say) never reaches the output as it is: each byte that
// does not start a valid sequence becomes U+FFFD, so every JSON Kiln writes is valid UTF-8.
#include "base/json_escape.hpp"

namespace kiln {
namespace {

constexpr std::string_view replacement = "\xEF\xBF\xBD";  // U+FFFD

bool continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

/// The length of the valid UTF-8 sequence starting at text[i] (a lead byte >= 0x80), or 0 when
/// it is not one: a stray continuation byte, an overlong form, a surrogate, past U+10FFFF, or
/// cut short.
std::size_t sequence_length(std::string_view text, std::size_t i) {
  auto at = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
  unsigned char lead = at(0);
  std::size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 0;
  if (length == 0 || lead > 0xF4 || lead == 0xC0 || lead == 0xC1) return 0;
  if (i + length > text.size()) return 0;
  for (std::size_t k = 1; k < length; ++k)
    if (!continuation(at(k))) return 0;
  if (lead == 0xE0 && at(1) < 0xA0) return 0;   // overlong
  if (lead == 0xED && at(1) >= 0xA0) return 0;  // surrogates
  if (lead == 0xF0 && at(1) < 0x90) return 0;   // overlong
  if (lead == 0xF4 && at(1) >= 0x90) return 0;  // past U+10FFFF
  return length;
}

}  // namespace

void json_escape(std::string& out, std::string_view text) {
  static constexpr char digits[] = "0123456789abcdef";
  for (std::size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      auto length = sequence_length(text, i);
      if (length == 0) {
        out += replacement;
        i += 1;
      } else {
        out.append(text.substr(i, length));
        i += length;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(digits[c >> 4]);
          out.push_back(digits[c & 15]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    i += 1;
  }
}

}  // namespace kiln
