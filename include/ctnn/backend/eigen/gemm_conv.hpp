#pragma once
// Every convolution the direct 3x3 kernels do not take (any kernel, stride, padding, dilation, groups),
// for the Eigen backend: im2col + GEMM over the whole batch, not sample by sample. Per group, the batch's
// output positions are the columns of one product, W [OC/g, patch] x col [patch, n Ho Wo], cut into
// `units` of consecutive columns (sample-major, so a unit may end inside a sample and the next begin
// there): each unit's columns are built in a buffer of about 512 KB (it stays in the L2 cache between
// im2col writing it and the GEMM packing it) and multiplied at once, so the GEMM has hundreds of columns
// even for a 7 x 7 map, and a batch of 1 still has several units to share between threads.
//
// Threads take contiguous runs of units, each with its own buffers and Eigen's kernel single-threaded
// inside (no fork/join per product, no thread idle while another multiplies). The units depend on the
// geometry and the batch size only, so the result does not depend on the thread count:
//   forward          each output value is computed by exactly one unit;
//   weight gradient  sum over the units of dY_u col_u^T, gathered in a fixed number of `lanes` (runs of
//                    consecutive units, one partial sum each, threads taking whole lanes) added in order;
//   input gradient   per sample (col2im of one sample touches only its own dx), in chunks of whole
//                    output rows of about a unit's width: W^T dY_chunk, then col2im of the chunk, chunks
//                    in order; samples split over threads; a batch smaller than the thread count runs its
//                    samples in order with the GEMM itself split (gemm() is thread-count independent too).
// im2col and col2im compute which taps of a row segment fall in the padding (tap_range) instead of
// testing each element, so a segment is a zero fill, one copy and a zero fill.
// Scratch buffers are per thread and grow to one unit's size, not the batch's: the layer's workspace
// for this path is empty, so an evaluation batch of 1000 costs no backward-sized memory.
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <vector>

#include "../../core/threads.hpp"
#include "../backend.hpp"
#include "gemm.hpp"
#include "packet.hpp"
#include "reductions.hpp"
#include "taps.hpp"
#include "work_split.hpp"

namespace ctnn::backend::eigen_kernels {

struct gemm_conv_plan {
  std::size_t cg, ocg, patch, positions, total;  // per-group channels, im2col rows, columns per sample, all
  std::size_t width, units;                      // columns per unit, units per group
};

inline gemm_conv_plan plan_gemm_conv(const conv_geometry& g, std::size_t n) {
  gemm_conv_plan p{};
  p.cg = g.C / g.groups;
  p.ocg = g.OC / g.groups;
  p.patch = p.cg * g.KH * g.KW;
  p.positions = g.Ho * g.Wo;
  p.total = n * p.positions;
  // About 128 Ki floats of columns per unit, and at least 4 units when the batch has the columns for it
  // (so that 2 threads have work even at batch 1), in multiples of 16 columns (two AVX-512 packets).
  constexpr std::size_t buffer = std::size_t{1} << 17, quantum = 16, min_units = 4;
  std::size_t width = std::max<std::size_t>(quantum, buffer / std::max<std::size_t>(p.patch, 1));
  width = std::min(width, std::max(quantum, (p.total + min_units - 1) / min_units));
  p.width = (width + quantum - 1) / quantum * quantum;
  p.units = p.total == 0 ? 0 : (p.total + p.width - 1) / p.width;
  return p;
}

// Per-thread scratch that only grows: after the first batch of a shape, no step allocates.
inline float* gemm_conv_scratch(std::size_t which, std::size_t size) {
  thread_local std::vector<float> buffers[3];
  auto& b = buffers[which];
  if (b.size() < size) b.resize(size);
  return b.data();
}

// dst[q] = src[q s] for q in [0, count): a packet gathered at a time (Eigen's pgather), then one by one.
inline void strided_copy(const float* src, std::ptrdiff_t s, std::size_t count, float* dst) {
  std::size_t q = 0;
  for (; q + lanes <= count; q += lanes)
    Eigen::internal::pstoreu(dst + q, Eigen::internal::pgather<float, packet>(src + static_cast<std::ptrdiff_t>(q) * s, static_cast<Eigen::Index>(s)));
  for (; q < count; ++q) dst[q] = src[static_cast<std::ptrdiff_t>(q) * s];
}

// col[r, j - j0] for the im2col rows r of channels [c0, c0 + cg) and batch columns j in [j0, j1).
inline void im2col_columns(const conv_geometry& g, const gemm_conv_plan& p, const float* x, std::size_t c0,
                           std::size_t j0, std::size_t j1, float* col) {
  const std::size_t cols = j1 - j0;
  const auto H = static_cast<std::ptrdiff_t>(g.H), W = static_cast<std::ptrdiff_t>(g.W);
  const auto sw = static_cast<std::ptrdiff_t>(g.SW);
  for (std::size_t j = j0; j < j1;) {
    // one run of columns: sample i, output row oh, output columns [ow0, ow1)
    const std::size_t i = j / p.positions, at = j % p.positions, oh = at / g.Wo, ow0 = at % g.Wo;
    const std::size_t ow1 = std::min(g.Wo, ow0 + (j1 - j)), run = ow1 - ow0, out = j - j0;
    const float* xi = x + (i * g.C + c0) * g.H * g.W;
    for (std::size_t c = 0; c < p.cg; ++c)
      for (std::size_t ki = 0; ki < g.KH; ++ki) {
        const std::ptrdiff_t ih = static_cast<std::ptrdiff_t>(oh * g.SH + ki * g.DH) - static_cast<std::ptrdiff_t>(g.PH);
        float* row = col + (c * g.KH + ki) * g.KW * cols + out;
        if (ih < 0 || ih >= H) {
          for (std::size_t kj = 0; kj < g.KW; ++kj) std::fill_n(row + kj * cols, run, 0.0f);
          continue;
        }
        const float* src = xi + (c * g.H + static_cast<std::size_t>(ih)) * g.W;
        for (std::size_t kj = 0; kj < g.KW; ++kj) {
          float* dst = row + kj * cols;
          const std::ptrdiff_t first = static_cast<std::ptrdiff_t>(ow0 * g.SW + kj * g.DW) - static_cast<std::ptrdiff_t>(g.PW);
          const tap_range t = taps_inside(first, sw, run, W);
          std::fill_n(dst, t.lo, 0.0f);
          if (sw == 1) std::memcpy(dst + t.lo, src + first + static_cast<std::ptrdiff_t>(t.lo), (t.hi - t.lo) * sizeof(float));
          else
            strided_copy(src + first + static_cast<std::ptrdiff_t>(t.lo) * sw, sw, t.hi - t.lo, dst + t.lo);
          std::fill_n(dst + t.hi, run - t.hi, 0.0f);
        }
      }
    j += run;
  }
}

// dx_i[cg, H, W] += col2im(colgrad) for the columns [a0, a1) of one sample's positions (colgrad holds
// them as [patch, a1 - a0]): the transpose of im2col_columns, by the same tap ranges.
inline void col2im_columns(const conv_geometry& g, const gemm_conv_plan& p, const float* colgrad, std::size_t a0,
                           std::size_t a1, float* dxi) {
  const std::size_t cols = a1 - a0;
  const auto H = static_cast<std::ptrdiff_t>(g.H), W = static_cast<std::ptrdiff_t>(g.W);
  const auto sw = static_cast<std::ptrdiff_t>(g.SW);
  for (std::size_t at = a0; at < a1;) {
    const std::size_t oh = at / g.Wo, ow0 = at % g.Wo, run = std::min(g.Wo, ow0 + (a1 - at)) - ow0, out = at - a0;
    for (std::size_t kj = 0; kj < g.KW; ++kj) {
      const std::ptrdiff_t first = static_cast<std::ptrdiff_t>(ow0 * g.SW + kj * g.DW) - static_cast<std::ptrdiff_t>(g.PW);
      const tap_range t = taps_inside(first, sw, run, W);
      if (t.lo == t.hi) continue;
      for (std::size_t c = 0; c < p.cg; ++c)
        for (std::size_t ki = 0; ki < g.KH; ++ki) {
          const std::ptrdiff_t ih = static_cast<std::ptrdiff_t>(oh * g.SH + ki * g.DH) - static_cast<std::ptrdiff_t>(g.PH);
          if (ih < 0 || ih >= H) continue;
          const float* __restrict src = colgrad + ((c * g.KH + ki) * g.KW + kj) * cols + out;
          float* __restrict dst = dxi + (c * g.H + static_cast<std::size_t>(ih)) * g.W + first;
          if (sw == 1)
            for (std::size_t q = t.lo; q < t.hi; ++q) dst[q] += src[q];
          else
            for (std::size_t q = t.lo; q < t.hi; ++q) dst[static_cast<std::ptrdiff_t>(q) * sw] += src[q];
        }
    }
    at += run;
  }
}

// A unit's [ocg, cols] block to the [n, OC, positions] tensor at output channel o0, adding the bias when
// given (store_block), and back (gather_block).
template <class Copy>
void for_unit_runs(const gemm_conv_plan& p, std::size_t OC, std::size_t o0, std::size_t j0, std::size_t j1, Copy copy) {
  const std::size_t cols = j1 - j0;
  for (std::size_t j = j0; j < j1;) {
    const std::size_t i = j / p.positions, at = j % p.positions, run = std::min(p.positions - at, j1 - j);
    for (std::size_t o = 0; o < p.ocg; ++o) copy(o, (i * OC + o0 + o) * p.positions + at, o * cols + (j - j0), run);
    j += run;
  }
}
inline void store_block(const gemm_conv_plan& p, std::size_t OC, std::size_t o0, std::size_t j0, std::size_t j1,
                        const float* block, const float* bias, float* tensor) {
  for_unit_runs(p, OC, o0, j0, j1, [&](std::size_t o, std::size_t t, std::size_t b, std::size_t run) {
    if (!bias) return static_cast<void>(std::memcpy(tensor + t, block + b, run * sizeof(float)));
    const float v = bias[o0 + o];
    for (std::size_t q = 0; q < run; ++q) tensor[t + q] = block[b + q] + v;
  });
}
inline void gather_block(const gemm_conv_plan& p, std::size_t OC, std::size_t o0, std::size_t j0, std::size_t j1,
                         const float* tensor, float* block) {
  for_unit_runs(p, OC, o0, j0, j1, [&](std::size_t, std::size_t t, std::size_t b, std::size_t run) {
    std::memcpy(block + b, tensor + t, run * sizeof(float));
  });
}

// Calls f(first, last) on contiguous parts of [0, items), one per thread, when the work is worth threads.
template <class F>
void split_items(std::size_t items, double flop, F&& f) {
  const int threads = std::min<int>(static_cast<int>(items), detail::threads_for(flop, gemm_grain));
  if (threads <= 1) {
    detail::single_threaded_eigen serial;
    if (items) f(std::size_t{0}, items);
    return;
  }
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
  {
    detail::single_threaded_eigen serial;
    const auto part = static_cast<std::size_t>(omp_get_thread_num()), parts = static_cast<std::size_t>(omp_get_num_threads());
    const std::size_t first = items * part / parts, last = items * (part + 1) / parts;
    if (first < last) f(first, last);
  }
#endif
}

inline void gemm_conv2d_forward(const conv_geometry& g, std::size_t n, const float* x, const float* weight,
                                const float* bias, float* y) {
  const gemm_conv_plan p = plan_gemm_conv(g, n);
  if (p.units == 0) return;
  const double flop = static_cast<double>(g.OC) * static_cast<double>(p.patch) * static_cast<double>(p.total);
  split_items(p.units * g.groups, flop, [&](std::size_t first, std::size_t last) {
    float* col = gemm_conv_scratch(0, p.patch * p.width);
    float* out = gemm_conv_scratch(1, p.ocg * p.width);
    for (std::size_t u = first; u < last; ++u) {
      const std::size_t grp = u / p.units, j0 = u % p.units * p.width, j1 = std::min(p.total, j0 + p.width);
      im2col_columns(g, p, x, grp * p.cg, j0, j1, col);
      gemm(false, false, p.ocg, j1 - j0, p.patch, 1.0f, weight + grp * p.ocg * p.patch, col, 0.0f, out);
      store_block(p, g.OC, grp * p.ocg, j0, j1, out, bias, y);
    }
  });
}

inline void gemm_conv2d_backward(const conv_geometry& g, std::size_t n, const float* x, const float* dy,
                                 const float* weight, float* dx, float* grad_weight, float* grad_bias) {
  const gemm_conv_plan p = plan_gemm_conv(g, n);
  const std::size_t in_size = g.C * g.H * g.W, wsize = p.ocg * p.patch;
  if (grad_bias) bias_grad(dy, n, g.OC, p.positions, grad_bias);
  if (p.units == 0) {
    if (dx) std::fill_n(dx, n * in_size, 0.0f);
    return;
  }
  const double flop = static_cast<double>(g.OC) * static_cast<double>(p.patch) * static_cast<double>(p.total);
  // Weight gradient (skipped without grad_weight: then x is not read, as ConvTranspose2d's forward asks):
  // lanes x groups partial sums, each over a run of consecutive units.
  constexpr std::size_t max_lanes = 4;
  const std::size_t lanes_per_group = grad_weight ? std::min(max_lanes, p.units) : 0;
  std::vector<float>& partial = [&]() -> std::vector<float>& {
    thread_local std::vector<float> v;
    if (v.size() < lanes_per_group * g.groups * wsize) v.resize(lanes_per_group * g.groups * wsize);
    return v;
  }();
  split_items(lanes_per_group * g.groups, flop, [&](std::size_t first, std::size_t last) {
    float* col = gemm_conv_scratch(0, p.patch * p.width);
    float* d = gemm_conv_scratch(1, p.ocg * p.width);
    for (std::size_t l = first; l < last; ++l) {
      const std::size_t grp = l / lanes_per_group, lane = l % lanes_per_group;
      float* acc = partial.data() + l * wsize;
      const std::size_t u0 = p.units * lane / lanes_per_group, u1 = p.units * (lane + 1) / lanes_per_group;
      for (std::size_t u = u0; u < u1; ++u) {
        const std::size_t j0 = u * p.width, j1 = std::min(p.total, j0 + p.width);
        im2col_columns(g, p, x, grp * p.cg, j0, j1, col);
        gather_block(p, g.OC, grp * p.ocg, j0, j1, dy, d);
        gemm(false, true, p.ocg, p.patch, j1 - j0, 1.0f, d, col, u == u0 ? 0.0f : 1.0f, acc);
      }
    }
  });
  for (std::size_t grp = 0; grp < g.groups && grad_weight; ++grp) {
    float* gw = grad_weight + grp * wsize;
    for (std::size_t lane = 0; lane < lanes_per_group; ++lane) {
      const float* acc = partial.data() + (grp * lanes_per_group + lane) * wsize;
      for (std::size_t e = 0; e < wsize; ++e) gw[e] += acc[e];
    }
  }
  if (!dx) return;
  // Input gradient, sample by sample (col2im of one sample touches only its own dx), each sample in
  // chunks of whole output rows of about a unit's width: colgrad = W_g^T dY_chunk (built in L2-sized
  // scratch, not a whole sample's [patch, positions] columns), then col2im into dx_i, chunks in order.
  const std::size_t rows_per_chunk = std::max<std::size_t>(1, p.width / std::max<std::size_t>(g.Wo, 1));
  const std::size_t chunk = std::min(p.positions, rows_per_chunk * g.Wo);
  auto input_grad = [&](std::size_t i) {
    float* colgrad = gemm_conv_scratch(2, p.patch * chunk);
    float* d = gemm_conv_scratch(1, p.ocg * chunk);
    float* dxi = dx + i * in_size;
    std::fill_n(dxi, in_size, 0.0f);
    for (std::size_t grp = 0; grp < g.groups; ++grp)
      for (std::size_t a0 = 0; a0 < p.positions; a0 += chunk) {
        const std::size_t a1 = std::min(p.positions, a0 + chunk), cols = a1 - a0;
        const float* dyi = dy + (i * g.OC + grp * p.ocg) * p.positions;
        for (std::size_t o = 0; o < p.ocg; ++o) std::memcpy(d + o * cols, dyi + o * p.positions + a0, cols * sizeof(float));
        gemm(true, false, p.patch, cols, p.ocg, 1.0f, weight + grp * wsize, d, 0.0f, colgrad);
        col2im_columns(g, p, colgrad, a0, a1, dxi + grp * p.cg * g.H * g.W);
      }
  };
  if (n >= get_num_threads()) {
    split_items(n, flop, [&](std::size_t first, std::size_t last) {
      for (std::size_t i = first; i < last; ++i) input_grad(i);
    });
  } else {
    for (std::size_t i = 0; i < n; ++i) input_grad(i);
  }
}

}  // namespace ctnn::backend::eigen_kernels
