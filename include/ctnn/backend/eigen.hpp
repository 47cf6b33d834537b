#pragma once
// The Eigen backend: float on the CPU. GEMM goes through Eigen's blocked kernels, except products with a
// small side (hand-written skinny kernels); 3x3 stride-1 convolutions are direct register-blocked kernels
// (others use host_ops' im2col). host_ops' loops are reused for the rest, split over threads when large.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <type_traits>

#include <Eigen/Core>

#include "../core/threads.hpp"
#include "backend.hpp"
#include "host_ops.hpp"

// The register-blocked loops must be unrolled for the accumulators to live in registers (-O2 does not
// unroll them by itself).
#if defined(__CUDACC__)  // nvcc's front end does not know GCC's pragma; host speed in .cu files is secondary
#define CTNN_UNROLL
#else
#define CTNN_UNROLL _Pragma("GCC unroll 16")
#endif

namespace ctnn::backend {

namespace eigen_detail {
// An Eigen expression of logistic() (see ops<eigen>::map).
template <class E>
inline constexpr bool is_logistic = false;
template <class Arg>
inline constexpr bool is_logistic<Eigen::CwiseUnaryOp<Eigen::internal::scalar_logistic_op<float>, Arg>> = true;
}  // namespace eigen_detail

template <>
struct ops<eigen> : host_ops<float> {
  // Eigen packs the panels of A and B it multiplies into temporaries: on the stack when one holds at
  // most EIGEN_STACK_ALLOCATION_LIMIT bytes, with malloc otherwise (e.g. a 90 x 784 im2col panel,
  // on every call). The product is therefore computed in tiles of C and slices of the depth small
  // enough for both panels to stay on the stack, so a training step never allocates.
  //
  // Threads: a product of at least `gemm_grain` multiply-adds per thread is split over threads by whole
  // tiles (column tiles, or row tiles when C is taller than wide), each computed by Eigen's kernel
  // single-threaded. The tiles do not depend on the thread count, so neither does the result: one and
  // two threads give the same bits (tests/parallel/test_threads.cpp).
  static constexpr double gemm_grain = 1 << 19;

  struct gemm_tiling {
    std::size_t kb, mb, nb;
  };
  static gemm_tiling tiling(std::size_t m, std::size_t n, std::size_t k) {
    // Each panel (kc x mc of A, kc x nc of B) must fit in Eigen's stack limit: a depth of at most 512
    // (about the depth of Eigen's own L1 blocks for float), then as many rows and columns as fit, at most
    // 256 so that a product has tiles to share between threads.
    constexpr std::size_t panel = EIGEN_STACK_ALLOCATION_LIMIT / sizeof(float);
    if constexpr (panel < 512) return {k, m, n};
    const std::size_t kb = std::min<std::size_t>(k, 512);
    return {kb, std::min({m, panel / kb, std::size_t{256}}), std::min({n, panel / kb, std::size_t{256}})};
  }

  static void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, float alpha,
                   const float* a, const float* b, float beta, float* c) {
    if (m == 0 || n == 0) return;
    if (k == 0) {  // C = beta C (an empty batch's weight gradient); tiling() would divide by a depth of 0
      for (std::size_t i = 0; i < m * n; ++i) c[i] = beta == 0.0f ? 0.0f : beta * c[i];
      return;
    }
    // A Linear layer with few outputs (Linear<784, 10>): its forward X W^T has few columns, its weight
    // gradient dY^T X few rows, and for both, packing panels for Eigen's kernel costs more than the
    // product. By hand, for a batch of 32 here: 82-92 against 45-50 GFLOP/s (forward, 32 x 10 x 784)
    // and 100 against 62 (weight gradient, 10 x 784 x 32).
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

  // C[r0..r1, c0..c1] = alpha op(A) op(B) + beta C (C is m x n, row-major), tile by tile.
  static void gemm_tiles(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, float alpha,
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

  // ---- elementwise work: split over threads when large (an item never depends on another) ----------
  // Values per thread, at least: a fork/join costs about as much as 8k ReLUs (a few microseconds).
  static constexpr double elementwise_grain = 1 << 13;

  template <class T>
  static void fill(T* x, std::size_t n, T v) {
    detail::parallel_chunks(n, elementwise_grain, 16, [&](std::size_t lo, std::size_t hi) { std::fill(x + lo, x + hi, v); });
  }
  // y[i] = expr(x[i]) in whole packets from x[0] (fixed-size maps, unaligned loads), the last n % lanes
  // values after. Not one Eigen expression over the whole buffer: Eigen starts its packets at the first
  // aligned address, and its vectorised exp/tanh round differently from the scalar ones, so the result
  // would depend on where the buffer happens to lie (and so on the thread count).
  template <class Expr>
  static void packetwise(std::size_t n, const float* x, float* y, Expr expr) {
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
  static auto accurate(const A& a, auto expression) {
    if constexpr (eigen_detail::is_logistic<decltype(expression(a))>) return (1.0f + (-a).exp()).inverse();
    else return expression(a);
  }

  template <class F>
  static void map(std::size_t n, const float* x, float* y, F f) {
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
  static void zip(std::size_t n, const float* a, const float* b, float* y, F f) {
    detail::parallel_chunks(n, elementwise_grain, 16, [&](std::size_t lo, std::size_t hi) {
      host_ops<float>::zip(hi - lo, a + lo, b + lo, y + lo, f);
    });
  }
  // grad_bias[c] += sum over o, i of dy[o, c, i], each row summed in packets from its first value. (Not
  // Eigen's .sum(): it starts its packets at the first aligned address, so the order of the additions,
  // and the last bit of the result, would depend on where the buffer happens to lie.)
  static void bias_grad(const float* dy, std::size_t outer, std::size_t channels, std::size_t inner, float* grad_bias) {
    if (inner < 16) return host_ops<float>::bias_grad(dy, outer, channels, inner, grad_bias);
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

  // ---- max pooling: planes split over threads; 2x2 windows of stride 2 without a scalar search -----
  static void maxpool_forward(const float* x, std::size_t planes, std::size_t H, std::size_t W, std::size_t K,
                              std::size_t stride, std::size_t pad, std::size_t Ho, std::size_t Wo, float* y,
                              std::int32_t* argmax) {
    // 2x2 windows of stride 2 without padding: Ho = floor(H / 2), Wo = floor(W / 2), and for an odd H or W
    // the last input row or column is in no window, so planes lie H * W apart, not 2 Ho * 2 Wo
    // (issue 9: MaxPool2d<2> on a 3x3 map read the second plane from the first one's last row).
    const bool two_by_two = K == 2 && stride == 2 && pad == 0 && Ho == H / 2 && Wo == W / 2;
    detail::parallel_chunks(planes, elementwise_grain / static_cast<double>(H * W), 1, [&](std::size_t lo, std::size_t hi) {
      if (two_by_two) return maxpool2x2(x + lo * H * W, hi - lo, H, W, Ho, Wo, y + lo * Ho * Wo, argmax + lo * Ho * Wo);
      host_ops<float>::maxpool_forward(x + lo * H * W, hi - lo, H, W, K, stride, pad, Ho, Wo, y + lo * Ho * Wo,
                                       argmax + lo * Ho * Wo);
    });
  }
  static void maxpool_backward(const float* dy, const std::int32_t* argmax, std::size_t planes, std::size_t in_plane,
                               std::size_t out_plane, float* dx) {
    detail::parallel_chunks(planes, elementwise_grain / static_cast<double>(in_plane), 1, [&](std::size_t lo, std::size_t hi) {
      host_ops<float>::maxpool_backward(dy + lo * out_plane, argmax + lo * out_plane, hi - lo, in_plane, out_plane,
                                        dx + lo * in_plane);
    });
  }

  // Cross-entropy from logits: each row's exp(x - max) computed once, by one vectorised exp over the whole
  // block (the loss needs their sum, the gradient the values), instead of two scalar std::exp per value.
  // Rows with an infinite or NaN maximum take host_ops' path, which handles them.
  static double cross_entropy(const float* logits, const std::int64_t* labels, std::size_t rows, std::size_t cols,
                              float* grad, float grad_scale) {
    const std::size_t n = rows * cols;
    for (std::size_t r = 0; r < rows; ++r) {
      const float* xr = logits + r * cols;
      const float mx = *std::max_element(xr, xr + cols);
      if (!std::isfinite(mx)) return host_ops<float>::cross_entropy(logits, labels, rows, cols, grad, grad_scale);
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

  // Dropout masks: the counter-based stream makes each value a function of its index, so the parts can
  // be drawn by different threads and the mask is the one host_ops draws.
  static void fill_bernoulli(float* x, std::size_t n, double keep, float value, Generator& g) {
    const std::uint64_t seed = g.seed(), first = g.advance(n);
    detail::parallel_chunks(n, elementwise_grain, 16, [&](std::size_t lo, std::size_t hi) {
      for (std::size_t i = lo; i < hi; ++i) x[i] = rng::uniform(seed, first + i) < keep ? value : 0.0f;
    });
  }

  // ---- optimizer updates: host_ops' formulas as Eigen array expressions (vectorised, sqrt included) --
  static void sgd_update(std::size_t n, float* param, const float* grad, float* momentum_buffer, float lr,
                         float momentum, float dampening, float weight_decay, bool nesterov, bool first_step) {
    detail::parallel_chunks(n, elementwise_grain, 16, [&](std::size_t lo, std::size_t hi) {
      sgd_range(hi - lo, param + lo, grad + lo, momentum_buffer ? momentum_buffer + lo : nullptr, lr, momentum,
                dampening, weight_decay, nesterov, first_step);
    });
  }
  static void adam_update(std::size_t n, float* param, const float* grad, float* m, float* v, float beta1, float beta2,
                          float eps, float weight_decay, float step_size, float bias_correction2_sqrt) {
    detail::parallel_chunks(n, elementwise_grain, 16, [&](std::size_t lo, std::size_t hi) {
      adam_range(hi - lo, param + lo, grad + lo, m + lo, v + lo, beta1, beta2, eps, weight_decay, step_size,
                 bias_correction2_sqrt);
    });
  }

 private:
  // The optimizer formulas on N values at `i` (N = lanes: one packet; N = 1: the tail), as fixed-size
  // Eigen arrays. Not one expression over a Map<ArrayXf> of the whole part: Eigen would start its packets
  // at the first aligned address and do the values before it (and the last ones) in scalar code that the
  // compiler contracts to FMAs, so the bits of a value would depend on where the buffer lies and where a
  // thread's part starts (issue 9: adam_update differed on 1 and 2 threads at n = 16399, value 8194).
  // Here every value is done by the packet code except the last n % lanes of the buffer, whatever the
  // split (parts start at multiples of 16).
  template <class Block>
  static void packet_blocks(std::size_t n, Block block) {
    std::size_t i = 0;
    for (; i + lanes <= n; i += lanes) block(std::integral_constant<int, static_cast<int>(lanes)>{}, i);
    for (; i < n; ++i) block(std::integral_constant<int, 1>{}, i);
  }
  static void sgd_range(std::size_t n, float* param, const float* grad, float* momentum_buffer, float lr,
                        float momentum, float dampening, float weight_decay, bool nesterov, bool first_step) {
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
  static void adam_range(std::size_t n, float* param, const float* grad, float* m, float* v, float beta1, float beta2,
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

  // Calls f(std::integral_constant<int, N>{}) with N == n, for 1 <= n <= Max: a run-time count (of output
  // channels, rows, columns) as the template argument that sizes a register block.
  template <int Max, int N = 1, class F>
  static void with_count(std::size_t n, F&& f) {
    if constexpr (N < Max) {
      if (n != static_cast<std::size_t>(N)) return with_count<Max, N + 1>(n, f);
    }
    f(std::integral_constant<int, N>{});
  }

  // ---- products whose C has few columns (at most `skinny_columns`) or rows (at most `skinny`) ------
  static constexpr std::size_t skinny_columns = 12, skinny = 16;

  // C[m, n] = alpha A[m, k] B[n, k]^T + beta C for N = n <= 12 columns: one row of A against every row of
  // B, N accumulators (with the A and B packets, at most 14 of the 16 AVX registers); each C value sums
  // its k products in packets along k, then across the packet and the last k % lanes (a fixed order).
  template <int N>
  static void skinny_dot_rows(std::size_t rows, std::size_t k, float alpha, const float* a, const float* b, float beta,
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
  static void skinny_dot(std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a, const float* b,
                         float beta, float* c) {
    detail::parallel_chunks(m, gemm_grain / static_cast<double>(n * k), 1, [&](std::size_t lo, std::size_t hi) {
      with_count<static_cast<int>(skinny_columns)>(
          n, [&](auto N) { skinny_dot_rows<N()>(hi - lo, k, alpha, a + lo * k, b, beta, c + lo * n); });
    });
  }

  // C[m, n] = alpha A[k, m]^T B[k, n] + beta C with m <= 16 (a weight gradient dY^T X of a layer with few
  // outputs): M rows of C by Q packets of columns at a time, the k rank-1 updates in order.
  template <int M, int Q>
  static void skinny_outer_block(std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a,
                                 const float* b, float beta, float* c) {
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
  static void skinny_outer_rows(std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a,
                                const float* b, float beta, float* c, std::size_t i0, std::size_t j0, std::size_t j1) {
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
  static void skinny_outer(std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a, const float* b,
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

  // 2x2 windows, stride 2, no padding, over `planes` planes of H x W (H >= 2 Ho, W >= 2 Wo: an odd last row
  // or column is in no window): PyTorch's scan order (row by row, the first maximum wins, a NaN wins over
  // every number and the first NaN over later ones), written as selects so that the loop vectorises.
  static void maxpool2x2(const float* x, std::size_t planes, std::size_t H, std::size_t W, std::size_t Ho,
                         std::size_t Wo, float* y, std::int32_t* argmax) {
    for (std::size_t p = 0; p < planes; ++p)
      for (std::size_t oh = 0; oh < Ho; ++oh) {
        const float* r0 = x + (p * H + 2 * oh) * W;
        const float* r1 = r0 + W;
        float* yr = y + (p * Ho + oh) * Wo;
        std::int32_t* ar = argmax + (p * Ho + oh) * Wo;
        const auto base = static_cast<std::int32_t>(2 * oh * W), below = static_cast<std::int32_t>(W);
        for (std::size_t ow = 0; ow < Wo; ++ow) {
          const auto col = static_cast<std::int32_t>(2 * ow);
          float best = r0[2 * ow];
          std::int32_t at = base + col;
          auto consider = [&](float v, std::int32_t where) {
            const bool take = v > best || (v != v && best == best);
            best = take ? v : best;
            at = take ? where : at;
          };
          consider(r0[2 * ow + 1], base + col + 1);
          consider(r1[2 * ow], base + below + col);
          consider(r1[2 * ow + 1], base + below + col + 1);
          yr[ow] = best;
          ar[ow] = at;
        }
      }
  }

 public:

  using packet = Eigen::internal::packet_traits<float>::type;
  static constexpr std::size_t lanes = static_cast<std::size_t>(Eigen::internal::packet_traits<float>::size);

  struct conv3_layout {
    std::size_t wpo;    // output row length rounded up to whole packets
    std::size_t wx;     // padded input row: wpo + 2
    std::size_t hp;     // padded input rows: H + 2 pad
    std::size_t wxd;    // padded output-gradient row for the input gradient: round_up(W) + 2
    std::size_t hd;     // its rows: Ho + 2 (2 - pad)
    std::size_t input, dy_rows, dy_full, weights;  // sizes of the four workspace parts
  };
  static bool direct_conv3(const conv_geometry& g) { return g.K == 3 && g.stride == 1 && g.pad <= 2; }
  static constexpr std::size_t round_up(std::size_t v) { return (v + lanes - 1) / lanes * lanes; }
  static conv3_layout layout3(const conv_geometry& g, std::size_t n) {
    conv3_layout l{};
    l.wpo = round_up(g.Wo);
    l.wx = l.wpo + 2;
    l.hp = g.H + 2 * g.pad;
    l.wxd = round_up(g.W) + 2;
    l.hd = g.Ho + 2 * (2 - g.pad);
    l.input = n * g.C * l.hp * l.wx;
    l.dy_rows = n * g.OC * g.Ho * l.wpo;
    l.dy_full = n * g.OC * l.hd * l.wxd;
    l.weights = g.OC * g.C * 9;
    return l;
  }

  // Other convolutions: host_ops' im2col + GEMM sample by sample, but through this backend's GEMM (a
  // static call inside host_ops would run host_ops' own triple loop, which sums each dot product of a
  // weight gradient, Ho * Wo products per sample, in one float accumulator: its error grows like
  // sqrt(k) u where Eigen's kernel, summing in slices of the depth, stays near u; e.g. 5x5 kernels on
  // 32 x 32 inputs: k = 784, 1.4e-7 against 8.4e-8 rms of the scale, 2.9e-6 against 3.8e-7 largest at
  // k = 12544). Samples in order: the result does not depend on the thread count.
  static void im2col_conv2d_forward(const conv_geometry& g, std::size_t n, const float* x, const float* weight,
                                    const float* bias, float* y, float* workspace) {
    const std::size_t patch = g.C * g.K * g.K, positions = g.Ho * g.Wo;
    for (std::size_t i = 0; i < n; ++i) {
      im2col(x + i * g.C * g.H * g.W, g.C, g.H, g.W, g.K, g.stride, g.pad, g.Ho, g.Wo, workspace);
      gemm(false, false, g.OC, positions, patch, 1.0f, weight, workspace, 0.0f, y + i * g.OC * positions);
    }
    add_bias(y, bias, n, g.OC, positions);
  }
  static void im2col_conv2d_backward(const conv_geometry& g, std::size_t n, const float* x, const float* dy,
                                     const float* weight, float* dx, float* grad_weight, float* grad_bias,
                                     float* workspace) {
    const std::size_t patch = g.C * g.K * g.K, positions = g.Ho * g.Wo, in_size = g.C * g.H * g.W;
    for (std::size_t i = 0; i < n; ++i) {
      const float* dy_i = dy + i * g.OC * positions;
      im2col(x + i * in_size, g.C, g.H, g.W, g.K, g.stride, g.pad, g.Ho, g.Wo, workspace);
      gemm(false, true, g.OC, patch, positions, 1.0f, dy_i, workspace, 1.0f, grad_weight);
      if (!dx) continue;
      gemm(true, false, patch, positions, g.OC, 1.0f, weight, dy_i, 0.0f, workspace);
      std::fill_n(dx + i * in_size, in_size, 0.0f);
      col2im(workspace, g.C, g.H, g.W, g.K, g.stride, g.pad, g.Ho, g.Wo, dx + i * in_size);
    }
    bias_grad(dy, n, g.OC, positions, grad_bias);
  }

  static std::size_t conv2d_workspace(const conv_geometry& g, std::size_t n) {
    if (!direct_conv3(g)) return host_ops<float>::conv2d_workspace(g, n);
    const conv3_layout l = layout3(g, n);
    return l.input + l.dy_rows + l.dy_full + l.weights;
  }

  static void conv2d_forward(const conv_geometry& g, std::size_t n, const float* x, const float* weight,
                             const float* bias, float* y, float* workspace) {
    if (!direct_conv3(g)) return im2col_conv2d_forward(g, n, x, weight, bias, y, workspace);
    const conv3_layout l = layout3(g, n);
    const std::size_t in_plane = l.hp * l.wx, out_size = g.OC * g.Ho * g.Wo;
    const auto count = static_cast<std::ptrdiff_t>(n);
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (n > 1)
#endif
    for (std::ptrdiff_t s = 0; s < count; ++s) {
      const auto i = static_cast<std::size_t>(s);
      float* xp = workspace + i * g.C * in_plane;
      pad_planes(x + i * g.C * g.H * g.W, g.C, g.H, g.W, g.pad, xp, l.hp, l.wx);
      conv3_sample(xp, g.C, in_plane, l.wx, weight, g.OC, g.Ho, g.Wo, l.wpo, bias, y + i * out_size);
    }
  }

  static void conv2d_backward(const conv_geometry& g, std::size_t n, const float* x, const float* dy,
                              const float* weight, float* dx, float* grad_weight, float* grad_bias, float* workspace) {
    if (!direct_conv3(g)) return im2col_conv2d_backward(g, n, x, dy, weight, dx, grad_weight, grad_bias, workspace);
    const conv3_layout l = layout3(g, n);
    const float* xp = workspace;  // the padded input the forward left
    float* dyr = workspace + l.input;
    float* dyp = dyr + l.dy_rows;
    float* wt = dyp + l.dy_full;
    const std::size_t in_plane = l.hp * l.wx, out_plane = g.Ho * g.Wo, dyp_plane = l.hd * l.wxd;
    const std::size_t edge = 2 - g.pad;
    // Transposed, flipped weights: wt[c][o][a][b] = w[o][c][2 - a][2 - b].
    for (std::size_t o = 0; o < g.OC; ++o)
      for (std::size_t c = 0; c < g.C; ++c)
        for (std::size_t t = 0; t < 9; ++t) wt[(c * g.OC + o) * 9 + 8 - t] = weight[(o * g.C + c) * 9 + t];
    const auto count = static_cast<std::ptrdiff_t>(n);
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (n > 1)
#endif
    for (std::ptrdiff_t s = 0; s < count; ++s) {
      const auto i = static_cast<std::size_t>(s);
      const float* dy_i = dy + i * g.OC * out_plane;
      pad_planes(dy_i, g.OC, g.Ho, g.Wo, 0, dyr + i * g.OC * g.Ho * l.wpo, g.Ho, l.wpo);
      if (dx) pad_planes(dy_i, g.OC, g.Ho, g.Wo, edge, dyp + i * g.OC * dyp_plane, l.hd, l.wxd);
    }
    // Weight gradient: one task per (block of up to 4 output channels, input channel, kernel row). Tasks
    // differ in size (the last block may be smaller), so they are handed out dynamically; each sums over
    // the whole batch in order, so the result does not depend on which thread ran it.
    const std::size_t blocks = (g.OC + 3) / 4, tasks = blocks * g.C * 3;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic) if (n > 1)
#endif
    for (std::ptrdiff_t t = 0; t < static_cast<std::ptrdiff_t>(tasks); ++t) {
      const auto task = static_cast<std::size_t>(t);
      const std::size_t ki = task % 3, c = task / 3 % g.C, o0 = task / 3 / g.C * 4;
      const std::size_t ob = std::min<std::size_t>(4, g.OC - o0);
      const float* xs = xp + c * in_plane + ki * l.wx;
      const float* ds = dyr + o0 * g.Ho * l.wpo;
      float* dw = grad_weight + (o0 * g.C + c) * 9 + ki * 3;
      const std::size_t x_sample = g.C * in_plane, d_sample = g.OC * g.Ho * l.wpo, d_plane = g.Ho * l.wpo;
      with_count<4>(ob, [&](auto OB) {
        conv3_wgrad<OB()>(xs, x_sample, l.wx, ds, d_sample, d_plane, l.wpo, n, g.Ho, dw, g.C * 9);
      });
    }
    bias_grad(dy, n, g.OC, out_plane, grad_bias);
    if (!dx) return;
    // Input gradient: the forward kernel on the padded output gradient, C and OC swapped.
    const std::size_t wpo_dx = round_up(g.W);
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (n > 1)
#endif
    for (std::ptrdiff_t s = 0; s < count; ++s) {
      const auto i = static_cast<std::size_t>(s);
      conv3_sample(dyp + i * g.OC * dyp_plane, g.OC, dyp_plane, l.wxd, wt, g.C, g.H, g.W, wpo_dx, nullptr,
                   dx + i * g.C * g.H * g.W);
    }
  }

 private:
  // dst[p] = src[p] placed at (pad, pad) in planes of hd x wd zeros.
  // Only the border is zeroed (the interior is overwritten), and by plain loops: the rows are a few
  // dozen values, too short for a call to memset/memcpy to pay.
  static void pad_planes(const float* src, std::size_t planes, std::size_t h, std::size_t w, std::size_t pad,
                         float* dst, std::size_t hd, std::size_t wd) {
    for (std::size_t p = 0; p < planes; ++p) {
      float* d = dst + p * hd * wd;
      for (std::size_t i = 0; i < pad * wd; ++i) d[i] = 0.0f;
      for (std::size_t r = 0; r < h; ++r) {
        float* row = d + (r + pad) * wd;
        const float* s = src + (p * h + r) * w;
        for (std::size_t i = 0; i < pad; ++i) row[i] = 0.0f;
        CTNN_IVDEP
        for (std::size_t i = 0; i < w; ++i) row[pad + i] = s[i];
        for (std::size_t i = pad + w; i < wd; ++i) row[i] = 0.0f;
      }
      for (std::size_t i = (h + pad) * wd; i < hd * wd; ++i) d[i] = 0.0f;
    }
  }

  // y[o][r][col] (+ bias[o]) for OB output channels from o (weights w[o][c][3][3]), rows 0..ho and columns
  // j0 .. j0 + NC packets: sum over c, a, b of w[o][c][a][b] * xp[c][r + a][col + b].
  template <int OB, int NC>
  static void conv3_block(const float* xp, std::size_t C, std::size_t plane, std::size_t wx, const float* w,
                          std::size_t ho, std::size_t wo, std::size_t j0, const float* bias, float* y) {
    using namespace Eigen::internal;
    const std::size_t w_stride = C * 9, y_plane = ho * wo;
    for (std::size_t r = 0; r < ho; ++r) {
      packet acc[OB][NC];
      CTNN_UNROLL
      for (int o = 0; o < OB; ++o)
        CTNN_UNROLL
        for (int q = 0; q < NC; ++q) acc[o][q] = pset1<packet>(0.0f);
      for (std::size_t c = 0; c < C; ++c) {
        const float* xr = xp + c * plane + r * wx + j0;
        const float* wc = w + c * 9;
        CTNN_UNROLL
        for (std::size_t a = 0; a < 3; ++a)
          CTNN_UNROLL
          for (std::size_t b = 0; b < 3; ++b) {
            packet xv[NC];
            CTNN_UNROLL
            for (int q = 0; q < NC; ++q) xv[q] = ploadu<packet>(xr + a * wx + b + static_cast<std::size_t>(q) * lanes);
            CTNN_UNROLL
            for (int o = 0; o < OB; ++o) {
              const packet wv = pset1<packet>(wc[static_cast<std::size_t>(o) * w_stride + a * 3 + b]);
              CTNN_UNROLL
              for (int q = 0; q < NC; ++q) acc[o][q] = pmadd(wv, xv[q], acc[o][q]);
            }
          }
      }
      CTNN_UNROLL
      for (int o = 0; o < OB; ++o) {
        const packet bv = pset1<packet>(bias ? bias[o] : 0.0f);
        CTNN_UNROLL
        for (int q = 0; q < NC; ++q) {
          const std::size_t col = j0 + static_cast<std::size_t>(q) * lanes;
          if (col >= wo) break;
          float* dst = y + static_cast<std::size_t>(o) * y_plane + r * wo + col;
          const packet v = padd(acc[o][q], bv);
          if (col + lanes <= wo) {
            pstoreu(dst, v);
          } else {
            alignas(64) float tmp[lanes];
            pstoreu(tmp, v);
            std::copy_n(tmp, wo - col, dst);
          }
        }
      }
    }
  }
  template <int NC>
  static void conv3_columns(const float* xp, std::size_t C, std::size_t plane, std::size_t wx, const float* w,
                            std::size_t OC, std::size_t ho, std::size_t wo, std::size_t j0, const float* bias,
                            float* y) {
    constexpr std::size_t max_ob = NC == 1 ? 8 : 5;
    for (std::size_t o = 0; o < OC; o += max_ob) {
      const std::size_t ob = std::min(max_ob, OC - o);
      const float* wo_ = w + o * C * 9;
      const float* bo = bias ? bias + o : nullptr;
      float* yo = y + o * ho * wo;
      with_count<static_cast<int>(max_ob)>(
          ob, [&](auto OB) { conv3_block<OB(), NC>(xp, C, plane, wx, wo_, ho, wo, j0, bo, yo); });
    }
  }
  // One sample: y [OC, ho, wo] from the padded planes xp [C][.. x wx]; wpo = wo rounded up to packets.
  static void conv3_sample(const float* xp, std::size_t C, std::size_t plane, std::size_t wx, const float* w,
                           std::size_t OC, std::size_t ho, std::size_t wo, std::size_t wpo, const float* bias,
                           float* y) {
    std::size_t j = 0;
    for (; j + 2 * lanes <= wpo; j += 2 * lanes) conv3_columns<2>(xp, C, plane, wx, w, OC, ho, wo, j, bias, y);
    for (; j < wpo; j += lanes) conv3_columns<1>(xp, C, plane, wx, w, OC, ho, wo, j, bias, y);
  }

  // dw[o][0..3] += sum over samples, rows and columns of dy[o][r][col] * xs[r][col + b], for OB output
  // channels (dw rows o apart by dw_stride); xs is one input channel's padded plane at kernel row a.
  // Each sample is summed in packets on its own, and the samples' sums are added in double: one set of
  // accumulators over the whole batch would sum n Ho Wo / lanes products per lane in float, an error
  // growing like sqrt(n) (rms 4.9e-7 of the scale for 64 samples of 28 x 28, against 1.1e-7 for one).
  template <int OB>
  static void conv3_wgrad(const float* xs, std::size_t x_sample, std::size_t wx, const float* ds, std::size_t d_sample,
                          std::size_t d_plane, std::size_t wpo, std::size_t n, std::size_t ho, float* dw,
                          std::size_t dw_stride) {
    using namespace Eigen::internal;
    double total[OB][3] = {};
    for (std::size_t i = 0; i < n; ++i) {
      packet acc[OB][3];
      CTNN_UNROLL
      for (int o = 0; o < OB; ++o)
        CTNN_UNROLL
        for (int b = 0; b < 3; ++b) acc[o][b] = pset1<packet>(0.0f);
      for (std::size_t r = 0; r < ho; ++r) {
        const float* xr = xs + i * x_sample + r * wx;
        const float* dr = ds + i * d_sample + r * wpo;
        for (std::size_t col = 0; col < wpo; col += lanes) {
          const packet x0 = ploadu<packet>(xr + col), x1 = ploadu<packet>(xr + col + 1),
                       x2 = ploadu<packet>(xr + col + 2);
          CTNN_UNROLL
          for (int o = 0; o < OB; ++o) {
            const packet d = ploadu<packet>(dr + static_cast<std::size_t>(o) * d_plane + col);
            acc[o][0] = pmadd(d, x0, acc[o][0]);
            acc[o][1] = pmadd(d, x1, acc[o][1]);
            acc[o][2] = pmadd(d, x2, acc[o][2]);
          }
        }
      }
      CTNN_UNROLL
      for (int o = 0; o < OB; ++o)
        CTNN_UNROLL
        for (int b = 0; b < 3; ++b) total[o][b] += static_cast<double>(predux(acc[o][b]));
    }
    CTNN_UNROLL
    for (int o = 0; o < OB; ++o)
      CTNN_UNROLL
      for (int b = 0; b < 3; ++b) {
        float& out = dw[static_cast<std::size_t>(o) * dw_stride + static_cast<std::size_t>(b)];
        out = static_cast<float>(static_cast<double>(out) + total[o][b]);
      }
  }
#undef CTNN_UNROLL
};

}  // namespace ctnn::backend
