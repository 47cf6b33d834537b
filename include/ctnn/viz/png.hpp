#pragma once
// PNG files through stb_image_write (Debian's libstb: link with -lstb, or use ctnn::ctnn from CMake).
// Writes are atomic: the image is encoded in memory and written by the same code as checkpoints
// (io/atomic_file.hpp): a temporary file beside the target, fsync'ed and renamed over it, so a failure
// or a kill never leaves a half-written picture; symbolic links are written through and modes kept.
#include <stb/stb_image_write.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "../core/error.hpp"
#include "../io/atomic_file.hpp"
#include "canvas.hpp"

namespace ctnn::viz {

// Writes 8-bit pixels (channels = 1 gray, 3 RGB, 4 RGBA), row-major, as a PNG file.
inline void write_png(const std::filesystem::path& path, int width, int height, int channels, const std::uint8_t* pixels) {
  std::vector<std::uint8_t> encoded;
  auto append = [](void* context, void* data, int size) {
    auto* out = static_cast<std::vector<std::uint8_t>*>(context);
    const auto* bytes = static_cast<const std::uint8_t*>(data);
    out->insert(out->end(), bytes, bytes + size);
  };
  if (!stbi_write_png_to_func(append, &encoded, width, height, channels, pixels, width * channels))
    throw error(cat("cannot encode '", path.string(), "' as PNG (", width, "x", height, "x", channels, ")"));
  io::write_file_atomically(
      path, std::string_view(reinterpret_cast<const char*>(encoded.data()), encoded.size()));
}

inline void write_png(const std::filesystem::path& path, const Canvas& canvas) {
  write_png(path, canvas.width(), canvas.height(), 3, canvas.data());
}

}  // namespace ctnn::viz
