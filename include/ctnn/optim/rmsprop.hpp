#pragma once
// optim::RMSprop: torch.optim.RMSprop (PyTorch 1.13), options in its order:
//   optim::RMSprop opt{model.parameters(), {.lr = 1e-2, .alpha = 0.99, .momentum = 0.9, .centered = true}};
// square_avg (and grad_avg when centered, momentum_buffer when momentum > 0) are allocated, zeroed, when
// the optimizer is made. The update is the backend op rmsprop_update.
#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

#include "param_groups.hpp"

namespace ctnn::optim {

struct RMSpropOptions {
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0;
  double momentum = 0;
  bool centered = false;
  bool maximize = false;

  // Every field by its torch name (checkpoints, checkpoint.hpp).
  template <class F>
  void visit_fields(F&& f) {
    f("lr", lr);
    f("alpha", alpha);
    f("eps", eps);
    f("weight_decay", weight_decay);
    f("momentum", momentum);
    f("centered", centered);
    f("maximize", maximize);
  }
};

struct RMSpropGroupOptions {
  std::optional<double> lr = std::nullopt;
  std::optional<double> alpha = std::nullopt;
  std::optional<double> eps = std::nullopt;
  std::optional<double> weight_decay = std::nullopt;
  std::optional<double> momentum = std::nullopt;
  std::optional<bool> centered = std::nullopt;
  std::optional<bool> maximize = std::nullopt;
  void apply(RMSpropOptions& o) const {
    if (lr) o.lr = *lr;
    if (alpha) o.alpha = *alpha;
    if (eps) o.eps = *eps;
    if (weight_decay) o.weight_decay = *weight_decay;
    if (momentum) o.momentum = *momentum;
    if (centered) o.centered = *centered;
    if (maximize) o.maximize = *maximize;
  }
};

template <Backend B>
class RMSprop : public Optimizer<B, RMSpropOptions, RMSpropGroupOptions> {
  using Base = Optimizer<B, RMSpropOptions, RMSpropGroupOptions>;

 public:
  using typename Base::GroupSpec;
  using typename Base::Options;
  using typename Base::scalar;

  RMSprop(std::vector<Parameter<B>*> params, Options options = {})
      : RMSprop(Base::one_group(std::move(params)), options) {}
  // PyTorch\'s positional lr: SGD(model.parameters(), 0.1). A template, so that `{}` means Options{}.
  template <LearningRate T>
  RMSprop(std::vector<Parameter<B>*> params, T lr)
      : RMSprop(std::move(params), Options{.lr = static_cast<double>(lr)}) {}
  RMSprop(std::vector<GroupSpec> groups, Options defaults) : Base("RMSprop", std::move(groups), defaults) {
    for (const auto& g : this->groups_) {
      const Options& o = g.options;
      detail::check_lr(o.lr, "RMSprop");
      detail::check_nonnegative(o.eps, "RMSprop", "epsilon");
      detail::check_nonnegative(o.momentum, "RMSprop", "momentum");
      detail::check_nonnegative(o.weight_decay, "RMSprop", "weight_decay");
      detail::check_nonnegative(o.alpha, "RMSprop", "alpha");
      for (auto* p : g.params) {
        square_avg_.push_back(Base::zeros(p->size()));
        grad_avg_.push_back(o.centered ? Base::zeros(p->size()) : buffer_t<B>{});
        momentum_buffer_.push_back(o.momentum > 0 ? Base::zeros(p->size()) : buffer_t<B>{});
      }
    }
    step_.assign(this->flat_.size(), 0);
  }

  void step() {
    this->for_each_trainable([&](const Options& o, Parameter<B>& p, std::size_t i) {
      ++step_[i];
      // Buffers for options switched on after construction (torch would fail there; they start at 0).
      if (o.centered && grad_avg_[i].size() != p.size()) grad_avg_[i] = Base::zeros(p.size());
      if (o.momentum > 0 && momentum_buffer_[i].size() != p.size()) momentum_buffer_[i] = Base::zeros(p.size());
      backend::ops<B>::rmsprop_update(p.size(), p.grad.data(), p.value.data(), square_avg_[i].data(),
                                      o.centered ? grad_avg_[i].data() : nullptr,
                                      o.momentum > 0 ? momentum_buffer_[i].data() : nullptr,
                                      static_cast<scalar>(o.lr), static_cast<scalar>(o.alpha),
                                      static_cast<scalar>(o.eps), static_cast<scalar>(o.weight_decay),
                                      static_cast<scalar>(o.momentum));
    });
  }

  std::size_t steps() const { return step_.front(); }
  // Per-parameter state, in parameters() order: square_avg, momentum_buffer, grad_avg (as torch names them).
  template <class F>
  void visit_state(F&& f) {
    for (std::size_t i = 0; i < this->flat_.size(); ++i) {
      f(i, "square_avg", square_avg_[i]);
      if (momentum_buffer_[i].size() != 0) f(i, "momentum_buffer", momentum_buffer_[i]);
      if (grad_avg_[i].size() != 0) f(i, "grad_avg", grad_avg_[i]);
    }
  }
  std::vector<std::size_t>& step_counts() { return step_; }

 private:
  std::vector<buffer_t<B>> square_avg_, grad_avg_, momentum_buffer_;
  std::vector<std::size_t> step_;
};

template <Backend B>
RMSprop(std::vector<Parameter<B>*>) -> RMSprop<B>;
template <Backend B>
RMSprop(std::vector<Parameter<B>*>, RMSpropOptions) -> RMSprop<B>;

}  // namespace ctnn::optim
