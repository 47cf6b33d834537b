#pragma once
// Losses with PyTorch's definitions and reductions. A loss is called like a function and keeps the
// gradient of its last value w.r.t. the prediction, ready for Sequential::backward:
//   CrossEntropyLoss loss_fn;                     // Reduction::mean by default
//   auto loss = loss_fn(logits, labels);
//   model.backward(loss_fn.grad());
// Gradient buffers are reused between calls: a training loop does not allocate here.
// The backend: `CrossEntropyLoss loss_fn;` takes it from the batches of each call (eigen, thrust, cuda
// alike: the buffers are made on the first call); `CrossEntropyLoss<backend::reference> loss_fn;` fixes
// it. grad() is the last call's, valid until the next call (docs/lifetimes.md).
//
// Bad values. The rule: where PyTorch raises, or where its loss would be NaN, ctnn throws a ctnn::error
// that names the loss, the offending element's index and its value; where PyTorch's loss is a number
// (finite or infinite), ctnn returns the same number and gradient. In detail:
//   BCELoss            an input outside [0, 1] or NaN throws, as PyTorch does ("all elements of input
//                      should be between 0 and 1"); exact 0 and 1 stay finite through PyTorch's -100
//                      clamp of the logs (loss 100 for the wrong class). Targets are not range-checked
//                      (PyTorch does not: t = 1.1 is a number there too); a NaN or infinite target
//                      makes PyTorch's loss NaN and throws here.
//   BCEWithLogitsLoss  a NaN or infinite logit throws. PyTorch gives NaN for -inf (any target) and for
//                      +inf with target 1, and inf for +inf otherwise; an infinite logit never has a
//                      finite loss there, so ctnn refuses them all rather than return inf for some.
//   CrossEntropyLoss   a NaN or +inf logit, or a row whose logits are all -inf, throws (PyTorch: NaN loss
//                      and NaN gradient for the whole batch). Other -inf logits (a mask) are PyTorch's
//                      numbers: a finite loss, and inf where the label's own logit is -inf; the gradient
//                      stays finite (softmax - onehot).
//   NLLLoss, MSELoss, L1Loss  a NaN loss throws, naming the element that made it; an infinite loss is
//                      returned, as PyTorch returns it.
// The checks cost no extra pass: the elementwise value functors turn a value outside the domain into a
// NaN term and the loss's sum (which the reduction needs anyway) is then NaN; the fused cross-entropy's
// total is finite unless a logit is NaN or +inf, a row is all -inf or a label's own logit is -inf.
// Only a non-finite total makes the loss copy its inputs to the host to find the culprit. With anomaly mode on (anomaly.hpp) an infinite loss throws too; train_step
// (train/engine.hpp) refuses to train on a NaN or infinite loss in any case.
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "../core/config.hpp"
#include "../tensor/batch.hpp"
#include "anomaly.hpp"
#include "real_parameter.hpp"

namespace ctnn {

// PyTorch's reduction strings: 'mean' (over every element), 'sum', and KLDivLoss's 'batchmean' (the
// sum over the batch size, the KL divergence's mathematical definition; the other losses refuse it, as
// PyTorch does).
enum class Reduction { mean, sum, batchmean };

// The backend argument of a loss that takes it from its arguments (the default, see below).
struct deduced_backend {};

// nn.CrossEntropyLoss's arguments, in PyTorch's order:
//   CrossEntropyLoss loss_fn{{.weight = {1, 2, 1}, .label_smoothing = 0.1}};
// weight: one per class (empty: all 1); the mean divides by the sum of the targets' weights, as PyTorch.
// ignore_index: samples whose label is this value add nothing and do not count in the mean. Unset by
// default (PyTorch's default is -100): a label outside [0, C) is then an error rather than ignored.
// label_smoothing: the target is (1 - e) onehot + e / C, PyTorch's formula with weights included.
struct CrossEntropyOptions {
  std::vector<double> weight{};
  std::optional<std::int64_t> ignore_index{};
  Reduction reduction = Reduction::mean;
  double label_smoothing = 0.0;
};

namespace detail {

inline void check_reduction(std::string_view name, Reduction reduction, bool batchmean_allowed) {
  if (reduction == Reduction::batchmean && !batchmean_allowed)
    throw error(cat(name, ": reduction 'batchmean' is KLDivLoss's only (use Reduction::mean or Reduction::sum)"));
}

template <Backend B>
class loss_base {
 public:
  using scalar = scalar_t<B>;
  using ops = backend::ops<B>;

  loss_base(Reduction reduction, std::string_view name, bool batchmean_allowed = false) : reduction_(reduction) {
    check_reduction(name, reduction, batchmean_allowed);
  }
  Reduction reduction() const { return reduction_; }

  // dLoss/dPrediction of the last call, for Sequential::backward.
  GradientView<B> grad() const { return {grad_.data(), batch_, per_sample_}; }

 protected:
  void prepare(std::size_t batch, std::size_t per_sample) {
    if (batch == 0) throw error("loss: the batch is empty");
    batch_ = batch;
    per_sample_ = per_sample;
    if (grad_.size() < batch * per_sample) grad_.resize(batch * per_sample);
    if (work_.size() < batch * per_sample) work_.resize(batch * per_sample);
  }
  // The reduced loss. When the total is not finite, diagnose(total) looks at the inputs and throws
  // where they are outside the loss's domain; a NaN that survives it throws here, an infinity is
  // returned (as PyTorch returns it) unless anomaly mode is on.
  template <class Diagnose>
  scalar finish(double total, std::size_t count, std::string_view name, Diagnose&& diagnose) const {
    const double value = reduction_ == Reduction::mean        ? total / static_cast<double>(count)
                         : reduction_ == Reduction::batchmean ? total / static_cast<double>(batch_)
                                                              : total;
    if (!std::isfinite(value)) {
      diagnose(total);
      if (std::isnan(value)) throw error(cat(name, ": the loss is NaN (the predictions or targets contain NaN or infinity)"));
      if (is_anomaly_enabled()) throw error(cat("detect_anomaly: ", name, ": the loss is ", value));
    }
    return static_cast<scalar>(value);
  }
  scalar scale(std::size_t count) const {
    if (reduction_ == Reduction::mean) return scalar(1) / static_cast<scalar>(count);
    if (reduction_ == Reduction::batchmean) return scalar(1) / static_cast<scalar>(batch_);
    return scalar(1);
  }
  template <class Prediction, class Target>
  static void check_batches(const Prediction& p, const Target& t, std::string_view name) {
    if (p.batch_size() != t.batch_size())
      throw error(cat(name, ": ", p.batch_size(), " predictions but ", t.batch_size(), " targets"));
  }

  Reduction reduction_;
  buffer_t<B> grad_;
  buffer_t<B> work_;
  std::size_t batch_ = 0, per_sample_ = 0;
};

inline void check_options(std::string_view name, const CrossEntropyOptions& o) {
  check_reduction(name, o.reduction, false);
  if (!(o.label_smoothing >= 0.0 && o.label_smoothing <= 1.0))
    throw error(cat(name, ": label_smoothing must be between 0.0 and 1.0, got ", o.label_smoothing));
  for (std::size_t c = 0; c < o.weight.size(); ++c)
    if (!std::isfinite(o.weight[c])) throw error(cat(name, ": weight[", c, "] is ", o.weight[c], ": class weights must be finite"));
}

template <class Functions>
inline constexpr bool allows_batchmean = requires { requires Functions::batchmean; };

// Elementwise losses: value(p, t) summed, and grad(p, t) times the reduction's scale.
template <Backend B, class Functions, fixed_string Name>
class elementwise_loss : public loss_base<B> {
  using base = loss_base<B>;
  using typename base::ops;

 public:
  using typename base::scalar;
  explicit elementwise_loss(Reduction reduction = Reduction::mean)
      : base(reduction, Name.view(), allows_batchmean<Functions>) {}

  static constexpr std::string_view name = Name.view();

  template <class S>
  scalar operator()(const Batch<S, B>& prediction, const Batch<S, B>& target) {
    base::check_batches(prediction, target, Name.view());
    const std::size_t n = prediction.size();
    this->prepare(prediction.batch_size(), S::size);
    ops::zip(n, prediction.data(), target.data(), this->work_.data(), typename Functions::value{});
    const scalar k = this->scale(n);
    ops::zip(n, prediction.data(), target.data(), this->grad_.data(), typename Functions::grad{k});
    return this->finish(ops::sum(n, this->work_.data()), n, Name.view(), [&](double) { diagnose(prediction, target); });
  }

 private:
  // The first element whose term is NaN, and why (off the training path: host copies are fine here).
  template <class S>
  void diagnose(const Batch<S, B>& prediction, const Batch<S, B>& target) const {
    const std::size_t n = prediction.size();
    const auto terms = host_copy<B>(this->work_.data(), n);
    for (std::size_t i = 0; i < n; ++i) {
      if (!std::isnan(terms[i])) continue;
      scalar p{}, t{};
      ops::to_host(1, prediction.data() + i, &p);
      ops::to_host(1, target.data() + i, &t);
      const std::string at = index_string(i, batch_dims<S>(prediction.batch_size()));
      Functions::diagnose(Name.view(), at, static_cast<double>(p), static_cast<double>(t));
      throw error(cat(Name.view(), ": the loss is NaN: input", at, " is ", p, ", target", at, " is ", t));
    }
  }
};

// Common diagnosis: a NaN or infinite target (the element's term is NaN although its input is fine).
inline void diagnose_target(std::string_view name, const std::string& at, double t) {
  if (!std::isfinite(t)) throw error(cat(name, ": target", at, " is ", t, ": the loss would be NaN"));
}

struct mse_functions {
  struct value {
    template <class T>
    CTNN_HD T operator()(T p, T t) const { return (p - t) * (p - t); }
  };
  struct grad {
    double k;
    template <class T>
    CTNN_HD T operator()(T p, T t) const { return T(2) * (p - t) * static_cast<T>(k); }
  };
  static void diagnose(std::string_view, const std::string&, double, double) {}  // the generic message
};
struct l1_functions {
  struct value {
    template <class T>
    CTNN_HD T operator()(T p, T t) const { return p > t ? p - t : t - p; }
  };
  struct grad {
    double k;
    template <class T>
    CTNN_HD T operator()(T p, T t) const { return p > t ? static_cast<T>(k) : (p < t ? -static_cast<T>(k) : T(0)); }
  };
  static void diagnose(std::string_view, const std::string&, double, double) {}  // the generic message
};
// PyTorch clamps each log at -100 so that p = 0 or 1 gives a finite loss, and divides the gradient
// by max(p (1 - p), 1e-12f). An input outside [0, 1] (or NaN) makes its term NaN, which the loss
// reports as PyTorch does.
struct bce_functions {
  struct value {
    template <class T>
    CTNN_HD T operator()(T p, T t) const {
      if (!(p >= T(0) && p <= T(1))) return std::sqrt(T(-1));  // NaN: outside the domain, see diagnose
      const T log_p = std::log(p) > T(-100) ? std::log(p) : T(-100);
      const T log_q = std::log(T(1) - p) > T(-100) ? std::log(T(1) - p) : T(-100);
      return -(t * log_p + (T(1) - t) * log_q);
    }
  };
  struct grad {
    double k;
    template <class T>
    CTNN_HD T operator()(T p, T t) const {
      const T epsilon = static_cast<T>(1e-12f);  // PyTorch's EPSILON is a float, also for double tensors
      const T denom = (T(1) - p) * p > epsilon ? (T(1) - p) * p : epsilon;
      return (p - t) / denom * static_cast<T>(k);
    }
  };
  static void diagnose(std::string_view name, const std::string& at, double p, double t) {
    if (!(p >= 0 && p <= 1))
      throw error(cat(name, ": all elements of input should be between 0 and 1 (as in PyTorch), but input", at,
                      " is ", p));
    diagnose_target(name, at, t);
  }
};
// Stable form: max(x, 0) - x t + log(1 + exp(-|x|)). A NaN or infinite logit makes its term NaN
// (x - x), which the loss reports.
struct bce_logits_functions {
  struct value {
    template <class T>
    CTNN_HD T operator()(T x, T t) const {
      const T abs_x = x > T(0) ? x : -x;
      return (x > T(0) ? x : T(0)) - x * t + std::log1p(std::exp(-abs_x)) + (x - x);
    }
  };
  struct grad {
    double k;
    template <class T>
    CTNN_HD T operator()(T x, T t) const { return (T(1) / (T(1) + std::exp(-x)) - t) * static_cast<T>(k); }
  };
  static void diagnose(std::string_view name, const std::string& at, double x, double t) {
    if (!std::isfinite(x))
      throw error(cat(name, ": input", at, " is ", x,
                      ": an infinite or NaN logit has no finite loss (PyTorch gives inf or NaN); ctnn requires finite "
                      "logits"));
    diagnose_target(name, at, t);
  }
};

// PyTorch's huber_loss: quadratic within Delta of the target, linear beyond, the gradient clamped to
// [-Delta, Delta]. A NaN in either argument makes the term NaN, which the loss reports.
template <real_parameter Delta>
struct huber_functions {
  struct value {
    template <class T>
    CTNN_HD T operator()(T p, T t) const {
      const T z = p > t ? p - t : t - p;
      const T delta = static_cast<T>(Delta);
      return z < delta ? T(0.5) * z * z : delta * (z - T(0.5) * delta);
    }
  };
  struct grad {
    double k;
    template <class T>
    CTNN_HD T operator()(T p, T t) const {
      const T d = p - t, delta = static_cast<T>(Delta);
      return (d < -delta ? -delta : (d > delta ? delta : d)) * static_cast<T>(k);
    }
  };
  static void diagnose(std::string_view, const std::string&, double, double) {}  // the generic message
};
// PyTorch's smooth_l1_loss: HuberLoss divided by Beta (0.5 d^2 / Beta within Beta, |d| - Beta / 2
// beyond); Beta = 0 is L1Loss, whose gradient at d = 0 is 0.
template <real_parameter Beta>
struct smooth_l1_functions {
  struct value {
    template <class T>
    CTNN_HD T operator()(T p, T t) const {
      const T z = p > t ? p - t : t - p;
      const T beta = static_cast<T>(Beta);
      return z < beta ? T(0.5) * z * z / beta : z - T(0.5) * beta;
    }
  };
  struct grad {
    double k;
    template <class T>
    CTNN_HD T operator()(T p, T t) const {
      const T d = p - t, beta = static_cast<T>(Beta);
      const T g = d < -beta ? T(-1) : (d > beta ? T(1) : (beta > T(0) ? d / beta : T(0)));
      return g * static_cast<T>(k);
    }
  };
  static void diagnose(std::string_view, const std::string&, double, double) {}  // the generic message
};
// PyTorch's kl_div: the input is log-probabilities; the target probabilities, with t log t = 0 at t = 0
// (xlogy), or with LogTarget log-probabilities: exp(t) (t - x). d/dx is -t, or -exp(t).
template <bool LogTarget>
struct kl_div_functions {
  static constexpr bool batchmean = true;
  struct value {
    template <class T>
    CTNN_HD T operator()(T x, T t) const {
      if constexpr (LogTarget) return std::exp(t) * (t - x);
      else {
        if (t < T(0) || t != t) return std::sqrt(T(-1));  // NaN: log of a negative target, see diagnose
        return (t > T(0) ? t * std::log(t) : T(0)) - t * x;
      }
    }
  };
  struct grad {
    double k;
    template <class T>
    CTNN_HD T operator()(T, T t) const {
      if constexpr (LogTarget) return -std::exp(t) * static_cast<T>(k);
      else return -t * static_cast<T>(k);
    }
  };
  static void diagnose(std::string_view name, const std::string& at, double, double t) {
    if (!LogTarget && t < 0)
      throw error(cat(name, ": target", at, " is ", t,
                      ": a probability target must be >= 0 (PyTorch's loss would be NaN); pass log-probabilities "
                      "with log_target = true"));
    diagnose_target(name, at, t);
  }
};

// Losses over class indices: fused in one backend op with their gradient.
template <Backend B, bool FromLogits, fixed_string Name>
class class_index_loss : public loss_base<B> {
  using base = loss_base<B>;
  using typename base::ops;

 public:
  using typename base::scalar;
  explicit class_index_loss(Reduction reduction = Reduction::mean) : base(reduction, Name.view()) {}
  explicit class_index_loss(CrossEntropyOptions options)
    requires FromLogits
      : base(options.reduction, Name.view()), options_(std::move(options)) {
    check_options(Name.view(), options_);
  }

  static constexpr std::string_view name = Name.view();
  const CrossEntropyOptions& options() const { return options_; }

  template <std::size_t Classes>
  scalar operator()(const Batch<Shape<Classes>, B>& prediction, const Labels<B>& target) {
    base::check_batches(prediction, target, Name.view());
    const std::size_t n = prediction.batch_size();
    this->prepare(n, Classes);
    if constexpr (FromLogits)
      if (!options_.weight.empty() || options_.ignore_index || options_.label_smoothing > 0.0)
        return with_options<Classes>(prediction, target);
    const scalar k = this->scale(n);
    double total;
    if constexpr (FromLogits)
      total = ops::cross_entropy(n, Classes, prediction.data(), target.data(), this->grad_.data(), k);
    else
      total = ops::nll(n, Classes, prediction.data(), target.data(), this->grad_.data(), k);
    return this->finish(total, n, Name.view(), [&](double) { diagnose(prediction, target); });
  }

 private:
  // Class weights, ignore_index and label smoothing, in double on the host: one copy of the logits and
  // labels there and of the gradient back (a batch of C logits per sample: small next to the model's
  // work; the fused op covers the plain loss). PyTorch's formula: with p = softmax(x), w the weights
  // and e the smoothing, each kept sample adds (1 - e) w_y (-log p_y) + (e / C) sum_c w_c (-log p_c);
  // mean divides both by sum w_y over the kept samples. d/dx = (1 - e) w_y (p - onehot_y) + (e / C)
  // (sum_c w_c p - w).
  template <std::size_t Classes>
  scalar with_options(const Batch<Shape<Classes>, B>& prediction, const Labels<B>& target) {
    const std::size_t n = prediction.batch_size();
    if (!options_.weight.empty() && options_.weight.size() != Classes)
      throw error(cat(Name.view(), ": ", options_.weight.size(), " class weights for ", Classes,
                      " classes (weight must have one value per class)"));
    const auto x = host_copy<B>(prediction.data(), n * Classes);
    const auto labels = host_copy<B>(target.data(), n);
    const auto w = [&](std::size_t c) { return options_.weight.empty() ? 1.0 : options_.weight[c]; };
    double weight_total = 0;
    for (std::size_t c = 0; c < Classes; ++c) weight_total += w(c);
    const double e = options_.label_smoothing, share = e / static_cast<double>(Classes);
    std::vector<scalar> grad(n * Classes, scalar(0));
    std::vector<double> p(Classes);
    double total = 0, denominator = 0;
    for (std::size_t r = 0; r < n; ++r) {
      if (options_.ignore_index && labels[r] == *options_.ignore_index) continue;
      if (labels[r] < 0 || static_cast<std::size_t>(labels[r]) >= Classes)
        throw error(cat(Name.view(), ": label ", labels[r], " of sample ", r, " is out of range: the model has ",
                        Classes, " classes (0 to ", Classes - 1, ")",
                        options_.ignore_index ? cat(" and ignore_index is ", *options_.ignore_index) : std::string()));
      const auto y = static_cast<std::size_t>(labels[r]);
      const scalar* xr = x.data() + r * Classes;
      double top = xr[0];
      for (std::size_t c = 1; c < Classes; ++c) top = std::max(top, static_cast<double>(xr[c]));
      double z = 0;
      for (std::size_t c = 0; c < Classes; ++c) z += std::exp(static_cast<double>(xr[c]) - top);
      const double lse = top + std::log(z);
      double smooth = 0;
      for (std::size_t c = 0; c < Classes; ++c) {
        p[c] = std::exp(static_cast<double>(xr[c]) - lse);
        if (share > 0) smooth += w(c) * (lse - static_cast<double>(xr[c]));
      }
      total += (1 - e) * w(y) * (lse - static_cast<double>(xr[y])) + share * smooth;
      denominator += w(y);
      for (std::size_t c = 0; c < Classes; ++c) {
        const double g = (1 - e) * w(y) * (p[c] - (c == y ? 1.0 : 0.0)) + share * (weight_total * p[c] - w(c));
        grad[r * Classes + c] = static_cast<scalar>(g);
      }
    }
    if (this->reduction_ == Reduction::mean && denominator == 0)
      throw error(cat(Name.view(), ": the mean is over no samples (every label is ignore_index, or the targets' ",
                      "weights sum to 0): PyTorch's loss would be NaN"));
    const double k = this->reduction_ == Reduction::mean ? 1.0 / denominator : 1.0;
    for (auto& g : grad) g = static_cast<scalar>(static_cast<double>(g) * k);
    ops::from_host(grad.size(), grad.data(), this->grad_.data());
    const double value = total * k;
    if (!std::isfinite(value)) {
      diagnose(prediction, target);
      if (std::isnan(value)) throw error(cat(Name.view(), ": the loss is NaN"));
      if (is_anomaly_enabled()) throw error(cat("detect_anomaly: ", Name.view(), ": the loss is ", value));
    }
    return static_cast<scalar>(value);
  }

  CrossEntropyOptions options_{};

  // Where a non-finite total came from (off the training path: host copies are fine here).
  template <std::size_t Classes>
  static void diagnose(const Batch<Shape<Classes>, B>& prediction, const Labels<B>& target) {
    const std::size_t n = prediction.batch_size();
    const auto x = host_copy<B>(prediction.data(), n * Classes);
    const std::vector<std::size_t> dims{n, Classes};
    if constexpr (FromLogits) {
      for (std::size_t r = 0; r < n; ++r) {
        bool any_finite = false;
        for (std::size_t c = 0; c < Classes; ++c) {
          const scalar v = x[r * Classes + c];
          if (std::isnan(v) || (std::isinf(v) && v > 0))
            throw error(cat(Name.view(), ": input", index_string(r * Classes + c, dims), " is ", v,
                            ": PyTorch's loss would be NaN (a logit must be finite or -inf)"));
          any_finite = any_finite || std::isfinite(v);
        }
        if (!any_finite)
          throw error(cat(Name.view(), ": every logit of sample ", r,
                          " is -inf: its softmax is undefined (PyTorch's loss would be NaN)"));
      }
    } else {
      const auto labels = host_copy<B>(target.data(), n);
      for (std::size_t r = 0; r < n; ++r) {
        const std::size_t i = r * Classes + static_cast<std::size_t>(labels[r]);  // labels were checked
        if (std::isnan(x[i]))
          throw error(cat(Name.view(), ": the loss is NaN: input", index_string(i, dims), " (the label's log-probability) is nan"));
      }
    }
  }
};

// A loss declared without a backend (CrossEntropyLoss loss_fn;) takes it from the batches it is called
// with: its state (the gradient buffers of a typed loss) is made on the first call, for that call's
// backend, and made anew if a later call comes on another backend. grad() hands back a view that
// converts to the GradientView<B> a model's backward takes, and throws a ctnn::error if B is not the
// backend of the last call (the gradient would be another device's memory).
// What a kind's typed loss is constructed from: its Reduction, or an options struct (CrossEntropyOptions).
template <class Kind>
struct kind_options {
  using type = Reduction;
};
template <class Kind>
  requires requires { typename Kind::options; }
struct kind_options<Kind> {
  using type = typename Kind::options;
};

template <class Kind>
class deferred_loss {
  template <Backend B>
  using typed = typename Kind::template loss<B>;
  using options_type = typename kind_options<Kind>::type;
  static constexpr bool has_options = !std::is_same_v<options_type, Reduction>;
  static options_type from_reduction(Reduction reduction) {
    if constexpr (has_options) {
      options_type o{};
      o.reduction = reduction;
      return o;
    } else {
      return reduction;
    }
  }

  // Whether the typed loss takes these arguments (so concepts can ask, train/concepts.hpp); batches
  // of two backends pass here and are reported by name in operator().
  template <class P, class T>
  static constexpr bool callable() {
    if constexpr (!requires {
                    typename P::backend_type;
                    typename T::backend_type;
                  })
      return false;
    else if constexpr (!std::is_same_v<typename P::backend_type, typename T::backend_type>)
      return true;
    else
      return requires(typed<typename P::backend_type>& loss, const P& p, const T& t) { loss(p, t); };
  }

  struct state_base {
    virtual ~state_base() = default;
    virtual std::string_view backend_name() const = 0;
  };
  template <Backend B>
  struct state final : state_base {
    explicit state(const options_type& options) : loss(options) {}
    std::string_view backend_name() const override { return B::name; }
    typed<B> loss;
  };

 public:
  static constexpr std::string_view name = Kind::name;

  explicit deferred_loss(Reduction reduction = Reduction::mean) : options_(from_reduction(reduction)) {
    check_reduction(name, reduction, allows_batchmean<Kind>);
  }
  // The options are checked here too, so that bad ones fail at construction rather than at the first call.
  explicit deferred_loss(options_type options)
    requires has_options
      : options_(std::move(options)) {
    check_options(name, options_);
  }
  // A copy has the options and no last gradient (like a fresh loss: a loss's value is its function).
  deferred_loss(const deferred_loss& other) : options_(other.options_) {}
  deferred_loss& operator=(const deferred_loss& other) {
    options_ = other.options_;
    state_.reset();
    return *this;
  }
  deferred_loss(deferred_loss&&) noexcept = default;
  deferred_loss& operator=(deferred_loss&&) noexcept = default;

  Reduction reduction() const {
    if constexpr (has_options) return options_.reduction;
    else return options_;
  }

  template <class Prediction, class Target>
    requires(callable<Prediction, Target>())
  auto operator()(const Prediction& prediction, const Target& target) {
    using B = typename Prediction::backend_type;
    using BT = typename Target::backend_type;
    static_assert(diagnostic::require<std::is_same_v<B, BT>, diagnostic::TENSORS_ON_DIFFERENT_BACKENDS<
                                                                diagnostic::lhs<B>, diagnostic::rhs<BT>>>::value);
    auto* s = dynamic_cast<state<B>*>(state_.get());
    if (!s) {
      auto fresh = std::make_unique<state<B>>(options_);
      s = fresh.get();
      state_ = std::move(fresh);
    }
    return s->loss(prediction, target);
  }

  // dLoss/dPrediction of the last call, as the GradientView<B> of that call's backend.
  class gradient {
   public:
    explicit gradient(const deferred_loss* loss) : loss_(loss) {}
    template <Backend B>
    operator GradientView<B>() const {
      if (!loss_->state_) throw error(cat(name, ": grad() before the loss was computed"));
      const auto* s = dynamic_cast<const state<B>*>(loss_->state_.get());
      if (!s)
        throw error(cat(name, ": grad() asked for on backend ", B::name, " but the last loss was computed on ",
                        loss_->state_->backend_name()));
      return s->loss.grad();
    }

   private:
    const deferred_loss* loss_;
  };
  gradient grad() const { return gradient{this}; }

 private:
  options_type options_;
  std::unique_ptr<state_base> state_;
};

// Which typed loss each public name is (a kind type rather than a template template argument: clang
// 14 crashes matching constrained template template parameters).
struct cross_entropy_kind {
  using options = CrossEntropyOptions;
  template <Backend B>
  using loss = class_index_loss<B, true, "CrossEntropyLoss">;
  static constexpr std::string_view name = "CrossEntropyLoss";
};
struct nll_kind {
  template <Backend B>
  using loss = class_index_loss<B, false, "NLLLoss">;
  static constexpr std::string_view name = "NLLLoss";
};
struct bce_kind {
  template <Backend B>
  using loss = elementwise_loss<B, bce_functions, "BCELoss">;
  static constexpr std::string_view name = "BCELoss";
};
struct bce_logits_kind {
  template <Backend B>
  using loss = elementwise_loss<B, bce_logits_functions, "BCEWithLogitsLoss">;
  static constexpr std::string_view name = "BCEWithLogitsLoss";
};
struct mse_kind {
  template <Backend B>
  using loss = elementwise_loss<B, mse_functions, "MSELoss">;
  static constexpr std::string_view name = "MSELoss";
};
struct l1_kind {
  template <Backend B>
  using loss = elementwise_loss<B, l1_functions, "L1Loss">;
  static constexpr std::string_view name = "L1Loss";
};

template <real_parameter Delta>
struct huber_kind {
  template <Backend B>
  using loss = elementwise_loss<B, huber_functions<Delta>, "HuberLoss">;
  static constexpr std::string_view name = "HuberLoss";
};
template <real_parameter Beta>
struct smooth_l1_kind {
  template <Backend B>
  using loss = elementwise_loss<B, smooth_l1_functions<Beta>, "SmoothL1Loss">;
  static constexpr std::string_view name = "SmoothL1Loss";
};
template <bool LogTarget>
struct kl_div_kind {
  static constexpr bool batchmean = true;
  template <Backend B>
  using loss = elementwise_loss<B, kl_div_functions<LogTarget>, "KLDivLoss">;
  static constexpr std::string_view name = "KLDivLoss";
};

template <class B, class Kind>
struct loss_select {
  using type = typename Kind::template loss<B>;
};
template <class Kind>
struct loss_select<deduced_backend, Kind> {
  using type = deferred_loss<Kind>;
};
template <class B, class Kind>
using loss_for = typename loss_select<B, Kind>::type;

}  // namespace detail

// The public losses. Without a backend argument (CrossEntropyLoss loss_fn;) the backend is the one
// of the batches each call gets; CrossEntropyLoss<backend::thrust<>> fixes it (and a call on another
// backend does not compile).
// Logits [batch, C] and class indices; log-softmax and NLL in one stable step. Class weights,
// ignore_index and label_smoothing: CrossEntropyLoss{CrossEntropyOptions{...}}.
template <class B = deduced_backend>
struct CrossEntropyLoss : detail::loss_for<B, detail::cross_entropy_kind> {
  using base = detail::loss_for<B, detail::cross_entropy_kind>;
  using base::base;
};
// Log-probabilities [batch, C] (from LogSoftmax) and class indices.
template <class B = deduced_backend>
struct NLLLoss : detail::loss_for<B, detail::nll_kind> {
  using base = detail::loss_for<B, detail::nll_kind>;
  using base::base;
};
// Probabilities (from Sigmoid) and targets in [0, 1].
template <class B = deduced_backend>
struct BCELoss : detail::loss_for<B, detail::bce_kind> {
  using base = detail::loss_for<B, detail::bce_kind>;
  using base::base;
};
// Logits and targets in [0, 1]: Sigmoid + BCELoss without the loss of precision.
template <class B = deduced_backend>
struct BCEWithLogitsLoss : detail::loss_for<B, detail::bce_logits_kind> {
  using base = detail::loss_for<B, detail::bce_logits_kind>;
  using base::base;
};
template <class B = deduced_backend>
struct MSELoss : detail::loss_for<B, detail::mse_kind> {
  using base = detail::loss_for<B, detail::mse_kind>;
  using base::base;
};
template <class B = deduced_backend>
struct L1Loss : detail::loss_for<B, detail::l1_kind> {
  using base = detail::loss_for<B, detail::l1_kind>;
  using base::base;
};

// HuberLoss<Delta = 1>: PyTorch's nn.HuberLoss(delta=Delta), on predictions and targets of one shape.
template <real_parameter Delta = 1.0, class B = deduced_backend>
struct HuberLoss : detail::loss_for<B, detail::huber_kind<Delta>> {
  static_assert(real_value(Delta) > 0.0, "ctnn: HuberLoss<Delta> needs Delta > 0 (as PyTorch)");
  using base = detail::loss_for<B, detail::huber_kind<Delta>>;
  using base::base;
};
// SmoothL1Loss<Beta = 1>: PyTorch's nn.SmoothL1Loss(beta=Beta); Beta = 0 is L1Loss.
template <real_parameter Beta = 1.0, class B = deduced_backend>
struct SmoothL1Loss : detail::loss_for<B, detail::smooth_l1_kind<Beta>> {
  static_assert(real_value(Beta) >= 0.0, "ctnn: SmoothL1Loss<Beta> needs Beta >= 0 (as PyTorch)");
  using base = detail::loss_for<B, detail::smooth_l1_kind<Beta>>;
  using base::base;
};
// KLDivLoss<LogTarget = false>: PyTorch's nn.KLDivLoss(reduction, log_target); the input is
// log-probabilities (LogSoftmax's output). PyTorch's default reduction is 'mean' (over every element),
// kept here; Reduction::batchmean is the KL divergence per sample.
template <bool LogTarget = false, class B = deduced_backend>
struct KLDivLoss : detail::loss_for<B, detail::kl_div_kind<LogTarget>> {
  using base = detail::loss_for<B, detail::kl_div_kind<LogTarget>>;
  using base::base;
};

// CrossEntropyLoss loss_fn{Reduction::sum}; (inherited constructors give no deduction guides in C++20)
CrossEntropyLoss(Reduction) -> CrossEntropyLoss<deduced_backend>;
CrossEntropyLoss(CrossEntropyOptions) -> CrossEntropyLoss<deduced_backend>;
NLLLoss(Reduction) -> NLLLoss<deduced_backend>;
BCELoss(Reduction) -> BCELoss<deduced_backend>;
BCEWithLogitsLoss(Reduction) -> BCEWithLogitsLoss<deduced_backend>;
MSELoss(Reduction) -> MSELoss<deduced_backend>;
L1Loss(Reduction) -> L1Loss<deduced_backend>;
HuberLoss(Reduction) -> HuberLoss<>;
SmoothL1Loss(Reduction) -> SmoothL1Loss<>;
KLDivLoss(Reduction) -> KLDivLoss<>;

}  // namespace ctnn
