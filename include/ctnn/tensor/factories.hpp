#pragma once
// Making tensors, as torch's factory functions: zeros/ones/full (and their _like forms), rand/randn/
// randint, arange with compile-time bounds, and tensor(...) from literals.
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "../core/error.hpp"
#include "../core/random.hpp"
#include "../core/shape.hpp"
#include "dtype.hpp"
#include "tensor_class.hpp"

namespace ctnn {

template <ShapeType S, class T = float, Backend B = backend::eigen>
Tensor<S, T, B> zeros() {
  return {};
}
template <ShapeType S, class T = float, Backend B = backend::eigen>
Tensor<S, T, B> full(std::type_identity_t<T> value) {
  Tensor<S, T, B> t;
  t.fill_(value);
  return t;
}
template <ShapeType S, class T = float, Backend B = backend::eigen>
Tensor<S, T, B> ones() {
  return full<S, T, B>(T(1));
}

template <class S, class T, class B>
Tensor<S, T, B> zeros_like(const Tensor<S, T, B>&) {
  return {};
}
template <class S, class T, class B>
Tensor<S, T, B> ones_like(const Tensor<S, T, B>&) {
  return ones<S, T, B>();
}
template <class S, class T, class B>
Tensor<S, T, B> full_like(const Tensor<S, T, B>&, std::type_identity_t<T> value) {
  return full<S, T, B>(value);
}

// torch.rand: uniform in [0, 1), from g (the default generator unless given). It draws from the
// generator's PyTorch engine (Generator::torch_uniform), so after manual_seed(42) rand<Shape<3, 4>>()
// gives torch.manual_seed(42); torch.rand(3, 4)'s very numbers (for float and double).
template <ShapeType S, class T = float, Backend B = backend::eigen>
Tensor<S, T, B> rand(Generator& g = default_generator()) {
  static_assert(std::is_floating_point_v<T>, "ctnn: rand() makes floating-point tensors; use randint for integers");
  Tensor<S, T, B> t;
  for (std::size_t i = 0; i < S::size; ++i) t.data()[i] = g.torch_uniform<T>(T(0), T(1));
  return t;
}
// torch.randn: standard normal, from the generator's counter-based stream (Box-Muller, the numbers
// the backends' fill_normal draws; not PyTorch's own: reproducible, but not torch.randn's values).
template <ShapeType S, class T = float, Backend B = backend::eigen>
Tensor<S, T, B> randn(Generator& g = default_generator()) {
  static_assert(std::is_floating_point_v<T>, "ctnn: randn() makes floating-point tensors");
  Tensor<S, T, B> t;
  const std::uint64_t seed = g.seed(), first = g.advance(S::size);
  for (std::size_t i = 0; i < S::size; ++i) t.data()[i] = static_cast<T>(rng::normal(seed, first + i));
  return t;
}
// torch.randint(low, high, size): integers in [low, high), from the counter-based stream.
template <ShapeType S, class T = std::int64_t, Backend B = backend::eigen>
Tensor<S, T, B> randint(std::int64_t low, std::int64_t high, Generator& g = default_generator()) {
  if (high <= low) throw error(cat("randint: low (", low, ") must be less than high (", high, ")"));
  Tensor<S, T, B> t;
  const auto range = static_cast<std::uint64_t>(high) - static_cast<std::uint64_t>(low);
  const std::uint64_t seed = g.seed(), first = g.advance(S::size);
  for (std::size_t i = 0; i < S::size; ++i)
    t.data()[i] = static_cast<T>(static_cast<std::uint64_t>(low) + rng::bits(seed, first + i) % range);
  return t;
}
template <class S, class T, class B>
Tensor<S, T, B> rand_like(const Tensor<S, T, B>&, Generator& g = default_generator()) {
  return rand<S, T, B>(g);
}
template <class S, class T, class B>
Tensor<S, T, B> randn_like(const Tensor<S, T, B>&, Generator& g = default_generator()) {
  return randn<S, T, B>(g);
}

// torch.arange with compile-time bounds (the length is part of the type):
//   arange<10>()             tensor([0, 1, ..., 9])            int64, as torch.arange(10)
//   arange<1, 11, 2>()       tensor([1, 3, 5, 7, 9])           torch.arange(1, 11, 2)
//   arange<float, 1, 8>()    tensor([1., 2., ..., 7.])         torch.arange(1., 8.)
//   arange<float, 5>()       tensor([0., 1., 2., 3., 4.])
// Fractional steps: scale an integer range, arange<float, 0, 10>() * 0.1f.
namespace detail {
constexpr std::size_t arange_count(std::int64_t start, std::int64_t end, std::int64_t step) {
  if (step > 0) return end > start ? static_cast<std::size_t>((end - start + step - 1) / step) : 0;
  if (step < 0) return start > end ? static_cast<std::size_t>((start - end - step - 1) / -step) : 0;
  return 0;
}
template <class T, std::int64_t Start, std::int64_t End, std::int64_t Step, class B>
auto arange_impl() {
  static_assert(Step != 0, "ctnn: arange: step must be nonzero");
  constexpr std::size_t n = arange_count(Start, End, Step);
  Tensor<Shape<n>, T, B> t;
  for (std::size_t i = 0; i < n; ++i) t.data()[i] = static_cast<T>(Start + static_cast<std::int64_t>(i) * Step);
  return t;
}
}  // namespace detail

template <std::int64_t End>
auto arange() {
  return detail::arange_impl<std::int64_t, 0, End, 1, backend::eigen>();
}
template <std::int64_t Start, std::int64_t End, std::int64_t Step = 1>
auto arange() {
  return detail::arange_impl<std::int64_t, Start, End, Step, backend::eigen>();
}
template <class T, std::int64_t End, Backend B = backend::eigen>
auto arange() {
  return detail::arange_impl<T, 0, End, 1, B>();
}
template <class T, std::int64_t Start, std::int64_t End, std::int64_t Step = 1, Backend B = backend::eigen>
auto arange() {
  return detail::arange_impl<T, Start, End, Step, B>();
}

// torch.tensor(...) from literals, the shape deduced from the nesting:
//   tensor(7) -> Tensor<Shape<>, int64_t>; tensor({7, 7}) -> Shape<2>; tensor({{7, 8}, {9, 10}}) ->
//   Shape<2, 2>; up to 4 dimensions. As in torch, integer literals give int64 and floating literals
//   float32, unless T is given: tensor<double>({1, 2}).
namespace detail {
template <class T, class E>
using literal_t = std::conditional_t<!std::is_void_v<T>, T, std::conditional_t<std::is_floating_point_v<E>, float, std::int64_t>>;
template <class T, class E>
void put_literal(T*& out, const E& value) {
  *out++ = convert<T>(value);
}
template <class T, class E, std::size_t N>
void put_literal(T*& out, const E (&values)[N]) {
  for (const auto& v : values) put_literal<T>(out, v);
}
template <class T, class S, class B, class L>
Tensor<S, T, B> from_literal(const L& values) {
  Tensor<S, T, B> t;
  T* out = t.data();
  put_literal<T>(out, values);
  return t;
}
}  // namespace detail

template <class T = void, Backend B = backend::eigen, TensorScalar E>
auto tensor(E value) {
  return detail::from_literal<detail::literal_t<T, E>, Shape<>, B>(value);
}
template <class T = void, Backend B = backend::eigen, TensorScalar E, std::size_t N>
auto tensor(const E (&values)[N]) {
  return detail::from_literal<detail::literal_t<T, E>, Shape<N>, B>(values);
}
template <class T = void, Backend B = backend::eigen, TensorScalar E, std::size_t M, std::size_t N>
auto tensor(const E (&values)[M][N]) {
  return detail::from_literal<detail::literal_t<T, E>, Shape<M, N>, B>(values);
}
template <class T = void, Backend B = backend::eigen, TensorScalar E, std::size_t L, std::size_t M, std::size_t N>
auto tensor(const E (&values)[L][M][N]) {
  return detail::from_literal<detail::literal_t<T, E>, Shape<L, M, N>, B>(values);
}
template <class T = void, Backend B = backend::eigen, TensorScalar E, std::size_t K, std::size_t L, std::size_t M,
          std::size_t N>
auto tensor(const E (&values)[K][L][M][N]) {
  return detail::from_literal<detail::literal_t<T, E>, Shape<K, L, M, N>, B>(values);
}

}  // namespace ctnn
