#pragma once
// Convolutions the direct 3x3 kernels do not take, for the Eigen backend: host_ops' im2col + GEMM sample by
// sample, but through this backend's GEMM (a static call inside host_ops would run host_ops' own triple
// loop, which sums each dot product of a weight gradient, Ho * Wo products per sample, in one float
// accumulator: its error grows like sqrt(k) u where Eigen's kernel, summing in slices of the depth, stays
// near u; e.g. 5x5 kernels on 32 x 32 inputs: k = 784, 1.4e-7 against 8.4e-8 rms of the scale, 2.9e-6
// against 3.8e-7 largest at k = 12544). Samples in order: the result does not depend on the thread count.
// The workspace is host_ops' (one sample's columns).
#include <algorithm>
#include <cstddef>

#include "../backend.hpp"
#include "../host_ops.hpp"
#include "gemm.hpp"
#include "reductions.hpp"

namespace ctnn::backend::eigen_kernels {

// One group of one sample at a time, as host_ops (grouped and depthwise convolutions are GEMMs of
// OC / groups rows).
inline void im2col_conv2d_forward(const conv_geometry& g, std::size_t n, const float* x, const float* weight,
                                  const float* bias, float* y, float* workspace) {
  using host = host_ops<float>;
  const std::size_t cg = g.C / g.groups, ocg = g.OC / g.groups;
  const std::size_t patch = cg * g.KH * g.KW, positions = g.Ho * g.Wo;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t grp = 0; grp < g.groups; ++grp) {
      host::im2col(x + (i * g.C + grp * cg) * g.H * g.W, cg, g, workspace);
      gemm(false, false, ocg, positions, patch, 1.0f, weight + grp * ocg * patch, workspace, 0.0f,
           y + (i * g.OC + grp * ocg) * positions);
    }
  if (bias) host::add_bias(n, g.OC, positions, bias, y);
}
inline void im2col_conv2d_backward(const conv_geometry& g, std::size_t n, const float* x, const float* dy,
                                   const float* weight, float* dx, float* grad_weight, float* grad_bias,
                                   float* workspace) {
  using host = host_ops<float>;
  const std::size_t cg = g.C / g.groups, ocg = g.OC / g.groups;
  const std::size_t patch = cg * g.KH * g.KW, positions = g.Ho * g.Wo, in_size = g.C * g.H * g.W;
  if (dx) std::fill_n(dx, n * in_size, 0.0f);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t grp = 0; grp < g.groups; ++grp) {
      const float* dy_i = dy + (i * g.OC + grp * ocg) * positions;
      const std::size_t x_at = i * in_size + grp * cg * g.H * g.W;
      host::im2col(x + x_at, cg, g, workspace);
      gemm(false, true, ocg, patch, positions, 1.0f, dy_i, workspace, 1.0f, grad_weight + grp * ocg * patch);
      if (!dx) continue;
      gemm(true, false, patch, positions, ocg, 1.0f, weight + grp * ocg * patch, dy_i, 0.0f, workspace);
      host::col2im(workspace, cg, g, dx + x_at);
    }
  if (grad_bias) bias_grad(dy, n, g.OC, positions, grad_bias);
}

}  // namespace ctnn::backend::eigen_kernels
