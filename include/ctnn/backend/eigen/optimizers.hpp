#pragma once
// Optimizer updates for the Eigen backend: host_ops' formulas (torch.optim's SGD and Adam) as Eigen
// array expressions (vectorised, sqrt included), split over threads.
#include <cstddef>
#include <type_traits>

#include <Eigen/Core>

#include "../../core/threads.hpp"
#include "packet.hpp"
#include "work_split.hpp"

namespace ctnn::backend::eigen_kernels {

// The optimizer formulas on N values at `i` (N = lanes: one packet; N = 1: the tail), as fixed-size
// Eigen arrays. Not one expression over a Map<ArrayXf> of the whole part: Eigen would start its packets
// at the first aligned address and do the values before it (and the last ones) in scalar code that the
// compiler contracts to FMAs, so the bits of a value would depend on where the buffer lies and where a
// thread's part starts (issue 9: adam_update differed on 1 and 2 threads at n = 16399, value 8194).
// Here every value is done by the packet code except the last n % lanes of the buffer, whatever the
// split (parts start at multiples of 16).
template <class Block>
void packet_blocks(std::size_t n, Block block) {
  std::size_t i = 0;
  for (; i + lanes <= n; i += lanes) block(std::integral_constant<int, static_cast<int>(lanes)>{}, i);
  for (; i < n; ++i) block(std::integral_constant<int, 1>{}, i);
}
inline void sgd_range(std::size_t n, float* param, const float* grad, float* momentum_buffer, float lr, float momentum,
                      float dampening, float weight_decay, bool nesterov, bool first_step) {
  const float keep = 1.0f - dampening;
  packet_blocks(n, [&](auto size, std::size_t i) {
    constexpr int N = decltype(size)::value;
    using Array = Eigen::Map<Eigen::Array<float, N, 1>>;
    using ConstArray = Eigen::Map<const Eigen::Array<float, N, 1>>;
    Array p(param + i);
    ConstArray g0(grad + i);
    if (momentum == 0.0f) {
      if (weight_decay == 0.0f) p -= lr * g0;
      else p -= lr * (g0 + weight_decay * p);
      return;
    }
    // With momentum the buffer holds g (first step) or the running average; the step uses it.
    Array buf(momentum_buffer + i);
    if (weight_decay == 0.0f) {
      if (first_step) buf = g0;
      else buf = momentum * buf + keep * g0;
      if (nesterov) p -= lr * (g0 + momentum * buf);
      else p -= lr * buf;
    } else {
      if (first_step) buf = g0 + weight_decay * p;
      else buf = momentum * buf + keep * (g0 + weight_decay * p);
      if (nesterov) p -= lr * ((g0 + weight_decay * p) + momentum * buf);
      else p -= lr * buf;
    }
  });
}
inline void adam_range(std::size_t n, float* param, const float* grad, float* m, float* v, float beta1, float beta2,
                       float eps, float weight_decay, float step_size, float bias_correction2_sqrt) {
  const float one_minus_beta1 = 1.0f - beta1, one_minus_beta2 = 1.0f - beta2;
  packet_blocks(n, [&](auto size, std::size_t i) {
    constexpr int N = decltype(size)::value;
    Eigen::Map<Eigen::Array<float, N, 1>> p(param + i), mm(m + i), vv(v + i);
    Eigen::Map<const Eigen::Array<float, N, 1>> g0(grad + i);
    if (weight_decay == 0.0f) {
      mm = mm * beta1 + one_minus_beta1 * g0;
      vv = vv * beta2 + one_minus_beta2 * g0 * g0;
    } else {
      mm = mm * beta1 + one_minus_beta1 * (g0 + weight_decay * p);
      vv = vv * beta2 + one_minus_beta2 * (g0 + weight_decay * p) * (g0 + weight_decay * p);
    }
    p -= step_size * (mm / (vv.sqrt() / bias_correction2_sqrt + eps));
  });
}

inline void sgd_update(std::size_t n, float* param, const float* grad, float* momentum_buffer, float lr, float momentum,
                       float dampening, float weight_decay, bool nesterov, bool first_step) {
  detail::parallel_chunks(n, elementwise_grain, 16, [&](std::size_t lo, std::size_t hi) {
    sgd_range(hi - lo, param + lo, grad + lo, momentum_buffer ? momentum_buffer + lo : nullptr, lr, momentum,
              dampening, weight_decay, nesterov, first_step);
  });
}
inline void adam_update(std::size_t n, float* param, const float* grad, float* m, float* v, float beta1, float beta2,
                        float eps, float weight_decay, float step_size, float bias_correction2_sqrt) {
  detail::parallel_chunks(n, elementwise_grain, 16, [&](std::size_t lo, std::size_t hi) {
    adam_range(hi - lo, param + lo, grad + lo, m + lo, v + lo, beta1, beta2, eps, weight_decay, step_size,
               bias_correction2_sqrt);
  });
}

}  // namespace ctnn::backend::eigen_kernels
