// agent.media's actor portraits as real image files Kiln serves itself (the seed's portrait_url
// points at a CDN): a head and shoulders drawn from the actor's data, encoded as a PNG with zlib.
// Pure and deterministic: the same actor always gives the same bytes.
//
// Why not devices/media's libpng encoder: the portraits are served by http/, which may include
// only the layers below it (scripts/check-layers.sh), and devices/ is not one of them.
#pragma once

#include "models/dialects/agent_media_actors.hpp"

#include <cstdint>
#include <string>

namespace kiln::agent_media {

/// Side of a portrait, in pixels.
inline constexpr std::uint32_t portrait_side = 256;

/// The actor's portrait: an 8-bit RGB PNG, portrait_side square, of a head and shoulders with
/// the name's initial on a badge; colours come from the actor's id, the hair from its gender
/// and age range.
std::string render_portrait(const actor& value);

}  // namespace kiln::agent_media
