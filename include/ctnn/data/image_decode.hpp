#pragma once
// Decoding the images ImageFolder reads, from untrusted files: PNG through libpng, JPEG through
// libjpeg-turbo (data/decode/png.hpp, data/decode/jpeg.hpp), chosen by the file's first bytes, never by
// its name. Every other format is refused with an error naming what the bytes look like (BMP, GIF, TGA,
// PSD, HDR, PNM, TIFF, WebP, ...): ImageFolder needs only PNG and JPEG, and every extra decoder is
// attack surface.
//   image_format(bytes)                          "PNG", "JPEG", "BMP", ... or "" (unknown)
//   decode_image(bytes, channels, limits, name)  DecodedImage (HWC, 8 bits a channel)
//   read_image(file, channels, limits)           the same from a file
// channels: 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA (converted as PIL's Image.convert does: see
// decode/image.hpp), or 0 for what the file holds (CMYK JPEGs give RGB).
// read_image opens regular files only (a FIFO, a device or a directory is refused without blocking,
// io/regular_file.hpp) and refuses a file larger than limits.max_file_bytes before reading it.
// Limits (DecodeLimits, decode/image.hpp) are checked from the header, before pixels are allocated.
// Every error is a ctnn::error that starts with the file's name: "cats/1.jpg: JPEG: Bogus Huffman table
// definition", "cats/2.png: PNG: 100000 x 100000 pixels: a side is longer than the limit of 65535
// pixels (DecodeLimits::max_side)", "cats/3.png: a TGA image (by its name; no PNG or JPEG signature):
// ImageFolder decodes PNG and JPEG only".
// Link with -lpng -ljpeg (ctnn::ctnn from CMake does).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "../core/error.hpp"
#include "../io/regular_file.hpp"
#include "decode/image.hpp"
#include "decode/jpeg.hpp"
#include "decode/png.hpp"

namespace ctnn::data {

namespace detail {

inline bool starts_with(std::span<const std::uint8_t> b, std::string_view magic) {
  if (b.size() < magic.size()) return false;
  for (std::size_t i = 0; i < magic.size(); ++i)
    if (b[i] != static_cast<std::uint8_t>(magic[i])) return false;
  return true;
}

// "00 00 02 00 ...": the first bytes, for an error about an unknown format.
inline std::string first_bytes(std::span<const std::uint8_t> b) {
  std::string s;
  char hex[4];
  for (std::size_t i = 0; i < b.size() && i < 8; ++i) {
    std::snprintf(hex, sizeof hex, "%02x", static_cast<unsigned>(b[i]));
    if (i) s += ' ';
    s += hex;
  }
  return s;
}

// A format named by the file's extension, for files whose bytes carry no signature (TGA has none).
inline std::string_view format_by_extension(std::string_view name) {
  const auto dot = name.rfind('.');
  if (dot == std::string_view::npos) return {};
  std::string ext(name.substr(dot + 1));
  for (auto& ch : ext) ch = static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
  if (ext == "tga" || ext == "icb" || ext == "vda" || ext == "vst") return "TGA";
  if (ext == "pic") return "PIC";
  if (ext == "bmp") return "BMP";
  if (ext == "gif") return "GIF";
  if (ext == "psd") return "PSD";
  if (ext == "hdr") return "HDR";
  if (ext == "ppm" || ext == "pgm" || ext == "pbm" || ext == "pnm") return "PNM";
  if (ext == "tif" || ext == "tiff") return "TIFF";
  if (ext == "webp") return "WebP";
  return {};
}

}  // namespace detail

// The format the bytes' signature names: "PNG", "JPEG", or one ImageFolder refuses ("BMP", "GIF",
// "PSD", "HDR", "PNM", "TIFF", "WebP", "QOI", "JPEG 2000", "AVIF/HEIF", "ICO"), or "" when none matches.
inline std::string_view image_format(std::span<const std::uint8_t> b) {
  using detail::starts_with;
  if (starts_with(b, "\x89PNG\r\n\x1a\n")) return "PNG";
  if (starts_with(b, "\xff\xd8\xff")) return "JPEG";
  if (starts_with(b, "GIF87a") || starts_with(b, "GIF89a")) return "GIF";
  if (starts_with(b, "BM")) return "BMP";
  if (starts_with(b, "8BPS")) return "PSD";
  if (starts_with(b, "#?RADIANCE") || starts_with(b, "#?RGBE")) return "HDR";
  if (b.size() >= 3 && b[0] == 'P' && b[1] >= '1' && b[1] <= '7' &&
      (b[2] == ' ' || b[2] == '\n' || b[2] == '\r' || b[2] == '\t'))
    return "PNM";
  if (starts_with(b, std::string_view("II*\0", 4)) || starts_with(b, std::string_view("MM\0*", 4))) return "TIFF";
  if (starts_with(b, "RIFF") && b.size() >= 12 && b[8] == 'W' && b[9] == 'E' && b[10] == 'B' && b[11] == 'P')
    return "WebP";
  if (starts_with(b, "qoif")) return "QOI";
  if (starts_with(b, std::string_view("\0\0\0\x0cjP  ", 8)) || starts_with(b, "\xff\x4f\xff\x51")) return "JPEG 2000";
  if (b.size() >= 12 && b[4] == 'f' && b[5] == 't' && b[6] == 'y' && b[7] == 'p') return "AVIF/HEIF";
  if (starts_with(b, std::string_view("\0\0\1\0", 4))) return "ICO";
  return {};
}

// Decodes a PNG or JPEG held in memory to `channels` channels (0: as stored). `name` (the file's
// path) starts every error message.
inline DecodedImage decode_image(std::span<const std::uint8_t> bytes, std::size_t channels,
                                 const DecodeLimits& limits = {}, std::string_view name = "image") {
  if (channels > 4)
    throw error(cat(name, ": ", channels, " channels asked for: 1 (grey), 2 (grey + alpha), 3 (RGB), 4 (RGBA) or 0"));
  if (bytes.empty()) throw error(cat(name, ": empty file (0 bytes): not an image"));
  const std::string_view format = image_format(bytes);
  if (format == "PNG") return to_channels(decode_png(bytes, limits, name), channels);
  if (format == "JPEG") return to_channels(decode_jpeg(bytes, limits, name), channels);
  if (!format.empty())
    throw error(cat(name, ": a ", format, " image: ImageFolder decodes PNG and JPEG only (convert it to PNG)"));
  if (const std::string_view by_name = detail::format_by_extension(name); !by_name.empty())
    throw error(cat(name, ": a ", by_name, " image (by its name; the bytes have no PNG or JPEG signature: ",
                    detail::first_bytes(bytes), "): ImageFolder decodes PNG and JPEG only (convert it to PNG)"));
  throw error(cat(name, ": not a PNG or JPEG file (it starts with ", detail::first_bytes(bytes),
                  "): ImageFolder decodes PNG and JPEG only"));
}

// Reads and decodes an image file (a regular file of at most limits.max_file_bytes bytes).
inline DecodedImage read_image(const std::filesystem::path& file, std::size_t channels,
                               const DecodeLimits& limits = {}) {
  const std::string name = file.string();
  io::input_file in(file);
  if (in.size() > limits.max_file_bytes)
    throw error(cat(name, ": the file is ", in.size(), " bytes, more than the limit of ", limits.max_file_bytes,
                    " bytes (DecodeLimits::max_file_bytes)"));
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(in.size()));
  bytes.resize(in.read(bytes.data(), bytes.size()));
  return decode_image(bytes, channels, limits, name);
}

}  // namespace ctnn::data
