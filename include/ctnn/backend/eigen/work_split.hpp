#pragma once
// How much work the Eigen backend's kernels give one thread (core/threads.hpp splits by these).

namespace ctnn::backend::eigen_kernels {

// Multiply-adds per thread, at least, before a product is split over threads.
inline constexpr double gemm_grain = 1 << 19;

// Values per thread, at least, for elementwise work: a fork/join costs about as much as 8k ReLUs (a few
// microseconds).
inline constexpr double elementwise_grain = 1 << 13;

}  // namespace ctnn::backend::eigen_kernels
