// Catalog parsing and validation, and the catalog as GET /v1/models shows it.
#include "models/catalog.hpp"

#include "base/assert.hpp"
#include "config/limits.hpp"
#include "models/json_writer.hpp"
#include "models/pricing.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cstdio>

namespace kiln {
namespace dom = simdjson::dom;

namespace {

constexpr std::string_view unit_names[] = {"asset", "second", "1k_characters",
                                           "frame", "clip",   "megapixel_second"};
constexpr std::string_view type_names[] = {"image", "video", "audio", "json", "3d"};

/// Why an entry is wrong ("'credits' must be positive"), or empty.
using problem = std::string;

problem read_text(dom::element value, std::string_view key, std::string& out) {
  std::string_view text;
  if (value.get_string().get(text)) return "'" + std::string(key) + "' must be a string";
  out.assign(text);
  return {};
}

problem read_count(dom::element value, std::string_view key, std::uint64_t max,
                   std::uint64_t& out) {
  if (value.get_uint64().get(out) || out > max)
    return "'" + std::string(key) + "' must be an integer from 0 to " + std::to_string(max);
  return {};
}

problem read_texts(dom::element value, std::string_view key, std::vector<std::string>& out) {
  dom::array array;
  if (value.get_array().get(array)) return "'" + std::string(key) + "' must be an array";
  for (dom::element item : array) {
    std::string text;
    if (read_text(item, key, text).size() || text.empty())
      return "'" + std::string(key) + "' must hold non-empty strings";
    out.push_back(std::move(text));
  }
  return {};
}

/// An option value as the text surcharges are keyed by: strings as they are, others as JSON.
std::string value_text(dom::element value) {
  std::string_view text;
  if (!value.get_string().get(text)) return std::string(text);
  return simdjson::minify(value);
}

problem read_surcharges(dom::element value, model_option& option) {
  dom::object object;
  if (value.get_object().get(object)) return "'surcharges' must be an object";
  for (auto [key, rule] : object) {
    surcharge s;
    s.value = std::string(key);
    dom::object parts;
    if (rule.get_object().get(parts) || parts.size() != 1)
      return "surcharge '" + s.value + "' must be {\"percent\": N} or {\"credits\": N}";
    std::uint64_t amount = 0;
    if (!parts["percent"].get_uint64().get(amount) && amount <= 1000)
      s.percent = static_cast<std::int64_t>(amount);
    else if (!parts["credits"].get_uint64().get(amount) &&
             amount <= static_cast<std::uint64_t>(limits::job_cost_max))
      s.credits = static_cast<std::int64_t>(amount);
    else return "surcharge '" + s.value + "' must be {\"percent\": 0..1000} or {\"credits\": N}";
    option.surcharges.push_back(std::move(s));
  }
  return {};
}

/// Whether `value` (JSON text of a default) is allowed for `option`.
bool allows(const model_option& option, dom::element value) {
  switch (option.type) {
    case option_type::boolean:
      return value.is_bool();
    case option_type::integer: {
      std::int64_t number = 0;
      return !value.get_int64().get(number) && number >= option.minimum && number <= option.maximum;
    }
    case option_type::string: {
      std::string_view text;
      if (value.get_string().get(text)) return false;
      return option.choices.empty() ||
             std::find(option.choices.begin(), option.choices.end(), text) != option.choices.end();
    }
  }
  return false;
}

problem read_option(dom::element value, model_option& option) {
  dom::object object;
  if (value.get_object().get(object)) return "each option must be an object";
  std::string type = "string";
  dom::element default_value;
  bool has_default = false;
  for (auto [key, field] : object) {
    problem trouble;
    if (key == "name") trouble = read_text(field, key, option.name);
    else if (key == "type") trouble = read_text(field, key, type);
    else if (key == "description") trouble = read_text(field, key, option.description);
    else if (key == "enum") trouble = read_texts(field, key, option.choices);
    else if (key == "minimum" || key == "maximum") {
      std::int64_t number = 0;
      if (field.get_int64().get(number)) trouble = "'" + std::string(key) + "' must be an integer";
      (key == "minimum" ? option.minimum : option.maximum) = number;
    } else if (key == "default") {
      default_value = field;
      has_default = true;
    } else if (key == "surcharges") trouble = read_surcharges(field, option);
    else trouble = "unknown field '" + std::string(key) + "'";
    if (!trouble.empty()) return "option '" + option.name + "': " + trouble;
  }
  if (option.name.empty()) return "an option needs a 'name'";
  auto where = "option '" + option.name + "': ";
  if (type == "string") option.type = option_type::string;
  else if (type == "integer") option.type = option_type::integer;
  else if (type == "boolean") option.type = option_type::boolean;
  else return where + "'type' must be string, integer or boolean";
  if (option.type == option_type::integer && option.minimum > option.maximum)
    return where + "'minimum' is above 'maximum'";
  if (!has_default) return where + "'default' is required";
  if (!allows(option, default_value)) return where + "'default' is not an allowed value";
  option.default_value = simdjson::minify(default_value);
  option.default_text = value_text(default_value);
  return {};
}

problem read_field(std::string_view key, dom::element value, model_entry& entry) {
  std::uint64_t number = 0;
  problem trouble;
  if (key == "id") return read_text(value, key, entry.id);
  if (key == "type") return read_text(value, key, entry.type);
  if (key == "min_plan") return read_text(value, key, entry.min_plan);
  if (key == "description") return read_text(value, key, entry.description);
  if (key == "unit") {
    std::string name;
    if (auto trouble = read_text(value, key, name); !trouble.empty()) return trouble;
    auto unit = parse_unit(name);
    if (!unit)
      return "'unit' must be asset, second, 1k_characters, frame, clip or megapixel_second";
    entry.unit = *unit;
    return {};
  }
  if (key == "credits" || key == "minimum_credits") {
    trouble = read_count(value, key, static_cast<std::uint64_t>(limits::job_cost_max), number);
    (key == "credits" ? entry.credits : entry.minimum_credits) = static_cast<std::int64_t>(number);
    return trouble;
  }
  if (key == "estimated_seconds" || key == "timeout_seconds" || key == "fps" ||
      key == "max_text_chars" || key == "max_input_images") {
    std::uint64_t max = key == "fps"                ? 120
                        : key == "max_text_chars"   ? limits::model_text_chars_max
                        : key == "max_input_images" ? 16
                                                    : 86400;
    trouble = read_count(value, key, max, number);
    auto n = static_cast<std::uint32_t>(number);
    if (key == "estimated_seconds") entry.estimated_seconds = n;
    else if (key == "timeout_seconds") entry.timeout_seconds = n;
    else if (key == "fps") entry.fps = n;
    else if (key == "max_text_chars") entry.max_text_chars = n;
    else entry.max_input_images = n;
    return trouble;
  }
  if (key == "requires_input_media") {
    if (value.get_bool().get(entry.requires_input_media))
      return "'" + std::string(key) + "' must be true or false";
    return {};
  }
  if (key == "durations_s") {
    dom::array values;
    if (value.get_array().get(values)) return "'durations_s' must be an array";
    for (auto v : values) {
      std::uint64_t d = 0;
      if (v.get_uint64().get(d) || d == 0 || d > 600)
        return "'durations_s' must hold integers from 1 to 600";
      entry.durations_s.push_back(static_cast<std::uint32_t>(d));
    }
    return {};
  }
  if (key == "duration_range_s") {
    dom::array values;
    std::uint64_t low = 0, high = 0;
    if (value.get_array().get(values) || values.size() != 2 || values.at(0).get_uint64().get(low) ||
        values.at(1).get_uint64().get(high) || low == 0 || high < low || high > 3600)
      return "'duration_range_s' must be [min, max] seconds, 1 <= min <= max <= 3600";
    entry.duration_min_s = static_cast<std::uint32_t>(low);
    entry.duration_max_s = static_cast<std::uint32_t>(high);
    return {};
  }
  if (key == "default_duration_s") {
    trouble = read_count(value, key, 3600, number);
    entry.default_duration_s = static_cast<std::uint32_t>(number);
    return trouble;
  }
  if (key == "aliases") return read_texts(value, key, entry.aliases);
  if (key == "output_formats") return read_texts(value, key, entry.output_formats);
  if (key == "fields") return read_texts(value, key, entry.fields);
  if (key == "options") {
    dom::array values;
    if (value.get_array().get(values)) return "'options' must be an array";
    for (auto v : values) {
      model_option option;
      if (auto trouble = read_option(v, option); !trouble.empty()) return trouble;
      if (entry.find_option(option.name)) return "option '" + option.name + "' appears twice";
      entry.options.push_back(std::move(option));
    }
    return {};
  }
  return "unknown field '" + std::string(key) + "'";
}

/// Checks a read entry and fills in what defaults to something.
problem complete(model_entry& entry) {
  if (entry.id.empty()) return "'id' is required";
  if (std::find(std::begin(type_names), std::end(type_names), entry.type) == std::end(type_names))
    return "'type' must be image, video, audio, json or 3d";
  if (entry.credits <= 0) return "'credits' must be positive";
  bool can_be_timed = entry.type == "video" || entry.type == "audio";
  bool ranged = entry.duration_max_s != 0;
  if (ranged && !entry.durations_s.empty())
    return "'durations_s' and 'duration_range_s' exclude each other";
  if (ranged) {
    if (entry.default_duration_s == 0) entry.default_duration_s = entry.duration_min_s;
    if (entry.default_duration_s < entry.duration_min_s ||
        entry.default_duration_s > entry.duration_max_s)
      return "'default_duration_s' is outside 'duration_range_s'";
  } else if (entry.default_duration_s != 0) {
    return "'default_duration_s' goes with 'duration_range_s'";
  } else if (!entry.durations_s.empty()) {
    entry.default_duration_s = entry.durations_s.front();
  }
  if (entry.type == "video" && !entry.timed())
    return "a video model needs 'durations_s' or 'duration_range_s'";
  if (!can_be_timed && entry.timed()) return "only video and audio models have durations";
  if ((entry.unit == price_unit::second || entry.unit == price_unit::frame ||
       entry.unit == price_unit::megapixel_second) &&
      !entry.timed())
    return "a model priced per " + std::string(unit_name(entry.unit)) + " needs 'durations_s'";
  if (entry.unit == price_unit::frame && entry.type != "video")
    return "only video models are priced per frame";
  if (entry.unit == price_unit::megapixel_second && entry.type != "video")
    return "only video models are priced per megapixel_second";
  if (entry.type == "video" && entry.fps == 0) entry.fps = 24;
  if (entry.type != "video" && entry.fps != 0) return "only video models have 'fps'";
  if (entry.type == "json" && entry.fields.empty()) return "a json model needs 'fields'";
  if (entry.min_plan.empty()) entry.min_plan = "free";
  if (entry.timeout_seconds == 0)
    entry.timeout_seconds = std::max<std::uint32_t>(60, 10 * entry.estimated_seconds);
  // output_formats is the output_format option's short form: the first is the default.
  if (!entry.output_formats.empty() && !entry.find_option("output_format"))
    entry.options.insert(entry.options.begin(),
                         model_option{.name = "output_format",
                                      .type = option_type::string,
                                      .choices = entry.output_formats,
                                      .minimum = 0,
                                      .maximum = 0,
                                      .default_value = "\"" + entry.output_formats.front() + "\"",
                                      .default_text = entry.output_formats.front(),
                                      .description = "the file format of each output",
                                      .surcharges = {}});
  price_request defaults;
  defaults.duration_seconds = entry.default_duration_s;
  defaults.text_chars = 1;
  defaults.width = entry.type == "video" ? limits::video_width : limits::image_side_default;
  defaults.height = entry.type == "video" ? limits::video_height : limits::image_side_default;
  json_writer options;
  options.begin_object();
  for (const auto& option : entry.options) {
    defaults.options.emplace_back(option.name, option.default_text);
    options.key(option.name).raw(option.default_value);
  }
  entry.default_options = options.end_object().take();
  entry.default_option_values = defaults.options;
  auto cost = price_of(entry, defaults);
  if (!cost) return "the price of a default job is over the limit";
  entry.cost_per_generation = *cost;
  return {};
}

void write_option(json_writer& w, const model_option& option) {
  constexpr std::string_view types[] = {"string", "integer", "boolean"};
  w.begin_object()
    .field("name", option.name)
    .field("type", types[static_cast<std::size_t>(option.type)]);
  if (!option.description.empty()) w.field("description", option.description);
  if (!option.choices.empty()) {
    w.key("enum").begin_array();
    for (const auto& c : option.choices) w.value(c);
    w.end_array();
  }
  if (option.type == option_type::integer)
    w.field("minimum", option.minimum).field("maximum", option.maximum);
  w.key("default").raw(option.default_value);
  if (!option.surcharges.empty()) {
    w.key("surcharges").begin_object();
    for (const auto& s : option.surcharges) {
      w.key(s.value).begin_object();
      if (s.percent) w.field("percent", s.percent);
      else w.field("credits", s.credits);
      w.end_object();
    }
    w.end_object();
  }
  w.end_object();
}

void write_texts(json_writer& w, std::string_view key, const std::vector<std::string>& texts) {
  w.key(key).begin_array();
  for (const auto& t : texts) w.value(t);
  w.end_array();
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
      .field("unit", unit_name(m.unit))
      .field("cost_per_generation", m.cost_per_generation)
      .field("min_plan", m.min_plan)
      .field("estimated_seconds", m.estimated_seconds)
      .field("description", m.description);
    if (!m.durations_s.empty()) {
      w.key("durations_s").begin_array();
      for (auto d : m.durations_s) w.value(d);
      w.end_array();
    }
    if (m.duration_max_s != 0) {
      w.key("duration_range_s").begin_array().value(m.duration_min_s).value(m.duration_max_s);
      w.end_array();
    }
    if (m.timed()) w.field("default_duration_s", m.default_duration_s);
    if (m.fps) w.field("fps", m.fps);
    w.field("max_text_chars", m.max_text_chars);
    if (m.minimum_credits) w.field("minimum_credits", m.minimum_credits);
    w.field("requires_input_media", m.requires_input_media)
      .field("max_input_images", m.max_input_images);
    write_texts(w, "output_formats", m.output_formats);
    write_texts(w, "aliases", m.aliases);
    if (!m.fields.empty()) write_texts(w, "fields", m.fields);
    w.key("options").begin_array();
    for (const auto& option : m.options) write_option(w, option);
    w.end_array().end_object();
  }
  w.end_array().end_object();
  return w.take();
}

}  // namespace

std::string_view unit_name(price_unit unit) { return unit_names[static_cast<std::size_t>(unit)]; }

std::optional<price_unit> parse_unit(std::string_view name) {
  for (std::size_t i = 0; i < std::size(unit_names); ++i)
    if (unit_names[i] == name) return static_cast<price_unit>(i);
  return std::nullopt;
}

bool model_entry::allows_duration(std::uint32_t seconds) const {
  if (duration_max_s != 0) return seconds >= duration_min_s && seconds <= duration_max_s;
  return std::find(durations_s.begin(), durations_s.end(), seconds) != durations_s.end();
}

std::string model_entry::durations_text() const {
  if (duration_max_s != 0)
    return std::to_string(duration_min_s) + " to " + std::to_string(duration_max_s);
  std::string list;
  for (auto d : durations_s) list += (list.empty() ? "" : ", ") + std::to_string(d);
  return list;
}

const model_option* model_entry::find_option(std::string_view name) const {
  for (const auto& option : options)
    if (option.name == name) return &option;
  return nullptr;
}

caf::expected<catalog> catalog::parse(std::string_view json) {
  auto invalid = [](std::string message) {
    return make_error(error_code::invalid_request, "catalog: " + std::move(message));
  };
  dom::parser parser;
  simdjson::padded_string padded(json);
  dom::element root;
  if (auto failure = parser.parse(padded).get(root))
    return invalid(std::string("invalid JSON: ") + simdjson::error_message(failure));
  dom::array entries;
  if (root["models"].get_array().get(entries) != simdjson::SUCCESS)
    return invalid("expected an object with a 'models' array");
  catalog result;
  std::size_t index = 0;
  for (auto element : entries) {
    auto where = "models[" + std::to_string(index++) + "]";
    dom::object object;
    if (element.get_object().get(object) != simdjson::SUCCESS)
      return invalid(where + " must be an object");
    model_entry entry;
    for (auto [key, value] : object)
      if (auto trouble = read_field(key, value, entry); !trouble.empty())
        return invalid(where + ": " + trouble);
    if (auto trouble = complete(entry); !trouble.empty()) return invalid(where + ": " + trouble);
    if (result.find(entry.id)) return invalid("duplicate model id '" + entry.id + "'");
    for (const auto& alias : entry.aliases)
      if (result.find(alias) || alias == entry.id)
        return invalid(where + ": alias '" + alias + "' names another model");
    result.models_.push_back(std::move(entry));
  }
  if (result.models_.empty()) return invalid("no models");
  result.json_ = render(result.models_);
  return result;
}

const catalog& catalog::builtin() {
  static const catalog instance = [] {
    auto parsed = parse(builtin_catalog_json());
    if (!parsed) std::fprintf(stderr, "kiln: %s\n", to_api_error(parsed.error()).message.c_str());
    KILN_ASSERT_MSG(parsed, "the built-in catalog parses");
    return std::move(*parsed);
  }();
  return instance;
}

const model_entry* catalog::find(std::string_view id) const {
  for (const auto& m : models_) {
    if (m.id == id) return &m;
    for (const auto& alias : m.aliases)
      if (alias == id) return &m;
  }
  return nullptr;
}

}  // namespace kiln
