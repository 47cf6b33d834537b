#pragma once
// The device kernels of the Thrust and CUDA backends, as plain functors: each is called once per work
// item (an index) by thrust::for_each over a counting iterator or by a CUDA grid, and is marked
// CTNN_HD so that the same code compiles for the host (g++, Thrust's OMP/CPP systems) and the device
// (nvcc). No Thrust, no CUDA runtime, no Eigen here.
//
// Each output value is computed by one work item in the order of the reference loops (host_ops.hpp):
// no atomics, and the results do not depend on the number of threads.
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "../core/config.hpp"
#include "../core/random.hpp"
#include "backend.hpp"

namespace ctnn::backend {

namespace kernels {

using index = std::size_t;

CTNN_HD inline bool is_nan(float v) { return v != v; }
CTNN_HD inline bool is_inf(float v) { return v == v && !(v - v == v - v); }

// ---- storage and elementwise -------------------------------------------------------------------
template <class F>
struct apply_unary {
  F f;
  CTNN_HD float operator()(float x) const { return f(x); }
};
template <class F>
struct apply_binary {
  F f;
  CTNN_HD float operator()(float a, float b) const { return f(a, b); }
};
struct to_double {
  CTNN_HD double operator()(float x) const { return static_cast<double>(x); }
};
struct value_as_double {
  const float* x;
  CTNN_HD double operator()(index i) const { return static_cast<double>(x[i]); }
};
// out[b] = the sum in double, in order, of f(i) for i in block b of `block` consecutive terms of [0, n).
template <class F>
struct block_sum {
  F f;
  index n, block;
  double* out;
  CTNN_HD void operator()(index b) const {
    const index lo = b * block, hi = lo + block < n ? lo + block : n;
    double acc = 0;
    for (index i = lo; i < hi; ++i) acc += f(i);
    out[b] = acc;
  }
};

// ---- GEMM: C = alpha op(A) op(B) + beta C, one 4 x 4 tile of C per work item --------------------
struct gemm_tile {
  bool trans_a, trans_b;
  index m, n, k, tiles_n;
  float alpha, beta;
  const float* a;
  const float* b;
  float* c;

  CTNN_HD float a_at(index i, index p) const { return trans_a ? a[p * m + i] : a[i * k + p]; }
  CTNN_HD float b_at(index p, index j) const { return trans_b ? b[j * k + p] : b[p * n + j]; }
  CTNN_HD void store(index i, index j, float acc) const {
    float& out = c[i * n + j];
    out = alpha * acc + (beta == 0.0f ? 0.0f : beta * out);
  }

  CTNN_HD void operator()(index t) const {
    const index i0 = t / tiles_n * 4, j0 = t % tiles_n * 4;
    if (i0 + 4 <= m && j0 + 4 <= n) {
      float acc[4][4] = {};
      for (index p = 0; p < k; ++p) {
        float av[4], bv[4];
        for (index u = 0; u < 4; ++u) av[u] = a_at(i0 + u, p);
        for (index v = 0; v < 4; ++v) bv[v] = b_at(p, j0 + v);
        for (index u = 0; u < 4; ++u)
          for (index v = 0; v < 4; ++v) acc[u][v] += av[u] * bv[v];
      }
      for (index u = 0; u < 4; ++u)
        for (index v = 0; v < 4; ++v) store(i0 + u, j0 + v, acc[u][v]);
      return;
    }
    const index mi = m - i0 < 4 ? m - i0 : 4, nj = n - j0 < 4 ? n - j0 : 4;
    for (index u = 0; u < mi; ++u)
      for (index v = 0; v < nj; ++v) {
        float acc = 0.0f;
        for (index p = 0; p < k; ++p) acc += a_at(i0 + u, p) * b_at(p, j0 + v);
        store(i0 + u, j0 + v, acc);
      }
  }
};

// ---- per-channel bias --------------------------------------------------------------------------
struct add_bias_kernel {
  float* y;
  const float* bias;
  index channels, inner;
  CTNN_HD void operator()(index i) const { y[i] += bias[i / inner % channels]; }
};
struct bias_grad_kernel {
  const float* dy;
  index outer, channels, inner;
  float* grad_bias;
  CTNN_HD void operator()(index c) const {
    float total = grad_bias[c];
    for (index o = 0; o < outer; ++o) {
      const float* row = dy + (o * channels + c) * inner;
      float acc = 0.0f;
      for (index i = 0; i < inner; ++i) acc += row[i];
      total += acc;
    }
    grad_bias[c] = total;
  }
};

// ---- rows: softmax family, argmax, class-index losses -------------------------------------------
CTNN_HD inline float row_max(const float* x, index n) {
  float mx = x[0];
  for (index i = 1; i < n; ++i)
    if (x[i] > mx) mx = x[i];
  return mx;
}
CTNN_HD inline float log_sum_exp(const float* x, index n) {
  const float mx = row_max(x, n);
  if (is_inf(mx)) return mx;
  float total = 0.0f;
  for (index i = 0; i < n; ++i) total += std::exp(x[i] - mx);
  return mx + std::log(total);
}

struct softmax_kernel {
  const float* x;
  float* y;
  index cols;
  CTNN_HD void operator()(index r) const {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    const float mx = row_max(xr, cols);
    float total = 0.0f;
    for (index c = 0; c < cols; ++c) total += (yr[c] = std::exp(xr[c] - mx));
    for (index c = 0; c < cols; ++c) yr[c] /= total;
  }
};
struct log_softmax_kernel {
  const float* x;
  float* y;
  index cols;
  CTNN_HD void operator()(index r) const {
    const float* xr = x + r * cols;
    const float lse = log_sum_exp(xr, cols);
    for (index c = 0; c < cols; ++c) y[r * cols + c] = xr[c] - lse;
  }
};
struct softmax_backward_kernel {
  const float* y;
  const float* dy;
  float* dx;
  index cols;
  CTNN_HD void operator()(index r) const {
    const index o = r * cols;
    float dot = 0.0f;
    for (index c = 0; c < cols; ++c) dot += dy[o + c] * y[o + c];
    for (index c = 0; c < cols; ++c) dx[o + c] = y[o + c] * (dy[o + c] - dot);
  }
};
struct log_softmax_backward_kernel {
  const float* y;
  const float* dy;
  float* dx;
  index cols;
  CTNN_HD void operator()(index r) const {
    const index o = r * cols;
    float total = 0.0f;
    for (index c = 0; c < cols; ++c) total += dy[o + c];
    for (index c = 0; c < cols; ++c) dx[o + c] = dy[o + c] - std::exp(y[o + c]) * total;
  }
};
struct argmax_kernel {
  const float* x;
  index cols;
  std::int64_t* out;
  CTNN_HD void operator()(index r) const {
    const float* xr = x + r * cols;
    index best = 0;
    for (index c = 1; c < cols; ++c)
      if (xr[c] > xr[best]) best = c;
    out[r] = static_cast<std::int64_t>(best);
  }
};

// The first row whose label is outside [0, cols) (rows when there is none), through a min-reduction.
struct bad_label {
  const std::int64_t* labels;
  index cols, rows;
  CTNN_HD index operator()(index r) const {
    const std::int64_t l = labels[r];
    return l < 0 || static_cast<index>(l) >= cols ? r : rows;
  }
};
struct smaller {
  CTNN_HD index operator()(index a, index b) const { return a < b ? a : b; }
};

struct cross_entropy_loss {
  const float* logits;
  const std::int64_t* labels;
  index cols;
  CTNN_HD double operator()(index r) const {
    const float* xr = logits + r * cols;
    return static_cast<double>(log_sum_exp(xr, cols) - xr[labels[r]]);
  }
};
struct cross_entropy_grad {
  const float* logits;
  const std::int64_t* labels;
  index cols;
  float* grad;
  float scale;
  CTNN_HD void operator()(index r) const {
    const float* xr = logits + r * cols;
    float* gr = grad + r * cols;
    const float lse = log_sum_exp(xr, cols);
    for (index c = 0; c < cols; ++c) gr[c] = std::exp(xr[c] - lse) * scale;
    gr[labels[r]] -= scale;
  }
};
struct nll_loss {
  const float* log_probs;
  const std::int64_t* labels;
  index cols;
  CTNN_HD double operator()(index r) const { return -static_cast<double>(log_probs[r * cols + static_cast<index>(labels[r])]); }
};
struct nll_grad {
  const std::int64_t* labels;
  index cols;
  float* grad;
  float scale;
  CTNN_HD void operator()(index r) const { grad[r * cols + static_cast<index>(labels[r])] = -scale; }
};

// ---- convolution -------------------------------------------------------------------------------
// Row (ih) or column (iw) of the input under output position o and kernel tap t, or -1 outside.
CTNN_HD inline std::ptrdiff_t input_at(index o, index t, index stride, index pad, index size) {
  const auto v = static_cast<std::ptrdiff_t>(o * stride + t) - static_cast<std::ptrdiff_t>(pad);
  return v >= 0 && v < static_cast<std::ptrdiff_t>(size) ? v : -1;
}

// col[(c, ki, kj), (oh, ow)] of one sample.
struct im2col_kernel {
  const float* x;
  index H, W, K, stride, pad, Ho, Wo;
  float* col;
  CTNN_HD void operator()(index e) const {
    const index ow = e % Wo, oh = e / Wo % Ho, kj = e / (Wo * Ho) % K, ki = e / (Wo * Ho * K) % K,
                c = e / (Wo * Ho * K * K);
    const std::ptrdiff_t ih = input_at(oh, ki, stride, pad, H), iw = input_at(ow, kj, stride, pad, W);
    col[e] = ih >= 0 && iw >= 0 ? x[(c * H + static_cast<index>(ih)) * W + static_cast<index>(iw)] : 0.0f;
  }
};
// dx[c, ih, iw] += the column entries that read it, in the (ki, kj) order of the reference loops.
struct col2im_kernel {
  const float* col;
  index H, W, K, stride, pad, Ho, Wo;
  float* dx;
  CTNN_HD void operator()(index e) const {
    const index iw = e % W, ih = e / W % H, c = e / (W * H);
    float acc = dx[e];
    for (index ki = 0; ki < K; ++ki) {
      const std::ptrdiff_t dh = static_cast<std::ptrdiff_t>(ih + pad) - static_cast<std::ptrdiff_t>(ki);
      if (dh < 0 || dh % static_cast<std::ptrdiff_t>(stride) != 0) continue;
      const index oh = static_cast<index>(dh) / stride;
      if (oh >= Ho) continue;
      for (index kj = 0; kj < K; ++kj) {
        const std::ptrdiff_t dw = static_cast<std::ptrdiff_t>(iw + pad) - static_cast<std::ptrdiff_t>(kj);
        if (dw < 0 || dw % static_cast<std::ptrdiff_t>(stride) != 0) continue;
        const index ow = static_cast<index>(dw) / stride;
        if (ow >= Wo) continue;
        acc += col[((c * K + ki) * K + kj) * Ho * Wo + oh * Wo + ow];
      }
    }
    dx[e] = acc;
  }
};

// y[i, o, oh, ow] = sum over (c, ki, kj) of w[o, c, ki, kj] x[i, c, ih, iw] + bias[o].
struct conv_forward_kernel {
  conv_geometry g;
  const float* x;
  const float* w;
  const float* bias;
  float* y;
  CTNN_HD void operator()(index e) const {
    const index ow = e % g.Wo, oh = e / g.Wo % g.Ho, o = e / (g.Wo * g.Ho) % g.OC, i = e / (g.Wo * g.Ho * g.OC);
    const float* xi = x + i * g.C * g.H * g.W;
    const float* wo = w + o * g.C * g.K * g.K;
    float acc = 0.0f;
    for (index c = 0; c < g.C; ++c)
      for (index ki = 0; ki < g.K; ++ki) {
        const std::ptrdiff_t ih = input_at(oh, ki, g.stride, g.pad, g.H);
        if (ih < 0) continue;
        const float* xr = xi + (c * g.H + static_cast<index>(ih)) * g.W;
        const float* wr = wo + (c * g.K + ki) * g.K;
        for (index kj = 0; kj < g.K; ++kj) {
          const std::ptrdiff_t iw = input_at(ow, kj, g.stride, g.pad, g.W);
          if (iw >= 0) acc += wr[kj] * xr[iw];
        }
      }
    y[e] = acc + bias[o];
  }
};
// grad_w[o, c, ki, kj] += sum over samples (each sample's sum added in turn) of dy[i, o, .] x[i, c, .].
struct conv_weight_grad_kernel {
  conv_geometry g;
  index n;
  const float* x;
  const float* dy;
  float* grad_w;
  CTNN_HD void operator()(index e) const {
    const index kj = e % g.K, ki = e / g.K % g.K, c = e / (g.K * g.K) % g.C, o = e / (g.K * g.K * g.C);
    float total = grad_w[e];
    for (index i = 0; i < n; ++i) {
      const float* xc = x + (i * g.C + c) * g.H * g.W;
      const float* d = dy + (i * g.OC + o) * g.Ho * g.Wo;
      float acc = 0.0f;
      for (index oh = 0; oh < g.Ho; ++oh) {
        const std::ptrdiff_t ih = input_at(oh, ki, g.stride, g.pad, g.H);
        if (ih < 0) continue;
        for (index ow = 0; ow < g.Wo; ++ow) {
          const std::ptrdiff_t iw = input_at(ow, kj, g.stride, g.pad, g.W);
          if (iw >= 0) acc += d[oh * g.Wo + ow] * xc[static_cast<index>(ih) * g.W + static_cast<index>(iw)];
        }
      }
      total = acc + total;
    }
    grad_w[e] = total;
  }
};
// dx[i, c, ih, iw] = sum over the taps (ki, kj) that read it of sum over o of w[o, c, ki, kj] dy[i, o, oh, ow].
struct conv_input_grad_kernel {
  conv_geometry g;
  const float* dy;
  const float* w;
  float* dx;
  CTNN_HD void operator()(index e) const {
    const index iw = e % g.W, ih = e / g.W % g.H, c = e / (g.W * g.H) % g.C, i = e / (g.W * g.H * g.C);
    const auto stride = static_cast<std::ptrdiff_t>(g.stride);
    float acc = 0.0f;
    for (index ki = 0; ki < g.K; ++ki) {
      const std::ptrdiff_t dh = static_cast<std::ptrdiff_t>(ih + g.pad) - static_cast<std::ptrdiff_t>(ki);
      if (dh < 0 || dh % stride != 0 || static_cast<index>(dh) / g.stride >= g.Ho) continue;
      const index oh = static_cast<index>(dh) / g.stride;
      for (index kj = 0; kj < g.K; ++kj) {
        const std::ptrdiff_t dw = static_cast<std::ptrdiff_t>(iw + g.pad) - static_cast<std::ptrdiff_t>(kj);
        if (dw < 0 || dw % stride != 0 || static_cast<index>(dw) / g.stride >= g.Wo) continue;
        const index ow = static_cast<index>(dw) / g.stride;
        float t = 0.0f;
        for (index o = 0; o < g.OC; ++o)
          t += w[((o * g.C + c) * g.K + ki) * g.K + kj] * dy[((i * g.OC + o) * g.Ho + oh) * g.Wo + ow];
        acc += t;
      }
    }
    dx[e] = acc;
  }
};

// ---- max pooling -------------------------------------------------------------------------------
struct maxpool_forward_kernel {
  const float* x;
  index H, W, K, stride, pad, Ho, Wo;
  float* y;
  std::int32_t* argmax;
  CTNN_HD void operator()(index e) const {
    const index ow = e % Wo, oh = e / Wo % Ho, p = e / (Wo * Ho);
    const float* xp = x + p * H * W;
    float best = -__builtin_huge_valf();
    std::int32_t where = -1;
    bool done = false;
    for (index ki = 0; ki < K && !done; ++ki) {
      const std::ptrdiff_t ih = input_at(oh, ki, stride, pad, H);
      if (ih < 0) continue;
      for (index kj = 0; kj < K; ++kj) {
        const std::ptrdiff_t iw = input_at(ow, kj, stride, pad, W);
        if (iw < 0) continue;
        const auto at = static_cast<std::int32_t>(ih * static_cast<std::ptrdiff_t>(W) + iw);
        // NaN propagates as in PyTorch: a NaN wins over every number.
        if (xp[at] > best || is_nan(xp[at]) || where < 0) {
          best = xp[at];
          where = at;
          if (is_nan(best)) {
            done = true;
            break;
          }
        }
      }
    }
    y[e] = best;
    argmax[e] = where;
  }
};
// One plane per work item: windows may overlap, so a plane's scatter stays in one thread.
struct maxpool_backward_kernel {
  const float* dy;
  const std::int32_t* argmax;
  index in_plane, out_plane;
  float* dx;
  CTNN_HD void operator()(index p) const {
    for (index o = 0; o < out_plane; ++o)
      dx[p * in_plane + static_cast<index>(argmax[p * out_plane + o])] += dy[p * out_plane + o];
  }
};

// ---- optimizers --------------------------------------------------------------------------------
struct sgd_kernel {
  float* param;
  const float* grad;
  float* momentum_buffer;
  float lr, momentum, keep, weight_decay;
  bool nesterov, first_step;
  CTNN_HD void operator()(index i) const {
    float g = grad[i];
    if (weight_decay != 0.0f) g += weight_decay * param[i];
    if (momentum != 0.0f) {
      float& buf = momentum_buffer[i];
      buf = first_step ? g : momentum * buf + keep * g;
      g = nesterov ? g + momentum * buf : buf;
    }
    param[i] -= lr * g;
  }
};
struct adam_kernel {
  float* param;
  const float* grad;
  float* m;
  float* v;
  float beta1, beta2, eps, weight_decay, step_size, bias_correction2_sqrt;
  CTNN_HD void operator()(index i) const {
    float g = grad[i];
    if (weight_decay != 0.0f) g += weight_decay * param[i];
    m[i] = m[i] * beta1 + (1.0f - beta1) * g;
    v[i] = v[i] * beta2 + (1.0f - beta2) * g * g;
    const float denom = std::sqrt(v[i]) / bias_correction2_sqrt + eps;
    param[i] -= step_size * (m[i] / denom);
  }
};

// ---- random numbers (counter-based: the numbers of the host backends) --------------------------
struct uniform_kernel {
  float* x;
  std::uint64_t seed, first;
  double lo, hi;
  CTNN_HD void operator()(index i) const { x[i] = static_cast<float>(lo + (hi - lo) * rng::uniform(seed, first + i)); }
};
struct normal_kernel {
  float* x;
  std::uint64_t seed, first;
  double mean, stddev;
  CTNN_HD void operator()(index i) const { x[i] = static_cast<float>(mean + stddev * rng::normal(seed, first + i)); }
};
struct bernoulli_kernel {
  float* x;
  std::uint64_t seed, first;
  double keep;
  float value;
  CTNN_HD void operator()(index i) const { x[i] = rng::uniform(seed, first + i) < keep ? value : 0.0f; }
};

}  // namespace kernels

}  // namespace ctnn::backend
