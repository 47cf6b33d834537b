#pragma once
// Linear<In, Out>: y = x W^T + b, W of shape [Out, In] as in PyTorch.
#include <string>

#include "layer.hpp"

namespace ctnn {

template <std::size_t In, std::size_t Out, bool Bias = true>
struct Linear {
  static_assert(In > 0 && Out > 0, "ctnn: Linear<In, Out> needs In > 0 and Out > 0");
  static constexpr std::string_view type_name = "Linear";
  static std::string repr() {
    return cat("Linear(in_features=", In, ", out_features=", Out, ", bias=", Bias ? "True" : "False", ")");
  }

  template <class S>
  static constexpr bool accepts = std::is_same_v<S, Shape<In>>;
  template <class S>
  using expected_input = Shape<In>;
  template <class S>
  using output = Shape<Out>;

  template <class S, Backend B, fixed_string Path>
  class bound : public leaf_layer<Linear, Shape<In>, Shape<Out>, B, Path> {
    using base = leaf_layer<Linear, Shape<In>, Shape<Out>, B, Path>;
    using typename base::ops;
    using typename base::scalar;

   public:
    static constexpr std::size_t parameter_count = In * Out + (Bias ? Out : 0);

    explicit bound(Generator& g) {
      weight_.init_kaiming_uniform(In, g);
      if constexpr (Bias) bias_.init_bias_uniform(In, g);
    }

    const Batch<Shape<Out>, B>& forward(const Batch<Shape<In>, B>& x, bool /*training*/) {
      const std::size_t n = this->prepare_output(x);
      ops::gemm(false, true, n, Out, In, 1, x.data(), weight_.value.data(), 0, this->y_.data());
      if constexpr (Bias) ops::add_bias(n, Out, 1, bias_.value.data(), this->y_.data());
      return this->y_;
    }

    const Batch<Shape<In>, B>& backward(const Batch<Shape<In>, B>& x, const scalar* dy, bool input_grad = true) {
      const std::size_t n = this->prepare_input_grad(x);
      ops::gemm(true, false, Out, In, n, 1, dy, x.data(), 1, weight_.grad.data());
      if constexpr (Bias) ops::bias_grad(n, Out, 1, dy, bias_.grad.data());
      if (input_grad) ops::gemm(false, false, n, In, Out, 1, dy, weight_.value.data(), 0, this->dx_.data());
      return this->dx_;
    }

    template <class F>
    void visit_parameters(F&& f) {
      f(weight_);
      if constexpr (Bias) f(bias_);
    }

   private:
    Parameter<B> weight_{parameter_name(Path.view(), "weight"), {Out, In}};
    Parameter<B> bias_{parameter_name(Path.view(), "bias"), {Bias ? Out : 0}};
  };
};

}  // namespace ctnn
