// The outbound client's rules, as pure functions: which methods and headers a caller may set, and
// the short text a failed connect, write or read is reported with (webhook deliveries and
// executor errors show it).
#pragma once

#include <boost/beast/core/error.hpp>

#include <string>
#include <string_view>

namespace kiln::outbound::detail {

/// An RFC 9110 token (a method, a header name): one or more of its allowed characters.
bool is_token(std::string_view text);
/// A header a caller may send: its name an RFC 9110 token, its value without CR, LF or NUL.
bool valid_header(const std::string& name, const std::string& value);
/// Framing headers the client sets itself (Host, Content-Length, Transfer-Encoding, Connection).
bool is_reserved_header(std::string_view name);
/// The error text for a failed connect, write or read: "timeout", "connection refused", ...
std::string describe(const boost::beast::error_code& ec);

}  // namespace kiln::outbound::detail
