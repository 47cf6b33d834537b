#pragma once
// PNG decoding through libpng (Debian's libpng-dev, continuously fuzzed upstream; link with -lpng, or
// PNG::PNG from CMake, which ctnn::ctnn does).
//   decode_png(bytes, limits, name) -> DecodedImage with the channels the file stores, 8 bits each:
//   grey (1), grey + alpha (2), RGB (3) or RGBA (4). Palettes are expanded to RGB, a tRNS chunk to an
//   alpha channel, grey of 1, 2 or 4 bits is scaled to 8 bits, 16-bit samples keep their high byte (as
//   PIL and stb_image do), interlaced (Adam7) images are deinterlaced. Colour chunks (gAMA, iCCP, sRGB,
//   cHRM) are ignored, as PIL does, and so are text and the other ancillary chunks.
// The header is read first: an image over DecodeLimits is refused from IHDR's dimensions, before libpng
// reads further and before the pixels are allocated.
// libpng reports errors by longjmp; here it only ever jumps out of the two small functions that call
// it (png_header_step, png_pixels_step), whose frames hold no C++ object with a destructor. Every
// error is a ctnn::error "<name>: PNG: <libpng's words>"; libpng's warnings (about chunks it repairs or
// skips) are dropped, never printed.
#include <png.h>

#include <csetjmp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

#include "image.hpp"

namespace ctnn::data {

namespace detail {

// What libpng's callbacks and the two steps share. Trivially destructible on purpose: see above.
struct png_state {
  png_structp png = nullptr;
  png_infop info = nullptr;
  const std::uint8_t* data = nullptr;
  std::size_t size = 0, pos = 0;
  char message[256] = {};
  png_uint_32 width = 0, height = 0;
  int bit_depth = 0, color_type = 0;
  bool trns = false;
};

inline void png_on_error(png_structp png, png_const_charp message) {
  auto* st = static_cast<png_state*>(png_get_error_ptr(png));
  if (st->message[0] == '\0') std::strncpy(st->message, message ? message : "error", sizeof st->message - 1);
  png_longjmp(png, 1);
}
inline void png_on_warning(png_structp, png_const_charp) {}
inline void png_on_read(png_structp png, png_bytep out, std::size_t n) {
  auto* st = static_cast<png_state*>(png_get_io_ptr(png));
  if (n > st->size - st->pos) png_error(png, "the file ends early (truncated)");
  std::memcpy(out, st->data + st->pos, n);
  st->pos += n;
}

// Ancillary chunks skipped unread (their CRC is still checked): nothing in them changes the pixels
// ImageFolder wants, and the compressed ones (iCCP, zTXt, iTXt) are work an attacker chooses.
inline constexpr png_byte png_ignored_chunks[] = "bKGD\0cHRM\0eXIf\0gAMA\0hIST\0iCCP\0iTXt\0oFFs\0pCAL\0pHYs\0"
                                                 "sBIT\0sCAL\0sPLT\0sRGB\0tEXt\0tIME\0zTXt";

// Step 1: the signature and the chunks up to the first IDAT. False (with st.message) on an error.
inline bool png_header_step(png_state& st) {
  if (setjmp(png_jmpbuf(st.png))) return false;
  png_set_read_fn(st.png, &st, png_on_read);
  png_set_keep_unknown_chunks(st.png, PNG_HANDLE_CHUNK_NEVER, png_ignored_chunks,
                              static_cast<int>(sizeof png_ignored_chunks / 5));
  png_set_chunk_malloc_max(st.png, 8u << 20);
  png_set_chunk_cache_max(st.png, 1000);
  png_read_info(st.png, st.info);
  png_uint_32 w = 0, h = 0;
  int depth = 0, type = 0;
  png_get_IHDR(st.png, st.info, &w, &h, &depth, &type, nullptr, nullptr, nullptr);
  st.width = w;
  st.height = h;
  st.bit_depth = depth;
  st.color_type = type;
  st.trns = png_get_valid(st.png, st.info, PNG_INFO_tRNS) != 0;
  return true;
}

// Step 2: every row, expanded to 8-bit grey/GA/RGB/RGBA with `channels` channels, into rows.
inline bool png_pixels_step(png_state& st, png_bytepp rows, std::size_t channels) {
  if (setjmp(png_jmpbuf(st.png))) return false;
  png_set_expand(st.png);
  if (st.bit_depth == 16) png_set_strip_16(st.png);
  (void)png_set_interlace_handling(st.png);
  png_read_update_info(st.png, st.info);
  if (png_get_channels(st.png, st.info) != channels || png_get_bit_depth(st.png, st.info) != 8 ||
      png_get_rowbytes(st.png, st.info) != static_cast<std::size_t>(st.width) * channels)
    png_error(st.png, "unexpected row layout after expansion");
  png_read_image(st.png, rows);
  return true;
}

}  // namespace detail

// Decodes a PNG held in memory; `name` (the file) starts every error message.
inline DecodedImage decode_png(std::span<const std::uint8_t> bytes, const DecodeLimits& limits = {},
                               std::string_view name = "image") {
  struct reader {
    detail::png_state st;
    reader() = default;
    reader(const reader&) = delete;
    reader& operator=(const reader&) = delete;
    ~reader() {
      if (st.png) png_destroy_read_struct(&st.png, &st.info, nullptr);
    }
  } r;
  // IHDR is the first chunk (libpng checks that): its dimensions are checked here, before libpng reads
  // the chunks after it (it would read all of them up to the first IDAT before we could look).
  if (bytes.size() >= 26 && bytes[12] == 'I' && bytes[13] == 'H' && bytes[14] == 'D' && bytes[15] == 'R') {
    auto be32 = [&](std::size_t at) {
      return std::uint32_t{bytes[at]} << 24 | std::uint32_t{bytes[at + 1]} << 16 | std::uint32_t{bytes[at + 2]} << 8 |
             std::uint32_t{bytes[at + 3]};
    };
    const std::uint32_t w = be32(16), h = be32(20);
    detail::check_image_size(name, "PNG", w, h, limits);
    // Deflate expands at most 1032:1, so a file of n bytes holds at most about 1032 n bytes of rows
    // (height rows of a filter byte and width * bits per pixel bits): one claiming more is truncated
    // or a bomb, refused before its pixels are allocated.
    static constexpr std::uint8_t samples[7] = {1, 0, 3, 1, 2, 0, 4};  // per colour type 0..6
    const std::uint8_t depth = bytes[24], type = bytes[25];
    if (type <= 6 && samples[type] != 0 && depth >= 1 && depth <= 16) {
      const std::uint64_t row_bits = std::uint64_t{w} * samples[type] * depth;
      const std::uint64_t rows = std::uint64_t{h} * (1 + (row_bits + 7) / 8);
      if (rows > 1032 * std::uint64_t{bytes.size()} + 4096)
        detail::image_error(name, "PNG",
                            cat(w, " x ", h, " pixels need at least ", rows, " bytes of image data, more than ",
                                bytes.size(), " bytes of file can hold (deflate expands at most 1032:1): truncated "
                                "or a decompression bomb"));
    }
  }
  detail::png_state& st = r.st;
  st.data = bytes.data();
  st.size = bytes.size();
  st.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &st, detail::png_on_error, detail::png_on_warning);
  if (!st.png) detail::image_error(name, "PNG", "libpng cannot start (out of memory, or another libpng version)");
  st.info = png_create_info_struct(st.png);
  if (!st.info) detail::image_error(name, "PNG", "out of memory");
  if (!detail::png_header_step(st)) detail::image_error(name, "PNG", st.message);
  detail::check_image_size(name, "PNG", st.width, st.height, limits);

  std::size_t channels = 0;
  switch (st.color_type) {
    case PNG_COLOR_TYPE_GRAY: channels = st.trns ? 2 : 1; break;
    case PNG_COLOR_TYPE_GRAY_ALPHA: channels = 2; break;
    case PNG_COLOR_TYPE_RGB:
    case PNG_COLOR_TYPE_PALETTE: channels = st.trns ? 4 : 3; break;
    case PNG_COLOR_TYPE_RGB_ALPHA: channels = 4; break;
    default: detail::image_error(name, "PNG", cat("unknown colour type ", st.color_type));
  }
  DecodedImage image;
  image.width = st.width;
  image.height = st.height;
  image.channels = channels;
  image.pixels.resize(image.width * image.height * channels);
  std::vector<png_bytep> rows(image.height);
  for (std::size_t y = 0; y < image.height; ++y) rows[y] = image.pixels.data() + y * image.width * channels;
  if (!detail::png_pixels_step(st, rows.data(), channels)) detail::image_error(name, "PNG", st.message);
  return image;
}

}  // namespace ctnn::data
