#pragma once
// The image operations behind ColorJitter and TrivialAugmentWide, as torchvision.transforms.functional
// computes them on tensors (0.14): on float images in [0, 1] (ColorJitter's input) and on uint8 images
// (TrivialAugmentWide's, as it is applied to PIL / uint8 images), with the same float32 arithmetic,
// truncation of blends to uint8 (Tensor.to(torch.uint8)) and round-half-to-even where torchvision rounds.
// Images are [channels, height, width]; channels is 1 or 3.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <vector>

#include "../../core/error.hpp"
#include "image_view.hpp"

namespace ctnn::data::functional {

// A uint8 image (TrivialAugmentWide works on these).
struct ByteImage {
  std::uint8_t* data;
  std::size_t channels, height, width;
  std::size_t plane() const { return height * width; }
  std::size_t size() const { return channels * plane(); }
};

namespace detail {
inline void check_channels(std::size_t c, const char* what) {
  if (c != 1 && c != 3) throw error(cat(what, ": an image of ", c, " channels; expected 1 or 3"));
}
// A float32 product, rounded as torch rounds it: the compiler may not fuse it into the following
// addition (g++ and clang contract a * b + c into one FMA with -mfma, which rounds once, and a blend
// truncated to uint8 then differs in the last unit).
inline float product(float a, float b) {
  volatile float p = a * b;
  return p;
}

// _blend: ratio * a + (1 - ratio) * b in float32, clamped, for uint8 truncated. Both weights are
// rounded to float32 from double, as torch does with Python scalars: 1 - ratio is computed first.
struct blend_weights {
  float ratio, rest;
  explicit blend_weights(double r) : ratio(static_cast<float>(r)), rest(static_cast<float>(1.0 - r)) {}
};
inline std::uint8_t blend_byte(blend_weights w, float a, float b) {
  return static_cast<std::uint8_t>(std::clamp(product(w.ratio, a) + product(w.rest, b), 0.0f, 255.0f));
}
inline float blend_float(blend_weights w, float a, float b) {
  return std::clamp(product(w.ratio, a) + product(w.rest, b), 0.0f, 1.0f);
}
}  // namespace detail

// rgb_to_grayscale: 0.2989 r + 0.587 g + 0.114 b (float32; uint8 results truncated).
inline float grayscale(float r, float g, float b) {
  return detail::product(0.2989f, r) + detail::product(0.587f, g) + detail::product(0.114f, b);
}

// ---- float images in [0, 1] -------------------------------------------------------------------------

inline void adjust_brightness(ImageView v, double factor) {
  const detail::blend_weights w(factor);
  detail::check_channels(v.channels, "adjust_brightness");
  for (std::size_t i = 0; i < v.size(); ++i) v.data[i] = detail::blend_float(w, v.data[i], 0.0f);
}

inline void adjust_contrast(ImageView v, double factor) {
  const detail::blend_weights w(factor);
  detail::check_channels(v.channels, "adjust_contrast");
  const std::size_t n = v.height * v.width;
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i)
    sum += v.channels == 3 ? grayscale(v.data[i], v.data[n + i], v.data[2 * n + i]) : v.data[i];
  const auto mean = static_cast<float>(sum / static_cast<double>(n));
  for (std::size_t i = 0; i < v.size(); ++i) v.data[i] = detail::blend_float(w, v.data[i], mean);
}

// One channel: unchanged (torchvision matches PIL there).
inline void adjust_saturation(ImageView v, double factor) {
  const detail::blend_weights w(factor);
  detail::check_channels(v.channels, "adjust_saturation");
  if (v.channels == 1) return;
  const std::size_t n = v.height * v.width;
  for (std::size_t i = 0; i < n; ++i) {
    const float gray = grayscale(v.data[i], v.data[n + i], v.data[2 * n + i]);
    for (std::size_t c = 0; c < 3; ++c) v.data[c * n + i] = detail::blend_float(w, v.data[c * n + i], gray);
  }
}

// Shifts the hue by factor (in [-0.5, 0.5]) through torchvision's _rgb2hsv / _hsv2rgb. One channel: unchanged.
inline void adjust_hue(ImageView v, float factor) {
  detail::check_channels(v.channels, "adjust_hue");
  if (!(factor >= -0.5f && factor <= 0.5f)) throw error(cat("adjust_hue: hue_factor ", factor, " is not in [-0.5, 0.5]"));
  if (v.channels == 1) return;
  const std::size_t n = v.height * v.width;
  for (std::size_t k = 0; k < n; ++k) {
    const float r = v.data[k], g = v.data[n + k], b = v.data[2 * n + k];
    const float maxc = std::max({r, g, b}), minc = std::min({r, g, b});
    const bool eqc = maxc == minc;
    const float cr = maxc - minc;
    const float s = cr / (eqc ? 1.0f : maxc);
    const float cd = eqc ? 1.0f : cr;
    const float rc = (maxc - r) / cd, gc = (maxc - g) / cd, bc = (maxc - b) / cd;
    float h = 0;
    if (maxc == r) h = bc - gc;
    else if (maxc == g) h = 2.0f + rc - bc;
    else h = 4.0f + gc - rc;
    h = std::fmod(h / 6.0f + 1.0f, 1.0f);
    // (h + factor) % 1.0 with Python's sign convention
    h = h + factor;
    h = h - std::floor(h);
    if (h >= 1.0f) h = 0.0f;
    const float val = maxc;
    const float hi = std::floor(h * 6.0f);
    const float f = h * 6.0f - hi;
    const int i = static_cast<int>(hi) % 6;
    const float p = std::clamp(val * (1.0f - s), 0.0f, 1.0f);
    const float q = std::clamp(val * (1.0f - s * f), 0.0f, 1.0f);
    const float t = std::clamp(val * (1.0f - s * (1.0f - f)), 0.0f, 1.0f);
    const std::array<float, 6> a1{val, q, p, p, t, val}, a2{t, val, val, q, p, p}, a3{p, p, t, val, val, q};
    v.data[k] = a1[static_cast<std::size_t>(i)];
    v.data[n + k] = a2[static_cast<std::size_t>(i)];
    v.data[2 * n + k] = a3[static_cast<std::size_t>(i)];
  }
}

// ---- uint8 images ---------------------------------------------------------------------------------------

inline void adjust_brightness(ByteImage m, double factor) {
  const detail::blend_weights w(factor);
  for (std::size_t i = 0; i < m.size(); ++i) m.data[i] = detail::blend_byte(w, m.data[i], 0.0f);
}

// Grayscale of a uint8 image, truncated to uint8 as torchvision's rgb_to_grayscale.
inline std::uint8_t grayscale_byte(const ByteImage& m, std::size_t i) {
  const std::size_t n = m.plane();
  return static_cast<std::uint8_t>(grayscale(m.data[i], m.data[n + i], m.data[2 * n + i]));
}

inline void adjust_saturation(ByteImage m, double factor) {
  const detail::blend_weights w(factor);
  detail::check_channels(m.channels, "adjust_saturation");
  if (m.channels == 1) return;
  const std::size_t n = m.plane();
  for (std::size_t i = 0; i < n; ++i) {
    const float gray = grayscale_byte(m, i);
    for (std::size_t c = 0; c < 3; ++c) m.data[c * n + i] = detail::blend_byte(w, m.data[c * n + i], gray);
  }
}

inline void adjust_contrast(ByteImage m, double factor) {
  const detail::blend_weights w(factor);
  detail::check_channels(m.channels, "adjust_contrast");
  const std::size_t n = m.plane();
  std::uint64_t sum = 0;  // exact: the mean of integers
  for (std::size_t i = 0; i < n; ++i) sum += m.channels == 3 ? grayscale_byte(m, i) : m.data[i];
  const auto mean = static_cast<float>(static_cast<double>(sum) / static_cast<double>(n));
  for (std::size_t i = 0; i < m.size(); ++i) m.data[i] = detail::blend_byte(w, m.data[i], mean);
}

// Blend with the image smoothed by [[1, 1, 1], [1, 5, 1], [1, 1, 1]] / 13 (rounded to uint8) inside a
// one-pixel border, which keeps its values. Images of at most 2 rows or columns are unchanged.
inline void adjust_sharpness(ByteImage m, double factor) {
  const detail::blend_weights weights(factor);
  if (m.height <= 2 || m.width <= 2) return;
  const std::size_t w = m.width;
  std::vector<std::uint8_t> blurred(m.data, m.data + m.size());
  const float k = 1.0f / 13.0f, centre = 5.0f / 13.0f;
  for (std::size_t c = 0; c < m.channels; ++c) {
    const std::uint8_t* src = m.data + c * m.plane();
    for (std::size_t y = 1; y + 1 < m.height; ++y)
      for (std::size_t x = 1; x + 1 < w; ++x) {
        float acc = 0;
        for (std::size_t dy = 0; dy < 3; ++dy)
          for (std::size_t dx = 0; dx < 3; ++dx)
            acc += detail::product(dy == 1 && dx == 1 ? centre : k, static_cast<float>(src[(y + dy - 1) * w + x + dx - 1]));
        blurred[c * m.plane() + y * w + x] = static_cast<std::uint8_t>(std::clamp(std::nearbyint(acc), 0.0f, 255.0f));
      }
  }
  for (std::size_t i = 0; i < m.size(); ++i) m.data[i] = detail::blend_byte(weights, m.data[i], blurred[i]);
}

// Keeps the top `bits` bits of every value.
inline void posterize(ByteImage m, int bits) {
  if (bits < 0 || bits > 8) throw error(cat("posterize: bits ", bits, " is not in 0..8"));
  const auto mask = static_cast<std::uint8_t>(0xffu << (8 - bits));
  for (std::size_t i = 0; i < m.size(); ++i) m.data[i] = static_cast<std::uint8_t>(m.data[i] & mask);
}

// Inverts every value >= threshold.
inline void solarize(ByteImage m, double threshold) {
  for (std::size_t i = 0; i < m.size(); ++i)
    if (static_cast<double>(m.data[i]) >= threshold) m.data[i] = static_cast<std::uint8_t>(255 - m.data[i]);
}

// Stretches each channel to [0, 255] (float32 scale, truncated); a constant channel is unchanged.
inline void autocontrast(ByteImage m) {
  for (std::size_t c = 0; c < m.channels; ++c) {
    std::uint8_t* p = m.data + c * m.plane();
    const auto [lo_it, hi_it] = std::minmax_element(p, p + m.plane());
    float lo = *lo_it;
    // bound / (max - min) in torch is (max - min).reciprocal() * bound
    float scale = (1.0f / (static_cast<float>(*hi_it) - lo)) * 255.0f;
    if (!std::isfinite(scale)) {
      lo = 0;
      scale = 1;
    }
    for (std::size_t i = 0; i < m.plane(); ++i)
      p[i] = static_cast<std::uint8_t>(std::clamp((static_cast<float>(p[i]) - lo) * scale, 0.0f, 255.0f));
  }
}

// Histogram equalisation per channel, torchvision's integer look-up table.
inline void equalize(ByteImage m) {
  for (std::size_t c = 0; c < m.channels; ++c) {
    std::uint8_t* p = m.data + c * m.plane();
    std::array<std::int64_t, 256> hist{};
    for (std::size_t i = 0; i < m.plane(); ++i) ++hist[p[i]];
    std::int64_t last_nonzero = 0, nonzero_sum = 0;
    for (std::size_t v = 0; v < 256; ++v)
      if (hist[v]) {
        nonzero_sum += hist[v];
        last_nonzero = hist[v];
      }
    const std::int64_t step = (nonzero_sum - last_nonzero) / 255;  // every nonzero bin but the last
    if (step == 0) continue;
    std::array<std::uint8_t, 256> lut{};
    std::int64_t cumulative = 0;
    for (std::size_t v = 0; v < 256; ++v) {
      // lut[v] = (cumsum[v - 1] + step / 2) / step, lut[0] = 0
      lut[v] = static_cast<std::uint8_t>(std::min<std::int64_t>((cumulative + step / 2) / step, 255));
      cumulative += hist[v];
    }
    for (std::size_t i = 0; i < m.plane(); ++i) p[i] = lut[p[i]];
  }
}

// torchvision's _get_inverse_affine_matrix (inverted = True): output pixel -> input pixel, about a
// centre given relative to the image centre.
inline std::array<double, 6> inverse_affine_matrix(double centre_x, double centre_y, double angle_degrees,
                                                   double translate_x, double translate_y, double scale,
                                                   double shear_x_degrees, double shear_y_degrees) {
  const double to_rad = 3.141592653589793 / 180.0;
  const double rot = angle_degrees * to_rad, sx = shear_x_degrees * to_rad, sy = shear_y_degrees * to_rad;
  const double a = std::cos(rot - sy) / std::cos(sy);
  const double b = -std::cos(rot - sy) * std::tan(sx) / std::cos(sy) - std::sin(rot);
  const double c = std::sin(rot - sy) / std::cos(sy);
  const double d = -std::sin(rot - sy) * std::tan(sx) / std::cos(sy) + std::cos(rot);
  std::array<double, 6> m{d / scale, -b / scale, 0.0, -c / scale, a / scale, 0.0};
  m[2] += m[0] * (-centre_x - translate_x) + m[1] * (-centre_y - translate_y);
  m[5] += m[3] * (-centre_x - translate_x) + m[4] * (-centre_y - translate_y);
  m[2] += centre_x;
  m[5] += centre_y;
  return m;
}

// F_t.affine with nearest interpolation and fill 0: each output pixel takes the input pixel nearest to
// matrix * (its offset from the image centre), as affine_grid + grid_sample(align_corners=False) do in float32.
inline void warp_affine_nearest(ByteImage m, const std::array<double, 6>& matrix) {
  const std::size_t h = m.height, w = m.width;
  std::vector<std::uint8_t> src(m.data, m.data + m.size());
  std::array<float, 6> t{};
  for (std::size_t k = 0; k < 6; ++k) t[k] = static_cast<float>(matrix[k]);
  const float half_w = 0.5f * static_cast<float>(w), half_h = 0.5f * static_cast<float>(h);
  for (std::size_t y = 0; y < h; ++y)
    for (std::size_t x = 0; x < w; ++x) {
      const float bx = static_cast<float>(x) - half_w + 0.5f, by = static_cast<float>(y) - half_h + 0.5f;
      // The grid in [-1, 1] (what affine_grid produces), then grid_sample's unnormalisation.
      const float gx = (t[0] * bx + t[1] * by + t[2]) / half_w, gy = (t[3] * bx + t[4] * by + t[5]) / half_h;
      const float ix = std::nearbyint(((gx + 1.0f) * static_cast<float>(w) - 1.0f) / 2.0f);
      const float iy = std::nearbyint(((gy + 1.0f) * static_cast<float>(h) - 1.0f) / 2.0f);
      const bool inside = ix >= 0 && iy >= 0 && ix < static_cast<float>(w) && iy < static_cast<float>(h);
      for (std::size_t c = 0; c < m.channels; ++c)
        m.data[c * m.plane() + y * w + x] =
            inside ? src[c * m.plane() + static_cast<std::size_t>(iy) * w + static_cast<std::size_t>(ix)] : 0;
    }
}

}  // namespace ctnn::data::functional
