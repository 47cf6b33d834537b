// HuberLoss, SmoothL1Loss, KLDivLoss and CrossEntropyLoss's options (weight, ignore_index,
// label_smoothing) beyond their PyTorch parity (tests/support/parity.hpp, fixtures of
// tests/fixtures/make_activation_fixtures.py, on every backend): central-difference gradient checks of
// every reduction, the kinks, bad values and the reduction 'batchmean' that only KLDivLoss takes.
#include <catch2/catch.hpp>
#include <ctnn/ctnn.hpp>
#include <ctnn/testing/gradcheck.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <span>
#include <string>
#include <vector>

using namespace ctnn;

namespace {

using ref = backend::reference;

template <class B, std::size_t N>
Batch<Shape<N>, B> rows(const std::vector<double>& v) {
  std::vector<scalar_t<B>> s(v.begin(), v.end());
  return Batch<Shape<N>, B>::from_host(std::span<const scalar_t<B>>(s));
}
template <class B>
std::vector<double> grad_values(const GradientView<B>& g) {
  std::vector<scalar_t<B>> out(g.batch_size * g.per_sample);
  backend::ops<B>::to_host(out.size(), g.data, out.data());
  return {out.begin(), out.end()};
}
std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ctnn::error& e) {
    return e.what();
  }
  return "(no error)";
}

template <class Loss, class P, class T>
void check_gradients(const P& prediction, const T& target, Reduction reduction) {
  const auto result = testing::check_loss_gradients<Loss>(prediction, target, reduction);
  INFO(result.report());
  CHECK(result);
  CHECK(result.derivatives == prediction.size());
}

}  // namespace

TEST_CASE("HuberLoss and SmoothL1Loss: gradients against central differences", "[loss][gradcheck]") {
  // Differences on both sides of 0.5 and 1, none within the step of a kink.
  const auto p = rows<ref, 4>({0.1, -2.0, 1.7, 0.3, 2.5, -0.45, 0.0, 3.0});
  const auto t = rows<ref, 4>({0.0, 0.2, 0.1, -0.9, -1.0, 0.3, 0.6, 2.2});
  for (const auto r : {Reduction::mean, Reduction::sum}) {
    check_gradients<HuberLoss<>>(p, t, r);
    check_gradients<HuberLoss<0.5>>(p, t, r);
    check_gradients<SmoothL1Loss<>>(p, t, r);
    check_gradients<SmoothL1Loss<0.25>>(p, t, r);
    check_gradients<SmoothL1Loss<0.0>>(p, t, r);
  }
}

TEST_CASE("HuberLoss and SmoothL1Loss: the pieces and the kinks, as PyTorch", "[loss]") {
  // d = p - t = -2, -0.5, 0, 0.5, 3 (torch.nn.functional.huber_loss / smooth_l1_loss, reduction='none').
  const auto p = rows<ref, 5>({-2, -0.5, 0, 0.5, 3});
  const auto t = rows<ref, 5>({0, 0, 0, 0, 0});
  HuberLoss<1.0, ref> huber{Reduction::sum};
  CHECK(huber(p, t) == Approx(1.5 + 0.125 + 0 + 0.125 + 2.5));
  CHECK(grad_values(huber.grad()) == std::vector<double>{-1, -0.5, 0, 0.5, 1});
  HuberLoss<0.5, ref> huber_half{Reduction::sum};  // |d| = 0.5 is the kink: both pieces give 0.125
  CHECK(huber_half(p, t) == Approx(0.875 + 0.125 + 0 + 0.125 + 1.375));
  CHECK(grad_values(huber_half.grad()) == std::vector<double>{-0.5, -0.5, 0, 0.5, 0.5});
  SmoothL1Loss<0.5, ref> smooth{Reduction::sum};  // HuberLoss<0.5> / 0.5
  CHECK(smooth(p, t) == Approx(2 * (0.875 + 0.125 + 0 + 0.125 + 1.375)));
  CHECK(grad_values(smooth.grad()) == std::vector<double>{-1, -1, 0, 1, 1});
  SmoothL1Loss<0.0, ref> l1{Reduction::mean};  // beta = 0 is L1Loss, gradient 0 at d = 0
  CHECK(l1(p, t) == Approx(6.0 / 5));
  CHECK(grad_values(l1.grad()) == std::vector<double>{-0.2, -0.2, 0, 0.2, 0.2});
}

TEST_CASE("KLDivLoss: gradients of every reduction, both target kinds", "[loss][gradcheck]") {
  // Log-probabilities of two samples of 3 classes; targets as probabilities (one exactly 0) and as logs.
  const auto x = rows<ref, 3>({std::log(0.2), std::log(0.5), std::log(0.3), std::log(0.6), std::log(0.1), std::log(0.3)});
  const auto q = rows<ref, 3>({0.1, 0.7, 0.2, 0.0, 0.5, 0.5});
  const auto log_q = rows<ref, 3>({std::log(0.1), std::log(0.7), std::log(0.2), std::log(0.25), std::log(0.25), std::log(0.5)});
  for (const auto r : {Reduction::mean, Reduction::sum, Reduction::batchmean}) {
    check_gradients<KLDivLoss<>>(x, q, r);
    check_gradients<KLDivLoss<true>>(x, log_q, r);
  }
  // batchmean is KL(q || p) per sample: sum q (log q - log p) / batch.
  KLDivLoss<false, ref> kl{Reduction::batchmean};
  const double expected = (0.1 * std::log(0.1 / 0.2) + 0.7 * std::log(0.7 / 0.5) + 0.2 * std::log(0.2 / 0.3) +
                           0.5 * std::log(0.5 / 0.1) + 0.5 * std::log(0.5 / 0.3)) / 2;
  CHECK(kl(x, q) == Approx(expected).epsilon(1e-14));
  CHECK(grad_values(kl.grad())[3] == 0.0);  // -t / batch with t = 0
}

TEMPLATE_TEST_CASE("New losses on bad values: NaN, negative KL targets, 'batchmean' elsewhere", "[loss][bad-values]",
                   backend::eigen, backend::reference) {
  using B = TestType;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const auto p = rows<B, 2>({0.5, nan, 1.0, 2.0});
  const auto t = rows<B, 2>({0.0, 0.0, 1.0, 1.0});
  HuberLoss<1.0, B> huber;
  CHECK_THAT(message_of([&] { huber(p, t); }),
             Catch::StartsWith("ctnn: HuberLoss: the loss is NaN: input[0, 1] is nan"));
  SmoothL1Loss<1.0, B> smooth;
  CHECK_THAT(message_of([&] { smooth(t, p); }), Catch::Contains("SmoothL1Loss") && Catch::Contains("target[0, 1] is nan"));
  KLDivLoss<false, B> kl;
  const auto log_p = rows<B, 2>({-0.5, -1.0, -0.2, -2.0});
  const auto negative = rows<B, 2>({0.5, 0.5, 1.2, -0.2});
  CHECK_THAT(message_of([&] { kl(log_p, negative); }),
             Catch::StartsWith("ctnn: KLDivLoss: target[1, 1] is -0.2") && Catch::Contains("must be >= 0"));
  CHECK_THAT(message_of([] { MSELoss<B> mse{Reduction::batchmean}; }),
             Catch::Contains("MSELoss: reduction 'batchmean' is KLDivLoss's only"));
  CHECK_THAT(message_of([] { CrossEntropyLoss<> ce{Reduction::batchmean}; }),
             Catch::Contains("CrossEntropyLoss: reduction 'batchmean'"));
}

TEST_CASE("New losses take the backend of their arguments when declared without one", "[loss]") {
  const std::vector<double> pv{0.5, -1.0, 2.0, 0.25}, tv{0.0, 0.5, 0.5, 0.0};
  HuberLoss huber;  // HuberLoss<1.0, deduced_backend>
  SmoothL1Loss smooth{Reduction::sum};
  KLDivLoss kl{Reduction::batchmean};
  const double on_reference = huber(rows<ref, 2>(pv), rows<ref, 2>(tv));
  const float on_eigen = huber(rows<backend::eigen, 2>(pv), rows<backend::eigen, 2>(tv));
  CHECK(on_eigen == Approx(on_reference).epsilon(1e-6));
  const GradientView<backend::eigen> g = huber.grad();
  CHECK(g.batch_size == 2);
  CHECK(smooth(rows<ref, 2>(pv), rows<ref, 2>(tv)) == Approx(0.125 + 1.0 + 1.0 + 0.03125));  // d = 0.5, -1.5, 1.5, 0.25
  CHECK(kl(rows<ref, 2>({-0.5, -1.0, -0.2, -2.0}), rows<ref, 2>({0.5, 0.5, 1.0, 0.0})) ==
        Approx((0.5 * (std::log(0.5) + 0.5) + 0.5 * (std::log(0.5) + 1.0) + 0.2) / 2));
  CHECK(kl.reduction() == Reduction::batchmean);
}

TEST_CASE("CrossEntropyLoss with weights, smoothing and ignore_index: gradients against central differences",
          "[loss][gradcheck][cross-entropy]") {
  const std::vector<double> xv{0.3, -1.2, 2.0, 0.5, 0.1, -0.4, 1.5, 0.7, -2.0, 0.2, 0.0, 0.9};
  const auto labels = Labels<ref>::from_host(std::span<const std::int64_t>(std::vector<std::int64_t>{2, -100, 0}));
  for (const auto reduction : {Reduction::mean, Reduction::sum}) {
    const CrossEntropyOptions options{
        .weight = {0.5, 2.0, 1.0, 1.5}, .ignore_index = -100, .reduction = reduction, .label_smoothing = 0.15};
    CrossEntropyLoss<ref> loss_fn{options};
    const auto x = rows<ref, 4>(xv);
    loss_fn(x, labels);
    const auto analytic = grad_values(loss_fn.grad());
    double worst = 0;
    for (std::size_t i = 0; i < xv.size(); ++i) {
      auto plus = xv, minus = xv;
      plus[i] += 1e-6;
      minus[i] -= 1e-6;
      CrossEntropyLoss<ref> probe{options};
      const double numeric = (probe(rows<ref, 4>(plus), labels) - probe(rows<ref, 4>(minus), labels)) / 2e-6;
      worst = std::max(worst, std::abs(numeric - analytic[i]));
    }
    CHECK(worst < 1e-8);
    for (std::size_t c = 4; c < 8; ++c) CHECK(analytic[c] == 0.0);  // the ignored sample
  }
}

TEST_CASE("CrossEntropyLoss options: bad values are errors naming the option", "[loss][bad-values][cross-entropy]") {
  const auto x = rows<ref, 3>({0.1, 0.2, 0.3, 1.0, -1.0, 0.0});
  const auto labels = Labels<ref>::from_host(std::span<const std::int64_t>(std::vector<std::int64_t>{1, 7}));
  const auto ignored = Labels<ref>::from_host(std::span<const std::int64_t>(std::vector<std::int64_t>{-1, -1}));
  CHECK_THAT(message_of([&] { CrossEntropyLoss<ref> l{{.weight = {1.0, 2.0}}}; l(x, labels); }),
             Catch::Contains("CrossEntropyLoss: 2 class weights for 3 classes"));
  CHECK_THAT(message_of([] { CrossEntropyLoss l{{.label_smoothing = 1.5}}; }),
             Catch::Contains("label_smoothing must be between 0.0 and 1.0, got 1.5"));
  CHECK_THAT(message_of([] { CrossEntropyLoss<ref> l{{.weight = {1.0, std::nan(""), 1.0}}}; }),
             Catch::Contains("weight[1] is nan"));
  CHECK_THAT(message_of([&] { CrossEntropyLoss<ref> l{{.ignore_index = -1}}; l(x, labels); }),
             Catch::Contains("label 7 of sample 1 is out of range") && Catch::Contains("ignore_index is -1"));
  CHECK_THAT(message_of([&] { CrossEntropyLoss<ref> l{{.ignore_index = -1}}; l(x, ignored); }),
             Catch::Contains("the mean is over no samples"));
  CrossEntropyLoss<ref> summed{{.ignore_index = -1, .reduction = Reduction::sum}};
  CHECK(summed(x, ignored) == 0.0);  // PyTorch: a sum over no samples is 0
}

TEST_CASE("CrossEntropyLoss options with the backend deduced: the weighted mean's denominator", "[loss][cross-entropy]") {
  // Two samples, labels 0 and 1, weights 1 and 3: mean = (1 * l0 + 3 * l1) / (1 + 3), as PyTorch.
  const std::vector<double> xv{2.0, 0.0, 0.0, 1.0};
  CrossEntropyLoss weighted{{.weight = {1.0, 3.0}}};
  const auto labels = Labels<backend::eigen>::from_host(std::span<const std::int64_t>(std::vector<std::int64_t>{0, 1}));
  const double l0 = std::log1p(std::exp(-2.0)), l1 = std::log1p(std::exp(-1.0));
  CHECK(weighted(rows<backend::eigen, 2>(xv), labels) == Approx((l0 + 3 * l1) / 4).epsilon(1e-6));
  CHECK(weighted.reduction() == Reduction::mean);
  const GradientView<backend::eigen> g = weighted.grad();
  CHECK(g.per_sample == 2);
}
