#pragma once
// Losses with PyTorch's definitions and reductions. A loss is called like a function and keeps the
// gradient of its last value w.r.t. the prediction, ready for Sequential::backward:
//   CrossEntropyLoss loss_fn;                     // Reduction::mean by default
//   auto loss = loss_fn(logits, labels);
//   model.backward(loss_fn.grad());
// Gradient buffers are reused between calls: a training loop does not allocate here.
// A NaN loss throws (it means the inputs already hold NaN or infinity; training on would be wasted).
#include <cmath>
#include <cstdint>
#include <string>

#include "../core/config.hpp"
#include "../tensor/batch.hpp"

namespace ctnn {

enum class Reduction { mean, sum };

namespace detail {

template <Backend B>
class loss_base {
 public:
  using scalar = scalar_t<B>;
  using ops = backend::ops<B>;

  explicit loss_base(Reduction reduction) : reduction_(reduction) {}
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
  scalar finish(double total, std::size_t count, std::string_view name) const {
    const double value = reduction_ == Reduction::mean ? total / static_cast<double>(count) : total;
    if (std::isnan(value)) throw error(cat(name, ": the loss is NaN (the predictions or targets contain NaN or infinity)"));
    return static_cast<scalar>(value);
  }
  scalar scale(std::size_t count) const {
    return reduction_ == Reduction::mean ? scalar(1) / static_cast<scalar>(count) : scalar(1);
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

// Elementwise losses: value(p, t) summed, and grad(p, t) times the reduction's scale.
template <Backend B, class Functions, fixed_string Name>
class elementwise_loss : public loss_base<B> {
  using base = loss_base<B>;
  using typename base::ops;

 public:
  using typename base::scalar;
  explicit elementwise_loss(Reduction reduction = Reduction::mean) : base(reduction) {}

  template <class S>
  scalar operator()(const Batch<S, B>& prediction, const Batch<S, B>& target) {
    base::check_batches(prediction, target, Name.view());
    const std::size_t n = prediction.size();
    this->prepare(prediction.batch_size(), S::size);
    ops::zip(n, prediction.data(), target.data(), this->work_.data(), typename Functions::value{});
    const scalar k = this->scale(n);
    ops::zip(n, prediction.data(), target.data(), this->grad_.data(), typename Functions::grad{k});
    return this->finish(ops::sum(n, this->work_.data()), n, Name.view());
  }
};

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
};
// PyTorch clamps each log at -100 so that p = 0 or 1 gives a finite loss, and divides the gradient
// by max(p (1 - p), 1e-12f).
struct bce_functions {
  struct value {
    template <class T>
    CTNN_HD T operator()(T p, T t) const {
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
};
// Stable form: max(x, 0) - x t + log(1 + exp(-|x|)).
struct bce_logits_functions {
  struct value {
    template <class T>
    CTNN_HD T operator()(T x, T t) const {
      const T abs_x = x > T(0) ? x : -x;
      return (x > T(0) ? x : T(0)) - x * t + std::log1p(std::exp(-abs_x));
    }
  };
  struct grad {
    double k;
    template <class T>
    CTNN_HD T operator()(T x, T t) const { return (T(1) / (T(1) + std::exp(-x)) - t) * static_cast<T>(k); }
  };
};

// Losses over class indices: fused in one backend op with their gradient.
template <Backend B, bool FromLogits, fixed_string Name>
class class_index_loss : public loss_base<B> {
  using base = loss_base<B>;
  using typename base::ops;

 public:
  using typename base::scalar;
  explicit class_index_loss(Reduction reduction = Reduction::mean) : base(reduction) {}

  template <std::size_t Classes>
  scalar operator()(const Batch<Shape<Classes>, B>& prediction, const Labels<B>& target) {
    base::check_batches(prediction, target, Name.view());
    const std::size_t n = prediction.batch_size();
    this->prepare(n, Classes);
    const scalar k = this->scale(n);
    double total;
    if constexpr (FromLogits)
      total = ops::cross_entropy(prediction.data(), target.data(), n, Classes, this->grad_.data(), k);
    else
      total = ops::nll(prediction.data(), target.data(), n, Classes, this->grad_.data(), k);
    return this->finish(total, n, Name.view());
  }
};

}  // namespace detail

// Logits [batch, C] and class indices; log-softmax and NLL in one stable step.
template <Backend B = backend::eigen>
struct CrossEntropyLoss : detail::class_index_loss<B, true, "CrossEntropyLoss"> {
  using detail::class_index_loss<B, true, "CrossEntropyLoss">::class_index_loss;
};
// Log-probabilities [batch, C] (from LogSoftmax) and class indices.
template <Backend B = backend::eigen>
struct NLLLoss : detail::class_index_loss<B, false, "NLLLoss"> {
  using detail::class_index_loss<B, false, "NLLLoss">::class_index_loss;
};
// Probabilities (from Sigmoid) and targets in [0, 1].
template <Backend B = backend::eigen>
struct BCELoss : detail::elementwise_loss<B, detail::bce_functions, "BCELoss"> {
  using detail::elementwise_loss<B, detail::bce_functions, "BCELoss">::elementwise_loss;
};
// Logits and targets in [0, 1]: Sigmoid + BCELoss without the loss of precision.
template <Backend B = backend::eigen>
struct BCEWithLogitsLoss : detail::elementwise_loss<B, detail::bce_logits_functions, "BCEWithLogitsLoss"> {
  using detail::elementwise_loss<B, detail::bce_logits_functions, "BCEWithLogitsLoss">::elementwise_loss;
};
template <Backend B = backend::eigen>
struct MSELoss : detail::elementwise_loss<B, detail::mse_functions, "MSELoss"> {
  using detail::elementwise_loss<B, detail::mse_functions, "MSELoss">::elementwise_loss;
};
template <Backend B = backend::eigen>
struct L1Loss : detail::elementwise_loss<B, detail::l1_functions, "L1Loss"> {
  using detail::elementwise_loss<B, detail::l1_functions, "L1Loss">::elementwise_loss;
};

}  // namespace ctnn
