// AvgPool2d<Kernel, Stride, Padding> against PyTorch's nn.AvgPool2d (count_include_pad=True, ceil_mode=False):
// fixtures of tests/fixtures/make_fixtures.py (avgpool_cases: even and odd sizes, padding, overlapping
// windows, a 5x5 window of stride 3) on eigen (float, 1e-5 of each tensor's scale) and reference (double,
// 1e-9), a central-difference gradient check, and PyTorch's names. The backend ops themselves run against
// backend::reference on random geometries in differential.test_ops ("avgpool") and, on Thrust,
// backend.test_thrust_differential.
#include <catch2/catch.hpp>
#include <ctnn/ctnn.hpp>
#include <ctnn/testing/gradcheck.hpp>

#include <algorithm>
#include <cmath>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "fixture.hpp"

namespace {

using namespace ctnn;

template <class B>
constexpr double tolerance = std::is_same_v<scalar_t<B>, float> ? 1e-5 : 1e-9;

// max |actual - expected| / max(1, max |expected|): the parity suite's measure.
template <class T>
double scaled_error(const std::vector<T>& actual, const std::vector<double>& expected) {
  REQUIRE(actual.size() == expected.size());
  double scale = 1, worst = 0;
  for (double e : expected) scale = std::max(scale, std::abs(e));
  for (std::size_t i = 0; i < actual.size(); ++i)
    worst = std::max(worst, std::abs(static_cast<double>(actual[i]) - expected[i]) / scale);
  return worst;
}

template <class Batch>
Batch batch_of(const ctnn_test::FixtureTensor& t) {
  using T = typename Batch::value_type;
  const std::vector<std::size_t> per_sample(Batch::shape::dims.begin(), Batch::shape::dims.end());
  REQUIRE(std::vector<std::size_t>(t.shape.begin() + 1, t.shape.end()) == per_sample);
  std::vector<T> values(t.values.begin(), t.values.end());
  return Batch::from_host(std::span<const T>(values));
}

// Forward and input gradient of the one-layer model against fixture `name` (loss = sum(output * grad_output)).
template <class Model>
void check_fixture(const std::string& name) {
  using B = typename Model::backend_type;
  INFO("fixture " << name << " on " << B::name);
  const ctnn_test::Fixture f = ctnn_test::load_fixture(name);
  Model model{manual_seed(0)};
  const auto x = batch_of<typename Model::input_batch>(f.at("input"));
  const auto& y = model.forward(x);
  const double forward_error = scaled_error(y.to_host(), f.at("output").values);
  CHECK(forward_error <= tolerance<B>);
  const auto& dx = model.backward(batch_of<typename Model::output_batch>(f.at("grad_output")));
  const double backward_error = scaled_error(dx.to_host(), f.at("grad_input").values);
  CHECK(backward_error <= tolerance<B>);
  SUCCEED(name << ": largest errors " << forward_error << " (output), " << backward_error << " (grad_input)");
}

}  // namespace

TEMPLATE_TEST_CASE("AvgPool2d matches nn.AvgPool2d", "[avgpool][parity]", backend::eigen, backend::reference) {
  using B = TestType;
  check_fixture<Sequential<B, Input<3, 6, 6>, AvgPool2d<2>>>("avgpool2d_k2");
  check_fixture<Sequential<B, Input<2, 7, 5>, AvgPool2d<2>>>("avgpool2d_k2_odd");
  check_fixture<Sequential<B, Input<2, 7, 9>, AvgPool2d<3, 2, 1>>>("avgpool2d_k3_s2_p1");
  check_fixture<Sequential<B, Input<1, 5, 6>, AvgPool2d<3, 1, 1>>>("avgpool2d_k3_s1_p1");
  check_fixture<Sequential<B, Input<3, 11, 8>, AvgPool2d<5, 3, 2>>>("avgpool2d_k5_s3_p2");
}

TEST_CASE("AvgPool2d: the mean of each window, padding counted as zeros", "[avgpool]") {
  // One 3x3 plane 1..9, kernel 2, stride 1, padding 1: the corner window holds only the 1 and three zeros.
  Sequential<backend::reference, Input<1, 3, 3>, AvgPool2d<2, 1, 1>> model{manual_seed(0)};
  const std::vector<double> values = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const auto x = Batch<Shape<1, 3, 3>, backend::reference>::from_host(std::span<const double>(values));
  const auto y = model.forward(x).to_host();  // x must outlive the backward below
  REQUIRE(y.size() == 16);
  CHECK(y[0] == 0.25);                        // (1) / 4
  CHECK(y[1] == 0.75);                        // (1 + 2) / 4
  CHECK(y[5] == 3.0);                         // (1 + 2 + 4 + 5) / 4
  CHECK(y[15] == 2.25);                       // (9) / 4
  // Every input value lies in four windows: the gradient of sum(y) is 4 * 1/4 everywhere.
  const std::vector<double> ones(16, 1.0);
  const auto dx = model.backward(Batch<Shape<1, 4, 4>, backend::reference>::from_host(std::span<const double>(ones))).to_host();
  CHECK(dx == std::vector<double>(9, 1.0));
}

TEST_CASE("AvgPool2d: gradients against central differences", "[avgpool][gradcheck]") {
  const auto check = [](auto result) {
    INFO(result.report());
    CHECK(result);
    CHECK(result.derivatives > 0);
  };
  check(testing::check_layer_gradients<AvgPool2d<2>, Shape<2, 5, 7>>());
  check(testing::check_layer_gradients<AvgPool2d<3, 2, 1>, Shape<2, 7, 6>>());
  check(testing::check_layer_gradients<AvgPool2d<3, 1, 1>, Shape<1, 4, 5>>());
}

TEST_CASE("AvgPool2d: PyTorch's names and shapes", "[avgpool]") {
  CHECK(AvgPool2d<2>::repr() == "AvgPool2d(kernel_size=2, stride=2, padding=0)");
  CHECK(AvgPool2d<3, 2, 1>::repr() == "AvgPool2d(kernel_size=3, stride=2, padding=1)");
  CHECK(AvgPool2d<2>::type_name == "AvgPool2d");
  // floor((H + 2P - K) / S) + 1, as ceil_mode=False.
  STATIC_REQUIRE(std::is_same_v<AvgPool2d<2>::output<Shape<3, 7, 5>>, Shape<3, 3, 2>>);
  STATIC_REQUIRE(std::is_same_v<AvgPool2d<3, 2, 1>::output<Shape<2, 7, 9>>, Shape<2, 4, 5>>);
  STATIC_REQUIRE(std::is_same_v<AvgPool2d<5, 3, 2>::output<Shape<3, 11, 8>>, Shape<3, 4, 3>>);
  STATIC_REQUIRE(Sequential<backend::eigen, Input<1, 4, 4>, AvgPool2d<2>>::parameter_count == 0);
}
