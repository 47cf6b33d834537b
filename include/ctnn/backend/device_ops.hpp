#pragma once
// The op set (op_set.hpp) of the device backends, Thrust and CUDA, written once: device_ops<Exec> is
// every op as a functor called once per work item (an index), plus the line that launches it through
// the executor. An executor says how work runs and where memory lives:
//
//   template <class T> using buffer = ...;                 device memory that only grows
//   template <class F> static void for_each(size_t n, F);  f(i) for every i in [0, n), any order
//   template <class F> static double sum(size_t n, F);     the sum of f(i) (doubles) over [0, n)
//   template <class T> static void copy(size_t n, const T*, T*);              device to device
//   template <class T> static void to_host(size_t n, const T*, T*);           and the two transfers
//   template <class T> static void from_host(size_t n, const T*, T*);
//
// (thrust.hpp: thrust::for_each over a counting iterator; cuda.hpp: a grid-stride kernel.) Functors
// are marked CTNN_HD, so the same code compiles for the host (g++ with Thrust's OMP/CPP systems) and
// for the device (nvcc): no Thrust, no CUDA runtime, no Eigen here.
//
// Each output value is computed by one work item, in the order of the reference loops (host_ops.hpp):
// no atomics, and the results do not depend on the number of threads.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "../core/config.hpp"
#include "../core/error.hpp"
#include "../core/random.hpp"
#include "backend.hpp"

namespace ctnn::backend {

namespace device {
using index = std::size_t;

CTNN_HD inline bool is_nan(float v) { return v != v; }
CTNN_HD inline bool is_inf(float v) { return v == v && !(v - v == v - v); }

// Row (ih) or column (iw) of the input under output position o and window tap t, or -1 outside.
CTNN_HD inline std::ptrdiff_t input_at(index o, index t, index stride, index pad, index size) {
  const auto v = static_cast<std::ptrdiff_t>(o * stride + t) - static_cast<std::ptrdiff_t>(pad);
  return v >= 0 && v < static_cast<std::ptrdiff_t>(size) ? v : -1;
}
// The output position whose window puts tap t on input position i, or -1 when there is none.
CTNN_HD inline std::ptrdiff_t output_at(index i, index t, index stride, index pad, index size) {
  const std::ptrdiff_t d = static_cast<std::ptrdiff_t>(i + pad) - static_cast<std::ptrdiff_t>(t);
  if (d < 0 || d % static_cast<std::ptrdiff_t>(stride) != 0) return -1;
  const index o = static_cast<index>(d) / stride;
  return o < size ? static_cast<std::ptrdiff_t>(o) : -1;
}

// AdaptiveAvgPool2d's window [first, last) over one axis (op_set.hpp's adaptive_first/last, callable on
// the device).
CTNN_HD inline index adaptive_first(index o, index in, index out) { return o * in / out; }
CTNN_HD inline index adaptive_last(index o, index in, index out) { return ((o + 1) * in + out - 1) / out; }

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
}  // namespace device

template <class Exec>
struct device_ops {
  using scalar = float;
  using index = device::index;
  template <class T>
  using buffer = typename Exec::template buffer<T>;

  // ---- storage -------------------------------------------------------------------------------------
  template <class T>
  struct fill_kernel {
    T* x;
    T v;
    CTNN_HD void operator()(index i) const { x[i] = v; }
  };
  template <class T>
  static void fill(std::size_t n, T* x, T v) { Exec::for_each(n, fill_kernel<T>{x, v}); }
  template <class T>
  static void copy(std::size_t n, const T* src, T* dst) {
    if (n && src != dst) Exec::copy(n, src, dst);
  }
  template <class T>
  static void to_host(std::size_t n, const T* src, T* host_dst) { if (n) Exec::to_host(n, src, host_dst); }
  template <class T>
  static void from_host(std::size_t n, const T* host_src, T* dst) { if (n) Exec::from_host(n, host_src, dst); }

  // ---- GEMM: C = alpha op(A) op(B) + beta C, one 4 x 4 tile of C per work item ------------------------
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
  static void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, float alpha,
                   const float* a, const float* b, float beta, float* c) {
    if (m == 0 || n == 0) return;
    const std::size_t tiles_n = (n + 3) / 4, tiles = (m + 3) / 4 * tiles_n;
    Exec::for_each(tiles, gemm_tile{trans_a, trans_b, m, n, k, tiles_n, alpha, beta, a, b, c});
  }

  // ---- elementwise ---------------------------------------------------------------------------------
  template <class F>
  struct map_kernel {
    const float* x;
    float* y;
    F f;
    CTNN_HD void operator()(index i) const { y[i] = f(x[i]); }
  };
  template <class F>
  static void map(std::size_t n, const float* x, float* y, F f) { Exec::for_each(n, map_kernel<F>{x, y, f}); }
  template <class F>
  struct zip_kernel {
    const float* a;
    const float* b;
    float* y;
    F f;
    CTNN_HD void operator()(index i) const { y[i] = f(a[i], b[i]); }
  };
  template <class F>
  static void zip(std::size_t n, const float* a, const float* b, float* y, F f) {
    Exec::for_each(n, zip_kernel<F>{a, b, y, f});
  }

  // ---- reductions ----------------------------------------------------------------------------------
  struct value_kernel {
    const float* x;
    CTNN_HD double operator()(index i) const { return static_cast<double>(x[i]); }
  };
  static double sum(std::size_t n, const float* x) { return Exec::sum(n, value_kernel{x}); }

  struct add_bias_kernel {
    index channels, inner;
    const float* bias;
    float* y;
    CTNN_HD void operator()(index i) const { y[i] += bias[i / inner % channels]; }
  };
  static void add_bias(std::size_t outer, std::size_t channels, std::size_t inner, const float* bias, float* y) {
    Exec::for_each(outer * channels * inner, add_bias_kernel{channels, inner, bias, y});
  }
  struct bias_grad_kernel {
    index outer, channels, inner;
    const float* dy;
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
  static void bias_grad(std::size_t outer, std::size_t channels, std::size_t inner, const float* dy, float* grad_bias) {
    Exec::for_each(channels, bias_grad_kernel{outer, channels, inner, dy, grad_bias});
  }

  // ---- rows: softmax family, class-index losses (one row per work item) ------------------------------
  struct softmax_kernel {
    index cols;
    const float* x;
    float* y;
    CTNN_HD void operator()(index r) const {
      const float* xr = x + r * cols;
      float* yr = y + r * cols;
      const float mx = device::row_max(xr, cols);
      float total = 0.0f;
      for (index c = 0; c < cols; ++c) total += (yr[c] = std::exp(xr[c] - mx));
      for (index c = 0; c < cols; ++c) yr[c] /= total;
    }
  };
  static void softmax_rows(std::size_t rows, std::size_t cols, const float* x, float* y) {
    Exec::for_each(rows, softmax_kernel{cols, x, y});
  }
  struct log_softmax_kernel {
    index cols;
    const float* x;
    float* y;
    CTNN_HD void operator()(index r) const {
      const float* xr = x + r * cols;
      const float lse = device::log_sum_exp(xr, cols);
      for (index c = 0; c < cols; ++c) y[r * cols + c] = xr[c] - lse;
    }
  };
  static void log_softmax_rows(std::size_t rows, std::size_t cols, const float* x, float* y) {
    Exec::for_each(rows, log_softmax_kernel{cols, x, y});
  }
  struct softmax_backward_kernel {
    index cols;
    const float* y;
    const float* dy;
    float* dx;
    CTNN_HD void operator()(index r) const {
      const index o = r * cols;
      float dot = 0.0f;
      for (index c = 0; c < cols; ++c) dot += dy[o + c] * y[o + c];
      for (index c = 0; c < cols; ++c) dx[o + c] = y[o + c] * (dy[o + c] - dot);
    }
  };
  static void softmax_backward(std::size_t rows, std::size_t cols, const float* y, const float* dy, float* dx) {
    Exec::for_each(rows, softmax_backward_kernel{cols, y, dy, dx});
  }
  struct log_softmax_backward_kernel {
    index cols;
    const float* y;
    const float* dy;
    float* dx;
    CTNN_HD void operator()(index r) const {
      const index o = r * cols;
      float total = 0.0f;
      for (index c = 0; c < cols; ++c) total += dy[o + c];
      for (index c = 0; c < cols; ++c) dx[o + c] = dy[o + c] - std::exp(y[o + c]) * total;
    }
  };
  static void log_softmax_backward(std::size_t rows, std::size_t cols, const float* y, const float* dy, float* dx) {
    Exec::for_each(rows, log_softmax_backward_kernel{cols, y, dy, dx});
  }

  struct cross_entropy_loss {
    index cols;
    const float* logits;
    const std::int64_t* labels;
    CTNN_HD double operator()(index r) const {
      const float* xr = logits + r * cols;
      return static_cast<double>(device::log_sum_exp(xr, cols) - xr[labels[r]]);
    }
  };
  struct cross_entropy_grad {
    index cols;
    const float* logits;
    const std::int64_t* labels;
    float* grad;
    float scale;
    CTNN_HD void operator()(index r) const {
      const float* xr = logits + r * cols;
      float* gr = grad + r * cols;
      const float lse = device::log_sum_exp(xr, cols);
      for (index c = 0; c < cols; ++c) gr[c] = std::exp(xr[c] - lse) * scale;
      gr[labels[r]] -= scale;
    }
  };
  static double cross_entropy(std::size_t rows, std::size_t cols, const float* logits, const std::int64_t* labels,
                              float* grad, float grad_scale) {
    check_labels(rows, cols, labels);
    const double loss = Exec::sum(rows, cross_entropy_loss{cols, logits, labels});
    Exec::for_each(rows, cross_entropy_grad{cols, logits, labels, grad, grad_scale});
    return loss;
  }
  struct nll_loss {
    index cols;
    const float* log_probs;
    const std::int64_t* labels;
    CTNN_HD double operator()(index r) const {
      return -static_cast<double>(log_probs[r * cols + static_cast<index>(labels[r])]);
    }
  };
  struct nll_grad {
    index cols;
    const std::int64_t* labels;
    float* grad;
    float scale;
    CTNN_HD void operator()(index r) const { grad[r * cols + static_cast<index>(labels[r])] = -scale; }
  };
  static double nll(std::size_t rows, std::size_t cols, const float* log_probs, const std::int64_t* labels, float* grad,
                    float grad_scale) {
    check_labels(rows, cols, labels);
    fill(rows * cols, grad, 0.0f);
    const double loss = Exec::sum(rows, nll_loss{cols, log_probs, labels});
    Exec::for_each(rows, nll_grad{cols, labels, grad, grad_scale});
    return loss;
  }

  // ---- convolution: direct kernels over the whole batch (no workspace) --------------------------------
  // Output channel o reads the input channels of its group, grp = o / (OC / groups): input channel
  // grp * (C / groups) + c for the weight's channel c.
  static std::size_t conv2d_workspace(const conv_geometry&, std::size_t) { return 0; }
  // y[i, o, oh, ow] = sum over (c, ki, kj) of w[o, c, ki, kj] x[i, group's c, ih, iw] + bias[o].
  struct conv_forward_kernel {
    conv_geometry g;
    const float* x;
    const float* w;
    const float* bias;
    float* y;
    CTNN_HD void operator()(index e) const {
      const index ow = e % g.Wo, oh = e / g.Wo % g.Ho, o = e / (g.Wo * g.Ho) % g.OC, i = e / (g.Wo * g.Ho * g.OC);
      const index cg = g.C / g.groups, grp = o / (g.OC / g.groups);
      const float* xi = x + (i * g.C + grp * cg) * g.H * g.W;
      const float* wo = w + o * cg * g.KH * g.KW;
      float acc = 0.0f;
      for (index c = 0; c < cg; ++c)
        for (index ki = 0; ki < g.KH; ++ki) {
          const std::ptrdiff_t ih = device::input_at(oh, ki * g.DH, g.SH, g.PH, g.H);
          if (ih < 0) continue;
          const float* xr = xi + (c * g.H + static_cast<index>(ih)) * g.W;
          const float* wr = wo + (c * g.KH + ki) * g.KW;
          for (index kj = 0; kj < g.KW; ++kj) {
            const std::ptrdiff_t iw = device::input_at(ow, kj * g.DW, g.SW, g.PW, g.W);
            if (iw >= 0) acc += wr[kj] * xr[iw];
          }
        }
      y[e] = bias ? acc + bias[o] : acc;
    }
  };
  static void conv2d_forward(const conv_geometry& g, std::size_t n, const float* x, const float* weight,
                             const float* bias, float* y, float* /*workspace*/) {
    Exec::for_each(n * g.OC * g.Ho * g.Wo, conv_forward_kernel{g, x, weight, bias, y});
  }
  // grad_w[o, c, ki, kj] += sum over samples (each sample's sum added in turn) of dy[i, o, .] x[i, c, .].
  struct conv_weight_grad_kernel {
    conv_geometry g;
    index n;
    const float* x;
    const float* dy;
    float* grad_w;
    CTNN_HD void operator()(index e) const {
      const index cg = g.C / g.groups;
      const index kj = e % g.KW, ki = e / g.KW % g.KH, c = e / (g.KW * g.KH) % cg, o = e / (g.KW * g.KH * cg);
      const index grp = o / (g.OC / g.groups);
      float total = grad_w[e];
      for (index i = 0; i < n; ++i) {
        const float* xc = x + (i * g.C + grp * cg + c) * g.H * g.W;
        const float* d = dy + (i * g.OC + o) * g.Ho * g.Wo;
        float acc = 0.0f;
        for (index oh = 0; oh < g.Ho; ++oh) {
          const std::ptrdiff_t ih = device::input_at(oh, ki * g.DH, g.SH, g.PH, g.H);
          if (ih < 0) continue;
          for (index ow = 0; ow < g.Wo; ++ow) {
            const std::ptrdiff_t iw = device::input_at(ow, kj * g.DW, g.SW, g.PW, g.W);
            if (iw >= 0) acc += d[oh * g.Wo + ow] * xc[static_cast<index>(ih) * g.W + static_cast<index>(iw)];
          }
        }
        total = acc + total;
      }
      grad_w[e] = total;
    }
  };
  // dx[i, c, ih, iw] = sum over the taps (ki, kj) that read it of sum over its group's o of
  // w[o, c, ki, kj] dy[i, o, oh, ow].
  struct conv_input_grad_kernel {
    conv_geometry g;
    const float* dy;
    const float* w;
    float* dx;
    CTNN_HD void operator()(index e) const {
      const index iw = e % g.W, ih = e / g.W % g.H, ci = e / (g.W * g.H) % g.C, i = e / (g.W * g.H * g.C);
      const index cg = g.C / g.groups, ocg = g.OC / g.groups, grp = ci / cg, c = ci % cg;
      float acc = 0.0f;
      for (index ki = 0; ki < g.KH; ++ki) {
        const std::ptrdiff_t oh = device::output_at(ih, ki * g.DH, g.SH, g.PH, g.Ho);
        if (oh < 0) continue;
        for (index kj = 0; kj < g.KW; ++kj) {
          const std::ptrdiff_t ow = device::output_at(iw, kj * g.DW, g.SW, g.PW, g.Wo);
          if (ow < 0) continue;
          float t = 0.0f;
          for (index o = grp * ocg; o < (grp + 1) * ocg; ++o)
            t += w[((o * cg + c) * g.KH + ki) * g.KW + kj] *
                 dy[((i * g.OC + o) * g.Ho + static_cast<index>(oh)) * g.Wo + static_cast<index>(ow)];
          acc += t;
        }
      }
      dx[e] = acc;
    }
  };
  static void conv2d_backward(const conv_geometry& g, std::size_t n, const float* x, const float* dy,
                              const float* weight, float* dx, float* grad_weight, float* grad_bias,
                              float* /*workspace*/) {
    if (grad_weight)
      Exec::for_each(g.OC * (g.C / g.groups) * g.KH * g.KW, conv_weight_grad_kernel{g, n, x, dy, grad_weight});
    if (grad_bias) bias_grad(n, g.OC, g.Ho * g.Wo, dy, grad_bias);
    if (dx) Exec::for_each(n * g.C * g.H * g.W, conv_input_grad_kernel{g, dy, weight, dx});
  }

  // ---- pooling: n * g.C planes -----------------------------------------------------------------------
  struct maxpool_forward_kernel {
    pool_geometry g;
    const float* x;
    float* y;
    std::int32_t* argmax;
    CTNN_HD void operator()(index e) const {
      const index ow = e % g.Wo, oh = e / g.Wo % g.Ho, p = e / (g.Wo * g.Ho);
      const float* xp = x + p * g.H * g.W;
      float best = -__builtin_huge_valf();
      std::int32_t where = -1;
      bool done = false;
      for (index ki = 0; ki < g.KH && !done; ++ki) {
        const std::ptrdiff_t ih = device::input_at(oh, ki * g.DH, g.SH, g.PH, g.H);
        if (ih < 0) continue;
        for (index kj = 0; kj < g.KW; ++kj) {
          const std::ptrdiff_t iw = device::input_at(ow, kj * g.DW, g.SW, g.PW, g.W);
          if (iw < 0) continue;
          const auto at = static_cast<std::int32_t>(ih * static_cast<std::ptrdiff_t>(g.W) + iw);
          // NaN propagates as in PyTorch: a NaN wins over every number.
          if (xp[at] > best || device::is_nan(xp[at]) || where < 0) {
            best = xp[at];
            where = at;
            if (device::is_nan(best)) {
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
  static void maxpool_forward(const pool_geometry& g, std::size_t n, const float* x, float* y, std::int32_t* argmax) {
    Exec::for_each(n * g.C * g.Ho * g.Wo, maxpool_forward_kernel{g, x, y, argmax});
  }
  // One plane per work item: windows may overlap, so a plane's scatter stays in one thread.
  struct maxpool_backward_kernel {
    index in_plane, out_plane;
    const float* dy;
    const std::int32_t* argmax;
    float* dx;
    CTNN_HD void operator()(index p) const {
      for (index o = 0; o < out_plane; ++o)
        dx[p * in_plane + static_cast<index>(argmax[p * out_plane + o])] += dy[p * out_plane + o];
    }
  };
  static void maxpool_backward(const pool_geometry& g, std::size_t n, const float* dy, const std::int32_t* argmax,
                               float* dx) {
    fill(n * g.C * g.H * g.W, dx, 0.0f);
    Exec::for_each(n * g.C, maxpool_backward_kernel{g.H * g.W, g.Ho * g.Wo, dy, argmax, dx});
  }
  // The mean of the KH x KW window, padding counted as zeros (count_include_pad=True).
  struct avgpool_forward_kernel {
    pool_geometry g;
    const float* x;
    float* y;
    CTNN_HD void operator()(index e) const {
      const index ow = e % g.Wo, oh = e / g.Wo % g.Ho, p = e / (g.Wo * g.Ho);
      const float* xp = x + p * g.H * g.W;
      float total = 0.0f;
      for (index ki = 0; ki < g.KH; ++ki) {
        const std::ptrdiff_t ih = device::input_at(oh, ki * g.DH, g.SH, g.PH, g.H);
        if (ih < 0) continue;
        for (index kj = 0; kj < g.KW; ++kj) {
          const std::ptrdiff_t iw = device::input_at(ow, kj * g.DW, g.SW, g.PW, g.W);
          if (iw >= 0) total += xp[ih * static_cast<std::ptrdiff_t>(g.W) + iw];
        }
      }
      y[e] = total / static_cast<float>(g.KH * g.KW);
    }
  };
  static void avgpool_forward(const pool_geometry& g, std::size_t n, const float* x, float* y) {
    Exec::for_each(n * g.C * g.Ho * g.Wo, avgpool_forward_kernel{g, x, y});
  }
  // One input value per work item, gathering dy / (KH * KW) of the windows over it in row-major window
  // order (taps from the last to the first): host_ops' scatter adds them in that order too.
  struct avgpool_backward_kernel {
    pool_geometry g;
    const float* dy;
    float* dx;
    CTNN_HD void operator()(index e) const {
      const index iw = e % g.W, ih = e / g.W % g.H, p = e / (g.W * g.H);
      const float* dyp = dy + p * g.Ho * g.Wo;
      const auto divisor = static_cast<float>(g.KH * g.KW);
      float acc = 0.0f;
      for (index ki = g.KH; ki-- > 0;) {
        const std::ptrdiff_t oh = device::output_at(ih, ki * g.DH, g.SH, g.PH, g.Ho);
        if (oh < 0) continue;
        for (index kj = g.KW; kj-- > 0;) {
          const std::ptrdiff_t ow = device::output_at(iw, kj * g.DW, g.SW, g.PW, g.Wo);
          if (ow >= 0) acc += dyp[static_cast<index>(oh) * g.Wo + static_cast<index>(ow)] / divisor;
        }
      }
      dx[e] = acc;
    }
  };
  static void avgpool_backward(const pool_geometry& g, std::size_t n, const float* dy, float* dx) {
    Exec::for_each(n * g.C * g.H * g.W, avgpool_backward_kernel{g, dy, dx});
  }
  struct adaptive_avgpool_forward_kernel {
    pool_geometry g;
    const float* x;
    float* y;
    CTNN_HD void operator()(index e) const {
      const index ow = e % g.Wo, oh = e / g.Wo % g.Ho, p = e / (g.Wo * g.Ho);
      const float* xp = x + p * g.H * g.W;
      const index h0 = device::adaptive_first(oh, g.H, g.Ho), h1 = device::adaptive_last(oh, g.H, g.Ho);
      const index w0 = device::adaptive_first(ow, g.W, g.Wo), w1 = device::adaptive_last(ow, g.W, g.Wo);
      float total = 0.0f;
      for (index ih = h0; ih < h1; ++ih)
        for (index iw = w0; iw < w1; ++iw) total += xp[ih * g.W + iw];
      y[e] = total / static_cast<float>((h1 - h0) * (w1 - w0));
    }
  };
  static void adaptive_avgpool_forward(const pool_geometry& g, std::size_t n, const float* x, float* y) {
    Exec::for_each(n * g.C * g.Ho * g.Wo, adaptive_avgpool_forward_kernel{g, x, y});
  }
  // One input value per work item, gathering the shares of the windows over it in row-major order, as
  // host_ops' scatter adds them.
  struct adaptive_avgpool_backward_kernel {
    pool_geometry g;
    const float* dy;
    float* dx;
    CTNN_HD void operator()(index e) const {
      const index iw = e % g.W, ih = e / g.W % g.H, p = e / (g.W * g.H);
      const float* dyp = dy + p * g.Ho * g.Wo;
      float acc = 0.0f;
      for (index oh = ih * g.Ho / g.H; oh < g.Ho && device::adaptive_first(oh, g.H, g.Ho) <= ih; ++oh) {
        const index h0 = device::adaptive_first(oh, g.H, g.Ho), h1 = device::adaptive_last(oh, g.H, g.Ho);
        if (ih >= h1) continue;
        for (index ow = iw * g.Wo / g.W; ow < g.Wo && device::adaptive_first(ow, g.W, g.Wo) <= iw; ++ow) {
          const index w0 = device::adaptive_first(ow, g.W, g.Wo), w1 = device::adaptive_last(ow, g.W, g.Wo);
          if (iw < w1) acc += dyp[oh * g.Wo + ow] / static_cast<float>((h1 - h0) * (w1 - w0));
        }
      }
      dx[e] = acc;
    }
  };
  static void adaptive_avgpool_backward(const pool_geometry& g, std::size_t n, const float* dy, float* dx) {
    Exec::for_each(n * g.C * g.H * g.W, adaptive_avgpool_backward_kernel{g, dy, dx});
  }

  // ---- batch norm (host_ops.hpp has the formulas): one work item per channel for the reductions -------
  struct batchnorm_stats_kernel {
    index outer, channels, inner;
    const float* x;
    float* mean;
    float* var;
    CTNN_HD void operator()(index c) const {
      double total = 0;
      for (index o = 0; o < outer; ++o)
        for (index i = 0; i < inner; ++i) total += static_cast<double>(x[(o * channels + c) * inner + i]);
      const double m = total / static_cast<double>(outer * inner);
      double squares = 0;
      for (index o = 0; o < outer; ++o)
        for (index i = 0; i < inner; ++i) {
          const double d = static_cast<double>(x[(o * channels + c) * inner + i]) - m;
          squares += d * d;
        }
      mean[c] = static_cast<float>(m);
      var[c] = static_cast<float>(squares / static_cast<double>(outer * inner));
    }
  };
  static void batchnorm_stats(std::size_t outer, std::size_t channels, std::size_t inner, const float* x, float* mean,
                              float* var) {
    Exec::for_each(channels, batchnorm_stats_kernel{outer, channels, inner, x, mean, var});
  }
  struct batchnorm_forward_kernel {
    index channels, inner;
    const float* x;
    const float* mean;
    const float* var;
    const float* weight;
    const float* bias;
    float* y;
    float eps;
    CTNN_HD void operator()(index e) const {
      const index c = e / inner % channels;
      const float invstd = 1.0f / std::sqrt(var[c] + eps);
      const float scale = weight ? weight[c] * invstd : invstd;
      const float shift = (bias ? bias[c] : 0.0f) - mean[c] * scale;
      y[e] = x[e] * scale + shift;
    }
  };
  static void batchnorm_forward(std::size_t outer, std::size_t channels, std::size_t inner, const float* x,
                                const float* mean, const float* var, const float* weight, const float* bias, float* y,
                                float eps) {
    Exec::for_each(outer * channels * inner, batchnorm_forward_kernel{channels, inner, x, mean, var, weight, bias, y, eps});
  }
  struct batchnorm_backward_kernel {
    index outer, channels, inner;
    const float* x;
    const float* dy;
    const float* mean;
    const float* var;
    const float* weight;
    float* dx;
    float* grad_weight;
    float* grad_bias;
    float eps;
    bool batch_stats;
    CTNN_HD void operator()(index c) const {
      const double invstd = 1.0 / std::sqrt(static_cast<double>(var[c]) + static_cast<double>(eps));
      const double m = static_cast<double>(mean[c]);
      double sum_dy = 0, sum_dy_xhat = 0;
      for (index o = 0; o < outer; ++o)
        for (index i = 0; i < inner; ++i) {
          const index e = (o * channels + c) * inner + i;
          sum_dy += static_cast<double>(dy[e]);
          sum_dy_xhat += static_cast<double>(dy[e]) * (static_cast<double>(x[e]) - m) * invstd;
        }
      if (grad_bias) grad_bias[c] += static_cast<float>(sum_dy);
      if (grad_weight) grad_weight[c] += static_cast<float>(sum_dy_xhat);
      if (!dx) return;
      const double count = static_cast<double>(outer * inner);
      const double scale = (weight ? static_cast<double>(weight[c]) : 1.0) * invstd;
      const double mean_dy = batch_stats ? sum_dy / count : 0.0, mean_dy_xhat = batch_stats ? sum_dy_xhat / count : 0.0;
      for (index o = 0; o < outer; ++o)
        for (index i = 0; i < inner; ++i) {
          const index e = (o * channels + c) * inner + i;
          const double xhat = (static_cast<double>(x[e]) - m) * invstd;
          dx[e] = static_cast<float>(scale * (static_cast<double>(dy[e]) - mean_dy - xhat * mean_dy_xhat));
        }
    }
  };
  static void batchnorm_backward(std::size_t outer, std::size_t channels, std::size_t inner, const float* x,
                                 const float* dy, const float* mean, const float* var, const float* weight, float* dx,
                                 float* grad_weight, float* grad_bias, float eps, bool batch_stats) {
    Exec::for_each(channels, batchnorm_backward_kernel{outer, channels, inner, x, dy, mean, var, weight, dx,
                                                       grad_weight, grad_bias, eps, batch_stats});
  }

  // ---- optimizers (host_ops.hpp has the formulas' sources) --------------------------------------------
  struct sgd_kernel {
    const float* grad;
    float* param;
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
  static void sgd_update(std::size_t n, const float* grad, float* param, float* momentum_buffer, float lr,
                         float momentum, float dampening, float weight_decay, bool nesterov, bool first_step) {
    Exec::for_each(n, sgd_kernel{grad, param, momentum_buffer, lr, momentum, 1.0f - dampening, weight_decay, nesterov,
                                 first_step});
  }
  struct adam_kernel {
    const float* grad;
    float* param;
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
  static void adam_update(std::size_t n, const float* grad, float* param, float* m, float* v, float beta1, float beta2,
                          float eps, float weight_decay, float step_size, float bias_correction2_sqrt) {
    Exec::for_each(n, adam_kernel{grad, param, m, v, beta1, beta2, eps, weight_decay, step_size, bias_correction2_sqrt});
  }
  struct amsgrad_kernel {
    const float* grad;
    float* param;
    float* m;
    float* v;
    float* max_v;
    float beta1, beta2, eps, weight_decay, step_size, bias_correction2_sqrt;
    CTNN_HD void operator()(index i) const {
      float g = grad[i];
      if (weight_decay != 0.0f) g += weight_decay * param[i];
      m[i] = m[i] * beta1 + (1.0f - beta1) * g;
      v[i] = v[i] * beta2 + (1.0f - beta2) * g * g;
      if (v[i] > max_v[i]) max_v[i] = v[i];
      const float denom = std::sqrt(max_v[i]) / bias_correction2_sqrt + eps;
      param[i] -= step_size * (m[i] / denom);
    }
  };
  static void amsgrad_update(std::size_t n, const float* grad, float* param, float* m, float* v, float* max_v,
                             float beta1, float beta2, float eps, float weight_decay, float step_size,
                             float bias_correction2_sqrt) {
    Exec::for_each(n, amsgrad_kernel{grad, param, m, v, max_v, beta1, beta2, eps, weight_decay, step_size,
                                     bias_correction2_sqrt});
  }
  struct adadelta_kernel {
    const float* grad;
    float* param;
    float* square_avg;
    float* acc_delta;
    float lr, rho, eps, weight_decay;
    CTNN_HD void operator()(index i) const {
      float g = grad[i];
      if (weight_decay != 0.0f) g += weight_decay * param[i];
      square_avg[i] = square_avg[i] * rho + (1.0f - rho) * g * g;
      const float delta = std::sqrt(acc_delta[i] + eps) / std::sqrt(square_avg[i] + eps) * g;
      acc_delta[i] = acc_delta[i] * rho + (1.0f - rho) * delta * delta;
      param[i] -= lr * delta;
    }
  };
  static void adadelta_update(std::size_t n, const float* grad, float* param, float* square_avg, float* acc_delta,
                              float lr, float rho, float eps, float weight_decay) {
    Exec::for_each(n, adadelta_kernel{grad, param, square_avg, acc_delta, lr, rho, eps, weight_decay});
  }
  struct adagrad_kernel {
    const float* grad;
    float* param;
    float* state_sum;
    float clr, eps, weight_decay;
    CTNN_HD void operator()(index i) const {
      float g = grad[i];
      if (weight_decay != 0.0f) g += weight_decay * param[i];
      state_sum[i] += g * g;
      param[i] -= clr * (g / (std::sqrt(state_sum[i]) + eps));
    }
  };
  static void adagrad_update(std::size_t n, const float* grad, float* param, float* state_sum, float clr, float eps,
                             float weight_decay) {
    Exec::for_each(n, adagrad_kernel{grad, param, state_sum, clr, eps, weight_decay});
  }
  struct rmsprop_kernel {
    const float* grad;
    float* param;
    float* square_avg;
    float* grad_avg;
    float* momentum_buffer;
    float lr, alpha, eps, weight_decay, momentum;
    CTNN_HD void operator()(index i) const {
      float g = grad[i];
      if (weight_decay != 0.0f) g += weight_decay * param[i];
      square_avg[i] = square_avg[i] * alpha + (1.0f - alpha) * g * g;
      float avg;
      if (grad_avg) {
        grad_avg[i] = grad_avg[i] * alpha + (1.0f - alpha) * g;
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
  };
  static void rmsprop_update(std::size_t n, const float* grad, float* param, float* square_avg, float* grad_avg,
                             float* momentum_buffer, float lr, float alpha, float eps, float weight_decay,
                             float momentum) {
    Exec::for_each(n, rmsprop_kernel{grad, param, square_avg, grad_avg, momentum_buffer, lr, alpha, eps, weight_decay,
                                     momentum});
  }

  // ---- random numbers (counter-based: the numbers of the host backends) --------------------------------
  struct uniform_kernel {
    float* x;
    std::uint64_t seed, first;
    double lo, hi;
    CTNN_HD void operator()(index i) const { x[i] = static_cast<float>(lo + (hi - lo) * rng::uniform(seed, first + i)); }
  };
  static void fill_uniform(std::size_t n, float* x, double lo, double hi, Generator& g) {
    const std::uint64_t seed = g.seed(), first = g.advance(n);
    Exec::for_each(n, uniform_kernel{x, seed, first, lo, hi});
  }
  struct normal_kernel {
    float* x;
    std::uint64_t seed, first;
    double mean, stddev;
    CTNN_HD void operator()(index i) const {
      x[i] = static_cast<float>(mean + stddev * rng::normal(seed, first + i));
    }
  };
  static void fill_normal(std::size_t n, float* x, double mean, double stddev, Generator& g) {
    const std::uint64_t seed = g.seed(), first = g.advance(n);
    Exec::for_each(n, normal_kernel{x, seed, first, mean, stddev});
  }
  struct bernoulli_kernel {
    float* x;
    std::uint64_t seed, first;
    double keep;
    float value;
    CTNN_HD void operator()(index i) const { x[i] = rng::uniform(seed, first + i) < keep ? value : 0.0f; }
  };
  static void fill_bernoulli(std::size_t n, float* x, double keep, float value, Generator& g) {
    const std::uint64_t seed = g.seed(), first = g.advance(n);
    Exec::for_each(n, bernoulli_kernel{x, seed, first, keep, value});
  }

 private:
  // Labels are few (one per sample): checked on the host, with the host backends' message.
  static void check_labels(std::size_t rows, std::size_t classes, const std::int64_t* labels) {
    std::vector<std::int64_t> host(rows);
    to_host(rows, labels, host.data());
    for (std::size_t r = 0; r < rows; ++r)
      if (host[r] < 0 || static_cast<std::size_t>(host[r]) >= classes)
        throw error(cat("label ", host[r], " of sample ", r, " is out of range: the model has ", classes,
                        " classes (0 to ", classes - 1, ")"));
  }
};

}  // namespace ctnn::backend
