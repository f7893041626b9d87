// JSON string escaping, shared by the JSON writer (answers, records, webhook bodies) and the
// JSON-lines logs, so every JSON Kiln writes escapes text the same way.
#include "base/json_escape.hpp"

namespace kiln {

void json_escape(std::string& out, std::string_view text) {
  static constexpr char digits[] = "0123456789abcdef";
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
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
          out.push_back(ch);
        }
    }
  }
}

}  // namespace kiln
