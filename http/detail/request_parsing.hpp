// Pieces of request parsing several handlers share: a JSON object body with known fields, and
// the `limit`/`cursor` parameters of list endpoints. Each answers the error itself on failure.
#pragma once

#include "http/detail/call.hpp"
#include "protocol/account.hpp"

#include <simdjson.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace kiln::http {

/// The body as a JSON object whose fields are all in `allowed`; `parser` must outlive the result.
std::optional<simdjson::dom::object> read_object(const call_ptr& c, simdjson::dom::parser& parser,
                                                 std::initializer_list<std::string_view> allowed);

/// The request's Idempotency-Key (or X-Idempotency-Key) with the request's fingerprint; an
/// empty claim when it has none; nullopt (and 400 answered) when the key is malformed.
std::optional<idempotency_claim> read_idempotency_claim(const call_ptr& c);

/// `limit` (1..100, default 20) and `cursor` (16 hex digits, or empty) from the query.
bool read_page(const call_ptr& c, std::uint32_t& limit, std::string& cursor);
/// `offset` (0..limits::page_offset_max, never with a cursor) and `order` (desc | asc) of a
/// listing; or answers 400 and returns false.
bool read_listing_order(const call_ptr& c, std::uint32_t& offset, bool& oldest_first);

}  // namespace kiln::http
