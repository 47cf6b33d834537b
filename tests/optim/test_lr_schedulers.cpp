// Learning-rate schedulers against torch.optim.lr_scheduler (PyTorch 1.13) over two parameter groups,
// gradient clipping against torch.nn.utils.clip_grad_*, and resumable training: optimizer and scheduler
// state saved (optim/checkpoint.hpp) and loaded into fresh objects, in a forked process and in this
// one, continue bit for bit on Eigen.
// Fixtures: tests/fixtures/make_optim_fixtures.py (sched_*.txt, clip_grad.txt).
#include <catch2/catch.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <ctnn/ctnn.hpp>
#include <filesystem>
#include <limits>
#include <span>
#include <string>
#include <type_traits>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "fixture.hpp"

using namespace ctnn;
using Catch::Contains;
using ctnn_test::Fixture;
using ctnn_test::load_fixture;

namespace {

using R = backend::reference;

// Two parameter groups (lr 0.1 and 0.05), as the fixtures' optimizers.
struct TwoGroups {
  Parameter<R> a{"a", {3}}, b{"b", {2}};
  template <class Optimizer>
  Optimizer make(typename Optimizer::Options defaults) {
    return Optimizer({{{&a}, {}}, {{&b}, {.lr = 0.05}}}, defaults);
  }
};

template <class O>
double momentum_of(const O& opt) {
  const auto& o = opt.param_groups()[0].options;
  if constexpr (requires { o.betas; }) return o.betas[0];
  else return o.momentum;
}

// Steps `scheduler` through the fixture (metric: ReduceLROnPlateau's inputs) and compares both groups'
// lr and group 0's momentum after each step.
template <class O, class Scheduler>
void check_schedule(const std::string& name, O& opt, Scheduler& scheduler) {
  const Fixture f = load_fixture(name);
  const auto& initial = f.at("initial").values;
  CHECK(opt.param_groups()[0].options.lr == Approx(initial[0]).epsilon(1e-14));
  CHECK(opt.param_groups()[1].options.lr == Approx(initial[1]).epsilon(1e-14));
  CHECK(momentum_of(opt) == Approx(initial[2]).epsilon(1e-14));
  const auto& lr0 = f.at("lr0").values;
  const auto& lr1 = f.at("lr1").values;
  const auto& momentum = f.at("momentum").values;
  REQUIRE(lr0.size() >= 12);
  for (std::size_t step = 0; step < lr0.size(); ++step) {
    opt.step();
    if constexpr (requires { scheduler.step(1.0); }) scheduler.step(f.at("metric").values[step]);
    else scheduler.step();
    INFO(name << ": step " << step);
    CHECK(scheduler.get_last_lrs()[0] == Approx(lr0[step]).epsilon(1e-14).margin(1e-300));
    CHECK(opt.param_groups()[1].options.lr == Approx(lr1[step]).epsilon(1e-14));
    CHECK(momentum_of(opt) == Approx(momentum[step]).epsilon(1e-14));
  }
  CHECK(scheduler.last_epoch() == lr0.size());
}

}  // namespace

// ---- schedulers against torch ---------------------------------------------------------------------

TEST_CASE("MultiStepLR matches torch over two groups, a repeated milestone included", "[optim][scheduler][parity]") {
  TwoGroups p;
  auto opt = p.make<optim::SGD<R>>({.lr = 0.1, .momentum = 0.9});
  optim::MultiStepLR scheduler{opt, {3, 7, 7, 12}, 0.5};
  check_schedule("sched_multistep", opt, scheduler);
}

TEST_CASE("ExponentialLR matches torch", "[optim][scheduler][parity]") {
  TwoGroups p;
  auto opt = p.make<optim::SGD<R>>({.lr = 0.1, .momentum = 0.9});
  optim::ExponentialLR scheduler{opt, 0.9};
  check_schedule("sched_exponential", opt, scheduler);
}

TEST_CASE("CosineAnnealingLR matches torch's recursive form, past T_max too", "[optim][scheduler][parity]") {
  TwoGroups p;
  auto opt = p.make<optim::SGD<R>>({.lr = 0.1, .momentum = 0.9});
  optim::CosineAnnealingLR scheduler{opt, 6, 0.01};
  check_schedule("sched_cosine", opt, scheduler);
}

TEST_CASE("LinearLR matches torch", "[optim][scheduler][parity]") {
  TwoGroups p;
  auto opt = p.make<optim::SGD<R>>({.lr = 0.1, .momentum = 0.9});
  optim::LinearLR scheduler{opt, 0.25, 0.9, 8};
  check_schedule("sched_linear", opt, scheduler);
}

TEST_CASE("OneCycleLR (cos, one max_lr per group) matches torch, SGD's momentum cycled", "[optim][scheduler][parity]") {
  TwoGroups p;
  auto opt = p.make<optim::SGD<R>>({.lr = 0.1, .momentum = 0.9});
  optim::OneCycleLR scheduler{opt, std::vector<double>{1.0, 0.5}, {.total_steps = 16}};
  CHECK(scheduler.total_steps() == 16);
  check_schedule("sched_onecycle_cos", opt, scheduler);
  CHECK_THROWS_WITH(scheduler.step(), Contains("Tried to step 18 times"));
}

TEST_CASE("OneCycleLR (linear, three phases, epochs x steps_per_epoch) matches torch, Adam's beta1 cycled",
          "[optim][scheduler][parity]") {
  TwoGroups p;
  auto opt = p.make<optim::Adam<R>>({.lr = 0.1});
  optim::OneCycleLR scheduler{opt, 0.3,
                              {.epochs = 4,
                               .steps_per_epoch = 5,
                               .pct_start = 0.25,
                               .anneal_strategy = "linear",
                               .base_momentum = 0.8,
                               .max_momentum = 0.9,
                               .div_factor = 10,
                               .final_div_factor = 100,
                               .three_phase = true}};
  check_schedule("sched_onecycle_linear_three_phase", opt, scheduler);
}

TEST_CASE("ReduceLROnPlateau (min, rel, cooldown, per-group min_lr) matches torch", "[optim][scheduler][parity]") {
  TwoGroups p;
  auto opt = p.make<optim::SGD<R>>({.lr = 0.1, .momentum = 0.9});
  optim::ReduceLROnPlateau scheduler{opt, {.factor = 0.5, .patience = 2, .cooldown = 1, .min_lrs = {0.02, 0.001}}};
  check_schedule("sched_plateau_min", opt, scheduler);
}

TEST_CASE("ReduceLROnPlateau (max, abs) matches torch", "[optim][scheduler][parity]") {
  TwoGroups p;
  auto opt = p.make<optim::SGD<R>>({.lr = 0.1, .momentum = 0.9});
  optim::ReduceLROnPlateau scheduler{opt, {.mode = "max", .factor = 0.3, .patience = 1, .threshold = 0.01,
                                           .threshold_mode = "abs"}};
  check_schedule("sched_plateau_max_abs", opt, scheduler);
}

TEST_CASE("scheduler options are checked as torch checks them", "[optim][scheduler]") {
  TwoGroups p;
  auto opt = p.make<optim::SGD<R>>({.lr = 0.1});
  using O = decltype(opt);
  CHECK_THROWS_WITH(optim::OneCycleLR<O>(opt, 0.1), Contains("total_steps OR (epochs AND steps_per_epoch)"));
  CHECK_THROWS_WITH(optim::OneCycleLR<O>(opt, 0.1, {.total_steps = 10, .anneal_strategy = "cosine"}),
                    Contains("anneal_strategy must by one of 'cos' or 'linear'"));
  CHECK_THROWS_WITH(optim::OneCycleLR<O>(opt, std::vector<double>{0.1}, {.total_steps = 10}),
                    Contains("expected 2 values for max_lr, got 1"));
  CHECK_THROWS_WITH(optim::LinearLR<O>(opt, 1.5), Contains("Starting multiplicative factor"));
  CHECK_THROWS_WITH(optim::ReduceLROnPlateau<O>(opt, {.factor = 1.0}), Contains("Factor should be < 1.0."));
  CHECK_THROWS_WITH(optim::ReduceLROnPlateau<O>(opt, {.mode = "maximum"}), Contains("mode maximum is unknown!"));
  CHECK_THROWS_WITH(optim::CosineAnnealingLR<O>(opt, 0), Contains("T_max must be positive"));
}

// ---- gradient clipping against torch ----------------------------------------------------------------

TEMPLATE_TEST_CASE("clip_grad_norm_ and clip_grad_value_ match torch.nn.utils", "[optim][clip][parity]",
                   backend::reference, backend::eigen) {
  using B = TestType;
  using T = scalar_t<B>;
  const double tol = std::is_same_v<T, float> ? 1e-6 : 1e-13;
  const Fixture f = load_fixture("clip_grad");
  Sequential<B, Input<4>, Linear<4, 8>, ReLU, Linear<8, 3>> model{manual_seed(0)};
  const auto params = model.parameters();
  auto set_grads = [&] {
    for (auto* p : params) {
      const auto& g = f.at("grad." + p->name).values;
      std::vector<T> host(g.begin(), g.end());
      backend::ops<B>::from_host(host.size(), host.data(), p->grad.data());
    }
  };
  auto check_grads = [&](const std::string& prefix) {
    for (auto* p : params) {
      const auto& expected = f.at(prefix + "." + p->name).values;
      std::vector<T> got(p->size());
      backend::ops<B>::to_host(got.size(), p->grad.data(), got.data());
      for (std::size_t j = 0; j < got.size(); ++j) {
        INFO(prefix << "." << p->name << "[" << j << "]");
        CHECK(static_cast<double>(got[j]) == Approx(expected[j]).margin(tol));
      }
    }
  };
  const struct {
    const char* name;
    double max_norm, norm_type;
  } cases[] = {{"norm2", 0.5, 2.0}, {"norm1", 1.0, 1.0}, {"norminf", 0.05, std::numeric_limits<double>::infinity()}};
  for (const auto& c : cases) {
    set_grads();
    const double total = optim::clip_grad_norm_(params, c.max_norm, c.norm_type);
    INFO(c.name);
    CHECK(total == Approx(f.at(std::string("total_") + c.name).values[0]).epsilon(tol));
    check_grads(c.name);
  }
  set_grads();
  optim::clip_grad_value_(params, 0.02);
  check_grads("value");
  // A frozen parameter's gradient is neither counted nor scaled (its grad is None in torch).
  set_grads();
  params[0]->requires_grad_(false);
  std::vector<T> before(params[0]->size());
  backend::ops<B>::to_host(before.size(), params[0]->grad.data(), before.data());
  (void)optim::clip_grad_norm_(params, 1e-3);
  std::vector<T> after(before.size());
  backend::ops<B>::to_host(after.size(), params[0]->grad.data(), after.data());
  CHECK(after == before);
  CHECK_THROWS_WITH(optim::clip_grad_norm_(params, 1.0, 2.0 * std::numeric_limits<double>::quiet_NaN()),
                    Contains("invalid norm_type"));
}

// ---- resumable training -------------------------------------------------------------------------------

namespace {

using E = backend::eigen;
using Net = Sequential<E, Input<4>, Linear<4, 8>, ReLU, Linear<8, 3>>;

// Four fixed batches of 8 (one epoch).
struct Data {
  std::vector<Batch<Shape<4>, E>> x;
  std::vector<Labels<E>> y;
  Data() {
    Generator g{11};
    for (int b = 0; b < 4; ++b) {
      std::vector<float> xs(32);
      std::vector<std::int64_t> ys(8);
      for (auto& v : xs) v = g.torch_uniform(-2.0f, 2.0f);
      for (std::size_t i = 0; i < ys.size(); ++i) ys[i] = static_cast<std::int64_t>((i + b) % 3);
      x.push_back(Batch<Shape<4>, E>::from_host(std::span<const float>(xs)));
      y.push_back(Labels<E>::from_host(std::span<const std::int64_t>(ys)));
    }
  }
};

// One epoch; the scheduler steps after every batch (per_batch) or after the epoch.
template <class O, class S>
void one_epoch(Net& model, const Data& data, O& opt, S& scheduler, bool per_batch) {
  CrossEntropyLoss<E> loss_fn;
  for (std::size_t b = 0; b < data.x.size(); ++b) {
    opt.zero_grad();
    (void)loss_fn(model.forward(data.x[b]), data.y[b]);
    model.backward(loss_fn.grad());
    opt.step();
    if (per_batch) scheduler.step();
  }
  if (!per_batch) scheduler.step();
}

std::filesystem::path scratch_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / cat("ctnn_resume_", name, "_", ::getpid());
  std::filesystem::create_directories(dir);
  return dir;
}

// 2 epochs straight vs 1 epoch, save, fresh model/optimizer/scheduler, load, 1 more epoch.
template <class MakeOptimizer, class MakeScheduler>
void check_resume(const std::string& name, MakeOptimizer make_optimizer, MakeScheduler make_scheduler, bool per_batch) {
  const Data data;
  Net straight{manual_seed(5)};
  auto opt = make_optimizer(straight);
  auto scheduler = make_scheduler(opt);
  one_epoch(straight, data, opt, scheduler, per_batch);
  one_epoch(straight, data, opt, scheduler, per_batch);

  const auto dir = scratch_dir(name);
  {
    Net first{manual_seed(5)};
    auto opt1 = make_optimizer(first);
    auto scheduler1 = make_scheduler(opt1);
    one_epoch(first, data, opt1, scheduler1, per_batch);
    save(first, dir / "model.safetensors");
    optim::save_checkpoint(dir / "optimizer.safetensors", opt1, scheduler1);
  }
  // A fresh process: a forked child makes new objects, loads both files, trains the second epoch and
  // writes its weights; nothing of the parent's objects reaches it but the files.
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    int code = 1;
    try {
      set_num_threads(1);  // no OpenMP team in a forked child (the parent's may not survive the fork)
      Net model{manual_seed(99)};
      auto o = make_optimizer(model);
      auto s = make_scheduler(o);
      load(model, dir / "model.safetensors");
      optim::load_checkpoint(dir / "optimizer.safetensors", o, s);
      one_epoch(model, data, o, s, per_batch);
      save(model, dir / "resumed.safetensors");
      code = 0;
    } catch (...) {
    }
    ::_exit(code);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  const auto from_child = load_state_dict_file<float>(dir / "resumed.safetensors");
  const auto expected = straight.state_dict();
  std::size_t compared = 0;
  for (const auto& t : expected)
    for (const auto& c : from_child)
      if (c.name == t.name) {
        INFO(name << " (forked process): " << t.name);
        CHECK(c.values == t.values);  // bit for bit
        ++compared;
      }
  CHECK(compared == expected.size());

  // And in this process, into fresh objects.
  Net resumed{manual_seed(99)};  // other weights: everything must come from the files
  auto opt2 = make_optimizer(resumed);
  auto scheduler2 = make_scheduler(opt2);
  load(resumed, dir / "model.safetensors");
  optim::load_checkpoint(dir / "optimizer.safetensors", opt2, scheduler2);
  CHECK(scheduler2.last_epoch() == (per_batch ? data.x.size() : 1));
  one_epoch(resumed, data, opt2, scheduler2, per_batch);

  CHECK(opt2.lr() == opt.lr());
  CHECK(scheduler2.last_epoch() == scheduler.last_epoch());
  const auto a = straight.state_dict(), b = resumed.state_dict();
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO(name << ": " << a[i].name);
    CHECK(a[i].values == b[i].values);  // bit for bit
  }
  std::filesystem::remove_all(dir);
}

}  // namespace

TEST_CASE("SGD with momentum and MultiStepLR resume bit for bit from a checkpoint", "[optim][checkpoint]") {
  check_resume(
      "sgd", [](Net& m) { return optim::SGD<E>(m.parameters(), {.lr = 0.1, .momentum = 0.9, .weight_decay = 1e-3}); },
      [](optim::SGD<E>& o) { return optim::MultiStepLR<optim::SGD<E>>(o, {1}, 0.1); }, false);
}

TEST_CASE("Adam with OneCycleLR resumes bit for bit from a checkpoint", "[optim][checkpoint]") {
  check_resume(
      "adam", [](Net& m) { return optim::Adam<E>(m.parameters(), {.lr = 1e-2, .amsgrad = true}); },
      [](optim::Adam<E>& o) { return optim::OneCycleLR<optim::Adam<E>>(o, 0.05, {.total_steps = 8}); }, true);
}

TEST_CASE("a checkpoint refuses another optimizer or other parameters", "[optim][checkpoint]") {
  Net model{manual_seed(1)};
  optim::SGD<E> sgd(model.parameters(), {.lr = 0.1, .momentum = 0.9});
  const auto dir = scratch_dir("mismatch");
  optim::save_checkpoint(dir / "sgd.safetensors", sgd);
  optim::Adam<E> adam(model.parameters());
  CHECK_THROWS_WITH(optim::load_checkpoint(dir / "sgd.safetensors", adam), Contains("SGD optimizer loaded into Adam"));
  auto params = model.parameters();
  optim::SGD<E> fewer(std::vector<Parameter<E>*>(params.begin(), params.begin() + 2), 0.1);
  CHECK_THROWS_WITH(optim::load_checkpoint(dir / "sgd.safetensors", fewer), Contains("other parameters"));
  std::filesystem::remove_all(dir);
}
