#pragma once
// backend::thrust<System>: float tensors in Thrust device vectors, every op a functor of the device op
// set (device_ops.hpp) run by thrust::for_each over a counting iterator (sums in fixed blocks). The
// device system is Thrust's: THRUST_DEVICE_SYSTEM picks it when the header is
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
// Results do not depend on the thread count (sums too: fixed blocks added in order, see
// thrust_executor::sum). Convolutions are direct (one work item per output value, per weight-gradient
// entry and per input-gradient value), GEMM is a 4 x 4 register tile per work item.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include <thrust/copy.h>
#include <thrust/device_ptr.h>
#include <thrust/device_vector.h>
#include <thrust/execution_policy.h>
#include <thrust/for_each.h>
#include <thrust/iterator/counting_iterator.h>

#include "../core/config.hpp"
#include "backend.hpp"
#include "device_ops.hpp"

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


// How the device op set (device_ops.hpp) runs on Thrust: thrust::for_each over a counting iterator on
// System, copies through thrust::copy_n.
template <class System>
struct thrust_executor {
  template <class T>
  using buffer = thrust_buffer<T>;

  template <class F>
  static void for_each(std::size_t n, F f) {
    using counting = ::thrust::counting_iterator<std::size_t>;
    if (n) ::thrust::for_each(System{}, counting(0), counting(n), f);
  }
  template <class T>
  static void copy(std::size_t n, const T* src, T* dst) { ::thrust::copy_n(System{}, src, n, dst); }
  template <class T>
  static void to_host(std::size_t n, const T* src, T* host_dst) {
    ::thrust::copy_n(::thrust::device_pointer_cast(src), n, host_dst);
  }
  template <class T>
  static void from_host(std::size_t n, const T* host_src, T* dst) {
    ::thrust::copy_n(host_src, n, ::thrust::device_pointer_cast(dst));
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
  struct block_sum {
    F f;
    std::size_t n, block;
    double* out;
    CTNN_HD void operator()(std::size_t b) const {
      const std::size_t lo = b * block, hi = lo + block < n ? lo + block : n;
      double acc = 0;
      for (std::size_t i = lo; i < hi; ++i) acc += f(i);
      out[b] = acc;
    }
  };
  template <class F>
  static double sum(std::size_t n, F f) {
    if (n == 0) return 0;
    const std::size_t blocks = (n + sum_block - 1) / sum_block;
    thrust_buffer<double> partial(blocks);
    for_each(blocks, block_sum<F>{f, n, sum_block, partial.data()});
    std::vector<double> host(blocks);
    to_host(blocks, partial.data(), host.data());
    double total = 0;
    for (double v : host) total += v;
    return total;
  }
};

template <class System>
struct ops<thrust<System>> : device_ops<thrust_executor<System>> {};

}  // namespace ctnn::backend
