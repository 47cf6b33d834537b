// backend::thrust on Thrust's device system (OMP on the CPU in CI; built only with the Thrust flags,
// see tests/CMakeLists.txt):
//   - the PyTorch parity cases of every layer, loss and seed model (tests/support/parity.hpp, the cases
//     every backend runs; float, 1e-5 of each tensor's scale)
//   - consistency with backend::reference on random inputs, forward and backward, every layer and loss
//     (1e-5, relative above 1 and absolute below)
//   - one TinyVGG training step (forward, CrossEntropyLoss, backward, SGD step) against backend::eigen
//   - to<B>() for batches and models, metrics on device batches, the RNG's numbers.
// Values of the device backend are only ever read through to_host.
//
// Run with -s to see the largest error of every compared tensor.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <ctnn/backend/thrust.hpp>
#include <ctnn/ctnn.hpp>
#include <ctnn/nn/transfer.hpp>
#include <span>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "parity_catch.hpp"
#include "seed_models.hpp"

namespace {

using namespace ctnn;
using ctnn_test::TinyVGG;
using ctnn_test::parity::gradient_to_host;
using TB = backend::thrust<>;
using ref = backend::reference;

static_assert(!TB::host_memory);
static_assert(Backend<TB>);
static_assert(std::is_same_v<scalar_t<TB>, float>);

constexpr double tolerance = 1e-5;

template <Backend B, class T>
std::vector<T> device_to_host(const T* p, std::size_t n) {
  std::vector<T> out(n);
  backend::ops<B>::to_host(n, p, out.data());
  return out;
}

// ---- thrust against reference -------------------------------------------------------------------
// |a - b| / max(|a|, |b|, 1): relative for values of magnitude 1 and more, absolute below.
template <class A, class R>
double compare(const std::string& what, const std::vector<A>& actual, const std::vector<R>& expected) {
  REQUIRE(actual.size() == expected.size());
  double worst = 0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const double a = static_cast<double>(actual[i]), e = static_cast<double>(expected[i]);
    const double err = std::abs(a - e) / std::max({std::abs(a), std::abs(e), 1.0});
    if (!(err <= tolerance)) {
      FAIL_CHECK(what << "[" << i << "]: thrust " << a << ", expected " << e << ", error " << err);
      return err;
    }
    worst = std::max(worst, err);
  }
  SUCCEED(what << ": largest error " << worst);
  return worst;
}

// Random values from a seeded generator, spread away from ties and from zero (no kinks of ReLU or
// max pooling within float rounding).
std::vector<double> random_values(std::size_t n, std::uint64_t seed, double lo = -2, double hi = 2) {
  Generator g{seed};
  std::vector<double> v(n);
  for (auto& x : v) {
    x = lo + (hi - lo) * g.uniform();
    if (std::abs(x) < 0.05) x += x < 0 ? -0.05 : 0.05;
  }
  return v;
}

template <class T>
std::vector<T> cast(const std::vector<double>& v) {
  std::vector<T> out(v.size());
  std::transform(v.begin(), v.end(), out.begin(), [](double x) { return static_cast<T>(x); });
  return out;
}

template <class S, class B>
Batch<S, B> batch_of(const std::vector<double>& v) {
  const auto values = cast<scalar_t<B>>(v);
  return Batch<S, B>::from_host(std::span<const scalar_t<B>>(values));
}

template <class Model>
std::vector<std::pair<std::string, std::vector<double>>> parameter_grads(Model& model) {
  using B = typename Model::backend_type;
  std::vector<std::pair<std::string, std::vector<double>>> out;
  model.visit_parameters([&](Parameter<B>& p) {
    const auto g = p.grad_to_host();
    out.emplace_back(p.name, std::vector<double>(g.begin(), g.end()));
  });
  return out;
}

// Forward and backward of Spec on per-sample input In, a batch of N, on thrust and on reference with
// the same parameters (copied), input and output gradient. Dropout sees the same masks: both models
// are built from the same seed, and the generator is counter-based.
template <class Spec, class In, bool Training = false, std::size_t N = 3>
void check_against_reference() {
  using S = typename In::shape;
  using RefModel = Sequential<ref, In, Spec>;
  using ThrustModel = Sequential<TB, In, Spec>;
  Generator g1{2024}, g2{2024};
  RefModel r{g1};
  ThrustModel t{g2};
  copy_parameters(r, t);
  r.train(Training);
  t.train(Training);
  const auto xv = random_values(N * S::size, 11);
  const auto xr = batch_of<S, ref>(xv);
  const auto xt = batch_of<S, TB>(xv);
  compare("output", t.forward(xt).to_host(), r.forward(xr).to_host());

  using Out = typename RefModel::output_shape;
  const auto dyv = random_values(N * Out::size, 12);
  const auto dyr = batch_of<Out, ref>(dyv);
  const auto dyt = batch_of<Out, TB>(dyv);
  r.zero_grad();
  t.zero_grad();
  compare("grad_input", t.backward(dyt).to_host(), r.backward(dyr).to_host());
  const auto gr = parameter_grads(r), gt = parameter_grads(t);
  REQUIRE(gr.size() == gt.size());
  for (std::size_t i = 0; i < gr.size(); ++i) compare(gt[i].first + ".grad", gt[i].second, gr[i].second);
}

template <template <class> class Loss, class S>
void loss_against_reference(const std::vector<double>& prediction, const std::vector<double>& target) {
  for (const auto reduction : {Reduction::mean, Reduction::sum}) {
    INFO((reduction == Reduction::mean ? "mean" : "sum"));
    Loss<ref> lr{reduction};
    Loss<TB> lt{reduction};
    const auto pr = batch_of<S, ref>(prediction), tr = batch_of<S, ref>(target);
    const auto pt = batch_of<S, TB>(prediction), tt = batch_of<S, TB>(target);
    compare("loss", std::vector<float>{lt(pt, tt)}, std::vector<double>{lr(pr, tr)});
    compare("grad", gradient_to_host(lt.grad()), gradient_to_host(lr.grad()));
  }
}

template <template <class> class Loss, std::size_t C>
void class_loss_against_reference(const std::vector<double>& prediction, const std::vector<std::int64_t>& labels) {
  for (const auto reduction : {Reduction::mean, Reduction::sum}) {
    INFO((reduction == Reduction::mean ? "mean" : "sum"));
    Loss<ref> lr{reduction};
    Loss<TB> lt{reduction};
    const auto pr = batch_of<Shape<C>, ref>(prediction);
    const auto pt = batch_of<Shape<C>, TB>(prediction);
    const auto yr = Labels<ref>::from_host(std::span<const std::int64_t>(labels));
    const auto yt = Labels<TB>::from_host(std::span<const std::int64_t>(labels));
    compare("loss", std::vector<float>{lt(pt, yt)}, std::vector<double>{lr(pr, yr)});
    compare("grad", gradient_to_host(lt.grad()), gradient_to_host(lr.grad()));
  }
}

}  // namespace

// ---- PyTorch parity ---------------------------------------------------------------------------------

TEST_CASE("thrust: PyTorch parity: layers", "[thrust][parity][layer]") {
  ctnn_test::parity::run_sections(ctnn_test::parity::layer_cases<TB>());
}

TEST_CASE("thrust: PyTorch parity: losses", "[thrust][parity][loss]") {
  ctnn_test::parity::run_sections(ctnn_test::parity::loss_cases<TB>());
}

TEST_CASE("thrust: PyTorch parity: the seed's models", "[thrust][parity][model]") {
  ctnn_test::parity::run_sections(ctnn_test::parity::model_cases<TB>());
}

TEST_CASE("thrust: an out-of-range label throws with the sample's index", "[thrust][loss]") {
  const auto logits = Batch<Shape<3>, TB>::from_host({0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f});
  const auto labels = Labels<TB>::from_host({2, 3});
  CrossEntropyLoss<TB> ce;
  CHECK_THROWS_WITH(ce(logits, labels), Catch::Contains("label 3 of sample 1 is out of range"));
  NLLLoss<TB> nll;
  CHECK_THROWS_WITH(nll(logits, labels), Catch::Contains("label 3 of sample 1 is out of range"));
}

// ---- against the reference backend on random inputs ------------------------------------------------

TEST_CASE("thrust vs reference: Linear", "[thrust][consistency]") {
  check_against_reference<Linear<5, 3>, Input<5>>();
  check_against_reference<Linear<37, 9, false>, Input<37>, false, 6>();
}

TEST_CASE("thrust vs reference: Conv2d", "[thrust][consistency]") {
  check_against_reference<Conv2d<2, 3, 3, 1, 1>, Input<2, 5, 5>>();
  check_against_reference<Conv2d<2, 3, 3, 2, 0>, Input<2, 7, 7>>();
  check_against_reference<Conv2d<1, 2, 5, 1, 2>, Input<1, 6, 6>>();
  check_against_reference<Conv2d<2, 2, 3, 2, 1>, Input<2, 5, 8>>();
  check_against_reference<Conv2d<3, 4, 1, 1, 0>, Input<3, 4, 4>>();
}

TEST_CASE("thrust vs reference: MaxPool2d", "[thrust][consistency]") {
  check_against_reference<MaxPool2d<2>, Input<2, 4, 4>>();
  check_against_reference<MaxPool2d<3, 2>, Input<1, 7, 7>>();
  check_against_reference<MaxPool2d<3, 2, 1>, Input<1, 7, 7>>();
  check_against_reference<MaxPool2d<2, 1>, Input<2, 5, 6>>();
}

TEST_CASE("thrust vs reference: Flatten, activations, softmax", "[thrust][consistency]") {
  check_against_reference<Flatten, Input<2, 3, 4>>();
  check_against_reference<ReLU, Input<2, 4, 4>>();
  check_against_reference<Sigmoid, Input<7>>();
  check_against_reference<Tanh, Input<7>>();
  check_against_reference<Softmax, Input<6>>();
  check_against_reference<LogSoftmax, Input<6>>();
}

TEST_CASE("thrust vs reference: Dropout in training draws the same masks", "[thrust][consistency]") {
  check_against_reference<Dropout<0.3>, Input<50>, true, 4>();
  check_against_reference<Dropout<0.3>, Input<50>, false, 4>();
}

TEST_CASE("thrust vs reference: a whole network end to end", "[thrust][consistency]") {
  check_against_reference<Block<Conv2d<1, 4, 3, 1, 1>, ReLU, MaxPool2d<2>, Conv2d<4, 3, 3, 1, 0>, Tanh, Flatten,
                                Linear<12, 5>, Sigmoid>,
                          Input<1, 8, 8>, true, 5>();
}

TEST_CASE("thrust vs reference: losses", "[thrust][consistency][loss]") {
  const auto logits = random_values(4 * 6, 21, -3, 3);
  const std::vector<std::int64_t> labels{0, 5, 2, 3};
  class_loss_against_reference<CrossEntropyLoss, 6>(logits, labels);
  std::vector<double> log_probs = logits;
  for (std::size_t r = 0; r < 4; ++r) {  // rows of log-probabilities for NLLLoss
    double total = 0;
    for (std::size_t c = 0; c < 6; ++c) total += std::exp(logits[r * 6 + c]);
    for (std::size_t c = 0; c < 6; ++c) log_probs[r * 6 + c] = logits[r * 6 + c] - std::log(total);
  }
  class_loss_against_reference<NLLLoss, 6>(log_probs, labels);

  const auto p = random_values(3 * 8, 22, 0.02, 0.98), t = random_values(3 * 8, 23, 0.0, 1.0);
  const auto x = random_values(3 * 8, 24, -4, 4);
  loss_against_reference<BCELoss, Shape<8>>(p, t);
  loss_against_reference<BCEWithLogitsLoss, Shape<8>>(x, t);
  loss_against_reference<MSELoss, Shape<2, 4>>(x, p);
  loss_against_reference<L1Loss, Shape<8>>(x, p);
}

// ---- one TinyVGG training step against Eigen -------------------------------------------------------

TEST_CASE("thrust: one TinyVGG training step agrees with the Eigen backend", "[thrust][tinyvgg]") {
  constexpr std::size_t n = 16;
  TinyVGG<backend::eigen> eigen_model{manual_seed(42)};
  auto thrust_model = to<TB>(eigen_model);  // the same parameters, on the device
  const auto xv = random_values(n * 28 * 28, 31, 0, 1);
  std::vector<std::int64_t> yv(n);
  Generator g{32};
  for (auto& y : yv) y = static_cast<std::int64_t>(g.below(10));
  const auto xe = batch_of<Shape<1, 28, 28>, backend::eigen>(xv);
  const auto ye = Labels<backend::eigen>::from_host(std::span<const std::int64_t>(yv));
  const auto xt = to<TB>(xe);
  const auto yt = to<TB>(ye);
  static_assert(std::is_same_v<std::remove_const_t<decltype(yt)>, Labels<TB>>);

  optim::SGD<backend::eigen> opt_e{eigen_model.parameters(), {.lr = 0.1, .momentum = 0.9}};
  optim::SGD<TB> opt_t{thrust_model.parameters(), {.lr = 0.1, .momentum = 0.9}};
  CrossEntropyLoss<backend::eigen> ce_e;
  CrossEntropyLoss<TB> ce_t;
  for (int step = 0; step < 2; ++step) {
    INFO("step " << step);
    const auto& le = eigen_model.forward(xe);
    const auto& lt = thrust_model.forward(xt);
    compare("logits", lt.to_host(), le.to_host());
    const float loss_e = ce_e(le, ye), loss_t = ce_t(lt, yt);
    compare("loss", std::vector<float>{loss_t}, std::vector<float>{loss_e});
    opt_e.zero_grad();
    opt_t.zero_grad();
    compare("grad_input", thrust_model.backward(ce_t.grad()).to_host(), eigen_model.backward(ce_e.grad()).to_host());
    const auto ge = parameter_grads(eigen_model), gt = parameter_grads(thrust_model);
    for (std::size_t i = 0; i < ge.size(); ++i) compare(gt[i].first + ".grad", gt[i].second, ge[i].second);
    opt_e.step();
    opt_t.step();
    const auto se = eigen_model.state_dict(), st = thrust_model.state_dict();
    REQUIRE(se.size() == st.size());
    for (std::size_t i = 0; i < se.size(); ++i) compare(st[i].name + " after the step", st[i].values, se[i].values);
  }
  // Accuracy on the device batch goes through the metrics' host copy.
  metrics::Multiclass acc;
  CHECK(acc.correct(thrust_model.forward(xt), yt) == acc.correct(eigen_model.forward(xe), ye));
}

TEST_CASE("thrust: Adam steps agree with the Eigen backend", "[thrust][optim]") {
  using Net = Sequential<backend::eigen, Input<6>, Linear<6, 4>, Tanh, Linear<4, 3>>;
  Net e{manual_seed(5)};
  auto t = to<TB>(e);
  optim::Adam<backend::eigen> ae{e.parameters(), {.lr = 0.01, .weight_decay = 0.1}};
  optim::Adam<TB> at{t.parameters(), {.lr = 0.01, .weight_decay = 0.1}};
  const auto xv = random_values(8 * 6, 41);
  const auto xe = batch_of<Shape<6>, backend::eigen>(xv);
  const auto xt = to<TB>(xe);
  const auto target = batch_of<Shape<3>, backend::eigen>(random_values(8 * 3, 42));
  const auto target_t = to<TB>(target);
  MSELoss<backend::eigen> le;
  MSELoss<TB> lt;
  for (int step = 0; step < 3; ++step) {
    le(e.forward(xe), target);
    lt(t.forward(xt), target_t);
    ae.zero_grad();
    at.zero_grad();
    e.backward(le.grad());
    t.backward(lt.grad());
    ae.step();
    at.step();
  }
  const auto se = e.state_dict(), st = t.state_dict();
  for (std::size_t i = 0; i < se.size(); ++i) compare(st[i].name, st[i].values, se[i].values);
}

// ---- transfers, RNG ---------------------------------------------------------------------------------

TEST_CASE("to<B>: batches and models move between backends with float/double conversion", "[thrust][transfer]") {
  const auto x = Batch<Shape<2, 3>, ref>::from_host({1.0, 2.5, -3.0, 4.0, 5.0, 6.0, 0.5, 0.25, 0.125, 7.0, 8.0, 9.0});
  const auto xt = to<TB>(x);
  static_assert(std::is_same_v<std::remove_const_t<decltype(xt)>, Batch<Shape<2, 3>, TB, float>>);
  CHECK(xt.batch_size() == 2);
  const auto back = to<ref>(xt);
  CHECK(back.to_host() == x.to_host());

  using Net = Sequential<ref, Input<4>, Linear<4, 3>, ReLU, Linear<3, 2>>;
  Net r{manual_seed(3)};
  auto t = to<TB>(r);
  const auto sr = r.state_dict();
  const auto st = t.state_dict();
  REQUIRE(sr.size() == st.size());
  for (std::size_t i = 0; i < sr.size(); ++i) {
    CHECK(st[i].name == sr[i].name);
    compare(st[i].name, st[i].values, sr[i].values);
  }
  // Different layers: load_state_dict's checks apply and nothing changes.
  Sequential<TB, Input<4>, Linear<4, 2>> other{manual_seed(4)};
  const auto before = other.state_dict();
  CHECK_THROWS_WITH(copy_parameters(r, other), Catch::Contains("load_state_dict"));
  CHECK(other.state_dict()[0].values == before[0].values);
}

TEST_CASE("thrust: counter-based RNG gives the host backends' numbers", "[thrust][rng]") {
  constexpr std::size_t n = 1001;
  buffer_t<TB> d;
  d.resize(n);
  std::vector<float> h(n);
  Generator gd{77}, gh{77};
  backend::ops<TB>::fill_uniform(n, d.data(), -1.0, 3.0, gd);
  backend::ops<backend::eigen>::fill_uniform(n, h.data(), -1.0, 3.0, gh);
  CHECK(device_to_host<TB>(d.data(), n) == h);
  backend::ops<TB>::fill_normal(n, d.data(), 0.5, 2.0, gd);
  backend::ops<backend::eigen>::fill_normal(n, h.data(), 0.5, 2.0, gh);
  CHECK(device_to_host<TB>(d.data(), n) == h);
  backend::ops<TB>::fill_bernoulli(n, d.data(), 0.3, 2.0f, gd);
  backend::ops<backend::eigen>::fill_bernoulli(n, h.data(), 0.3, 2.0f, gh);
  CHECK(device_to_host<TB>(d.data(), n) == h);
  CHECK(gd.offset() == gh.offset());
}

TEST_CASE("thrust: ops outside the layers (sum, GEMM shapes)", "[thrust][ops]") {
  using T = backend::ops<TB>;
  using H = backend::ops<backend::eigen>;
  // GEMM in all four transpositions, with edges that are not multiples of the 4 x 4 tile.
  const std::size_t m = 7, n = 9, k = 5;
  const auto a = cast<float>(random_values(m * k, 51)), b = cast<float>(random_values(k * n, 52)),
             c0 = cast<float>(random_values(m * n, 53));
  buffer_t<TB> da, db, dc;
  da.resize(a.size());
  db.resize(b.size());
  dc.resize(c0.size());
  T::from_host(a.size(), a.data(), da.data());
  T::from_host(b.size(), b.data(), db.data());
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      INFO("trans_a " << ta << ", trans_b " << tb);
      std::vector<float> c = c0;
      T::from_host(c0.size(), c0.data(), dc.data());
      T::gemm(ta, tb, m, n, k, 0.5f, da.data(), db.data(), 2.0f, dc.data());
      H::gemm(ta, tb, m, n, k, 0.5f, a.data(), b.data(), 2.0f, c.data());
      compare("gemm", device_to_host<TB>(dc.data(), c.size()), c);
    }
  CHECK(std::abs(T::sum(a.size(), da.data()) - H::sum(a.size(), a.data())) < 1e-5);
}

TEST_CASE("thrust: buffers grow and never shrink", "[thrust][storage]") {
  buffer_t<TB> b;
  b.resize(10);
  const float* p = b.data();
  b.resize(4);
  CHECK(b.size() == 4);
  CHECK(b.data() == p);
  b.resize(10);
  CHECK(b.data() == p);
}
