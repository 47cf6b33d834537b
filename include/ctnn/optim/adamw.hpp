#pragma once
// optim::AdamW: torch.optim.AdamW (PyTorch 1.13): Adam with decoupled weight decay (param *= 1 - lr wd
// before Adam's update, no L2 term in the gradient), default weight_decay 1e-2; amsgrad and maximize
// as Adam. Options in torch's order:
//   optim::AdamW opt{model.parameters(), {.lr = 1e-3, .weight_decay = 0.05}};
#include <array>
#include <utility>
#include <vector>

#include "adam.hpp"

namespace ctnn::optim {

struct AdamWOptions {
  double lr = 1e-3;
  std::array<double, 2> betas = {0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 1e-2;
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

// The fields AdamW's groups may override are Adam's.
using AdamWGroupOptions = AdamGroupOptions;

template <Backend B>
class AdamW : public detail::AdamFamily<B, AdamWOptions, AdamWGroupOptions, true> {
  using Base = detail::AdamFamily<B, AdamWOptions, AdamWGroupOptions, true>;

 public:
  using typename Base::GroupSpec;
  using typename Base::Options;

  AdamW(std::vector<Parameter<B>*> params, Options options = {})
      : AdamW(Base::one_group(std::move(params)), options) {}
  // PyTorch\'s positional lr: SGD(model.parameters(), 0.1). A template, so that `{}` means Options{}.
  template <LearningRate T>
  AdamW(std::vector<Parameter<B>*> params, T lr)
      : AdamW(std::move(params), Options{.lr = static_cast<double>(lr)}) {}
  AdamW(std::vector<GroupSpec> groups, Options defaults) : Base("AdamW", std::move(groups), defaults) {}
};

template <Backend B>
AdamW(std::vector<Parameter<B>*>) -> AdamW<B>;
template <Backend B>
AdamW(std::vector<Parameter<B>*>, AdamWOptions) -> AdamW<B>;

}  // namespace ctnn::optim
