#pragma once
// optim::Adadelta: torch.optim.Adadelta (PyTorch 1.13), options in its order (foreach has no meaning here):
//   optim::Adadelta opt{model.parameters()};                 // lr 1.0, rho 0.9, eps 1e-6
//   optim::Adadelta opt{model.parameters(), {.lr = 0.5, .weight_decay = 1e-4}};
// The update is the backend op adadelta_update; square_avg and acc_delta are allocated (zeroed) when the
// optimizer is made, so step() never allocates.
#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

#include "param_groups.hpp"

namespace ctnn::optim {

struct AdadeltaOptions {
  double lr = 1.0;
  double rho = 0.9;
  double eps = 1e-6;
  double weight_decay = 0;
  bool maximize = false;

  // Every field by its torch name (checkpoints, checkpoint.hpp).
  template <class F>
  void visit_fields(F&& f) {
    f("lr", lr);
    f("rho", rho);
    f("eps", eps);
    f("weight_decay", weight_decay);
    f("maximize", maximize);
  }
};

struct AdadeltaGroupOptions {
  std::optional<double> lr = std::nullopt;
  std::optional<double> rho = std::nullopt;
  std::optional<double> eps = std::nullopt;
  std::optional<double> weight_decay = std::nullopt;
  std::optional<bool> maximize = std::nullopt;
  void apply(AdadeltaOptions& o) const {
    if (lr) o.lr = *lr;
    if (rho) o.rho = *rho;
    if (eps) o.eps = *eps;
    if (weight_decay) o.weight_decay = *weight_decay;
    if (maximize) o.maximize = *maximize;
  }
};

template <Backend B>
class Adadelta : public Optimizer<B, AdadeltaOptions, AdadeltaGroupOptions> {
  using Base = Optimizer<B, AdadeltaOptions, AdadeltaGroupOptions>;

 public:
  using typename Base::GroupSpec;
  using typename Base::Options;
  using typename Base::scalar;

  Adadelta(std::vector<Parameter<B>*> params, Options options = {})
      : Adadelta(Base::one_group(std::move(params)), options) {}
  // PyTorch\'s positional lr: SGD(model.parameters(), 0.1). A template, so that `{}` means Options{}.
  template <LearningRate T>
  Adadelta(std::vector<Parameter<B>*> params, T lr)
      : Adadelta(std::move(params), Options{.lr = static_cast<double>(lr)}) {}
  Adadelta(std::vector<GroupSpec> groups, Options defaults) : Base("Adadelta", std::move(groups), defaults) {
    for (const auto& g : this->groups_) {
      detail::check_lr(g.options.lr, "Adadelta");
      if (!(g.options.rho >= 0 && g.options.rho <= 1))
        throw error(cat("Adadelta: invalid rho value: ", g.options.rho));
      detail::check_nonnegative(g.options.eps, "Adadelta", "epsilon");
      detail::check_nonnegative(g.options.weight_decay, "Adadelta", "weight_decay");
    }
    for (auto* p : this->flat_) {
      square_avg_.push_back(Base::zeros(p->size()));
      acc_delta_.push_back(Base::zeros(p->size()));
    }
    step_.assign(this->flat_.size(), 0);
  }

  void step() {
    this->for_each_trainable([&](const Options& o, Parameter<B>& p, std::size_t i) {
      ++step_[i];
      backend::ops<B>::adadelta_update(p.size(), p.grad.data(), p.value.data(), square_avg_[i].data(),
                                       acc_delta_[i].data(), static_cast<scalar>(o.lr), static_cast<scalar>(o.rho),
                                       static_cast<scalar>(o.eps), static_cast<scalar>(o.weight_decay));
    });
  }

  // Per-parameter state, in parameters() order (torch's state[p]): step, square_avg, acc_delta.
  std::size_t step_count(std::size_t i) const { return step_.at(i); }
  template <class F>
  void visit_state(F&& f) {
    for (std::size_t i = 0; i < this->flat_.size(); ++i) {
      f(i, "square_avg", square_avg_[i]);
      f(i, "acc_delta", acc_delta_[i]);
    }
  }
  std::vector<std::size_t>& step_counts() { return step_; }

 private:
  std::vector<buffer_t<B>> square_avg_, acc_delta_;
  std::vector<std::size_t> step_;
};

template <Backend B>
Adadelta(std::vector<Parameter<B>*>) -> Adadelta<B>;
template <Backend B>
Adadelta(std::vector<Parameter<B>*>, AdadeltaOptions) -> Adadelta<B>;

}  // namespace ctnn::optim
