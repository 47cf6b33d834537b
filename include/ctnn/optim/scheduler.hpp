#pragma once
// Learning-rate schedulers over any optimizer with lr()/set_lr() (SGD, Adam).
//   optim::StepLR scheduler{opt, 2, 0.5};     // lr *= 0.5 every 2 epochs
//   for (epoch ...) { train(...); scheduler.step(); }
// step() is called once per epoch, after the optimizer's steps, as in PyTorch.
#include <concepts>
#include <cstddef>

#include "../core/error.hpp"

namespace ctnn::optim {

template <class O>
concept LearningRateOptimizer = requires(O& o, double lr) {
  { o.lr() } -> std::convertible_to<double>;
  o.set_lr(lr);
};

// torch.optim.lr_scheduler.StepLR (PyTorch 1.13, chainable form): every step_size epochs the learning
// rate is multiplied by gamma.
template <LearningRateOptimizer Optimizer>
class StepLR {
 public:
  StepLR(Optimizer& optimizer, std::size_t step_size, double gamma = 0.1)
      : optimizer_(&optimizer), step_size_(step_size), gamma_(gamma), base_lr_(optimizer.lr()), last_lr_(optimizer.lr()) {
    if (step_size == 0) throw error("StepLR: step_size must be positive");
  }

  void step() {
    ++last_epoch_;
    if (last_epoch_ % step_size_ == 0) optimizer_->set_lr(optimizer_->lr() * gamma_);
    last_lr_ = optimizer_->lr();
  }

  // The learning rate set by the last step() (the optimizer's initial one before any).
  double get_last_lr() const { return last_lr_; }
  std::size_t last_epoch() const { return last_epoch_; }
  double base_lr() const { return base_lr_; }
  std::size_t step_size() const { return step_size_; }
  double gamma() const { return gamma_; }

 private:
  Optimizer* optimizer_;
  std::size_t step_size_;
  double gamma_;
  double base_lr_;
  double last_lr_;
  std::size_t last_epoch_ = 0;
};

}  // namespace ctnn::optim
