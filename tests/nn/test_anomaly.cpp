// Anomaly mode (ctnn::set_detect_anomaly, ctnn::detect_anomaly): Sequential stops at the first NaN or
// infinity in an input, a layer's output, a layer's input gradient or a parameter gradient, naming the
// layer path (as state_dict names it), the layer as print(model) shows it, the pass and the step; off,
// nothing is checked. train_step refuses a NaN or infinite loss with or without it.
#include <catch2/catch.hpp>

#include <ctnn/ctnn.hpp>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "counting_allocator.hpp"

using namespace ctnn;

namespace {

template <class B>
using Net = Sequential<B, Input<1, 4, 4>,                                              //
                       Named<"conv_block_2", Block<Conv2d<1, 2, 3, 1, 1>, ReLU>>,      //
                       Named<"classifier", Block<Flatten, Linear<32, 5>, ReLU, Linear<5, 3>>>>;

template <class B>
using Mlp = Sequential<B, Input<4>, Named<"features", Block<Linear<4, 3>, ReLU>>, Named<"classifier", Block<Linear<3, 2>>>>;

template <class B>
Parameter<B>& parameter(auto& model, const std::string& name) {
  for (Parameter<B>* p : model.parameters())
    if (p->name == name) return *p;
  FAIL("no parameter " << name);
  throw 0;
}
template <class B>
void set_values(Parameter<B>& p, const std::function<void(std::vector<scalar_t<B>>&)>& edit) {
  auto v = p.values_to_host();
  edit(v);
  backend::ops<B>::from_host(v.size(), v.data(), p.value.data());
}

template <class B, class Shape>
Batch<Shape, B> filled(std::size_t n, double start, double step) {
  std::vector<scalar_t<B>> v(n * Shape::size);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<scalar_t<B>>(start + step * static_cast<double>(i));
  return Batch<Shape, B>::from_host(std::span<const scalar_t<B>>(v));
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ctnn::error& e) {
    return e.what();
  }
  return "(no error)";
}

template <class B>
bool all_finite(const std::vector<scalar_t<B>>& v) {
  for (auto x : v)
    if (!std::isfinite(x)) return false;
  return true;
}

}  // namespace

TEST_CASE("set_detect_anomaly is off by default; detect_anomaly switches it on for a scope", "[anomaly]") {
  CHECK_FALSE(is_anomaly_enabled());
  {
    detect_anomaly guard;
    CHECK(is_anomaly_enabled());
    {
      detect_anomaly off{false};
      CHECK_FALSE(is_anomaly_enabled());
    }
    CHECK(is_anomaly_enabled());
  }
  CHECK_FALSE(is_anomaly_enabled());
  set_detect_anomaly(true);
  CHECK(is_anomaly_enabled());
  set_detect_anomaly(false);
  CHECK_FALSE(is_anomaly_enabled());
}

TEMPLATE_TEST_CASE("anomaly mode names the layer whose forward output holds NaN or infinity", "[anomaly]",
                   backend::eigen, backend::reference) {
  using B = TestType;
  using S = scalar_t<B>;
  Net<B> model{manual_seed(0)};
  const auto x = filled<B, Shape<1, 4, 4>>(2, -0.5, 0.05);

  SECTION("an infinite bias of a convolution inside a named block") {
    set_values<B>(parameter<B>(model, "conv_block_2.0.bias"), [](auto& v) { v[1] = std::numeric_limits<S>::infinity(); });
    {
      const auto& y = model.forward(x);  // off: no check, the infinity flows on
      CHECK_FALSE(all_finite<B>(y.to_host()));
    }
    detect_anomaly guard;
    CHECK_THAT(message_of([&] { model.forward(x); }),
               Catch::Equals("ctnn: detect_anomaly: step 1, forward: the output of conv_block_2.0 (Conv2d(1, 2, "
                             "kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))) holds inf at [0, 1, 0, 0]"));
  }
  SECTION("a NaN weight of a Linear layer deep in the classifier") {
    set_values<B>(parameter<B>(model, "classifier.3.weight"),
                  [](auto& v) { v[2 * 5 + 4] = std::numeric_limits<S>::quiet_NaN(); });  // row 2, column 4
    CHECK_NOTHROW(model.forward(x));
    detect_anomaly guard;
    CHECK_THAT(message_of([&] { model.forward(x); }),
               Catch::Equals("ctnn: detect_anomaly: step 1, forward: the output of classifier.3 (Linear(in_features=5, "
                             "out_features=3, bias=True)) holds nan at [0, 2]"));
  }
  SECTION("a NaN in the model's input") {
    auto bad = x.to_host();
    bad[16 + 2 * 4 + 3] = std::numeric_limits<S>::quiet_NaN();  // sample 1, channel 0, row 2, column 3
    const auto xb = Batch<Shape<1, 4, 4>, B>::from_host(std::span<const S>(bad));
    CHECK_NOTHROW(model.forward(xb));
    detect_anomaly guard;
    CHECK_THAT(message_of([&] { model.forward(xb); }),
               Catch::Equals("ctnn: detect_anomaly: step 1, forward: the model's input holds nan at [1, 0, 2, 3]"));
  }
  SECTION("finite values pass, and the output is the one without anomaly mode") {
    const auto plain = model.forward(x).to_host();
    detect_anomaly guard;
    CHECK(model.forward(x).to_host() == plain);
  }
}

TEMPLATE_TEST_CASE("anomaly mode names the gradient that overflows in backward, and the step", "[anomaly]",
                   backend::eigen, backend::reference) {
  using B = TestType;
  using S = scalar_t<B>;
  // Large enough that a sum of two overflows the backend's scalar, small enough to be finite itself.
  const S big = std::numeric_limits<S>::max() / S(1.5);
  Mlp<B> model{manual_seed(1)};
  set_values<B>(parameter<B>(model, "classifier.0.weight"), [](auto& v) { std::fill(v.begin(), v.end(), S(1)); });
  const auto x = filled<B, Shape<4>>(2, 0.01, 0.01);
  CrossEntropyLoss<B> loss_fn;
  const auto labels = Labels<B>::from_host({0, 1});
  // Two good steps first: the step counter is the model's count of backward calls.
  for (int i = 0; i < 2; ++i) {
    detect_anomaly guard;
    loss_fn(model.forward(x), labels);
    model.zero_grad();
    model.backward(loss_fn.grad(), InputGrad::skip);
  }
  CHECK(model.steps() == 2);
  auto dy_values = std::vector<S>(2 * 2, big);

  SECTION("the input gradient of a layer") {
    // Batch of one: dL/dW and dL/db stay finite, dL/dx = W^T dy sums two values of `big`.
    const auto x1 = filled<B, Shape<4>>(1, 0.01, 0.01);
    model.forward(x1);
    const auto dy = Batch<Shape<2>, B>::from_host(std::span<const S>(dy_values.data(), 2));
    model.zero_grad();
    CHECK_NOTHROW(model.backward(dy));
    model.forward(x1);
    detect_anomaly guard;
    model.forward(x1);
    model.zero_grad();
    CHECK_THAT(message_of([&] { model.backward(dy); }),
               Catch::Equals("ctnn: detect_anomaly: step 4, backward: the input gradient of classifier.0 "
                             "(Linear(in_features=3, out_features=2, bias=True)) holds inf at [0, 0]"));
  }
  SECTION("a parameter gradient, in a training step (InputGrad::skip)") {
    // Batch of two: dL/db sums two values of `big`.
    model.forward(x);
    const auto dy = Batch<Shape<2>, B>::from_host(std::span<const S>(dy_values));
    detect_anomaly guard;
    model.forward(x);
    model.zero_grad();
    CHECK_THAT(message_of([&] { model.backward(dy, InputGrad::skip); }),
               Catch::Equals("ctnn: detect_anomaly: step 3, backward: classifier.0.bias.grad (of classifier.0: "
                             "Linear(in_features=3, out_features=2, bias=True)) holds inf at [0]"));
  }
  SECTION("the gradient handed to backward") {
    dy_values[3] = std::numeric_limits<S>::quiet_NaN();
    const auto dy = Batch<Shape<2>, B>::from_host(std::span<const S>(dy_values));
    detect_anomaly guard;
    model.forward(x);
    CHECK_THAT(message_of([&] { model.backward(dy); }),
               Catch::Equals("ctnn: detect_anomaly: step 3, backward: the gradient handed to backward (dL/d output, "
                             "from the loss) holds nan at [1, 1]"));
  }
}

TEST_CASE("anomaly mode allocates nothing in a steady training step", "[anomaly]") {
  using B = backend::eigen;
  Net<B> model{manual_seed(2)};
  CrossEntropyLoss<B> loss_fn;
  optim::SGD opt{model.parameters(), {.lr = 0.01}};
  const auto x = filled<B, Shape<1, 4, 4>>(3, -0.3, 0.02);
  const auto y = Labels<B>::from_host({0, 1, 2});
  detect_anomaly guard;
  auto step = [&] {
    loss_fn(model.forward(x), y);
    opt.zero_grad();
    model.backward(loss_fn.grad(), InputGrad::skip);
    opt.step();
  };
  step();
  step();
  ctnn_test::allocations = 0;
  ctnn_test::count_allocations = true;
  for (int i = 0; i < 3; ++i) step();
  ctnn_test::count_allocations = false;
#if CTNN_TEST_COUNT_NEW
  CHECK(ctnn_test::allocations == 0);
#else
  WARN("allocations are not counted under sanitizers");
#endif
}

namespace {
// A loader of fixed batches (a range of {x, y}).
template <class X, class Y>
struct FixedLoader {
  struct Item {
    X x;
    Y y;
  };
  std::vector<Item> items;
  std::size_t size() const { return items.size(); }
  auto begin() const { return items.begin(); }
  auto end() const { return items.end(); }
};
}  // namespace

TEST_CASE("train_step refuses a NaN or infinite loss by name and leaves the parameters alone", "[anomaly][train]") {
  using B = backend::eigen;
  using S = float;
  using Model = Mlp<B>;
  SECTION("a NaN input: the loss reports it, train_step adds the step") {
    Model model{manual_seed(3)};
    optim::SGD opt{model.parameters(), {.lr = 0.1}};
    CrossEntropyLoss<B> loss_fn;
    FixedLoader<Batch<Shape<4>, B>, Labels<B>> loader;
    loader.items.push_back({filled<B, Shape<4>>(2, 0.1, 0.1), Labels<B>::from_host({0, 1})});
    auto bad = filled<B, Shape<4>>(2, 0.1, 0.1).to_host();
    bad[5] = std::numeric_limits<S>::quiet_NaN();
    loader.items.push_back({Batch<Shape<4>, B>::from_host(std::span<const S>(bad)), Labels<B>::from_host({0, 1})});
    const auto before_second = [&] {
      Model copy{manual_seed(3)};
      optim::SGD o{copy.parameters(), {.lr = 0.1}};
      CrossEntropyLoss<B> l;
      l(copy.forward(loader.items[0].x), loader.items[0].y);
      o.zero_grad();
      copy.backward(l.grad(), InputGrad::skip);
      o.step();
      return copy.state_dict();
    }();
    const std::string msg = message_of([&] { train_step(model, loader, loss_fn, opt, metrics::Multiclass{}, {false}); });
    CHECK_THAT(msg, Catch::StartsWith("ctnn: train_step: step 2 (batch 2 of the epoch), the parameters were not "
                                      "updated: CrossEntropyLoss: input[1, ") &&
                        Catch::Contains("is nan"));
    const auto after = model.state_dict();
    REQUIRE(after.size() == before_second.size());
    for (std::size_t i = 0; i < after.size(); ++i) CHECK(after[i].values == before_second[i].values);
  }
  SECTION("an infinite loss") {
    Model model{manual_seed(4)};
    optim::SGD opt{model.parameters(), {.lr = 0.1}};
    MSELoss<B> loss_fn;
    set_values<B>(parameter<B>(model, "classifier.0.bias"), [](auto& v) { v[1] = std::numeric_limits<S>::max(); });
    set_values<B>(parameter<B>(model, "classifier.0.weight"), [](auto& v) { std::fill(v.begin(), v.end(), S(1e30f)); });
    FixedLoader<Batch<Shape<4>, B>, Batch<Shape<2>, B>> loader;
    loader.items.push_back({filled<B, Shape<4>>(1, 1.0, 1.0), Batch<Shape<2>, B>::from_host({0, 0})});
    const auto before = model.state_dict();
    model.forward(loader.items[0].x);
    CHECK(loss_fn(model.output(), loader.items[0].y) == std::numeric_limits<float>::infinity());
    CHECK_THAT(message_of([&] { train_step(model, loader, loss_fn, opt, metrics::Binary{0.5}, {false}); }),
               Catch::Equals("ctnn: train_step: step 1 (batch 1 of the epoch): the loss is inf (MSELoss); the "
                             "parameters were not updated"));
    const auto after = model.state_dict();
    for (std::size_t i = 0; i < after.size(); ++i) CHECK(after[i].values == before[i].values);
  }
}
