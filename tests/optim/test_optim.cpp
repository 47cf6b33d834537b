// Optimizers and schedulers against torch.optim (PyTorch 1.13): five training steps of a small network
// (Linear(4, 8), ReLU, Linear(8, 3), CrossEntropyLoss) from the same initial weights and batch as
// tests/fixtures/make_optim_fixtures.py, comparing every step's loss, the learning rate and the final
// parameters. reference (double) must match to 1e-10 and eigen (float) to 1e-5 of each tensor's largest
// absolute value. Also: the options are checked as PyTorch checks them, and step() never allocates
// after the first step (counted with a replaced global operator new).
//
// Run with -s to see the largest error of every compared tensor.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <ctnn/ctnn.hpp>
#include <new>
#include <string>
#include <type_traits>
#include <vector>

#include "fixture.hpp"

#include "counting_allocator.hpp"

using namespace ctnn;
using ctnn_test::allocations;
using ctnn_test::count_allocations;
using Catch::Contains;
using ctnn_test::Fixture;
using ctnn_test::load_fixture;

namespace {

template <Backend B>
using Net = Sequential<B, Input<4>, Linear<4, 8>, ReLU, Linear<8, 3>>;

template <class B>
constexpr double tolerance = std::is_same_v<scalar_t<B>, float> ? 1e-5 : 1e-10;

// |actual - expected| <= tol * max |expected|, element by element; returns the largest relative error.
template <class T>
double check_close(const Fixture& f, const std::string& name, const std::vector<T>& actual, double tol) {
  const auto& expected = f.at(name);
  REQUIRE(actual.size() == expected.values.size());
  double scale = 0;
  for (double e : expected.values) scale = std::max(scale, std::abs(e));
  if (scale == 0) scale = 1;
  double worst = 0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const double error = std::abs(static_cast<double>(actual[i]) - expected.values[i]) / scale;
    INFO("fixture " << f.path() << ": tensor '" << name << "' at flat index " << i << ": ctnn "
                    << static_cast<double>(actual[i]) << ", PyTorch " << expected.values[i]);
    REQUIRE(error <= tol);
    worst = std::max(worst, error);
  }
  return worst;
}

// Runs the fixture's five steps on the reference or eigen backend and compares everything.
template <Backend B>
class Harness {
 public:
  using T = scalar_t<B>;

  explicit Harness(const std::string& case_name) : fixture_(load_fixture(case_name)) {
    StateDict<T> state;
    for (const auto& p : fixture_.parameters()) state.push_back({p.name, p.shape, convert<T>(p.values)});
    model.load_state_dict(state);
    x_ = Batch<Shape<4>, B>::from_host(std::span<const T>(convert<T>(fixture_.at("input").values)));
    labels_ = Labels<B>::from_host(std::span<const std::int64_t>(convert<std::int64_t>(fixture_.at("target").values)));
  }

  template <class Optimizer, class Scheduler = std::nullptr_t>
  void run(Optimizer& opt, Scheduler* scheduler = nullptr) {
    const auto& losses = fixture_.at("loss").values;
    const auto& lrs = fixture_.at("lr").values;
    REQUIRE(losses.size() == 5);
    double worst_loss = 0;
    for (std::size_t step = 0; step < 5; ++step) {
      opt.zero_grad();
      const T loss = loss_fn_(model.forward(x_), labels_);
      model.backward(loss_fn_.grad());
      opt.step();
      if constexpr (!std::is_same_v<Scheduler, std::nullptr_t>) {
        scheduler->step();
        CHECK(scheduler->get_last_lr() == Approx(lrs[step]).epsilon(1e-15));
      }
      INFO("step " << step);
      CHECK(opt.lr() == Approx(lrs[step]).epsilon(1e-15));
      const double error = std::abs(static_cast<double>(loss) - losses[step]) / std::abs(losses[step]);
      CHECK(error <= tolerance<B>);
      worst_loss = std::max(worst_loss, error);
    }
    SUCCEED(fixture_.path() << " [" << B::name << "]: largest loss error " << worst_loss);
    for (auto& t : model.state_dict()) {
      const double error = check_close(fixture_, "final." + t.name, t.values, tolerance<B>);
      SUCCEED(fixture_.path() << " [" << B::name << "]: final." << t.name << " largest error " << error);
    }
  }

  Net<B> model;

 private:
  template <class U>
  static std::vector<U> convert(const std::vector<double>& v) {
    std::vector<U> out(v.size());
    std::transform(v.begin(), v.end(), out.begin(), [](double d) { return static_cast<U>(d); });
    return out;
  }

  Fixture fixture_;
  Batch<Shape<4>, B> x_;
  Labels<B> labels_;
  CrossEntropyLoss<B> loss_fn_;
};

}  // namespace

// ---- parity with torch.optim ------------------------------------------------------------------------

TEMPLATE_TEST_CASE("SGD(lr=0.1) matches torch.optim.SGD", "[optim][parity]", backend::reference, backend::eigen) {
  Harness<TestType> h("optim_sgd");
  optim::SGD opt{h.model.parameters(), {.lr = 0.1}};
  h.run(opt);
}

TEMPLATE_TEST_CASE("SGD with momentum, dampening and weight decay matches torch.optim.SGD", "[optim][parity]",
                   backend::reference, backend::eigen) {
  Harness<TestType> h("optim_sgd_momentum");
  optim::SGD opt{h.model.parameters(), {.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .weight_decay = 0.01}};
  h.run(opt);
}

TEMPLATE_TEST_CASE("SGD with Nesterov momentum matches torch.optim.SGD", "[optim][parity]", backend::reference,
                   backend::eigen) {
  Harness<TestType> h("optim_sgd_nesterov");
  optim::SGD opt{h.model.parameters(), {.lr = 0.1, .momentum = 0.9, .nesterov = true}};
  h.run(opt);
}

TEMPLATE_TEST_CASE("Adam with the default options matches torch.optim.Adam", "[optim][parity]", backend::reference,
                   backend::eigen) {
  Harness<TestType> h("optim_adam");
  optim::Adam opt{h.model.parameters()};
  CHECK(opt.lr() == 1e-3);
  h.run(opt);
}

TEMPLATE_TEST_CASE("Adam with weight decay and other betas matches torch.optim.Adam", "[optim][parity]",
                   backend::reference, backend::eigen) {
  Harness<TestType> h("optim_adam_weight_decay");
  optim::Adam opt{h.model.parameters(), {.betas = {0.8, 0.9}, .weight_decay = 0.01}};
  h.run(opt);
}

TEMPLATE_TEST_CASE("Adadelta with the default options matches torch.optim.Adadelta", "[optim][parity]",
                   backend::reference, backend::eigen) {
  Harness<TestType> h("optim_adadelta");
  optim::Adadelta opt{h.model.parameters()};
  CHECK(opt.lr() == 1.0);
  CHECK(opt.options().rho == 0.9);
  CHECK(opt.options().eps == 1e-6);
  h.run(opt);
}

TEMPLATE_TEST_CASE("Adadelta with weight decay and maximize matches torch.optim.Adadelta", "[optim][parity]",
                   backend::reference, backend::eigen) {
  Harness<TestType> h("optim_adadelta_weight_decay");
  optim::Adadelta opt{h.model.parameters(),
                      {.lr = 0.5, .rho = 0.8, .eps = 1e-5, .weight_decay = 0.1, .maximize = true}};
  h.run(opt);
}

TEMPLATE_TEST_CASE("AdamW with the default options matches torch.optim.AdamW", "[optim][parity]", backend::reference,
                   backend::eigen) {
  Harness<TestType> h("optim_adamw");
  optim::AdamW opt{h.model.parameters()};
  CHECK(opt.options().weight_decay == 1e-2);
  h.run(opt);
}

TEMPLATE_TEST_CASE("AdamW with amsgrad matches torch.optim.AdamW", "[optim][parity]", backend::reference,
                   backend::eigen) {
  Harness<TestType> h("optim_adamw_amsgrad");
  optim::AdamW opt{h.model.parameters(), {.lr = 1e-2, .betas = {0.8, 0.9}, .weight_decay = 0.1, .amsgrad = true}};
  h.run(opt);
}

TEMPLATE_TEST_CASE("Adam with amsgrad and maximize matches torch.optim.Adam", "[optim][parity]", backend::reference,
                   backend::eigen) {
  Harness<TestType> h("optim_adam_amsgrad_maximize");
  optim::Adam opt{h.model.parameters(), {.lr = 1e-2, .weight_decay = 0.01, .amsgrad = true, .maximize = true}};
  h.run(opt);
}

TEMPLATE_TEST_CASE("RMSprop with the default options matches torch.optim.RMSprop", "[optim][parity]",
                   backend::reference, backend::eigen) {
  Harness<TestType> h("optim_rmsprop");
  optim::RMSprop opt{h.model.parameters()};
  CHECK(opt.options().alpha == 0.99);
  h.run(opt);
}

TEMPLATE_TEST_CASE("centered RMSprop with momentum and weight decay matches torch.optim.RMSprop", "[optim][parity]",
                   backend::reference, backend::eigen) {
  Harness<TestType> h("optim_rmsprop_centered");
  optim::RMSprop opt{h.model.parameters(),
                     {.lr = 1e-2, .alpha = 0.9, .eps = 1e-6, .weight_decay = 0.01, .momentum = 0.9, .centered = true}};
  h.run(opt);
}

TEMPLATE_TEST_CASE("Adagrad with the default options matches torch.optim.Adagrad", "[optim][parity]",
                   backend::reference, backend::eigen) {
  Harness<TestType> h("optim_adagrad");
  optim::Adagrad opt{h.model.parameters()};
  CHECK(opt.options().eps == 1e-10);
  h.run(opt);
}

TEMPLATE_TEST_CASE("Adagrad with lr_decay, weight decay, an initial accumulator and maximize matches torch",
                   "[optim][parity]", backend::reference, backend::eigen) {
  Harness<TestType> h("optim_adagrad_decay");
  optim::Adagrad opt{h.model.parameters(), {.lr = 0.1,
                                            .lr_decay = 0.05,
                                            .weight_decay = 0.01,
                                            .initial_accumulator_value = 0.1,
                                            .maximize = true}};
  h.run(opt);
}

TEMPLATE_TEST_CASE("SGD with maximize matches torch.optim.SGD", "[optim][parity]", backend::reference,
                   backend::eigen) {
  Harness<TestType> h("optim_sgd_maximize");
  optim::SGD opt{h.model.parameters(), {.lr = 0.05, .momentum = 0.9, .weight_decay = 0.01, .maximize = true}};
  h.run(opt);
}

TEMPLATE_TEST_CASE("SGD over two parameter groups matches torch.optim.SGD's param_groups", "[optim][parity]",
                   backend::reference, backend::eigen) {
  using B = TestType;
  Harness<B> h("optim_sgd_groups");
  auto [biases, weights] = optim::split_parameters(h.model.parameters(), optim::is_bias_or_norm<B>);
  REQUIRE(weights.size() == 2);
  CHECK(biases[1]->name == "2.bias");
  optim::SGD<B> opt({{weights, {.weight_decay = 5e-4}}, {biases, {.lr = 0.05, .weight_decay = 0}}},
                    {.lr = 0.1, .momentum = 0.9});
  REQUIRE(opt.param_groups().size() == 2);
  CHECK(opt.param_groups()[1].options.lr == 0.05);
  CHECK(opt.param_groups()[1].options.momentum == 0.9);  // from the defaults
  CHECK(opt.param_groups()[0].options.weight_decay == 5e-4);
  CHECK(opt.parameters().size() == 4);
  h.run(opt);
}

TEMPLATE_TEST_CASE("Adam with OneCycleLR stepped every batch matches torch (lr and beta1 cycled)",
                   "[optim][scheduler][parity]", backend::reference, backend::eigen) {
  Harness<TestType> h("optim_adam_onecycle");
  optim::Adam opt{h.model.parameters(), 1e-2};
  optim::OneCycleLR scheduler{opt, 0.05, {.total_steps = 5}};
  CHECK(opt.lr() == Approx(0.05 / 25).epsilon(1e-15));
  CHECK(opt.param_groups()[0].options.betas[0] == 0.95);
  h.run(opt, &scheduler);
}

TEMPLATE_TEST_CASE("SGD with StepLR matches torch.optim.lr_scheduler.StepLR", "[optim][scheduler][parity]",
                   backend::reference, backend::eigen) {
  Harness<TestType> h("optim_sgd_steplr");
  optim::SGD opt{h.model.parameters(), {.lr = 0.1}};
  optim::StepLR scheduler{opt, 2, 0.5};
  CHECK(scheduler.get_last_lr() == 0.1);
  h.run(opt, &scheduler);
  CHECK(scheduler.last_epoch() == 5);
}

// ---- the API ------------------------------------------------------------------------------------------

TEST_CASE("optimizers deduce the backend from model.parameters()", "[optim]") {
  Net<backend::eigen> model{manual_seed(0)};
  optim::SGD sgd{model.parameters(), {.lr = 0.1f}};
  optim::Adam adam{model.parameters(), {.lr = 1e-2}};
  optim::StepLR scheduler{sgd, 3};
  STATIC_REQUIRE(std::is_same_v<decltype(sgd), optim::SGD<backend::eigen>>);
  STATIC_REQUIRE(std::is_same_v<decltype(adam), optim::Adam<backend::eigen>>);
  STATIC_REQUIRE(std::is_same_v<decltype(scheduler), optim::StepLR<optim::SGD<backend::eigen>>>);
  Net<backend::reference> reference_model{manual_seed(0)};
  optim::SGD reference_sgd{reference_model.parameters(), {.lr = 0.1}};
  STATIC_REQUIRE(std::is_same_v<decltype(reference_sgd), optim::SGD<backend::reference>>);
  CHECK(sgd.lr() == Approx(0.1));
  CHECK(scheduler.gamma() == 0.1);
  CHECK(sgd.parameters().size() == 4);
}

TEST_CASE("optimizers take PyTorch's positional learning rate", "[optim]") {
  Net<backend::eigen> model{manual_seed(0)};
  optim::SGD sgd(model.parameters(), 0.1);
  optim::Adam adam(model.parameters(), 1e-2);
  optim::AdamW adamw(model.parameters(), 1e-2);
  optim::RMSprop rmsprop(model.parameters(), 1e-3);
  optim::Adagrad adagrad(model.parameters(), 0.1f);
  optim::Adadelta adadelta(model.parameters(), 1);
  STATIC_REQUIRE(std::is_same_v<decltype(sgd), optim::SGD<backend::eigen>>);
  STATIC_REQUIRE(std::is_same_v<decltype(adamw), optim::AdamW<backend::eigen>>);
  STATIC_REQUIRE(std::is_same_v<decltype(adadelta), optim::Adadelta<backend::eigen>>);
  CHECK(sgd.lr() == 0.1);
  CHECK(adam.lr() == 1e-2);
  CHECK(adamw.lr() == 1e-2);
  CHECK(rmsprop.lr() == 1e-3);
  CHECK(adagrad.lr() == Approx(0.1));
  CHECK(adadelta.lr() == 1.0);
  // `{}` is the options, not lr = 0: SGD's lr is still required.
  CHECK_THROWS_WITH(optim::SGD(model.parameters(), {}), Contains("no learning rate"));
}

TEST_CASE("frozen parameters are not stepped and keep their own step count", "[optim]") {
  using B = backend::reference;
  Net<B> model{manual_seed(3)};
  auto params = model.parameters();
  for (auto* p : params) backend::ops<B>::fill(p->size(), p->grad.data(), 0.5);
  optim::Adam opt{params, 0.1};
  params[0]->requires_grad_(false);
  const auto frozen = params[0]->values_to_host();
  opt.step();
  opt.step();
  CHECK(params[0]->values_to_host() == frozen);
  CHECK(opt.step_counts()[0] == 0);
  CHECK(opt.step_counts()[1] == 2);
  params[0]->requires_grad_(true);
  opt.step();
  // Its first step: bias corrections of t = 1, a move of lr * sign(grad) (up to eps), as torch's Adam.
  const auto moved = params[0]->values_to_host();
  for (std::size_t j = 0; j < moved.size(); ++j) CHECK(moved[j] == Approx(frozen[j] - 0.1).margin(1e-7));
  CHECK(opt.step_counts()[0] == 1);
  CHECK(opt.step_counts()[1] == 3);
}

TEST_CASE("parameter groups are checked", "[optim]") {
  using B = backend::eigen;
  Net<B> model{manual_seed(0)};
  auto params = model.parameters();
  using SGD = optim::SGD<B>;
  CHECK_THROWS_WITH(SGD({{params, {}}, {{params[0]}, {}}}, {.lr = 0.1}), Contains("more than one parameter group"));
  CHECK_THROWS_WITH(SGD({{params, {.lr = -1.0}}}, {.lr = 0.1}), Contains("invalid learning rate: -1"));
  CHECK_THROWS_WITH(SGD({{params, {}}}, {}), Contains("no learning rate"));
  SGD opt({{{params[0], params[1]}, {.lr = 0.5}}, {{params[2], params[3]}, {}}}, {.lr = 0.1});
  opt.set_lr(0.2);  // every group, as a scheduler without groups in mind would expect
  CHECK(opt.param_groups()[0].options.lr == 0.2);
  CHECK(opt.param_groups()[1].options.lr == 0.2);
}

TEST_CASE("zero_grad zeroes every gradient and set_lr changes the step", "[optim]") {
  Net<backend::reference> model{manual_seed(3)};
  for (auto* p : model.parameters()) backend::ops<backend::reference>::fill(p->size(), p->grad.data(), 1.0);
  optim::SGD opt{model.parameters(), {.lr = 0.5}};
  opt.set_lr(0.25);
  CHECK(opt.lr() == 0.25);
  const auto before = model.state_dict();
  opt.step();  // every gradient is 1: every parameter moves by -0.25
  const auto after = model.state_dict();
  for (std::size_t i = 0; i < before.size(); ++i)
    for (std::size_t j = 0; j < before[i].values.size(); ++j)
      CHECK(after[i].values[j] == Approx(before[i].values[j] - 0.25).margin(1e-15));
  opt.zero_grad();
  for (auto* p : model.parameters())
    for (std::size_t j = 0; j < p->size(); ++j) CHECK(p->grad.data()[j] == 0.0);
  CHECK_THROWS_WITH(opt.set_lr(-1), Contains("invalid learning rate"));
}

TEST_CASE("optimizer options are checked as torch.optim checks them", "[optim]") {
  Net<backend::eigen> model{manual_seed(0)};
  using SGD = optim::SGD<backend::eigen>;
  using Adam = optim::Adam<backend::eigen>;
  CHECK_THROWS_WITH(SGD(std::vector<Parameter<backend::eigen>*>{}, {.lr = 0.1}), Contains("empty parameter list"));
  CHECK_THROWS_WITH(SGD(model.parameters(), {}), Contains("no learning rate"));
  CHECK_THROWS_WITH(SGD(model.parameters(), {.lr = -0.1}), Contains("invalid learning rate: -0.1"));
  CHECK_THROWS_WITH(SGD(model.parameters(), {.lr = 0.1, .momentum = -1}), Contains("invalid momentum"));
  CHECK_THROWS_WITH(SGD(model.parameters(), {.lr = 0.1, .weight_decay = -1}), Contains("invalid weight_decay"));
  CHECK_THROWS_WITH(SGD(model.parameters(), {.lr = 0.1, .nesterov = true}), Contains("Nesterov momentum requires"));
  CHECK_THROWS_WITH(SGD(model.parameters(), {.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .nesterov = true}),
                    Contains("zero dampening"));
  CHECK_THROWS_WITH(Adam(model.parameters(), {.betas = {1.0, 0.999}}), Contains("invalid beta parameter at index 0"));
  CHECK_THROWS_WITH(Adam(model.parameters(), {.betas = {0.9, -0.1}}), Contains("invalid beta parameter at index 1"));
  CHECK_THROWS_WITH(Adam(model.parameters(), {.eps = -1}), Contains("invalid epsilon"));
  CHECK_THROWS_WITH(Adam(model.parameters(), {.lr = -1}), Contains("invalid learning rate"));
  SGD opt{model.parameters(), {.lr = 0.1}};
  CHECK_THROWS_WITH(optim::StepLR(opt, 0), Contains("step_size must be positive"));
}

TEST_CASE("StepLR decays the learning rate every step_size epochs", "[optim][scheduler]") {
  Net<backend::eigen> model{manual_seed(0)};
  optim::Adam opt{model.parameters(), {.lr = 1.0}};
  optim::StepLR scheduler{opt, 3, 0.1};
  std::vector<double> seen;
  for (int epoch = 0; epoch < 7; ++epoch) {
    scheduler.step();
    seen.push_back(scheduler.get_last_lr());
  }
  const std::vector<double> expected = {1, 1, 0.1, 0.1, 0.1, 0.01, 0.01};
  for (std::size_t i = 0; i < expected.size(); ++i) CHECK(seen[i] == Approx(expected[i]).epsilon(1e-15));
  CHECK(opt.lr() == Approx(0.01));
}

// ---- no allocation in step() --------------------------------------------------------------------------

template <class Optimizer>
static void check_no_allocation_after_first_step(Net<backend::eigen>& model, Optimizer& opt) {
#if !CTNN_TEST_COUNT_NEW
  (void)model;
  (void)opt;
  WARN("allocation counting is off in this build (sanitizer)");
#else
  auto x = Batch<Shape<4>, backend::eigen>::from_host({0.5f, -1.0f, 2.0f, 0.25f, -0.5f, 1.5f, 0.0f, 1.0f});
  auto labels = Labels<backend::eigen>::from_host({std::int64_t{2}, std::int64_t{0}});
  CrossEntropyLoss<backend::eigen> loss_fn;
  optim::StepLR scheduler{opt, 2, 0.5};
  for (int step = 0; step < 6; ++step) {
    opt.zero_grad();
    (void)loss_fn(model.forward(x), labels);
    model.backward(loss_fn.grad());
    allocations = 0;
    count_allocations = true;
    opt.step();
    scheduler.step();
    count_allocations = false;
    INFO("step " << step);
    if (step > 0) CHECK(allocations.load() == 0);
  }
#endif
}

TEST_CASE("SGD with momentum allocates nothing in step() after the first", "[optim][allocation]") {
  Net<backend::eigen> model{manual_seed(5)};
  optim::SGD opt{model.parameters(), {.lr = 0.1, .momentum = 0.9, .nesterov = true}};
  check_no_allocation_after_first_step(model, opt);
}

TEST_CASE("Adam allocates nothing in step() after the first", "[optim][allocation]") {
  Net<backend::eigen> model{manual_seed(5)};
  optim::Adam opt{model.parameters(), {.weight_decay = 0.01}};
  check_no_allocation_after_first_step(model, opt);
}

TEST_CASE("the allocation counter counts", "[optim][allocation]") {
#if !CTNN_TEST_COUNT_NEW
  WARN("allocation counting is off in this build");
#else
  allocations = 0;
  count_allocations = true;
  auto* v = new std::vector<double>(100);
  count_allocations = false;
  delete v;
  CHECK(allocations.load() >= 2);
#endif
}
