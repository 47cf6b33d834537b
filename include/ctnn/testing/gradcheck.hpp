#pragma once
// Gradient checks for layers and losses, built-in or your own (dlib's test_layer, torch.autograd.gradcheck):
// the analytic gradients of backward are compared with central differences, in double precision on
// backend::reference, whatever backend the layer is meant for.
//
//   #include <ctnn/testing/gradcheck.hpp>
//   const auto r = ctnn::testing::check_layer_gradients<Swish, ctnn::Shape<6>>();
//   if (!r) { std::cerr << r.report(); return 1; }
//       builds Sequential<backend::reference, Input<6>, Swish>, forms L = sum(y * R) for a fixed random R,
//       and compares dL/dx and dL/dparam (every Parameter the layer visits) with (L(v + eps) - L(v - eps)) / 2 eps.
//   ctnn::testing::check_loss_gradients<CrossEntropyLoss<>>(logits, labels, Reduction::sum);
//       compares loss.grad() with central differences of the loss value.
//
// The error of one derivative is |analytic - numeric| / max(|analytic|, |numeric|, 1): relative for
// derivatives of magnitude 1 and more, absolute below, where the rounding of L / (2 eps) (about 1e-10)
// would swamp a relative error. A result holds the largest error, every derivative over the tolerance
// with its tensor's name and index, and report() prints them.
//
// Kinks: the input is drawn from N(0, 1) and then spread so that any two values differ by at least
// 1e-3 and none lies within 0.05 of zero, so ReLU and MaxPool see no tie within eps of a kink. Each
// numerical evaluation runs on a copy of the untouched model, so a layer with state drawn in forward
// (Dropout in training) sees the very mask of the analytic pass: a layer must be copyable.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "../backend/reference.hpp"
#include "../nn/loss.hpp"
#include "../nn/sequential.hpp"

namespace ctnn::testing {

struct GradcheckOptions {
  std::size_t batch = 3;       // samples in the batch checked
  std::uint64_t seed = 1;      // the model's initialisation; the data come from a stream derived from it
  bool training = false;       // model.train() rather than model.eval() (Dropout's masks)
  double eps = 1e-6;           // the central-difference step
  double tolerance = 1e-6;     // largest derivative error that passes
};

// One derivative over the tolerance: d/d tensor[index].
struct GradientMismatch {
  std::string tensor;  // "input", "prediction" or the parameter's name ("0.weight")
  std::size_t index;
  double analytic, numeric, error;
};

struct GradcheckResult {
  std::string what;            // "Linear(in_features=5, ...) on [5]"
  double max_error = 0;
  double tolerance = 0;
  std::size_t derivatives = 0;  // how many were compared
  std::vector<GradientMismatch> mismatches;
  std::vector<std::string> problems;  // contract violations found on the way (parameter counts, NaN losses)

  bool passed() const { return mismatches.empty() && problems.empty() && max_error <= tolerance; }
  explicit operator bool() const { return passed(); }

  // "gradcheck Swish() on [6]: passed, 24 derivatives, max error 3.1e-10 (tolerance 1e-06)", then one
  // line per problem and per mismatch (the first max_lines of them).
  std::string report(std::size_t max_lines = 20) const {
    std::ostringstream os;
    os << "gradcheck " << what << ": " << (passed() ? "passed" : "FAILED") << ", " << derivatives
       << " derivatives, max error " << max_error << " (tolerance " << tolerance << ")\n";
    for (const auto& p : problems) os << "  " << p << "\n";
    for (std::size_t i = 0; i < mismatches.size() && i < max_lines; ++i) {
      const auto& m = mismatches[i];
      os << "  d/d " << m.tensor << "[" << m.index << "]: analytic " << m.analytic << ", numeric " << m.numeric
         << ", error " << m.error << "\n";
    }
    if (mismatches.size() > max_lines) os << "  ... and " << mismatches.size() - max_lines << " more\n";
    return os.str();
  }
};

inline double derivative_error(double analytic, double numeric) {
  return std::abs(analytic - numeric) / std::max({std::abs(analytic), std::abs(numeric), 1.0});
}

namespace detail {

using ref = backend::reference;

template <class S>
struct input_of;
template <std::size_t... D>
struct input_of<Shape<D...>> {
  using type = Input<D...>;
};

// The model a check builds: Sequential<reference, Input<In...>, Spec>, or for Spec = Block<L...>
// Sequential<reference, Input<In...>, L...> (a whole network, with the parameter names it has as a model).
template <class Spec, class In>
struct gradcheck_model {
  using type = Sequential<ref, typename input_of<In>::type, Spec>;
};
template <class... L, class In>
struct gradcheck_model<Block<L...>, In> {
  using type = Sequential<ref, typename input_of<In>::type, L...>;
};

template <class Spec>
std::string describe() {
  if constexpr (requires { Spec::repr(); }) return Spec::repr();
  else return std::string(Spec::type_name);
}

inline void compare(GradcheckResult& r, const std::string& name, const std::vector<double>& analytic,
                    const std::vector<double>& numeric) {
  for (std::size_t i = 0; i < analytic.size(); ++i) {
    double err = derivative_error(analytic[i], numeric[i]);
    if (std::isnan(err)) err = std::numeric_limits<double>::infinity();
    if (!(err <= r.tolerance)) r.mismatches.push_back({name, i, analytic[i], numeric[i], err});
    r.max_error = std::max(r.max_error, err);
  }
  r.derivatives += analytic.size();
}

// N(0, 1) values, spread to a minimum gap and pushed away from zero (see the header comment).
inline void spread_normal(double* x, std::size_t n, Generator& g, double gap = 1e-3, double margin = 0.05) {
  for (std::size_t i = 0; i < n; ++i) x[i] = g.normal();
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
Parameter<ref>* parameter_at(Model& m, std::size_t index) {
  Parameter<ref>* found = nullptr;
  std::size_t k = 0;
  m.visit_parameters([&](Parameter<ref>& p) {
    if (k++ == index) found = &p;
  });
  return found;
}

}  // namespace detail

// Checks dL/dx and dL/dparam of the layer Spec (or the network Block<...>) on per-sample input In.
template <class Spec, ShapeType In>
GradcheckResult check_layer_gradients(const GradcheckOptions& options = {}) {
  using ref = detail::ref;
  using Model = typename detail::gradcheck_model<Spec, In>::type;
  using Out = typename Model::output_shape;
  GradcheckResult result;
  result.what = detail::describe<Spec>() + " on " + In::str() + (options.training ? " (training)" : "");
  result.tolerance = options.tolerance;

  Generator init{options.seed};
  Model model{init};
  model.train(options.training);
  const Model pristine = model;  // every numerical evaluation starts from this state

  Generator data{options.seed * 7919 + 17};
  Batch<In, ref> x(options.batch);
  detail::spread_normal(x.data(), x.size(), data);
  Batch<Out, ref> r(options.batch);
  for (std::size_t i = 0; i < r.size(); ++i) r.data()[i] = data.normal();

  // Analytic.
  model.zero_grad();
  model.forward(x);
  const auto& dx_batch = model.backward(r);
  const std::vector<double> dx(dx_batch.data(), dx_batch.data() + dx_batch.size());
  std::vector<std::vector<double>> dparams;
  std::vector<std::string> names;
  std::size_t visited = 0;
  model.visit_parameters([&](Parameter<ref>& p) {
    dparams.emplace_back(p.grad.data(), p.grad.data() + p.size());
    names.push_back(p.name.empty() ? "parameter " + std::to_string(names.size()) : p.name);
    visited += p.size();
  });
  if (visited != Model::parameter_count)
    result.problems.push_back(cat("visit_parameters visits ", visited, " values but parameter_count is ",
                                  Model::parameter_count));

  const double eps = options.eps;
  auto loss_at = [&](const Batch<In, ref>& input, auto&& change) {
    Model m = pristine;
    change(m);
    return detail::dot(m.forward(input), r);
  };

  std::vector<double> ndx(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    Batch<In, ref> xp = x, xm = x;
    xp.data()[i] += eps;
    xm.data()[i] -= eps;
    ndx[i] = (loss_at(xp, [](Model&) {}) - loss_at(xm, [](Model&) {})) / (2 * eps);
  }
  detail::compare(result, "input", dx, ndx);

  for (std::size_t k = 0; k < dparams.size(); ++k) {
    std::vector<double> nd(dparams[k].size());
    for (std::size_t j = 0; j < nd.size(); ++j) {
      auto nudge = [&](double by) {
        return [&, by](Model& m) { detail::parameter_at(m, k)->value.data()[j] += by; };
      };
      nd[j] = (loss_at(x, nudge(eps)) - loss_at(x, nudge(-eps))) / (2 * eps);
    }
    detail::compare(result, names[k], dparams[k], nd);
  }
  return result;
}

// Checks loss.grad() against central differences of the loss value at `prediction` (Loss on
// backend::reference, e.g. CrossEntropyLoss<> or MSELoss<backend::reference>).
template <class Loss, class Prediction, class Target>
GradcheckResult check_loss_gradients(const Prediction& prediction, const Target& target,
                                     Reduction reduction = Reduction::mean, const GradcheckOptions& options = {}) {
  GradcheckResult result;
  result.what = cat(Loss::name, reduction == Reduction::mean ? " (mean)" : " (sum)");
  result.tolerance = options.tolerance;
  Loss loss{reduction};
  const double value = loss(prediction, target);
  if (!std::isfinite(value)) result.problems.push_back(cat("the loss is ", value));
  const GradientView<detail::ref> g = loss.grad();
  if (g.batch_size != prediction.batch_size() || g.per_sample != Prediction::sample_size) {
    result.problems.push_back(cat("grad() is for ", g.batch_size, " x ", g.per_sample, " values, the prediction has ",
                                  prediction.batch_size(), " x ", Prediction::sample_size));
    return result;
  }
  const std::vector<double> analytic(g.data, g.data + g.batch_size * g.per_sample);

  std::vector<double> numeric(prediction.size());
  for (std::size_t i = 0; i < prediction.size(); ++i) {
    Prediction pp = prediction, pm = prediction;
    pp.data()[i] += options.eps;
    pm.data()[i] -= options.eps;
    Loss l{reduction};
    const double plus = l(pp, target);
    const double minus = l(pm, target);
    numeric[i] = (plus - minus) / (2 * options.eps);
  }
  if (Loss{reduction}(prediction, target) != value)
    result.problems.push_back("the loss of the same values changed between calls");
  detail::compare(result, "prediction", analytic, numeric);
  return result;
}

}  // namespace ctnn::testing
