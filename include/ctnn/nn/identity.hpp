#pragma once
// Identity: PyTorch's nn.Identity, y = x. Forward hands back the input itself (nothing is copied), so
// an Identity shortcut in a Residual costs nothing; backward copies dL/dy into the gradient it owns.
#include <string>

#include "layer.hpp"

namespace ctnn {

struct Identity {
  static constexpr std::string_view type_name = "Identity";
  static std::string repr() { return "Identity()"; }

  template <class S>
  static constexpr bool accepts = true;
  template <class S>
  using expected_input = S;
  template <class S>
  using output = S;

  template <class S, Backend B, fixed_string Path>
  class bound : public leaf_layer<Identity, S, S, B, Path>, public no_parameters {
    using base = leaf_layer<Identity, S, S, B, Path>;
    using typename base::ops;
    using typename base::scalar;

   public:
    explicit bound(Generator&) {}
    // x must outlive the use of output(), as for every layer's input until backward.
    const Batch<S, B>& forward(const Batch<S, B>& x, bool /*training*/) {
      input_ = &x;
      return x;
    }
    const Batch<S, B>& backward(const Batch<S, B>& x, const scalar* dy) {
      this->prepare_input_grad(x);
      ops::copy(x.size(), dy, this->dx_.data());
      return this->dx_;
    }
    const Batch<S, B>& output() const { return input_ ? *input_ : this->y_; }

   private:
    const Batch<S, B>* input_ = nullptr;
  };
};

namespace detail {
template <class L>
inline constexpr bool is_identity = false;
template <>
inline constexpr bool is_identity<Identity> = true;
}  // namespace detail

}  // namespace ctnn
