#pragma once
// A tensor a layer keeps but does not learn: PyTorch's register_buffer (BatchNorm's running_mean and
// running_var, and its int64 num_batches_tracked). A buffer has a name and shape like a Parameter and
// no gradient; it is in state_dict(), checkpoints and to<Backend>() but not in parameters(), so
// optimizers never touch it, and torchinfo-style summaries do not count it (torchinfo counts
// named_parameters() only).
//
//   Buffer<B>                 a floating-point buffer of the backend's scalar (float on eigen)
//   Buffer<B, std::int64_t>   an integer buffer (saved as I64, as PyTorch saves num_batches_tracked)
//
// A layer with buffers declares, beside visit_parameters,
//   template <class F> void visit_buffers(F&& f)     f(Buffer<B>&) and f(Buffer<B, std::int64_t>&)
// (f is generic: it is called with each buffer in the layer's order, PyTorch's registration order).
// Layers without buffers declare nothing; Block and Sequential walk the children that have them.
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <numeric>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "../backend/backend.hpp"
#include "../core/error.hpp"

namespace ctnn {

template <Backend B, class T = scalar_t<B>>
struct Buffer {
  static_assert(std::is_same_v<T, scalar_t<B>> || std::is_same_v<T, std::int64_t>,
                "ctnn: a Buffer holds the backend's scalar type or std::int64_t");
  using ops = backend::ops<B>;
  using value_type = T;
  static constexpr bool is_int64 = std::is_same_v<T, std::int64_t>;

  std::string name;
  std::vector<std::size_t> shape;
  buffer_t<B, T> value;

  // PyTorch's register_buffer(name, torch.full(shape, initial)): BatchNorm starts running_var at 1.
  Buffer(std::string name_, std::initializer_list<std::size_t> shape_, T initial = T(0))
      : name(std::move(name_)), shape(shape_) {
    value.resize(size());
    fill(initial);
  }

  std::size_t size() const {
    return std::accumulate(shape.begin(), shape.end(), std::size_t{1}, std::multiplies<>{});
  }
  void fill(T v) { ops::fill(size(), value.data(), v); }

  std::vector<T> values_to_host() const {
    std::vector<T> out(size());
    ops::to_host(size(), value.data(), out.data());
    return out;
  }
  void values_from_host(std::span<const T> host) {
    if (host.size() != size())
      throw error(cat("Buffer '", name, "': ", host.size(), " values for ", size(), " elements"));
    ops::from_host(host.size(), host.data(), value.data());
  }
};

// Whether a bound layer declares visit_buffers (checked with a visitor that accepts either kind).
namespace detail {
template <Backend B>
struct buffer_probe {
  void operator()(Buffer<B>&) const;  // declarations only: the concept below never calls them
  void operator()(Buffer<B, std::int64_t>&) const;
};
}  // namespace detail

template <class L>
concept LayerWithBuffers = requires(L& layer, detail::buffer_probe<typename L::backend_type> f) {
  layer.visit_buffers(f);
};

}  // namespace ctnn
