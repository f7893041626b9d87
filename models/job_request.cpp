// Validation of job creation bodies: every field, every way the contract says it can be wrong.
#include "models/job_request.hpp"

#include "config/limits.hpp"
#include "models/job_inputs.hpp"
#include "models/job_options.hpp"
#include "models/pricing.hpp"

#include <simdjson.h>

#include <algorithm>

namespace kiln {
namespace {

caf::error bad(std::string field, std::string message) {
  return make_error(error_code::invalid_request, std::move(message), std::move(field));
}

/// What is wrong inside a metadata value, if anything.
enum class nesting { fine, too_deep, repeated_key };

/// Checks `value`, found at nesting `level` (the metadata object being 1): no deeper than the
/// limit, and no object in it repeating a key (the echo could not say which one was meant).
nesting check_nesting(simdjson::dom::element value, std::size_t level) {
  simdjson::dom::object object;
  simdjson::dom::array array;
  bool is_object = value.get_object().get(object) == simdjson::SUCCESS;
  if (!is_object && value.get_array().get(array) != simdjson::SUCCESS) return nesting::fine;
  if (level > limits::metadata_depth_max) return nesting::too_deep;
  if (!is_object) {
    for (auto item : array)
      if (auto found = check_nesting(item, level + 1); found != nesting::fine) return found;
    return nesting::fine;
  }
  std::vector<std::string_view> keys;
  for (auto field : object) {
    keys.push_back(field.key);
    if (auto found = check_nesting(field.value, level + 1); found != nesting::fine) return found;
  }
  std::sort(keys.begin(), keys.end());
  bool repeated = std::adjacent_find(keys.begin(), keys.end()) != keys.end();
  return repeated ? nesting::repeated_key : nesting::fine;
}

/// Metadata is an object of any JSON values within the contract's limits, kept as minified JSON
/// so that it is echoed back as the same value. The size is checked first: what is walked
/// after it is at most 4 KiB.
caf::error read_metadata(simdjson::dom::element value, job_spec& spec) {
  simdjson::dom::object object;
  if (value.get_object().get(object) != simdjson::SUCCESS)
    return bad("metadata", "metadata must be an object");
  if (object.size() > limits::metadata_keys_max)
    return bad("metadata", "metadata has more than 16 keys");
  auto text = simdjson::minify(value);
  if (text.size() > limits::metadata_bytes_max)
    return bad("metadata", "metadata is over 4 KiB serialized");
  std::vector<std::string_view> keys;
  for (auto field : object) {
    keys.push_back(field.key);
    std::string name = "metadata." + std::string(field.key);
    auto length = utf8_length(field.key);
    if (length == 0 || length > limits::metadata_key_chars_max)
      return bad(name, "metadata keys must be 1..40 characters");
    auto found = check_nesting(field.value, 2);
    if (found == nesting::too_deep)
      return bad(name, "metadata nests at most 4 levels deep, the metadata object being the first");
    if (found == nesting::repeated_key) return bad(name, "an object in metadata repeats a key");
  }
  std::sort(keys.begin(), keys.end());
  if (auto twice = std::adjacent_find(keys.begin(), keys.end()); twice != keys.end())
    return bad("metadata." + std::string(*twice), "duplicate metadata key");
  spec.metadata = object.size() == 0 ? std::string() : std::move(text);
  return {};
}

caf::error read_side(simdjson::dom::element value, const char* field, std::uint32_t& side) {
  std::uint64_t number = 0;
  std::string name = std::string("params.") + field;
  if (value.get_uint64().get(number) != simdjson::SUCCESS)
    return bad(name, name + " must be a positive integer");
  if (number == 0 || number % limits::image_side_multiple != 0 || number > limits::image_side_max)
    return bad(name, name + " must be a multiple of 32 from 32 to 4096");
  side = static_cast<std::uint32_t>(number);
  return {};
}

/// The params a job of `type` may set; `timed` when its model is made to a length.
caf::error read_params(simdjson::dom::element value, const std::string& type, bool timed,
                       job_spec& spec, bool& seed_given) {
  simdjson::dom::object object;
  if (value.get_object().get(object) != simdjson::SUCCESS)
    return bad("params", "params must be an object");
  bool image = type == "image";
  for (auto field : object) {
    std::string_view key = field.key;
    std::string name = "params." + std::string(key);
    if (key == "seed") {
      if (field.value.get_uint64().get(spec.params.seed) != simdjson::SUCCESS ||
          spec.params.seed > static_cast<std::uint64_t>(INT64_MAX))
        return bad(name, "params.seed must be a non-negative integer below 2^63");
      seed_given = true;
    } else if (image && key == "width") {
      if (auto e = read_side(field.value, "width", spec.params.width)) return e;
    } else if (image && key == "height") {
      if (auto e = read_side(field.value, "height", spec.params.height)) return e;
    } else if (timed && key == "duration_seconds") {
      std::uint64_t seconds = 0;
      if (field.value.get_uint64().get(seconds) != simdjson::SUCCESS || seconds == 0 ||
          seconds > 3600)
        return bad(name, "params.duration_seconds must be a positive integer");
      spec.params.duration_seconds = static_cast<std::uint32_t>(seconds);
    } else {
      return bad(name, "unknown field " + name + " for " + spec.model + " (a" +
                         (type == "image" || type == "audio" ? "n " : " ") + type + " model)");
    }
  }
  return {};
}

/// Reads the top-level fields; model-dependent checks come after, in `check_against_model`.
caf::error read_fields(simdjson::dom::object object, job_spec& spec, simdjson::dom::element& params,
                       bool& has_params, std::string& options) {
  for (auto field : object) {
    std::string_view key = field.key;
    std::string_view text;
    if (key == "type" || key == "model" || key == "prompt" || key == "webhook_url") {
      if (field.value.get_string().get(text) != simdjson::SUCCESS)
        return bad(std::string(key), std::string(key) + " must be a string");
      std::string& target = key == "type"     ? spec.type
                            : key == "model"  ? spec.model
                            : key == "prompt" ? spec.prompt
                                              : spec.webhook_url;
      target.assign(text);
    } else if (key == "n") {
      std::uint64_t n = 0;
      if (field.value.get_uint64().get(n) != simdjson::SUCCESS || n < limits::outputs_per_job_min ||
          n > limits::outputs_per_job_max)
        return bad("n", "n must be an integer from 1 to 4");
      spec.n = static_cast<std::uint32_t>(n);
    } else if (key == "metadata") {
      if (auto e = read_metadata(field.value, spec)) return e;
    } else if (key == "params") {
      params = field.value;
      has_params = true;
    } else if (key == "options") {
      if (!field.value.is_object()) return bad("options", "options must be an object");
      options = simdjson::minify(field.value);
    } else if (key == "inputs") {
      if (auto e = read_job_inputs(field.value, spec)) return e;
    } else {
      return bad(std::string(key), "unknown field '" + std::string(key) + "'");
    }
  }
  return {};
}

constexpr std::string_view job_types[] = {"image", "video", "audio", "json", "3d"};

caf::error check_required(const job_spec& spec) {
  if (spec.type.empty()) return bad("type", "type is required: image, video, audio, json or 3d");
  if (std::find(std::begin(job_types), std::end(job_types), spec.type) == std::end(job_types))
    return bad("type", "type must be image, video, audio, json or 3d");
  if (spec.model.empty()) return bad("model", "model is required");
  std::size_t prompt_chars = utf8_length(spec.prompt);
  if (prompt_chars == 0) return bad("prompt", "prompt is required (1..4000 characters)");
  if (prompt_chars > limits::model_text_chars_max)
    return bad("prompt", "prompt must be at most " + std::to_string(limits::model_text_chars_max) +
                           " characters");
  if (!spec.webhook_url.empty()) {
    if (spec.webhook_url.size() > limits::webhook_url_bytes_max ||
        !is_valid_webhook_url(spec.webhook_url))
      return bad("webhook_url",
                 "webhook_url must be an absolute http(s) URL of at most 2048 bytes");
  }
  return {};
}

caf::error check_against_model(const model_entry& model, job_spec& spec, std::string_view options) {
  if (model.type != spec.type)
    return bad("type", "model " + model.id + " makes " + model.type + ", not " + spec.type);
  auto prompt_chars = utf8_length(spec.prompt);
  if (prompt_chars > model.max_text_chars)
    return bad("prompt", "prompt must be at most " + std::to_string(model.max_text_chars) +
                           " characters for model " + model.id);
  price_request price;
  price.n = spec.n;
  price.text_chars = prompt_chars;
  // An edit model asked for no size makes its source's: the submit path sets it (job_inputs.hpp).
  bool from_source =
    model.requires_input_media && spec.params.width == 0 && spec.params.height == 0;
  if (model.type == "image" && !from_source) {
    if (spec.params.width == 0) spec.params.width = limits::image_side_default;
    if (spec.params.height == 0) spec.params.height = limits::image_side_default;
  }
  if (model.type == "image") {
    auto pixels = std::uint64_t{spec.params.width} * spec.params.height;
    if (pixels > limits::image_pixels_max)
      return bad(spec.params.width >= spec.params.height ? "params.width" : "params.height",
                 "width x height must be at most 4 MP (4194304 pixels)");
    price.width = spec.params.width;
    price.height = spec.params.height;
  } else if (model.type == "video") {
    price.width = limits::video_width;
    price.height = limits::video_height;
  }
  if (model.timed()) {
    if (spec.params.duration_seconds == 0) spec.params.duration_seconds = model.default_duration_s;
    if (!model.allows_duration(spec.params.duration_seconds))
      return bad("params.duration_seconds", std::string("params.duration_seconds must be ") +
                                              (model.duration_max_s != 0 ? "from " : "one of ") +
                                              model.durations_text() + " for model " + model.id);
    price.duration_seconds = spec.params.duration_seconds;
  }
  auto resolved = resolve_options(model, options);
  if (!resolved) return resolved.error();
  spec.options = model.options.empty() ? std::string() : std::move(resolved->json);
  price.options = std::move(resolved->values);
  auto cost = price_of(model, price);
  if (!cost) return cost.error();
  spec.cost = *cost;
  return {};
}

}  // namespace

std::size_t utf8_length(std::string_view text) {
  std::size_t count = 0;
  for (unsigned char c : text) count += (c & 0xC0) != 0x80;
  return count;
}

bool is_valid_webhook_url(std::string_view url) {
  std::string_view rest;
  if (url.substr(0, 7) == "http://") rest = url.substr(7);
  else if (url.substr(0, 8) == "https://") rest = url.substr(8);
  else return false;
  auto host_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, host_end);
  if (authority.empty() || authority.find('@') != std::string_view::npos) return false;
  if (authority.front() == ':') return false;
  for (unsigned char c : url)
    if (c <= 0x20 || c == 0x7F || c == '"' || c == '<' || c == '>' || c == '\\') return false;
  return true;
}

caf::expected<job_spec> parse_job_request(std::string_view body, const catalog& models,
                                          std::uint64_t default_seed) {
  thread_local simdjson::dom::parser parser;
  simdjson::padded_string padded(body);
  simdjson::dom::element root;
  if (parser.parse(padded).get(root) != simdjson::SUCCESS)
    return make_error(error_code::invalid_json, "the body is not valid JSON");
  simdjson::dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS)
    return make_error(error_code::invalid_json, "the body must be a JSON object");
  job_spec spec;
  simdjson::dom::element params;
  bool has_params = false;
  std::string options;
  if (auto e = read_fields(object, spec, params, has_params, options)) return e;
  if (auto e = check_required(spec)) return e;
  const model_entry* model = models.find(spec.model);
  if (!model) return bad("model", "unknown model '" + spec.model + "'; see GET /v1/models");
  spec.model = model->id;  // an alias names the model; the job shows its id
  if (model->type != spec.type)
    return bad("type", "model " + model->id + " makes " + model->type + ", not " + spec.type);
  bool seed_given = false;
  if (has_params) {
    bool timed = model->timed();
    if (auto e = read_params(params, spec.type, timed, spec, seed_given)) return e;
  }
  if (!seed_given) spec.params.seed = default_seed & static_cast<std::uint64_t>(INT64_MAX);
  if (auto e = check_against_model(*model, spec, options)) return e;
  if (auto e = check_input_capabilities(*model, spec)) return e;
  return spec;
}

}  // namespace kiln
