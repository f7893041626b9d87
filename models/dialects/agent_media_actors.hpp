// agent.media's actor library (seed 002: GET /api/v1/actors, actor_slug on a create) as a
// resource catalog: data, not code. The library is models/data/agent_media_actors.json, compiled
// into the binary (models/embedded_data.hpp) and checked when first used like the model catalog:
// a wrong entry is refused with a message naming it. Pure: parse, filter, find by slug, suggest
// close slugs, render agent.media's views. http/agent_media_actors.cpp serves them.
#pragma once

#include "models/error.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::agent_media {

/// The most actors a library holds; a larger file is refused.
inline constexpr std::size_t actors_max = 1000;
/// The most close slugs a 404 suggests.
inline constexpr std::size_t actor_suggestions_max = 3;

/// One library actor: who appears in a talking-head video and the voice that speaks for them.
struct actor {
  std::string id;          ///< a UUID (lowercase, 8-4-4-4-12), stable across releases
  std::string name;        ///< "Emma": 1 to 100 characters
  std::string slug;        ///< "emma": 1 to 64 of a-z, 0-9 and '-'; what actor_slug names
  std::string gender;      ///< "female", "male", "non-binary": a-z and '-'
  std::string age_range;   ///< "26-35" (low below high) or "60+"
  std::string actor_type;  ///< "Young Adult": 1 to 40 characters
  std::string voice_id;    ///< the voice a video with this actor speaks in: 1 to 64 of A-Z a-z 0-9
  std::string status;      ///< "active", or "inactive": listed, but a create cannot choose it
};

/// GET /api/v1/actors' filters; an empty one matches every actor.
struct actor_filter {
  std::string gender;      ///< the whole value, any case
  std::string age_range;   ///< the whole value
  std::string actor_type;  ///< the whole value, any case
  std::string search;      ///< a part of the name, any case
};

/// The library: actors in file order, slugs and ids unique.
class actor_catalog {
public:
  /// The library in `json` ({"actors": [...]}) once every entry is valid; otherwise
  /// invalid_request whose message names the entry and what is wrong with it.
  static caf::expected<actor_catalog> parse(std::string_view json);
  /// The library compiled in (models/data/agent_media_actors.json), parsed once; a bad file is a
  /// build defect, so it aborts with the parser's message.
  static const actor_catalog& builtin();

  const std::vector<actor>& actors() const { return actors_; }
  /// The actor whose slug is `slug` (exactly), or nullptr.
  const actor* find(std::string_view slug) const;
  /// The actors `filter` matches, in library order.
  std::vector<const actor*> matching(const actor_filter& filter) const;
  /// Up to actor_suggestions_max slugs close to `slug` (any case) by edit distance, closest
  /// first: those within max(2, length / 3) edits.
  std::vector<std::string> suggestions(std::string_view slug) const;

private:
  std::vector<actor> actors_;
};

/// Where Kiln serves an actor's portrait, under the host the client reached.
std::string portrait_path(std::string_view slug);

/// One actor as agent.media shows it: {id, name, slug, gender, age_range, actor_type,
/// portrait_url, voice_id, status}; `base_url` is "http://HOST".
std::string render_actor(const actor& value, std::string_view base_url);
/// GET /api/v1/actors: {actors: [...], total} where total counts every match.
std::string render_actors(const std::vector<const actor*>& matches, std::string_view base_url);
/// GET /api/v1/actors/{slug}: {actor: {...}}.
std::string render_actor_found(const actor& value, std::string_view base_url);
/// The 404 of an unknown slug in agent.media's envelope, the close slugs inside the error:
/// {error: {code: "actor_not_found", message, type: "not_found", suggestions: [...]}}.
std::string render_actor_not_found(std::string_view slug,
                                   const std::vector<std::string>& suggestions);

}  // namespace kiln::agent_media
