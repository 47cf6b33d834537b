#pragma once
// The shape algebra of the tensor operations, all at compile time: the Shape that removing, inserting
// or resizing a dimension gives (sum<D>, unsqueeze, slice, cat, ...), squeeze's Shape, and the
// permutation check behind permute.
#include <array>
#include <cstddef>
#include <utility>

#include "../core/shape.hpp"

namespace ctnn {

namespace shape {
namespace detail {

template <auto Dims, class = std::make_index_sequence<Dims.size()>>
struct from_array_impl;
template <auto Dims, std::size_t... I>
struct from_array_impl<Dims, std::index_sequence<I...>> {
  using type = Shape<Dims[I]...>;
};

// Each helper stays well-formed for an out-of-range dimension, so that a member's static_assert is
// the only error a mistake produces.
template <class S, std::size_t D>
constexpr auto without_dim() {
  constexpr std::size_t r = S::rank == 0 ? 0 : S::rank - 1;
  std::array<std::size_t, r> out{};
  for (std::size_t i = 0, j = 0; i < S::rank && j < r; ++i)
    if (i != D) out[j++] = S::dims[i];
  return out;
}

template <class S, std::size_t D, std::size_t N>
constexpr auto with_dim_inserted() {
  std::array<std::size_t, S::rank + 1> out{};
  const std::size_t at = D < S::rank ? D : S::rank;
  for (std::size_t i = 0, j = 0; j <= S::rank; ++j) out[j] = j == at ? N : S::dims[i++];
  return out;
}

template <class S, std::size_t D, std::size_t N>
constexpr auto with_dim_replaced() {
  auto out = S::dims;
  if (D < S::rank) out[D] = N;
  return out;
}

template <class S>
constexpr std::size_t count_not_one() {
  std::size_t n = 0;
  for (std::size_t d : S::dims) n += d != 1;
  return n;
}

template <class S>
constexpr auto squeezed() {
  std::array<std::size_t, count_not_one<S>()> out{};
  for (std::size_t i = 0, j = 0; i < S::rank; ++i)
    if (S::dims[i] != 1) out[j++] = S::dims[i];
  return out;
}

}  // namespace detail

// The Shape whose dimensions are the values of a constexpr std::array.
template <auto Dims>
using from_array = typename detail::from_array_impl<Dims>::type;
// S without dimension D: sum<D>(), select<D>(i).
template <class S, std::size_t D>
using remove = from_array<detail::without_dim<S, D>()>;
// S with a new dimension of size N before dimension D (D == rank: at the end): unsqueeze, stack.
template <class S, std::size_t D, std::size_t N = 1>
using insert = from_array<detail::with_dim_inserted<S, D, N>()>;
// S with dimension D resized to N: slice, cat.
template <class S, std::size_t D, std::size_t N>
using replace = from_array<detail::with_dim_replaced<S, D, N>()>;
// S without its dimensions of size 1: squeeze().
template <class S>
using squeeze = from_array<detail::squeezed<S>()>;

// True when P is a permutation of 0 .. Rank-1.
template <std::size_t Rank, std::size_t... P>
constexpr bool is_permutation() {
  if (sizeof...(P) != Rank) return false;
  std::array<bool, Rank> seen{};
  for (std::size_t p : std::array<std::size_t, sizeof...(P)>{P...}) {
    if (p >= Rank || seen[p]) return false;
    seen[p] = true;
  }
  return true;
}

}  // namespace shape

}  // namespace ctnn
