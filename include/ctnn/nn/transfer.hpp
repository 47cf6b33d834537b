#pragma once
// Moving tensors and models between backends (PyTorch's .to(device)):
//
//   auto x_gpu = to<backend::cuda>(x);                 // Batch<S, eigen> -> Batch<S, cuda>
//   auto model_gpu = to<backend::cuda>(model);         // a Sequential of the same layers on cuda
//   copy_parameters(model_gpu, model);                 // back into an existing model
//
// Values go through host memory (Batch::to_host, state_dict) and are converted between the
// backends' scalar types (float <-> double); class indices (Labels) and int64 buffers
// (num_batches_tracked) stay int64. A model's buffers travel with its parameters.
#include <algorithm>
#include <span>
#include <type_traits>
#include <vector>

#include "../tensor/batch.hpp"
#include "sequential.hpp"

namespace ctnn {

namespace detail {
// A batch's value type on backend B2: the scalar follows the backend, other types (labels) stay.
template <class T, Backend B1, Backend B2>
using moved_value_t = std::conditional_t<std::is_same_v<T, scalar_t<B1>>, scalar_t<B2>, T>;

template <class To, class From>
std::vector<To> convert_values(std::vector<From> values) {
  if constexpr (std::is_same_v<To, From>) {
    return values;
  } else {
    std::vector<To> out(values.size());
    std::transform(values.begin(), values.end(), out.begin(), [](From v) { return static_cast<To>(v); });
    return out;
  }
}
}  // namespace detail

// A copy of batch x on backend B2.
template <Backend B2, ShapeType S, Backend B1, class T>
Batch<S, B2, detail::moved_value_t<T, B1, B2>> to(const Batch<S, B1, T>& x) {
  using U = detail::moved_value_t<T, B1, B2>;
  const std::vector<U> values = detail::convert_values<U>(x.to_host());
  Batch<S, B2, U> out(x.batch_size());
  backend::ops<B2>::from_host(values.size(), values.data(), out.data());
  return out;
}

// Copies every parameter and buffer of `from` into `to`, two models of the same layers (same names and
// shapes), possibly on different backends. Checks all names and shapes first (load_state_dict): a
// mismatch throws and leaves `to` unchanged.
template <Backend BA, class InA, class... LA, Backend BB, class InB, class... LB>
void copy_parameters(const Sequential<BA, InA, LA...>& from, Sequential<BB, InB, LB...>& to) {
  // state_dict only reads; it is not const because visiting parameters is not.
  auto state = const_cast<Sequential<BA, InA, LA...>&>(from).state_dict();
  StateDict<scalar_t<BB>> converted;
  converted.reserve(state.size());
  for (auto& t : state)
    converted.push_back({std::move(t.name), std::move(t.shape), detail::convert_values<scalar_t<BB>>(std::move(t.values)),
                         std::move(t.int64_values), t.is_int64});
  to.load_state_dict(converted);
}

// The same network on backend B2, with model's parameters and training mode. (Dropout layers of the
// copy draw from their own streams.)
template <Backend B2, Backend B, class In, class... Layers>
Sequential<B2, In, Layers...> to(const Sequential<B, In, Layers...>& model) {
  Generator g;  // the initial values are overwritten: the default generator is left alone
  Sequential<B2, In, Layers...> out{g};
  copy_parameters(model, out);
  out.train(model.is_training());
  return out;
}

}  // namespace ctnn
