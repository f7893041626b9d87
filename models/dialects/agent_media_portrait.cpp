// Actor portraits; see the header. The picture is shaded pixel by pixel from a few shapes
// (background, hair, neck, shoulders, head, eyes, smile, a badge with the initial) and written as
// a PNG: signature, IHDR, one zlib-compressed IDAT of unfiltered rows, IEND.
#include "models/dialects/agent_media_portrait.hpp"

#include "base/assert.hpp"

#include <zlib.h>

#include <array>
#include <string_view>

namespace kiln::agent_media {
namespace {

struct rgb {
  unsigned char r, g, b;
};

constexpr rgb from_hex(std::uint32_t hex) {
  return {static_cast<unsigned char>(hex >> 16), static_cast<unsigned char>(hex >> 8),
          static_cast<unsigned char>(hex)};
}

constexpr std::array<std::uint32_t, 8> backgrounds{0xF2C14E, 0x7FB7BE, 0xD3A5C9, 0x9BC53D,
                                                   0xE76F51, 0x8E9AAF, 0x2A9D8F, 0xF4A261};
constexpr std::array<std::uint32_t, 5> skins{0xFFDBAC, 0xF1C27D, 0xE0AC69, 0xC68642, 0x8D5524};
constexpr std::array<std::uint32_t, 5> hairs{0x2C1B12, 0x5A3825, 0xB5651D, 0xE6C27A, 0x1B1B1B};
constexpr std::array<std::uint32_t, 6> shirts{0x264653, 0x3D5A80, 0x6D597A,
                                              0xB56576, 0x355070, 0x40916C};
constexpr std::uint32_t grey_hair = 0xB8B8B8;

/// 5 x 7 capitals, one byte a row, the high bit of 5 leftmost.
constexpr std::array<std::array<unsigned char, 7>, 26> font{{
  {0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}, {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E},
  {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E}, {0x1E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1E},
  {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F}, {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10},
  {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F}, {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11},
  {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}, {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C},
  {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11}, {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F},
  {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11}, {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11},
  {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}, {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10},
  {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D}, {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11},
  {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E}, {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04},
  {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}, {0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04},
  {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A}, {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11},
  {0x11, 0x11, 0x0A, 0x04, 0x04, 0x04, 0x04}, {0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F},
}};

/// FNV-1a: picks the colours from the id, the same on every machine.
std::uint32_t fnv1a(std::string_view text) {
  std::uint32_t hash = 2166136261u;
  for (unsigned char c : text) hash = (hash ^ c) * 16777619u;
  return hash;
}

/// Whether (x, y) lies in the ellipse of centre (cx, cy) and radii (rx, ry).
bool in_ellipse(int x, int y, int cx, int cy, int rx, int ry) {
  double dx = static_cast<double>(x - cx) / rx, dy = static_cast<double>(y - cy) / ry;
  return dx * dx + dy * dy <= 1.0;
}

struct look {
  rgb background, skin, hair, shirt;
  bool long_hair = false;
  int letter = -1;  ///< index into font, -1 when the name does not start with A-Z
};

look look_of(const actor& a) {
  auto hash = fnv1a(a.id);
  look l;
  l.background = from_hex(backgrounds[hash % backgrounds.size()]);
  l.skin = from_hex(skins[(hash >> 8) % skins.size()]);
  int youngest = 0;  // the range's low end ("60+", "26-35": digits first, checked at parse)
  for (std::size_t i = 0; i < a.age_range.size() && a.age_range[i] >= '0' && a.age_range[i] <= '9';
       ++i)
    youngest = youngest * 10 + (a.age_range[i] - '0');
  bool senior = youngest >= 60;
  l.hair = from_hex(senior ? grey_hair : hairs[(hash >> 16) % hairs.size()]);
  l.shirt = from_hex(shirts[(hash >> 24) % shirts.size()]);
  l.long_hair = a.gender != "male";
  char first = a.name.empty() ? ' ' : a.name.front();
  if (first >= 'a' && first <= 'z') first = static_cast<char>(first - 'a' + 'A');
  if (first >= 'A' && first <= 'Z') l.letter = first - 'A';
  return l;
}

/// The colour of pixel (x, y): the shapes painted back to front.
rgb shade(const look& l, int x, int y) {
  constexpr int badge_x = 212, badge_y = 212, badge_r = 32, scale = 6;
  if (in_ellipse(x, y, badge_x, badge_y, badge_r, badge_r)) {
    int column = (x - (badge_x - 15)) / scale, row = (y - (badge_y - 21)) / scale;
    bool ink = l.letter >= 0 && x >= badge_x - 15 && y >= badge_y - 21 && column < 5 && row < 7 &&
               (font[l.letter][row] >> (4 - column) & 1) != 0;
    return ink ? l.background : rgb{255, 255, 255};
  }
  int dx = x - 128, dy = y - 128;
  if (dy >= 12 && dx * dx + dy * dy >= 18 * 18 && dx * dx + dy * dy <= 22 * 22)
    return {139, 58, 58};  // the smile: the lower arc of a ring under the eyes
  if (in_ellipse(x, y, 107, 114, 6, 6) || in_ellipse(x, y, 149, 114, 6, 6)) return {34, 34, 34};
  bool head = in_ellipse(x, y, 128, 112, 54, 66);
  if (in_ellipse(x, y, 128, 100, 58, 62) && (y < 76 || !head)) return l.hair;
  if (head) return l.skin;
  if (in_ellipse(x, y, 128, 276, 106, 82)) return l.shirt;
  if (dx >= -22 && dx <= 22 && y >= 150 && y <= 215) return l.skin;
  if (l.long_hair && in_ellipse(x, y, 128, 118, 74, 86) && y <= 196) return l.hair;
  return l.background;
}

void append_be32(std::string& out, std::uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(value >> shift));
}

void append_chunk(std::string& out, std::string_view type, std::string_view data) {
  append_be32(out, static_cast<std::uint32_t>(data.size()));
  out.append(type);
  out.append(data);
  uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(type.data()), 4);
  if (!data.empty())  // zlib: a null buffer would restart the CRC
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size()));
  append_be32(out, static_cast<std::uint32_t>(crc));
}

}  // namespace

std::string render_portrait(const actor& value) {
  const look l = look_of(value);
  constexpr std::uint32_t side = portrait_side;
  constexpr std::size_t row_bytes = 1 + side * 3;  // filter type 0, then RGB
  std::string rows(row_bytes * side, '\0');
  for (std::uint32_t y = 0; y < side; ++y)
    for (std::uint32_t x = 0; x < side; ++x) {
      auto c = shade(l, static_cast<int>(x), static_cast<int>(y));
      auto at = y * row_bytes + 1 + x * 3;
      rows[at] = static_cast<char>(c.r);
      rows[at + 1] = static_cast<char>(c.g);
      rows[at + 2] = static_cast<char>(c.b);
    }
  std::string compressed(compressBound(static_cast<uLong>(rows.size())), '\0');
  auto compressed_size = static_cast<uLongf>(compressed.size());
  int status = compress2(reinterpret_cast<Bytef*>(compressed.data()), &compressed_size,
                         reinterpret_cast<const Bytef*>(rows.data()),
                         static_cast<uLong>(rows.size()), Z_BEST_COMPRESSION);
  KILN_ASSERT_MSG(status == Z_OK, "zlib compresses a portrait in memory");
  compressed.resize(compressed_size);

  std::string header;
  append_be32(header, side);
  append_be32(header, side);
  header += std::string_view("\x08\x02\x00\x00\x00", 5);  // 8-bit RGB, deflate, no interlace
  std::string png("\x89PNG\r\n\x1a\n", 8);
  append_chunk(png, "IHDR", header);
  append_chunk(png, "IDAT", compressed);
  append_chunk(png, "IEND", {});
  return png;
}

}  // namespace kiln::agent_media
