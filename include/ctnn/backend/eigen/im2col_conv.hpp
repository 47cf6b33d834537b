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

inline void im2col_conv2d_forward(const conv_geometry& g, std::size_t n, const float* x, const float* weight,
                                  const float* bias, float* y, float* workspace) {
  using host = host_ops<float>;
  const std::size_t patch = g.C * g.K * g.K, positions = g.Ho * g.Wo;
  for (std::size_t i = 0; i < n; ++i) {
    host::im2col(x + i * g.C * g.H * g.W, g.C, g.H, g.W, g.K, g.stride, g.pad, g.Ho, g.Wo, workspace);
    gemm(false, false, g.OC, positions, patch, 1.0f, weight, workspace, 0.0f, y + i * g.OC * positions);
  }
  host::add_bias(n, g.OC, positions, bias, y);
}
inline void im2col_conv2d_backward(const conv_geometry& g, std::size_t n, const float* x, const float* dy,
                                   const float* weight, float* dx, float* grad_weight, float* grad_bias,
                                   float* workspace) {
  using host = host_ops<float>;
  const std::size_t patch = g.C * g.K * g.K, positions = g.Ho * g.Wo, in_size = g.C * g.H * g.W;
  for (std::size_t i = 0; i < n; ++i) {
    const float* dy_i = dy + i * g.OC * positions;
    host::im2col(x + i * in_size, g.C, g.H, g.W, g.K, g.stride, g.pad, g.Ho, g.Wo, workspace);
    gemm(false, true, g.OC, patch, positions, 1.0f, dy_i, workspace, 1.0f, grad_weight);
    if (!dx) continue;
    gemm(true, false, patch, positions, g.OC, 1.0f, weight, dy_i, 0.0f, workspace);
    std::fill_n(dx + i * in_size, in_size, 0.0f);
    host::col2im(workspace, g.C, g.H, g.W, g.K, g.stride, g.pad, g.Ho, g.Wo, dx + i * in_size);
  }
  bias_grad(dy, n, g.OC, positions, grad_bias);
}

}  // namespace ctnn::backend::eigen_kernels
