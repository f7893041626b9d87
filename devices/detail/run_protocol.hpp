// The http executor's side of the wire (docs/http-executor.md), as pure functions: the body of
// a create, the outputs of a finished run, and text from a server made safe for an error.
#pragma once

#include "devices/http_executor.hpp"

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::detail {

/// The body of POST /v1/runs.
std::string create_body(const http_run_request& r);
/// Reads a finished run's `outputs` into `out`: the problem as text, "" when all is well.
std::string read_outputs(simdjson::dom::element root, std::uint32_t expected,
                         std::vector<http_run_output>& out);
/// Text from a server, made safe to embed in an error: printable, bounded.
std::string printable(std::string_view text);
/// A run id as one path segment.
std::string percent_encode(std::string_view text);

}  // namespace kiln::detail
