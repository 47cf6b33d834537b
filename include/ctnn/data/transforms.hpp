#pragma once
// Per-sample transforms, as torchvision.transforms. A transform is any callable taking an ImageView:
// a float image [C, H, W] that it changes in place. Image data sets decode to float in [0, 1]
// (ToTensor's output) and then apply their transform, inside load(), once per sample.
//   ToTensor              uint8 -> float in [0, 1]; the data sets always do this, so as a pipeline
//                         stage it does nothing (it is there so Compose reads as in PyTorch)
//   Normalize(mean, std)  (x - mean[c]) / std[c] per channel; one value applies to every channel
//   RandomHorizontalFlip  mirrors left-right with probability p, from a seeded generator
//   Resize{H, W}          bilinear, antialiased when shrinking (as PIL); changes the size, so it
//                         works buffer to buffer: ImageFolder<Shape<C, H, W>> resizes to its shape
//   Compose{t1, t2, ...}  applies its stages in order; a lambda works just as well
//   RandomCrop<Size, Padding>, RandomErasing, ColorJitter, TrivialAugmentWide: transforms/*.hpp
// Random transforms draw per sample inside a DataLoader (transforms/sample_random.hpp).
// Datasets keep a transform as a Transform (std::function), so any of these fits.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <tuple>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "../core/random.hpp"
#include "transforms/color_jitter.hpp"
#include "transforms/functional.hpp"
#include "transforms/image_view.hpp"
#include "transforms/random_crop.hpp"
#include "transforms/random_erasing.hpp"
#include "transforms/sample_random.hpp"
#include "transforms/trivial_augment.hpp"

namespace ctnn::data {

struct ToTensor {
  // uint8 values to float in [0, 1], same layout.
  static void convert(const std::uint8_t* src, std::size_t n, float* dst) {
    for (std::size_t i = 0; i < n; ++i) dst[i] = static_cast<float>(src[i]) * (1.0f / 255.0f);
  }
  // Interleaved uint8 [H, W, C] (as decoders produce) to float [C, H, W] in [0, 1].
  static void convert_hwc(const std::uint8_t* src, std::size_t height, std::size_t width, std::size_t channels,
                          float* dst) {
    for (std::size_t c = 0; c < channels; ++c)
      for (std::size_t p = 0; p < height * width; ++p)
        dst[c * height * width + p] = static_cast<float>(src[p * channels + c]) * (1.0f / 255.0f);
  }
  // As a stage: the data already is ToTensor's output.
  void operator()(ImageView) const {}
};

class Normalize {
 public:
  Normalize(std::vector<double> mean, std::vector<double> std) {
    if (mean.empty() || mean.size() != std.size())
      throw error(cat("Normalize: ", mean.size(), " means and ", std.size(), " standard deviations; expected the same ",
                      "number, at least one"));
    for (std::size_t c = 0; c < mean.size(); ++c) {
      if (!(std[c] > 0)) throw error(cat("Normalize: standard deviation ", std[c], " of channel ", c, " is not positive"));
      mean_.push_back(static_cast<float>(mean[c]));
      inv_std_.push_back(static_cast<float>(1.0 / std[c]));
    }
  }

  void operator()(ImageView v) const {
    if (mean_.size() != 1 && mean_.size() != v.channels)
      throw error(cat("Normalize: ", mean_.size(), " means for an image of ", v.channels, " channels"));
    const std::size_t plane = v.height * v.width;
    for (std::size_t c = 0; c < v.channels; ++c) {
      const float m = mean_[mean_.size() == 1 ? 0 : c], s = inv_std_[mean_.size() == 1 ? 0 : c];
      float* p = v.data + c * plane;
      for (std::size_t i = 0; i < plane; ++i) p[i] = (p[i] - m) * s;
    }
  }

  const std::vector<float>& mean() const { return mean_; }

 private:
  std::vector<float> mean_, inv_std_;
};

// Mirrors the image left-right with probability p, one draw per call (transforms/sample_random.hpp:
// per sample inside a DataLoader, so the flips do not depend on the worker count; per call otherwise).
// The same seed gives the same flips.
class RandomHorizontalFlip {
 public:
  explicit RandomHorizontalFlip(double p = 0.5, Generator& generator = default_generator()) : p_(p), random_(generator) {
    if (!(p >= 0.0 && p <= 1.0)) throw error(cat("RandomHorizontalFlip: probability ", p, " is not in [0, 1]"));
  }

  void operator()(ImageView v) const {
    if (random_.next().uniform() < p_) flip(v);
  }

  static void flip(ImageView v) {
    for (std::size_t r = 0; r < v.channels * v.height; ++r) std::reverse(v.data + r * v.width, v.data + (r + 1) * v.width);
  }

 private:
  double p_;
  transform_random random_;
};

namespace detail {
// Bilinear (triangle filter) resampling weights along one axis, as PIL: the filter widens by the
// scale when shrinking, which antialiases; weights are normalised over the pixels inside the image.
struct resample_axis {
  std::vector<std::size_t> first;   // first source index per output index
  std::vector<std::size_t> count;   // number of source pixels
  std::vector<float> weights;       // count[i] weights per output, at offset i * stride
  std::size_t stride = 0;

  resample_axis(std::size_t in, std::size_t out) : first(out), count(out) {
    const double scale = static_cast<double>(in) / static_cast<double>(out);
    const double filterscale = std::max(scale, 1.0);
    const double support = filterscale;
    stride = static_cast<std::size_t>(std::ceil(support)) * 2 + 1;
    weights.assign(out * stride, 0.0f);
    for (std::size_t o = 0; o < out; ++o) {
      const double center = (static_cast<double>(o) + 0.5) * scale;
      const double lo = std::max(std::floor(center - support + 0.5), 0.0);
      const double hi = std::min(std::floor(center + support + 0.5), static_cast<double>(in));
      const auto xmin = static_cast<std::size_t>(lo);
      std::size_t n = static_cast<std::size_t>(hi) - xmin;
      n = std::min(n, stride);
      double total = 0;
      std::vector<double> w(n);
      for (std::size_t k = 0; k < n; ++k) {
        const double x = (static_cast<double>(xmin + k) - center + 0.5) / filterscale;
        w[k] = std::max(0.0, 1.0 - std::abs(x));
        total += w[k];
      }
      first[o] = xmin;
      count[o] = n;
      for (std::size_t k = 0; k < n; ++k) weights[o * stride + k] = static_cast<float>(total > 0 ? w[k] / total : 0.0);
    }
  }
};
}  // namespace detail

// src [channels, in_h, in_w] -> dst [channels, out_h, out_w], bilinear with half-pixel centres
// (align_corners = False), antialiased when shrinking. Equal sizes copy.
inline void resize_bilinear(const float* src, std::size_t channels, std::size_t in_h, std::size_t in_w, float* dst,
                            std::size_t out_h, std::size_t out_w) {
  if (in_h == 0 || in_w == 0 || out_h == 0 || out_w == 0)
    throw error(cat("Resize: cannot resize ", in_h, " x ", in_w, " to ", out_h, " x ", out_w));
  if (in_h == out_h && in_w == out_w) {
    std::copy(src, src + channels * in_h * in_w, dst);
    return;
  }
  const detail::resample_axis ax(in_w, out_w), ay(in_h, out_h);
  std::vector<float> tmp(channels * in_h * out_w);
  for (std::size_t r = 0; r < channels * in_h; ++r)
    for (std::size_t o = 0; o < out_w; ++o) {
      const float* s = src + r * in_w + ax.first[o];
      const float* w = ax.weights.data() + o * ax.stride;
      float acc = 0;
      for (std::size_t k = 0; k < ax.count[o]; ++k) acc += w[k] * s[k];
      tmp[r * out_w + o] = acc;
    }
  for (std::size_t c = 0; c < channels; ++c)
    for (std::size_t o = 0; o < out_h; ++o) {
      float* d = dst + (c * out_h + o) * out_w;
      std::fill(d, d + out_w, 0.0f);
      const float* w = ay.weights.data() + o * ay.stride;
      for (std::size_t k = 0; k < ay.count[o]; ++k) {
        const float* s = tmp.data() + (c * in_h + ay.first[o] + k) * out_w;
        for (std::size_t x = 0; x < out_w; ++x) d[x] += w[k] * s[x];
      }
    }
}

// Resize{64, 64}: torchvision's Resize((64, 64)) with bilinear interpolation.
struct Resize {
  std::size_t height, width;
  void operator()(const float* src, std::size_t channels, std::size_t in_h, std::size_t in_w, float* dst) const {
    resize_bilinear(src, channels, in_h, in_w, dst, height, width);
  }
};

// Applies its stages in order.
template <class... Stages>
class Compose {
 public:
  explicit Compose(Stages... stages) : stages_(std::move(stages)...) {}
  void operator()(ImageView v) const {
    std::apply([&](const auto&... s) { (s(v), ...); }, stages_);
  }

 private:
  std::tuple<Stages...> stages_;
};

}  // namespace ctnn::data
