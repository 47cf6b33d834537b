#pragma once
// MaxPool2d<Kernel, Stride = Kernel, Padding = 0> and AvgPool2d<Kernel, Stride = Kernel, Padding = 0>:
// PyTorch's nn.MaxPool2d (its output size and tie-breaking: the first maximum in the window receives the
// gradient) and nn.AvgPool2d (count_include_pad=True: every window divides by Kernel^2, padding counting as
// zeros), both with ceil_mode=False and dilation 1.
#include <cstdint>
#include <string>

#include "conv.hpp"
#include "layer.hpp"

namespace ctnn {

template <std::size_t Kernel, std::size_t Stride = Kernel, std::size_t Padding = 0>
struct MaxPool2d {
  static_assert(Kernel > 0 && Stride > 0, "ctnn: MaxPool2d<Kernel, Stride> needs a positive kernel and stride");
  static_assert(2 * Padding <= Kernel, "ctnn: MaxPool2d padding must be at most half the kernel size (as in PyTorch)");
  static constexpr std::string_view type_name = "MaxPool2d";
  static std::string repr() {
    return cat("MaxPool2d(kernel_size=", Kernel, ", stride=", Stride, ", padding=", Padding,
               ", dilation=1, ceil_mode=False)");
  }

  template <class S>
  static constexpr bool accepts = S::rank == 3 && S::dims[1] + 2 * Padding >= Kernel && S::dims[2] + 2 * Padding >= Kernel;
  template <class S>
  using expected_input = typename detail::chw_or_default<S, (S::rank == 3 ? S::dims[0] : 1), Kernel, Padding>::type;
  template <class S>
  using output = Shape<S::dims[0], detail::conv_out(S::dims[1], Kernel, Stride, Padding),
                       detail::conv_out(S::dims[2], Kernel, Stride, Padding)>;

  template <class S, Backend B, fixed_string Path>
  class bound : public leaf_layer<MaxPool2d, S, output<S>, B, Path>, public no_parameters {
    using base = leaf_layer<MaxPool2d, S, output<S>, B, Path>;
    using typename base::ops;
    using typename base::scalar;
    static constexpr std::size_t C = S::dims[0], H = S::dims[1], W = S::dims[2];
    static constexpr std::size_t Ho = output<S>::dims[1], Wo = output<S>::dims[2];
    static constexpr backend::pool_geometry geometry{C, H, W, Kernel, Kernel, Stride, Stride, Padding, Padding, 1, 1, Ho, Wo};

   public:
    explicit bound(Generator&) {}

    const Batch<output<S>, B>& forward(const Batch<S, B>& x, bool /*training*/) {
      const std::size_t n = this->prepare_output(x);
      if (argmax_.size() < n * C * Ho * Wo) argmax_.resize(n * C * Ho * Wo);
      ops::maxpool_forward(geometry, n, x.data(), this->y_.data(), argmax_.data());
      return this->y_;
    }

    const Batch<S, B>& backward(const Batch<S, B>& x, const scalar* dy) {
      const std::size_t n = this->prepare_input_grad(x);
      ops::maxpool_backward(geometry, n, dy, argmax_.data(), this->dx_.data());
      return this->dx_;
    }

   private:
    buffer_t<B, std::int32_t> argmax_;
  };
};

template <std::size_t Kernel, std::size_t Stride = Kernel, std::size_t Padding = 0>
struct AvgPool2d {
  static_assert(Kernel > 0 && Stride > 0, "ctnn: AvgPool2d<Kernel, Stride> needs a positive kernel and stride");
  static_assert(2 * Padding <= Kernel, "ctnn: AvgPool2d padding must be at most half the kernel size (as in PyTorch)");
  static constexpr std::string_view type_name = "AvgPool2d";
  static std::string repr() {
    return cat("AvgPool2d(kernel_size=", Kernel, ", stride=", Stride, ", padding=", Padding, ")");
  }

  template <class S>
  static constexpr bool accepts = S::rank == 3 && S::dims[1] + 2 * Padding >= Kernel && S::dims[2] + 2 * Padding >= Kernel;
  template <class S>
  using expected_input = typename detail::chw_or_default<S, (S::rank == 3 ? S::dims[0] : 1), Kernel, Padding>::type;
  template <class S>
  using output = Shape<S::dims[0], detail::conv_out(S::dims[1], Kernel, Stride, Padding),
                       detail::conv_out(S::dims[2], Kernel, Stride, Padding)>;

  template <class S, Backend B, fixed_string Path>
  class bound : public leaf_layer<AvgPool2d, S, output<S>, B, Path>, public no_parameters {
    using base = leaf_layer<AvgPool2d, S, output<S>, B, Path>;
    using typename base::ops;
    using typename base::scalar;
    static constexpr backend::pool_geometry geometry{
        S::dims[0], S::dims[1], S::dims[2], Kernel, Kernel, Stride, Stride, Padding, Padding, 1, 1,
        output<S>::dims[1], output<S>::dims[2]};

   public:
    explicit bound(Generator&) {}

    const Batch<output<S>, B>& forward(const Batch<S, B>& x, bool /*training*/) {
      const std::size_t n = this->prepare_output(x);  // sizes y_: before y_.data() is taken
      ops::avgpool_forward(geometry, n, x.data(), this->y_.data());
      return this->y_;
    }

    const Batch<S, B>& backward(const Batch<S, B>& x, const scalar* dy) {
      const std::size_t n = this->prepare_input_grad(x);
      ops::avgpool_backward(geometry, n, dy, this->dx_.data());
      return this->dx_;
    }
  };
};

}  // namespace ctnn
