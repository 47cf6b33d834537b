#pragma once
// What every Eigen-backend kernel works in: Eigen's float packet for the target (8 lanes with AVX), and
// the helpers that turn run-time counts into the compile-time sizes of register blocks.
#include <cstddef>
#include <type_traits>

#include <Eigen/Core>

// The register-blocked loops must be unrolled for the accumulators to live in registers (-O2 does not
// unroll them by itself). Left defined: several kernel headers use it and each is included once.
#if defined(__CUDACC__)  // nvcc's front end does not know GCC's pragma; host speed in .cu files is secondary
#define CTNN_UNROLL
#else
#define CTNN_UNROLL _Pragma("GCC unroll 16")
#endif

namespace ctnn::backend::eigen_kernels {

using packet = Eigen::internal::packet_traits<float>::type;
inline constexpr std::size_t lanes = static_cast<std::size_t>(Eigen::internal::packet_traits<float>::size);

constexpr std::size_t round_up(std::size_t v) { return (v + lanes - 1) / lanes * lanes; }

// Calls f(std::integral_constant<int, N>{}) with N == n, for 1 <= n <= Max: a run-time count (of output
// channels, rows, columns) as the template argument that sizes a register block.
template <int Max, int N = 1, class F>
void with_count(std::size_t n, F&& f) {
  if constexpr (N < Max) {
    if (n != static_cast<std::size_t>(N)) return with_count<Max, N + 1>(n, f);
  }
  f(std::integral_constant<int, N>{});
}

}  // namespace ctnn::backend::eigen_kernels
