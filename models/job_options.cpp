// Option checks and defaults.
#include "models/job_options.hpp"

#include "models/json_writer.hpp"

#include <simdjson.h>

#include <algorithm>

namespace kiln {
namespace dom = simdjson::dom;

namespace {

caf::error bad(const std::string& name, std::string message) {
  return make_error(error_code::invalid_request, std::move(message), "options." + name);
}

std::string text_of(dom::element value) {
  std::string_view text;
  if (!value.get_string().get(text)) return std::string(text);
  return simdjson::minify(value);
}

caf::error check(const model_entry& model, const model_option& option, dom::element value) {
  const auto& name = option.name;
  switch (option.type) {
    case option_type::boolean:
      if (!value.is_bool()) return bad(name, "options." + name + " must be true or false");
      return {};
    case option_type::integer: {
      std::int64_t number = 0;
      if (value.get_int64().get(number) || number < option.minimum || number > option.maximum)
        return bad(name, "options." + name + " must be an integer from " +
                           std::to_string(option.minimum) + " to " +
                           std::to_string(option.maximum));
      return {};
    }
    case option_type::string: {
      std::string_view text;
      if (value.get_string().get(text)) return bad(name, "options." + name + " must be a string");
      if (!option.choices.empty() &&
          std::find(option.choices.begin(), option.choices.end(), text) == option.choices.end()) {
        std::string list;
        for (const auto& c : option.choices) list += (list.empty() ? "" : ", ") + c;
        return bad(name, "options." + name + " must be one of " + list + " for model " + model.id);
      }
      if (text.size() > 256) return bad(name, "options." + name + " is longer than 256 bytes");
      return {};
    }
  }
  return {};
}

}  // namespace

caf::expected<resolved_options> resolve_options(const model_entry& model, std::string_view given) {
  if (given.empty()) return resolved_options{model.default_options, model.default_option_values};
  thread_local dom::parser parser;  // one per thread: a parser's buffers cost an allocation
  dom::object object;
  if (!given.empty()) {
    if (parser.parse(given.data(), given.size()).get_object().get(object))
      return make_error(error_code::invalid_request, "options must be an object", "options");
    for (auto [key, value] : object) {
      const model_option* option = model.find_option(key);
      if (!option)
        return bad(std::string(key), "model " + model.id + " has no option '" + std::string(key) +
                                       "'; see its options in GET /v1/models");
      if (auto error = check(model, *option, value)) return error;
    }
  }
  resolved_options out;
  json_writer w;
  w.begin_object();
  for (const auto& option : model.options) {
    dom::element value;
    if (!given.empty() && !object[option.name].get(value)) {
      w.key(option.name).raw(simdjson::minify(value));
      out.values.emplace_back(option.name, text_of(value));
    } else {
      w.key(option.name).raw(option.default_value);
      out.values.emplace_back(option.name, option.default_text);
    }
  }
  out.json = w.end_object().take();
  return out;
}

std::string option_text(std::string_view options_json, std::string_view name,
                        std::string_view fallback) {
  if (options_json.empty()) return std::string(fallback);
  thread_local dom::parser parser;
  dom::element value;
  if (parser.parse(options_json.data(), options_json.size())[name].get(value))
    return std::string(fallback);
  return text_of(value);
}

}  // namespace kiln
