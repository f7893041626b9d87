// The outbound client's rules; see the header.
#include "outbound/detail/http_rules.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <cctype>

namespace kiln::outbound::detail {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;

namespace {

bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return c != '\0' && std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

}  // namespace

bool is_token(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), is_token_char);
}

bool valid_header(const std::string& name, const std::string& value) {
  return is_token(name) && value.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos;
}

bool is_reserved_header(std::string_view name) {
  auto equals = [&](std::string_view other) {
    if (name.size() != other.size()) return false;
    for (std::size_t i = 0; i < name.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(name[i])) != other[i]) return false;
    return true;
  };
  return equals("host") || equals("content-length") || equals("transfer-encoding") ||
         equals("connection");
}

/// The error text for a failed connect, write or read.
std::string describe(const beast::error_code& ec) {
  if (ec == beast::error::timeout) return "timeout";
  if (ec == net::error::connection_refused) return "connection refused";
  if (ec == net::error::connection_reset || ec == net::error::broken_pipe)
    return "connection reset";
  if (ec == net::error::network_unreachable) return "network unreachable";
  if (ec == net::error::host_unreachable) return "host unreachable";
  if (ec == bhttp::error::end_of_stream || ec == net::error::eof ||
      ec == ssl::error::stream_truncated)
    return "connection closed before a response";
  if (ec == bhttp::error::partial_message) return "connection closed mid-response";
  if (ec.category() == net::error::get_ssl_category()) return "tls: " + ec.message();
  if (ec.category() == bhttp::make_error_code(bhttp::error::bad_version).category())
    return "invalid response: " + ec.message();
  return ec.message();
}

}  // namespace kiln::outbound::detail
