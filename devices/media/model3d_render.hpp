// 3D model rendering for the `builtin` and `sim` executors: a real binary glTF 2.0 file (GLB)
// holding one cube whose material colour and roughness come from prompt, seed and output index.
// Pure functions: no actors, no I/O; same inputs give the same bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "devices/media/media_render.hpp"

namespace kiln::media {

/// A GLB (glTF 2.0 binary): a 12-byte header, a JSON chunk (padded with spaces) and a BIN chunk
/// (padded with zeros), every chunk 4-byte aligned. One scene, one node, one mesh: a unit cube
/// of 8 positions and 36 indices, with a PBR material whose base colour is one of the picture's
/// colours for the same request. About 900 bytes; ignores width and height.
std::string render_glb(const render_request& request);

/// The sim executor's model: render_glb, which is already tiny; named like the other small
/// variants.
std::string render_small_glb(const render_request& request);

/// What a GLB says; ok=false unless the magic is "glTF", the version 2, the header's length the
/// byte count, the first chunk JSON whose asset.version is "2.0", and a BIN chunk (if any) at
/// least as long as buffers[0].byteLength that ends the file.
struct glb_info {
  bool ok = false;
  std::uint32_t version = 0;
  std::uint32_t length = 0;      ///< total length the header gives, in bytes
  std::uint32_t json_bytes = 0;  ///< the JSON chunk's length (padding included)
  std::uint32_t bin_bytes = 0;   ///< the BIN chunk's length, 0 without one
  std::uint32_t meshes = 0;      ///< entries of the JSON's "meshes" array
  std::uint32_t accessors = 0;   ///< entries of the JSON's "accessors" array
};
glb_info read_glb_info(std::string_view bytes);

}  // namespace kiln::media
