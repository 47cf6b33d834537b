#pragma once
// ConvTranspose2d: PyTorch's nn.ConvTranspose2d (the generator's upsampling layer of DCGAN).
//   ConvTranspose2d<InC, OutC, Kernel, Stride = 1, Padding = 0, OutputPadding = 0>
//   ConvTranspose2d<InC, OutC, ConvTranspose2dOptions{.kernel_size = 4, .stride = 2, .padding = 1,
//                   .output_padding = 0, .groups = 1, .bias = true, .dilation = 1}>
// Weights [InC, OutC / groups, KH, KW] and the initialisation as PyTorch's (its fan_in is
// weight.size(1) * KH * KW), so checkpoints load and seeded runs match; output size
// (H - 1) SH - 2 PH + DH (KH - 1) + output_padding + 1.
//
// A transposed convolution is the input gradient of the convolution that maps its output shape back to
// its input shape (the "mirror" below: OutC channels in, InC out, the same kernel, stride, padding,
// dilation and groups, whose weights [InC, OutC / groups, KH, KW] are exactly these). So its forward is
// that convolution's backward with the input gradient alone, and its backward that convolution's
// forward (the input gradient) and backward (the weight gradient): no op of its own, on every backend.
#include <algorithm>
#include <string>
#include <type_traits>

#include "conv.hpp"
#include "layer.hpp"

namespace ctnn {

// nn.ConvTranspose2d's keyword arguments in its order (padding_mode 'zeros' only).
struct ConvTranspose2dOptions {
  Size2 kernel_size;
  Size2 stride = 1;
  Size2 padding = 0;
  Size2 output_padding = 0;
  std::size_t groups = 1;
  bool bias = true;
  Size2 dilation = 1;
};

namespace detail {
template <auto Kernel, std::size_t Stride, std::size_t Padding, std::size_t OutputPadding>
consteval ConvTranspose2dOptions conv_transpose2d_options() {
  if constexpr (std::is_same_v<std::remove_cvref_t<decltype(Kernel)>, ConvTranspose2dOptions>) {
    static_assert(Stride == 1 && Padding == 0 && OutputPadding == 0,
                  "ctnn: ConvTranspose2d<InC, OutC, ConvTranspose2dOptions{...}> takes stride, padding and "
                  "output_padding inside the options");
    return Kernel;
  } else {
    static_assert(std::is_integral_v<std::remove_cvref_t<decltype(Kernel)>>,
                  "ctnn: ConvTranspose2d's third argument is the kernel size or a ConvTranspose2dOptions");
    return ConvTranspose2dOptions{.kernel_size = static_cast<std::size_t>(Kernel), .stride = Stride,
                                  .padding = Padding, .output_padding = OutputPadding};
  }
}
// (in - 1) s - 2 p + d (k - 1) + output_padding + 1, or 0 when the padding eats the whole output.
constexpr std::size_t conv_transpose_out(std::size_t in, std::size_t k, std::size_t s, std::size_t p, std::size_t d,
                                         std::size_t op) {
  const std::size_t full = (in - 1) * s + d * (k - 1) + op + 1;
  return full > 2 * p ? full - 2 * p : 0;
}
}  // namespace detail

template <std::size_t InC, std::size_t OutC, auto Kernel, std::size_t Stride = 1, std::size_t Padding = 0,
          std::size_t OutputPadding = 0>
struct ConvTranspose2d {
  static constexpr ConvTranspose2dOptions options =
      detail::conv_transpose2d_options<Kernel, Stride, Padding, OutputPadding>();
  static constexpr std::size_t KH = options.kernel_size.h, KW = options.kernel_size.w, groups = options.groups;
  static_assert(InC > 0 && OutC > 0 && KH > 0 && KW > 0 && options.stride.h > 0 && options.stride.w > 0 &&
                    options.dilation.h > 0 && options.dilation.w > 0,
                "ctnn: ConvTranspose2d needs positive channels, kernel, stride and dilation");
  static_assert(groups > 0 && InC % groups == 0, "ctnn: ConvTranspose2d: in_channels must be divisible by groups");
  static_assert(OutC % groups == 0, "ctnn: ConvTranspose2d: out_channels must be divisible by groups");
  static_assert((options.output_padding.h < options.stride.h || options.output_padding.h < options.dilation.h) &&
                    (options.output_padding.w < options.stride.w || options.output_padding.w < options.dilation.w),
                "ctnn: ConvTranspose2d: output padding must be smaller than either stride or dilation (as in PyTorch)");

  static constexpr std::string_view type_name = "ConvTranspose2d";
  // As nn.ConvTranspose2d's extra_repr: non-default options only, in its order.
  static std::string repr() {
    const auto& o = options;
    std::string s = cat("ConvTranspose2d(", InC, ", ", OutC, ", kernel_size=", detail::pair_repr(o.kernel_size),
                        ", stride=", detail::pair_repr(o.stride));
    if (o.padding.h || o.padding.w) s += cat(", padding=", detail::pair_repr(o.padding));
    if (o.dilation.h != 1 || o.dilation.w != 1) s += cat(", dilation=", detail::pair_repr(o.dilation));
    if (o.output_padding.h || o.output_padding.w) s += cat(", output_padding=", detail::pair_repr(o.output_padding));
    if (o.groups != 1) s += cat(", groups=", o.groups);
    if (!o.bias) s += ", bias=False";
    return s + ")";
  }

  template <class S>
  static constexpr std::size_t out_h = detail::conv_transpose_out(S::dims[1], KH, options.stride.h, options.padding.h,
                                                                  options.dilation.h, options.output_padding.h);
  template <class S>
  static constexpr std::size_t out_w = detail::conv_transpose_out(S::dims[2], KW, options.stride.w, options.padding.w,
                                                                  options.dilation.w, options.output_padding.w);
  template <class S>
  static constexpr bool accepts = S::rank == 3 && S::dims[0] == InC && S::dims[1] > 0 && S::dims[2] > 0 &&
                                  out_h<S> > 0 && out_w<S> > 0;
  template <class S>
  using expected_input = typename detail::chw_at_least<S, InC, 1, 1>::type;
  template <class S>
  using output = Shape<OutC, out_h<S>, out_w<S>>;

  template <class S, Backend B, fixed_string Path>
  class bound : public leaf_layer<ConvTranspose2d, S, output<S>, B, Path> {
    using base = leaf_layer<ConvTranspose2d, S, output<S>, B, Path>;
    using typename base::ops;
    using typename base::scalar;
    static constexpr std::size_t H = S::dims[1], W = S::dims[2];
    static constexpr std::size_t Ho = output<S>::dims[1], Wo = output<S>::dims[2];
    static constexpr std::size_t fan_in = OutC / groups * KH * KW;  // PyTorch's, from weight.size(1)
    static constexpr auto& o = options;
    // The convolution whose input gradient this layer is: from [OutC, Ho, Wo] to [InC, H, W].
    static constexpr backend::conv_geometry mirror{OutC,        Ho,          Wo,           InC,
                                                   KH,          KW,          o.stride.h,   o.stride.w,
                                                   o.padding.h, o.padding.w, o.dilation.h, o.dilation.w,
                                                   groups,      H,           W};
    struct no_bias {};
    using bias_type = std::conditional_t<o.bias, Parameter<B>, no_bias>;

   public:
    static constexpr std::size_t parameter_count = InC * fan_in + (o.bias ? OutC : 0);

    explicit bound(Generator& g) : bias_(make_bias()) {
      weight_.init_kaiming_uniform(fan_in, g);
      if constexpr (o.bias) bias_.init_bias_uniform(fan_in, g);
    }

    const Batch<output<S>, B>& forward(const Batch<S, B>& x, bool /*training*/) {
      const std::size_t n = this->prepare_output(x);
      reserve(n);
      ops::conv2d_backward(mirror, n, nullptr, x.data(), weight_.value.data(), this->y_.data(), nullptr, nullptr,
                           workspace_.data());
      if constexpr (o.bias) ops::add_bias(n, OutC, Ho * Wo, bias_.value.data(), this->y_.data());
      return this->y_;
    }

    // The input gradient is computed even when it is not wanted: it is the mirror's forward, which its
    // backward (the weight gradient) follows.
    const Batch<S, B>& backward(const Batch<S, B>& x, const scalar* dy, bool /*input_grad*/ = true) {
      const std::size_t n = this->prepare_input_grad(x);
      reserve(n);
      ops::conv2d_forward(mirror, n, dy, weight_.value.data(), nullptr, this->dx_.data(), workspace_.data());
      ops::conv2d_backward(mirror, n, dy, x.data(), weight_.value.data(), nullptr, weight_.grad.data(), nullptr,
                           workspace_.data());
      if constexpr (o.bias) ops::bias_grad(n, OutC, Ho * Wo, dy, bias_.grad.data());
      return this->dx_;
    }

    template <class F>
    void visit_parameters(F&& f) {
      f(weight_);
      if constexpr (o.bias) f(bias_);
    }

   private:
    void reserve(std::size_t n) { workspace_.resize(std::max(workspace_.size(), ops::conv2d_workspace(mirror, n))); }
    static bias_type make_bias() {
      if constexpr (o.bias) return Parameter<B>{parameter_name(Path.view(), "bias"), {OutC}};
      else return no_bias{};
    }

    Parameter<B> weight_{parameter_name(Path.view(), "weight"), {InC, OutC / groups, KH, KW}};
    [[no_unique_address]] bias_type bias_;
    buffer_t<B> workspace_;
  };
};

}  // namespace ctnn
