// agent.media's actor library; see the header.
#include "models/dialects/agent_media_actors.hpp"

#include "base/assert.hpp"
#include "models/embedded_data.hpp"
#include "models/json_writer.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cstdio>
#include <tuple>

namespace kiln::agent_media {
namespace dom = simdjson::dom;

namespace {

constexpr std::string_view lowercase_digits = "abcdefghijklmnopqrstuvwxyz0123456789";

bool only(std::string_view text, std::string_view allowed) {
  return text.find_first_not_of(allowed) == std::string_view::npos;
}

bool is_digits(std::string_view text) {
  return !text.empty() && text.size() <= 3 && only(text, "0123456789");
}

/// The value of up to 3 digits (is_digits).
int number(std::string_view digits) {
  int n = 0;
  for (char c : digits) n = n * 10 + (c - '0');
  return n;
}

std::size_t chars(std::string_view text) {
  std::size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool valid_uuid(std::string_view id) {
  if (id.size() != 36) return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? id[i] != '-' : !only(id.substr(i, 1), "0123456789abcdef")) return false;
  }
  return true;
}

bool valid_age_range(std::string_view range) {
  if (range.ends_with('+')) return is_digits(range.substr(0, range.size() - 1));
  auto dash = range.find('-');
  if (dash == std::string_view::npos) return false;
  auto low = range.substr(0, dash), high = range.substr(dash + 1);
  return is_digits(low) && is_digits(high) && number(low) < number(high);
}

/// What is wrong with field `name` set to `text`, or "" when it is fine.
std::string check_field(std::string_view name, std::string_view text) {
  if (name == "id")
    return valid_uuid(text) ? "" : "id must be a lowercase UUID (8-4-4-4-12 hex digits)";
  if (name == "name")
    return !text.empty() && chars(text) <= 100 ? "" : "name must be 1 to 100 characters";
  if (name == "slug")
    return !text.empty() && text.size() <= 64 && text.front() != '-' &&
               only(text, std::string(lowercase_digits) + "-")
             ? ""
             : "slug must be 1 to 64 of a-z, 0-9 and '-', not starting with '-'";
  if (name == "gender")
    return !text.empty() && text.size() <= 32 && only(text, "abcdefghijklmnopqrstuvwxyz-")
             ? ""
             : "gender must be 1 to 32 of a-z and '-'";
  if (name == "age_range")
    return valid_age_range(text) ? "" : "age_range must be LOW-HIGH (LOW < HIGH) or LOW+";
  if (name == "actor_type")
    return !text.empty() && chars(text) <= 40 ? "" : "actor_type must be 1 to 40 characters";
  if (name == "voice_id")
    return !text.empty() && text.size() <= 64 &&
               only(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
             ? ""
             : "voice_id must be 1 to 64 letters and digits";
  KILN_ASSERT(name == "status");
  return text == "active" || text == "inactive" ? "" : "status must be active or inactive";
}

/// Reads one entry into `out`; what is wrong with it, or "" when it is valid.
std::string read_actor(dom::object object, actor& out) {
  std::string* fields[] = {&out.id,        &out.name,       &out.slug,     &out.gender,
                           &out.age_range, &out.actor_type, &out.voice_id, &out.status};
  constexpr std::string_view names[] = {"id",        "name",       "slug",     "gender",
                                        "age_range", "actor_type", "voice_id", "status"};
  for (auto [key, value] : object) {
    std::string_view k = key;
    auto at = std::find(std::begin(names), std::end(names), k);
    if (at == std::end(names)) return "unknown field '" + std::string(k) + "'";
    std::string_view text;
    if (value.get_string().get(text)) return std::string(k) + " must be a string";
    if (auto trouble = check_field(k, text); !trouble.empty()) return trouble;
    *fields[at - std::begin(names)] = std::string(text);
  }
  for (std::size_t i = 0; i < std::size(names); ++i)
    if (fields[i]->empty()) return std::string(names[i]) + " is required";
  return {};
}

/// Levenshtein distance, two rows.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> previous(b.size() + 1), current(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j)
      current[j] = std::min(
        {previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(previous, current);
  }
  return previous[b.size()];
}

void write_actor(json_writer& w, const actor& a, std::string_view base_url) {
  w.begin_object()
    .field("id", a.id)
    .field("name", a.name)
    .field("slug", a.slug)
    .field("gender", a.gender)
    .field("age_range", a.age_range)
    .field("actor_type", a.actor_type)
    .field("portrait_url", std::string(base_url) + portrait_path(a.slug))
    .field("voice_id", a.voice_id)
    .field("status", a.status)
    .end_object();
}

}  // namespace

caf::expected<actor_catalog> actor_catalog::parse(std::string_view json) {
  auto invalid = [](std::string message) {
    return make_error(error_code::invalid_request, "actor library: " + std::move(message));
  };
  dom::parser parser;
  simdjson::padded_string padded(json);
  dom::element root;
  if (auto failure = parser.parse(padded).get(root))
    return invalid(std::string("invalid JSON: ") + simdjson::error_message(failure));
  dom::array entries;
  if (root["actors"].get_array().get(entries) != simdjson::SUCCESS)
    return invalid("expected an object with an 'actors' array");
  if (entries.size() == 0) return invalid("no actors");
  if (entries.size() > actors_max)
    return invalid("more than " + std::to_string(actors_max) + " actors");
  actor_catalog result;
  std::size_t index = 0;
  for (dom::element element : entries) {
    auto where = "actors[" + std::to_string(index++) + "]";
    dom::object object;
    if (element.get_object().get(object) != simdjson::SUCCESS)
      return invalid(where + " must be an object");
    actor entry;
    if (auto trouble = read_actor(object, entry); !trouble.empty())
      return invalid(where + ": " + trouble);
    for (const auto& other : result.actors_) {
      if (other.slug == entry.slug) return invalid(where + ": duplicate slug '" + entry.slug + "'");
      if (other.id == entry.id) return invalid(where + ": duplicate id '" + entry.id + "'");
    }
    result.actors_.push_back(std::move(entry));
  }
  return result;
}

const actor_catalog& actor_catalog::builtin() {
  static const actor_catalog instance = [] {
    auto parsed = parse(embedded::agent_media_actors());
    if (!parsed) std::fprintf(stderr, "kiln: %s\n", to_api_error(parsed.error()).message.c_str());
    KILN_ASSERT_MSG(parsed, "models/data/agent_media_actors.json parses");
    return std::move(*parsed);
  }();
  return instance;
}

const actor* actor_catalog::find(std::string_view slug) const {
  for (const auto& a : actors_)
    if (a.slug == slug) return &a;
  return nullptr;
}

std::vector<const actor*> actor_catalog::matching(const actor_filter& filter) const {
  auto gender = lower(filter.gender), type = lower(filter.actor_type),
       search = lower(filter.search);
  std::vector<const actor*> out;
  for (const auto& a : actors_) {
    if (!gender.empty() && lower(a.gender) != gender) continue;
    if (!filter.age_range.empty() && a.age_range != filter.age_range) continue;
    if (!type.empty() && lower(a.actor_type) != type) continue;
    if (!search.empty() && lower(a.name).find(search) == std::string::npos) continue;
    out.push_back(&a);
  }
  return out;
}

std::vector<std::string> actor_catalog::suggestions(std::string_view slug) const {
  // Slugs are at most 64 characters: a longer query is no typo of any of them.
  if (slug.empty() || slug.size() > 64 + 2) return {};
  auto wanted = lower(slug);
  auto within = std::max<std::size_t>(2, wanted.size() / 3);
  std::vector<std::pair<std::size_t, const std::string*>> close;
  for (const auto& a : actors_)
    if (auto distance = edit_distance(wanted, a.slug); distance <= within)
      close.emplace_back(distance, &a.slug);
  std::sort(close.begin(), close.end(), [](const auto& x, const auto& y) {
    return std::tie(x.first, *x.second) < std::tie(y.first, *y.second);
  });
  std::vector<std::string> out;
  for (const auto& [distance, name] : close)
    if (out.size() < actor_suggestions_max) out.push_back(*name);
  return out;
}

std::string portrait_path(std::string_view slug) {
  return "/api/v1/actors/" + std::string(slug) + "/portrait.png";
}

std::string render_actor(const actor& value, std::string_view base_url) {
  json_writer w;
  write_actor(w, value, base_url);
  return w.take();
}

std::string render_actors(const std::vector<const actor*>& matches, std::string_view base_url) {
  json_writer w;
  w.begin_object().key("actors").begin_array();
  for (const auto* a : matches) write_actor(w, *a, base_url);
  w.end_array().field("total", static_cast<std::uint64_t>(matches.size()));
  return w.end_object().take();
}

std::string render_actor_found(const actor& value, std::string_view base_url) {
  json_writer w;
  w.begin_object().key("actor");
  write_actor(w, value, base_url);
  return w.end_object().take();
}

std::string render_actor_not_found(std::string_view slug,
                                   const std::vector<std::string>& suggestions) {
  json_writer w;
  w.begin_object()
    .key("error")
    .begin_object()
    .field("code", "actor_not_found")
    .field("message",
           "no actor has the slug '" + std::string(slug) + "'; browse GET /api/v1/actors")
    .field("type", "not_found")
    .key("suggestions")
    .begin_array();
  for (const auto& s : suggestions) w.value(s);
  return w.end_array().end_object().end_object().take();
}

}  // namespace kiln::agent_media
