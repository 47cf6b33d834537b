// Graphs as types: Residual (identity and projection shortcuts), Concat, Identity and Unflatten, and a
// small torchvision-style ResNet against PyTorch (tests/fixtures/make_resnet_fixtures.py: a train step's
// output and every parameter gradient, the running statistics after it, the eval output) on eigen
// (float, 1e-5 of each tensor's scale) and reference (double, 1e-9); the ResNet's state_dict names and
// order are torchvision's, and a checkpoint written from torch loads strictly.
#include <catch2/catch.hpp>
#include <ctnn/ctnn.hpp>
#include <ctnn/testing/gradcheck.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "fixture.hpp"
#include "seed_models.hpp"

namespace {

using namespace ctnn;
using ctnn_test::BasicBlock;
using ctnn_test::SmallResNet;

template <class B>
constexpr double tolerance = std::is_same_v<scalar_t<B>, float> ? 1e-5 : 1e-9;

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
  std::vector<T> values(t.values.begin(), t.values.end());
  return Batch::from_host(std::span<const T>(values));
}

template <class T>
StateDict<T> state_of(const ctnn_test::Fixture& f) {
  StateDict<T> state;
  for (const auto& p : f.parameters()) {
    if (p.name.ends_with("num_batches_tracked"))
      state.push_back(StateTensor<T>::int64(p.name, p.shape, std::vector<std::int64_t>(p.values.begin(), p.values.end())));
    else
      state.push_back({p.name, p.shape, std::vector<T>(p.values.begin(), p.values.end())});
  }
  return state;
}

template <class B, std::size_t... D>
Batch<Shape<D...>, B> iota_batch(Shape<D...>, std::size_t n, double scale) {
  using T = scalar_t<B>;
  std::vector<T> v(n * Shape<D...>::size);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<T>(scale * std::sin(0.7 * static_cast<double>(i) + 0.3));
  return Batch<Shape<D...>, B>::from_host(std::span<const T>(v));
}

void check(const testing::GradcheckResult& result) {
  INFO(result.report());
  CHECK(result);
  CHECK(result.derivatives > 0);
}

}  // namespace

TEMPLATE_TEST_CASE("A torchvision-style ResNet matches PyTorch: train step, running statistics, eval",
                   "[graph][resnet][parity]", backend::eigen, backend::reference) {
  using B = TestType;
  using T = scalar_t<B>;
  const ctnn_test::Fixture f = ctnn_test::load_fixture("resnet_small");
  SmallResNet<B> model{manual_seed(0)};
  model.load_state_dict(state_of<T>(f));

  model.train();
  const auto x = batch_of<typename SmallResNet<B>::input_batch>(f.at("input"));
  CHECK(scaled_error(model.forward(x).to_host(), f.at("output").values) <= tolerance<B>);
  model.zero_grad();
  model.backward(batch_of<typename SmallResNet<B>::output_batch>(f.at("grad_output")), InputGrad::skip);
  std::size_t checked = 0;
  for (auto* p : model.parameters()) {
    INFO(p->name);
    CHECK(scaled_error(p->grad_to_host(), f.at(p->name + ".grad").values) <= tolerance<B>);
    ++checked;
  }
  CHECK(checked == 26);  // 7 convolutions and 6 BatchNorms in pairs, and fc

  for (const auto& t : model.state_dict()) {
    if (!f.contains("step1." + t.name)) continue;
    INFO(t.name);
    const std::vector<double> got = t.is_int64 ? std::vector<double>(t.int64_values.begin(), t.int64_values.end())
                                               : std::vector<double>(t.values.begin(), t.values.end());
    CHECK(scaled_error(got, f.at("step1." + t.name).values) <= tolerance<B>);
  }

  model.eval();
  CHECK(scaled_error(model.forward(x).to_host(), f.at("eval_output").values) <= tolerance<B>);
}

TEST_CASE("ResNet: torchvision's state_dict names in its order, and a checkpoint written by torch loads",
          "[graph][resnet][state_dict]") {
  const ctnn_test::Fixture f = ctnn_test::load_fixture("resnet_small");
  SmallResNet<backend::eigen> model{manual_seed(3)};
  std::vector<std::string> ours, torchs;
  for (const auto& t : model.state_dict()) ours.push_back(t.name);
  for (const auto& p : f.parameters()) torchs.push_back(p.name);
  CHECK(ours == torchs);  // "layer1.0.conv1.weight", "layer2.0.downsample.0.weight", ...
  CHECK(std::find(ours.begin(), ours.end(), "layer2.0.downsample.1.running_mean") != ours.end());

  // Strict: every key of the file matches one of ours, with its shape and dtype (int64 counters).
  const auto keys = load(model, std::string(CTNN_FIXTURES_DIR) + "/resnet_small.safetensors");
  CHECK(keys.missing_keys.empty());
  CHECK(keys.unexpected_keys.empty());
  for (const auto& t : model.state_dict()) {
    INFO(t.name);
    const std::vector<double> got = t.is_int64 ? std::vector<double>(t.int64_values.begin(), t.int64_values.end())
                                               : std::vector<double>(t.values.begin(), t.values.end());
    CHECK(scaled_error(got, f.at(t.name).values) == 0);  // float32 values, float32 model
  }
  const auto x = batch_of<SmallResNet<backend::eigen>::input_batch>(f.at("input"));
  CHECK(scaled_error(model.forward(x).to_host(), f.at("output").values) <= 1e-5);
}

TEST_CASE("Residual: y = After(Body(x) + Shortcut(x)), gradients through both branches", "[graph][residual]") {
  // An identity shortcut adds x itself.
  using Plain = Residual<Block<Linear<4, 4>, Tanh>>;
  Sequential<backend::reference, Input<4>, Plain> with{manual_seed(5)};
  Sequential<backend::reference, Input<4>, Linear<4, 4>, Tanh> body{manual_seed(5)};  // the same draws
  const auto x = iota_batch<backend::reference>(Shape<4>{}, 3, 0.8);
  const auto y = with.forward(x).to_host();
  const auto b = body.forward(x).to_host();
  const auto xs = x.to_host();
  for (std::size_t i = 0; i < y.size(); ++i) CHECK(y[i] == Approx(b[i] + xs[i]).epsilon(1e-14));

  check(testing::check_layer_gradients<Plain, Shape<4>>({.batch = 3}));
  check(testing::check_layer_gradients<Residual<Block<Linear<3, 5>, Tanh>, Linear<3, 5>, Sigmoid>, Shape<3>>({.batch = 2}));
  // Conv body, projection shortcut with BatchNorm, in training (batch statistics couple the samples).
  check(testing::check_layer_gradients<
        Residual<Block<Conv2d<2, 3, 3, 2, 1>, BatchNorm2d<3>>, Block<Conv2d<2, 3, 1, 2>, BatchNorm2d<3>>, Tanh>,
        Shape<2, 4, 4>>({.batch = 3, .training = true, .tolerance = 1e-5}));

  // Parameter gradients only (InputGrad::skip) equal those of a full backward.
  SmallResNet<backend::reference> full{manual_seed(1)}, skip{manual_seed(1)};
  const auto xr = iota_batch<backend::reference>(Shape<1, 8, 8>{}, 2, 1.0);
  const auto dy = iota_batch<backend::reference>(Shape<3>{}, 2, 0.5);
  full.forward(xr);
  full.backward(dy);
  skip.forward(xr);
  skip.backward(dy, InputGrad::skip);
  const auto pf = full.parameters(), ps = skip.parameters();
  for (std::size_t i = 0; i < pf.size(); ++i) CHECK(pf[i]->grad_to_host() == ps[i]->grad_to_host());
}

TEST_CASE("Residual: PyTorch-style repr and a summary of its children", "[graph][residual]") {
  Sequential<backend::eigen, Input<4, 6, 6>, Named<"layer2", Block<BasicBlock<4, 8, 2>>>> model{manual_seed(0)};
  const std::string expected =
      "Sequential(\n"
      "  (layer2): Sequential(\n"
      "    (0): Residual(\n"
      "      (conv1): Conv2d(4, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))\n"
      "      (bn1): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
      "      (relu): ReLU()\n"
      "      (conv2): Conv2d(8, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n"
      "      (bn2): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
      "      (downsample): Sequential(\n"
      "        (0): Conv2d(4, 8, kernel_size=(1, 1), stride=(2, 2))\n"
      "        (1): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
      "      )\n"
      "      (relu): ReLU()\n"
      "    )\n"
      "  )\n"
      ")";
  CHECK(model.repr() == expected);
  const std::string summary = model.summary(2);
  CHECK(summary.find("layer2.0.downsample (Sequential)") != std::string::npos);
  CHECK(summary.find("layer2.0.conv1 (Conv2d)") != std::string::npos);
  STATIC_REQUIRE(std::is_same_v<decltype(model)::output_shape, Shape<8, 3, 3>>);
}

TEST_CASE("Concat joins its branches along the channels (torch.cat(dim=1))", "[graph][concat]") {
  using Inception = Concat<Conv2d<2, 3, 1>, Identity, Block<Conv2d<2, 1, 3, 1, 1>, ReLU>>;
  STATIC_REQUIRE(std::is_same_v<Inception::output<Shape<2, 4, 5>>, Shape<6, 4, 5>>);
  Sequential<backend::reference, Input<2, 4, 5>, Inception> model{manual_seed(2)};
  const auto x = iota_batch<backend::reference>(Shape<2, 4, 5>{}, 2, 1.0);
  const auto y = model.forward(x).to_host();
  auto& branches = model.body().template get<0>();
  const auto a = branches.template get<0>().output().to_host();
  const auto c = branches.template get<2>().output().to_host();
  const auto xs = x.to_host();
  for (std::size_t s = 0; s < 2; ++s) {
    for (std::size_t i = 0; i < 60; ++i) CHECK(y[s * 120 + i] == a[s * 60 + i]);
    for (std::size_t i = 0; i < 40; ++i) CHECK(y[s * 120 + 60 + i] == xs[s * 40 + i]);
    for (std::size_t i = 0; i < 20; ++i) CHECK(y[s * 120 + 100 + i] == c[s * 20 + i]);
  }
  std::vector<std::string> names;
  for (auto* p : model.parameters()) names.push_back(p->name);
  CHECK(names == std::vector<std::string>{"0.0.weight", "0.0.bias", "0.2.0.weight", "0.2.0.bias"});
  check(testing::check_layer_gradients<Concat<Conv2d<2, 3, 1>, Identity, Block<Conv2d<2, 1, 3, 1, 1>, Tanh>>,
                                       Shape<2, 3, 3>>({.batch = 2}));
  check(testing::check_layer_gradients<Concat<Linear<3, 2>, Named<"skip", Identity>>, Shape<3>>({.batch = 2}));
}

TEST_CASE("Identity and Unflatten: PyTorch's nn.Identity and nn.Unflatten", "[graph][unflatten]") {
  CHECK(Identity::repr() == "Identity()");
  CHECK(Unflatten<1, Shape<2, 3, 4>>::repr() == "Unflatten(dim=1, unflattened_size=(2, 3, 4))");
  CHECK(Unflatten<2, Shape<6>>::repr() == "Unflatten(dim=2, unflattened_size=(6,))");
  STATIC_REQUIRE(std::is_same_v<Unflatten<1, Shape<2, 3, 4>>::output<Shape<24>>, Shape<2, 3, 4>>);
  STATIC_REQUIRE(std::is_same_v<Unflatten<2, Shape<2, 3>>::output<Shape<5, 6, 7>>, Shape<5, 2, 3, 7>>);
  STATIC_REQUIRE(!Unflatten<1, Shape<2, 3>>::accepts<Shape<7>>);
  STATIC_REQUIRE(std::is_same_v<Unflatten<1, Shape<2, 3>>::expected_input<Shape<7>>, Shape<6>>);

  // A decoder's Linear -> Unflatten -> Conv2d, as a DCGAN generator's first layers.
  using Decoder = Sequential<backend::reference, Input<5>, Linear<5, 2 * 3 * 3>, Unflatten<1, Shape<2, 3, 3>>,
                             Conv2d<2, 1, 3, 1, 1>, Identity>;
  STATIC_REQUIRE(std::is_same_v<Decoder::output_shape, Shape<1, 3, 3>>);
  Decoder model{manual_seed(4)};
  const auto x = iota_batch<backend::reference>(Shape<5>{}, 2, 1.0);
  const auto y = model.forward(x).to_host();
  const auto lin = model.body().template get<0>().output().to_host();
  const auto unf = model.body().template get<1>().output().to_host();
  CHECK(unf == lin);  // the same values, row-major order kept
  CHECK(y == model.body().template get<2>().output().to_host());  // Identity hands its input on
  check(testing::check_layer_gradients<Block<Linear<4, 6>, Unflatten<1, Shape<2, 3>>, Tanh, Identity>, Shape<4>>(
      {.batch = 2}));
}
