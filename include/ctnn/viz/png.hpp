#pragma once
// PNG files through stb_image_write (Debian's libstb: link with -lstb, or use ctnn::ctnn from CMake).
// Writes are atomic: the image is encoded in memory, written to a temporary file beside the target
// and renamed over it, so a failure never leaves a half-written picture.
#include <stb/stb_image_write.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "canvas.hpp"

namespace ctnn::viz {

inline void write_file_atomically(const std::filesystem::path& path, const std::vector<std::uint8_t>& bytes) {
  const std::filesystem::path temporary = path.string() + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) throw error(cat("cannot write '", path.string(), "': cannot create ", temporary.string()));
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!out.flush()) {
      std::filesystem::remove(temporary);
      throw error(cat("cannot write '", path.string(), "': write failed"));
    }
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  if (ec) {
    std::filesystem::remove(temporary);
    throw error(cat("cannot write '", path.string(), "': ", ec.message()));
  }
}

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
  write_file_atomically(path, encoded);
}

inline void write_png(const std::filesystem::path& path, const Canvas& canvas) {
  write_png(path, canvas.width(), canvas.height(), 3, canvas.data());
}

}  // namespace ctnn::viz
