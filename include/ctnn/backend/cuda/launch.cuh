#pragma once
// Kernel launches of backend::cuda: a grid-stride loop calling a functor once per index (the functors
// of backend/device_ops.hpp), and a sum of per-index doubles (block partial sums, added on the host in
// block order: deterministic). nvcc only.
#include <cstddef>
#include <vector>

#include "../../core/config.hpp"
#include "runtime.cuh"

namespace ctnn::cuda::detail {

inline constexpr unsigned threads_per_block = 256;
inline constexpr std::size_t max_blocks = 65535;
inline constexpr std::size_t reduce_blocks = 256;

template <class F>
__global__ void for_each_kernel(std::size_t n, F f) {
  const std::size_t stride = static_cast<std::size_t>(blockDim.x) * gridDim.x;
  for (std::size_t i = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) f(i);
}

inline unsigned blocks_for(std::size_t n, std::size_t cap) {
  const std::size_t b = (n + threads_per_block - 1) / threads_per_block;
  return static_cast<unsigned>(b < cap ? b : cap);
}

// f(i) for i in [0, n), on the default stream.
template <class F>
void for_each(std::size_t n, F f) {
  if (n == 0) return;
  for_each_kernel<<<blocks_for(n, max_blocks), threads_per_block>>>(n, f);
  check(cudaGetLastError(), "kernel launch");
}

template <class F>
__global__ void sum_kernel(std::size_t n, F f, double* partial) {
  __shared__ double shared[threads_per_block];
  double acc = 0;
  const std::size_t stride = static_cast<std::size_t>(blockDim.x) * gridDim.x;
  for (std::size_t i = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) acc += f(i);
  shared[threadIdx.x] = acc;
  __syncthreads();
  for (unsigned s = blockDim.x / 2; s > 0; s /= 2) {
    if (threadIdx.x < s) shared[threadIdx.x] += shared[threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x == 0) partial[blockIdx.x] = shared[0];
}

// The sum over i in [0, n) of f(i) (a double), returned to the host.
template <class F>
double sum(std::size_t n, F f) {
  if (n == 0) return 0;
  static device_buffer<double> partial(reduce_blocks);
  const unsigned blocks = blocks_for(n, reduce_blocks);
  sum_kernel<<<blocks, threads_per_block>>>(n, f, partial.data());
  check(cudaGetLastError(), "kernel launch");
  std::vector<double> host(blocks);
  check(cudaMemcpy(host.data(), partial.data(), blocks * sizeof(double), cudaMemcpyDeviceToHost), "cudaMemcpy");
  double total = 0;
  for (double v : host) total += v;
  return total;
}

}  // namespace ctnn::cuda::detail
