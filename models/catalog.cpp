// Catalog parsing, validation and the built-in six-model catalog.
#include "models/catalog.hpp"

#include "base/assert.hpp"

#include "models/json_writer.hpp"

#include <simdjson.h>

#include <algorithm>

namespace kiln {

std::string_view builtin_catalog_json() {
  return R"({"models": [
  {"id": "flux2-turbo", "type": "image", "credits": 1, "unit": "asset", "min_plan": "free",
   "estimated_seconds": 2, "description": "Fast, low-cost default image model."},
  {"id": "seedream", "type": "image", "credits": 3, "unit": "asset", "min_plan": "free",
   "estimated_seconds": 6, "description": "Photographic image model."},
  {"id": "nano-banana", "type": "image", "credits": 2, "unit": "asset", "min_plan": "free",
   "estimated_seconds": 4, "description": "Balanced quality and speed."},
  {"id": "gpt-image-2", "type": "image", "credits": 4, "unit": "asset", "min_plan": "free",
   "estimated_seconds": 8, "description": "Image model with strong text rendering."},
  {"id": "nano-banana-pro", "type": "image", "credits": 6, "unit": "asset", "min_plan": "free",
   "estimated_seconds": 12, "description": "Highest-detail image model."},
  {"id": "seedance", "type": "video", "credits": 30, "unit": "second", "min_plan": "pro",
   "estimated_seconds": 60, "description": "Video model, priced per second of video.",
   "durations_s": [5, 10, 15]}
]})";
}

namespace {

bool read_entry(simdjson::dom::object object, std::size_t index, model_entry& entry,
                std::string& error) {
  const std::string where = "catalog: models[" + std::to_string(index) + "]";
  for (auto field : object) {
    std::string_view key = field.key;
    simdjson::error_code failure = simdjson::SUCCESS;
    if (key == "id" || key == "type" || key == "unit" || key == "min_plan" ||
        key == "description") {
      std::string_view text;
      failure = field.value.get_string().get(text);
      std::string& target = key == "id"         ? entry.id
                            : key == "type"     ? entry.type
                            : key == "unit"     ? entry.unit
                            : key == "min_plan" ? entry.min_plan
                                                : entry.description;
      target.assign(text);
    } else if (key == "credits") {
      failure = field.value.get_int64().get(entry.credits);
    } else if (key == "estimated_seconds" || key == "timeout_seconds") {
      std::uint64_t seconds = 0;
      failure = field.value.get_uint64().get(seconds);
      if (failure == simdjson::SUCCESS && seconds > 86400) failure = simdjson::NUMBER_OUT_OF_RANGE;
      (key == "estimated_seconds" ? entry.estimated_seconds : entry.timeout_seconds) =
        static_cast<std::uint32_t>(seconds);
    } else if (key == "durations_s") {
      simdjson::dom::array values;
      failure = field.value.get_array().get(values);
      for (auto v : values) {
        std::uint64_t d = 0;
        if (v.get_uint64().get(d) != simdjson::SUCCESS || d == 0 || d > 600) {
          failure = simdjson::INCORRECT_TYPE;
          break;
        }
        entry.durations_s.push_back(static_cast<std::uint32_t>(d));
      }
    } else {
      error = where + ": unknown field '" + std::string(key) + "'";
      return false;
    }
    if (failure != simdjson::SUCCESS) {
      error = where + ": field '" + std::string(key) + "' has the wrong type";
      return false;
    }
  }
  if (entry.id.empty()) error = where + ": 'id' is required";
  else if (entry.type != "image" && entry.type != "video")
    error = where + ": 'type' must be image or video";
  else if (entry.credits <= 0) error = where + ": 'credits' must be positive";
  else if (entry.unit != "asset" && entry.unit != "second")
    error = where + ": 'unit' must be asset or second";
  else if (entry.type == "video" && entry.durations_s.empty())
    error = where + ": a video model needs 'durations_s'";
  else if (entry.min_plan.empty()) entry.min_plan = "free";
  if (error.empty() && entry.timeout_seconds == 0)
    entry.timeout_seconds = std::max<std::uint32_t>(60, 10 * entry.estimated_seconds);
  return error.empty();
}

std::string render(const std::vector<model_entry>& models) {
  json_writer w;
  w.begin_object().key("object").value("list").key("data").begin_array();
  for (const auto& m : models) {
    w.begin_object()
      .field("id", m.id)
      .field("object", "model")
      .field("type", m.type)
      .field("credits", m.credits)
      .field("unit", m.unit)
      .field("min_plan", m.min_plan)
      .field("estimated_seconds", m.estimated_seconds)
      .field("description", m.description);
    if (!m.durations_s.empty()) {
      w.key("durations_s").begin_array();
      for (auto d : m.durations_s) w.value(d);
      w.end_array();
    }
    w.end_object();
  }
  w.end_array().end_object();
  return w.take();
}

}  // namespace

caf::expected<catalog> catalog::parse(std::string_view json) {
  auto invalid = [](std::string message) {
    return make_error(error_code::invalid_request, "catalog: " + std::move(message));
  };
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  simdjson::dom::element root;
  if (auto failure = parser.parse(padded).get(root))
    return invalid(std::string("invalid JSON: ") + simdjson::error_message(failure));
  simdjson::dom::array entries;
  if (root["models"].get_array().get(entries) != simdjson::SUCCESS)
    return invalid("expected an object with a 'models' array");
  catalog result;
  std::size_t index = 0;
  for (auto element : entries) {
    simdjson::dom::object object;
    if (element.get_object().get(object) != simdjson::SUCCESS)
      return invalid("models[" + std::to_string(index) + "] must be an object");
    model_entry entry;
    std::string error;
    if (!read_entry(object, index, entry, error))
      return make_error(error_code::invalid_request, error);
    if (result.find(entry.id)) return invalid("duplicate model id '" + entry.id + "'");
    result.models_.push_back(std::move(entry));
    ++index;
  }
  if (result.models_.empty()) return invalid("no models");
  result.json_ = render(result.models_);
  return result;
}

const catalog& catalog::builtin() {
  static const catalog instance = [] {
    auto parsed = parse(builtin_catalog_json());
    KILN_ASSERT_MSG(parsed, "the built-in catalog parses");
    return std::move(*parsed);
  }();
  return instance;
}

const model_entry* catalog::find(std::string_view id) const {
  for (const auto& m : models_)
    if (m.id == id) return &m;
  return nullptr;
}

}  // namespace kiln
