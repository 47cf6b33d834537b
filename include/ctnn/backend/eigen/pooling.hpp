#pragma once
// Max pooling for the Eigen backend: planes split over threads; 2x2 windows of stride 2 without a
// scalar search.
#include <cstddef>
#include <cstdint>

#include "../../core/threads.hpp"
#include "../host_ops.hpp"
#include "work_split.hpp"

namespace ctnn::backend::eigen_kernels {

// 2x2 windows, stride 2, no padding, over `planes` planes of H x W (H >= 2 Ho, W >= 2 Wo: an odd last row
// or column is in no window): PyTorch's scan order (row by row, the first maximum wins, a NaN wins over
// every number and the first NaN over later ones), written as selects so that the loop vectorises.
inline void maxpool2x2(const float* x, std::size_t planes, std::size_t H, std::size_t W, std::size_t Ho,
                       std::size_t Wo, float* y, std::int32_t* argmax) {
  for (std::size_t p = 0; p < planes; ++p)
    for (std::size_t oh = 0; oh < Ho; ++oh) {
      const float* r0 = x + (p * H + 2 * oh) * W;
      const float* r1 = r0 + W;
      float* yr = y + (p * Ho + oh) * Wo;
      std::int32_t* ar = argmax + (p * Ho + oh) * Wo;
      const auto base = static_cast<std::int32_t>(2 * oh * W), below = static_cast<std::int32_t>(W);
      for (std::size_t ow = 0; ow < Wo; ++ow) {
        const auto col = static_cast<std::int32_t>(2 * ow);
        float best = r0[2 * ow];
        std::int32_t at = base + col;
        auto consider = [&](float v, std::int32_t where) {
          const bool take = v > best || (v != v && best == best);
          best = take ? v : best;
          at = take ? where : at;
        };
        consider(r0[2 * ow + 1], base + col + 1);
        consider(r1[2 * ow], base + below + col);
        consider(r1[2 * ow + 1], base + below + col + 1);
        yr[ow] = best;
        ar[ow] = at;
      }
    }
}

// The op set's signatures; each thread's part is a run of whole planes (a geometry of one channel).
inline void maxpool_forward(const pool_geometry& g, std::size_t n, const float* x, float* y, std::int32_t* argmax) {
  const std::size_t H = g.H, W = g.W, Ho = g.Ho, Wo = g.Wo;
  pool_geometry plane = g;
  plane.C = 1;
  // 2x2 windows of stride 2 without padding: Ho = floor(H / 2), Wo = floor(W / 2), and for an odd H or W
  // the last input row or column is in no window, so planes lie H * W apart, not 2 Ho * 2 Wo
  // (issue 9: MaxPool2d<2> on a 3x3 map read the second plane from the first one's last row).
  const bool two_by_two = g.KH == 2 && g.KW == 2 && g.SH == 2 && g.SW == 2 && g.PH == 0 && g.PW == 0 && g.DH == 1 &&
                          g.DW == 1 && Ho == H / 2 && Wo == W / 2;
  detail::parallel_chunks(n * g.C, elementwise_grain / static_cast<double>(H * W), 1, [&](std::size_t lo, std::size_t hi) {
    if (two_by_two) return maxpool2x2(x + lo * H * W, hi - lo, H, W, Ho, Wo, y + lo * Ho * Wo, argmax + lo * Ho * Wo);
    host_ops<float>::maxpool_forward(plane, hi - lo, x + lo * H * W, y + lo * Ho * Wo, argmax + lo * Ho * Wo);
  });
}
inline void maxpool_backward(const pool_geometry& g, std::size_t n, const float* dy, const std::int32_t* argmax,
                             float* dx) {
  const std::size_t in_plane = g.H * g.W, out_plane = g.Ho * g.Wo;
  pool_geometry plane = g;
  plane.C = 1;
  detail::parallel_chunks(n * g.C, elementwise_grain / static_cast<double>(in_plane), 1, [&](std::size_t lo, std::size_t hi) {
    host_ops<float>::maxpool_backward(plane, hi - lo, dy + lo * out_plane, argmax + lo * out_plane, dx + lo * in_plane);
  });
}

}  // namespace ctnn::backend::eigen_kernels
