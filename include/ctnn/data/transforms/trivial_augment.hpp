#pragma once
// TrivialAugmentWide as torchvision.transforms.TrivialAugmentWide (0.14; num_magnitude_bins = 31,
// nearest interpolation, fill 0) on a float image in [0, 1]: the image is rounded to uint8 (the PIL /
// uint8 image torchvision augments), one operation is drawn uniformly from the 14 below, then a
// magnitude bin uniformly from its bins and, for signed operations, a sign; the result is converted
// back to [0, 1] (v / 255, ToTensor's values). Put it before Normalize.
//   op            magnitudes (bins)            signed
//   Identity      -                            no
//   ShearX/Y      linspace(0, 0.99)            yes    affine shear atan(m) in degrees about the corner
//   TranslateX/Y  linspace(0, 32)              yes    int(m) pixels
//   Rotate        linspace(0, 135)             yes    degrees, about the centre
//   Brightness    linspace(0, 0.99)            yes    adjust_brightness(1 + m)
//   Color         linspace(0, 0.99)            yes    adjust_saturation(1 + m)
//   Contrast      linspace(0, 0.99)            yes    adjust_contrast(1 + m)
//   Sharpness     linspace(0, 0.99)            yes    adjust_sharpness(1 + m)
//   Posterize     8 - round(i / ((bins-1)/6))  no     bits kept
//   Solarize      linspace(255, 0)             no     threshold
//   AutoContrast  -                            no
//   Equalize      -                            no
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "../../core/error.hpp"
#include "../../core/random.hpp"
#include "functional.hpp"
#include "image_view.hpp"
#include "sample_random.hpp"

namespace ctnn::data {

class TrivialAugmentWide {
 public:
  enum class Op { Identity, ShearX, ShearY, TranslateX, TranslateY, Rotate, Brightness, Color, Contrast, Sharpness,
                  Posterize, Solarize, AutoContrast, Equalize };
  static constexpr std::size_t op_count = 14;
  static constexpr std::array<std::string_view, op_count> op_names{
      "Identity", "ShearX",    "ShearY",    "TranslateX", "TranslateY",   "Rotate",  "Brightness",
      "Color",    "Contrast",  "Sharpness", "Posterize",  "Solarize",     "AutoContrast", "Equalize"};

  explicit TrivialAugmentWide(std::size_t num_magnitude_bins = 31, Generator& generator = default_generator())
      : bins_(num_magnitude_bins), random_(generator) {
    if (bins_ < 2) throw error(cat("TrivialAugmentWide: num_magnitude_bins ", bins_, " must be at least 2"));
  }

  // Whether op has a magnitude (a bin is drawn for it) and a sign.
  static bool has_magnitude(Op op) { return op != Op::Identity && op != Op::AutoContrast && op != Op::Equalize; }
  static bool is_signed(Op op) { return has_magnitude(op) && op != Op::Posterize && op != Op::Solarize; }

  // Magnitude of bin b of op, as torchvision's _augmentation_space (float32 linspace).
  double magnitude(Op op, std::size_t b) const {
    auto linspace = [&](float lo, float hi) { return static_cast<double>(torch_linspace(lo, hi, bins_, b)); };
    switch (op) {
      case Op::ShearX: case Op::ShearY: case Op::Brightness: case Op::Color: case Op::Contrast: case Op::Sharpness:
        return linspace(0.0f, 0.99f);
      case Op::TranslateX: case Op::TranslateY: return linspace(0.0f, 32.0f);
      case Op::Rotate: return linspace(0.0f, 135.0f);
      case Op::Solarize: return linspace(255.0f, 0.0f);
      case Op::Posterize:
        return 8.0 - std::nearbyint(static_cast<double>(static_cast<float>(b) / (static_cast<float>(bins_ - 1) / 6.0f)));
      default: return 0.0;
    }
  }

  // Element i of torch.linspace(lo, hi, n) in float32, rounded as PyTorch 1.13's CPU kernel rounds it
  // (the bins are compared for equality in tests/data/test_augment.cpp): from the start for the first
  // half, from the end after; elements in whole 16-element chunks go through 8-lane vectors
  // (base + lane * step, each product rounded), the rest through a fused multiply-add.
  static float torch_linspace(float lo, float hi, std::size_t n, std::size_t i) {
    const float step = (hi - lo) / static_cast<float>(n - 1);
    const std::size_t halfway = n / 2;
    auto from = [&](std::size_t k) { return k < halfway; };
    if (i < n / 16 * 16) {
      const std::size_t first = i / 8 * 8;
      volatile float offset = step * static_cast<float>(from(first) ? first : n - first - 1);
      const float base = from(first) ? lo + offset : hi - offset;
      volatile float lane = static_cast<float>(i - first) * step;
      return base + lane;
    }
    return from(i) ? std::fma(step, static_cast<float>(i), lo) : std::fma(-step, static_cast<float>(n - i - 1), hi);
  }

  // One call's choice: the op and its signed magnitude.
  struct Params {
    Op op = Op::Identity;
    double magnitude = 0;
  };
  Params draw(draws& d) const {
    Params p;
    p.op = static_cast<Op>(d.below(op_count));
    if (has_magnitude(p.op)) p.magnitude = magnitude(p.op, static_cast<std::size_t>(d.below(bins_)));
    if (is_signed(p.op) && d.below(2)) p.magnitude = -p.magnitude;
    return p;
  }

  // torchvision's _apply_op on a uint8 image.
  static void apply(functional::ByteImage m, Op op, double mag) {
    namespace F = functional;
    const double degrees = 180.0 / 3.141592653589793;
    const double w = static_cast<double>(m.width), h = static_cast<double>(m.height);
    switch (op) {
      case Op::Identity: break;
      case Op::ShearX:  // center = [0, 0]: the top-left corner, relative to the image centre
        F::warp_affine_nearest(m, F::inverse_affine_matrix(-0.5 * w, -0.5 * h, 0, 0, 0, 1, std::atan(mag) * degrees, 0));
        break;
      case Op::ShearY:
        F::warp_affine_nearest(m, F::inverse_affine_matrix(-0.5 * w, -0.5 * h, 0, 0, 0, 1, 0, std::atan(mag) * degrees));
        break;
      case Op::TranslateX:
        F::warp_affine_nearest(m, F::inverse_affine_matrix(0, 0, 0, std::trunc(mag), 0, 1, 0, 0));
        break;
      case Op::TranslateY:
        F::warp_affine_nearest(m, F::inverse_affine_matrix(0, 0, 0, 0, std::trunc(mag), 1, 0, 0));
        break;
      case Op::Rotate: F::warp_affine_nearest(m, F::inverse_affine_matrix(0, 0, -mag, 0, 0, 1, 0, 0)); break;
      case Op::Brightness: F::adjust_brightness(m, 1.0 + mag); break;
      case Op::Color: F::adjust_saturation(m, 1.0 + mag); break;
      case Op::Contrast: F::adjust_contrast(m, 1.0 + mag); break;
      case Op::Sharpness: F::adjust_sharpness(m, 1.0 + mag); break;
      case Op::Posterize: F::posterize(m, static_cast<int>(mag)); break;
      case Op::Solarize: F::solarize(m, mag); break;
      case Op::AutoContrast: F::autocontrast(m); break;
      case Op::Equalize: F::equalize(m); break;
    }
  }

  // On a float image: round to uint8, apply, back to [0, 1].
  static void apply(ImageView v, Op op, double mag) {
    thread_local std::vector<std::uint8_t> bytes;
    bytes.resize(v.size());
    for (std::size_t i = 0; i < v.size(); ++i)
      bytes[i] = static_cast<std::uint8_t>(std::nearbyint(std::clamp(v.data[i], 0.0f, 1.0f) * 255.0f));
    apply(functional::ByteImage{bytes.data(), v.channels, v.height, v.width}, op, mag);
    for (std::size_t i = 0; i < v.size(); ++i) v.data[i] = static_cast<float>(bytes[i]) * (1.0f / 255.0f);
  }

  void operator()(ImageView v) const {
    if (v.channels != 1 && v.channels != 3)
      throw error(cat("TrivialAugmentWide: an image of ", v.channels, " channels; expected 1 or 3"));
    draws d = random_.next();
    const Params p = draw(d);
    apply(v, p.op, p.magnitude);
  }

  std::size_t num_magnitude_bins() const { return bins_; }

 private:
  std::size_t bins_;
  transform_random random_;
};

}  // namespace ctnn::data
