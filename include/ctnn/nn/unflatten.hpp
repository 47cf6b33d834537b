#pragma once
// Unflatten<Dim, Shape<...>>: PyTorch's nn.Unflatten(dim, unflattened_size), which splits dimension Dim
// of [batch, ...] (Dim counts the batch as 0, so Dim >= 1) into the given sizes:
//   Unflatten<1, Shape<16, 7, 7>>   [batch, 784] -> [batch, 16, 7, 7]
// The sizes must multiply to the dimension's size: otherwise the build stops with
// LAYER_INPUT_SHAPE_MISMATCH naming the layer and the shape it expected.
// The data are not moved, only copied into the output (row-major order is kept).
#include <cstddef>
#include <string>

#include "layer.hpp"

namespace ctnn {

namespace detail {
template <class Before, class Rest, std::size_t Index, class Sizes>
struct unflatten_shape;
// Walks S's dimensions, replacing the one at Index (per sample, i.e. Dim - 1) with Sizes.
template <std::size_t... Before, std::size_t D, std::size_t... Rest, std::size_t Index, std::size_t... Sizes>
struct unflatten_shape<Shape<Before...>, Shape<D, Rest...>, Index, Shape<Sizes...>> {
  using type = std::conditional_t<
      sizeof...(Before) == Index, Shape<Before..., Sizes..., Rest...>,
      typename unflatten_shape<Shape<Before..., D>, Shape<Rest...>, Index, Shape<Sizes...>>::type>;
};
template <std::size_t... Before, std::size_t Index, class Sizes>
struct unflatten_shape<Shape<Before...>, Shape<>, Index, Sizes> {
  using type = Shape<Before...>;  // Index past the rank: rejected by accepts
};
}  // namespace detail

template <std::size_t Dim, class Sizes>
struct Unflatten {
  static_assert(Dim >= 1, "ctnn: Unflatten<Dim, Shape<...>> splits a per-sample dimension: Dim >= 1 (0 is the batch)");
  static_assert(is_shape<Sizes>::value && Sizes::rank > 0, "ctnn: Unflatten's sizes are a Shape<...>");
  static constexpr std::string_view type_name = "Unflatten";
  static std::string repr() {
    std::string sizes;
    for (std::size_t i = 0; i < Sizes::rank; ++i) sizes += cat(i ? ", " : "", Sizes::dims[i]);
    return cat("Unflatten(dim=", Dim, ", unflattened_size=(", sizes, Sizes::rank == 1 ? ",))" : "))");
  }

  template <class S>
  static constexpr bool accepts = [] {
    if constexpr (Dim > S::rank) return false;
    else return S::dims[Dim - 1] == Sizes::size;
  }();
  // The shape it wanted: S with dimension Dim made the sizes' product (or [product] when S is too short).
  template <class S>
  using expected_input = std::conditional_t<(Dim > S::rank), Shape<Sizes::size>,
                                            typename detail::unflatten_shape<Shape<>, S, Dim - 1, Shape<Sizes::size>>::type>;
  template <class S>
  using output = typename detail::unflatten_shape<Shape<>, S, Dim - 1, Sizes>::type;

  template <class S, Backend B, fixed_string Path>
  class bound : public leaf_layer<Unflatten, S, output<S>, B, Path>, public no_parameters {
    using base = leaf_layer<Unflatten, S, output<S>, B, Path>;
    using typename base::ops;
    using typename base::scalar;

   public:
    explicit bound(Generator&) {}
    const Batch<output<S>, B>& forward(const Batch<S, B>& x, bool /*training*/) {
      this->prepare_output(x);
      ops::copy(x.size(), x.data(), this->y_.data());
      return this->y_;
    }
    const Batch<S, B>& backward(const Batch<S, B>& x, const scalar* dy) {
      this->prepare_input_grad(x);
      ops::copy(x.size(), dy, this->dx_.data());
      return this->dx_;
    }
  };
};

}  // namespace ctnn
