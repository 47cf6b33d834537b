#pragma once
// Elementwise work for the Eigen backend: split over threads when large (an item never depends on
// another), and functors that offer an Eigen array expression evaluated in whole packets.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include <Eigen/Core>

#include "../../core/random.hpp"
#include "../../core/threads.hpp"
#include "../host_ops.hpp"
#include "packet.hpp"
#include "work_split.hpp"

namespace ctnn::backend::eigen_kernels {

// An Eigen expression of logistic() (see accurate()).
template <class E>
inline constexpr bool is_logistic = false;
template <class Arg>
inline constexpr bool is_logistic<Eigen::CwiseUnaryOp<Eigen::internal::scalar_logistic_op<float>, Arg>> = true;

template <class T>
void fill(T* x, std::size_t n, T v) {
  detail::parallel_chunks(n, elementwise_grain, 16, [&](std::size_t lo, std::size_t hi) { std::fill(x + lo, x + hi, v); });
}

// y[i] = expr(x[i]) in whole packets from x[0] (fixed-size maps, unaligned loads), the last n % lanes
// values after. Not one Eigen expression over the whole buffer: Eigen starts its packets at the first
// aligned address, and its vectorised exp/tanh round differently from the scalar ones, so the result
// would depend on where the buffer happens to lie (and so on the thread count).
template <class Expr>
void packetwise(std::size_t n, const float* x, float* y, Expr expr) {
  using Packet = Eigen::Array<float, static_cast<int>(lanes), 1>;
  using One = Eigen::Array<float, 1, 1>;
  std::size_t i = 0;
  for (; i + lanes <= n; i += lanes) Eigen::Map<Packet>(y + i) = expr(Eigen::Map<const Packet>(x + i));
  for (; i < n; ++i) Eigen::Map<One>(y + i) = expr(Eigen::Map<const One>(x + i));
}

// Eigen's float logistic() is a rational fit of logistic(x) - 0.5 (and exp(x) below -9): within an ulp
// of 0.5, so off by up to 5e-4 RELATIVE where the result is small (x < -7; 1.0e-4 for 1.035e-4 at
// x = -9.2: tests/differential). 1 / (1 + exp(-x)) through Eigen's vectorised exp is within a few ulp
// everywhere, as PyTorch's sigmoid is; an activation asking for logistic() gets that instead.
template <class A>
auto accurate(const A& a, auto expression) {
  if constexpr (is_logistic<decltype(expression(a))>) return (1.0f + (-a).exp()).inverse();
  else return expression(a);
}

template <class F>
void map(std::size_t n, const float* x, float* y, F f) {
  detail::parallel_chunks(n, elementwise_grain, 16, [&](std::size_t lo, std::size_t hi) {
    if constexpr (requires(const Eigen::Map<const Eigen::ArrayXf>& a) { F::array_expression(a); }) {
      packetwise(hi - lo, x + lo, y + lo,
                 [](const auto& a) { return accurate(a, [](const auto& v) { return F::array_expression(v); }); });
    } else {
      host_ops<float>::map(hi - lo, x + lo, y + lo, f);
    }
  });
}
template <class F>
void zip(std::size_t n, const float* a, const float* b, float* y, F f) {
  detail::parallel_chunks(n, elementwise_grain, 16, [&](std::size_t lo, std::size_t hi) {
    host_ops<float>::zip(hi - lo, a + lo, b + lo, y + lo, f);
  });
}

// Dropout masks: the counter-based stream makes each value a function of its index, so the parts can
// be drawn by different threads and the mask is the one host_ops draws.
inline void fill_bernoulli(float* x, std::size_t n, double keep, float value, Generator& g) {
  const std::uint64_t seed = g.seed(), first = g.advance(n);
  detail::parallel_chunks(n, elementwise_grain, 16, [&](std::size_t lo, std::size_t hi) {
    for (std::size_t i = lo; i < hi; ++i) x[i] = rng::uniform(seed, first + i) < keep ? value : 0.0f;
  });
}

}  // namespace ctnn::backend::eigen_kernels
