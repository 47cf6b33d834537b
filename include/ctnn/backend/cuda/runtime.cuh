#pragma once
// The CUDA runtime side of backend::cuda: error checks, device memory, the cuBLAS handle and
// ctnn::cuda::available(). Host code only (no kernels): it compiles with nvcc or with g++ and the
// CUDA headers.
#include <cstddef>
#include <utility>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "../../core/error.hpp"

namespace ctnn::cuda {

// Whether a CUDA device can be used: false (never a crash) without a driver or a GPU.
inline bool available() {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    (void)cudaGetLastError();  // clear the error: later calls must not see it
    return false;
  }
  return count > 0;
}

inline void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw error(cat("CUDA: ", what, ": ", cudaGetErrorString(status)));
}
inline void check(cublasStatus_t status, const char* what) {
  if (status != CUBLAS_STATUS_SUCCESS) throw error(cat("cuBLAS: ", what, " failed (status ", static_cast<int>(status), ")"));
}

// The process's cuBLAS handle, made on first use (so that merely including the backend, or asking
// available(), touches no device).
inline cublasHandle_t blas() {
  static const cublasHandle_t handle = [] {
    cublasHandle_t h = nullptr;
    check(cublasCreate(&h), "cublasCreate (is there a GPU? see ctnn::cuda::available())");
    return h;
  }();
  return handle;
}

// Device memory that only grows (cudaMalloc): size() is what the last resize asked for, the
// allocation is kept when a smaller size is asked. Growing keeps the values; copies copy on the device.
template <class T>
class device_buffer {
 public:
  device_buffer() = default;
  explicit device_buffer(std::size_t n) { resize(n); }
  device_buffer(const device_buffer& other) {
    resize(other.size_);
    if (size_) check(cudaMemcpy(data_, other.data_, size_ * sizeof(T), cudaMemcpyDeviceToDevice), "cudaMemcpy");
  }
  device_buffer(device_buffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)),
        capacity_(std::exchange(other.capacity_, 0)) {}
  device_buffer& operator=(device_buffer other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    std::swap(capacity_, other.capacity_);
    return *this;
  }
  ~device_buffer() {
    if (data_) (void)cudaFree(data_);
  }

  void resize(std::size_t n) {
    if (n > capacity_) {
      T* fresh = nullptr;
      check(cudaMalloc(reinterpret_cast<void**>(&fresh), n * sizeof(T)), "cudaMalloc");
      if (size_) check(cudaMemcpy(fresh, data_, size_ * sizeof(T), cudaMemcpyDeviceToDevice), "cudaMemcpy");
      if (data_) (void)cudaFree(data_);
      data_ = fresh;
      capacity_ = n;
    }
    size_ = n;
  }
  std::size_t size() const { return size_; }
  T* data() { return data_; }
  const T* data() const { return data_; }

 private:
  T* data_ = nullptr;
  std::size_t size_ = 0, capacity_ = 0;
};

}  // namespace ctnn::cuda
