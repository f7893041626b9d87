// The media-model catalog: which models exist, what they cost and which plan they need.
// Data loaded at start-up (the built-in JSON or a file), validated like the configuration.
#pragma once

#include "models/error.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kiln {

struct model_entry {
  std::string id;
  std::string type;  ///< "image" | "video"
  std::int64_t credits = 0;
  std::string unit;      ///< "asset" | "second"
  std::string min_plan;  ///< plan name
  std::uint32_t estimated_seconds = 0;
  /// How long one run may take before it counts as a device fault and is retried elsewhere;
  /// default: 10 x estimated_seconds, at least 60 s.
  std::uint32_t timeout_seconds = 0;
  std::string description;
  std::vector<std::uint32_t> durations_s;  ///< video only: allowed duration_seconds
};

class catalog {
public:
  /// Parses and validates catalog JSON `{"models": [...]}`; an invalid_request error naming the
  /// entry and field when it is not a valid catalog.
  static caf::expected<catalog> parse(std::string_view json);
  /// The contract's six models.
  static const catalog& builtin();

  const model_entry* find(std::string_view id) const;
  const std::vector<model_entry>& models() const { return models_; }
  /// The catalog as rendered by GET /v1/models (built once).
  const std::string& json() const { return json_; }

private:
  std::vector<model_entry> models_;
  std::string json_;
};

/// The JSON of the built-in catalog (also written into the docs).
std::string_view builtin_catalog_json();

}  // namespace kiln
