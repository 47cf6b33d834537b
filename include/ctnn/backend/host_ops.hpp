#pragma once
// The op set (op_set.hpp) in plain loops over host memory, for any scalar. The reference backend is
// exactly this; the Eigen backend inherits it and replaces the hot operations.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "../core/error.hpp"
#include "backend.hpp"
#include "../core/random.hpp"

// No dependence between the iterations of the next loop (lets the compiler vectorise without checks).
// g++ only: clang's nearest spelling, `clang loop vectorize(enable)`, forces vectorisation and turns every
// loop it cannot vectorise (a functor calling std::log) into a -Wpass-failed error; clang vectorises these
// fixed-length loops on its own, with a runtime overlap check.
#if defined(__clang__)
#define CTNN_IVDEP
#elif defined(__GNUC__)
#define CTNN_IVDEP _Pragma("GCC ivdep")
#else
#define CTNN_IVDEP
#endif

namespace ctnn::backend {

// Owning host memory that only grows: resizing to a smaller batch keeps the allocation, so a
// training loop allocates during its first step and never again.
template <class T>
class host_buffer {
 public:
  host_buffer() = default;
  explicit host_buffer(std::size_t n) : data_(n) {}
  void resize(std::size_t n) { data_.resize(n); }
  std::size_t size() const { return data_.size(); }
  T* data() { return data_.data(); }
  const T* data() const { return data_.data(); }

 private:
  std::vector<T> data_;
};

template <class S>
struct host_ops {
  using scalar = S;
  template <class T>
  using buffer = host_buffer<T>;

  // ---- storage -------------------------------------------------------------------------------
  template <class T>
  static void fill(std::size_t n, T* x, T v) { std::fill_n(x, n, v); }
  template <class T>
  static void copy(std::size_t n, const T* src, T* dst) { if (n) std::memmove(dst, src, n * sizeof(T)); }
  template <class T>
  static void to_host(std::size_t n, const T* src, T* host_dst) { copy(n, src, host_dst); }
  template <class T>
  static void from_host(std::size_t n, const T* host_src, T* dst) { copy(n, host_src, dst); }

  // ---- GEMM: C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C, all row-major and packed ------
  static void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, S alpha,
                   const S* a, const S* b, S beta, S* c) {
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        S acc = 0;
        for (std::size_t p = 0; p < k; ++p) {
          const S av = trans_a ? a[p * m + i] : a[i * k + p];
          const S bv = trans_b ? b[j * k + p] : b[p * n + j];
          acc += av * bv;
        }
        c[i * n + j] = alpha * acc + (beta == S(0) ? S(0) : beta * c[i * n + j]);
      }
  }

  // ---- elementwise ---------------------------------------------------------------------------
  // In blocks of 16 with no dependence between iterations (in place is allowed): g++ -O2 vectorises only
  // loops whose vector code replaces the scalar loop entirely, which a fixed-length block does.
  static constexpr std::size_t simd_block = 16;
  template <class F>
  static void map(std::size_t n, const S* x, S* y, F f) {
    std::size_t i = 0;
    for (; i + simd_block <= n; i += simd_block) {
      CTNN_IVDEP
      for (std::size_t j = 0; j < simd_block; ++j) y[i + j] = f(x[i + j]);
    }
    for (; i < n; ++i) y[i] = f(x[i]);
  }
  template <class F>
  static void zip(std::size_t n, const S* a, const S* b, S* y, F f) {
    std::size_t i = 0;
    for (; i + simd_block <= n; i += simd_block) {
      CTNN_IVDEP
      for (std::size_t j = 0; j < simd_block; ++j) y[i + j] = f(a[i + j], b[i + j]);
    }
    for (; i < n; ++i) y[i] = f(a[i], b[i]);
  }

  // ---- reductions ----------------------------------------------------------------------------
  static double sum(std::size_t n, const S* x) {
    double acc = 0;
    for (std::size_t i = 0; i < n; ++i) acc += x[i];
    return acc;
  }

  // y[o, c, i] += bias[c]   (outer = batch, channels, inner = spatial positions)
  static void add_bias(std::size_t outer, std::size_t channels, std::size_t inner, const S* bias, S* y) {
    for (std::size_t o = 0; o < outer; ++o)
      for (std::size_t c = 0; c < channels; ++c) {
        S* row = y + (o * channels + c) * inner;
        for (std::size_t i = 0; i < inner; ++i) row[i] += bias[c];
      }
  }
  // grad_bias[c] += sum over o, i of dy[o, c, i]
  static void bias_grad(std::size_t outer, std::size_t channels, std::size_t inner, const S* dy, S* grad_bias) {
    for (std::size_t o = 0; o < outer; ++o)
      for (std::size_t c = 0; c < channels; ++c) {
        const S* row = dy + (o * channels + c) * inner;
        S acc = 0;
        for (std::size_t i = 0; i < inner; ++i) acc += row[i];
        grad_bias[c] += acc;
      }
  }

  static void softmax_rows(std::size_t rows, std::size_t cols, const S* x, S* y) {
    for (std::size_t r = 0; r < rows; ++r) {
      const S* xr = x + r * cols;
      S* yr = y + r * cols;
      const S mx = *std::max_element(xr, xr + cols);
      S total = 0;
      for (std::size_t c = 0; c < cols; ++c) total += (yr[c] = std::exp(xr[c] - mx));
      for (std::size_t c = 0; c < cols; ++c) yr[c] /= total;
    }
  }
  static void log_softmax_rows(std::size_t rows, std::size_t cols, const S* x, S* y) {
    for (std::size_t r = 0; r < rows; ++r) {
      const S* xr = x + r * cols;
      S* yr = y + r * cols;
      const S lse = log_sum_exp(xr, cols);
      for (std::size_t c = 0; c < cols; ++c) yr[c] = xr[c] - lse;
    }
  }
  // dx = y * (dy - sum(dy * y)) per row
  static void softmax_backward(std::size_t rows, std::size_t cols, const S* y, const S* dy, S* dx) {
    for (std::size_t r = 0; r < rows; ++r) {
      const std::size_t o = r * cols;
      S dot = 0;
      for (std::size_t c = 0; c < cols; ++c) dot += dy[o + c] * y[o + c];
      for (std::size_t c = 0; c < cols; ++c) dx[o + c] = y[o + c] * (dy[o + c] - dot);
    }
  }
  // dx = dy - exp(y) * sum(dy) per row (y is the log-softmax output)
  static void log_softmax_backward(std::size_t rows, std::size_t cols, const S* y, const S* dy, S* dx) {
    for (std::size_t r = 0; r < rows; ++r) {
      const std::size_t o = r * cols;
      S total = 0;
      for (std::size_t c = 0; c < cols; ++c) total += dy[o + c];
      for (std::size_t c = 0; c < cols; ++c) dx[o + c] = dy[o + c] - std::exp(y[o + c]) * total;
    }
  }

  // Cross-entropy of logits against class indices, fused with its gradient:
  // returns sum_r -log softmax(x_r)[label_r]; grad = (softmax(x) - onehot) * grad_scale.
  static double cross_entropy(std::size_t rows, std::size_t cols, const S* logits, const std::int64_t* labels,
                              S* grad, S grad_scale) {
    double loss = 0;
    for (std::size_t r = 0; r < rows; ++r) {
      const std::int64_t label = checked_label(labels[r], r, cols);
      const S* xr = logits + r * cols;
      S* gr = grad + r * cols;
      const S lse = log_sum_exp(xr, cols);
      loss += static_cast<double>(lse - xr[label]);
      for (std::size_t c = 0; c < cols; ++c) gr[c] = std::exp(xr[c] - lse) * grad_scale;
      gr[label] -= grad_scale;
    }
    return loss;
  }
  // Negative log-likelihood of log-probabilities: returns sum_r -logp[r, label_r].
  static double nll(std::size_t rows, std::size_t cols, const S* log_probs, const std::int64_t* labels, S* grad,
                    S grad_scale) {
    double loss = 0;
    std::fill_n(grad, rows * cols, S(0));
    for (std::size_t r = 0; r < rows; ++r) {
      const std::int64_t label = checked_label(labels[r], r, cols);
      loss -= static_cast<double>(log_probs[r * cols + label]);
      grad[r * cols + label] = -grad_scale;
    }
    return loss;
  }

  // ---- one group of one sample [channels, H, W] <-> columns [channels*KH*KW, Ho*Wo] ----------------
  // Not ops (no layer calls them): the im2col + GEMM convolutions' steps, here and in the Eigen backend.
  static void im2col(const S* x, std::size_t channels, const conv_geometry& g, S* col) {
    const std::size_t H = g.H, W = g.W, Ho = g.Ho, Wo = g.Wo;
    for (std::size_t c = 0; c < channels; ++c)
      for (std::size_t ki = 0; ki < g.KH; ++ki)
        for (std::size_t kj = 0; kj < g.KW; ++kj) {
          S* row = col + ((c * g.KH + ki) * g.KW + kj) * Ho * Wo;
          for (std::size_t oh = 0; oh < Ho; ++oh) {
            const std::ptrdiff_t ih = tap(oh, ki * g.DH, g.SH, g.PH);
            for (std::size_t ow = 0; ow < Wo; ++ow) {
              const std::ptrdiff_t iw = tap(ow, kj * g.DW, g.SW, g.PW);
              const bool inside = ih >= 0 && ih < static_cast<std::ptrdiff_t>(H) && iw >= 0 &&
                                  iw < static_cast<std::ptrdiff_t>(W);
              row[oh * Wo + ow] = inside ? x[(c * H + static_cast<std::size_t>(ih)) * W + static_cast<std::size_t>(iw)] : S(0);
            }
          }
        }
  }
  // dx[channels, H, W] += col2im(col); the caller zeroes dx first.
  static void col2im(const S* col, std::size_t channels, const conv_geometry& g, S* dx) {
    const std::size_t H = g.H, W = g.W, Ho = g.Ho, Wo = g.Wo;
    for (std::size_t c = 0; c < channels; ++c)
      for (std::size_t ki = 0; ki < g.KH; ++ki)
        for (std::size_t kj = 0; kj < g.KW; ++kj) {
          const S* row = col + ((c * g.KH + ki) * g.KW + kj) * Ho * Wo;
          for (std::size_t oh = 0; oh < Ho; ++oh) {
            const std::ptrdiff_t ih = tap(oh, ki * g.DH, g.SH, g.PH);
            if (ih < 0 || ih >= static_cast<std::ptrdiff_t>(H)) continue;
            for (std::size_t ow = 0; ow < Wo; ++ow) {
              const std::ptrdiff_t iw = tap(ow, kj * g.DW, g.SW, g.PW);
              if (iw < 0 || iw >= static_cast<std::ptrdiff_t>(W)) continue;
              dx[(c * H + static_cast<std::size_t>(ih)) * W + static_cast<std::size_t>(iw)] += row[oh * Wo + ow];
            }
          }
        }
  }

  // ---- whole-batch convolution (what Conv2d calls) ----------------------------------------------
  // x [n, C, H, W] -> y [n, OC, Ho, Wo] with weights [OC, C / groups, KH, KW] and a bias per output
  // channel (null: none). The layer keeps a workspace of conv2d_workspace(g, n) values between forward
  // and backward (a backend may leave state there: the backward of a batch must follow the forward of
  // the same batch). Here: im2col + GEMM one group of one sample at a time, the workspace holding one
  // group's columns.
  static std::size_t conv2d_workspace(const conv_geometry& g, std::size_t /*n*/) {
    return g.C / g.groups * g.KH * g.KW * g.Ho * g.Wo;
  }
  static void conv2d_forward(const conv_geometry& g, std::size_t n, const S* x, const S* weight, const S* bias, S* y,
                             S* workspace) {
    const std::size_t cg = g.C / g.groups, ocg = g.OC / g.groups;
    const std::size_t patch = cg * g.KH * g.KW, positions = g.Ho * g.Wo;
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t grp = 0; grp < g.groups; ++grp) {
        im2col(x + (i * g.C + grp * cg) * g.H * g.W, cg, g, workspace);
        gemm(false, false, ocg, positions, patch, S(1), weight + grp * ocg * patch, workspace, S(0),
             y + (i * g.OC + grp * ocg) * positions);
      }
    if (bias) add_bias(n, g.OC, positions, bias, y);
  }
  // dx = dL/dx (overwritten; skipped when dx is null), grad_weight += dL/dW, grad_bias += dL/db (each
  // skipped when null). Without grad_weight, x is not read and no forward need precede: dx alone is
  // ConvTranspose2d's forward.
  static void conv2d_backward(const conv_geometry& g, std::size_t n, const S* x, const S* dy, const S* weight, S* dx,
                              S* grad_weight, S* grad_bias, S* workspace) {
    const std::size_t cg = g.C / g.groups, ocg = g.OC / g.groups;
    const std::size_t patch = cg * g.KH * g.KW, positions = g.Ho * g.Wo, in_size = g.C * g.H * g.W;
    if (dx) std::fill_n(dx, n * in_size, S(0));
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t grp = 0; grp < g.groups; ++grp) {
        const S* dy_i = dy + (i * g.OC + grp * ocg) * positions;
        const std::size_t x_at = i * in_size + grp * cg * g.H * g.W;
        if (grad_weight) {
          im2col(x + x_at, cg, g, workspace);
          gemm(false, true, ocg, patch, positions, S(1), dy_i, workspace, S(1), grad_weight + grp * ocg * patch);
        }
        if (!dx) continue;
        gemm(true, false, patch, positions, ocg, S(1), weight + grp * ocg * patch, dy_i, S(0), workspace);
        col2im(workspace, cg, g, dx + x_at);
      }
    if (grad_bias) bias_grad(n, g.OC, positions, dy, grad_bias);
  }

  // ---- pooling: n samples of g.C planes of H x W ------------------------------------------------
  // Max pooling: padding counts as -infinity, the first maximum of a window wins (and gets the gradient).
  static void maxpool_forward(const pool_geometry& g, std::size_t n, const S* x, S* y, std::int32_t* argmax) {
    const std::size_t H = g.H, W = g.W, Ho = g.Ho, Wo = g.Wo;
    for (std::size_t p = 0; p < n * g.C; ++p) {
      const S* xp = x + p * H * W;
      for (std::size_t oh = 0; oh < Ho; ++oh)
        for (std::size_t ow = 0; ow < Wo; ++ow) {
          S best = -std::numeric_limits<S>::infinity();
          std::int32_t where = -1;
          for (std::size_t ki = 0; ki < g.KH; ++ki) {
            const std::ptrdiff_t ih = tap(oh, ki * g.DH, g.SH, g.PH);
            if (ih < 0 || ih >= static_cast<std::ptrdiff_t>(H)) continue;
            for (std::size_t kj = 0; kj < g.KW; ++kj) {
              const std::ptrdiff_t iw = tap(ow, kj * g.DW, g.SW, g.PW);
              if (iw < 0 || iw >= static_cast<std::ptrdiff_t>(W)) continue;
              const auto at = static_cast<std::int32_t>(ih * static_cast<std::ptrdiff_t>(W) + iw);
              // NaN propagates as in PyTorch: a NaN wins over every number.
              if (xp[at] > best || std::isnan(xp[at]) || where < 0) {
                best = xp[at];
                where = at;
                if (std::isnan(best)) goto done;
              }
            }
          }
        done:
          y[(p * Ho + oh) * Wo + ow] = best;
          argmax[(p * Ho + oh) * Wo + ow] = where;
        }
    }
  }
  static void maxpool_backward(const pool_geometry& g, std::size_t n, const S* dy, const std::int32_t* argmax, S* dx) {
    const std::size_t in_plane = g.H * g.W, out_plane = g.Ho * g.Wo;
    std::fill_n(dx, n * g.C * in_plane, S(0));
    for (std::size_t p = 0; p < n * g.C; ++p)
      for (std::size_t o = 0; o < out_plane; ++o) dx[p * in_plane + argmax[p * out_plane + o]] += dy[p * out_plane + o];
  }
  // Average pooling as torch's count_include_pad=True: every window divides by KH * KW, padding counting
  // as zeros (a window always has KH * KW taps: padding is at most half the kernel). Dilation is honoured
  // here for the op set's sake; AvgPool2d, as PyTorch's, has none.
  static void avgpool_forward(const pool_geometry& g, std::size_t n, const S* x, S* y) {
    const S divisor = static_cast<S>(g.KH * g.KW);
    for (std::size_t p = 0; p < n * g.C; ++p) {
      const S* xp = x + p * g.H * g.W;
      for (std::size_t oh = 0; oh < g.Ho; ++oh)
        for (std::size_t ow = 0; ow < g.Wo; ++ow) {
          S total = 0;
          for (std::size_t ki = 0; ki < g.KH; ++ki) {
            const std::ptrdiff_t ih = tap(oh, ki * g.DH, g.SH, g.PH);
            if (ih < 0 || ih >= static_cast<std::ptrdiff_t>(g.H)) continue;
            for (std::size_t kj = 0; kj < g.KW; ++kj) {
              const std::ptrdiff_t iw = tap(ow, kj * g.DW, g.SW, g.PW);
              if (iw >= 0 && iw < static_cast<std::ptrdiff_t>(g.W))
                total += xp[ih * static_cast<std::ptrdiff_t>(g.W) + iw];
            }
          }
          y[(p * g.Ho + oh) * g.Wo + ow] = total / divisor;
        }
    }
  }
  // dx[ih, iw] = sum over the windows that cover it of dy / (K * K), windows in row-major order.
  static void avgpool_backward(const pool_geometry& g, std::size_t n, const S* dy, S* dx) {
    const S divisor = static_cast<S>(g.KH * g.KW);
    std::fill_n(dx, n * g.C * g.H * g.W, S(0));
    for (std::size_t p = 0; p < n * g.C; ++p) {
      S* dxp = dx + p * g.H * g.W;
      for (std::size_t oh = 0; oh < g.Ho; ++oh)
        for (std::size_t ow = 0; ow < g.Wo; ++ow) {
          const S share = dy[(p * g.Ho + oh) * g.Wo + ow] / divisor;
          for (std::size_t ki = 0; ki < g.KH; ++ki) {
            const std::ptrdiff_t ih = tap(oh, ki * g.DH, g.SH, g.PH);
            if (ih < 0 || ih >= static_cast<std::ptrdiff_t>(g.H)) continue;
            for (std::size_t kj = 0; kj < g.KW; ++kj) {
              const std::ptrdiff_t iw = tap(ow, kj * g.DW, g.SW, g.PW);
              if (iw >= 0 && iw < static_cast<std::ptrdiff_t>(g.W))
                dxp[ih * static_cast<std::ptrdiff_t>(g.W) + iw] += share;
            }
          }
        }
    }
  }
  // Adaptive average pooling: each window's mean; the backward scatters each output's share (windows
  // overlap when H is not a multiple of Ho).
  static void adaptive_avgpool_forward(const pool_geometry& g, std::size_t n, const S* x, S* y) {
    for (std::size_t p = 0; p < n * g.C; ++p) {
      const S* xp = x + p * g.H * g.W;
      for (std::size_t oh = 0; oh < g.Ho; ++oh) {
        const std::size_t h0 = adaptive_first(oh, g.H, g.Ho), h1 = adaptive_last(oh, g.H, g.Ho);
        for (std::size_t ow = 0; ow < g.Wo; ++ow) {
          const std::size_t w0 = adaptive_first(ow, g.W, g.Wo), w1 = adaptive_last(ow, g.W, g.Wo);
          S total = 0;
          for (std::size_t ih = h0; ih < h1; ++ih)
            for (std::size_t iw = w0; iw < w1; ++iw) total += xp[ih * g.W + iw];
          y[(p * g.Ho + oh) * g.Wo + ow] = total / static_cast<S>((h1 - h0) * (w1 - w0));
        }
      }
    }
  }
  static void adaptive_avgpool_backward(const pool_geometry& g, std::size_t n, const S* dy, S* dx) {
    std::fill_n(dx, n * g.C * g.H * g.W, S(0));
    for (std::size_t p = 0; p < n * g.C; ++p) {
      S* dxp = dx + p * g.H * g.W;
      for (std::size_t oh = 0; oh < g.Ho; ++oh) {
        const std::size_t h0 = adaptive_first(oh, g.H, g.Ho), h1 = adaptive_last(oh, g.H, g.Ho);
        for (std::size_t ow = 0; ow < g.Wo; ++ow) {
          const std::size_t w0 = adaptive_first(ow, g.W, g.Wo), w1 = adaptive_last(ow, g.W, g.Wo);
          const S share = dy[(p * g.Ho + oh) * g.Wo + ow] / static_cast<S>((h1 - h0) * (w1 - w0));
          for (std::size_t ih = h0; ih < h1; ++ih)
            for (std::size_t iw = w0; iw < w1; ++iw) dxp[ih * g.W + iw] += share;
        }
      }
    }
  }

  // ---- batch norm over [outer, channels, inner] (PyTorch's BatchNorm1d/2d) ------------------------
  // Two passes in double (the mean, then the squared deviations): one pass (E[x^2] - E[x]^2) cancels
  // badly when the mean is large against the spread.
  static void batchnorm_stats(std::size_t outer, std::size_t channels, std::size_t inner, const S* x, S* mean,
                              S* var) {
    const double count = static_cast<double>(outer * inner);
    for (std::size_t c = 0; c < channels; ++c) {
      double total = 0;
      for (std::size_t o = 0; o < outer; ++o)
        for (std::size_t i = 0; i < inner; ++i) total += static_cast<double>(x[(o * channels + c) * inner + i]);
      const double m = total / count;
      double squares = 0;
      for (std::size_t o = 0; o < outer; ++o)
        for (std::size_t i = 0; i < inner; ++i) {
          const double d = static_cast<double>(x[(o * channels + c) * inner + i]) - m;
          squares += d * d;
        }
      mean[c] = static_cast<S>(m);
      var[c] = static_cast<S>(squares / count);
    }
  }
  static void batchnorm_forward(std::size_t outer, std::size_t channels, std::size_t inner, const S* x,
                                const S* mean, const S* var, const S* weight, const S* bias, S* y, S eps) {
    for (std::size_t o = 0; o < outer; ++o)
      for (std::size_t c = 0; c < channels; ++c) {
        const S invstd = S(1) / std::sqrt(var[c] + eps);
        const S scale = weight ? weight[c] * invstd : invstd;
        const S shift = (bias ? bias[c] : S(0)) - mean[c] * scale;
        const S* xp = x + (o * channels + c) * inner;
        S* yp = y + (o * channels + c) * inner;
        for (std::size_t i = 0; i < inner; ++i) yp[i] = xp[i] * scale + shift;
      }
  }
  // With x_hat = (x - mean) * invstd and M = outer * inner values per channel:
  //   grad_bias += sum(dy), grad_weight += sum(dy * x_hat)
  //   dx = weight * invstd * (dy - sum(dy) / M - x_hat * sum(dy * x_hat) / M)   (batch statistics)
  //   dx = weight * invstd * dy                                                 (running statistics)
  static void batchnorm_backward(std::size_t outer, std::size_t channels, std::size_t inner, const S* x, const S* dy,
                                 const S* mean, const S* var, const S* weight, S* dx, S* grad_weight, S* grad_bias,
                                 S eps, bool batch_stats) {
    const double count = static_cast<double>(outer * inner);
    for (std::size_t c = 0; c < channels; ++c) {
      const double invstd = 1.0 / std::sqrt(static_cast<double>(var[c]) + static_cast<double>(eps));
      double sum_dy = 0, sum_dy_xhat = 0;
      for (std::size_t o = 0; o < outer; ++o)
        for (std::size_t i = 0; i < inner; ++i) {
          const std::size_t e = (o * channels + c) * inner + i;
          sum_dy += static_cast<double>(dy[e]);
          sum_dy_xhat += static_cast<double>(dy[e]) * (static_cast<double>(x[e]) - static_cast<double>(mean[c])) * invstd;
        }
      if (grad_bias) grad_bias[c] += static_cast<S>(sum_dy);
      if (grad_weight) grad_weight[c] += static_cast<S>(sum_dy_xhat);
      if (!dx) continue;
      const double scale = (weight ? static_cast<double>(weight[c]) : 1.0) * invstd;
      const double mean_dy = batch_stats ? sum_dy / count : 0.0, mean_dy_xhat = batch_stats ? sum_dy_xhat / count : 0.0;
      for (std::size_t o = 0; o < outer; ++o)
        for (std::size_t i = 0; i < inner; ++i) {
          const std::size_t e = (o * channels + c) * inner + i;
          const double xhat = (static_cast<double>(x[e]) - static_cast<double>(mean[c])) * invstd;
          dx[e] = static_cast<S>(scale * (static_cast<double>(dy[e]) - mean_dy - xhat * mean_dy_xhat));
        }
    }
  }

  // ---- optimizer updates (torch.optim 1.13, one parameter tensor of n values) ------------------
  // SGD: g = grad + weight_decay * param; with momentum, buf = g on the first step and
  // buf = momentum * buf + (1 - dampening) * g afterwards, then g = nesterov ? g + momentum * buf : buf;
  // param -= lr * g. momentum_buffer may be null when momentum is 0.
  static void sgd_update(std::size_t n, const S* grad, S* param, S* momentum_buffer, S lr, S momentum, S dampening,
                         S weight_decay, bool nesterov, bool first_step) {
    const S keep = S(1) - dampening;
    for (std::size_t i = 0; i < n; ++i) {
      S g = grad[i];
      if (weight_decay != S(0)) g += weight_decay * param[i];
      if (momentum != S(0)) {
        S& buf = momentum_buffer[i];
        buf = first_step ? g : momentum * buf + keep * g;
        g = nesterov ? g + momentum * buf : buf;
      }
      param[i] -= lr * g;
    }
  }
  // Adam (L2 weight decay added to the gradient, not AdamW): g = grad + weight_decay * param;
  // m = beta1 m + (1 - beta1) g; v = beta2 v + (1 - beta2) g^2;
  // param -= step_size * m / (sqrt(v) / bias_correction2_sqrt + eps), where the caller computes
  // step_size = lr / (1 - beta1^t) and bias_correction2_sqrt = sqrt(1 - beta2^t).
  static void adam_update(std::size_t n, const S* grad, S* param, S* m, S* v, S beta1, S beta2, S eps, S weight_decay,
                          S step_size, S bias_correction2_sqrt) {
    const S one_minus_beta1 = S(1) - beta1, one_minus_beta2 = S(1) - beta2;
    for (std::size_t i = 0; i < n; ++i) {
      S g = grad[i];
      if (weight_decay != S(0)) g += weight_decay * param[i];
      m[i] = m[i] * beta1 + one_minus_beta1 * g;
      v[i] = v[i] * beta2 + one_minus_beta2 * g * g;
      const S denom = std::sqrt(v[i]) / bias_correction2_sqrt + eps;
      param[i] -= step_size * (m[i] / denom);
    }
  }
  // Adam with amsgrad: the denominator uses the largest v seen, max_v = max(max_v, v).
  static void amsgrad_update(std::size_t n, const S* grad, S* param, S* m, S* v, S* max_v, S beta1, S beta2, S eps,
                             S weight_decay, S step_size, S bias_correction2_sqrt) {
    const S one_minus_beta1 = S(1) - beta1, one_minus_beta2 = S(1) - beta2;
    for (std::size_t i = 0; i < n; ++i) {
      S g = grad[i];
      if (weight_decay != S(0)) g += weight_decay * param[i];
      m[i] = m[i] * beta1 + one_minus_beta1 * g;
      v[i] = v[i] * beta2 + one_minus_beta2 * g * g;
      if (v[i] > max_v[i]) max_v[i] = v[i];
      const S denom = std::sqrt(max_v[i]) / bias_correction2_sqrt + eps;
      param[i] -= step_size * (m[i] / denom);
    }
  }
  // Adadelta: g = grad + weight_decay * param; square_avg = rho square_avg + (1 - rho) g^2;
  // delta = sqrt(acc_delta + eps) / sqrt(square_avg + eps) * g; acc_delta = rho acc_delta + (1 - rho) delta^2;
  // param -= lr * delta.
  static void adadelta_update(std::size_t n, const S* grad, S* param, S* square_avg, S* acc_delta, S lr, S rho, S eps,
                              S weight_decay) {
    const S one_minus_rho = S(1) - rho;
    for (std::size_t i = 0; i < n; ++i) {
      S g = grad[i];
      if (weight_decay != S(0)) g += weight_decay * param[i];
      square_avg[i] = square_avg[i] * rho + one_minus_rho * g * g;
      const S delta = std::sqrt(acc_delta[i] + eps) / std::sqrt(square_avg[i] + eps) * g;
      acc_delta[i] = acc_delta[i] * rho + one_minus_rho * delta * delta;
      param[i] -= lr * delta;
    }
  }
  // Adagrad: g = grad + weight_decay * param; state_sum += g^2; param -= clr * g / (sqrt(state_sum) + eps).
  static void adagrad_update(std::size_t n, const S* grad, S* param, S* state_sum, S clr, S eps, S weight_decay) {
    for (std::size_t i = 0; i < n; ++i) {
      S g = grad[i];
      if (weight_decay != S(0)) g += weight_decay * param[i];
      state_sum[i] += g * g;
      param[i] -= clr * (g / (std::sqrt(state_sum[i]) + eps));
    }
  }
  // RMSprop: g = grad + weight_decay * param; square_avg = alpha square_avg + (1 - alpha) g^2; centered
  // (grad_avg given): grad_avg = alpha grad_avg + (1 - alpha) g, avg = sqrt(square_avg - grad_avg^2) + eps,
  // else avg = sqrt(square_avg) + eps; with momentum buf = momentum buf + g / avg, param -= lr buf, else
  // param -= lr g / avg.
  static void rmsprop_update(std::size_t n, const S* grad, S* param, S* square_avg, S* grad_avg, S* momentum_buffer,
                             S lr, S alpha, S eps, S weight_decay, S momentum) {
    const S one_minus_alpha = S(1) - alpha;
    for (std::size_t i = 0; i < n; ++i) {
      S g = grad[i];
      if (weight_decay != S(0)) g += weight_decay * param[i];
      square_avg[i] = square_avg[i] * alpha + one_minus_alpha * g * g;
      S avg;
      if (grad_avg) {
        grad_avg[i] = grad_avg[i] * alpha + one_minus_alpha * g;
        avg = std::sqrt(square_avg[i] - grad_avg[i] * grad_avg[i]) + eps;
      } else {
        avg = std::sqrt(square_avg[i]) + eps;
      }
      if (momentum_buffer) {
        momentum_buffer[i] = momentum_buffer[i] * momentum + g / avg;
        param[i] -= lr * momentum_buffer[i];
      } else {
        param[i] -= lr * (g / avg);
      }
    }
  }

  // ---- random numbers (counter-based, see core/random.hpp) -------------------------------------
  static void fill_uniform(std::size_t n, S* x, double lo, double hi, Generator& g) {
    const std::uint64_t seed = g.seed(), first = g.advance(n);
    for (std::size_t i = 0; i < n; ++i) x[i] = static_cast<S>(lo + (hi - lo) * rng::uniform(seed, first + i));
  }
  static void fill_normal(std::size_t n, S* x, double mean, double stddev, Generator& g) {
    const std::uint64_t seed = g.seed(), first = g.advance(n);
    for (std::size_t i = 0; i < n; ++i) x[i] = static_cast<S>(mean + stddev * rng::normal(seed, first + i));
  }
  // x[i] = value with probability keep, else 0 (dropout masks carry the 1/(1-p) scaling as value).
  static void fill_bernoulli(std::size_t n, S* x, double keep, S value, Generator& g) {
    const std::uint64_t seed = g.seed(), first = g.advance(n);
    for (std::size_t i = 0; i < n; ++i) x[i] = rng::uniform(seed, first + i) < keep ? value : S(0);
  }

 protected:
  // The input row (or column) under output position o and window tap t; outside [0, size) in the padding.
  static std::ptrdiff_t tap(std::size_t o, std::size_t t, std::size_t stride, std::size_t pad) {
    return static_cast<std::ptrdiff_t>(o * stride + t) - static_cast<std::ptrdiff_t>(pad);
  }
  static S log_sum_exp(const S* x, std::size_t n) {
    const S mx = *std::max_element(x, x + n);
    if (std::isinf(mx)) return mx;
    S total = 0;
    for (std::size_t i = 0; i < n; ++i) total += std::exp(x[i] - mx);
    return mx + std::log(total);
  }
  static std::int64_t checked_label(std::int64_t label, std::size_t row, std::size_t classes) {
    if (label < 0 || static_cast<std::size_t>(label) >= classes)
      throw error(cat("label ", label, " of sample ", row, " is out of range: the model has ", classes,
                      " classes (0 to ", classes - 1, ")"));
    return label;
  }
};

}  // namespace ctnn::backend
