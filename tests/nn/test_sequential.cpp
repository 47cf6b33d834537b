// The model API (state_dict, load_state_dict, repr, summary, seeding, train/eval) and its runtime errors,
// on the seed notebook's TinyVGG (FashionMNISTModelV2).
#include <atomic>
#include <cstddef>

// Eigen allocates its temporaries with malloc, not operator new. Its documented switch
// EIGEN_RUNTIME_NO_MALLOC makes every such allocation check set_is_malloc_allowed() through
// eigen_assert, which here counts instead of aborting (so release builds see it too).
namespace ctnn_test {
inline std::atomic<std::size_t> eigen_forbidden_mallocs{0};
}
#define EIGEN_RUNTIME_NO_MALLOC
#define eigen_assert(x) ((x) ? static_cast<void>(0) : static_cast<void>(::ctnn_test::eigen_forbidden_mallocs.fetch_add(1)))

#include <catch2/catch.hpp>
#include <ctnn/ctnn.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <new>
#include <string>
#include <type_traits>
#include <vector>

#include "counting_allocator.hpp"
#include "seed_models.hpp"

using namespace ctnn;
using ctnn_test::allocations;
using ctnn_test::count_allocations;
using Catch::Contains;

namespace {

// The seed notebook's FashionMNISTModelV2 (TinyVGG, hidden_units = 10).
using ctnn_test::TinyVGG;
using Model = TinyVGG<backend::eigen>;

template <class S, Backend B = backend::eigen>
Batch<S, B> randn(std::size_t n, std::uint64_t seed) {
  Batch<S, B> b(n);
  Generator g{seed};
  backend::ops<B>::fill_normal(b.size(), b.data(), 0.0, 1.0, g);
  return b;
}

template <class BatchType>
std::vector<typename BatchType::value_type> host(const BatchType& b) {
  return b.to_host();
}

template <class M>
std::vector<std::vector<scalar_t<typename M::backend_type>>> parameter_values(M& m) {
  std::vector<std::vector<scalar_t<typename M::backend_type>>> out;
  m.visit_parameters([&](auto& p) { out.push_back(p.values_to_host()); });
  return out;
}

StateTensor<float>* find(StateDict<float>& state, const std::string& name) {
  for (auto& t : state)
    if (t.name == name) return &t;
  return nullptr;
}

}  // namespace

// ---- state_dict, parameter count, repr, summary ---------------------------------------------------

static_assert(Model::parameter_count == 7740);
static_assert(std::is_same_v<Model::output_shape, Shape<10>>);

TEST_CASE("TinyVGG state_dict has PyTorch's names and shapes", "[sequential][state_dict]") {
  Model model{manual_seed(42)};
  const auto state = model.state_dict();
  struct Expected {
    std::string name;
    std::vector<std::size_t> shape;
  };
  const std::vector<Expected> expected = {
      {"conv_block_1.0.weight", {10, 1, 3, 3}}, {"conv_block_1.0.bias", {10}},
      {"conv_block_1.2.weight", {10, 10, 3, 3}}, {"conv_block_1.2.bias", {10}},
      {"conv_block_2.0.weight", {10, 10, 3, 3}}, {"conv_block_2.0.bias", {10}},
      {"conv_block_2.2.weight", {10, 10, 3, 3}}, {"conv_block_2.2.bias", {10}},
      {"classifier.1.weight", {10, 490}},        {"classifier.1.bias", {10}},
  };
  REQUIRE(state.size() == expected.size());
  std::size_t total = 0;
  for (std::size_t i = 0; i < state.size(); ++i) {
    INFO("tensor " << i);
    CHECK(state[i].name == expected[i].name);
    CHECK(state[i].shape == expected[i].shape);
    std::size_t n = 1;
    for (auto d : state[i].shape) n *= d;
    CHECK(state[i].values.size() == n);
    total += state[i].values.size();
  }
  CHECK(total == 7740);
  CHECK(total == Model::parameter_count);
  CHECK(model.parameters().size() == expected.size());
}

TEST_CASE("TinyVGG repr is PyTorch's print(model_2)", "[sequential][repr]") {
  const std::string pytorch =
      "FashionMNISTModelV2(\n"
      "  (conv_block_1): Sequential(\n"
      "    (0): Conv2d(1, 10, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n"
      "    (1): ReLU()\n"
      "    (2): Conv2d(10, 10, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n"
      "    (3): ReLU()\n"
      "    (4): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"
      "  )\n"
      "  (conv_block_2): Sequential(\n"
      "    (0): Conv2d(10, 10, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n"
      "    (1): ReLU()\n"
      "    (2): Conv2d(10, 10, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n"
      "    (3): ReLU()\n"
      "    (4): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"
      "  )\n"
      "  (classifier): Sequential(\n"
      "    (0): Flatten(start_dim=1, end_dim=-1)\n"
      "    (1): Linear(in_features=490, out_features=10, bias=True)\n"
      "  )\n"
      ")";
  Model model{manual_seed(42)};
  CHECK(model.repr("FashionMNISTModelV2") == pytorch);
  CHECK(model.repr().rfind("Sequential(\n  (conv_block_1): Sequential(\n", 0) == 0);
}

TEST_CASE("TinyVGG summary lists every layer's output shape and the parameter total", "[sequential][summary]") {
  Model model{manual_seed(42)};
  const std::string s = model.summary(32);
  for (const char* shape : {"[32, 10, 28, 28]", "[32, 10, 14, 14]", "[32, 10, 7, 7]", "[32, 490]", "[32, 10]"})
    CHECK_THAT(s, Contains(shape));
  for (const char* name : {"conv_block_1 (Sequential)", "conv_block_1.0 (Conv2d)", "conv_block_1.4 (MaxPool2d)",
                           "conv_block_2.2 (Conv2d)", "classifier.0 (Flatten)", "classifier.1 (Linear)"})
    CHECK_THAT(s, Contains(name));
  CHECK_THAT(s, Contains("Total params: 7,740"));
  CHECK_THAT(s, Contains("Trainable params: 7,740"));
  CHECK_THAT(s, Contains("4,910"));  // the Linear layer's row
  CHECK_THAT(model.summary(1), Contains("[1, 10, 14, 14]"));
}

// ---- load_state_dict ------------------------------------------------------------------------------

TEST_CASE("load_state_dict round trip gives identical outputs", "[sequential][state_dict]") {
  Generator ga{42}, gb{7};
  Model a{ga}, b{gb};
  a.eval();
  b.eval();
  const auto x = randn<Shape<1, 28, 28>>(4, 1);
  const auto ya = host(a.forward(x));
  CHECK(host(b.forward(x)) != ya);
  b.load_state_dict(a.state_dict());
  CHECK(host(b.forward(x)) == ya);
  CHECK(parameter_values(b) == parameter_values(a));
}

TEST_CASE("load_state_dict errors name the tensor and leave the model unchanged", "[sequential][state_dict][errors]") {
  Generator ga{42}, gb{7};
  Model source{ga}, model{gb};
  const auto before = parameter_values(model);
  auto state = source.state_dict();

  SECTION("a missing tensor") {
    state.erase(state.begin() + 5);  // conv_block_2.0.bias
    CHECK_THROWS_AS(model.load_state_dict(state), ctnn::error);
    CHECK_THROWS_WITH(model.load_state_dict(state),
                      Contains("missing tensor 'conv_block_2.0.bias'") && Contains("[10]"));
  }
  SECTION("a tensor of the wrong shape") {
    auto* w = find(state, "classifier.1.weight");
    REQUIRE(w != nullptr);
    w->shape = {10, 491};
    w->values.resize(4910);
    CHECK_THROWS_AS(model.load_state_dict(state), ctnn::error);
    CHECK_THROWS_WITH(model.load_state_dict(state), Contains("'classifier.1.weight'") && Contains("[10, 491]") &&
                                                        Contains("[10, 490]"));
  }
  SECTION("a tensor of the right shape with the wrong number of values") {
    auto* w = find(state, "conv_block_1.0.weight");
    REQUIRE(w != nullptr);
    w->values.pop_back();
    CHECK_THROWS_WITH(model.load_state_dict(state), Contains("'conv_block_1.0.weight'") && Contains("89 values") &&
                                                        Contains("[10, 1, 3, 3]"));
  }
  SECTION("an unexpected extra tensor") {
    state.push_back({"classifier.2.weight", {3, 10}, std::vector<float>(30, 1.0f)});
    CHECK_THROWS_AS(model.load_state_dict(state), ctnn::error);
    CHECK_THROWS_WITH(model.load_state_dict(state), Contains("unexpected tensor 'classifier.2.weight'"));
  }
  SECTION("an empty state_dict") {
    CHECK_THROWS_WITH(model.load_state_dict({}), Contains("missing tensor 'conv_block_1.0.weight'"));
  }
  CHECK(parameter_values(model) == before);
  CHECK(parameter_values(model) != parameter_values(source));
}

// ---- seeding and initialisation -------------------------------------------------------------------

TEST_CASE("the same seed gives the same parameters, another seed others", "[sequential][seed]") {
  Model a{manual_seed(42)};
  Model b{manual_seed(42)};
  Generator g42{42}, g43{43};
  Model c{g42}, d{g43};
  CHECK(parameter_values(a) == parameter_values(b));
  CHECK(parameter_values(a) == parameter_values(c));
  CHECK(parameter_values(a) != parameter_values(d));
  // No two tensors of one model share their values.
  const auto v = parameter_values(d);
  CHECK(v[2] != v[4]);
  CHECK(v[4] != v[6]);
}

TEST_CASE("the same seed gives the same Dropout masks, another seed others", "[sequential][seed][dropout]") {
  using Net = Sequential<backend::eigen, Input<64>, Linear<64, 64>, Dropout<0.5>, Linear<64, 64>, Dropout<0.25>>;
  const auto x = randn<Shape<64>>(8, 5);
  Generator g1{3}, g2{3}, g3{4};
  Net a{g1}, b{g2}, c{g3};
  c.load_state_dict(a.state_dict());  // same weights, another mask stream
  for (int step = 0; step < 3; ++step) {
    const auto ya = host(a.forward(x));
    CHECK(host(b.forward(x)) == ya);
    CHECK(host(c.forward(x)) != ya);
  }
  // Successive steps draw new masks.
  const auto first = host(a.forward(x));
  CHECK(host(a.forward(x)) != first);
}

TEST_CASE("initial weights lie within PyTorch's bound 1/sqrt(fan_in)", "[sequential][init]") {
  Model model{manual_seed(42)};
  for (const auto& t : model.state_dict()) {
    INFO(t.name);
    // fan_in is the product of every dimension but the first (the bias shares its weight's).
    std::size_t fan_in = 1;
    if (t.shape.size() > 1)
      for (std::size_t i = 1; i < t.shape.size(); ++i) fan_in *= t.shape[i];
    else fan_in = t.name.rfind("conv_block_1.0", 0) == 0 ? 9 : t.name.rfind("classifier", 0) == 0 ? 490 : 90;
    const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
    double largest = 0;
    for (float v : t.values) largest = std::max(largest, static_cast<double>(std::abs(v)));
    CHECK(largest <= bound);
    if (t.values.size() >= 100) CHECK(largest >= 0.9 * bound);  // spread over the interval, not clustered
  }
  // Every Linear weight (here, as a model of its own, with bias-free Linear too).
  Generator g{9};
  Sequential<backend::eigen, Input<300>, Linear<300, 50>, ReLU, Linear<50, 7, false>> mlp{g};
  for (const auto& t : mlp.state_dict()) {
    INFO(t.name);
    const std::size_t fan_in = t.name.rfind("0.", 0) == 0 ? 300 : 50;
    const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
    for (float v : t.values) CHECK(std::abs(static_cast<double>(v)) <= bound);
  }
}

// ---- train() and eval() ---------------------------------------------------------------------------

TEST_CASE("Dropout<0.5> zeroes about half in train mode and is the identity in eval mode", "[sequential][dropout]") {
  Generator g{1};
  Sequential<backend::eigen, Input<10000>, Dropout<0.5>> model{g};
  auto x = randn<Shape<10000>>(1, 2);
  for (auto& v : x.values()) v += v >= 0 ? 0.5f : -0.5f;  // no zero inputs
  CHECK(model.is_training());  // PyTorch's default

  const auto& y = model.forward(x);
  std::size_t zeros = 0, wrong = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (y.data()[i] == 0.0f) ++zeros;
    else wrong += y.data()[i] != x.data()[i] * 2.0f;
  }
  CHECK(zeros > 4800);  // 5000 +- 4 standard deviations (50)
  CHECK(zeros < 5200);
  CHECK(wrong == 0);

  model.eval();
  CHECK_FALSE(model.is_training());
  CHECK(host(model.forward(x)) == host(x));
  model.train();
  CHECK(model.is_training());
  CHECK(host(model.forward(x)) != host(x));
  model.train(false);
  CHECK(host(model.forward(x)) == host(x));
}

// ---- runtime errors -------------------------------------------------------------------------------

TEST_CASE("runtime errors say what was expected and what came", "[sequential][errors]") {
  Model model{manual_seed(42)};
  const auto x = randn<Shape<1, 28, 28>>(4, 3);

  SECTION("backward before forward") {
    Batch<Shape<10>> dy(4);
    CHECK_THROWS_AS(model.backward(dy), ctnn::error);
    CHECK_THROWS_WITH(model.backward(dy), Contains("before forward"));
  }
  SECTION("a gradient of the wrong batch size") {
    model.forward(x);
    Batch<Shape<10>> dy(3);
    CHECK_THROWS_AS(model.backward(dy), ctnn::error);
    CHECK_THROWS_WITH(model.backward(dy), Contains("batch of 3") && Contains("batch of 4"));
  }
  SECTION("a gradient of the wrong per-sample size") {
    model.forward(x);
    std::vector<float> values(4 * 7);
    CHECK_THROWS_WITH(model.backward(GradientView<backend::eigen>{values.data(), 4, 7}),
                      Contains("7 values per sample") && Contains("[10]"));
  }
  SECTION("a label out of range") {
    const auto& logits = model.forward(x);
    CrossEntropyLoss loss_fn;
    const auto labels = Labels<>::from_host({0, 10, 2, 3});
    CHECK_THROWS_AS(loss_fn(logits, labels), ctnn::error);
    CHECK_THROWS_WITH(loss_fn(logits, labels), Contains("label 10") && Contains("10 classes"));
    const auto negative = Labels<>::from_host({0, 1, -1, 3});
    CHECK_THROWS_WITH(loss_fn(logits, negative), Contains("label -1") && Contains("10 classes"));
    NLLLoss nll;
    CHECK_THROWS_WITH(nll(logits, labels), Contains("label 10") && Contains("10 classes"));
  }
  SECTION("predictions and targets of different batch sizes") {
    const auto& logits = model.forward(x);
    CrossEntropyLoss loss_fn;
    const auto labels = Labels<>::from_host({0, 1, 2});
    CHECK_THROWS_AS(loss_fn(logits, labels), ctnn::error);
    CHECK_THROWS_WITH(loss_fn(logits, labels), Contains("4 predictions") && Contains("3 targets"));
    MSELoss mse;
    Batch<Shape<10>> target(5);
    CHECK_THROWS_WITH(mse(logits, target), Contains("4 predictions") && Contains("5 targets"));
  }
  SECTION("a NaN loss") {
    auto logits = randn<Shape<10>>(4, 5);
    logits(2, 7) = std::numeric_limits<float>::quiet_NaN();
    const auto labels = Labels<>::from_host({0, 1, 2, 3});
    CrossEntropyLoss loss_fn;
    CHECK_THROWS_AS(loss_fn(logits, labels), ctnn::error);
    CHECK_THROWS_WITH(loss_fn(logits, labels), Contains("NaN"));
    logits(2, 7) = 0.0f;
    logits(0, 0) = std::numeric_limits<float>::quiet_NaN();  // the first logit of its row, too
    CHECK_THROWS_WITH(loss_fn(logits, labels), Contains("NaN"));
    MSELoss mse;
    CHECK_THROWS_WITH(mse(logits, randn<Shape<10>>(4, 6)), Contains("NaN"));
    // A NaN input reaches the loss through the model.
    auto bad = x;
    bad(1, 0, 14, 14) = std::numeric_limits<float>::quiet_NaN();
    CHECK_THROWS_WITH(loss_fn(model.forward(bad), labels), Contains("NaN"));
  }
  SECTION("forward on an empty batch") {
    Batch<Shape<1, 28, 28>> empty(0);
    CHECK_THROWS_AS(model.forward(empty), ctnn::error);
    CHECK_THROWS_WITH(model.forward(empty), Contains("empty"));
    Batch<Shape<10>> none(0);
    CHECK_THROWS_WITH(MSELoss{}(none, none), Contains("empty"));
  }
}

// ---- batch sizes ----------------------------------------------------------------------------------

template <Backend B>
void check_smaller_last_batch() {
  TinyVGG<B> model{manual_seed(42)};
  model.eval();
  const auto x32 = randn<Shape<1, 28, 28>, B>(32, 8);
  std::vector<scalar_t<B>> head(x32.data(), x32.data() + 5 * x32.sample_size);
  const auto x5 = Batch<Shape<1, 28, 28>, B>::from_host(head);

  const auto y32 = host(model.forward(x32));
  REQUIRE(model.output().batch_size() == 32);
  const auto y5 = host(model.forward(x5));
  REQUIRE(model.output().batch_size() == 5);
  REQUIRE(y5.size() == 5 * 10);
  // The reference backend computes each sample alone: bit for bit the same. Eigen's GEMM runs the rows
  // left over from its register blocks through another kernel, so a sample may differ in the last bit.
  constexpr bool exact = std::is_same_v<B, backend::reference>;
  for (std::size_t i = 0; i < y5.size(); ++i) {
    INFO("value " << i);
    if (exact) CHECK(y5[i] == y32[i]);
    else CHECK(y5[i] == Approx(y32[i]).epsilon(1e-5).margin(1e-6));
  }
  CHECK(host(model.forward(x32)) == y32);

  // Training steps too: a batch of 5 after a batch of 32, and the gradients of the 5 samples.
  CrossEntropyLoss<B> loss_fn{Reduction::sum};
  const auto labels32 = [] {
    Labels<B> l(32);
    for (std::size_t i = 0; i < 32; ++i) l.data()[i] = static_cast<std::int64_t>(i % 10);
    return l;
  }();
  const auto labels5 = Labels<B>::from_host({0, 1, 2, 3, 4});
  model.zero_grad();
  loss_fn(model.forward(x32), labels32);
  const auto dx32 = host(model.backward(loss_fn.grad()));
  model.zero_grad();
  loss_fn(model.forward(x5), labels5);
  const auto dx5 = host(model.backward(loss_fn.grad()));
  REQUIRE(dx5.size() == 5 * 28 * 28);
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < dx5.size(); ++i)
    mismatches += exact ? dx5[i] != dx32[i] : dx5[i] != Approx(dx32[i]).epsilon(1e-4).margin(1e-6);
  CHECK(mismatches == 0);
}

TEST_CASE("a smaller last batch works and gives the same results for the same samples", "[sequential][batch]") {
  SECTION("eigen") { check_smaller_last_batch<backend::eigen>(); }
  SECTION("reference") { check_smaller_last_batch<backend::reference>(); }
}

// ---- no allocation in steady state ----------------------------------------------------------------

template <class Net, class Loss>
std::size_t allocations_in_steady_state(Net& model, Loss& loss_fn, const typename Net::input_batch& big,
                                        const typename Net::input_batch& small, const Labels<typename Net::backend_type>& big_labels,
                                        const Labels<typename Net::backend_type>& small_labels) {
  auto step = [&](const typename Net::input_batch& x, const Labels<typename Net::backend_type>& y) {
    const auto& logits = model.forward(x);
    loss_fn(logits, y);
    model.zero_grad();
    model.backward(loss_fn.grad());
  };
  step(big, big_labels);  // sizes every buffer
  allocations = 0;
  ctnn_test::eigen_forbidden_mallocs = 0;
  Eigen::internal::set_is_malloc_allowed(false);
  count_allocations = true;
  for (int i = 0; i < 3; ++i) step(big, big_labels);
  for (int i = 0; i < 3; ++i) step(small, small_labels);
  step(big, big_labels);
  count_allocations = false;
  Eigen::internal::set_is_malloc_allowed(true);
  INFO("Eigen mallocs: " << ctnn_test::eigen_forbidden_mallocs.load());
  CHECK(ctnn_test::eigen_forbidden_mallocs.load() == 0);
  return allocations.load();
}

TEST_CASE("a training step allocates nothing once the buffers have their size", "[sequential][allocation]") {
  // The counter sees allocations: a vector made while counting is counted.
  allocations = 0;
  count_allocations = true;
  ::operator delete(::operator new(16));
  count_allocations = false;
  if (CTNN_TEST_COUNT_NEW) REQUIRE(allocations.load() == 1);
  else WARN("operator new is not counted under a sanitizer");
  // And Eigen's allocations (a matrix made while they are forbidden is counted).
  ctnn_test::eigen_forbidden_mallocs = 0;
  Eigen::internal::set_is_malloc_allowed(false);
  { Eigen::MatrixXf m(300, 300); }
  Eigen::internal::set_is_malloc_allowed(true);
  REQUIRE(ctnn_test::eigen_forbidden_mallocs.load() >= 1);

  SECTION("TinyVGG on eigen") {
    Model model{manual_seed(42)};
    CrossEntropyLoss loss_fn;
    const auto big = randn<Shape<1, 28, 28>>(32, 1);
    const auto small = randn<Shape<1, 28, 28>>(5, 2);
    Labels<> big_labels(32);
    for (std::size_t i = 0; i < 32; ++i) big_labels.data()[i] = static_cast<std::int64_t>(i % 10);
    const auto small_labels = Labels<>::from_host({9, 8, 7, 6, 5});
    CHECK(allocations_in_steady_state(model, loss_fn, big, small, big_labels, small_labels) == 0);
  }
  SECTION("a network with Dropout and LogSoftmax on reference") {
    using Net = Sequential<backend::reference, Input<2, 8, 8>, Conv2d<2, 4, 3, 1, 1>, ReLU, MaxPool2d<2>, Flatten,
                           Dropout<0.2>, Linear<64, 16>, Tanh, Linear<16, 5>, LogSoftmax>;
    Generator g{5};
    Net model{g};
    NLLLoss<backend::reference> loss_fn{Reduction::sum};
    const auto big = randn<Shape<2, 8, 8>, backend::reference>(16, 3);
    const auto small = randn<Shape<2, 8, 8>, backend::reference>(3, 4);
    Labels<backend::reference> big_labels(16);
    for (std::size_t i = 0; i < 16; ++i) big_labels.data()[i] = static_cast<std::int64_t>(i % 5);
    const auto small_labels = Labels<backend::reference>::from_host({4, 0, 2});
    CHECK(allocations_in_steady_state(model, loss_fn, big, small, big_labels, small_labels) == 0);
  }
}
