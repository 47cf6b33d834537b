#pragma once
// Per-sample shapes as types. The batch is the only runtime dimension of a network's tensors;
// everything else (and every shape check) is known to the compiler.
#include <array>
#include <cstddef>
#include <ostream>
#include <string>

namespace ctnn {

template <std::size_t... Dims>
struct Shape {
  static constexpr std::size_t rank = sizeof...(Dims);
  static constexpr std::size_t size = (std::size_t{1} * ... * Dims);
  static constexpr std::array<std::size_t, rank> dims{Dims...};

  // "[3, 28, 28]"; with a batch size in front: "[32, 3, 28, 28]".
  static std::string str() { return bracket(false, 0); }
  static std::string str_with_batch(std::size_t batch) { return bracket(true, batch); }

 private:
  static std::string bracket(bool with_batch, std::size_t batch) {
    std::string s = "[";
    bool first = true;
    auto put = [&](std::size_t d) {
      if (!first) s += ", ";
      s += std::to_string(d);
      first = false;
    };
    if (with_batch) put(batch);
    (put(Dims), ...);
    return s + "]";
  }
};

template <class T>
struct is_shape : std::false_type {};
template <std::size_t... D>
struct is_shape<Shape<D...>> : std::true_type {};

template <class T>
concept ShapeType = is_shape<T>::value;

namespace shape {

// Dimension I of S (compile time).
template <class S, std::size_t I>
inline constexpr std::size_t dim = S::dims[I];

template <class S>
using flattened = Shape<S::size>;

template <class A, class B>
struct concat_impl;
template <std::size_t... A, std::size_t... B>
struct concat_impl<Shape<A...>, Shape<B...>> {
  using type = Shape<A..., B...>;
};
template <class A, class B>
using concat = typename concat_impl<A, B>::type;

// Row-major strides of S.
template <class S>
constexpr std::array<std::size_t, S::rank> strides() {
  std::array<std::size_t, S::rank> s{};
  std::size_t acc = 1;
  for (std::size_t i = S::rank; i-- > 0;) {
    s[i] = acc;
    acc *= S::dims[i];
  }
  return s;
}

}  // namespace shape
}  // namespace ctnn
