#pragma once
// Batch<Shape<C, H, W>, Backend>: a batch of samples of a static shape, [n, C, H, W] row-major in the
// backend's memory. n is the only runtime dimension, so the smaller last batch of an epoch works and
// every per-sample size is a constant. The type names the backend: a CPU batch cannot be fed to a
// CUDA model by mistake.
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <vector>

#include "../backend/backend.hpp"
#include "../core/error.hpp"
#include "../core/shape.hpp"

namespace ctnn {

template <ShapeType S, Backend B = backend::eigen, class T = scalar_t<B>>
class Batch {
 public:
  using shape = S;
  using backend_type = B;
  using value_type = T;
  using ops = backend::ops<B>;
  static constexpr std::size_t sample_size = S::size;

  Batch() = default;
  explicit Batch(std::size_t batch_size) { resize(batch_size); }

  // From host values laid out [n, S...]; n is deduced from the count, which must be a multiple of the
  // sample size.
  static Batch from_host(std::span<const T> values) {
    if (values.size() % (sample_size ? sample_size : 1) != 0)
      throw error(cat("Batch", S::str(), "::from_host: ", values.size(), " values are not a whole number of samples of ",
                      sample_size));
    Batch b(sample_size ? values.size() / sample_size : values.size());
    ops::from_host(values.size(), values.data(), b.data());
    return b;
  }
  static Batch from_host(std::initializer_list<T> values) { return from_host(std::span<const T>(values.begin(), values.size())); }

  // Sets the batch size. Growing may allocate; shrinking never does (the memory is kept for reuse).
  void resize(std::size_t batch_size) {
    n_ = batch_size;
    if (data_.size() < n_ * sample_size) data_.resize(n_ * sample_size);
  }

  std::size_t batch_size() const { return n_; }
  std::size_t size() const { return n_ * sample_size; }
  T* data() { return data_.data(); }
  const T* data() const { return data_.data(); }
  T* sample(std::size_t i) { return data() + i * sample_size; }
  const T* sample(std::size_t i) const { return data() + i * sample_size; }

  // A copy in host memory (the only way to read values of a device batch).
  std::vector<T> to_host() const {
    std::vector<T> out(size());
    ops::to_host(size(), data(), out.data());
    return out;
  }

  // Element access for host backends: b(i, c, h, w).
  template <class... I>
    requires(B::host_memory && sizeof...(I) == S::rank)
  T& operator()(std::size_t i, I... idx) { return data()[offset(i, idx...)]; }
  template <class... I>
    requires(B::host_memory && sizeof...(I) == S::rank)
  const T& operator()(std::size_t i, I... idx) const { return data()[offset(i, idx...)]; }

  // Span over all values (host backends).
  std::span<T> values() requires(B::host_memory) { return {data(), size()}; }
  std::span<const T> values() const requires(B::host_memory) { return {data(), size()}; }

 private:
  template <class... I>
  std::size_t offset(std::size_t i, I... idx) const {
    constexpr auto strides = ctnn::shape::strides<S>();
    const std::size_t index[] = {static_cast<std::size_t>(idx)..., 0};
    std::size_t off = i * sample_size;
    for (std::size_t d = 0; d < S::rank; ++d) off += index[d] * strides[d];
    return off;
  }

  buffer_t<B, T> data_;
  std::size_t n_ = 0;
};

// Class indices of a batch (CrossEntropyLoss, NLLLoss targets).
template <Backend B = backend::eigen>
using Labels = Batch<Shape<>, B, std::int64_t>;

// A gradient handed to Sequential::backward by a loss: values for n samples of per_sample each.
// Sequential checks both against its output shape at run time.
template <Backend B>
struct GradientView {
  const scalar_t<B>* data;
  std::size_t batch_size;
  std::size_t per_sample;
};

}  // namespace ctnn
