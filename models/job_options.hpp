// A job's `options` object checked against the options its model declares: known names only,
// each of its declared type and within its enum or range. Every declared option is then present,
// defaults filled in, in the model's order, so the job shows, prices and hands its executor
// exactly what it runs with.
#pragma once

#include "models/catalog.hpp"
#include "models/error.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kiln {

struct resolved_options {
  std::string json;  ///< every declared option, e.g. {"output_format":"png"}; "{}" for none
  /// Each value as text for surcharges ("high", "true", "2"), in the same order.
  std::vector<std::pair<std::string, std::string>> values;
};

/// Checks `given` (the job's options object as JSON text; empty when the job has none) against
/// `model`; invalid_request naming `options` or `options.<name>` when it is wrong.
caf::expected<resolved_options> resolve_options(const model_entry& model, std::string_view given);

/// The value of option `name` in resolved options JSON as text ("png"), or `fallback`.
std::string option_text(std::string_view options_json, std::string_view name,
                        std::string_view fallback = {});

}  // namespace kiln
