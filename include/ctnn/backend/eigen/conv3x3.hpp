#pragma once
// Direct 3x3, stride-1 convolutions for the Eigen backend (padding 0 to 2): register-blocked kernels over
// padded planes instead of im2col + GEMM, for the forward, the input gradient (the forward kernel on the
// padded output gradient with flipped, transposed weights) and the weight gradient.
#include <algorithm>
#include <cstddef>
#include <type_traits>

#include <Eigen/Core>

#include "../backend.hpp"
#include "../host_ops.hpp"
#include "packet.hpp"
#include "reductions.hpp"

namespace ctnn::backend::eigen_kernels {

// Where the parts of a direct 3x3 convolution's workspace lie; the forward leaves the padded input in the
// first part for the backward.
struct conv3_layout {
  std::size_t wpo;    // output row length rounded up to whole packets
  std::size_t wx;     // padded input row: wpo + 2
  std::size_t hp;     // padded input rows: H + 2 pad
  std::size_t wxd;    // padded output-gradient row for the input gradient: round_up(W) + 2
  std::size_t hd;     // its rows: Ho + 2 (2 - pad)
  std::size_t input, dy_rows, dy_full, weights;  // sizes of the four workspace parts
};
// The geometries these kernels take: 3x3, stride 1, the same padding of at most 2 on both axes, no
// dilation, one group, and at most `direct_conv3_max_channels` input channels (every other convolution
// goes through gemm_conv.hpp). Wider inputs go to the batched im2col + GEMM, whose product is deep
// enough (9 C) to run near the GEMM's rate: one forward + backward, 2 threads, quiet machine
// (benchmarks/zoo, 2026-12-01), 128 -> 128 channels on 8x8 at batch 32: 35.3 ms direct, 23.7 ms GEMM;
// on 7x7 at batch 128: 149 against 74 ms. At 64 channels neither wins everywhere (16x16 batch 32: 25.0
// direct, 28.5 GEMM; batch 128: 148 against 111; 56x56 batch 4: 36.8 against 43.0; the 32-64-channel VGG
// step 60.5 against 82.1), so 64 stays direct.
inline constexpr std::size_t direct_conv3_max_channels = 64;
inline bool direct_conv3(const conv_geometry& g) {
  return g.KH == 3 && g.KW == 3 && g.SH == 1 && g.SW == 1 && g.PH == g.PW && g.PH <= 2 && g.DH == 1 && g.DW == 1 &&
         g.groups == 1 && g.C <= direct_conv3_max_channels;
}
inline conv3_layout layout3(const conv_geometry& g, std::size_t n) {
  conv3_layout l{};
  l.wpo = round_up(g.Wo);
  l.wx = l.wpo + 2;
  l.hp = g.H + 2 * g.PH;
  l.wxd = round_up(g.W) + 2;
  l.hd = g.Ho + 2 * (2 - g.PH);
  l.input = n * g.C * l.hp * l.wx;
  l.dy_rows = n * g.OC * g.Ho * l.wpo;
  l.dy_full = n * g.OC * l.hd * l.wxd;
  l.weights = g.OC * g.C * 9;
  return l;
}

inline std::size_t conv3x3_workspace(const conv_geometry& g, std::size_t n) {
  const conv3_layout l = layout3(g, n);
  return l.input + l.dy_rows + l.dy_full + l.weights;
}

// dst[p] = src[p] placed at (pad, pad) in planes of hd x wd zeros.
// Only the border is zeroed (the interior is overwritten), and by plain loops: the rows are a few
// dozen values, too short for a call to memset/memcpy to pay.
inline void pad_planes(const float* src, std::size_t planes, std::size_t h, std::size_t w, std::size_t pad,
                       float* dst, std::size_t hd, std::size_t wd) {
  for (std::size_t p = 0; p < planes; ++p) {
    float* d = dst + p * hd * wd;
    for (std::size_t i = 0; i < pad * wd; ++i) d[i] = 0.0f;
    for (std::size_t r = 0; r < h; ++r) {
      float* row = d + (r + pad) * wd;
      const float* s = src + (p * h + r) * w;
      for (std::size_t i = 0; i < pad; ++i) row[i] = 0.0f;
      CTNN_IVDEP
      for (std::size_t i = 0; i < w; ++i) row[pad + i] = s[i];
      for (std::size_t i = pad + w; i < wd; ++i) row[i] = 0.0f;
    }
    for (std::size_t i = (h + pad) * wd; i < hd * wd; ++i) d[i] = 0.0f;
  }
}

// y[o][r][col] (+ bias[o]) for OB output channels from o (weights w[o][c][3][3]), rows 0..ho and columns
// j0 .. j0 + NC packets: sum over c, a, b of w[o][c][a][b] * xp[c][r + a][col + b].
template <int OB, int NC>
void conv3_block(const float* xp, std::size_t C, std::size_t plane, std::size_t wx, const float* w,
                 std::size_t ho, std::size_t wo, std::size_t j0, const float* bias, float* y) {
  using namespace Eigen::internal;
  const std::size_t w_stride = C * 9, y_plane = ho * wo;
  for (std::size_t r = 0; r < ho; ++r) {
    packet acc[OB][NC];
    CTNN_UNROLL
    for (int o = 0; o < OB; ++o)
      CTNN_UNROLL
      for (int q = 0; q < NC; ++q) acc[o][q] = pset1<packet>(0.0f);
    for (std::size_t c = 0; c < C; ++c) {
      const float* xr = xp + c * plane + r * wx + j0;
      const float* wc = w + c * 9;
      CTNN_UNROLL
      for (std::size_t a = 0; a < 3; ++a)
        CTNN_UNROLL
        for (std::size_t b = 0; b < 3; ++b) {
          packet xv[NC];
          CTNN_UNROLL
          for (int q = 0; q < NC; ++q) xv[q] = ploadu<packet>(xr + a * wx + b + static_cast<std::size_t>(q) * lanes);
          CTNN_UNROLL
          for (int o = 0; o < OB; ++o) {
            const packet wv = pset1<packet>(wc[static_cast<std::size_t>(o) * w_stride + a * 3 + b]);
            CTNN_UNROLL
            for (int q = 0; q < NC; ++q) acc[o][q] = pmadd(wv, xv[q], acc[o][q]);
          }
        }
    }
    CTNN_UNROLL
    for (int o = 0; o < OB; ++o) {
      const packet bv = pset1<packet>(bias ? bias[o] : 0.0f);
      CTNN_UNROLL
      for (int q = 0; q < NC; ++q) {
        const std::size_t col = j0 + static_cast<std::size_t>(q) * lanes;
        if (col >= wo) break;
        float* dst = y + static_cast<std::size_t>(o) * y_plane + r * wo + col;
        const packet v = padd(acc[o][q], bv);
        if (col + lanes <= wo) {
          pstoreu(dst, v);
        } else {
          alignas(64) float tmp[lanes];
          pstoreu(tmp, v);
          std::copy_n(tmp, wo - col, dst);
        }
      }
    }
  }
}
template <int NC>
void conv3_columns(const float* xp, std::size_t C, std::size_t plane, std::size_t wx, const float* w,
                   std::size_t OC, std::size_t ho, std::size_t wo, std::size_t j0, const float* bias,
                   float* y) {
  constexpr std::size_t max_ob = NC == 1 ? 8 : 5;
  for (std::size_t o = 0; o < OC; o += max_ob) {
    const std::size_t ob = std::min(max_ob, OC - o);
    const float* wo_ = w + o * C * 9;
    const float* bo = bias ? bias + o : nullptr;
    float* yo = y + o * ho * wo;
    with_count<static_cast<int>(max_ob)>(
        ob, [&](auto OB) { conv3_block<OB(), NC>(xp, C, plane, wx, wo_, ho, wo, j0, bo, yo); });
  }
}
// One sample: y [OC, ho, wo] from the padded planes xp [C][.. x wx]; wpo = wo rounded up to packets.
inline void conv3_sample(const float* xp, std::size_t C, std::size_t plane, std::size_t wx, const float* w,
                         std::size_t OC, std::size_t ho, std::size_t wo, std::size_t wpo, const float* bias,
                         float* y) {
  std::size_t j = 0;
  for (; j + 2 * lanes <= wpo; j += 2 * lanes) conv3_columns<2>(xp, C, plane, wx, w, OC, ho, wo, j, bias, y);
  for (; j < wpo; j += lanes) conv3_columns<1>(xp, C, plane, wx, w, OC, ho, wo, j, bias, y);
}

// dw[o][0..3] += sum over samples, rows and columns of dy[o][r][col] * xs[r][col + b], for OB output
// channels (dw rows o apart by dw_stride); xs is one input channel's padded plane at kernel row a.
// Each sample is summed in packets on its own, and the samples' sums are added in double: one set of
// accumulators over the whole batch would sum n Ho Wo / lanes products per lane in float, an error
// growing like sqrt(n) (rms 4.9e-7 of the scale for 64 samples of 28 x 28, against 1.1e-7 for one).
template <int OB>
void conv3_wgrad(const float* xs, std::size_t x_sample, std::size_t wx, const float* ds, std::size_t d_sample,
                 std::size_t d_plane, std::size_t wpo, std::size_t n, std::size_t ho, float* dw,
                 std::size_t dw_stride) {
  using namespace Eigen::internal;
  double total[OB][3] = {};
  for (std::size_t i = 0; i < n; ++i) {
    packet acc[OB][3];
    CTNN_UNROLL
    for (int o = 0; o < OB; ++o)
      CTNN_UNROLL
      for (int b = 0; b < 3; ++b) acc[o][b] = pset1<packet>(0.0f);
    for (std::size_t r = 0; r < ho; ++r) {
      const float* xr = xs + i * x_sample + r * wx;
      const float* dr = ds + i * d_sample + r * wpo;
      for (std::size_t col = 0; col < wpo; col += lanes) {
        const packet x0 = ploadu<packet>(xr + col), x1 = ploadu<packet>(xr + col + 1),
                     x2 = ploadu<packet>(xr + col + 2);
        CTNN_UNROLL
        for (int o = 0; o < OB; ++o) {
          const packet d = ploadu<packet>(dr + static_cast<std::size_t>(o) * d_plane + col);
          acc[o][0] = pmadd(d, x0, acc[o][0]);
          acc[o][1] = pmadd(d, x1, acc[o][1]);
          acc[o][2] = pmadd(d, x2, acc[o][2]);
        }
      }
    }
    CTNN_UNROLL
    for (int o = 0; o < OB; ++o)
      CTNN_UNROLL
      for (int b = 0; b < 3; ++b) total[o][b] += static_cast<double>(predux(acc[o][b]));
  }
  CTNN_UNROLL
  for (int o = 0; o < OB; ++o)
    CTNN_UNROLL
    for (int b = 0; b < 3; ++b) {
      float& out = dw[static_cast<std::size_t>(o) * dw_stride + static_cast<std::size_t>(b)];
      out = static_cast<float>(static_cast<double>(out) + total[o][b]);
    }
}

// The whole batch: each sample's input padded into the workspace (kept for the backward), then convolved.
inline void conv3x3_forward(const conv_geometry& g, std::size_t n, const float* x, const float* weight,
                            const float* bias, float* y, float* workspace) {
  const conv3_layout l = layout3(g, n);
  const std::size_t in_plane = l.hp * l.wx, out_size = g.OC * g.Ho * g.Wo;
  const auto count = static_cast<std::ptrdiff_t>(n);
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (n > 1)
#endif
  for (std::ptrdiff_t s = 0; s < count; ++s) {
    const auto i = static_cast<std::size_t>(s);
    float* xp = workspace + i * g.C * in_plane;
    pad_planes(x + i * g.C * g.H * g.W, g.C, g.H, g.W, g.PH, xp, l.hp, l.wx);
    conv3_sample(xp, g.C, in_plane, l.wx, weight, g.OC, g.Ho, g.Wo, l.wpo, bias, y + i * out_size);
  }
}

// The input is not read: the forward left it padded in the workspace (and without grad_weight it is not
// needed: the input gradient alone, as ConvTranspose2d's forward asks, needs no forward before it).
inline void conv3x3_backward(const conv_geometry& g, std::size_t n, const float* dy, const float* weight, float* dx,
                             float* grad_weight, float* grad_bias, float* workspace) {
  const conv3_layout l = layout3(g, n);
  const float* xp = workspace;  // the padded input the forward left
  float* dyr = workspace + l.input;
  float* dyp = dyr + l.dy_rows;
  float* wt = dyp + l.dy_full;
  const std::size_t in_plane = l.hp * l.wx, out_plane = g.Ho * g.Wo, dyp_plane = l.hd * l.wxd;
  const std::size_t edge = 2 - g.PH;
  // Transposed, flipped weights: wt[c][o][a][b] = w[o][c][2 - a][2 - b].
  for (std::size_t o = 0; o < g.OC; ++o)
    for (std::size_t c = 0; c < g.C; ++c)
      for (std::size_t t = 0; t < 9; ++t) wt[(c * g.OC + o) * 9 + 8 - t] = weight[(o * g.C + c) * 9 + t];
  const auto count = static_cast<std::ptrdiff_t>(n);
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (n > 1)
#endif
  for (std::ptrdiff_t s = 0; s < count; ++s) {
    const auto i = static_cast<std::size_t>(s);
    const float* dy_i = dy + i * g.OC * out_plane;
    pad_planes(dy_i, g.OC, g.Ho, g.Wo, 0, dyr + i * g.OC * g.Ho * l.wpo, g.Ho, l.wpo);
    if (dx) pad_planes(dy_i, g.OC, g.Ho, g.Wo, edge, dyp + i * g.OC * dyp_plane, l.hd, l.wxd);
  }
  // Weight gradient: one task per (block of up to 4 output channels, input channel, kernel row). Tasks
  // differ in size (the last block may be smaller), so they are handed out dynamically; each sums over
  // the whole batch in order, so the result does not depend on which thread ran it.
  const std::size_t blocks = (g.OC + 3) / 4, tasks = grad_weight ? blocks * g.C * 3 : 0;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic) if (n > 1)
#endif
  for (std::ptrdiff_t t = 0; t < static_cast<std::ptrdiff_t>(tasks); ++t) {
    const auto task = static_cast<std::size_t>(t);
    const std::size_t ki = task % 3, c = task / 3 % g.C, o0 = task / 3 / g.C * 4;
    const std::size_t ob = std::min<std::size_t>(4, g.OC - o0);
    const float* xs = xp + c * in_plane + ki * l.wx;
    const float* ds = dyr + o0 * g.Ho * l.wpo;
    float* dw = grad_weight + (o0 * g.C + c) * 9 + ki * 3;
    const std::size_t x_sample = g.C * in_plane, d_sample = g.OC * g.Ho * l.wpo, d_plane = g.Ho * l.wpo;
    with_count<4>(ob, [&](auto OB) {
      conv3_wgrad<OB()>(xs, x_sample, l.wx, ds, d_sample, d_plane, l.wpo, n, g.Ho, dw, g.C * 9);
    });
  }
  if (grad_bias) bias_grad(dy, n, g.OC, out_plane, grad_bias);
  if (!dx) return;
  // Input gradient: the forward kernel on the padded output gradient, C and OC swapped.
  const std::size_t wpo_dx = round_up(g.W);
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (n > 1)
#endif
  for (std::ptrdiff_t s = 0; s < count; ++s) {
    const auto i = static_cast<std::size_t>(s);
    conv3_sample(dyp + i * g.OC * dyp_plane, g.OC, dyp_plane, l.wxd, wt, g.C, g.H, g.W, wpo_dx, nullptr,
                 dx + i * g.C * g.H * g.W);
  }
}

}  // namespace ctnn::backend::eigen_kernels
