// The convolution and pooling vocabulary beyond square windows: Conv2d's options form (rectangular
// kernels, strides and padding, dilation, groups, depthwise, bias=False), ConvTranspose2d, MaxPool2d
// and AvgPool2d with rectangular windows (and MaxPool2d's dilation), AdaptiveAvgPool2d. PyTorch's
// outputs and gradients come from tests/fixtures/make_conv_fixtures.py through tests/support/parity.hpp
// (its layer cases run here on eigen and reference, and on Thrust and CUDA in the backend tests); here:
// PyTorch's initialisation bit for bit, its reprs and output sizes, central-difference gradients. The
// ops themselves run against backend::reference on random geometries in differential.test_ops.
#include <catch2/catch.hpp>
#include <ctnn/ctnn.hpp>
#include <ctnn/testing/gradcheck.hpp>
#if __has_include(<ctnn/nn/conv_transpose.hpp>)
#include <ctnn/nn/adaptive_pool.hpp>
#include <ctnn/nn/conv_transpose.hpp>
#endif

#include <string>
#include <type_traits>

#include "fixture.hpp"

using namespace ctnn;

namespace {

// A Conv2dOptions with a rectangular kernel, stride and padding (the conv2d_rect fixture's layer).
constexpr Conv2dOptions rect{.kernel_size = {3, 5}, .stride = {1, 2}, .padding = {1, 2}};
constexpr Conv2dOptions dilated{.kernel_size = 3, .padding = 2, .dilation = 2};
constexpr Conv2dOptions grouped{.kernel_size = 3, .padding = 1, .groups = 2};
constexpr Conv2dOptions depthwise{.kernel_size = 3, .stride = 2, .padding = 1, .groups = 3, .bias = false};
constexpr ConvTranspose2dOptions up_rect{.kernel_size = {3, 2}, .stride = {2, 3}, .padding = {1, 0},
                                         .output_padding = {1, 2}, .groups = 2, .bias = false};
constexpr ConvTranspose2dOptions up_dilated{.kernel_size = 3, .stride = 2, .output_padding = 1, .dilation = 2};
constexpr MaxPool2dOptions max_rect{.kernel_size = {3, 2}, .stride = {2, 1}, .padding = 1, .dilation = {2, 1}};
constexpr AvgPool2dOptions avg_rect{.kernel_size = {3, 2}, .stride = {2, 1}, .padding = {1, 0}};

// A model built right after manual_seed(0) holds the parameters PyTorch's layer gets after
// torch.manual_seed(0) (the fixtures' `parameter` entries, float32 values).
template <class Model>
void check_init(const std::string& fixture) {
  INFO(fixture);
  Model model{manual_seed(0)};
  const auto expected = ctnn_test::load_fixture(fixture).parameters();
  const auto actual = model.state_dict();
  REQUIRE(actual.size() == expected.size());
  for (std::size_t t = 0; t < actual.size(); ++t) {
    INFO(actual[t].name);
    REQUIRE(actual[t].name == expected[t].name);
    REQUIRE(actual[t].shape == expected[t].shape);
    for (std::size_t i = 0; i < actual[t].values.size(); ++i)
      REQUIRE(static_cast<double>(actual[t].values[i]) == expected[t].values[i]);
  }
}

template <class Result>
void check_gradients(const Result& result) {
  INFO(result.report());
  CHECK(result);
  CHECK(result.derivatives > 0);
}

}  // namespace

TEST_CASE("Conv2d and ConvTranspose2d start from PyTorch's weights, in its layouts", "[conv][init]") {
  using B = backend::eigen;
  check_init<Sequential<B, Input<3, 7, 9>, Conv2d<3, 4, rect>>>("conv2d_rect");
  check_init<Sequential<B, Input<4, 6, 5>, Conv2d<4, 6, grouped>>>("conv2d_groups");  // [6, 2, 3, 3]
  check_init<Sequential<B, Input<3, 7, 8>, Conv2d<3, 6, depthwise>>>("conv2d_depthwise_no_bias");  // no bias
  // [In, Out / groups, KH, KW], fan_in from weight.size(1) as PyTorch's.
  check_init<Sequential<B, Input<4, 4, 5>, ConvTranspose2d<4, 3, 4, 2, 1>>>("convtranspose2d_k4_s2_p1");
  check_init<Sequential<B, Input<2, 4, 3>, ConvTranspose2d<2, 4, up_rect>>>("convtranspose2d_rect_groups");
}

TEST_CASE("Conv2d: both spellings, PyTorch's repr and output sizes", "[conv]") {
  // The short form is the options form with square sizes.
  STATIC_REQUIRE(Conv2d<3, 8, 5, 2, 1>::options.kernel_size.h == 5);
  STATIC_REQUIRE(Conv2d<3, 8, 5, 2, 1>::options.padding.w == 1);
  CHECK(Conv2d<3, 8, 5, 2, 1>::repr() == "Conv2d(3, 8, kernel_size=(5, 5), stride=(2, 2), padding=(1, 1))");
  CHECK(Conv2d<2, 3, 3>::repr() == "Conv2d(2, 3, kernel_size=(3, 3), stride=(1, 1))");
  CHECK(Conv2d<3, 4, rect>::repr() == "Conv2d(3, 4, kernel_size=(3, 5), stride=(1, 2), padding=(1, 2))");
  CHECK(Conv2d<2, 3, dilated>::repr() ==
        "Conv2d(2, 3, kernel_size=(3, 3), stride=(1, 1), padding=(2, 2), dilation=(2, 2))");
  CHECK(Conv2d<3, 6, depthwise>::repr() ==
        "Conv2d(3, 6, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), groups=3, bias=False)");
  // floor((H + 2P - D (K - 1) - 1) / S) + 1 per axis.
  STATIC_REQUIRE(std::is_same_v<Conv2d<3, 4, rect>::output<Shape<3, 7, 9>>, Shape<4, 7, 5>>);
  STATIC_REQUIRE(std::is_same_v<Conv2d<2, 3, dilated>::output<Shape<2, 8, 7>>, Shape<3, 8, 7>>);
  STATIC_REQUIRE(std::is_same_v<Conv2d<3, 6, depthwise>::output<Shape<3, 7, 8>>, Shape<6, 4, 4>>);
  // A dilated kernel needs its span: 2 (3 - 1) + 1 = 5 rows, padding included.
  STATIC_REQUIRE(Conv2d<1, 1, Conv2dOptions{.kernel_size = 3, .dilation = 2}>::accepts<Shape<1, 5, 5>>);
  STATIC_REQUIRE(!Conv2d<1, 1, Conv2dOptions{.kernel_size = 3, .dilation = 2}>::accepts<Shape<1, 4, 5>>);
  STATIC_REQUIRE(Sequential<backend::eigen, Input<3, 7, 8>, Conv2d<3, 6, depthwise>>::parameter_count == 6 * 1 * 9);
  STATIC_REQUIRE(Sequential<backend::eigen, Input<4, 6, 5>, Conv2d<4, 6, grouped>>::parameter_count == 6 * 2 * 9 + 6);
}

TEST_CASE("ConvTranspose2d: PyTorch's repr and output size", "[conv][transpose]") {
  CHECK(ConvTranspose2d<4, 3, 4, 2, 1>::repr() ==
        "ConvTranspose2d(4, 3, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1))");
  CHECK(ConvTranspose2d<2, 4, up_rect>::repr() ==
        "ConvTranspose2d(2, 4, kernel_size=(3, 2), stride=(2, 3), padding=(1, 0), output_padding=(1, 2), groups=2, "
        "bias=False)");
  CHECK(ConvTranspose2d<2, 3, up_dilated>::repr() ==
        "ConvTranspose2d(2, 3, kernel_size=(3, 3), stride=(2, 2), dilation=(2, 2), output_padding=(1, 1))");
  // (H - 1) S - 2 P + D (K - 1) + output_padding + 1: DCGAN's 7 -> 14 -> 28 with k4 s2 p1.
  STATIC_REQUIRE(std::is_same_v<ConvTranspose2d<8, 4, 4, 2, 1>::output<Shape<8, 7, 7>>, Shape<4, 14, 14>>);
  STATIC_REQUIRE(std::is_same_v<ConvTranspose2d<2, 4, up_rect>::output<Shape<2, 4, 3>>, Shape<4, 8, 10>>);
  STATIC_REQUIRE(std::is_same_v<ConvTranspose2d<2, 3, up_dilated>::output<Shape<2, 3, 4>>, Shape<3, 10, 12>>);
  STATIC_REQUIRE(Sequential<backend::eigen, Input<2, 4, 3>, ConvTranspose2d<2, 4, up_rect>>::parameter_count ==
                 2 * 2 * 3 * 2);
}

TEST_CASE("Pooling: options forms, PyTorch's reprs and output sizes", "[pool]") {
  CHECK(MaxPool2d<2>::repr() == "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)");
  CHECK(MaxPool2d<max_rect>::repr() ==
        "MaxPool2d(kernel_size=(3, 2), stride=(2, 1), padding=1, dilation=(2, 1), ceil_mode=False)");
  CHECK(AvgPool2d<avg_rect>::repr() == "AvgPool2d(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0))");
  CHECK(AvgPool2d<3, 2, 1>::repr() == "AvgPool2d(kernel_size=3, stride=2, padding=1)");
  CHECK(AdaptiveAvgPool2d<1>::repr() == "AdaptiveAvgPool2d(output_size=1)");
  CHECK(AdaptiveAvgPool2d<2, 3>::repr() == "AdaptiveAvgPool2d(output_size=(2, 3))");
  // The stride defaults to the kernel, per axis (PyTorch's stride=None).
  STATIC_REQUIRE(std::is_same_v<MaxPool2d<MaxPool2dOptions{.kernel_size = {2, 3}}>::output<Shape<1, 6, 9>>,
                                Shape<1, 3, 3>>);
  STATIC_REQUIRE(std::is_same_v<MaxPool2d<max_rect>::output<Shape<2, 9, 7>>, Shape<2, 4, 8>>);
  STATIC_REQUIRE(std::is_same_v<AvgPool2d<avg_rect>::output<Shape<2, 7, 6>>, Shape<2, 4, 5>>);
  STATIC_REQUIRE(std::is_same_v<AdaptiveAvgPool2d<2, 3>::output<Shape<5, 6, 9>>, Shape<5, 2, 3>>);
}

TEST_CASE("AdaptiveAvgPool2d: PyTorch's windows, overlapping when the sizes are not multiples", "[pool][adaptive]") {
  // One row of 5 values to 3 outputs: windows [0, 2), [1, 4), [3, 5).
  Sequential<backend::reference, Input<1, 1, 5>, AdaptiveAvgPool2d<1, 3>> model{manual_seed(0)};
  const std::vector<double> values = {1, 2, 3, 4, 6};
  const auto x = Batch<Shape<1, 1, 5>, backend::reference>::from_host(std::span<const double>(values));
  CHECK(model.forward(x).to_host() == std::vector<double>{1.5, 3.0, 5.0});
  const std::vector<double> ones(3, 1.0);
  const auto dx =
      model.backward(Batch<Shape<1, 1, 3>, backend::reference>::from_host(std::span<const double>(ones))).to_host();
  CHECK(dx == std::vector<double>{0.5, 0.5 + 1.0 / 3, 1.0 / 3, 1.0 / 3 + 0.5, 0.5});
}

TEST_CASE("Convolution and pooling vocabulary: gradients against central differences", "[conv][pool][gradcheck]") {
  check_gradients(testing::check_layer_gradients<Conv2d<3, 4, rect>, Shape<3, 5, 7>>());
  check_gradients(testing::check_layer_gradients<Conv2d<2, 3, dilated>, Shape<2, 5, 4>>());
  check_gradients(testing::check_layer_gradients<Conv2d<4, 6, grouped>, Shape<4, 4, 3>>());
  check_gradients(testing::check_layer_gradients<Conv2d<3, 6, depthwise>, Shape<3, 5, 4>>());
  check_gradients(testing::check_layer_gradients<ConvTranspose2d<3, 2, 4, 2, 1>, Shape<3, 3, 2>>());
  check_gradients(testing::check_layer_gradients<ConvTranspose2d<2, 4, up_rect>, Shape<2, 3, 2>>());
  check_gradients(testing::check_layer_gradients<ConvTranspose2d<2, 3, up_dilated>, Shape<2, 2, 3>>());
  check_gradients(testing::check_layer_gradients<MaxPool2d<max_rect>, Shape<2, 7, 5>>());
  check_gradients(testing::check_layer_gradients<AvgPool2d<avg_rect>, Shape<2, 5, 4>>());
  check_gradients(testing::check_layer_gradients<AdaptiveAvgPool2d<2, 3>, Shape<2, 5, 7>>());
}
