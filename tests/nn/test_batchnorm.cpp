// BatchNorm1d and BatchNorm2d against PyTorch (fixtures of tests/fixtures/make_resnet_fixtures.py: a
// train step with input, weight and bias gradients, the running statistics after two steps, an eval
// forward and backward; 1d on [N] and [N, L], 2d on odd sizes, non-default eps and momentum, affine=False,
// track_running_stats=False) on eigen (float, 1e-5 of each tensor's scale) and reference (double, 1e-9),
// central-difference gradient checks in both modes, PyTorch's reprs, state_dict names and order.
#include <catch2/catch.hpp>
#include <ctnn/ctnn.hpp>
#include <ctnn/testing/gradcheck.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "fixture.hpp"

namespace {

using namespace ctnn;

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
  const std::vector<std::size_t> per_sample(Batch::shape::dims.begin(), Batch::shape::dims.end());
  REQUIRE(std::vector<std::size_t>(t.shape.begin() + 1, t.shape.end()) == per_sample);
  std::vector<T> values(t.values.begin(), t.values.end());
  return Batch::from_host(std::span<const T>(values));
}

// The fixture's initial state_dict (its `parameter` entries) as a StateDict; num_batches_tracked is int64.
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

template <class Model>
std::vector<double> state_values(Model& model, const std::string& name) {
  for (const auto& t : model.state_dict())
    if (t.name == name)
      return t.is_int64 ? std::vector<double>(t.int64_values.begin(), t.int64_values.end())
                        : std::vector<double>(t.values.begin(), t.values.end());
  FAIL("no state named " << name);
  return {};
}

template <class Model>
void check_batchnorm_fixture(const std::string& name) {
  using B = typename Model::backend_type;
  using T = scalar_t<B>;
  INFO("fixture " << name << " on " << B::name);
  const ctnn_test::Fixture f = ctnn_test::load_fixture(name);
  Model model{manual_seed(0)};
  model.load_state_dict(state_of<T>(f));

  // Step 1: train-mode forward and backward.
  model.train();
  const auto x = batch_of<typename Model::input_batch>(f.at("input"));
  CHECK(scaled_error(model.forward(x).to_host(), f.at("output").values) <= tolerance<B>);
  model.zero_grad();
  const auto dy = batch_of<typename Model::output_batch>(f.at("grad_output"));
  CHECK(scaled_error(model.backward(dy).to_host(), f.at("grad_input").values) <= tolerance<B>);
  for (auto* p : model.parameters()) {
    INFO(p->name);
    CHECK(scaled_error(p->grad_to_host(), f.at(p->name + ".grad").values) <= tolerance<B>);
  }

  // Step 2 moves the running statistics again (unbiased variance, momentum) and counts the batch.
  const auto x2 = batch_of<typename Model::input_batch>(f.at("input_2"));
  model.forward(x2);
  for (const auto& t : f.tensors()) {
    if (!t.name.starts_with("step2.")) continue;
    INFO(t.name);
    CHECK(scaled_error(state_values(model, t.name.substr(6)), t.values) <= tolerance<B>);
  }

  // Eval: the running statistics (or, without them, the batch's own).
  model.eval();
  const auto xe = batch_of<typename Model::input_batch>(f.at("eval_input"));
  CHECK(scaled_error(model.forward(xe).to_host(), f.at("eval_output").values) <= tolerance<B>);
  const auto dye = batch_of<typename Model::output_batch>(f.at("eval_grad_output"));
  CHECK(scaled_error(model.backward(dye).to_host(), f.at("eval_grad_input").values) <= tolerance<B>);
}

}  // namespace

TEMPLATE_TEST_CASE("BatchNorm matches nn.BatchNorm1d and nn.BatchNorm2d", "[batchnorm][parity]", backend::eigen,
                   backend::reference) {
  using B = TestType;
  check_batchnorm_fixture<Sequential<B, Input<5>, BatchNorm1d<5>>>("batchnorm1d_5");
  check_batchnorm_fixture<Sequential<B, Input<3, 5>, BatchNorm1d<3>>>("batchnorm1d_3_l5");
  check_batchnorm_fixture<Sequential<B, Input<3, 5, 7>, BatchNorm2d<3>>>("batchnorm2d_3");
  check_batchnorm_fixture<Sequential<B, Input<3, 3, 5>, BatchNorm2d<3, 1e-3, 0.3>>>("batchnorm2d_3_eps_momentum");
  check_batchnorm_fixture<Sequential<B, Input<2, 3, 3>, BatchNorm2d<2, 1e-5, 0.1, false>>>("batchnorm2d_2_no_affine");
  check_batchnorm_fixture<Sequential<B, Input<4>, BatchNorm1d<4, 1e-5, 0.1, true, false>>>("batchnorm1d_4_no_stats");
}

TEST_CASE("BatchNorm: gradients against central differences, train and eval", "[batchnorm][gradcheck]") {
  const auto check = [](auto result) {
    INFO(result.report());
    CHECK(result);
    CHECK(result.derivatives > 0);
  };
  // Train mode: the batch's statistics depend on every sample, so dL/dx couples the batch.
  check(testing::check_layer_gradients<BatchNorm1d<3>, Shape<3>>({.batch = 4, .training = true, .tolerance = 1e-5}));
  check(testing::check_layer_gradients<BatchNorm1d<2>, Shape<2, 3>>({.batch = 3, .training = true, .tolerance = 1e-5}));
  check(testing::check_layer_gradients<BatchNorm2d<2>, Shape<2, 3, 2>>({.batch = 2, .training = true, .tolerance = 1e-5}));
  check(testing::check_layer_gradients<BatchNorm2d<2, 1e-5, 0.1, false>, Shape<2, 2, 3>>(
      {.batch = 2, .training = true, .tolerance = 1e-5}));
  // Eval mode: the running statistics are constants.
  check(testing::check_layer_gradients<BatchNorm2d<3>, Shape<3, 2, 2>>({.batch = 2}));
  check(testing::check_layer_gradients<BatchNorm1d<4>, Shape<4>>({.batch = 3}));
}

TEST_CASE("BatchNorm: PyTorch's reprs, defaults, state_dict and summary", "[batchnorm]") {
  CHECK(BatchNorm1d<5>::repr() == "BatchNorm1d(5, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)");
  CHECK(BatchNorm2d<3, 1e-3, 0.3>::repr() ==
        "BatchNorm2d(3, eps=0.001, momentum=0.3, affine=True, track_running_stats=True)");
  CHECK(BatchNorm2d<2, 1e-5, 0.1, false, false>::repr() ==
        "BatchNorm2d(2, eps=1e-05, momentum=0.1, affine=False, track_running_stats=False)");
  STATIC_REQUIRE(BatchNorm1d<4>::accepts<Shape<4>> && BatchNorm1d<4>::accepts<Shape<4, 9>>);
  STATIC_REQUIRE(!BatchNorm1d<4>::accepts<Shape<3>> && !BatchNorm1d<4>::accepts<Shape<4, 2, 2>>);
  STATIC_REQUIRE(BatchNorm2d<4>::accepts<Shape<4, 2, 3>> && !BatchNorm2d<4>::accepts<Shape<4, 6>>);

  using Model = Sequential<backend::eigen, Input<3, 4, 4>, Conv2d<3, 2, 3>, BatchNorm2d<2>, ReLU>;
  STATIC_REQUIRE(Model::parameter_count == 2 * 3 * 9 + 2 + 4);
  Model model{manual_seed(0)};
  std::vector<std::string> names;
  for (const auto& t : model.state_dict()) names.push_back(t.name);
  // nn.Sequential(nn.Conv2d(3, 2, 3), nn.BatchNorm2d(2), nn.ReLU()).state_dict().keys()
  CHECK(names == std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
                                          "1.running_var", "1.num_batches_tracked"});
  CHECK(state_values(model, "1.weight") == std::vector<double>{1, 1});
  CHECK(state_values(model, "1.running_var") == std::vector<double>{1, 1});
  CHECK(state_values(model, "1.num_batches_tracked") == std::vector<double>{0});
  CHECK(model.repr() ==
        "Sequential(\n  (0): Conv2d(3, 2, kernel_size=(3, 3), stride=(1, 1))\n"
        "  (1): BatchNorm2d(2, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n  (2): ReLU()\n)");

  // affine=False has no parameters, track_running_stats=False no buffers (PyTorch's None).
  Sequential<backend::reference, Input<2>, BatchNorm1d<2, 1e-5, 0.1, false, false>> bare{manual_seed(0)};
  CHECK(bare.state_dict().empty());
}

TEST_CASE("BatchNorm: one value per channel in training is an error, as in PyTorch", "[batchnorm]") {
  Sequential<backend::reference, Input<3>, BatchNorm1d<3>> model{manual_seed(0)};
  const std::vector<double> one = {1, 2, 3};
  const auto x = Batch<Shape<3>, backend::reference>::from_host(std::span<const double>(one));
  CHECK_THROWS_WITH(model.forward(x), Catch::Matchers::Contains("expected more than 1 value per channel when training"));
  model.eval();
  CHECK(model.forward(x).to_host().size() == 3);  // the running statistics need no batch
}
