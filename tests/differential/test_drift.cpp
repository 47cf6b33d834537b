// Float drift against double (issue 9): a small network with 5x5 convolutions (the Eigen backend's
// im2col + GEMM path) and a 3x3 one (its direct kernels) trained N SGD steps with momentum on
// backend::eigen (float) and backend::reference (double) from the same weights on the same batches. The
// float trajectory must stay within a bound of the double one: float rounding (about 6e-8 a value per
// step) grows along the trajectory, but an accumulation much worse than it needs to be (a long dot
// product summed naively, a lost term) shows as a drift many times larger.
//
// Measured here (worst parameter tensor, max |float - double| / max |double|): see `bounds` below.
#include <catch2/catch.hpp>
#include <ctnn/ctnn.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <span>
#include <vector>

#include "layer_checks.hpp"

namespace {

using namespace ctnn;

template <class B>
using Net = Sequential<B, Input<3, 16, 16>, Conv2d<3, 6, 5>, ReLU, MaxPool2d<2>, Conv2d<6, 8, 5, 1, 2>, ReLU,
                       Conv2d<8, 8, 3, 1, 1>, ReLU, MaxPool2d<2>, Flatten, Linear<72, 32>, ReLU, Linear<32, 10>>;

// The worst relative difference over the parameter tensors.
template <class A, class R>
double worst_drift(A& a, R& r) {
  const auto sa = a.state_dict();
  const auto sr = r.state_dict();
  double worst = 0;
  for (std::size_t t = 0; t < sr.size(); ++t) {
    double scale = 0, err = 0;
    for (std::size_t i = 0; i < sr[t].values.size(); ++i) {
      scale = std::max(scale, std::abs(sr[t].values[i]));
      err = std::max(err, std::abs(static_cast<double>(sa[t].values[i]) - sr[t].values[i]));
    }
    worst = std::max(worst, err / scale);
  }
  return worst;
}

}  // namespace

TEST_CASE("eigen's float trajectory stays near the double reference's (5x5 and 3x3 convolutions, SGD)",
          "[differential][drift]") {
  Net<backend::reference> ref{manual_seed(7)};
  auto fl = ctnn_test::copy_model<Net<backend::eigen>>(ref);
  optim::SGD<backend::reference> opt_r{ref.parameters(), {.lr = 0.01, .momentum = 0.9}};
  optim::SGD<backend::eigen> opt_f{fl.parameters(), {.lr = 0.01f, .momentum = 0.9f}};
  CrossEntropyLoss<backend::reference> ce_r;
  CrossEntropyLoss<backend::eigen> ce_f;
  // 16 fixed batches of 4: a class-dependent pattern plus noise (the network learns), float values.
  Generator g{11};
  constexpr std::size_t batches = 16, n = 4, pixels = 3 * 16 * 16;
  std::vector<std::vector<double>> xs(batches, std::vector<double>(n * pixels));
  std::vector<std::vector<std::int64_t>> ys(batches, std::vector<std::int64_t>(n));
  for (std::size_t b = 0; b < batches; ++b)
    for (std::size_t i = 0; i < n; ++i) {
      ys[b][i] = static_cast<std::int64_t>(g.below(10));
      for (std::size_t p = 0; p < pixels; ++p)
        xs[b][i * pixels + p] = static_cast<float>(0.5 * std::sin(0.05 * static_cast<double>(p) * static_cast<double>(ys[b][i] + 1)) +
                                                   (g.uniform() - 0.5));
    }
  // Bounds on the worst drift after these many steps, about 10x what this test measures (-s prints it):
  // 8.1e-8 after 1 step, 5.5e-7 after 50, 7.0e-7 after 100, 2.9e-6 after 150, 5.1e-6 after 200, 1.1e-5
  // after 250 (1.3e-5 before issue 9's accumulation changes, which matter little at batch 4). Later the
  // trajectories part: between steps 250 and 300 the drift jumps to 1e-1 (training is chaotic: one
  // ReLU unit switching on one side only is enough), for any float implementation.
  struct checkpoint {
    std::size_t step;
    double bound;
  };
  const std::vector<checkpoint> bounds = {{1, 1e-6}, {50, 5e-6}, {100, 1e-5}, {150, 3e-5}, {200, 5e-5}, {250, 1e-4}};
  std::size_t next = 0;
  double first_loss = 0, last_loss = 0;
  for (std::size_t s = 1; s <= bounds.back().step; ++s) {
    const std::size_t b = (s - 1) % batches;
    const auto xr = ctnn_test::batch_of<Net<backend::reference>::input_batch>(xs[b]);
    const auto xf = ctnn_test::batch_of<Net<backend::eigen>::input_batch>(xs[b]);
    const auto yr = Labels<backend::reference>::from_host(std::span<const std::int64_t>(ys[b]));
    const auto yf = Labels<backend::eigen>::from_host(std::span<const std::int64_t>(ys[b]));
    const double loss = ce_r(ref.forward(xr), yr);
    ce_f(fl.forward(xf), yf);
    if (s == 1) first_loss = loss;
    last_loss = loss;
    opt_r.zero_grad();
    opt_f.zero_grad();
    ref.backward(ce_r.grad(), InputGrad::skip);
    fl.backward(ce_f.grad(), InputGrad::skip);
    opt_r.step();
    opt_f.step();
    if (s == bounds[next].step) {
      const double drift = worst_drift(fl, ref);
      INFO("step " << s << ": worst relative weight drift " << drift << " (bound " << bounds[next].bound << ")");
      CHECK(drift <= bounds[next].bound);
      SUCCEED("drift after " << s << " steps: " << drift << ", loss " << loss);
      ++next;
    }
  }
  CHECK(last_loss < first_loss);  // it learned something, so the trajectory is not trivial
}
