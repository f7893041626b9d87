// The media-model catalog: which models exist, what they make, what they cost (unit, price,
// surcharges, minimum), which plan they need, and the options a job may set. Data loaded at
// start-up (the built-in JSON, models/builtin_catalog.cpp, or a file), validated like the
// configuration: a wrong entry stops start-up with a message naming it.
#pragma once

#include "models/error.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kiln {

/// What a model's price is per (see models/pricing.hpp for each unit's quantity).
enum class price_unit : std::uint8_t {
  asset,             ///< each output
  second,            ///< each second of each output
  k_characters,      ///< each started 1,000 characters of the prompt ("1k_characters")
  frame,             ///< each frame of each output (seconds x fps)
  clip,              ///< each clip (output) made
  megapixel_second,  ///< each started megapixel-second (width x height x seconds / 10^6)
};
std::string_view unit_name(price_unit unit);
std::optional<price_unit> parse_unit(std::string_view name);

/// What an option value adds to a job's price: a percentage of the base price, or credits.
struct surcharge {
  std::string value;         ///< the option's value as text: "high", "true", "2"
  std::int64_t percent = 0;  ///< of the base price, rounded up
  std::int64_t credits = 0;
};

enum class option_type : std::uint8_t { string, integer, boolean };

/// An option a model declares; a job's `options` object is checked against these.
struct model_option {
  std::string name;
  option_type type = option_type::string;
  std::vector<std::string> choices;  ///< strings: the allowed values
  std::int64_t minimum = 0;          ///< integers
  std::int64_t maximum = 0;
  std::string default_value;  ///< the default as JSON text ("\"png\"", "100", "false")
  std::string default_text;   ///< the default as surcharges key it ("png", "100", "false")
  std::string description;
  std::vector<surcharge> surcharges;
};

struct model_entry {
  std::string id;
  std::string type;  ///< "image" | "video" | "audio" | "json" | "3d"
  std::int64_t credits = 0;
  price_unit unit = price_unit::asset;
  std::string min_plan;  ///< plan name
  std::uint32_t estimated_seconds = 0;
  /// How long one run may take before it counts as a device fault and is retried elsewhere;
  /// default: 10 x estimated_seconds, at least 60 s.
  std::uint32_t timeout_seconds = 0;
  std::string description;
  /// Allowed duration_seconds, the first being the default: video, and audio made to a length
  /// (music, effects). Empty for speech, whose length follows its text.
  std::vector<std::uint32_t> durations_s;
  /// Or any whole number of seconds in [min, max] ("duration_range_s"), the default being
  /// default_duration_s: music and effects of any length.
  std::uint32_t duration_min_s = 0;
  std::uint32_t duration_max_s = 0;
  std::uint32_t default_duration_s = 0;  ///< the first of durations_s, or the range's default
  std::uint32_t fps = 0;                 ///< video: frames per second (default 24)
  std::uint32_t max_text_chars = 4000;   ///< the prompt's limit, up to 10,000
  std::int64_t minimum_credits = 0;      ///< a job costs at least this
  std::vector<std::string> aliases;      ///< other ids that name this model
  bool requires_input_media = false;     ///< the model edits or animates given media
  std::uint32_t max_input_images = 0;
  std::vector<std::string> output_formats;  ///< e.g. png, webp, jpeg; the first is the default
  std::vector<model_option> options;
  std::vector<std::string> fields;  ///< json models: the fields each document has
  /// The price of one job with every default (n = 1, default duration, default options, a
  /// prompt of one character): the one number a client that reads one number per model quotes.
  std::int64_t cost_per_generation = 0;
  /// Every option at its default, as a job without `options` gets them: the JSON object and
  /// each value as text (models/job_options.hpp), made once.
  std::string default_options;
  std::vector<std::pair<std::string, std::string>> default_option_values;

  const model_option* find_option(std::string_view name) const;
  /// Whether the model is made to a length (durations_s or a range).
  bool timed() const { return default_duration_s != 0; }
  bool allows_duration(std::uint32_t seconds) const;
  /// "5, 10, 15" or "15 to 240": for messages.
  std::string durations_text() const;
};

class catalog {
public:
  /// Parses and validates catalog JSON `{"models": [...]}`; an invalid_request error naming the
  /// entry and field when it is not a valid catalog.
  static caf::expected<catalog> parse(std::string_view json);
  /// The built-in catalog (models/builtin_catalog.cpp).
  static const catalog& builtin();

  /// The model named `id` or one of its aliases.
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
