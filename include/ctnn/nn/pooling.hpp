#pragma once
// MaxPool2d and AvgPool2d: PyTorch's nn.MaxPool2d and nn.AvgPool2d (ceil_mode=False), each in two
// spellings:
//   MaxPool2d<Kernel, Stride = Kernel, Padding = 0>    AvgPool2d<Kernel, Stride = Kernel, Padding = 0>
//   MaxPool2d<MaxPool2dOptions{.kernel_size = {3, 2}, .stride = {2, 1}, .padding = 1, .dilation = 2}>
//   AvgPool2d<AvgPool2dOptions{.kernel_size = {3, 2}, .stride = 2, .padding = {1, 0}}>
// (a stride of 0, the default, is the kernel size: PyTorch's stride=None). Max pooling: padding counts
// as -infinity, the first maximum of a window wins and receives the gradient, a NaN wins over every
// number. Average pooling: count_include_pad=True (every window divides by KH * KW, padding counting as
// zeros); it has no dilation, as in PyTorch. Padding is at most half the kernel on each axis, as PyTorch
// requires. Both share pool2d_spec (shapes, the op geometry).
#include <cstdint>
#include <string>
#include <type_traits>

#include "conv.hpp"
#include "layer.hpp"

namespace ctnn {

// nn.MaxPool2d's keyword arguments (ceil_mode=False, return_indices=False).
struct MaxPool2dOptions {
  Size2 kernel_size;
  Size2 stride = 0;  // 0: kernel_size
  Size2 padding = 0;
  Size2 dilation = 1;
};
// nn.AvgPool2d's keyword arguments (ceil_mode=False, count_include_pad=True, no divisor_override).
struct AvgPool2dOptions {
  Size2 kernel_size;
  Size2 stride = 0;  // 0: kernel_size
  Size2 padding = 0;
};

namespace detail {
// A window as pooling sees it: kernel, stride (resolved), padding and dilation per axis.
struct pool_window {
  Size2 kernel, stride, padding, dilation;
};
template <class Options, auto Kernel, std::size_t Stride, std::size_t Padding>
consteval Options pool_options() {
  if constexpr (std::is_same_v<std::remove_cvref_t<decltype(Kernel)>, Options>) {
    static_assert(Stride == 0 && Padding == 0, "ctnn: a pooling layer given its options takes stride and padding in them");
    return Kernel;
  } else {
    static_assert(std::is_integral_v<std::remove_cvref_t<decltype(Kernel)>>,
                  "ctnn: a pooling layer's first argument is the kernel size or its options struct");
    return Options{.kernel_size = static_cast<std::size_t>(Kernel), .stride = Stride, .padding = Padding};
  }
}
template <class Options>
consteval pool_window window_of(const Options& o) {
  const Size2 stride{o.stride.h ? o.stride.h : o.kernel_size.h, o.stride.w ? o.stride.w : o.kernel_size.w};
  if constexpr (requires { o.dilation; }) return {o.kernel_size, stride, o.padding, o.dilation};
  else return {o.kernel_size, stride, o.padding, Size2{1}};
}
// PyTorch prints an int argument as an int and a pair as a tuple; square ones here as ints.
inline std::string size_repr(Size2 s) { return s.square() ? std::to_string(s.h) : pair_repr(s); }

// What MaxPool2d and AvgPool2d share: the window's checks, shapes and the op geometry.
template <pool_window Win>
struct pool2d_spec {
  static constexpr Size2 k = Win.kernel, s = Win.stride, p = Win.padding, d = Win.dilation;
  static_assert(k.h > 0 && k.w > 0 && s.h > 0 && s.w > 0 && d.h > 0 && d.w > 0,
                "ctnn: pooling needs a positive kernel, stride and dilation");
  static_assert(2 * p.h <= k.h && 2 * p.w <= k.w,
                "ctnn: pooling padding must be at most half the kernel size (as in PyTorch)");
  static constexpr std::size_t span_h = d.h * (k.h - 1) + 1, span_w = d.w * (k.w - 1) + 1;

  template <class S>
  static constexpr bool accepts = S::rank == 3 && S::dims[1] + 2 * p.h >= span_h && S::dims[2] + 2 * p.w >= span_w;
  template <class S>
  using expected_input = typename chw_at_least<S, (S::rank == 3 ? S::dims[0] : 1), min_side(span_h, p.h),
                                               min_side(span_w, p.w)>::type;
  template <class S>
  using output = Shape<S::dims[0], conv_out(S::dims[1], k.h, s.h, p.h, d.h), conv_out(S::dims[2], k.w, s.w, p.w, d.w)>;
  template <class S>
  static constexpr backend::pool_geometry geometry{
      S::dims[0], S::dims[1], S::dims[2], k.h, k.w, s.h, s.w, p.h, p.w, d.h, d.w,
      output<S>::dims[1], output<S>::dims[2]};
};
}  // namespace detail

template <auto Kernel, std::size_t Stride = 0, std::size_t Padding = 0>
struct MaxPool2d : detail::pool2d_spec<detail::window_of(detail::pool_options<MaxPool2dOptions, Kernel, Stride, Padding>())> {
  using spec_base =
      detail::pool2d_spec<detail::window_of(detail::pool_options<MaxPool2dOptions, Kernel, Stride, Padding>())>;
  static constexpr std::string_view type_name = "MaxPool2d";
  static std::string repr() {
    using detail::size_repr;
    return cat("MaxPool2d(kernel_size=", size_repr(spec_base::k), ", stride=", size_repr(spec_base::s),
               ", padding=", size_repr(spec_base::p), ", dilation=", size_repr(spec_base::d), ", ceil_mode=False)");
  }
  template <class S>
  using output = typename spec_base::template output<S>;

  template <class S, Backend B, fixed_string Path>
  class bound : public leaf_layer<MaxPool2d, S, output<S>, B, Path>, public no_parameters {
    using base = leaf_layer<MaxPool2d, S, output<S>, B, Path>;
    using typename base::ops;
    using typename base::scalar;
    static constexpr auto& geometry = spec_base::template geometry<S>;
    static constexpr std::size_t out_values = geometry.C * geometry.Ho * geometry.Wo;

   public:
    explicit bound(Generator&) {}

    const Batch<output<S>, B>& forward(const Batch<S, B>& x, bool /*training*/) {
      const std::size_t n = this->prepare_output(x);
      if (argmax_.size() < n * out_values) argmax_.resize(n * out_values);
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

template <auto Kernel, std::size_t Stride = 0, std::size_t Padding = 0>
struct AvgPool2d : detail::pool2d_spec<detail::window_of(detail::pool_options<AvgPool2dOptions, Kernel, Stride, Padding>())> {
  using spec_base =
      detail::pool2d_spec<detail::window_of(detail::pool_options<AvgPool2dOptions, Kernel, Stride, Padding>())>;
  static constexpr std::string_view type_name = "AvgPool2d";
  static std::string repr() {
    using detail::size_repr;
    return cat("AvgPool2d(kernel_size=", size_repr(spec_base::k), ", stride=", size_repr(spec_base::s),
               ", padding=", size_repr(spec_base::p), ")");
  }
  template <class S>
  using output = typename spec_base::template output<S>;

  template <class S, Backend B, fixed_string Path>
  class bound : public leaf_layer<AvgPool2d, S, output<S>, B, Path>, public no_parameters {
    using base = leaf_layer<AvgPool2d, S, output<S>, B, Path>;
    using typename base::ops;
    using typename base::scalar;
    static constexpr auto& geometry = spec_base::template geometry<S>;

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
