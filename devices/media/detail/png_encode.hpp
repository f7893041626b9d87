// Private helper shared by the PNG renderers (render_png and the video thumbnail): libpng's
// encoder behind one function that pulls RGB rows from a callback, so a picture never has to be
// held whole in memory. Defined in png_render.cpp.
#pragma once

#include <cstdint>
#include <string>

namespace kiln::media::detail {

/// Returns row `py` (width * 3 RGB bytes) of the picture being encoded; the bytes must stay
/// valid until the next call. Rows are asked for once each, top to bottom. Must not throw: it
/// is called from inside libpng.
using png_row_source = const unsigned char* (*)(void* context, std::uint32_t py);

/// An 8-bit RGB PNG of width x height (both 1 or more) in memory, or an empty string if libpng
/// fails. Same rows give the same bytes.
std::string encode_png(std::uint32_t width, std::uint32_t height, png_row_source rows,
                       void* context);

}  // namespace kiln::media::detail
