// LeakyReLU, ELU, GELU (erf and tanh), SiLU, Softplus, Hardswish and Dropout2d. Their PyTorch parity
// (fixtures of tests/fixtures/make_activation_fixtures.py, on every backend) is in
// tests/support/parity.hpp; here: the float tails value by value (inputs -100..100, where exp and erf
// over- or underflow), central-difference gradient checks, PyTorch's reprs, and Dropout2d's masks.
#include <catch2/catch.hpp>
#include <ctnn/ctnn.hpp>
#include <ctnn/testing/gradcheck.hpp>

#include <algorithm>
#include <cmath>
#include <span>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "fixture.hpp"

namespace {

using namespace ctnn;

// Each value of the float backend against the exact one (mpmath at 50 digits, the fixtures'
// exact_output and exact_grad_input; PyTorch's own float64 kernels lose the far tails), relative to the
// value itself rather than to the tensor's largest as the parity suite measures. 1e-5 allows for the
// conditioning of the tails (GELU(-11) moves by x^2 = 121 times the relative rounding of x / sqrt 2).
// Below 1e-35 the exact value is under float's normal range, where 0 or a subnormal is the right float
// answer. Within |x| <= 4 a derivative may be the difference of two terms of size 1 (GELU's
// Phi(x) + x phi(x) vanishes at x = -0.75): there float keeps 2e-7 of dy and no more.
template <class Layer>
void check_float_values(const std::string& name) {
  INFO("fixture " << name);
  const ctnn_test::Fixture f = ctnn_test::load_fixture(name);
  using Model = Sequential<backend::eigen, Input<41>, Layer>;
  Model model{manual_seed(0)};
  const auto& xt = f.at("input");
  const std::vector<float> xv(xt.values.begin(), xt.values.end());
  const auto x = Model::input_batch::from_host(std::span<const float>(xv));
  const auto y = model.forward(x).to_host();
  const auto& ye = f.at("exact_output").values;
  const auto& dye = f.at("grad_output").values;
  const std::vector<float> dyv(dye.begin(), dye.end());
  const auto dx = model.backward(Model::output_batch::from_host(std::span<const float>(dyv))).to_host();
  const auto& dxe = f.at("exact_grad_input").values;
  REQUIRE(y.size() == ye.size());
  REQUIRE(dx.size() == dxe.size());
  std::size_t bad = 0;
  std::ostringstream details;
  for (std::size_t i = 0; i < y.size(); ++i) {
    const double value_tol = 1e-5 * std::abs(ye[i]) + 1e-35;
    const double grad_tol = 1e-5 * std::abs(dxe[i]) + (std::abs(xv[i]) <= 4 ? 2e-7 * std::abs(dye[i]) : 1e-35);
    const bool value_ok = std::abs(y[i] - ye[i]) <= value_tol;
    const bool grad_ok = std::abs(dx[i] - dxe[i]) <= grad_tol;
    if (!value_ok || !grad_ok) {
      ++bad;
      details << "x = " << xv[i] << ": y " << y[i] << " vs " << ye[i] << ", dx " << dx[i] << " vs " << dxe[i] << "\n";
    }
    CHECK(std::isfinite(y[i]));
    CHECK(std::isfinite(dx[i]));
  }
  INFO(details.str());
  CHECK(bad == 0);
}

template <class Layer, class In = Shape<2, 7>>
void check_gradients() {
  const auto result = testing::check_layer_gradients<Layer, In>();
  INFO(result.report());
  CHECK(result);
  CHECK(result.derivatives == 3 * In::size);
}

template <class B>
using Planes = Batch<Shape<2, 3, 4>, B>;

}  // namespace

TEST_CASE("Activations: float values and gradients from -100 to 100, value by value", "[activation][tails]") {
  check_float_values<LeakyReLU<>>("act_leaky_relu");
  check_float_values<LeakyReLU<0.2>>("act_leaky_relu_0.2");
  check_float_values<ELU<>>("act_elu");
  check_float_values<ELU<0.5>>("act_elu_0.5");
  check_float_values<GELU<>>("act_gelu");
  check_float_values<GELU<approximate::tanh>>("act_gelu_tanh");
  check_float_values<SiLU>("act_silu");
  check_float_values<Softplus<>>("act_softplus");
  check_float_values<Softplus<2.0, 10.0>>("act_softplus_2_10");
  check_float_values<Hardswish>("act_hardswish");
}

TEST_CASE("Activations: exact values at the kinks and thresholds", "[activation]") {
  using B = backend::reference;
  const std::vector<double> xs = {-3, 0, 3, 20, 20.5, 10.5};
  const auto x = Batch<Shape<6>, B>::from_host(std::span<const double>(xs));
  const std::vector<double> ones(6, 1.0);
  const auto dy = Batch<Shape<6>, B>::from_host(std::span<const double>(ones));
  {
    Sequential<B, Input<6>, Hardswish> m{manual_seed(0)};
    CHECK(m.forward(x).to_host() == std::vector<double>{0, 0, 3, 20, 20.5, 10.5});
    // PyTorch's (vectorized kernel's) one-sided choices: x / 3 + 1/2 on [-3, 3), so -0.5 at -3 and 1 at 3.
    CHECK(m.backward(dy).to_host() == std::vector<double>{-0.5, 0.5, 1, 1, 1, 1});
  }
  {
    Sequential<B, Input<6>, Softplus<>> m{manual_seed(0)};
    const auto y = m.forward(x).to_host();
    CHECK(y[3] == Approx(std::log1p(std::exp(20.0))).epsilon(1e-15));  // 20 is not above the threshold
    CHECK(y[4] == 20.5);                                                 // above it: the input itself
    const auto g = m.backward(dy).to_host();
    CHECK(g[4] == 1.0);
    CHECK(g[1] == 0.5);
  }
  {
    Sequential<B, Input<6>, Softplus<2.0, 20.0>> m{manual_seed(0)};  // beta x = 21 > 20 at x = 10.5
    CHECK(m.forward(x).to_host()[5] == 10.5);
  }
  {
    Sequential<B, Input<6>, LeakyReLU<0.2>> m{manual_seed(0)};
    CHECK(m.forward(x).to_host()[0] == Approx(-0.6));
    CHECK(m.backward(dy).to_host()[1] == 0.2);  // PyTorch: x > 0 takes dy, x = 0 the slope
  }
  {
    Sequential<B, Input<6>, GELU<>> m{manual_seed(0)};
    CHECK(m.forward(x).to_host()[1] == 0.0);
    CHECK(m.backward(dy).to_host()[1] == 0.5);
  }
}

TEST_CASE("Activations: gradients against central differences", "[activation][gradcheck]") {
  check_gradients<LeakyReLU<>>();
  check_gradients<LeakyReLU<0.2>>();
  check_gradients<ELU<>>();
  check_gradients<ELU<0.5>>();
  check_gradients<GELU<>>();
  check_gradients<GELU<approximate::tanh>>();
  check_gradients<SiLU>();
  check_gradients<Softplus<>>();
  check_gradients<Softplus<2.0, 1.0>>();  // the threshold at beta x = 1 lies inside N(0, 1)'s range
  check_gradients<Hardswish, Shape<40>>();
}

TEST_CASE("Activations: PyTorch's reprs", "[activation]") {
  CHECK(LeakyReLU<>::repr() == "LeakyReLU(negative_slope=0.01)");
  CHECK(LeakyReLU<0.2>::repr() == "LeakyReLU(negative_slope=0.2)");
  CHECK(ELU<>::repr() == "ELU(alpha=1.0)");
  CHECK(ELU<0.5>::repr() == "ELU(alpha=0.5)");
  CHECK(GELU<>::repr() == "GELU(approximate='none')");
  CHECK(GELU<approximate::tanh>::repr() == "GELU(approximate='tanh')");
  CHECK(SiLU::repr() == "SiLU()");
  CHECK(Softplus<>::repr() == "Softplus(beta=1, threshold=20)");
  CHECK(Softplus<0.5, 10.0>::repr() == "Softplus(beta=0.5, threshold=10)");
  CHECK(Hardswish::repr() == "Hardswish()");
  CHECK(Dropout2d<>::repr() == "Dropout2d(p=0.5, inplace=False)");
  CHECK(Dropout2d<0.25>::repr() == "Dropout2d(p=0.25, inplace=False)");
  CHECK(GELU<>::type_name == "GELU");
  // A real template argument keeps its exact double on every compiler (clang 14 goes through ctnn::exact_real).
  STATIC_REQUIRE(real_value(real_parameter(1e-7)) == 1e-7);
  STATIC_REQUIRE(real_value(real_parameter(-0.3)) == -0.3);
  STATIC_REQUIRE(exact_real(0.1).value() == 0.1);
  STATIC_REQUIRE(exact_real(-1e30 / 1e20).value() == -1e30 / 1e20);
}

TEST_CASE("Dropout2d zeroes whole channels, identically for the same seed", "[dropout2d]") {
  using B = backend::reference;
  using Model = Sequential<B, Input<2, 3, 4>, Dropout2d<0.5>>;
  std::vector<double> xv(6 * 24);
  for (std::size_t i = 0; i < xv.size(); ++i) xv[i] = 1.0 + static_cast<double>(i);
  const auto x = Planes<B>::from_host(std::span<const double>(xv));
  Model a{manual_seed(3)}, b{manual_seed(3)}, c{manual_seed(4)};
  a.train();
  b.train();
  c.train();
  const auto ya = a.forward(x).to_host();
  CHECK(ya == b.forward(x).to_host());
  std::vector<double> yc = c.forward(x).to_host();
  const auto yb2 = b.forward(x).to_host();  // a second draw of the same stream
  CHECK((yc != ya || yb2 != ya));
  for (std::size_t plane = 0; plane < 12; ++plane) {
    const bool zero = ya[plane * 12] == 0.0;
    for (std::size_t i = plane * 12; i < (plane + 1) * 12; ++i) CHECK(ya[i] == (zero ? 0.0 : 2.0 * xv[i]));
  }
  a.eval();
  CHECK(a.forward(x).to_host() == xv);
}

TEST_CASE("Dropout2d: p = 0 and p = 1, gradients through the mask, [C, H, W] inputs only", "[dropout2d]") {
  using B = backend::reference;
  std::vector<double> xv(24, 1.5);
  const auto x = Batch<Shape<2, 3, 4>, B>::from_host(std::span<const double>(xv));
  Sequential<B, Input<2, 3, 4>, Dropout2d<0.0>> keep{manual_seed(1)};
  Sequential<B, Input<2, 3, 4>, Dropout2d<1.0>> drop{manual_seed(1)};
  keep.train();
  drop.train();
  CHECK(keep.forward(x).to_host() == xv);
  CHECK(drop.forward(x).to_host() == std::vector<double>(24, 0.0));
  CHECK(drop.backward(x).to_host() == std::vector<double>(24, 0.0));
  // The mask stays fixed across the central differences (each evaluation copies the trained model).
  testing::GradcheckOptions training;
  training.training = true;
  const auto result = testing::check_layer_gradients<Dropout2d<0.4>, Shape<3, 2, 2>>(training);
  INFO(result.report());
  CHECK(result);
  STATIC_REQUIRE(Dropout2d<>::accepts<Shape<3, 2, 2>>);
  STATIC_REQUIRE_FALSE(Dropout2d<>::accepts<Shape<12>>);
  STATIC_REQUIRE(std::is_same_v<Dropout2d<>::output<Shape<3, 2, 2>>, Shape<3, 2, 2>>);
}
