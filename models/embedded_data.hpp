// Data files compiled into the binary: each models/data/NAME.json is the text of
// kiln::embedded::NAME(), a source CMake generates from the file (see CMakeLists.txt), so data
// is edited as data and still needs no file at run time.
#pragma once

#include <string_view>

namespace kiln::embedded {

/// models/data/agent_media_actors.json: agent.media's actor library
/// (models/dialects/agent_media_actors.hpp parses and checks it).
std::string_view agent_media_actors();

}  // namespace kiln::embedded
