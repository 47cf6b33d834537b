#pragma once
// How many threads ctnn's CPU kernels use (PyTorch's torch.set_num_threads / get_num_threads).
// With OpenMP (-fopenmp, or the ctnn::ctnn target with CTNN_OPENMP) the kernels split large work over
// up to get_num_threads() threads; without it everything runs on the calling thread.
//
// Small work stays on one thread on purpose: on a 2-core machine a fork/join costs a few microseconds,
// more than a 32 x 784 x 10 product takes, so splitting it would make a small model slower, not faster.
#include <cstddef>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace ctnn {

// Threads for the next kernels launched from this thread (default: OMP_NUM_THREADS or the core count).
inline void set_num_threads(std::size_t n) {
#ifdef _OPENMP
  omp_set_num_threads(static_cast<int>(n < 1 ? 1 : n));
#else
  (void)n;
#endif
}

inline std::size_t get_num_threads() {
#ifdef _OPENMP
  return static_cast<std::size_t>(omp_get_max_threads());
#else
  return 1;
#endif
}

namespace detail {

// Threads worth using for `work` multiply-adds (or element operations): at least `grain` each.
inline int threads_for(double work, double grain) {
  const auto available = static_cast<double>(get_num_threads());
  const double useful = work / grain;
  return static_cast<int>(useful < 1 ? 1 : (useful < available ? useful : available));
}

// Calls f(begin, end) on parts of [0, n) in parallel, at least `grain` items per part and part
// boundaries on multiples of `align`; on the calling thread alone when n is small. Each item must be
// independent of the others, so the result does not depend on the split.
template <class F>
void parallel_chunks(std::size_t n, double grain, std::size_t align, F&& f) {
  const int threads = threads_for(static_cast<double>(n), grain);
  if (threads <= 1) {
    if (n) f(std::size_t{0}, n);
    return;
  }
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
  {
    const auto part = static_cast<std::size_t>(omp_get_thread_num()), parts = static_cast<std::size_t>(omp_get_num_threads());
    auto bound = [&](std::size_t i) { return i >= parts ? n : n * i / parts / align * align; };
    const std::size_t lo = bound(part), hi = bound(part + 1);
    if (lo < hi) f(lo, hi);
  }
#else
  (void)align;
#endif
}

// Keeps Eigen's own parallel GEMM off while alive: Eigen asks omp_get_max_threads() of the calling
// thread unless Eigen::setNbThreads was called, and ctnn decides the split itself (see ops<eigen>::gemm).
class single_threaded_eigen {
 public:
  single_threaded_eigen() {
#ifdef _OPENMP
    saved_ = omp_get_max_threads();
    if (saved_ != 1) omp_set_num_threads(1);
#endif
  }
  ~single_threaded_eigen() {
#ifdef _OPENMP
    if (saved_ != 1) omp_set_num_threads(saved_);
#endif
  }
  single_threaded_eigen(const single_threaded_eigen&) = delete;
  single_threaded_eigen& operator=(const single_threaded_eigen&) = delete;

 private:
  int saved_ = 1;
};

}  // namespace detail
}  // namespace ctnn
