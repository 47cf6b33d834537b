// Layer-level differential checks of the Eigen backend through the public types (issue 9), and the
// regressions the op-level differential test (test_ops.cpp) found, each with the example that showed it.
#include <catch2/catch.hpp>
#include <ctnn/ctnn.hpp>

#include <cstdint>
#include <span>
#include <vector>

#include "differential.hpp"
#include "layer_checks.hpp"

using namespace ctnn;

TEST_CASE("regression: MaxPool2d<2> on an odd height (eigen's 2x2 kernel stepped planes by 2 Ho W)", "[differential][pool][regression]") {
  // Issue 9: on a batch of 2 holding 0..17 the Eigen backend gave [4, 10]; PyTorch and the reference give
  // [4, 13] (the second plane starts at 9, not at 2 * 1 * 3 = 6).
  using Model = Sequential<backend::eigen, Input<1, 3, 3>, MaxPool2d<2>>;
  Model model;
  std::vector<float> x(18);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i);
  const auto xb = Model::input_batch::from_host(std::span<const float>(x));  // backward reads it again
  const auto y = model.forward(xb).to_host();
  CHECK(y == std::vector<float>{4, 13});
  const std::vector<float> ones{1, 1};
  const auto dx = model.backward(Model::output_batch::from_host(std::span<const float>(ones))).to_host();
  std::vector<float> expected(18, 0.0f);
  expected[4] = expected[13] = 1;  // the gradient goes to each plane's maximum
  CHECK(dx == expected);
  // The same on the reference backend.
  using Ref = Sequential<backend::reference, Input<1, 3, 3>, MaxPool2d<2>>;
  Ref ref;
  const auto xr = ctnn_test::batch_of<Ref::input_batch>(std::vector<double>(x.begin(), x.end()));
  CHECK(ref.forward(xr).to_host() == std::vector<double>{4, 13});
}

TEST_CASE("regression: MaxPool2d<2> on 7x7 maps (a third pool of a TinyVGG-like net) matches the reference", "[differential][pool][regression]") {
  ctnn_test::check_model_against_reference<ctnn_test::SevenBySevenNet, backend::eigen>("7x7 pools", 3, 9);
  using Pool7 = Sequential<backend::eigen, Input<4, 7, 7>, MaxPool2d<2>>;
  Pool7 model;
  std::vector<float> x(3 * 4 * 49);
  ctnn_test::diff::rng r(5);
  for (auto& v : x) v = static_cast<float>(r.uniform(-1, 1));
  const auto y = model.forward(Pool7::input_batch::from_host(std::span<const float>(x))).to_host();
  Sequential<backend::reference, Input<4, 7, 7>, MaxPool2d<2>> ref;
  const auto xr = ctnn_test::batch_of<decltype(ref)::input_batch>(std::vector<double>(x.begin(), x.end()));
  const auto yr = ref.forward(xr).to_host();
  REQUIRE(y.size() == yr.size());
  for (std::size_t i = 0; i < y.size(); ++i) CHECK(static_cast<double>(y[i]) == yr[i]);  // a max is exact
}

TEST_CASE("regression: GEMM with depth 0 gives C = beta C (eigen's tiling divided by the depth)", "[differential][gemm][regression]") {
  std::vector<float> c{1, 2, 3, 4, 5, 6};
  backend::ops<backend::eigen>::gemm(false, false, 2, 3, 0, 1.0f, nullptr, nullptr, 0.5f, c.data());
  CHECK(c == std::vector<float>{0.5f, 1, 1.5f, 2, 2.5f, 3});
  backend::ops<backend::eigen>::gemm(true, true, 2, 3, 0, 1.0f, nullptr, nullptr, 0.0f, c.data());
  CHECK(c == std::vector<float>(6, 0.0f));
}

TEST_CASE("regression: Sigmoid is accurate relative to its value where it is small (Eigen's logistic() is not)", "[differential][elementwise][regression]") {
  // Eigen's float logistic() is a fit of logistic - 0.5: at x = -9.2 it gave 1.03531529e-4 for 1.03520809e-4.
  using Model = Sequential<backend::eigen, Input<9>, Sigmoid>;
  Model model;
  const std::vector<float> x{-9.2f, -12.0f, -8.0f, -3.0f, 0.0f, 3.0f, 20.0f, -100.0f, -87.0f};
  const auto y = model.forward(Model::input_batch::from_host(std::span<const float>(x))).to_host();
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double e = 1 / (1 + std::exp(-static_cast<double>(x[i])));
    INFO("x = " << x[i] << ": " << y[i] << " vs " << e);
    CHECK(std::abs(static_cast<double>(y[i]) - e) <= 1e-6 * e + 1e-38);
  }
}

TEST_CASE("regression: SGD and Adam updates give the same bits on 1 and 2 threads (named length cases, seed 20261201)", "[differential][optim][regression]") {
  // Eigen's Map<ArrayXf> started its packets at the first 32-byte aligned value and did the values before
  // it, and after the last packet, in (FMA-contracted) scalar code, so where a thread's part started
  // changed the bits: the differential test found adam_update differing on 1 and 2 threads at n = 16399
  // (its named case 22 with seed 20261201), value 8194. Whether it shows depends on where malloc puts
  // the buffers (a 32-byte aligned one has no scalar head), so this reruns those named cases; the fix
  // (fixed-size packets from the start of every part) makes the bits independent of the alignment.
  using namespace ctnn_test::diff;
  for (const char* op : {"adam_update", "sgd_update"}) {
    INFO(op);
    std::size_t failures = 0;
    const op_stats s = run_op<backend::eigen>(op, 20261201, 0, {1, 2}, true, [&](const std::string& m) {
      if (++failures <= 5) FAIL_CHECK(m);
    });
    CHECK(s.failures == 0);
    CHECK(s.geometries == s.named);
  }
}

TEST_CASE("eigen vs reference through the public layer types on odd shapes", "[differential][layers]") {
  ctnn_test::check_odd_models<backend::eigen>();
}
