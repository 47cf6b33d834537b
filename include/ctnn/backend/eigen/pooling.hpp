#pragma once
// Max pooling for the Eigen backend: planes split over threads; 2x2 windows of stride 2 without a
// scalar search, every other window (any size, stride, padding, dilation) an output row at a time with
// the taps' ranges computed (taps.hpp), vectorised along the row.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "../../core/threads.hpp"
#include "../host_ops.hpp"
#include "packet.hpp"
#include "taps.hpp"
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

// Any window (size, stride, padding, dilation) over `planes` planes of one channel each, an output row
// at a time. The host loop's rule, as selects: the taps are visited in its order (row by row, column by
// column) and a tap wins over the best so far if it is larger, if it is a NaN and the best is not, or if
// it is the first tap inside the input (a window of -infinity). So values and argmax equal host_ops' bit
// for bit, and the gradient lands on the same element.
//   The outputs whose whole window lies inside the row (from taps_inside) are computed a packet at a time,
// tracking the winning tap's number (a float, exact far beyond any window's size) beside the value; the
// columns nearer the edges one by one, testing each tap.
inline void maxpool_rows(const pool_geometry& g, const float* x, std::size_t planes, float* y, std::int32_t* argmax) {
  using namespace Eigen::internal;
  const std::size_t H = g.H, W = g.W, Ho = g.Ho, Wo = g.Wo, KW = g.KW;
  const auto sw = static_cast<std::ptrdiff_t>(g.SW), pw = static_cast<std::ptrdiff_t>(g.PW);
  const auto dw = static_cast<std::ptrdiff_t>(g.DW), w = static_cast<std::ptrdiff_t>(W);
  // Output columns whose every tap column is inside: those of the first tap column and of the last.
  const tap_range left = taps_inside(-pw, sw, Wo, w), right = taps_inside(static_cast<std::ptrdiff_t>(KW - 1) * dw - pw, sw, Wo, w);
  const std::size_t inner_lo = left.lo, inner_hi = std::max(inner_lo, right.hi);
  const std::size_t packed_hi = inner_lo + (inner_hi - inner_lo) / lanes * lanes;
  const float none = -std::numeric_limits<float>::infinity();
  for (std::size_t p = 0; p < planes; ++p) {
    const float* xp = x + p * H * W;
    for (std::size_t oh = 0; oh < Ho; ++oh) {
      float* yr = y + (p * Ho + oh) * Wo;
      std::int32_t* ar = argmax + (p * Ho + oh) * Wo;
      const std::ptrdiff_t top = static_cast<std::ptrdiff_t>(oh * g.SH) - static_cast<std::ptrdiff_t>(g.PH);
      // One output column, every tap tested.
      auto one = [&](std::size_t ow) {
        float best = none;
        std::int32_t at = -1;
        for (std::size_t ki = 0; ki < g.KH; ++ki) {
          const std::ptrdiff_t ih = top + static_cast<std::ptrdiff_t>(ki * g.DH);
          if (ih < 0 || ih >= static_cast<std::ptrdiff_t>(H)) continue;
          for (std::size_t kj = 0; kj < KW; ++kj) {
            const std::ptrdiff_t iw = static_cast<std::ptrdiff_t>(ow) * sw + static_cast<std::ptrdiff_t>(kj) * dw - pw;
            if (iw < 0 || iw >= w) continue;
            const float v = xp[ih * w + iw];
            const bool take = v > best || (v != v && best == best) || at < 0;
            best = take ? v : best;
            at = take ? static_cast<std::int32_t>(ih * w + iw) : at;
          }
        }
        yr[ow] = best;
        ar[ow] = at;
      };
      for (std::size_t ow = 0; ow < inner_lo; ++ow) one(ow);
      for (std::size_t ow = inner_lo; ow < packed_hi; ow += lanes) {
        packet best = pset1<packet>(none), tap = pset1<packet>(-1.0f);
        const packet zero = pzero(best);
        for (std::size_t ki = 0; ki < g.KH; ++ki) {
          const std::ptrdiff_t ih = top + static_cast<std::ptrdiff_t>(ki * g.DH);
          if (ih < 0 || ih >= static_cast<std::ptrdiff_t>(H)) continue;
          const float* row = xp + ih * w + static_cast<std::ptrdiff_t>(ow) * sw - pw;
          for (std::size_t kj = 0; kj < KW; ++kj) {
            const float* from = row + static_cast<std::ptrdiff_t>(kj) * dw;
            const packet v = sw == 1 ? ploadu<packet>(from) : pgather<float, packet>(from, static_cast<Eigen::Index>(sw));
            const packet larger = pcmp_lt(best, v);
            const packet nan_over_number = pandnot(pcmp_eq(best, best), pcmp_eq(v, v));
            const packet take = por(por(larger, nan_over_number), pcmp_lt(tap, zero));
            best = pselect(take, v, best);
            tap = pselect(take, pset1<packet>(static_cast<float>(ki * KW + kj)), tap);
          }
        }
        pstoreu(yr + ow, best);
        alignas(64) float taps[lanes];
        pstore(taps, tap);
        for (std::size_t l = 0; l < lanes; ++l) {
          if (taps[l] < 0.0f) {
            ar[ow + l] = -1;
            continue;
          }
          const auto t = static_cast<std::size_t>(taps[l]);
          const std::ptrdiff_t ih = top + static_cast<std::ptrdiff_t>(t / KW * g.DH);
          const std::ptrdiff_t iw = static_cast<std::ptrdiff_t>(ow + l) * sw + static_cast<std::ptrdiff_t>(t % KW) * dw - pw;
          ar[ow + l] = static_cast<std::int32_t>(ih * w + iw);
        }
      }
      for (std::size_t ow = packed_hi; ow < Wo; ++ow) one(ow);
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
    maxpool_rows(plane, x + lo * H * W, hi - lo, y + lo * Ho * Wo, argmax + lo * Ho * Wo);
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
