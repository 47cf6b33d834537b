#pragma once
// ColorJitter as torchvision.transforms.ColorJitter(brightness, contrast, saturation, hue) on a float
// image in [0, 1]: brightness b, contrast c and saturation s give factors uniform in
// [max(0, 1 - x), 1 + x]; hue h (at most 0.5) a shift uniform in [-h, h]; 0 leaves that property
// alone. Each call draws the order of the four operations (torch.randperm(4)), then the factors in
// the order brightness, contrast, saturation, hue, and applies them (functional.hpp). Saturation and
// hue leave 1-channel images unchanged, as torchvision does.
#include <array>
#include <cstddef>
#include <utility>

#include "../../core/error.hpp"
#include "../../core/random.hpp"
#include "functional.hpp"
#include "image_view.hpp"
#include "sample_random.hpp"

namespace ctnn::data {

class ColorJitter {
 public:
  explicit ColorJitter(double brightness = 0, double contrast = 0, double saturation = 0, double hue = 0,
                       Generator& generator = default_generator())
      : brightness_(range("brightness", brightness)), contrast_(range("contrast", contrast)),
        saturation_(range("saturation", saturation)), hue_{-hue, hue}, random_(generator) {
    if (!(hue >= 0 && hue <= 0.5)) throw error(cat("ColorJitter: hue ", hue, " is not in [0, 0.5]"));
  }

  // What one call applies: the order (0 brightness, 1 contrast, 2 saturation, 3 hue) and the factors
  // (nothing for a property left alone: its `use` is false).
  struct Params {
    std::array<std::size_t, 4> order{};
    std::array<double, 4> factor{1, 1, 1, 0};
    std::array<bool, 4> use{};
  };

  Params draw(draws& d) const {
    Params p;
    for (std::size_t i = 0; i < 4; ++i) p.order[i] = i;
    for (std::size_t i = 4; i > 1; --i) std::swap(p.order[i - 1], p.order[d.below(i)]);
    const std::array<std::pair<double, double>, 4> ranges{brightness_, contrast_, saturation_, hue_};
    for (std::size_t k = 0; k < 4; ++k) {
      p.use[k] = k < 3 ? ranges[k] != std::pair<double, double>{1.0, 1.0} : ranges[k].second > 0;
      if (p.use[k]) p.factor[k] = d.uniform(ranges[k].first, ranges[k].second);
    }
    return p;
  }

  static void apply(ImageView v, const Params& p) {
    for (const std::size_t k : p.order) {
      if (!p.use[k]) continue;
      const double f = p.factor[k];
      if (k == 0) functional::adjust_brightness(v, f);
      else if (k == 1) functional::adjust_contrast(v, f);
      else if (k == 2) functional::adjust_saturation(v, f);
      else functional::adjust_hue(v, static_cast<float>(f));
    }
  }

  void operator()(ImageView v) const {
    draws d = random_.next();
    apply(v, draw(d));
  }

 private:
  static std::pair<double, double> range(const char* what, double x) {
    if (!(x >= 0)) throw error(cat("ColorJitter: ", what, " ", x, " is negative"));
    return {x > 1 ? 0.0 : 1.0 - x, 1.0 + x};
  }

  std::pair<double, double> brightness_, contrast_, saturation_, hue_;
  transform_random random_;
};

}  // namespace ctnn::data
