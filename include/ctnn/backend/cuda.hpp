#pragma once
// backend::cuda: float tensors in device memory (cudaMalloc), GEMM through cuBLAS (row-major through
// the transposition trick), every other op a CUDA kernel: the device op set of device_ops.hpp (shared
// with backend::thrust) launched over a grid, or a block-wise sum. Include it from .cu files compiled by
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

#include "backend.hpp"
#include "cuda/launch.cuh"
#include "cuda/runtime.cuh"
#include "device_ops.hpp"

namespace ctnn::backend {

struct cuda {
  using scalar = float;
  static constexpr bool host_memory = false;
  static constexpr std::string_view name = "cuda";
};

// How the device op set (device_ops.hpp) runs on CUDA: a grid-stride kernel per op, block-wise sums,
// cudaMemcpy for copies and transfers. Everything on the default stream, in order.
struct cuda_executor {
  template <class T>
  using buffer = ctnn::cuda::device_buffer<T>;

  template <class F>
  static void for_each(std::size_t n, F f) { ctnn::cuda::detail::for_each(n, f); }
  template <class F>
  static double sum(std::size_t n, F f) { return ctnn::cuda::detail::sum(n, f); }
  template <class T>
  static void copy(std::size_t n, const T* src, T* dst) {
    ctnn::cuda::check(cudaMemcpyAsync(dst, src, n * sizeof(T), cudaMemcpyDeviceToDevice), "cudaMemcpyAsync");
  }
  template <class T>
  static void to_host(std::size_t n, const T* src, T* host_dst) {
    ctnn::cuda::check(cudaMemcpy(host_dst, src, n * sizeof(T), cudaMemcpyDeviceToHost), "cudaMemcpy to host");
  }
  template <class T>
  static void from_host(std::size_t n, const T* host_src, T* dst) {
    ctnn::cuda::check(cudaMemcpy(dst, host_src, n * sizeof(T), cudaMemcpyHostToDevice), "cudaMemcpy from host");
  }
};

// The device op set, with cuBLAS's GEMM instead of the 4 x 4 tile kernel.
template <>
struct ops<cuda> : device_ops<cuda_executor> {
  // Row-major C = alpha op(A) op(B) + beta C is column-major C^T = op(B)^T op(A)^T.
  static void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, float alpha,
                   const float* a, const float* b, float beta, float* c) {
    if (m == 0 || n == 0) return;
    const int M = static_cast<int>(m), N = static_cast<int>(n), K = static_cast<int>(k);
    ctnn::cuda::check(cublasSgemm(ctnn::cuda::blas(), trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                                  trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, N, M, K, &alpha, b, trans_b ? K : N, a,
                                  trans_a ? M : K, &beta, c, N),
                      "cublasSgemm");
  }
};

}  // namespace ctnn::backend
