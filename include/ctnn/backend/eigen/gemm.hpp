#pragma once
// GEMM for the Eigen backend: C = alpha op(A) op(B) + beta C (row-major) through Eigen's blocked kernel
// with persistent packing buffers, split over threads by parts of C; products with a small side go to the
// hand-written kernels of skinny.hpp.
#include <algorithm>
#include <cstddef>
#include <new>

#include <Eigen/Core>

#include "../../core/threads.hpp"
#include "packet.hpp"
#include "skinny.hpp"
#include "work_split.hpp"

namespace ctnn::backend::eigen_kernels {

// The general product runs Eigen's blocked kernel (gebp, with its panel packing) directly, handing it
// packing buffers that persist per thread (thread_packing): Eigen would otherwise put panels of up to
// EIGEN_STACK_ALLOCATION_LIMIT (128 KiB) on the stack and malloc larger ones on every call, and cutting
// a product into tiles small enough for the stack (as ctnn did until 2026-12) repacks the operands once
// per tile: a 1536^3 product ran at 45 GFLOP/s on 2 threads that way, a third of OpenBLAS's 135. The
// buffers only grow, so a training step allocates nothing once the largest product has run.
//
// Blocking and threads: Eigen's cache blocking (kc, mc, nc from computeProductBlockingSizes) is chosen
// once per product from its full size, and C is cut along its longer side into parts of at least
// `gemm_part` rows or columns (at most `gemm_parts` of them), a function of the sizes alone. Threads take
// whole parts, each computing its parts single-threaded, so the order in which any output's products are
// summed, and with it every bit of the result, does not depend on the thread count
// (tests/parallel/test_threads.cpp).
inline constexpr std::size_t gemm_part = 128, gemm_parts = 8;

// This thread's packing space, grown to at least `floats` (64-byte aligned).
inline float* thread_packing(std::size_t floats) {
  struct space {
    float* data = nullptr;
    std::size_t size = 0;
    space() = default;
    space(const space&) = delete;
    space& operator=(const space&) = delete;
    ~space() { ::operator delete(data, std::align_val_t{64}); }
  };
  thread_local space s;
  if (s.size < floats) {
    ::operator delete(s.data, std::align_val_t{64});
    s.data = nullptr;
    s.size = 0;
    s.data = static_cast<float*>(::operator new(floats * sizeof(float), std::align_val_t{64}));
    s.size = floats;
  }
  return s.data;
}

// Eigen's blocking sizes with caller-owned packing buffers (level3_blocking's fields are protected).
class fixed_blocking : public Eigen::internal::level3_blocking<float, float> {
 public:
  fixed_blocking(Eigen::Index kc, Eigen::Index mc, Eigen::Index nc, float* block_a, float* block_b) {
    this->m_kc = kc;
    this->m_mc = mc;
    this->m_nc = nc;
    this->m_blockA = block_a;
    this->m_blockB = block_b;
  }
};

// The blocking of a row-major m x n x k product. Eigen computes a row-major C as the column-major
// C^T = op(B)^T op(A)^T, so its "rows" are our n and its "columns" our m.
struct gemm_blocking {
  Eigen::Index kc, mc, nc;
};
inline gemm_blocking blocking_for(std::size_t m, std::size_t n, std::size_t k) {
  auto kc = static_cast<Eigen::Index>(k), mc = static_cast<Eigen::Index>(n), nc = static_cast<Eigen::Index>(m);
  Eigen::internal::computeProductBlockingSizes<float, float, 1>(kc, mc, nc, Eigen::Index{1});
  return {kc, mc, nc};
}

// C[r0..r1, c0..c1] += alpha op(A)[r0..r1, :] op(B)[:, c0..c1], single-threaded, with blocking b.
template <int LhsOrder, int RhsOrder>
void gebp_part(std::size_t n, std::size_t k, float alpha, const float* a, std::size_t a_stride, const float* b,
               std::size_t b_stride, float* c, std::size_t r0, std::size_t r1, std::size_t c0, std::size_t c1,
               gemm_blocking bl) {
  using Index = Eigen::Index;
  const auto rows = static_cast<Index>(r1 - r0), cols = static_cast<Index>(c1 - c0);
  // Eigen's col-major problem: "rows" = our columns (blocked by mc), "cols" = our rows (by nc).
  const Index mc = std::min(cols, bl.mc), nc = std::min(rows, bl.nc);
  const std::size_t size_a = static_cast<std::size_t>(bl.kc * mc), size_b = static_cast<std::size_t>(bl.kc * nc);
  constexpr std::size_t align = 16;  // floats: 64 bytes
  const std::size_t b_at = (size_a + align - 1) / align * align;  // B's panel after A's, 64-byte aligned
  float* space = thread_packing(b_at + size_b);
  fixed_blocking blocking(bl.kc, mc, nc, space, space + b_at);
  // op(A) rows r0.. : row-major A [m, k] (stride k) starts at row r0; A^T stored [k, m] (stride m) at column r0.
  const float* a0 = LhsOrder == Eigen::RowMajor ? a + r0 * a_stride : a + r0;
  // op(B) columns c0.. : row-major B [k, n] (stride n) at column c0; B^T stored [n, k] (stride k) at row c0.
  const float* b0 = RhsOrder == Eigen::RowMajor ? b + c0 : b + c0 * b_stride;
  Eigen::internal::general_matrix_matrix_product<Index, float, LhsOrder, false, float, RhsOrder, false, Eigen::RowMajor, 1>::run(
      rows, cols, static_cast<Index>(k), a0, static_cast<Index>(a_stride), b0, static_cast<Index>(b_stride),
      c + r0 * n + c0, Index{1}, static_cast<Index>(n), alpha, blocking, nullptr);
}

inline void gemm_general(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, float alpha,
                         const float* a, const float* b, float beta, float* c) {
  const gemm_blocking bl = blocking_for(m, n, k);
  const bool by_rows = m >= n;
  const std::size_t side = by_rows ? m : n;
  const std::size_t parts = std::clamp<std::size_t>(side / gemm_part, 1, gemm_parts);
  // Part p covers [side p / parts, side (p + 1) / parts), rounded to multiples of 8 (whole packets).
  auto bound = [&](std::size_t q) { return q >= parts ? side : side * q / parts / 8 * 8; };
  auto run = [&](std::size_t first, std::size_t last) {
    for (std::size_t q = first; q < last; ++q) {
      const std::size_t lo = bound(q), hi = bound(q + 1);
      if (lo >= hi) continue;
      const std::size_t r0 = by_rows ? lo : 0, r1 = by_rows ? hi : m, c0 = by_rows ? 0 : lo, c1 = by_rows ? n : hi;
      for (std::size_t i = r0; i < r1; ++i) {  // beta C on the part's rows
        float* row = c + i * n;
        if (beta == 0.0f) std::fill(row + c0, row + c1, 0.0f);
        else if (beta != 1.0f)
          for (std::size_t j = c0; j < c1; ++j) row[j] *= beta;
      }
      if (!trans_a && !trans_b)
        gebp_part<Eigen::RowMajor, Eigen::RowMajor>(n, k, alpha, a, k, b, n, c, r0, r1, c0, c1, bl);
      else if (trans_a && !trans_b)
        gebp_part<Eigen::ColMajor, Eigen::RowMajor>(n, k, alpha, a, m, b, n, c, r0, r1, c0, c1, bl);
      else if (!trans_a && trans_b)
        gebp_part<Eigen::RowMajor, Eigen::ColMajor>(n, k, alpha, a, k, b, k, c, r0, r1, c0, c1, bl);
      else
        gebp_part<Eigen::ColMajor, Eigen::ColMajor>(n, k, alpha, a, m, b, k, c, r0, r1, c0, c1, bl);
    }
  };
  const int threads = std::min<int>(
      static_cast<int>(parts),
      detail::threads_for(static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k), gemm_grain));
  if (threads <= 1) return run(0, parts);
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
  {
    const auto part = static_cast<std::size_t>(omp_get_thread_num()), team = static_cast<std::size_t>(omp_get_num_threads());
    const std::size_t first = parts * part / team, last = parts * (part + 1) / team;
    if (first < last) run(first, last);
  }
#endif
}

inline void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, float alpha,
                 const float* a, const float* b, float beta, float* c) {
  if (m == 0 || n == 0) return;
  if (k == 0) {  // C = beta C (an empty batch's weight gradient): no product to run
    for (std::size_t i = 0; i < m * n; ++i) c[i] = beta == 0.0f ? 0.0f : beta * c[i];
    return;
  }
  // Few outputs (skinny.hpp), by hand, for a batch of 32 here: 82-92 against 45-50 GFLOP/s (forward,
  // 32 x 10 x 784) and 100 against 62 (weight gradient, 10 x 784 x 32).
  if (n <= skinny_columns && !trans_a && trans_b && k >= lanes) return skinny_dot(m, n, k, alpha, a, b, beta, c);
  if (m <= skinny && trans_a && !trans_b && n >= lanes) return skinny_outer(m, n, k, alpha, a, b, beta, c);
  gemm_general(trans_a, trans_b, m, n, k, alpha, a, b, beta, c);
}

}  // namespace ctnn::backend::eigen_kernels
