#pragma once
// RandomErasing as torchvision.transforms.RandomErasing(p, scale, ratio, value) on a tensor image:
// with probability p, up to 10 tries draw an area fraction in scale and a log-uniform aspect ratio in
// ratio; the first rectangle (h, w rounded half to even, as Python's round) that fits strictly inside
// the image is filled with `value` (one value, or one per channel; empty: standard normal noise,
// torchvision's value="random"). When no try fits the image is left as it is.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "../../core/error.hpp"
#include "../../core/random.hpp"
#include "image_view.hpp"
#include "sample_random.hpp"

namespace ctnn::data {

class RandomErasing {
 public:
  explicit RandomErasing(double p = 0.5, std::pair<double, double> scale = {0.02, 0.33},
                         std::pair<double, double> ratio = {0.3, 3.3}, std::vector<double> value = {0.0},
                         Generator& generator = default_generator())
      : p_(p), scale_(scale), ratio_(ratio), value_(std::move(value)), random_(generator) {
    if (!(p >= 0.0 && p <= 1.0)) throw error(cat("RandomErasing: probability ", p, " is not in [0, 1]"));
    if (!(scale.first >= 0 && scale.first <= scale.second && scale.second <= 1))
      throw error(cat("RandomErasing: scale (", scale.first, ", ", scale.second, ") is not an interval inside [0, 1]"));
    if (!(ratio.first > 0 && ratio.first <= ratio.second))
      throw error(cat("RandomErasing: ratio (", ratio.first, ", ", ratio.second, ") is not a positive interval"));
  }

  // The rectangle a draw picks, or none.
  struct Box {
    std::size_t top = 0, left = 0, height = 0, width = 0;
    bool erase = false;
  };

  void operator()(ImageView v) const {
    if (value_.size() > 1 && value_.size() != v.channels)
      throw error(cat("RandomErasing: ", value_.size(), " values for an image of ", v.channels, " channels"));
    draws d = random_.next();
    const Box box = draw(d, v.height, v.width);
    if (!box.erase) return;
    for (std::size_t c = 0; c < v.channels; ++c)
      for (std::size_t y = box.top; y < box.top + box.height; ++y)
        for (std::size_t x = box.left; x < box.left + box.width; ++x)
          v(c, y, x) = value_.empty() ? static_cast<float>(normal(d)) : static_cast<float>(value_[value_.size() == 1 ? 0 : c]);
  }

  // torchvision's get_params with these options (and p): the box for an image of height x width.
  Box draw(draws& d, std::size_t height, std::size_t width) const {
    if (!(d.uniform() < p_)) return {};
    const double area = static_cast<double>(height * width);
    const double log_lo = std::log(ratio_.first), log_hi = std::log(ratio_.second);
    for (int attempt = 0; attempt < 10; ++attempt) {
      const double erase_area = area * d.uniform(scale_.first, scale_.second);
      const double aspect = std::exp(d.uniform(log_lo, log_hi));
      const double h = std::nearbyint(std::sqrt(erase_area * aspect)), w = std::nearbyint(std::sqrt(erase_area / aspect));
      if (!(h < static_cast<double>(height) && w < static_cast<double>(width))) continue;
      Box b;
      b.height = static_cast<std::size_t>(h);
      b.width = static_cast<std::size_t>(w);
      b.top = static_cast<std::size_t>(d.below(height - b.height + 1));
      b.left = static_cast<std::size_t>(d.below(width - b.width + 1));
      b.erase = true;
      return b;
    }
    return {};
  }

 private:
  static double normal(draws& d) {
    const double u1 = 1.0 - d.uniform(), u2 = d.uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

  double p_;
  std::pair<double, double> scale_, ratio_;
  std::vector<double> value_;
  transform_random random_;
};

}  // namespace ctnn::data
