#pragma once
// Conv2d<InC, OutC, Kernel, Stride = 1, Padding = 0>: square kernels, PyTorch's OIHW weights and its
// output size floor((H + 2P - K) / S) + 1. The whole batch goes through the backend's conv2d ops
// (im2col + GEMM per sample in the plain loops, a direct 3x3 kernel over the batch in the Eigen backend),
// with one workspace reused from step to step.
#include <algorithm>
#include <string>

#include "layer.hpp"

namespace ctnn {

namespace detail {
constexpr std::size_t conv_out(std::size_t in, std::size_t k, std::size_t s, std::size_t p) {
  return in + 2 * p >= k ? (in + 2 * p - k) / s + 1 : 0;
}
// The [C, H, W] shape a spatial layer with a K x K window and padding P wants: H and W kept when they
// are large enough, raised to the smallest size that fits otherwise.
template <class S, std::size_t C, std::size_t K, std::size_t P>
struct chw_or_default {
  using type = Shape<C, (K > 2 * P ? K - 2 * P : 1), (K > 2 * P ? K - 2 * P : 1)>;
};
template <std::size_t C0, std::size_t H, std::size_t W, std::size_t C, std::size_t K, std::size_t P>
struct chw_or_default<Shape<C0, H, W>, C, K, P> {
  static constexpr std::size_t min_size = K > 2 * P ? K - 2 * P : 1;
  using type = Shape<C, (H > min_size ? H : min_size), (W > min_size ? W : min_size)>;
};
}  // namespace detail

template <std::size_t InC, std::size_t OutC, std::size_t Kernel, std::size_t Stride = 1, std::size_t Padding = 0>
struct Conv2d {
  static_assert(InC > 0 && OutC > 0 && Kernel > 0 && Stride > 0,
                "ctnn: Conv2d<InC, OutC, Kernel, Stride, Padding> needs positive channels, kernel and stride");
  static constexpr std::string_view type_name = "Conv2d";
  static std::string repr() {
    return cat("Conv2d(", InC, ", ", OutC, ", kernel_size=(", Kernel, ", ", Kernel, "), stride=(", Stride, ", ", Stride,
               ")", Padding ? cat(", padding=(", Padding, ", ", Padding, ")") : std::string{}, ")");
  }

  template <class S>
  static constexpr bool accepts = S::rank == 3 && S::dims[0] == InC && S::dims[1] + 2 * Padding >= Kernel &&
                                  S::dims[2] + 2 * Padding >= Kernel;
  template <class S>
  using expected_input = typename detail::chw_or_default<S, InC, Kernel, Padding>::type;
  template <class S>
  using output = Shape<OutC, detail::conv_out(S::dims[1], Kernel, Stride, Padding),
                       detail::conv_out(S::dims[2], Kernel, Stride, Padding)>;

  template <class S, Backend B, fixed_string Path>
  class bound : public leaf_layer<Conv2d, S, output<S>, B, Path> {
    using base = leaf_layer<Conv2d, S, output<S>, B, Path>;
    using typename base::ops;
    using typename base::scalar;
    static constexpr std::size_t H = S::dims[1], W = S::dims[2];
    static constexpr std::size_t Ho = output<S>::dims[1], Wo = output<S>::dims[2];
    static constexpr std::size_t patch = InC * Kernel * Kernel;
    static constexpr backend::conv_geometry geometry{InC,     H,       W, OutC, Kernel, Kernel, Stride, Stride,
                                                     Padding, Padding, 1, 1, 1,    Ho,     Wo};

   public:
    static constexpr std::size_t parameter_count = OutC * patch + OutC;

    explicit bound(Generator& g) {
      weight_.init_kaiming_uniform(patch, g);
      bias_.init_bias_uniform(patch, g);
    }

    const Batch<output<S>, B>& forward(const Batch<S, B>& x, bool /*training*/) {
      const std::size_t n = this->prepare_output(x);
      workspace_.resize(std::max(workspace_.size(), ops::conv2d_workspace(geometry, n)));
      ops::conv2d_forward(geometry, n, x.data(), weight_.value.data(), bias_.value.data(), this->y_.data(),
                          workspace_.data());
      return this->y_;
    }

    // Follows the forward of the same batch (the backend may keep what it prepared in the workspace).
    const Batch<S, B>& backward(const Batch<S, B>& x, const scalar* dy, bool input_grad = true) {
      const std::size_t n = this->prepare_input_grad(x);
      ops::conv2d_backward(geometry, n, x.data(), dy, weight_.value.data(), input_grad ? this->dx_.data() : nullptr,
                           weight_.grad.data(),
                           bias_.grad.data(), workspace_.data());
      return this->dx_;
    }

    template <class F>
    void visit_parameters(F&& f) {
      f(weight_);
      f(bias_);
    }

   private:
    Parameter<B> weight_{parameter_name(Path.view(), "weight"), {OutC, InC, Kernel, Kernel}};
    Parameter<B> bias_{parameter_name(Path.view(), "bias"), {OutC}};
    buffer_t<B> workspace_;
  };
};

}  // namespace ctnn
