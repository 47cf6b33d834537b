#pragma once
// backend::cuda: float tensors in device memory (cudaMalloc), GEMM through cuBLAS (row-major through
// the transposition trick), every other op a CUDA kernel: the functors of kernels.hpp (shared with
// backend::thrust) launched over a grid, or a block-wise sum. Include it from .cu files compiled by
// nvcc (it holds kernels); it needs no Eigen, so keep <ctnn/ctnn.hpp> (which pulls the Eigen backend)
// out of those files: <ctnn/nn.hpp>, <ctnn/optim.hpp>, <ctnn/io.hpp> are Eigen-free.
//
//   if (ctnn::cuda::available()) { Sequential<backend::cuda, Input<1, 28, 28>, ...> model; ... }
//
// Link CUDA::cudart and CUDA::cublas. Without a GPU, ctnn::cuda::available() is false and the first
// allocation or GEMM throws ctnn::error.
#if !defined(__CUDACC__)
#error "ctnn/backend/cuda.hpp holds CUDA kernels: include it from a .cu file compiled by nvcc"
#endif
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "backend.hpp"
#include "cuda/launch.cuh"
#include "cuda/runtime.cuh"
#include "kernels.hpp"

namespace ctnn::backend {

struct cuda {
  using scalar = float;
  static constexpr bool host_memory = false;
  static constexpr std::string_view name = "cuda";
};

template <>
struct ops<cuda> {
  using scalar = float;
  template <class T>
  using buffer = ctnn::cuda::device_buffer<T>;

  // ---- storage -------------------------------------------------------------------------------
  template <class T>
  static void fill(T* x, std::size_t n, T v) {
    ctnn::cuda::detail::for_each(n, ctnn::cuda::detail::fill_at<T>{x, v});
  }
  template <class T>
  static void copy(const T* src, std::size_t n, T* dst) {
    if (n && src != dst) ctnn::cuda::check(cudaMemcpyAsync(dst, src, n * sizeof(T), cudaMemcpyDeviceToDevice), "cudaMemcpyAsync");
  }
  template <class T>
  static void to_host(const T* src, std::size_t n, T* host_dst) {
    if (n) ctnn::cuda::check(cudaMemcpy(host_dst, src, n * sizeof(T), cudaMemcpyDeviceToHost), "cudaMemcpy to host");
  }
  template <class T>
  static void from_host(const T* host_src, std::size_t n, T* dst) {
    if (n) ctnn::cuda::check(cudaMemcpy(dst, host_src, n * sizeof(T), cudaMemcpyHostToDevice), "cudaMemcpy from host");
  }

  // ---- GEMM: row-major C = alpha op(A) op(B) + beta C is column-major C^T = op(B)^T op(A)^T -------
  static void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, float alpha,
                   const float* a, const float* b, float beta, float* c) {
    if (m == 0 || n == 0) return;
    const int M = static_cast<int>(m), N = static_cast<int>(n), K = static_cast<int>(k);
    ctnn::cuda::check(cublasSgemm(ctnn::cuda::blas(), trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                                  trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, N, M, K, &alpha, b, trans_b ? K : N, a,
                                  trans_a ? M : K, &beta, c, N),
                      "cublasSgemm");
  }

  // ---- elementwise -------------------------------------------------------------------------------
  template <class F>
  static void map(std::size_t n, const float* x, float* y, F f) {
    ctnn::cuda::detail::for_each(n, ctnn::cuda::detail::map_at<F>{x, y, f});
  }
  template <class F>
  static void zip(std::size_t n, const float* a, const float* b, float* y, F f) {
    ctnn::cuda::detail::for_each(n, ctnn::cuda::detail::zip_at<F>{a, b, y, f});
  }

  // ---- reductions ----------------------------------------------------------------------------------
  static double sum(std::size_t n, const float* x) { return ctnn::cuda::detail::sum(n, ctnn::cuda::detail::value_at{x}); }
  static void add_bias(float* y, const float* bias, std::size_t outer, std::size_t channels, std::size_t inner) {
    launch(outer * channels * inner, kernels::add_bias_kernel{y, bias, channels, inner});
  }
  static void bias_grad(const float* dy, std::size_t outer, std::size_t channels, std::size_t inner, float* grad_bias) {
    launch(channels, kernels::bias_grad_kernel{dy, outer, channels, inner, grad_bias});
  }
  static void softmax_rows(const float* x, float* y, std::size_t rows, std::size_t cols) {
    launch(rows, kernels::softmax_kernel{x, y, cols});
  }
  static void log_softmax_rows(const float* x, float* y, std::size_t rows, std::size_t cols) {
    launch(rows, kernels::log_softmax_kernel{x, y, cols});
  }
  static void softmax_backward(const float* y, const float* dy, float* dx, std::size_t rows, std::size_t cols) {
    launch(rows, kernels::softmax_backward_kernel{y, dy, dx, cols});
  }
  static void log_softmax_backward(const float* y, const float* dy, float* dx, std::size_t rows, std::size_t cols) {
    launch(rows, kernels::log_softmax_backward_kernel{y, dy, dx, cols});
  }
  static void argmax_rows(const float* x, std::size_t rows, std::size_t cols, std::int64_t* out) {
    launch(rows, kernels::argmax_kernel{x, cols, out});
  }
  static double cross_entropy(const float* logits, const std::int64_t* labels, std::size_t rows, std::size_t cols,
                              float* grad, float grad_scale) {
    check_labels(labels, rows, cols);
    const double loss = ctnn::cuda::detail::sum(rows, kernels::cross_entropy_loss{logits, labels, cols});
    launch(rows, kernels::cross_entropy_grad{logits, labels, cols, grad, grad_scale});
    return loss;
  }
  static double nll(const float* log_probs, const std::int64_t* labels, std::size_t rows, std::size_t cols, float* grad,
                    float grad_scale) {
    check_labels(labels, rows, cols);
    fill(grad, rows * cols, 0.0f);
    const double loss = ctnn::cuda::detail::sum(rows, kernels::nll_loss{log_probs, labels, cols});
    launch(rows, kernels::nll_grad{labels, cols, grad, grad_scale});
    return loss;
  }

  // ---- convolution: direct kernels over the whole batch (no workspace) ------------------------------
  static void im2col(const float* x, std::size_t C, std::size_t H, std::size_t W, std::size_t K, std::size_t stride,
                     std::size_t pad, std::size_t Ho, std::size_t Wo, float* col) {
    launch(C * K * K * Ho * Wo, kernels::im2col_kernel{x, H, W, K, stride, pad, Ho, Wo, col});
  }
  static void col2im(const float* col, std::size_t C, std::size_t H, std::size_t W, std::size_t K, std::size_t stride,
                     std::size_t pad, std::size_t Ho, std::size_t Wo, float* dx) {
    launch(C * H * W, kernels::col2im_kernel{col, H, W, K, stride, pad, Ho, Wo, dx});
  }
  static std::size_t conv2d_workspace(const conv_geometry&, std::size_t) { return 0; }
  static void conv2d_forward(const conv_geometry& g, std::size_t n, const float* x, const float* weight,
                             const float* bias, float* y, float* /*workspace*/) {
    launch(n * g.OC * g.Ho * g.Wo, kernels::conv_forward_kernel{g, x, weight, bias, y});
  }
  static void conv2d_backward(const conv_geometry& g, std::size_t n, const float* x, const float* dy,
                              const float* weight, float* dx, float* grad_weight, float* grad_bias,
                              float* /*workspace*/) {
    launch(g.OC * g.C * g.K * g.K, kernels::conv_weight_grad_kernel{g, n, x, dy, grad_weight});
    bias_grad(dy, n, g.OC, g.Ho * g.Wo, grad_bias);
    if (dx) launch(n * g.C * g.H * g.W, kernels::conv_input_grad_kernel{g, dy, weight, dx});
  }

  // ---- max pooling ---------------------------------------------------------------------------------
  static void maxpool_forward(const float* x, std::size_t planes, std::size_t H, std::size_t W, std::size_t K,
                              std::size_t stride, std::size_t pad, std::size_t Ho, std::size_t Wo, float* y,
                              std::int32_t* argmax) {
    launch(planes * Ho * Wo, kernels::maxpool_forward_kernel{x, H, W, K, stride, pad, Ho, Wo, y, argmax});
  }
  static void maxpool_backward(const float* dy, const std::int32_t* argmax, std::size_t planes, std::size_t in_plane,
                               std::size_t out_plane, float* dx) {
    fill(dx, planes * in_plane, 0.0f);
    launch(planes, kernels::maxpool_backward_kernel{dy, argmax, in_plane, out_plane, dx});
  }

  // ---- optimizers ----------------------------------------------------------------------------------
  static void sgd_update(std::size_t n, float* param, const float* grad, float* momentum_buffer, float lr,
                         float momentum, float dampening, float weight_decay, bool nesterov, bool first_step) {
    launch(n, kernels::sgd_kernel{param, grad, momentum_buffer, lr, momentum, 1.0f - dampening, weight_decay, nesterov,
                                  first_step});
  }
  static void adam_update(std::size_t n, float* param, const float* grad, float* m, float* v, float beta1, float beta2,
                          float eps, float weight_decay, float step_size, float bias_correction2_sqrt) {
    launch(n, kernels::adam_kernel{param, grad, m, v, beta1, beta2, eps, weight_decay, step_size, bias_correction2_sqrt});
  }

  // ---- random numbers (counter-based: the host backends' numbers) ------------------------------------
  static void fill_uniform(float* x, std::size_t n, double lo, double hi, Generator& g) {
    const std::uint64_t seed = g.seed(), first = g.advance(n);
    launch(n, kernels::uniform_kernel{x, seed, first, lo, hi});
  }
  static void fill_normal(float* x, std::size_t n, double mean, double stddev, Generator& g) {
    const std::uint64_t seed = g.seed(), first = g.advance(n);
    launch(n, kernels::normal_kernel{x, seed, first, mean, stddev});
  }
  static void fill_bernoulli(float* x, std::size_t n, double keep, float value, Generator& g) {
    const std::uint64_t seed = g.seed(), first = g.advance(n);
    launch(n, kernels::bernoulli_kernel{x, seed, first, keep, value});
  }

 private:
  template <class F>
  static void launch(std::size_t n, F f) {
    ctnn::cuda::detail::for_each(n, f);
  }
  // Labels are few (one per sample): checked on the host, with the host backends' message.
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
