#pragma once
// GEMM for the Eigen backend: C = alpha op(A) op(B) + beta C (row-major) through Eigen's blocked kernel,
// in tiles small enough never to allocate, split over threads by whole tiles; products with a small side
// go to the hand-written kernels of skinny.hpp.
#include <algorithm>
#include <cstddef>

#include <Eigen/Core>

#include "../../core/threads.hpp"
#include "packet.hpp"
#include "skinny.hpp"
#include "work_split.hpp"

namespace ctnn::backend::eigen_kernels {

// Eigen packs the panels of A and B it multiplies into temporaries: on the stack when one holds at
// most EIGEN_STACK_ALLOCATION_LIMIT bytes, with malloc otherwise (e.g. a 90 x 784 im2col panel,
// on every call). The product is therefore computed in tiles of C and slices of the depth small
// enough for both panels to stay on the stack, so a training step never allocates.
//
// Threads: a product of at least `gemm_grain` multiply-adds per thread is split over threads by whole
// tiles (column tiles, or row tiles when C is taller than wide), each computed by Eigen's kernel
// single-threaded. The tiles do not depend on the thread count, so neither does the result: one and
// two threads give the same bits (tests/parallel/test_threads.cpp).
struct gemm_tiling {
  std::size_t kb, mb, nb;
};
inline gemm_tiling tiling(std::size_t m, std::size_t n, std::size_t k) {
  // Each panel (kc x mc of A, kc x nc of B) must fit in Eigen's stack limit: a depth of at most 512
  // (about the depth of Eigen's own L1 blocks for float), then as many rows and columns as fit, at most
  // 256 so that a product has tiles to share between threads.
  constexpr std::size_t panel = EIGEN_STACK_ALLOCATION_LIMIT / sizeof(float);
  if constexpr (panel < 512) return {k, m, n};
  const std::size_t kb = std::min<std::size_t>(k, 512);
  return {kb, std::min({m, panel / kb, std::size_t{256}}), std::min({n, panel / kb, std::size_t{256}})};
}

// C[r0..r1, c0..c1] = alpha op(A) op(B) + beta C (C is m x n, row-major), tile by tile.
inline void gemm_tiles(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, float alpha,
                       const float* a, const float* b, float beta, float* c, gemm_tiling t, std::size_t r0,
                       std::size_t r1, std::size_t c0, std::size_t c1) {
  using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Block = Eigen::Map<Matrix, 0, Eigen::OuterStride<>>;
  using ConstBlock = Eigen::Map<const Matrix, 0, Eigen::OuterStride<>>;
  using Index = Eigen::Index;
  auto idx = [](std::size_t v) { return static_cast<Index>(v); };
  // Rows r.., columns q.. of the row-major matrix p with `stride` columns.
  auto block = [&](const float* p, std::size_t stride, std::size_t r, std::size_t q, std::size_t nr,
                   std::size_t nq) {
    return ConstBlock(p + r * stride + q, idx(nr), idx(nq), Eigen::OuterStride<>(idx(stride)));
  };
  for (std::size_t i = r0; i < r1; i += t.mb)
    for (std::size_t j = c0; j < c1; j += t.nb) {
      const std::size_t mi = std::min(t.mb, r1 - i), nj = std::min(t.nb, c1 - j);
      Block C(c + i * n + j, idx(mi), idx(nj), Eigen::OuterStride<>(idx(n)));
      if (beta == 0.0f) C.setZero();
      else if (beta != 1.0f) C *= beta;
      for (std::size_t p = 0; p < k; p += t.kb) {
        const std::size_t kp = std::min(t.kb, k - p);
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
// (Measured against Eigen's own GEMM routine with persistent, untiled packing buffers for the seed
// shapes: no difference; for batch-32 products the packing of the weight operand is the cost, not the
// tiling.)

inline void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, float alpha,
                 const float* a, const float* b, float beta, float* c) {
  if (m == 0 || n == 0) return;
  if (k == 0) {  // C = beta C (an empty batch's weight gradient); tiling() would divide by a depth of 0
    for (std::size_t i = 0; i < m * n; ++i) c[i] = beta == 0.0f ? 0.0f : beta * c[i];
    return;
  }
  // Few outputs (skinny.hpp), by hand, for a batch of 32 here: 82-92 against 45-50 GFLOP/s (forward,
  // 32 x 10 x 784) and 100 against 62 (weight gradient, 10 x 784 x 32).
  if (n <= skinny_columns && !trans_a && trans_b && k >= lanes) return skinny_dot(m, n, k, alpha, a, b, beta, c);
  if (m <= skinny && trans_a && !trans_b && n >= lanes) return skinny_outer(m, n, k, alpha, a, b, beta, c);
  const gemm_tiling t = tiling(m, n, k);
  const bool by_rows = m > n;
  const std::size_t tiles = by_rows ? (m + t.mb - 1) / t.mb : (n + t.nb - 1) / t.nb;
  const int threads = std::min<int>(
      static_cast<int>(tiles),
      detail::threads_for(static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k), gemm_grain));
  // Tiles [first, last) along the split dimension.
  auto run = [&](std::size_t first, std::size_t last) {
    if (by_rows) gemm_tiles(trans_a, trans_b, m, n, k, alpha, a, b, beta, c, t, first * t.mb, std::min(m, last * t.mb), 0, n);
    else gemm_tiles(trans_a, trans_b, m, n, k, alpha, a, b, beta, c, t, 0, m, first * t.nb, std::min(n, last * t.nb));
  };
  if (threads <= 1) {
    detail::single_threaded_eigen serial;
    run(0, tiles);
    return;
  }
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
  {
    detail::single_threaded_eigen serial;
    const auto part = static_cast<std::size_t>(omp_get_thread_num()), parts = static_cast<std::size_t>(omp_get_num_threads());
    const std::size_t first = tiles * part / parts, last = tiles * (part + 1) / parts;
    if (first < last) run(first, last);
  }
#endif
}

}  // namespace ctnn::backend::eigen_kernels
