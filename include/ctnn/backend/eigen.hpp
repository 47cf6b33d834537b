#pragma once
// The Eigen backend: float on the CPU. GEMM goes through Eigen's blocked kernels (which also run the
// convolutions, via im2col); the simple elementwise loops are shared with the reference backend and
// vectorise as they are.
#include <algorithm>
#include <cstddef>

#include <Eigen/Core>

#include "backend.hpp"
#include "host_ops.hpp"

namespace ctnn::backend {

template <>
struct ops<eigen> : host_ops<float> {
  // Eigen packs the panels of A and B it multiplies into temporaries: on the stack when one holds at
  // most EIGEN_STACK_ALLOCATION_LIMIT bytes, with malloc otherwise (e.g. a 90 x 784 im2col panel,
  // on every call). The product is therefore computed in blocks of C and slices of the depth small
  // enough for both panels to stay on the stack, so a training step never allocates.
  static void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, float alpha,
                   const float* a, const float* b, float beta, float* c) {
    using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    using Block = Eigen::Map<Matrix, 0, Eigen::OuterStride<>>;
    using ConstBlock = Eigen::Map<const Matrix, 0, Eigen::OuterStride<>>;
    using Index = Eigen::Index;
    auto idx = [](std::size_t v) { return static_cast<Index>(v); };
    {
      Block C(c, idx(m), idx(n), Eigen::OuterStride<>(idx(n)));
      if (beta == 0.0f) C.setZero();
      else if (beta != 1.0f) C *= beta;
    }
    if (m == 0 || n == 0 || k == 0) return;
    // Each panel (kc x mc of A, kc x nc of B) must fit in Eigen's stack limit: a depth of at most 512
    // (about the depth of Eigen's own L1 blocks for float), then as many rows and columns as fit.
    constexpr std::size_t panel = EIGEN_STACK_ALLOCATION_LIMIT / sizeof(float);
    const std::size_t kb = panel >= 512 ? std::min<std::size_t>(k, 512) : k;
    const std::size_t mb = panel >= 512 ? std::min(m, panel / kb) : m;
    const std::size_t nb = panel >= 512 ? std::min(n, panel / kb) : n;
    // Rows r0.., columns c0.. of the row-major matrix p with `cols` columns.
    auto block = [&](const float* p, std::size_t cols, std::size_t r0, std::size_t c0, std::size_t rows,
                     std::size_t ncols) {
      return ConstBlock(p + r0 * cols + c0, idx(rows), idx(ncols), Eigen::OuterStride<>(idx(cols)));
    };
    for (std::size_t i = 0; i < m; i += mb)
      for (std::size_t j = 0; j < n; j += nb) {
        const std::size_t mi = std::min(mb, m - i), nj = std::min(nb, n - j);
        Block C(c + i * n + j, idx(mi), idx(nj), Eigen::OuterStride<>(idx(n)));
        for (std::size_t p = 0; p < k; p += kb) {
          const std::size_t kp = std::min(kb, k - p);
          // op(A)[i.., p..] and op(B)[p.., j..]; a transposed operand is stored [k, m] or [n, k].
          // Four spellings so that Eigen sees plain (transposed) maps and picks its GEMM kernel directly.
          if (!trans_a && !trans_b)
            C.noalias() += alpha * block(a, k, i, p, mi, kp) * block(b, n, p, j, kp, nj);
          else if (trans_a && !trans_b)
            C.noalias() += alpha * block(a, m, p, i, kp, mi).transpose() * block(b, n, p, j, kp, nj);
          else if (!trans_a && trans_b)
            C.noalias() += alpha * block(a, k, i, p, mi, kp) * block(b, k, j, p, nj, kp).transpose();
          else
            C.noalias() += alpha * block(a, m, p, i, kp, mi).transpose() * block(b, k, j, p, nj, kp).transpose();
        }
      }
  }
};

}  // namespace ctnn::backend
