#pragma once
// ImageFolder<Shape<C, H, W>> (torchvision.datasets.ImageFolder): images in one folder per class,
//   root/pizza/1.jpg, root/steak/a.png, ...
// The classes are the sorted folder names (class index = position); files are sorted within each
// class. Images are decoded on load() with stb_image (PNG, JPEG, BMP, GIF, TGA, PPM/PGM, PSD, HDR),
// converted to C channels (1: grey, 3: RGB, 4: RGBA), to float in [0, 1] and resized to H x W with
// antialiased bilinear resampling (Resize((H, W))), then the transform applies (e.g.
// RandomHorizontalFlip).
// Link with -lstb (Debian's libstb-dev holds the implementation in libstb.so).
#include <stb/stb_image.h>

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
#include "transforms.hpp"

namespace ctnn::data {

// Extensions ImageFolder takes (lower case; matched case-insensitively).
inline const std::vector<std::string>& image_extensions() {
  static const std::vector<std::string> ext = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tga",
                                               ".ppm", ".pgm", ".pnm", ".psd", ".hdr"};
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

  explicit ImageFolder(const std::filesystem::path& root, Transform transform = {}) : transform_(std::move(transform)) {
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
    for (std::size_t c = 0; c < d->classes.size(); ++c) {
      std::vector<fs::path> files;
      for (const auto& entry : fs::recursive_directory_iterator(root / d->classes[c], ec))
        if (entry.is_regular_file() && is_image(entry.path())) files.push_back(entry.path());
      if (ec) throw error(cat("ImageFolder: ", (root / d->classes[c]).string(), ": cannot list: ", ec.message()));
      std::sort(files.begin(), files.end());
      if (files.empty()) empty.push_back(d->classes[c]);
      for (auto& f : files) {
        d->files.push_back(std::move(f));
        d->labels.push_back(static_cast<std::int64_t>(c));
      }
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
    const std::string file = data_->files[i].string();
    int w = 0, h = 0, n = 0;
    std::unique_ptr<stbi_uc, void (*)(void*)> pixels(stbi_load(file.c_str(), &w, &h, &n, static_cast<int>(channels)),
                                                     stbi_image_free);
    if (!pixels) {
      const char* why = stbi_failure_reason();
      throw error(cat(file, ": cannot decode image: ", why ? why : "unknown reason"));
    }
    const auto sh = static_cast<std::size_t>(h), sw = static_cast<std::size_t>(w);
    if (sh == height && sw == width) {
      ToTensor::convert_hwc(pixels.get(), sh, sw, channels, x);
    } else {
      std::vector<float> full(channels * sh * sw);
      ToTensor::convert_hwc(pixels.get(), sh, sw, channels, full.data());
      resize_bilinear(full.data(), channels, sh, sw, x, height, width);
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
  const std::filesystem::path& root() const { return data_->root; }

 private:
  struct storage {
    std::filesystem::path root;
    std::vector<std::string> classes;
    std::vector<std::filesystem::path> files;
    std::vector<std::int64_t> labels;
  };

  static bool is_image(const std::filesystem::path& p) {
    std::string ext = p.extension().string();
    for (auto& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    const auto& all = image_extensions();
    return std::find(all.begin(), all.end(), ext) != all.end();
  }
  static std::string image_list() {
    std::string s;
    for (const auto& e : image_extensions()) s += (s.empty() ? "" : " ") + e;
    return s;
  }

  std::shared_ptr<const storage> data_;
  Transform transform_;
};

}  // namespace ctnn::data
