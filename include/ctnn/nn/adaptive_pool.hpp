#pragma once
// AdaptiveAvgPool2d<OutH, OutW = OutH>: PyTorch's nn.AdaptiveAvgPool2d. Output (oh, ow) is the mean of
// input rows [floor(oh H / OutH), ceil((oh + 1) H / OutH)) and the columns alike, so the windows may
// differ in size and overlap when H is not a multiple of OutH; AdaptiveAvgPool2d<1> is global average
// pooling. Any input size works, smaller than the output included (as in PyTorch).
#include <string>

#include "conv.hpp"
#include "layer.hpp"

namespace ctnn {

template <std::size_t OutH, std::size_t OutW = OutH>
struct AdaptiveAvgPool2d {
  static_assert(OutH > 0 && OutW > 0, "ctnn: AdaptiveAvgPool2d needs a positive output size");
  static constexpr std::string_view type_name = "AdaptiveAvgPool2d";
  static std::string repr() {
    return cat("AdaptiveAvgPool2d(output_size=", OutH == OutW ? std::to_string(OutH) : detail::pair_repr({OutH, OutW}),
               ")");
  }

  template <class S>
  static constexpr bool accepts = S::rank == 3 && S::dims[1] > 0 && S::dims[2] > 0;
  template <class S>
  using expected_input = typename detail::chw_at_least<S, (S::rank == 3 ? S::dims[0] : 1), 1, 1>::type;
  template <class S>
  using output = Shape<S::dims[0], OutH, OutW>;

  template <class S, Backend B, fixed_string Path>
  class bound : public leaf_layer<AdaptiveAvgPool2d, S, output<S>, B, Path>, public no_parameters {
    using base = leaf_layer<AdaptiveAvgPool2d, S, output<S>, B, Path>;
    using typename base::ops;
    using typename base::scalar;
    // The window fields are not read by the adaptive ops.
    static constexpr backend::pool_geometry geometry{S::dims[0], S::dims[1], S::dims[2], 1, 1, 1, 1, 0, 0, 1, 1,
                                                     OutH, OutW};

   public:
    explicit bound(Generator&) {}

    const Batch<output<S>, B>& forward(const Batch<S, B>& x, bool /*training*/) {
      const std::size_t n = this->prepare_output(x);
      ops::adaptive_avgpool_forward(geometry, n, x.data(), this->y_.data());
      return this->y_;
    }

    const Batch<S, B>& backward(const Batch<S, B>& x, const scalar* dy) {
      const std::size_t n = this->prepare_input_grad(x);
      ops::adaptive_avgpool_backward(geometry, n, dy, this->dx_.data());
      return this->dx_;
    }
  };
};

}  // namespace ctnn
