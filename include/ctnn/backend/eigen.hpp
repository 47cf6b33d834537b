#pragma once
// The Eigen backend: float on the CPU. GEMM goes through Eigen's blocked kernels (which also run the
// convolutions, via im2col); the simple elementwise loops are shared with the reference backend and
// vectorise as they are.
#include <Eigen/Core>

#include "backend.hpp"
#include "host_ops.hpp"

namespace ctnn::backend {

template <>
struct ops<eigen> : host_ops<float> {
  static void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, float alpha,
                   const float* a, const float* b, float beta, float* c) {
    using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    using Index = Eigen::Index;
    const auto M = static_cast<Index>(m), N = static_cast<Index>(n), K = static_cast<Index>(k);
    Eigen::Map<const Matrix> A(a, trans_a ? K : M, trans_a ? M : K);
    Eigen::Map<const Matrix> B(b, trans_b ? N : K, trans_b ? K : N);
    Eigen::Map<Matrix> C(c, M, N);
    if (beta == 0.0f) C.setZero();
    else if (beta != 1.0f) C *= beta;
    // Four spellings so that Eigen sees plain transposed maps and picks its GEMM kernel directly.
    if (!trans_a && !trans_b) C.noalias() += alpha * A * B;
    else if (trans_a && !trans_b) C.noalias() += alpha * A.transpose() * B;
    else if (!trans_a && trans_b) C.noalias() += alpha * A * B.transpose();
    else C.noalias() += alpha * A.transpose() * B.transpose();
  }
};

}  // namespace ctnn::backend
