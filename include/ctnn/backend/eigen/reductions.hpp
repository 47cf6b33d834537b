#pragma once
// Reductions for the Eigen backend whose order of additions is fixed (whatever the buffer's alignment or
// the thread count): per-channel bias gradients and the fused cross-entropy.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include <Eigen/Core>

#include "../../core/threads.hpp"
#include "../host_ops.hpp"
#include "elementwise.hpp"
#include "packet.hpp"
#include "work_split.hpp"

namespace ctnn::backend::eigen_kernels {

// grad_bias[c] += sum over o, i of dy[o, c, i], each row summed in packets from its first value. (Not
// Eigen's .sum(): it starts its packets at the first aligned address, so the order of the additions,
// and the last bit of the result, would depend on where the buffer happens to lie.)
inline void bias_grad(const float* dy, std::size_t outer, std::size_t channels, std::size_t inner, float* grad_bias) {
  if (inner < 16) return host_ops<float>::bias_grad(outer, channels, inner, dy, grad_bias);
  using namespace Eigen::internal;
  // Channels split over threads; each still adds its rows in batch order.
  const double per_channel = static_cast<double>(outer * inner);
  const std::size_t whole = inner / lanes * lanes;
  // The rows' sums are added in double (a batch of rows summed in float would add an error growing
  // like sqrt(outer)).
  detail::parallel_chunks(channels, elementwise_grain / per_channel, 1, [&](std::size_t c0, std::size_t c1) {
    for (std::size_t c = c0; c < c1; ++c) {
      double total = 0;
      for (std::size_t o = 0; o < outer; ++o) {
        const float* row = dy + (o * channels + c) * inner;
        packet acc = pset1<packet>(0.0f);
        for (std::size_t i = 0; i < whole; i += lanes) acc = padd(acc, ploadu<packet>(row + i));
        float sum = predux(acc);
        for (std::size_t i = whole; i < inner; ++i) sum += row[i];
        total += static_cast<double>(sum);
      }
      grad_bias[c] = static_cast<float>(static_cast<double>(grad_bias[c]) + total);
    }
  });
}

// Cross-entropy from logits: each row's exp(x - max) computed once, by one vectorised exp over the whole
// block (the loss needs their sum, the gradient the values), instead of two scalar std::exp per value.
// Rows with an infinite or NaN maximum take host_ops' path, which handles them. Labels are validated by
// `checked_label`, host_ops' check (protected there, so the ops<eigen> façade hands it in), so that both
// paths refuse a bad label with the same message.
template <class CheckLabel>
double cross_entropy(const float* logits, const std::int64_t* labels, std::size_t rows, std::size_t cols, float* grad,
                     float grad_scale, CheckLabel checked_label) {
  const std::size_t n = rows * cols;
  for (std::size_t r = 0; r < rows; ++r) {
    const float* xr = logits + r * cols;
    const float mx = *std::max_element(xr, xr + cols);
    if (!std::isfinite(mx)) return host_ops<float>::cross_entropy(rows, cols, logits, labels, grad, grad_scale);
    for (std::size_t c = 0; c < cols; ++c) grad[r * cols + c] = xr[c] - mx;
  }
  packetwise(n, grad, grad, [](const auto& a) { return a.exp(); });
  double loss = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    const std::int64_t label = checked_label(labels[r], r, cols);
    const float* xr = logits + r * cols;
    float* gr = grad + r * cols;
    float total = 0;
    for (std::size_t c = 0; c < cols; ++c) total += gr[c];
    const float lse = *std::max_element(xr, xr + cols) + std::log(total);
    loss += static_cast<double>(lse - xr[label]);
    const float scale = grad_scale / total;
    for (std::size_t c = 0; c < cols; ++c) gr[c] *= scale;
    gr[label] -= grad_scale;
  }
  return loss;
}

}  // namespace ctnn::backend::eigen_kernels
