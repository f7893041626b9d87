// A job's price, exactly, in integer credits: the model's credits per unit times the units the
// job uses, plus the surcharges of its options, at least the model's minimum. No floating point
// touches money; a price beyond limits::job_cost_max is refused, never wrapped.
#pragma once

#include "models/catalog.hpp"
#include "models/error.hpp"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace kiln {

/// What a job's price depends on besides its model.
struct price_request {
  std::uint32_t n = 1;
  std::uint32_t duration_seconds = 0;  ///< video, and audio made to a length
  std::uint64_t text_chars = 0;        ///< the prompt, in characters
  std::uint32_t width = 0;             ///< the output's frame: images, and video
  std::uint32_t height = 0;
  /// The job's option values as text ("quality" -> "high", "hd" -> "true"), defaults applied.
  std::vector<std::pair<std::string, std::string>> options;
};

/// How many of the model's units one output of the job uses (before x n): 1 for asset and clip,
/// the seconds, the started thousands of characters, seconds x fps, or the started
/// megapixel-seconds.
std::uint64_t units_per_output(const model_entry& model, const price_request& job);

/// The price: base = credits x units_per_output x n; plus base x (sum of percent surcharges) /
/// 100, rounded up; plus the fixed surcharges; at least minimum_credits. invalid_request when it
/// would pass limits::job_cost_max.
caf::expected<std::int64_t> price_of(const model_entry& model, const price_request& job);

}  // namespace kiln
