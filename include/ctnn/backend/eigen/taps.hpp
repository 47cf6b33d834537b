#pragma once
// Which taps of a window row fall inside the input, for the Eigen backend's im2col, col2im and pooling:
// computed once per row segment rather than tested per element, so a segment becomes a zero (or
// -infinity) fill, one copy or vector loop, and another fill.
#include <algorithm>
#include <cstddef>

namespace ctnn::backend::eigen_kernels {

// Output columns q in [0, run) read input column first + q s; those in [lo, hi) fall inside [0, W), the
// others in the padding (lo == hi: none inside).
struct tap_range {
  std::size_t lo, hi;
};
inline tap_range taps_inside(std::ptrdiff_t first, std::ptrdiff_t s, std::size_t run, std::ptrdiff_t W) {
  const std::ptrdiff_t r = static_cast<std::ptrdiff_t>(run);
  if (s == 1) {
    const std::ptrdiff_t lo = std::clamp<std::ptrdiff_t>(-first, 0, r), hi = std::clamp<std::ptrdiff_t>(W - first, lo, r);
    return {static_cast<std::size_t>(lo), static_cast<std::size_t>(hi)};
  }
  const std::ptrdiff_t lo = first >= 0 ? 0 : std::min(r, (-first + s - 1) / s);
  const std::ptrdiff_t hi = first >= W ? 0 : std::min(r, (W - 1 - first) / s + 1);
  return {static_cast<std::size_t>(lo), static_cast<std::size_t>(std::max(lo, hi))};
}

}  // namespace ctnn::backend::eigen_kernels
