#pragma once
// Conv2d: PyTorch's nn.Conv2d. Two spellings of one layer:
//   Conv2d<InC, OutC, Kernel, Stride = 1, Padding = 0>        square kernel, stride and padding
//   Conv2d<InC, OutC, Conv2dOptions{.kernel_size = {3, 5}, .stride = {1, 2}, .padding = {1, 2},
//                                   .dilation = 1, .groups = 1, .bias = true}>
// (Conv2dOptions' fields are nn.Conv2d's keyword arguments, in its order and with its defaults; a Size2
// is one size for both axes or {height, width}.) Weights [OutC, InC / groups, KH, KW] as PyTorch's, so
// state dicts load; output size floor((H + 2 PH - DH (KH - 1) - 1) / SH + 1). The whole batch goes
// through the backend's conv2d ops with one workspace kept from step to step.
#include <algorithm>
#include <string>
#include <type_traits>

#include "layer.hpp"

namespace ctnn {

// One size per spatial axis, as PyTorch's _size_2_t: a single value stands for both.
struct Size2 {
  std::size_t h, w;
  constexpr Size2(std::size_t both) : h(both), w(both) {}  // NOLINT: implicit, as PyTorch's int
  constexpr Size2(std::size_t height, std::size_t width) : h(height), w(width) {}
  constexpr bool square() const { return h == w; }
};

// nn.Conv2d's keyword arguments (padding_mode 'zeros' only).
struct Conv2dOptions {
  Size2 kernel_size;
  Size2 stride = 1;
  Size2 padding = 0;
  Size2 dilation = 1;
  std::size_t groups = 1;
  bool bias = true;
};

namespace detail {
constexpr std::size_t conv_out(std::size_t in, std::size_t k, std::size_t s, std::size_t p, std::size_t d = 1) {
  return backend::conv_output_size(in, k, s, p, d);
}
// The smallest input side a window of span `span` with padding `pad` fits in.
constexpr std::size_t min_side(std::size_t span, std::size_t pad) { return span > 2 * pad ? span - 2 * pad : 1; }
// The [C, H, W] shape a spatial layer wants: H and W kept when they are large enough, raised to the
// smallest sizes that fit otherwise (MinH, MinW).
template <class S, std::size_t C, std::size_t MinH, std::size_t MinW>
struct chw_at_least {
  using type = Shape<C, MinH, MinW>;
};
template <std::size_t C0, std::size_t H, std::size_t W, std::size_t C, std::size_t MinH, std::size_t MinW>
struct chw_at_least<Shape<C0, H, W>, C, MinH, MinW> {
  using type = Shape<C, (H > MinH ? H : MinH), (W > MinW ? W : MinW)>;
};
template <class S, std::size_t C, std::size_t K, std::size_t P>
using chw_or_default = chw_at_least<S, C, min_side(K, P), min_side(K, P)>;

// "(a, b)" as PyTorch prints a pair.
inline std::string pair_repr(Size2 s) { return cat("(", s.h, ", ", s.w, ")"); }

// The options of either spelling: Kernel is a size (the square form) or a Conv2dOptions.
template <auto Kernel, std::size_t Stride, std::size_t Padding>
consteval Conv2dOptions conv2d_options() {
  if constexpr (std::is_same_v<std::remove_cvref_t<decltype(Kernel)>, Conv2dOptions>) {
    static_assert(Stride == 1 && Padding == 0,
                  "ctnn: Conv2d<InC, OutC, Conv2dOptions{...}> takes stride and padding inside the options");
    return Kernel;
  } else {
    static_assert(std::is_integral_v<std::remove_cvref_t<decltype(Kernel)>>,
                  "ctnn: Conv2d's third argument is the kernel size or a Conv2dOptions");
    return Conv2dOptions{.kernel_size = static_cast<std::size_t>(Kernel), .stride = Stride, .padding = Padding};
  }
}
}  // namespace detail

template <std::size_t InC, std::size_t OutC, auto Kernel, std::size_t Stride = 1, std::size_t Padding = 0>
struct Conv2d {
  static constexpr Conv2dOptions options = detail::conv2d_options<Kernel, Stride, Padding>();
  static constexpr std::size_t KH = options.kernel_size.h, KW = options.kernel_size.w, groups = options.groups;
  static_assert(InC > 0 && OutC > 0 && KH > 0 && KW > 0 && options.stride.h > 0 && options.stride.w > 0 &&
                    options.dilation.h > 0 && options.dilation.w > 0,
                "ctnn: Conv2d needs positive channels, kernel, stride and dilation");
  static_assert(groups > 0 && InC % groups == 0, "ctnn: Conv2d: in_channels must be divisible by groups");
  static_assert(OutC % groups == 0, "ctnn: Conv2d: out_channels must be divisible by groups");
  static constexpr std::size_t span_h = options.dilation.h * (KH - 1) + 1, span_w = options.dilation.w * (KW - 1) + 1;

  static constexpr std::string_view type_name = "Conv2d";
  // As nn.Conv2d's extra_repr: non-default options only.
  static std::string repr() {
    const auto& o = options;
    std::string s = cat("Conv2d(", InC, ", ", OutC, ", kernel_size=", detail::pair_repr(o.kernel_size),
                        ", stride=", detail::pair_repr(o.stride));
    if (o.padding.h || o.padding.w) s += cat(", padding=", detail::pair_repr(o.padding));
    if (o.dilation.h != 1 || o.dilation.w != 1) s += cat(", dilation=", detail::pair_repr(o.dilation));
    if (o.groups != 1) s += cat(", groups=", o.groups);
    if (!o.bias) s += ", bias=False";
    return s + ")";
  }

  template <class S>
  static constexpr bool accepts = S::rank == 3 && S::dims[0] == InC && S::dims[1] + 2 * options.padding.h >= span_h &&
                                  S::dims[2] + 2 * options.padding.w >= span_w;
  template <class S>
  using expected_input = typename detail::chw_at_least<S, InC, detail::min_side(span_h, options.padding.h),
                                                       detail::min_side(span_w, options.padding.w)>::type;
  template <class S>
  using output = Shape<OutC, detail::conv_out(S::dims[1], KH, options.stride.h, options.padding.h, options.dilation.h),
                       detail::conv_out(S::dims[2], KW, options.stride.w, options.padding.w, options.dilation.w)>;

  template <class S, Backend B, fixed_string Path>
  class bound : public leaf_layer<Conv2d, S, output<S>, B, Path> {
    using base = leaf_layer<Conv2d, S, output<S>, B, Path>;
    using typename base::ops;
    using typename base::scalar;
    static constexpr std::size_t H = S::dims[1], W = S::dims[2];
    static constexpr std::size_t Ho = output<S>::dims[1], Wo = output<S>::dims[2];
    static constexpr std::size_t patch = InC / groups * KH * KW;  // PyTorch's fan_in
    static constexpr auto& o = options;
    static constexpr backend::conv_geometry geometry{InC,         H,           W,           OutC,
                                                     KH,          KW,          o.stride.h,  o.stride.w,
                                                     o.padding.h, o.padding.w, o.dilation.h, o.dilation.w,
                                                     groups,      Ho,          Wo};
    struct no_bias {};
    using bias_type = std::conditional_t<o.bias, Parameter<B>, no_bias>;

   public:
    static constexpr std::size_t parameter_count = OutC * patch + (o.bias ? OutC : 0);

    explicit bound(Generator& g) : bias_(make_bias()) {
      weight_.init_kaiming_uniform(patch, g);
      if constexpr (o.bias) bias_.init_bias_uniform(patch, g);
    }

    const Batch<output<S>, B>& forward(const Batch<S, B>& x, bool /*training*/) {
      const std::size_t n = this->prepare_output(x);
      workspace_.resize(std::max(workspace_.size(), ops::conv2d_workspace(geometry, n)));
      ops::conv2d_forward(geometry, n, x.data(), weight_.value.data(), bias_value(), this->y_.data(),
                          workspace_.data());
      return this->y_;
    }

    // Follows the forward of the same batch (the backend may keep what it prepared in the workspace).
    const Batch<S, B>& backward(const Batch<S, B>& x, const scalar* dy, bool input_grad = true) {
      const std::size_t n = this->prepare_input_grad(x);
      ops::conv2d_backward(geometry, n, x.data(), dy, weight_.value.data(), input_grad ? this->dx_.data() : nullptr,
                           weight_.grad.data(), bias_grad(), workspace_.data());
      return this->dx_;
    }

    template <class F>
    void visit_parameters(F&& f) {
      f(weight_);
      if constexpr (o.bias) f(bias_);
    }

   private:
    static bias_type make_bias() {
      if constexpr (o.bias) return Parameter<B>{parameter_name(Path.view(), "bias"), {OutC}};
      else return no_bias{};
    }
    const scalar* bias_value() const {
      if constexpr (o.bias) return bias_.value.data();
      else return nullptr;
    }
    scalar* bias_grad() {
      if constexpr (o.bias) return bias_.grad.data();
      else return nullptr;
    }

    Parameter<B> weight_{parameter_name(Path.view(), "weight"), {OutC, InC / groups, KH, KW}};
    [[no_unique_address]] bias_type bias_;
    buffer_t<B> workspace_;
  };
};

}  // namespace ctnn
