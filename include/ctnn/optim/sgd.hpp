#pragma once
// optim::SGD: torch.optim.SGD (PyTorch 1.13), with momentum, dampening, L2 weight decay, Nesterov momentum
// and maximize, over the parameters of a model or over parameter groups (param_groups.hpp):
//   optim::SGD opt(model.parameters(), 0.1);                            // PyTorch's spelling
//   optim::SGD opt{model.parameters(), {.lr = 0.1, .momentum = 0.9}};
//   for (...) { model.zero_grad(); ...; model.backward(loss_fn.grad()); opt.step(); }
// The update itself is the backend op sgd_update, so SGD runs on every backend unchanged. The momentum
// buffers are allocated when the optimizer is made: step() never allocates. As in torch, a parameter's
// momentum buffer starts as its first gradient, on that parameter's first step (a frozen parameter has
// not stepped yet when it is unfrozen).
#include <cstddef>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "param_groups.hpp"

namespace ctnn::optim {

// Hyperparameters in torch's order, designated-initialiser friendly: {.lr = 0.1, .momentum = 0.9}.
// lr is required (torch's `required`).
struct SGDOptions {
  double lr = std::numeric_limits<double>::quiet_NaN();
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;
  bool nesterov = false;
  bool maximize = false;

  // Every field by its torch name (checkpoints, checkpoint.hpp).
  template <class F>
  void visit_fields(F&& f) {
    f("lr", lr);
    f("momentum", momentum);
    f("dampening", dampening);
    f("weight_decay", weight_decay);
    f("nesterov", nesterov);
    f("maximize", maximize);
  }
};

struct SGDGroupOptions {
  std::optional<double> lr = std::nullopt;
  std::optional<double> momentum = std::nullopt;
  std::optional<double> dampening = std::nullopt;
  std::optional<double> weight_decay = std::nullopt;
  std::optional<bool> nesterov = std::nullopt;
  std::optional<bool> maximize = std::nullopt;
  void apply(SGDOptions& o) const {
    if (lr) o.lr = *lr;
    if (momentum) o.momentum = *momentum;
    if (dampening) o.dampening = *dampening;
    if (weight_decay) o.weight_decay = *weight_decay;
    if (nesterov) o.nesterov = *nesterov;
    if (maximize) o.maximize = *maximize;
  }
};

template <Backend B>
class SGD : public Optimizer<B, SGDOptions, SGDGroupOptions> {
  using Base = Optimizer<B, SGDOptions, SGDGroupOptions>;

 public:
  using typename Base::GroupSpec;
  using typename Base::Options;
  using typename Base::scalar;

  SGD(std::vector<Parameter<B>*> params, Options options) : SGD(Base::one_group(std::move(params)), options) {}
  // PyTorch\'s positional lr: SGD(model.parameters(), 0.1). A template, so that `{}` means Options{}.
  template <LearningRate T>
  SGD(std::vector<Parameter<B>*> params, T lr)
      : SGD(std::move(params), Options{.lr = static_cast<double>(lr)}) {}
  SGD(std::vector<GroupSpec> groups, Options defaults) : Base("SGD", std::move(groups), defaults) {
    for (const auto& g : this->groups_) {
      const Options& o = g.options;
      detail::check_lr(o.lr, "SGD");
      detail::check_nonnegative(o.momentum, "SGD", "momentum");
      detail::check_nonnegative(o.weight_decay, "SGD", "weight_decay");
      if (o.nesterov && (o.momentum <= 0 || o.dampening != 0))
        throw error("SGD: Nesterov momentum requires a momentum and zero dampening");
    }
    for (const auto& g : this->groups_)
      for (auto* p : g.params)
        momentum_buffers_.push_back(g.options.momentum != 0 ? Base::zeros(p->size()) : buffer_t<B>{});
    step_.assign(this->flat_.size(), 0);
    buffer_started_.assign(this->flat_.size(), 0);
  }

  // One update of every trainable parameter from its accumulated gradient.
  void step() {
    this->for_each_trainable([&](const Options& o, Parameter<B>& p, std::size_t i) {
      const bool momentum = o.momentum != 0;
      // Only when a group's momentum was 0 at construction and set later: torch creates the buffer then.
      if (momentum && momentum_buffers_[i].size() != p.size()) momentum_buffers_[i] = Base::zeros(p.size());
      backend::ops<B>::sgd_update(p.size(), p.grad.data(), p.value.data(),
                                  momentum ? momentum_buffers_[i].data() : nullptr, static_cast<scalar>(o.lr),
                                  static_cast<scalar>(o.momentum), static_cast<scalar>(o.dampening),
                                  static_cast<scalar>(o.weight_decay), o.nesterov, momentum && !buffer_started_[i]);
      if (momentum) buffer_started_[i] = 1;
      ++step_[i];
    });
  }

  // Steps taken by parameter 0 (every parameter, unless some were frozen for a while).
  std::size_t steps() const { return step_.front(); }
  // Per-parameter state, in parameters() order (torch's state[p]): momentum_buffer when momentum != 0
  // (holding a value once momentum_started()[i]).
  template <class F>
  void visit_state(F&& f) {
    for (std::size_t i = 0; i < this->flat_.size(); ++i)
      if (momentum_buffers_[i].size() != 0) f(i, "momentum_buffer", momentum_buffers_[i]);
  }
  std::vector<std::size_t>& step_counts() { return step_; }
  // Whether parameter i's momentum buffer holds a value (torch: state[p]['momentum_buffer'] is not None).
  std::vector<unsigned char>& momentum_started() { return buffer_started_; }

 private:
  std::vector<buffer_t<B>> momentum_buffers_;
  std::vector<std::size_t> step_;
  std::vector<unsigned char> buffer_started_;
};

template <Backend B>
SGD(std::vector<Parameter<B>*>, SGDOptions) -> SGD<B>;

}  // namespace ctnn::optim
