#pragma once
// ImageFolder<Shape<C, H, W>> (torchvision.datasets.ImageFolder): images in one folder per class,
//   root/pizza/1.jpg, root/steak/a.png, ...
// The classes are the sorted folder names (class index = position); files are sorted within each
// class. Images are PNG or JPEG files (.png, .jpg, .jpeg, any case), decoded on load() by libpng and
// libjpeg-turbo (data/image_decode.hpp, chosen by the file's signature, not its name), converted to C
// channels as PIL's Image.convert does (1: grey, 2: grey + alpha, 3: RGB, 4: RGBA), to float in
// [0, 1] and resized to H x W with antialiased bilinear resampling (Resize((H, W))), then the
// transform applies (e.g. RandomHorizontalFlip).
// Files are untrusted: the third constructor argument, a DecodeLimits, caps the file size and the
// decoded size, checked from the header before anything is allocated (defaults: 2^26 pixels, 65535
// pixels a side, 256 MiB a file; ImageFolder<...>(root, {}, {.max_pixels = 1 << 22}) for less). A
// malformed, truncated or oversized image, or one in another format (a .png holding a TGA, say), is a
// ctnn::error naming the file and the fault, raised by load() (and through a DataLoader's loop).
// Files with the extension of another image format (.bmp, .gif, .tga, .tif, .webp, ...) in a class
// folder are an error at construction rather than silently left out: convert them to PNG or move
// them away.
// Link with -lpng -ljpeg (ctnn::ctnn from CMake does).
#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "../core/shape.hpp"
#include "dataset.hpp"
#include "image_decode.hpp"
#include "transforms.hpp"

namespace ctnn::data {

// Extensions ImageFolder takes (lower case; matched case-insensitively).
inline const std::vector<std::string>& image_extensions() {
  static const std::vector<std::string> ext = {".png", ".jpg", ".jpeg"};
  return ext;
}
// Extensions of image formats ImageFolder does not decode; a class folder holding one is an error.
inline const std::vector<std::string>& unsupported_image_extensions() {
  static const std::vector<std::string> ext = {".bmp", ".gif", ".tga", ".ppm", ".pgm", ".pbm", ".pnm",
                                               ".psd", ".hdr", ".tif", ".tiff", ".webp"};
  return ext;
}

template <ShapeType S>
class ImageFolder : public dataset_ops<ImageFolder<S>> {
  static_assert(S::rank == 3, "ctnn: ImageFolder takes a Shape<C, H, W>");
  static_assert(S::dims[0] >= 1 && S::dims[0] <= 4, "ctnn: ImageFolder: C must be 1 (grey), 3 (RGB) or 4 (RGBA)");

 public:
  using sample_shape = S;
  using target_type = std::int64_t;
  static constexpr std::size_t channels = S::dims[0], height = S::dims[1], width = S::dims[2];

  explicit ImageFolder(const std::filesystem::path& root, Transform transform = {}, DecodeLimits limits = {})
      : transform_(std::move(transform)), limits_(limits) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::exists(root, ec)) throw error(cat("ImageFolder: ", root.string(), ": no such directory"));
    if (!fs::is_directory(root, ec)) throw error(cat("ImageFolder: ", root.string(), ": not a directory"));
    auto d = std::make_shared<storage>();
    d->root = root;
    for (const auto& entry : fs::directory_iterator(root, ec))
      if (entry.is_directory()) d->classes.push_back(entry.path().filename().string());
    if (ec) throw error(cat("ImageFolder: ", root.string(), ": cannot list: ", ec.message()));
    std::sort(d->classes.begin(), d->classes.end());
    if (d->classes.empty()) throw error(cat("ImageFolder: ", root.string(), ": no class folders in it"));
    std::vector<std::string> empty;
    std::vector<fs::path> unsupported;
    for (std::size_t c = 0; c < d->classes.size(); ++c) {
      std::vector<fs::path> files;
      for (const auto& entry : fs::recursive_directory_iterator(root / d->classes[c], ec)) {
        if (!entry.is_regular_file()) continue;
        if (has_extension(entry.path(), image_extensions())) files.push_back(entry.path());
        else if (has_extension(entry.path(), unsupported_image_extensions())) unsupported.push_back(entry.path());
      }
      if (ec) throw error(cat("ImageFolder: ", (root / d->classes[c]).string(), ": cannot list: ", ec.message()));
      std::sort(files.begin(), files.end());
      if (files.empty()) empty.push_back(d->classes[c]);
      for (auto& f : files) {
        d->files.push_back(std::move(f));
        d->labels.push_back(static_cast<std::int64_t>(c));
      }
    }
    if (!unsupported.empty()) {
      std::sort(unsupported.begin(), unsupported.end());
      std::string names;
      for (std::size_t k = 0; k < unsupported.size() && k < 5; ++k) {
        if (k) names += ", ";
        names += unsupported[k].string();
      }
      if (unsupported.size() > 5) names += cat(" and ", unsupported.size() - 5, " more");
      throw error(cat("ImageFolder: ", root.string(), ": ", unsupported.size(),
                      " image file(s) in a format ImageFolder does not decode (PNG and JPEG only: ", image_list(),
                      "): ", names, ": convert them to PNG or move them out of the class folders"));
    }
    if (!empty.empty()) {
      std::string names;
      for (std::size_t k = 0; k < empty.size(); ++k) names += (k ? ", " : "") + empty[k];
      throw error(cat("ImageFolder: ", root.string(), ": no image files (", image_list(), ") in the class folder(s) ",
                      names));
    }
    data_ = std::move(d);
  }

  std::size_t size() const { return data_->files.size(); }

  void load(std::size_t i, float* x, std::int64_t* y) const {
    detail::check_index(i, size(), "ImageFolder");
    const DecodedImage image = read_image(data_->files[i], channels, limits_);
    const std::size_t sh = image.height, sw = image.width;
    if (sh == height && sw == width) {
      ToTensor::convert_hwc(image.pixels.data(), sh, sw, channels, x);
    } else {
      // One channel plane at a time: a large image needs one float plane, not C of them.
      std::vector<float> plane(sh * sw);
      for (std::size_t c = 0; c < channels; ++c) {
        for (std::size_t p = 0; p < sh * sw; ++p)
          plane[p] = static_cast<float>(image.pixels[p * channels + c]) * (1.0f / 255.0f);
        resize_bilinear(plane.data(), 1, sh, sw, x + c * height * width, height, width);
      }
    }
    if (transform_) transform_(ImageView{x, channels, height, width});
    *y = data_->labels[i];
  }
  std::int64_t target(std::size_t i) const {
    detail::check_index(i, size(), "ImageFolder");
    return data_->labels[i];
  }

  std::vector<std::string> classes() const { return data_->classes; }
  std::map<std::string, std::int64_t> class_to_idx() const {
    std::map<std::string, std::int64_t> m;
    for (std::size_t c = 0; c < data_->classes.size(); ++c) m[data_->classes[c]] = static_cast<std::int64_t>(c);
    return m;
  }
  const std::filesystem::path& path(std::size_t i) const {
    detail::check_index(i, size(), "ImageFolder");
    return data_->files[i];
  }
  std::span<const std::int64_t> targets() const { return data_->labels; }
  // The limits every load() decodes under.
  const DecodeLimits& limits() const { return limits_; }
  const std::filesystem::path& root() const { return data_->root; }

 private:
  struct storage {
    std::filesystem::path root;
    std::vector<std::string> classes;
    std::vector<std::filesystem::path> files;
    std::vector<std::int64_t> labels;
  };

  static bool has_extension(const std::filesystem::path& p, const std::vector<std::string>& extensions) {
    std::string ext = p.extension().string();
    for (auto& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return std::find(extensions.begin(), extensions.end(), ext) != extensions.end();
  }
  static std::string image_list() {
    std::string s;
    for (const auto& e : image_extensions()) s += (s.empty() ? "" : " ") + e;
    return s;
  }

  std::shared_ptr<const storage> data_;
  Transform transform_;
  DecodeLimits limits_;
};

}  // namespace ctnn::data
