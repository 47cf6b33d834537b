#pragma once
// Learning-rate schedulers of torch.optim.lr_scheduler (PyTorch 1.13, their chainable forms: each step
// updates every parameter group's current lr, as torch's get_lr does, so the values are torch's to the
// last bit rather than the closed forms'), over any optimizer with parameter groups (param_groups.hpp):
//   optim::StepLR scheduler{opt, 2, 0.5};                  // lr *= 0.5 every 2 epochs
//   optim::MultiStepLR scheduler{opt, {30, 80}, 0.1};
//   optim::ExponentialLR scheduler{opt, 0.95};
//   optim::CosineAnnealingLR scheduler{opt, 10, 1e-4};     // T_max, eta_min
//   optim::LinearLR scheduler{opt, 0.25, 1.0, 4};          // start_factor, end_factor, total_iters
//   for (epoch ...) { train(...); scheduler.step(); }
// step() is called after the optimizer's steps, as in PyTorch. OneCycleLR (one_cycle_lr.hpp) and
// ReduceLROnPlateau (reduce_lr_on_plateau.hpp) are in their own headers.
#include <cmath>
#include <concepts>
#include <cstddef>
#include <map>
#include <numbers>
#include <vector>

#include "../core/error.hpp"

namespace ctnn::optim {

// An optimizer whose parameter groups carry a learning rate (every ctnn optimizer).
template <class O>
concept LearningRateOptimizer = requires(O& o) {
  { o.param_groups().size() } -> std::convertible_to<std::size_t>;
  { o.param_groups()[0].options.lr } -> std::convertible_to<double>;
};

// What every scheduler shares: the optimizer, base_lrs (each group's lr when the scheduler was made,
// torch's initial_lr), last_epoch and the lrs the last step set.
template <LearningRateOptimizer Optimizer>
class LRScheduler {
 public:
  // Group 0's lr after the last step (torch: get_last_lr()[0]); get_last_lrs() has every group's.
  double get_last_lr() const { return last_lrs_.front(); }
  const std::vector<double>& get_last_lrs() const { return last_lrs_; }
  const std::vector<double>& base_lrs() const { return base_lrs_; }
  double base_lr() const { return base_lrs_.front(); }
  std::size_t last_epoch() const { return last_epoch_; }

  // For checkpoints (checkpoint.hpp): the scheduler's counters; the lrs themselves live in the optimizer.
  void restore(std::size_t last_epoch, std::vector<double> base_lrs) {
    if (base_lrs.size() != base_lrs_.size())
      throw error(cat("scheduler: ", base_lrs.size(), " base_lrs for ", base_lrs_.size(), " parameter groups"));
    last_epoch_ = last_epoch;
    base_lrs_ = std::move(base_lrs);
    read_lrs();
  }

 protected:
  explicit LRScheduler(Optimizer& optimizer) : optimizer_(&optimizer) {
    for (const auto& g : optimizer.param_groups()) base_lrs_.push_back(g.options.lr);
    read_lrs();
  }
  // Sets group i's lr to f(i, its lr) for every group.
  template <class F>
  void update(F f) {
    auto& groups = optimizer_->param_groups();
    for (std::size_t i = 0; i < groups.size(); ++i)
      groups[i].options.lr = f(i, static_cast<double>(groups[i].options.lr));
    read_lrs();
  }
  void read_lrs() {
    last_lrs_.clear();
    for (const auto& g : optimizer_->param_groups()) last_lrs_.push_back(g.options.lr);
  }

  Optimizer* optimizer_;
  std::vector<double> base_lrs_, last_lrs_;
  std::size_t last_epoch_ = 0;
};

// torch.optim.lr_scheduler.StepLR: every step_size epochs the learning rate is multiplied by gamma.
template <LearningRateOptimizer Optimizer>
class StepLR : public LRScheduler<Optimizer> {
 public:
  StepLR(Optimizer& optimizer, std::size_t step_size, double gamma = 0.1)
      : LRScheduler<Optimizer>(optimizer), step_size_(step_size), gamma_(gamma) {
    if (step_size == 0) throw error("StepLR: step_size must be positive");
  }
  void step() {
    const bool decay = ++this->last_epoch_ % step_size_ == 0;
    this->update([&](std::size_t, double lr) { return decay ? lr * gamma_ : lr; });
  }
  std::size_t step_size() const { return step_size_; }
  double gamma() const { return gamma_; }

 private:
  std::size_t step_size_;
  double gamma_;
};

// torch.optim.lr_scheduler.MultiStepLR: the lr is multiplied by gamma at each milestone epoch (by
// gamma^k when a milestone is listed k times, as torch's Counter does).
template <LearningRateOptimizer Optimizer>
class MultiStepLR : public LRScheduler<Optimizer> {
 public:
  MultiStepLR(Optimizer& optimizer, std::vector<std::size_t> milestones, double gamma = 0.1)
      : LRScheduler<Optimizer>(optimizer), milestones_(std::move(milestones)), gamma_(gamma) {}
  void step() {
    const std::size_t epoch = ++this->last_epoch_;
    std::size_t hits = 0;
    for (std::size_t m : milestones_) hits += m == epoch;
    if (hits == 0) return this->read_lrs();
    const double factor = std::pow(gamma_, static_cast<double>(hits));
    this->update([&](std::size_t, double lr) { return lr * factor; });
  }
  const std::vector<std::size_t>& milestones() const { return milestones_; }
  double gamma() const { return gamma_; }

 private:
  std::vector<std::size_t> milestones_;
  double gamma_;
};

// torch.optim.lr_scheduler.ExponentialLR: lr *= gamma every epoch.
template <LearningRateOptimizer Optimizer>
class ExponentialLR : public LRScheduler<Optimizer> {
 public:
  ExponentialLR(Optimizer& optimizer, double gamma) : LRScheduler<Optimizer>(optimizer), gamma_(gamma) {}
  void step() {
    ++this->last_epoch_;
    this->update([&](std::size_t, double lr) { return lr * gamma_; });
  }
  double gamma() const { return gamma_; }

 private:
  double gamma_;
};

// torch.optim.lr_scheduler.CosineAnnealingLR, torch's recursive form (it differs from the closed form
// eta_min + (base_lr - eta_min)(1 + cos(pi t / T_max)) / 2 in the last bits, and after T_max it
// climbs back up as torch's does).
template <LearningRateOptimizer Optimizer>
class CosineAnnealingLR : public LRScheduler<Optimizer> {
 public:
  CosineAnnealingLR(Optimizer& optimizer, std::size_t T_max, double eta_min = 0)
      : LRScheduler<Optimizer>(optimizer), T_max_(T_max), eta_min_(eta_min) {
    if (T_max == 0) throw error("CosineAnnealingLR: T_max must be positive");
  }
  void step() {
    const auto t = static_cast<double>(++this->last_epoch_), T = static_cast<double>(T_max_);
    const double pi = std::numbers::pi;
    if ((this->last_epoch_ - 1 + T_max_) % (2 * T_max_) == 0) {  // torch: (last_epoch - 1 - T_max) % (2 T_max) == 0
      this->update([&](std::size_t i, double lr) {
        return lr + (this->base_lrs_[i] - eta_min_) * (1 - std::cos(pi / T)) / 2;
      });
      return;
    }
    this->update([&](std::size_t, double lr) {
      return (1 + std::cos(pi * t / T)) / (1 + std::cos(pi * (t - 1) / T)) * (lr - eta_min_) + eta_min_;
    });
  }
  std::size_t T_max() const { return T_max_; }
  double eta_min() const { return eta_min_; }

 private:
  std::size_t T_max_;
  double eta_min_;
};

// torch.optim.lr_scheduler.LinearLR: the lr goes linearly from base_lr * start_factor (set when the
// scheduler is made, as torch's first step does) to base_lr * end_factor over total_iters epochs.
template <LearningRateOptimizer Optimizer>
class LinearLR : public LRScheduler<Optimizer> {
 public:
  LinearLR(Optimizer& optimizer, double start_factor = 1.0 / 3, double end_factor = 1.0, std::size_t total_iters = 5)
      : LRScheduler<Optimizer>(optimizer), start_(start_factor), end_(end_factor), total_iters_(total_iters) {
    if (start_factor > 1.0 || !(start_factor >= 0))
      throw error("LinearLR: Starting multiplicative factor expected to be between 0 and 1.");
    if (end_factor > 1.0 || !(end_factor >= 0))
      throw error("LinearLR: Ending multiplicative factor expected to be between 0 and 1.");
    this->update([&](std::size_t, double lr) { return lr * start_; });
  }
  void step() {
    const std::size_t epoch = ++this->last_epoch_;
    if (epoch > total_iters_) return this->read_lrs();
    const double factor = 1. + (end_ - start_) / (static_cast<double>(total_iters_) * start_ +
                                                   static_cast<double>(epoch - 1) * (end_ - start_));
    this->update([&](std::size_t, double lr) { return lr * factor; });
  }
  double start_factor() const { return start_; }
  double end_factor() const { return end_; }
  std::size_t total_iters() const { return total_iters_; }

 private:
  double start_, end_;
  std::size_t total_iters_;
};

}  // namespace ctnn::optim
