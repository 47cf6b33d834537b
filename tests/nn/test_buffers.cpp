// Buffers beside parameters (PyTorch's register_buffer) and requires_grad: a test-only layer shaped
// like BatchNorm1d (tests/support/buffered_layer.hpp) puts float and int64 buffers in a Sequential.
// Buffers are in state_dict (PyTorch's order: each layer's parameters, then its buffers), change in
// training forwards only, move with to<Backend>, are not parameters (optimizers and summary() do not
// see them); frozen parameters (requires_grad = false) are skipped by SGD and Adam and counted as
// non-trainable, as torchinfo counts them.
#include <catch2/catch.hpp>
#include <ctnn/ctnn.hpp>
#include <ctnn/nn/transfer.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "buffered_layer.hpp"

using namespace ctnn;
using Catch::Contains;
using ctnn_test::TrackedNorm1d;

namespace {

template <Backend B>
using Net = Sequential<B, Input<4>, Linear<4, 3>, TrackedNorm1d<3>, ReLU, Linear<3, 2>>;

template <Backend B>
Batch<Shape<4>, B> inputs(std::size_t n, std::uint64_t seed) {
  Batch<Shape<4>, B> x(n);
  Generator g{seed};
  backend::ops<B>::fill_normal(x.size(), x.data(), 1.0, 2.0, g);
  return x;
}

std::vector<std::string> names(const StateDict<float>& s) {
  std::vector<std::string> out;
  for (const auto& t : s) out.push_back(t.name);
  return out;
}

const StateTensor<float>& at(const StateDict<float>& s, const std::string& name) {
  for (const auto& t : s)
    if (t.name == name) return t;
  FAIL("no tensor " << name);
  throw;
}

}  // namespace

static_assert(LayerWithBuffers<TrackedNorm1d<3>::bound<Shape<3>, backend::eigen, "1">>);
static_assert(!LayerWithBuffers<Linear<4, 3>::bound<Shape<4>, backend::eigen, "0">>);

TEST_CASE("buffers are in state_dict in PyTorch's order, with their dtypes, and are not parameters", "[buffers]") {
  Net<backend::eigen> model{manual_seed(0)};
  const auto state = model.state_dict();
  // nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 2)).state_dict().keys()
  CHECK(names(state) == std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
                                                 "1.running_var", "1.num_batches_tracked", "3.weight", "3.bias"});
  CHECK(at(state, "1.running_var").values == std::vector<float>{1, 1, 1});
  CHECK_FALSE(at(state, "1.running_var").is_int64);
  const auto& count = at(state, "1.num_batches_tracked");
  CHECK(count.is_int64);
  CHECK(count.shape.empty());
  CHECK(count.values.empty());
  CHECK(count.int64_values == std::vector<std::int64_t>{0});

  CHECK(model.parameters().size() == 6);  // buffers are not parameters
  std::vector<std::string> buffers;
  model.visit_buffers([&](auto& b) { buffers.push_back(b.name); });
  CHECK(buffers == std::vector<std::string>{"1.running_mean", "1.running_var", "1.num_batches_tracked"});
  CHECK(Net<backend::eigen>::parameter_count == 15 + 6 + 8);
}

TEST_CASE("training forwards update buffers, eval forwards do not; load_state_dict restores them", "[buffers]") {
  Net<backend::eigen> model{manual_seed(0)};
  const auto initial = model.state_dict();
  const auto x = inputs<backend::eigen>(5, 1);
  model.forward(x);
  model.forward(x);
  auto trained = model.state_dict();
  CHECK(at(trained, "1.num_batches_tracked").int64_values == std::vector<std::int64_t>{2});
  CHECK(at(trained, "1.running_mean").values != at(initial, "1.running_mean").values);
  model.eval();
  model.forward(x);
  CHECK(at(model.state_dict(), "1.num_batches_tracked").int64_values == std::vector<std::int64_t>{2});

  Net<backend::eigen> fresh{manual_seed(5)};
  fresh.eval();
  fresh.load_state_dict(trained);
  CHECK(fresh.forward(x).to_host() == model.forward(x).to_host());
  const auto loaded = fresh.state_dict();
  for (std::size_t i = 0; i < loaded.size(); ++i) {
    CHECK(loaded[i].values == trained[i].values);
    CHECK(loaded[i].int64_values == trained[i].int64_values);
  }
}

TEST_CASE("to<Backend> and copy_parameters carry buffers (int64 stays int64)", "[buffers][transfer]") {
  Net<backend::eigen> model{manual_seed(0)};
  model.forward(inputs<backend::eigen>(6, 2));
  model.eval();
  auto ref = to<backend::reference>(model);
  const auto a = model.state_dict();
  const auto b = ref.state_dict();
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(b[i].name == a[i].name);
    CHECK(b[i].is_int64 == a[i].is_int64);
    CHECK(b[i].int64_values == a[i].int64_values);
    for (std::size_t j = 0; j < a[i].values.size(); ++j) CHECK(b[i].values[j] == static_cast<double>(a[i].values[j]));
  }
  const auto x = inputs<backend::reference>(3, 3);
  Net<backend::reference> other{manual_seed(9)};
  other.eval();
  copy_parameters(ref, other);
  CHECK(other.forward(x).to_host() == ref.forward(x).to_host());
}

TEMPLATE_TEST_CASE("SGD and Adam step parameters only, and skip frozen ones", "[buffers][requires_grad]",
                   backend::eigen, backend::reference) {
  using B = TestType;
  Net<B> model{manual_seed(0)};
  const auto x = inputs<B>(8, 4);
  const std::vector<std::int64_t> classes = {0, 1, 1, 0, 1, 0, 0, 1};
  const auto labels = Labels<B>::from_host(std::span<const std::int64_t>(classes));
  CrossEntropyLoss<B> loss;
  model.body().template get<0>().visit_parameters([](Parameter<B>& p) { p.requires_grad_(false); });
  auto run = [&](auto& optimizer) {
    const auto before = model.state_dict();
    for (int step = 0; step < 3; ++step) {
      optimizer.zero_grad();
      (void)loss(model.forward(x), labels);
      model.backward(loss.grad(), InputGrad::skip);
      optimizer.step();
    }
    const auto after = model.state_dict();
    for (std::size_t i = 0; i < after.size(); ++i) {
      INFO(after[i].name);
      const bool frozen = after[i].name.starts_with("0.");
      const bool buffer = after[i].name.find("running") != std::string::npos || after[i].is_int64;
      if (frozen) CHECK(after[i].values == before[i].values);
      else if (!buffer) CHECK(after[i].values != before[i].values);  // trained
    }
    // Buffers changed only through the training forwards, never by the optimizer.
    CHECK(after[6].int64_values[0] == before[6].int64_values[0] + 3);
  };
  SECTION("SGD") {
    optim::SGD<B> sgd(model.parameters(), {.lr = 0.1, .momentum = 0.9});
    run(sgd);
  }
  SECTION("Adam") {
    optim::Adam<B> adam(model.parameters(), {.lr = 0.01});
    run(adam);
  }
}

TEST_CASE("summary counts frozen parameters as non-trainable and buffers not at all (as torchinfo)",
          "[buffers][requires_grad][summary]") {
  Net<backend::eigen> model{manual_seed(0)};
  std::string s = model.summary(2);
  // torchinfo.summary(nn.Sequential(Linear(4, 3), BatchNorm1d(3), ReLU(), Linear(3, 2)), (2, 4)):
  // Total params: 29, Trainable params: 29, Non-trainable params: 0 (the 7 buffer values are not counted).
  CHECK_THAT(s, Contains("Total params: 29\n") && Contains("Trainable params: 29\n") &&
                    Contains("Non-trainable params: 0\n"));
  model.body().get<0>().visit_parameters([](auto& p) { p.requires_grad = false; });
  s = model.summary(2);
  CHECK_THAT(s, Contains("Total params: 29\n") && Contains("Trainable params: 14\n") &&
                    Contains("Non-trainable params: 15\n"));
  CHECK_THAT(s, Contains("(15)"));  // torchinfo shows a frozen layer's count in parentheses
  model.requires_grad_(false);
  CHECK_THAT(model.summary(2), Contains("Trainable params: 0\n") && Contains("Non-trainable params: 29\n"));
  model.requires_grad_(true);
  CHECK_THAT(model.summary(2), Contains("Trainable params: 29\n"));
}
