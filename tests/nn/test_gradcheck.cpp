// Finite-difference gradient checks of every layer and every loss on backend::reference (double).
#include <catch2/catch.hpp>
#include <ctnn/ctnn.hpp>

#include <ctnn/testing/gradcheck.hpp>

#include <cstdio>
#include <cstdlib>

using namespace ctnn;
using ref = backend::reference;
using ref_ops = backend::ops<ref>;

namespace {

enum class Mode { eval, train };

// The public checks (ctnn/testing/gradcheck.hpp) as Catch2 assertions; CTNN_GRADCHECK_REPORT=1 prints
// every check's largest error.
void expect_passed(const testing::GradcheckResult& r) {
  INFO(r.report());
  CHECK(r.passed());
  CHECK(r.derivatives > 0);
  if (std::getenv("CTNN_GRADCHECK_REPORT")) std::printf("%s", r.report(0).c_str());
}
template <class Spec, class In>
double check_layer_gradients(std::size_t batch = 3, std::uint64_t seed = 1, Mode mode = Mode::eval) {
  const auto r = testing::check_layer_gradients<Spec, In>({.batch = batch, .seed = seed, .training = mode == Mode::train});
  expect_passed(r);
  return r.max_error;
}
template <class Loss, class Pred, class Target>
double check_loss_gradients(const Pred& pred, const Target& target, Reduction reduction) {
  const auto r = testing::check_loss_gradients<Loss>(pred, target, reduction);
  expect_passed(r);
  return r.max_error;
}

}  // namespace

// ---- layers ---------------------------------------------------------------------------------------

TEST_CASE("gradcheck: Linear", "[gradcheck][linear]") {
  check_layer_gradients<Linear<5, 3>, Shape<5>>();
  check_layer_gradients<Linear<5, 3>, Shape<5>>(1, 2);
}

TEST_CASE("gradcheck: Linear without bias", "[gradcheck][linear]") {
  check_layer_gradients<Linear<5, 3, false>, Shape<5>>();
}

TEST_CASE("gradcheck: Conv2d k3 s1 p1", "[gradcheck][conv]") {
  check_layer_gradients<Conv2d<2, 3, 3, 1, 1>, Shape<2, 5, 5>>();
}

TEST_CASE("gradcheck: Conv2d k3 s2 p0", "[gradcheck][conv]") {
  check_layer_gradients<Conv2d<2, 3, 3, 2, 0>, Shape<2, 7, 7>>();
}

TEST_CASE("gradcheck: Conv2d k5 s1 p2", "[gradcheck][conv]") {
  check_layer_gradients<Conv2d<1, 2, 5, 1, 2>, Shape<1, 6, 6>>();
}

TEST_CASE("gradcheck: Conv2d on a non-square input", "[gradcheck][conv]") {
  check_layer_gradients<Conv2d<2, 2, 3, 2, 1>, Shape<2, 5, 8>>(2);
}

TEST_CASE("gradcheck: MaxPool2d k2", "[gradcheck][pool]") {
  check_layer_gradients<MaxPool2d<2>, Shape<2, 4, 4>>();
}

TEST_CASE("gradcheck: MaxPool2d k3 s2", "[gradcheck][pool]") {
  check_layer_gradients<MaxPool2d<3, 2>, Shape<1, 7, 7>>();
}

TEST_CASE("gradcheck: MaxPool2d k3 s2 p1", "[gradcheck][pool]") {
  check_layer_gradients<MaxPool2d<3, 2, 1>, Shape<1, 7, 7>>();
}

TEST_CASE("gradcheck: Flatten", "[gradcheck]") {
  check_layer_gradients<Flatten, Shape<2, 3, 4>>();
}

TEST_CASE("gradcheck: ReLU", "[gradcheck][activation]") {
  check_layer_gradients<ReLU, Shape<6>>();
  check_layer_gradients<ReLU, Shape<2, 4, 4>>();
}

TEST_CASE("gradcheck: Sigmoid", "[gradcheck][activation]") {
  check_layer_gradients<Sigmoid, Shape<6>>();
  check_layer_gradients<Sigmoid, Shape<2, 3, 3>>();
}

TEST_CASE("gradcheck: Tanh", "[gradcheck][activation]") {
  check_layer_gradients<Tanh, Shape<6>>();
  check_layer_gradients<Tanh, Shape<2, 3, 3>>();
}

TEST_CASE("gradcheck: Softmax", "[gradcheck][activation]") {
  check_layer_gradients<Softmax, Shape<6>>();
}

TEST_CASE("gradcheck: LogSoftmax", "[gradcheck][activation]") {
  check_layer_gradients<LogSoftmax, Shape<6>>();
}

TEST_CASE("gradcheck: Dropout in eval mode is the identity", "[gradcheck][dropout]") {
  check_layer_gradients<Dropout<0.3>, Shape<2, 3, 4>>(3, 1, Mode::eval);
}

TEST_CASE("gradcheck: Dropout in train mode with the mask held fixed", "[gradcheck][dropout]") {
  // Each numerical evaluation replays the analytic pass's generator state, hence its mask.
  check_layer_gradients<Dropout<0.3>, Shape<2, 3, 4>>(3, 1, Mode::train);
  check_layer_gradients<Block<Linear<4, 6>, Dropout<0.3>, Linear<6, 3>>, Shape<4>>(3, 5, Mode::train);
}

TEST_CASE("Dropout in train mode: backward uses the forward mask exactly", "[gradcheck][dropout]") {
  using Model = Sequential<ref, Input<4, 25>, Dropout<0.3>>;
  Generator g{3};
  Model model{g};
  model.train();
  Generator data{11};
  Batch<Shape<4, 25>, ref> x(4), r(4);
  ref_ops::fill_normal(x.size(), x.data(), 0.0, 1.0, data);
  ref_ops::fill_normal(r.size(), r.data(), 0.0, 1.0, data);
  for (auto& v : x.values()) v += v >= 0 ? 0.1 : -0.1;  // no zero inputs: y == 0 means dropped

  for (int step = 0; step < 3; ++step) {  // a new mask each step, each one used by its backward
    const auto& y = model.forward(x);
    const auto& dx = model.backward(r);
    const double scale = static_cast<double>(1.0 / (1.0 - Dropout<0.3>::P));
    std::size_t dropped = 0, mismatches = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (y.data()[i] == 0.0) {
        ++dropped;
        mismatches += dx.data()[i] != 0.0;
      } else {
        mismatches += y.data()[i] != x.data()[i] * scale;
        mismatches += dx.data()[i] != r.data()[i] * scale;
      }
    }
    CHECK(mismatches == 0);
    CHECK(dropped > 0);
    CHECK(dropped < x.size());
  }
}

TEST_CASE("gradcheck: nested Block end to end", "[gradcheck][block]") {
  using Net = Block<Named<"features", Block<Conv2d<1, 2, 3, 1, 1>, ReLU, MaxPool2d<2>>>, Flatten, Linear<18, 4>>;
  check_layer_gradients<Net, Shape<1, 6, 6>>(2);

  // The parameters the check visited carry the model's names.
  Sequential<ref, Input<1, 6, 6>, Named<"features", Block<Conv2d<1, 2, 3, 1, 1>, ReLU, MaxPool2d<2>>>, Flatten,
             Linear<18, 4>>
      model;
  std::vector<std::string> names;
  for (const auto& t : model.state_dict()) names.push_back(t.name);
  CHECK(names == std::vector<std::string>{"features.0.weight", "features.0.bias", "2.weight", "2.bias"});
}

TEST_CASE("gradcheck: a deeper mixed network", "[gradcheck][block]") {
  using Net = Block<Conv2d<1, 2, 3, 1, 1>, Tanh, MaxPool2d<3, 2, 1>, Flatten, Linear<18, 5>, Sigmoid, Linear<5, 3>,
                    LogSoftmax>;
  check_layer_gradients<Net, Shape<1, 6, 6>>(2, 4);
}

// ---- losses ---------------------------------------------------------------------------------------

namespace {

template <class S>
Batch<S, ref> randn_batch(std::size_t n, std::uint64_t seed, double mean = 0.0, double stddev = 1.0) {
  Batch<S, ref> b(n);
  Generator g{seed};
  ref_ops::fill_normal(b.size(), b.data(), mean, stddev, g);
  return b;
}
template <class S>
Batch<S, ref> uniform_batch(std::size_t n, std::uint64_t seed, double lo, double hi) {
  Batch<S, ref> b(n);
  Generator g{seed};
  ref_ops::fill_uniform(b.size(), b.data(), lo, hi, g);
  return b;
}

const Reduction reductions[] = {Reduction::mean, Reduction::sum};

}  // namespace

TEST_CASE("gradcheck: CrossEntropyLoss", "[gradcheck][loss]") {
  const auto logits = randn_batch<Shape<5>>(4, 21, 0.0, 2.0);
  const auto labels = Labels<ref>::from_host({0, 4, 2, 2});
  for (Reduction r : reductions) check_loss_gradients<CrossEntropyLoss<ref>>(logits, labels, r);
}

TEST_CASE("gradcheck: NLLLoss", "[gradcheck][loss]") {
  const auto logits = randn_batch<Shape<5>>(4, 22);
  Batch<Shape<5>, ref> log_probs(4);
  ref_ops::log_softmax_rows(4, 5, logits.data(), log_probs.data());
  const auto labels = Labels<ref>::from_host({1, 3, 0, 4});
  for (Reduction r : reductions) check_loss_gradients<NLLLoss<ref>>(log_probs, labels, r);
}

TEST_CASE("gradcheck: NLLLoss after LogSoftmax equals CrossEntropyLoss", "[gradcheck][loss]") {
  const auto logits = randn_batch<Shape<5>>(4, 23);
  Batch<Shape<5>, ref> log_probs(4);
  ref_ops::log_softmax_rows(4, 5, logits.data(), log_probs.data());
  const auto labels = Labels<ref>::from_host({1, 3, 0, 4});
  for (Reduction r : reductions) {
    CrossEntropyLoss<ref> ce{r};
    NLLLoss<ref> nll{r};
    CHECK(ce(logits, labels) == Approx(nll(log_probs, labels)).epsilon(1e-12));
  }
}

TEST_CASE("gradcheck: BCELoss", "[gradcheck][loss]") {
  const auto probs = uniform_batch<Shape<3, 2>>(3, 24, 0.05, 0.95);
  const auto targets = Batch<Shape<3, 2>, ref>::from_host(
      {0.0, 1.0, 0.25, 0.5, 1.0, 0.0, 0.75, 0.1, 1.0, 1.0, 0.0, 0.9, 0.3, 0.0, 1.0, 0.6, 0.0, 1.0});
  for (Reduction r : reductions) check_loss_gradients<BCELoss<ref>>(probs, targets, r);
}

TEST_CASE("gradcheck: BCEWithLogitsLoss", "[gradcheck][loss]") {
  const auto logits = randn_batch<Shape<6>>(3, 25, 0.0, 3.0);
  const auto targets = Batch<Shape<6>, ref>::from_host(
      {0.0, 1.0, 0.25, 0.5, 1.0, 0.0, 0.75, 0.1, 1.0, 1.0, 0.0, 0.9, 0.3, 0.0, 1.0, 0.6, 0.0, 1.0});
  for (Reduction r : reductions) check_loss_gradients<BCEWithLogitsLoss<ref>>(logits, targets, r);
}

TEST_CASE("gradcheck: MSELoss", "[gradcheck][loss]") {
  const auto pred = randn_batch<Shape<2, 3>>(3, 26);
  const auto target = randn_batch<Shape<2, 3>>(3, 27);
  for (Reduction r : reductions) check_loss_gradients<MSELoss<ref>>(pred, target, r);
}

TEST_CASE("gradcheck: L1Loss", "[gradcheck][loss]") {
  const auto target = randn_batch<Shape<2, 3>>(3, 28);
  auto pred = randn_batch<Shape<2, 3>>(3, 29, 0.0, 0.5);
  // Every prediction at least 0.1 away from its target: no kink within eps.
  for (std::size_t i = 0; i < pred.size(); ++i)
    pred.data()[i] = target.data()[i] + pred.data()[i] + (pred.data()[i] >= 0 ? 0.1 : -0.1);
  for (Reduction r : reductions) check_loss_gradients<L1Loss<ref>>(pred, target, r);
}
