#pragma once
// optim::Adagrad: torch.optim.Adagrad (PyTorch 1.13, dense gradients), options in its order:
//   optim::Adagrad opt{model.parameters(), {.lr = 1e-2, .lr_decay = 1e-4}};
// Each parameter's step t (torch's state[p]['step']) sets its rate clr = lr / (1 + (t - 1) lr_decay);
// state_sum starts at initial_accumulator_value. The update is the backend op adagrad_update.
#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

#include "param_groups.hpp"

namespace ctnn::optim {

struct AdagradOptions {
  double lr = 1e-2;
  double lr_decay = 0;
  double weight_decay = 0;
  double initial_accumulator_value = 0;
  double eps = 1e-10;
  bool maximize = false;

  // Every field by its torch name (checkpoints, checkpoint.hpp).
  template <class F>
  void visit_fields(F&& f) {
    f("lr", lr);
    f("lr_decay", lr_decay);
    f("weight_decay", weight_decay);
    f("initial_accumulator_value", initial_accumulator_value);
    f("eps", eps);
    f("maximize", maximize);
  }
};

struct AdagradGroupOptions {
  std::optional<double> lr = std::nullopt;
  std::optional<double> lr_decay = std::nullopt;
  std::optional<double> weight_decay = std::nullopt;
  std::optional<double> initial_accumulator_value = std::nullopt;
  std::optional<double> eps = std::nullopt;
  std::optional<bool> maximize = std::nullopt;
  void apply(AdagradOptions& o) const {
    if (lr) o.lr = *lr;
    if (lr_decay) o.lr_decay = *lr_decay;
    if (weight_decay) o.weight_decay = *weight_decay;
    if (initial_accumulator_value) o.initial_accumulator_value = *initial_accumulator_value;
    if (eps) o.eps = *eps;
    if (maximize) o.maximize = *maximize;
  }
};

template <Backend B>
class Adagrad : public Optimizer<B, AdagradOptions, AdagradGroupOptions> {
  using Base = Optimizer<B, AdagradOptions, AdagradGroupOptions>;

 public:
  using typename Base::GroupSpec;
  using typename Base::Options;
  using typename Base::scalar;

  Adagrad(std::vector<Parameter<B>*> params, Options options = {})
      : Adagrad(Base::one_group(std::move(params)), options) {}
  // PyTorch\'s positional lr: SGD(model.parameters(), 0.1). A template, so that `{}` means Options{}.
  template <LearningRate T>
  Adagrad(std::vector<Parameter<B>*> params, T lr)
      : Adagrad(std::move(params), Options{.lr = static_cast<double>(lr)}) {}
  Adagrad(std::vector<GroupSpec> groups, Options defaults) : Base("Adagrad", std::move(groups), defaults) {
    for (const auto& g : this->groups_) {
      const Options& o = g.options;
      detail::check_lr(o.lr, "Adagrad");
      detail::check_nonnegative(o.lr_decay, "Adagrad", "lr_decay");
      detail::check_nonnegative(o.weight_decay, "Adagrad", "weight_decay");
      detail::check_nonnegative(o.initial_accumulator_value, "Adagrad", "initial_accumulator_value");
      detail::check_nonnegative(o.eps, "Adagrad", "epsilon");
      for (auto* p : g.params) {
        state_sum_.push_back(Base::zeros(p->size()));
        backend::ops<B>::fill(p->size(), state_sum_.back().data(), static_cast<scalar>(o.initial_accumulator_value));
      }
    }
    step_.assign(this->flat_.size(), 0);
  }

  void step() {
    this->for_each_trainable([&](const Options& o, Parameter<B>& p, std::size_t i) {
      const double t = static_cast<double>(++step_[i]);
      const double clr = o.lr / (1 + (t - 1) * o.lr_decay);
      backend::ops<B>::adagrad_update(p.size(), p.grad.data(), p.value.data(), state_sum_[i].data(),
                                      static_cast<scalar>(clr), static_cast<scalar>(o.eps),
                                      static_cast<scalar>(o.weight_decay));
    });
  }

  std::size_t steps() const { return step_.front(); }
  // Per-parameter state, in parameters() order: sum.
  template <class F>
  void visit_state(F&& f) {
    for (std::size_t i = 0; i < this->flat_.size(); ++i) f(i, "sum", state_sum_[i]);
  }
  std::vector<std::size_t>& step_counts() { return step_; }

 private:
  std::vector<buffer_t<B>> state_sum_;
  std::vector<std::size_t> step_;
};

template <Backend B>
Adagrad(std::vector<Parameter<B>*>) -> Adagrad<B>;
template <Backend B>
Adagrad(std::vector<Parameter<B>*>, AdagradOptions) -> Adagrad<B>;

}  // namespace ctnn::optim
