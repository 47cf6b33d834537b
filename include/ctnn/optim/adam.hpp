#pragma once
// optim::Adam: torch.optim.Adam (PyTorch 1.13), amsgrad and maximize included, over the parameters of a
// model or over parameter groups (param_groups.hpp). Weight decay is L2 added to the gradient, as
// torch.optim.Adam does (AdamW, adamw.hpp, decouples it). Bias corrections as PyTorch, with each
// parameter's own step count t (torch's state[p]['step']):
//   step_size = lr / (1 - beta1^t),  denom = sqrt(v) / sqrt(1 - beta2^t) + eps,  param -= step_size m / denom
//   optim::Adam opt{model.parameters(), {.lr = 1e-3, .betas = {0.9, 0.999}}};
// The update is the backend op adam_update (amsgrad_update with amsgrad); the moment buffers are
// allocated (zeroed) when the optimizer is made, so step() never allocates.
#include <array>
#include <cmath>
#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

#include "param_groups.hpp"

namespace ctnn::optim {

struct AdamOptions {
  double lr = 1e-3;
  std::array<double, 2> betas = {0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 0;
  bool amsgrad = false;
  bool maximize = false;

  // Every field by its torch name (checkpoints, checkpoint.hpp).
  template <class F>
  void visit_fields(F&& f) {
    f("lr", lr);
    f("betas", betas);
    f("eps", eps);
    f("weight_decay", weight_decay);
    f("amsgrad", amsgrad);
    f("maximize", maximize);
  }
};

struct AdamGroupOptions {
  std::optional<double> lr = std::nullopt;
  std::optional<std::array<double, 2>> betas = std::nullopt;
  std::optional<double> eps = std::nullopt;
  std::optional<double> weight_decay = std::nullopt;
  std::optional<bool> amsgrad = std::nullopt;
  std::optional<bool> maximize = std::nullopt;
  template <class O>
  void apply(O& o) const {
    if (lr) o.lr = *lr;
    if (betas) o.betas = *betas;
    if (eps) o.eps = *eps;
    if (weight_decay) o.weight_decay = *weight_decay;
    if (amsgrad) o.amsgrad = *amsgrad;
    if (maximize) o.maximize = *maximize;
  }
};

namespace detail {

// param *= factor (AdamW's decoupled decay).
template <class S>
struct scale_by {
  S factor;
  CTNN_HD S operator()(S x) const { return x * factor; }
};

// Adam's and AdamW's shared state and step; Decoupled: weight decay as AdamW (param *= 1 - lr wd
// before the update) rather than L2 in the gradient.
template <Backend B, class OptionsT, class GroupOptionsT, bool Decoupled>
class AdamFamily : public Optimizer<B, OptionsT, GroupOptionsT> {
  using Base = Optimizer<B, OptionsT, GroupOptionsT>;

 public:
  using typename Base::GroupSpec;
  using typename Base::Options;
  using typename Base::scalar;

  AdamFamily(std::string_view name, std::vector<GroupSpec> groups, Options defaults)
      : Base(name, std::move(groups), defaults) {
    for (const auto& g : this->groups_) {
      const Options& o = g.options;
      detail::check_lr(o.lr, name);
      detail::check_nonnegative(o.eps, name, "epsilon");
      for (std::size_t i = 0; i < 2; ++i)
        if (!(o.betas[i] >= 0 && o.betas[i] < 1))
          throw error(cat(name, ": invalid beta parameter at index ", i, ": ", o.betas[i]));
      detail::check_nonnegative(o.weight_decay, name, "weight_decay");
    }
    for (const auto& g : this->groups_)
      for (auto* p : g.params) {
        exp_avg_.push_back(Base::zeros(p->size()));
        exp_avg_sq_.push_back(Base::zeros(p->size()));
        max_exp_avg_sq_.push_back(g.options.amsgrad ? Base::zeros(p->size()) : buffer_t<B>{});
      }
    step_.assign(this->flat_.size(), 0);
  }

  void step() {
    this->for_each_trainable([&](const Options& o, Parameter<B>& p, std::size_t i) {
      const double t = static_cast<double>(++step_[i]);
      const double bias_correction1 = 1 - std::pow(o.betas[0], t);
      const double bias_correction2 = 1 - std::pow(o.betas[1], t);
      const auto step_size = static_cast<scalar>(o.lr / bias_correction1);
      const auto bias_correction2_sqrt = static_cast<scalar>(std::sqrt(bias_correction2));
      const auto beta1 = static_cast<scalar>(o.betas[0]), beta2 = static_cast<scalar>(o.betas[1]);
      const auto eps = static_cast<scalar>(o.eps);
      auto l2 = static_cast<scalar>(o.weight_decay);
      if constexpr (Decoupled) {
        if (o.weight_decay != 0)
          backend::ops<B>::map(p.size(), p.value.data(), p.value.data(),
                               scale_by<scalar>{static_cast<scalar>(1 - o.lr * o.weight_decay)});
        l2 = scalar(0);
      }
      if (o.amsgrad) {
        // amsgrad switched on after construction: torch would fail (no max_exp_avg_sq); start it at v.
        if (max_exp_avg_sq_[i].size() != p.size()) max_exp_avg_sq_[i] = Base::zeros(p.size());
        backend::ops<B>::amsgrad_update(p.size(), p.grad.data(), p.value.data(), exp_avg_[i].data(),
                                        exp_avg_sq_[i].data(), max_exp_avg_sq_[i].data(), beta1, beta2, eps, l2,
                                        step_size, bias_correction2_sqrt);
      } else {
        backend::ops<B>::adam_update(p.size(), p.grad.data(), p.value.data(), exp_avg_[i].data(),
                                     exp_avg_sq_[i].data(), beta1, beta2, eps, l2, step_size, bias_correction2_sqrt);
      }
    });
  }

  // Steps taken by parameter 0 (torch's state[p]['step'] of the first parameter).
  std::size_t steps() const { return step_.front(); }
  // Per-parameter state, in parameters() order: exp_avg, exp_avg_sq, max_exp_avg_sq (amsgrad).
  template <class F>
  void visit_state(F&& f) {
    for (std::size_t i = 0; i < this->flat_.size(); ++i) {
      f(i, "exp_avg", exp_avg_[i]);
      f(i, "exp_avg_sq", exp_avg_sq_[i]);
      if (max_exp_avg_sq_[i].size() != 0) f(i, "max_exp_avg_sq", max_exp_avg_sq_[i]);
    }
  }
  std::vector<std::size_t>& step_counts() { return step_; }

 private:
  std::vector<buffer_t<B>> exp_avg_, exp_avg_sq_, max_exp_avg_sq_;
  std::vector<std::size_t> step_;
};

}  // namespace detail

template <Backend B>
class Adam : public detail::AdamFamily<B, AdamOptions, AdamGroupOptions, false> {
  using Base = detail::AdamFamily<B, AdamOptions, AdamGroupOptions, false>;

 public:
  using typename Base::GroupSpec;
  using typename Base::Options;

  Adam(std::vector<Parameter<B>*> params, Options options = {}) : Adam(Base::one_group(std::move(params)), options) {}
  // PyTorch\'s positional lr: SGD(model.parameters(), 0.1). A template, so that `{}` means Options{}.
  template <LearningRate T>
  Adam(std::vector<Parameter<B>*> params, T lr)
      : Adam(std::move(params), Options{.lr = static_cast<double>(lr)}) {}
  Adam(std::vector<GroupSpec> groups, Options defaults) : Base("Adam", std::move(groups), defaults) {}
};

template <Backend B>
Adam(std::vector<Parameter<B>*>) -> Adam<B>;
template <Backend B>
Adam(std::vector<Parameter<B>*>, AdamOptions) -> Adam<B>;

}  // namespace ctnn::optim
