#pragma once
// Products with a small side, by hand: a Linear layer with few outputs (Linear<784, 10>) has a forward
// X W^T with few columns and a weight gradient dY^T X with few rows, and for both, packing panels for
// Eigen's GEMM kernel costs more than the product (gemm.hpp chooses these).
#include <algorithm>
#include <cstddef>

#include <Eigen/Core>

#include "../../core/threads.hpp"
#include "packet.hpp"
#include "work_split.hpp"

namespace ctnn::backend::eigen_kernels {

// The largest C these kernels take: at most `skinny_columns` columns (skinny_dot) or `skinny` rows
// (skinny_outer).
inline constexpr std::size_t skinny_columns = 12, skinny = 16;

// C[m, n] = alpha A[m, k] B[n, k]^T + beta C for N = n <= 12 columns: one row of A against every row of
// B, N accumulators (with the A and B packets, at most 14 of the 16 AVX registers); each C value sums
// its k products in packets along k, then across the packet and the last k % lanes (a fixed order).
template <int N>
void skinny_dot_rows(std::size_t rows, std::size_t k, float alpha, const float* a, const float* b, float beta,
                     float* c) {
  using namespace Eigen::internal;
  const std::size_t whole = k / lanes * lanes;
  for (std::size_t i = 0; i < rows; ++i) {
    const float* ai = a + i * k;
    packet acc[N];
    CTNN_UNROLL
    for (int q = 0; q < N; ++q) acc[q] = pset1<packet>(0.0f);
    for (std::size_t p = 0; p < whole; p += lanes) {
      const packet av = ploadu<packet>(ai + p);
      CTNN_UNROLL
      for (int q = 0; q < N; ++q) acc[q] = pmadd(av, ploadu<packet>(b + static_cast<std::size_t>(q) * k + p), acc[q]);
    }
    CTNN_UNROLL
    for (int q = 0; q < N; ++q) {
      const float* bq = b + static_cast<std::size_t>(q) * k;
      float sum = predux(acc[q]);
      for (std::size_t p = whole; p < k; ++p) sum += ai[p] * bq[p];
      float& out = c[i * N + static_cast<std::size_t>(q)];
      out = beta == 0.0f ? alpha * sum : beta * out + alpha * sum;
    }
  }
}
inline void skinny_dot(std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a, const float* b,
                       float beta, float* c) {
  detail::parallel_chunks(m, gemm_grain / static_cast<double>(n * k), 1, [&](std::size_t lo, std::size_t hi) {
    with_count<static_cast<int>(skinny_columns)>(
        n, [&](auto N) { skinny_dot_rows<N()>(hi - lo, k, alpha, a + lo * k, b, beta, c + lo * n); });
  });
}

// C[m, n] = alpha A[k, m]^T B[k, n] + beta C with m <= 16 (a weight gradient dY^T X of a layer with few
// outputs): M rows of C by Q packets of columns at a time, the k rank-1 updates in order.
template <int M, int Q>
void skinny_outer_block(std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a, const float* b,
                        float beta, float* c) {
  using namespace Eigen::internal;
  packet acc[M][Q];
  CTNN_UNROLL
  for (int r = 0; r < M; ++r)
    CTNN_UNROLL
    for (int q = 0; q < Q; ++q) acc[r][q] = pset1<packet>(0.0f);
  for (std::size_t p = 0; p < k; ++p) {
    packet bv[Q];
    CTNN_UNROLL
    for (int q = 0; q < Q; ++q) bv[q] = ploadu<packet>(b + p * n + static_cast<std::size_t>(q) * lanes);
    CTNN_UNROLL
    for (int r = 0; r < M; ++r) {
      const packet av = pset1<packet>(a[p * m + static_cast<std::size_t>(r)]);
      CTNN_UNROLL
      for (int q = 0; q < Q; ++q) acc[r][q] = pmadd(av, bv[q], acc[r][q]);
    }
  }
  const packet alpha_v = pset1<packet>(alpha), beta_v = pset1<packet>(beta);
  CTNN_UNROLL
  for (int r = 0; r < M; ++r)
    CTNN_UNROLL
    for (int q = 0; q < Q; ++q) {
      float* out = c + static_cast<std::size_t>(r) * n + static_cast<std::size_t>(q) * lanes;
      const packet scaled = pmul(alpha_v, acc[r][q]);
      pstoreu(out, beta == 0.0f ? scaled : pmadd(beta_v, ploadu<packet>(out), scaled));
    }
}
template <int M>
void skinny_outer_rows(std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a, const float* b,
                       float beta, float* c, std::size_t i0, std::size_t j0, std::size_t j1) {
  std::size_t j = j0;
  for (; j + 2 * lanes <= j1; j += 2 * lanes) skinny_outer_block<M, 2>(m, n, k, alpha, a + i0, b + j, beta, c + i0 * n + j);
  for (; j + lanes <= j1; j += lanes) skinny_outer_block<M, 1>(m, n, k, alpha, a + i0, b + j, beta, c + i0 * n + j);
  for (; j < j1; ++j)  // the last columns, one at a time
    for (int r = 0; r < M; ++r) {
      const std::size_t i = i0 + static_cast<std::size_t>(r);
      float sum = 0.0f;
      for (std::size_t p = 0; p < k; ++p) sum += a[p * m + i] * b[p * n + j];
      float& out = c[i * n + j];
      out = beta == 0.0f ? alpha * sum : beta * out + alpha * sum;
    }
}
inline void skinny_outer(std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a, const float* b,
                         float beta, float* c) {
  const std::size_t groups = (m + 7) / 8;
  const std::size_t packets = (n + lanes - 1) / lanes;
  detail::parallel_chunks(packets, gemm_grain / static_cast<double>(m * k * lanes), 1, [&](std::size_t lo, std::size_t hi) {
    const std::size_t j0 = lo * lanes, j1 = std::min(n, hi * lanes);
    for (std::size_t g = 0, i = 0; g < groups; ++g) {
      const std::size_t rows = (m - i) / (groups - g);  // near-equal groups of at most 8 rows
      with_count<8>(rows, [&](auto M) { skinny_outer_rows<M()>(m, n, k, alpha, a, b, beta, c, i, j0, j1); });
      i += rows;
    }
  });
}

}  // namespace ctnn::backend::eigen_kernels
