#pragma once
// Flatten: [batch, C, H, W] -> [batch, C*H*W] (PyTorch's start_dim=1).
#include <string>

#include "layer.hpp"

namespace ctnn {

struct Flatten {
  static constexpr std::string_view type_name = "Flatten";
  static std::string repr() { return "Flatten(start_dim=1, end_dim=-1)"; }

  template <class S>
  static constexpr bool accepts = true;
  template <class S>
  using expected_input = S;
  template <class S>
  using output = Shape<S::size>;

  template <class S, Backend B, fixed_string Path>
  class bound : public leaf_layer<Flatten, S, Shape<S::size>, B, Path>, public no_parameters {
    using base = leaf_layer<Flatten, S, Shape<S::size>, B, Path>;
    using typename base::ops;
    using typename base::scalar;

   public:
    explicit bound(Generator&) {}
    const Batch<Shape<S::size>, B>& forward(const Batch<S, B>& x, bool /*training*/) {
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
