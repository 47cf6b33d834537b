#pragma once
// Finite-difference gradient checks on backend::reference (double), in the style of dlib's test_layer.
//
//   check_layer_gradients<Conv2d<2, 3, 3, 1, 1>, Shape<2, 5, 5>>();
//       builds Sequential<backend::reference, Input<2, 5, 5>, Conv2d<...>>, forms L = sum(y * R) for a
//       fixed random R and compares the analytic dL/dx and dL/dparam (every Parameter) with central
//       differences (eps 1e-6).
//   check_loss_gradients<CrossEntropyLoss<backend::reference>>(logits, labels, Reduction::sum);
//       compares loss.grad() with central differences of the loss value.
//
// The error of one derivative is |analytic - numeric| / max(|analytic|, |numeric|, 1): a relative error
// for derivatives of magnitude 1 and more, an absolute one below (where the rounding of L / (2 eps),
// about 1e-10, would swamp a pure relative error). Both helpers return the largest error they saw.
//
// Kinks: the input is drawn with randn and then spread so that any two values differ by at least
// 1e-3 and none lies within 0.05 of zero, so ReLU and MaxPool see no tie within eps of a kink.
// Each numerical evaluation runs on a copy of the untouched model, so a layer with state drawn in
// forward (Dropout in training) sees the very mask of the analytic pass.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <ctnn/ctnn.hpp>

namespace ctnn_test {

using ref = ctnn::backend::reference;

inline constexpr double gradcheck_eps = 1e-6;
inline constexpr double gradcheck_tolerance = 1e-6;

// Shape<D...> -> Input<D...>.
template <class S>
struct input_of;
template <std::size_t... D>
struct input_of<ctnn::Shape<D...>> {
  using type = ctnn::Input<D...>;
};

enum class Mode { eval, train };

// The model a check builds: Sequential<reference, Input<InShape...>, Spec>, or, for Spec = Block<L...>,
// Sequential<reference, Input<InShape...>, L...> (a whole network checked end to end, with the
// parameter names it has as a model: "features.0.weight").
template <class Spec, class InShape>
struct gradcheck_model {
  using type = ctnn::Sequential<ref, typename input_of<InShape>::type, Spec>;
};
template <class... L, class InShape>
struct gradcheck_model<ctnn::Block<L...>, InShape> {
  using type = ctnn::Sequential<ref, typename input_of<InShape>::type, L...>;
};

namespace detail {

inline double derivative_error(double analytic, double numeric) {
  return std::abs(analytic - numeric) / std::max({std::abs(analytic), std::abs(numeric), 1.0});
}

// Largest error over one tensor; every failing element is reported with its name and index.
inline double compare(const std::string& name, const std::vector<double>& analytic, const std::vector<double>& numeric) {
  double worst = 0;
  REQUIRE(analytic.size() == numeric.size());
  for (std::size_t i = 0; i < analytic.size(); ++i) {
    const double err = derivative_error(analytic[i], numeric[i]);
    if (!(err <= gradcheck_tolerance))
      FAIL_CHECK("d/d " << name << "[" << i << "]: analytic " << analytic[i] << ", numeric " << numeric[i]
                        << ", error " << err);
    worst = std::max(worst, std::isnan(err) ? std::numeric_limits<double>::infinity() : err);
  }
  return worst;
}

inline void report(const std::string& what, double worst) {
  if (std::getenv("CTNN_GRADCHECK_REPORT")) std::printf("gradcheck %-60s max error %.3e\n", what.c_str(), worst);
}

// randn values, spread to a minimum gap of `gap` and pushed at least `margin` away from zero.
inline void spread_values(double* x, std::size_t n, double gap = 1e-3, double margin = 0.05) {
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return x[a] < x[b]; });
  for (std::size_t k = 1; k < n; ++k)
    if (x[order[k]] < x[order[k - 1]] + gap) x[order[k]] = x[order[k - 1]] + gap;
  for (std::size_t i = 0; i < n; ++i) x[i] += x[i] >= 0 ? margin : -margin;
}

template <class Batch>
double dot(const Batch& y, const Batch& r) {
  double acc = 0;
  for (std::size_t i = 0; i < y.size(); ++i) acc += y.data()[i] * r.data()[i];
  return acc;
}

template <class Model>
ctnn::Parameter<ref>& parameter_at(Model& m, std::size_t index) {
  ctnn::Parameter<ref>* found = nullptr;
  std::size_t k = 0;
  m.visit_parameters([&](ctnn::Parameter<ref>& p) {
    if (k++ == index) found = &p;
  });
  REQUIRE(found != nullptr);
  return *found;
}

template <class T>
std::string type_label() {
#if defined(__GNUC__)
  std::string s = __PRETTY_FUNCTION__;
  const auto at = s.find("T = ");
  if (at != std::string::npos) s = s.substr(at + 4, s.find_first_of(";]", at) - at - 4);
  return s;
#else
  return "layer";
#endif
}

}  // namespace detail

// Checks dL/dx and dL/dparam of gradcheck_model<Spec, InShape> for L = sum(y * R).
template <class Spec, class InShape>
double check_layer_gradients(std::size_t batch = 3, std::uint64_t seed = 1, Mode mode = Mode::eval) {
  using Model = typename gradcheck_model<Spec, InShape>::type;
  using ops = ctnn::backend::ops<ref>;
  using Out = typename Model::output_shape;
  const std::string label = detail::type_label<Spec>() + " on " + InShape::str() + (mode == Mode::train ? " (train)" : "");
  INFO("gradient check of " << label);

  ctnn::Generator init{seed};
  Model model{init};
  if (mode == Mode::eval) model.eval();
  else model.train();
  const Model pristine = model;  // every numerical evaluation starts from this state

  ctnn::Generator data{seed * 7919 + 17};
  ctnn::Batch<InShape, ref> x(batch);
  ops::fill_normal(x.size(), x.data(), 0.0, 1.0, data);
  detail::spread_values(x.data(), x.size());
  ctnn::Batch<Out, ref> r(batch);
  ops::fill_normal(r.size(), r.data(), 0.0, 1.0, data);

  // Analytic.
  model.zero_grad();
  model.forward(x);
  const auto& dx_batch = model.backward(r);
  const std::vector<double> dx(dx_batch.data(), dx_batch.data() + dx_batch.size());
  std::vector<std::vector<double>> dparams;
  std::vector<std::string> names;
  model.visit_parameters([&](ctnn::Parameter<ref>& p) {
    dparams.emplace_back(p.grad.data(), p.grad.data() + p.size());
    names.push_back(p.name.empty() ? "parameter" : p.name);
  });

  auto loss_at = [&](const ctnn::Batch<InShape, ref>& input, auto&& change) {
    Model m = pristine;
    change(m);
    return detail::dot(m.forward(input), r);
  };
  const double eps = gradcheck_eps;

  // Numeric dL/dx.
  std::vector<double> ndx(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    ctnn::Batch<InShape, ref> xp = x, xm = x;
    xp.data()[i] += eps;
    xm.data()[i] -= eps;
    ndx[i] = (loss_at(xp, [](Model&) {}) - loss_at(xm, [](Model&) {})) / (2 * eps);
  }
  double worst = detail::compare("input", dx, ndx);

  // Numeric dL/dparam.
  for (std::size_t k = 0; k < dparams.size(); ++k) {
    std::vector<double> nd(dparams[k].size());
    for (std::size_t j = 0; j < nd.size(); ++j) {
      const double plus = loss_at(x, [&](Model& m) { detail::parameter_at(m, k).value.data()[j] += eps; });
      const double minus = loss_at(x, [&](Model& m) { detail::parameter_at(m, k).value.data()[j] -= eps; });
      nd[j] = (plus - minus) / (2 * eps);
    }
    worst = std::max(worst, detail::compare(names[k], dparams[k], nd));
  }
  CHECK(dparams.size() == names.size());
  std::size_t total = 0;
  for (const auto& d : dparams) total += d.size();
  CHECK(total == Model::parameter_count);
  CHECK(worst <= gradcheck_tolerance);
  detail::report(label, worst);
  return worst;
}

// Checks loss.grad() against central differences of the loss value at `pred`.
template <class Loss, class Pred, class Target>
double check_loss_gradients(const Pred& pred, const Target& target, ctnn::Reduction reduction = ctnn::Reduction::mean) {
  const std::string label = detail::type_label<Loss>() + (reduction == ctnn::Reduction::mean ? " (mean)" : " (sum)");
  INFO("gradient check of " << label);
  Loss loss{reduction};
  REQUIRE(loss.reduction() == reduction);
  const double value = loss(pred, target);
  CHECK(std::isfinite(value));
  const ctnn::GradientView<ref> g = loss.grad();
  REQUIRE(g.batch_size == pred.batch_size());
  REQUIRE(g.per_sample == Pred::sample_size);
  const std::vector<double> analytic(g.data, g.data + g.batch_size * g.per_sample);

  std::vector<double> numeric(pred.size());
  for (std::size_t i = 0; i < pred.size(); ++i) {
    Pred pp = pred, pm = pred;
    pp.data()[i] += gradcheck_eps;
    pm.data()[i] -= gradcheck_eps;
    Loss l{reduction};
    const double plus = l(pp, target);
    const double minus = l(pm, target);
    numeric[i] = (plus - minus) / (2 * gradcheck_eps);
  }
  // The value of the first call did not change by evaluating others.
  CHECK(Loss{reduction}(pred, target) == value);
  const double worst = detail::compare("prediction", analytic, numeric);
  CHECK(worst <= gradcheck_tolerance);
  detail::report(label, worst);
  return worst;
}

}  // namespace ctnn_test
