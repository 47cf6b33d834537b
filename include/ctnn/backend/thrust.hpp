#pragma once
// backend::thrust<System>: float tensors in Thrust device vectors, every op a Thrust algorithm
// (transform, fill, copy, for_each over a counting iterator; sums in fixed blocks) with functors
// marked CTNN_HD. The device system is Thrust's: THRUST_DEVICE_SYSTEM picks it when the header is
// compiled. With the OMP (or CPP, TBB) system it builds with plain g++ and runs on the CPU:
//
//   g++ -std=c++20 -fopenmp -DTHRUST_DEVICE_SYSTEM=THRUST_DEVICE_SYSTEM_OMP
//       -isystem /usr/local/cuda/include/cccl ...        (or Debian's libthrust-dev in /usr/include)
//
// with nvcc and the CUDA system the same code runs on a GPU. The memory is always treated as device
// memory (host_memory = false): values are read with Batch::to_host, never through data().
//
// This header needs Thrust, so <ctnn/ctnn.hpp> does not include it: include <ctnn/backend/thrust.hpp>.
//
// Kernels are written so that each output value is computed by one work item, in the order the
// reference loops (host_ops.hpp) use: no atomics, and results do not depend on the thread count
// (sums too: fixed blocks added in order, see reduce_sum). Convolutions are direct (one work item per output value, per
// weight-gradient entry and per input-gradient value), GEMM is a 4 x 4 register tile per work item.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <vector>

#include <thrust/copy.h>
#include <thrust/device_ptr.h>
#include <thrust/device_vector.h>
#include <thrust/execution_policy.h>
#include <thrust/fill.h>
#include <thrust/for_each.h>
#include <thrust/functional.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/transform.h>

#include "../core/config.hpp"
#include "../core/error.hpp"
#include "../core/random.hpp"
#include "backend.hpp"
#include "kernels.hpp"

namespace ctnn::backend {

// The tag. System is the Thrust system the algorithms run on (its tag type doubles as the execution
// policy); the memory is the device system's (thrust::device_vector), so System must be the device
// system or, when the device system keeps its memory on the host (OMP, CPP, TBB), any host system:
// thrust<thrust::system::cpp::tag> runs the same ops sequentially on OMP device vectors.
template <class System = ::thrust::device_system_tag>
struct thrust {
  using scalar = float;
  using system = System;
  static constexpr bool host_memory = false;
  static constexpr std::string_view name = "thrust";
};

// Device memory that only grows: size() is what the last resize asked for, the allocation is kept
// when a smaller size is asked, so a training loop allocates during its first step only.
template <class T>
class thrust_buffer {
 public:
  thrust_buffer() = default;
  explicit thrust_buffer(std::size_t n) { resize(n); }
  void resize(std::size_t n) {
    if (n > storage_.size()) storage_.resize(n);
    size_ = n;
  }
  std::size_t size() const { return size_; }
  T* data() { return ::thrust::raw_pointer_cast(storage_.data()); }
  const T* data() const { return ::thrust::raw_pointer_cast(storage_.data()); }

 private:
  ::thrust::device_vector<T> storage_;
  std::size_t size_ = 0;
};


template <class System>
struct ops<thrust<System>> {
  using scalar = float;
  template <class T>
  using buffer = thrust_buffer<T>;

  // ---- storage -------------------------------------------------------------------------------
  template <class T>
  static void fill(T* x, std::size_t n, T v) {
    if (n) ::thrust::fill_n(System{}, x, n, v);
  }
  template <class T>
  static void copy(const T* src, std::size_t n, T* dst) {
    if (n && src != dst) ::thrust::copy_n(System{}, src, n, dst);
  }
  template <class T>
  static void to_host(const T* src, std::size_t n, T* host_dst) {
    if (n) ::thrust::copy_n(::thrust::device_pointer_cast(src), n, host_dst);
  }
  template <class T>
  static void from_host(const T* host_src, std::size_t n, T* dst) {
    if (n) ::thrust::copy_n(host_src, n, ::thrust::device_pointer_cast(dst));
  }

  // ---- GEMM ------------------------------------------------------------------------------------
  static void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, float alpha,
                   const float* a, const float* b, float beta, float* c) {
    if (m == 0 || n == 0) return;
    const std::size_t tiles_n = (n + 3) / 4, tiles = (m + 3) / 4 * tiles_n;
    for_each(tiles, kernels::gemm_tile{trans_a, trans_b, m, n, k, tiles_n, alpha, beta, a, b, c});
  }

  // ---- elementwise -------------------------------------------------------------------------------
  template <class F>
  static void map(std::size_t n, const float* x, float* y, F f) {
    if (n) ::thrust::transform(System{}, x, x + n, y, kernels::apply_unary<F>{f});
  }
  template <class F>
  static void zip(std::size_t n, const float* a, const float* b, float* y, F f) {
    if (n) ::thrust::transform(System{}, a, a + n, b, y, kernels::apply_binary<F>{f});
  }

  // ---- reductions ----------------------------------------------------------------------------------
  static double sum(std::size_t n, const float* x) { return reduce_sum(n, kernels::value_as_double{x}); }
  static void add_bias(float* y, const float* bias, std::size_t outer, std::size_t channels, std::size_t inner) {
    for_each(outer * channels * inner, kernels::add_bias_kernel{y, bias, channels, inner});
  }
  static void bias_grad(const float* dy, std::size_t outer, std::size_t channels, std::size_t inner, float* grad_bias) {
    for_each(channels, kernels::bias_grad_kernel{dy, outer, channels, inner, grad_bias});
  }
  static void softmax_rows(const float* x, float* y, std::size_t rows, std::size_t cols) {
    for_each(rows, kernels::softmax_kernel{x, y, cols});
  }
  static void log_softmax_rows(const float* x, float* y, std::size_t rows, std::size_t cols) {
    for_each(rows, kernels::log_softmax_kernel{x, y, cols});
  }
  static void softmax_backward(const float* y, const float* dy, float* dx, std::size_t rows, std::size_t cols) {
    for_each(rows, kernels::softmax_backward_kernel{y, dy, dx, cols});
  }
  static void log_softmax_backward(const float* y, const float* dy, float* dx, std::size_t rows, std::size_t cols) {
    for_each(rows, kernels::log_softmax_backward_kernel{y, dy, dx, cols});
  }
  // out: rows class indices in backend memory.
  static void argmax_rows(const float* x, std::size_t rows, std::size_t cols, std::int64_t* out) {
    for_each(rows, kernels::argmax_kernel{x, cols, out});
  }

  static double cross_entropy(const float* logits, const std::int64_t* labels, std::size_t rows, std::size_t cols,
                              float* grad, float grad_scale) {
    check_labels(labels, rows, cols);
    const double loss = reduce_sum(rows, kernels::cross_entropy_loss{logits, labels, cols});
    for_each(rows, kernels::cross_entropy_grad{logits, labels, cols, grad, grad_scale});
    return loss;
  }
  static double nll(const float* log_probs, const std::int64_t* labels, std::size_t rows, std::size_t cols, float* grad,
                    float grad_scale) {
    check_labels(labels, rows, cols);
    fill(grad, rows * cols, 0.0f);
    const double loss = reduce_sum(rows, kernels::nll_loss{log_probs, labels, cols});
    for_each(rows, kernels::nll_grad{labels, cols, grad, grad_scale});
    return loss;
  }

  // ---- convolution ---------------------------------------------------------------------------------
  static void im2col(const float* x, std::size_t C, std::size_t H, std::size_t W, std::size_t K, std::size_t stride,
                     std::size_t pad, std::size_t Ho, std::size_t Wo, float* col) {
    for_each(C * K * K * Ho * Wo, kernels::im2col_kernel{x, H, W, K, stride, pad, Ho, Wo, col});
  }
  static void col2im(const float* col, std::size_t C, std::size_t H, std::size_t W, std::size_t K, std::size_t stride,
                     std::size_t pad, std::size_t Ho, std::size_t Wo, float* dx) {
    for_each(C * H * W, kernels::col2im_kernel{col, H, W, K, stride, pad, Ho, Wo, dx});
  }
  // Direct kernels over the whole batch: no workspace.
  static std::size_t conv2d_workspace(const conv_geometry&, std::size_t) { return 0; }
  static void conv2d_forward(const conv_geometry& g, std::size_t n, const float* x, const float* weight,
                             const float* bias, float* y, float* /*workspace*/) {
    for_each(n * g.OC * g.Ho * g.Wo, kernels::conv_forward_kernel{g, x, weight, bias, y});
  }
  static void conv2d_backward(const conv_geometry& g, std::size_t n, const float* x, const float* dy,
                              const float* weight, float* dx, float* grad_weight, float* grad_bias,
                              float* /*workspace*/) {
    for_each(g.OC * g.C * g.K * g.K, kernels::conv_weight_grad_kernel{g, n, x, dy, grad_weight});
    bias_grad(dy, n, g.OC, g.Ho * g.Wo, grad_bias);
    if (dx) for_each(n * g.C * g.H * g.W, kernels::conv_input_grad_kernel{g, dy, weight, dx});
  }

  // ---- max pooling ---------------------------------------------------------------------------------
  static void maxpool_forward(const float* x, std::size_t planes, std::size_t H, std::size_t W, std::size_t K,
                              std::size_t stride, std::size_t pad, std::size_t Ho, std::size_t Wo, float* y,
                              std::int32_t* argmax) {
    for_each(planes * Ho * Wo, kernels::maxpool_forward_kernel{x, H, W, K, stride, pad, Ho, Wo, y, argmax});
  }
  static void maxpool_backward(const float* dy, const std::int32_t* argmax, std::size_t planes, std::size_t in_plane,
                               std::size_t out_plane, float* dx) {
    fill(dx, planes * in_plane, 0.0f);
    for_each(planes, kernels::maxpool_backward_kernel{dy, argmax, in_plane, out_plane, dx});
  }

  // ---- optimizers ----------------------------------------------------------------------------------
  static void sgd_update(std::size_t n, float* param, const float* grad, float* momentum_buffer, float lr,
                         float momentum, float dampening, float weight_decay, bool nesterov, bool first_step) {
    for_each(n, kernels::sgd_kernel{param, grad, momentum_buffer, lr, momentum, 1.0f - dampening, weight_decay,
                                           nesterov, first_step});
  }
  static void adam_update(std::size_t n, float* param, const float* grad, float* m, float* v, float beta1, float beta2,
                          float eps, float weight_decay, float step_size, float bias_correction2_sqrt) {
    for_each(n, kernels::adam_kernel{param, grad, m, v, beta1, beta2, eps, weight_decay, step_size,
                                            bias_correction2_sqrt});
  }

  // ---- random numbers ------------------------------------------------------------------------------
  static void fill_uniform(float* x, std::size_t n, double lo, double hi, Generator& g) {
    const std::uint64_t seed = g.seed(), first = g.advance(n);
    for_each(n, kernels::uniform_kernel{x, seed, first, lo, hi});
  }
  static void fill_normal(float* x, std::size_t n, double mean, double stddev, Generator& g) {
    const std::uint64_t seed = g.seed(), first = g.advance(n);
    for_each(n, kernels::normal_kernel{x, seed, first, mean, stddev});
  }
  static void fill_bernoulli(float* x, std::size_t n, double keep, float value, Generator& g) {
    const std::uint64_t seed = g.seed(), first = g.advance(n);
    for_each(n, kernels::bernoulli_kernel{x, seed, first, keep, value});
  }

 private:
  static ::thrust::counting_iterator<std::size_t> counting(std::size_t i) {
    return ::thrust::counting_iterator<std::size_t>(i);
  }
  template <class F>
  static void for_each(std::size_t n, F f) {
    if (n) ::thrust::for_each(System{}, counting(0), counting(n), f);
  }
  // No thrust::reduce or transform_reduce in this backend: Thrust 3's OMP reduce stores its partial
  // results through a thrust::reference whose assignment dispatches on a null system pointer
  // (thrust/detail/reference.h:346, `select_system(*system0, *system1)` in reference::assign_from, which
  // UBSan reports as "reference binding to null pointer"; upstream's comment: "Avoid default-constructing
  // a system; instead, just use a null pointer for dispatch"). Instead, sums of n terms f(i) in double:
  // one work item per block of `sum_block` consecutive terms adds them in order into a device buffer,
  // and the host adds the blocks in order, so a sum is also the same on any number of threads.
  static constexpr std::size_t sum_block = 2048;
  template <class F>
  static double reduce_sum(std::size_t n, F f) {
    if (n == 0) return 0;
    const std::size_t blocks = (n + sum_block - 1) / sum_block;
    thrust_buffer<double> partial(blocks);
    for_each(blocks, kernels::block_sum<F>{f, n, sum_block, partial.data()});
    std::vector<double> host(blocks);
    to_host(partial.data(), blocks, host.data());
    double total = 0;
    for (double v : host) total += v;
    return total;
  }
  // Labels are few (one per sample): checked on the host.
  static void check_labels(const std::int64_t* labels, std::size_t rows, std::size_t classes) {
    std::vector<std::int64_t> host(rows);
    to_host(labels, rows, host.data());
    for (std::size_t r = 0; r < rows; ++r)
      if (host[r] < 0 || static_cast<std::size_t>(host[r]) >= classes)
        throw error(cat("label ", host[r], " of sample ", r, " is out of range: the model has ", classes,
                        " classes (0 to ", classes - 1, ")"));
  }
};

}  // namespace ctnn::backend
