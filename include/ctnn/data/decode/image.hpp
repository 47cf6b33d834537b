#pragma once
// What the image decoders share: the decoded image, the limits every decoder enforces before it
// allocates, and the conversion between channel counts.
//  * DecodedImage: width x height pixels of `channels` bytes each, row by row (HWC, 8 bits a channel).
//  * DecodeLimits: the largest file, image and side a decoder accepts (a decompression bomb, e.g. an
//    18-byte header claiming 16000 x 8000 pixels, is refused from its header, before any pixel memory
//    is allocated).
//  * to_channels: 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA) from any of these, as PIL's
//    Image.convert does: grey = (19595 R + 38470 G + 7471 B + 2^15) >> 16 (ITU-R 601-2 luma), alpha is
//    dropped, or added as 255.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../../core/error.hpp"

namespace ctnn::data {

// Limits on what an image decoder accepts, checked before the pixels are allocated. Every limit is
// settable (ImageFolder takes a DecodeLimits); the defaults take any photograph of today's cameras.
struct DecodeLimits {
  // Pixels (width * height). 2^26 = 67,108,864: a 64-megapixel phone photograph (9248 x 6936) fits.
  // Decoding one image for ImageFolder then needs at most about pixels * (C + 4) bytes (448 MiB for
  // RGB at the limit: the 8-bit pixels plus one float plane for the resize); a progressive JPEG adds
  // libjpeg's coefficient buffers, 2 bytes a pixel per full-resolution component (up to 8 for CMYK).
  // A PNG must also be large enough to hold its pixels at deflate's best ratio (1032:1).
  std::uint64_t max_pixels = std::uint64_t{1} << 26;
  // Width and height, each: 65535 is JPEG's own limit (PNG allows 2^31 - 1).
  std::uint32_t max_side = 65535;
  // Bytes of the file read into memory. 256 MiB: far more than a compressed image of max_pixels needs.
  std::uint64_t max_file_bytes = std::uint64_t{1} << 28;
  // Scans of a progressive JPEG (an ordinary one has about 10): many tiny scans take the decoder's time.
  std::uint32_t max_jpeg_scans = 256;
};

// A decoded image: height rows of width pixels of `channels` bytes (HWC), 8 bits per channel.
struct DecodedImage {
  std::size_t width = 0, height = 0, channels = 0;
  std::vector<std::uint8_t> pixels;
};

namespace detail {

// "<name>: <format>: <problem>": the one shape of every decoding error.
[[noreturn]] inline void image_error(std::string_view name, std::string_view format, std::string_view problem) {
  throw error(cat(name, ": ", format, ": ", problem));
}

// Refuses an image larger than the limits allow (or empty), from its header's dimensions.
inline void check_image_size(std::string_view name, std::string_view format, std::uint64_t width,
                             std::uint64_t height, const DecodeLimits& limits) {
  if (width == 0 || height == 0)
    image_error(name, format, cat("the header says ", width, " x ", height, " pixels: an empty image"));
  if (width > limits.max_side || height > limits.max_side)
    image_error(name, format,
                cat(width, " x ", height, " pixels: a side is longer than the limit of ", limits.max_side,
                    " pixels (DecodeLimits::max_side)"));
  if (width * height > limits.max_pixels)  // both <= 2^32: no overflow
    image_error(name, format,
                cat(width, " x ", height, " = ", width * height, " pixels is more than the limit of ",
                    limits.max_pixels, " pixels (DecodeLimits::max_pixels)"));
}

// PIL's luma: (19595 R + 38470 G + 7471 B + 0x8000) >> 16.
inline std::uint8_t luma(std::uint8_t r, std::uint8_t g, std::uint8_t b) {
  return static_cast<std::uint8_t>((19595u * r + 38470u * g + 7471u * b + 0x8000u) >> 16);
}

}  // namespace detail

// The image with `channels` channels (1 grey, 2 grey + alpha, 3 RGB, 4 RGBA; 0 keeps what it has).
inline DecodedImage to_channels(DecodedImage image, std::size_t channels) {
  const std::size_t from = image.channels;
  if (channels > 4) throw error(cat("to_channels: ", channels, " channels asked for; 0 (as stored) or 1 to 4"));
  if (from < 1 || from > 4 || image.pixels.size() != image.width * image.height * from)
    throw error(cat("to_channels: a ", image.width, " x ", image.height, " image of ", from, " channels holds ",
                    image.pixels.size(), " bytes"));
  if (channels == 0 || channels == from) return image;
  const std::size_t n = image.width * image.height;
  std::vector<std::uint8_t> out(n * channels);
  const std::uint8_t* s = image.pixels.data();
  std::uint8_t* d = out.data();
  for (std::size_t p = 0; p < n; ++p, s += from, d += channels) {
    std::uint8_t r, g, b, a = 255;
    if (from <= 2) {
      r = g = b = s[0];
      if (from == 2) a = s[1];
    } else {
      r = s[0];
      g = s[1];
      b = s[2];
      if (from == 4) a = s[3];
    }
    if (channels <= 2) {
      d[0] = from <= 2 ? s[0] : detail::luma(r, g, b);
      if (channels == 2) d[1] = a;
    } else {
      d[0] = r;
      d[1] = g;
      d[2] = b;
      if (channels == 4) d[3] = a;
    }
  }
  image.pixels = std::move(out);
  image.channels = channels;
  return image;
}

}  // namespace ctnn::data
