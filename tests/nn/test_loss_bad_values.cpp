// Losses on bad values (NaN, infinity, probabilities outside [0, 1]): each either throws a ctnn::error
// that names the loss, the element and its value (where PyTorch raises or its loss would be NaN), or
// returns PyTorch's numbers. The numbers are PyTorch 1.13's (float32), each with the expression that
// gave it; the rule is in nn/loss.hpp's header comment.
#include <catch2/catch.hpp>

#include <ctnn/ctnn.hpp>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <ctnn/testing/gradcheck.hpp>

using namespace ctnn;

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

template <class B, std::size_t N = 1>
Batch<Shape<N>, B> column(const std::vector<double>& v) {
  std::vector<scalar_t<B>> s(v.begin(), v.end());
  return Batch<Shape<N>, B>::from_host(std::span<const scalar_t<B>>(s));
}
template <class B>
std::vector<double> grad_of(const detail::loss_base<B>& loss, std::size_t n) {
  std::vector<scalar_t<B>> g(n);
  backend::ops<B>::to_host(n, loss.grad().data, g.data());
  return {g.begin(), g.end()};
}
std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ctnn::error& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

TEMPLATE_TEST_CASE("BCELoss rejects inputs outside [0, 1] and NaN, naming the element, as PyTorch raises",
                   "[loss][bad-values]", backend::eigen, backend::reference) {
  using B = TestType;
  BCELoss<B> loss;
  const auto t = column<B>({1, 0, 1, 0});
  // torch.nn.functional.binary_cross_entropy(torch.tensor([nan]), ...) raises RuntimeError
  // "all elements of input should be between 0 and 1"; so do -0.1, 1.1 and inf.
  const std::vector<std::pair<double, std::string>> bad{{kNaN, "nan"}, {-0.1, "-0.1"}, {1.1, "1.1"}, {kInf, "inf"},
                                                        {-kInf, "-inf"}};
  for (const auto& [value, text] : bad) {
    for (std::size_t at = 0; at < 4; ++at) {
      std::vector<double> p{0.5, 0.25, 0.75, 0.5};
      p[at] = value;
      const auto x = column<B>(p);
      const std::string msg = message_of([&] { loss(x, t); });
      INFO("p[" << at << "] = " << text);
      CHECK_THAT(msg, Catch::StartsWith("ctnn: BCELoss: all elements of input should be between 0 and 1") &&
                          Catch::Contains("input[" + std::to_string(at) + ", 0] is " + text));
    }
  }
  // The loss keeps working after an error.
  CHECK(loss(column<B>({0.5, 0.5, 0.5, 0.5}), t) == Approx(std::log(2.0)));
}

TEMPLATE_TEST_CASE("BCELoss at exactly 0 and 1 stays finite through PyTorch's -100 clamp", "[loss][bad-values]",
                   backend::eigen, backend::reference) {
  using B = TestType;
  BCELoss<B> loss;
  // p = torch.tensor([[0.], [1.], [0.], [1.]], requires_grad=True); t = torch.tensor([[1.], [0.], [0.], [1.]])
  // F.binary_cross_entropy(p, t) -> 50.0; p.grad -> [-249999998976.0, 249999998976.0, 0.0, 0.0]
  // (float32: 1 / 1e-12f / 4; the double backend divides by the float 1e-12f as PyTorch's float64 does)
  const double value = loss(column<B>({0, 1, 0, 1}), column<B>({1, 0, 0, 1}));
  CHECK(value == 50.0);
  const auto g = grad_of(loss, 4);
  CHECK(g[0] == Approx(-249999998976.0).epsilon(1e-6));
  CHECK(g[1] == Approx(249999998976.0).epsilon(1e-6));
  CHECK(g[2] == 0.0);
  CHECK(g[3] == 0.0);
  // -0.0 is inside [0, 1]: F.binary_cross_entropy(torch.tensor([-0.]), torch.tensor([1.])) -> 100.0
  CHECK(loss(column<B>({-0.0}), column<B>({1})) == 100.0);
}

TEMPLATE_TEST_CASE("BCELoss targets: outside [0, 1] as in PyTorch (no check), NaN or infinite throws",
                   "[loss][bad-values]", backend::eigen, backend::reference) {
  using B = TestType;
  BCELoss<B> loss{Reduction::sum};
  // p = torch.tensor([[0.3], [0.3]], requires_grad=True); t = torch.tensor([[-0.1], [1.1]])
  // F.binary_cross_entropy(p, t, reduction='sum') -> 1.56064772605896; p.grad -> [1.9047619104385376, -3.809523820877075]
  CHECK(loss(column<B>({0.3, 0.3}), column<B>({-0.1, 1.1})) == Approx(1.56064772605896).epsilon(1e-6));
  const auto g = grad_of(loss, 2);
  CHECK(g[0] == Approx(1.9047619104385376).epsilon(1e-6));
  CHECK(g[1] == Approx(-3.809523820877075).epsilon(1e-6));
  // F.binary_cross_entropy(torch.tensor([0.3]), torch.tensor([nan])) -> nan (and inf -> nan): ctnn throws.
  CHECK_THAT(message_of([&] { loss(column<B>({0.3, 0.3}), column<B>({1, kNaN})); }),
             Catch::StartsWith("ctnn: BCELoss: target[1, 0] is nan"));
  CHECK_THAT(message_of([&] { loss(column<B>({0.3, 1.0}), column<B>({0, kInf})); }),
             Catch::StartsWith("ctnn: BCELoss: target[1, 0] is inf"));
}

TEMPLATE_TEST_CASE("BCEWithLogitsLoss: infinite and NaN logits throw, large finite ones are PyTorch's numbers",
                   "[loss][bad-values]", backend::eigen, backend::reference) {
  using B = TestType;
  BCEWithLogitsLoss<B> loss{Reduction::sum};
  // F.binary_cross_entropy_with_logits(torch.tensor([inf]), torch.tensor([t])) is inf for t = 0 and 0.5 and nan
  // for t = 1; with -inf it is nan for every t: no infinite logit has a finite loss, ctnn refuses them all.
  for (double x : {kInf, -kInf, kNaN})
    for (double t : {0.0, 0.5, 1.0}) {
      INFO("x = " << x << ", t = " << t);
      const std::string msg = message_of([&] { loss(column<B>({0.5, x}), column<B>({1, t})); });
      CHECK_THAT(msg, Catch::StartsWith("ctnn: BCEWithLogitsLoss: input[1, 0] is ") &&
                          Catch::Contains("ctnn requires finite logits"));
    }
  // z = torch.tensor([[1e30], [1e30], [-100.], [100.]], requires_grad=True); t = torch.tensor([[0.], [1.], [0.], [1.]])
  // F.binary_cross_entropy_with_logits(z, t, reduction='sum') -> 1.0000000150474662e+30; z.grad -> [1.0, 0.0, 0.0, 0.0]
  const double big = static_cast<double>(static_cast<scalar_t<B>>(1e30));
  CHECK(loss(column<B>({1e30, 1e30, -100, 100}), column<B>({0, 1, 0, 1})) == Approx(big).epsilon(1e-6));
  const auto g = grad_of(loss, 4);
  CHECK(g[0] == 1.0);
  CHECK(g[1] == 0.0);
  CHECK(std::abs(g[2]) < 1e-40);  // sigmoid(-100): 3.7e-44 in float64, flushed to 0 by PyTorch's float32
  CHECK(std::abs(g[3]) < 1e-40);
  // A NaN target: F.binary_cross_entropy_with_logits(torch.tensor([0.3]), torch.tensor([nan])) -> nan.
  CHECK_THAT(message_of([&] { loss(column<B>({0.3}), column<B>({kNaN})); }),
             Catch::StartsWith("ctnn: BCEWithLogitsLoss: target[0, 0] is nan"));
}

TEMPLATE_TEST_CASE("CrossEntropyLoss: -inf logits (a mask) give PyTorch's numbers, NaN and +inf throw",
                   "[loss][bad-values]", backend::eigen, backend::reference) {
  using B = TestType;
  using S = scalar_t<B>;
  const S ninf = -std::numeric_limits<S>::infinity();
  {
    CrossEntropyLoss<B> loss;
    // x = torch.tensor([[-inf, 1., 2.], [0.5, -inf, -1.]], requires_grad=True)
    // F.cross_entropy(x, torch.tensor([2, 0])) -> 0.2573375105857849
    // x.grad -> [[0.0, 0.13447071611881256, -0.13447070121765137], [-0.09121277928352356, 0.0, 0.09121274948120117]]
    const auto x = Batch<Shape<3>, B>::from_host({ninf, 1, 2, S(0.5), ninf, -1});
    CHECK(loss(x, Labels<B>::from_host({2, 0})) == Approx(0.2573375105857849).epsilon(1e-6));
    const auto g = grad_of(loss, 6);
    const double expected[] = {0.0, 0.13447071611881256, -0.13447070121765137, -0.09121277928352356, 0.0,
                               0.09121274948120117};
    for (std::size_t i = 0; i < 6; ++i) CHECK(g[i] == Approx(expected[i]).epsilon(1e-5).margin(1e-30));
  }
  {
    CrossEntropyLoss<B> loss{Reduction::sum};
    // The label's own logit is -inf: F.cross_entropy(x, torch.tensor([0, 0]), reduction='sum') -> inf
    // x.grad -> [[-1.0, 0.2689414322376251, 0.7310585975646973], [-0.18242555856704712, 0.0, 0.18242549896240234]]
    const auto x = Batch<Shape<3>, B>::from_host({ninf, 1, 2, S(0.5), ninf, -1});
    CHECK(loss(x, Labels<B>::from_host({0, 0})) == kInf);
    const auto g = grad_of(loss, 6);
    const double expected[] = {-1.0, 0.2689414322376251, 0.7310585975646973, -0.18242555856704712, 0.0,
                               0.18242549896240234};
    for (std::size_t i = 0; i < 6; ++i) CHECK(g[i] == Approx(expected[i]).epsilon(1e-5).margin(1e-30));
    // ... but anomaly mode refuses an infinite loss.
    detect_anomaly guard;
    CHECK_THAT(message_of([&] { loss(x, Labels<B>::from_host({0, 0})); }),
               Catch::Equals("ctnn: detect_anomaly: CrossEntropyLoss: the loss is inf"));
  }
  {
    CrossEntropyLoss<B> loss;
    // F.cross_entropy(torch.tensor([[1e30, 0., 0.]]), torch.tensor([1])) -> 1.0000000150474662e+30, grad [[1., -1., 0.]]
    const double big = static_cast<double>(static_cast<S>(1e30));
    CHECK(loss(Batch<Shape<3>, B>::from_host({S(1e30), 0, 0}), Labels<B>::from_host({1})) == Approx(big).epsilon(1e-6));
    const auto g = grad_of(loss, 3);
    CHECK(g[0] == 1.0);
    CHECK(g[1] == -1.0);
    CHECK(g[2] == 0.0);
  }
  // F.cross_entropy(torch.tensor([[inf, 0., 0.]]), torch.tensor([label])) -> nan for every label; a NaN logit
  // and a row of -inf likewise: ctnn throws, naming the logit.
  CrossEntropyLoss<B> loss;
  const S pinf = std::numeric_limits<S>::infinity(), qnan = std::numeric_limits<S>::quiet_NaN();
  for (std::int64_t label : {0, 1}) {
    CHECK_THAT(message_of([&] { loss(Batch<Shape<3>, B>::from_host({0, 1, 2, pinf, 0, 0}), Labels<B>::from_host({0, label})); }),
               Catch::Equals("ctnn: CrossEntropyLoss: input[1, 0] is inf: PyTorch's loss would be NaN "
                             "(a logit must be finite or -inf)"));
    CHECK_THAT(message_of([&] { loss(Batch<Shape<3>, B>::from_host({0, 1, 2, 0, qnan, 0}), Labels<B>::from_host({0, label})); }),
               Catch::StartsWith("ctnn: CrossEntropyLoss: input[1, 1] is nan"));
  }
  CHECK_THAT(message_of([&] { loss(Batch<Shape<3>, B>::from_host({0, 1, 2, ninf, ninf, ninf}), Labels<B>::from_host({0, 2})); }),
             Catch::Equals("ctnn: CrossEntropyLoss: every logit of sample 1 is -inf: its softmax is undefined "
                           "(PyTorch's loss would be NaN)"));
}

TEMPLATE_TEST_CASE("NLLLoss, MSELoss and L1Loss name the element that made the loss NaN", "[loss][bad-values]",
                   backend::eigen, backend::reference) {
  using B = TestType;
  using S = scalar_t<B>;
  const S qnan = std::numeric_limits<S>::quiet_NaN();
  NLLLoss<B> nll;
  // F.nll_loss(torch.tensor([[nan, 0., 0.]]), torch.tensor([1])) -> 0.0: only the label's entry counts.
  CHECK(nll(Batch<Shape<3>, B>::from_host({qnan, -1, -2}), Labels<B>::from_host({1})) == 1.0);
  CHECK_THAT(message_of([&] { nll(Batch<Shape<3>, B>::from_host({-1, -2, -3, -1, qnan, -3}), Labels<B>::from_host({0, 1})); }),
             Catch::StartsWith("ctnn: NLLLoss: the loss is NaN: input[1, 1]"));
  MSELoss<B> mse;
  CHECK_THAT(message_of([&] { mse(column<B, 2>({1, 2, 3, kNaN}), column<B, 2>({1, 2, 3, 4})); }),
             Catch::Equals("ctnn: MSELoss: the loss is NaN: input[1, 1] is nan, target[1, 1] is 4"));
  // F.mse_loss(torch.tensor([inf]), torch.tensor([0.])) -> inf: returned as PyTorch returns it.
  CHECK(mse(column<B>({kInf}), column<B>({0})) == kInf);
  L1Loss<B> l1;
  CHECK_THAT(message_of([&] { l1(column<B>({1, 2}), column<B>({kNaN, 4})); }),
             Catch::Equals("ctnn: L1Loss: the loss is NaN: input[0, 0] is 1, target[0, 0] is nan"));
}

TEST_CASE("BCELoss and BCEWithLogitsLoss gradients near the clamps match central differences", "[loss][gradcheck]") {
  using ref = backend::reference;
  // Probabilities close to 0 and 1 (but where p (1 - p) is still above PyTorch's 1e-12 floor and the logs
  // above -100), targets inside and at the ends of [0, 1].
  {
    BCELoss<ref> loss{Reduction::sum};
    const auto p = column<ref>({1e-5, 1 - 1e-5, 0.5, 1e-3});
    const auto t = column<ref>({0, 1, 0.25, 1});
    loss(p, t);
    const auto g = grad_of(loss, 4);
    for (std::size_t i = 0; i < 4; ++i) {
      const double h = 1e-9;
      auto plus = p.to_host(), minus = p.to_host();
      plus[i] += h;
      minus[i] -= h;
      BCELoss<ref> f{Reduction::sum};
      const double numeric = (f(column<ref>(plus), t) - f(column<ref>(minus), t)) / (2 * h);
      INFO("p[" << i << "]");
      CHECK(testing::derivative_error(g[i], numeric) < 1e-5);
    }
  }
  {
    BCEWithLogitsLoss<ref> loss{Reduction::mean};
    const auto x = column<ref, 2>({-40, -12, 0.25, 12, 40, 3});
    const auto t = column<ref, 2>({0, 1, 0.5, 0, 1, 0.75});
    loss(x, t);
    const auto result = testing::check_loss_gradients<BCEWithLogitsLoss<ref>>(x, t, Reduction::mean);
    INFO(result.report());
    CHECK(result.passed());
    CHECK(result.max_error < 1e-6);
  }
}
