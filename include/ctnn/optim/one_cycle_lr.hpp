#pragma once
// optim::OneCycleLR: torch.optim.lr_scheduler.OneCycleLR (PyTorch 1.13), stepped after every batch. The
// lr rises from max_lr / div_factor to max_lr over pct_start of total_steps, then falls to
// max_lr / (div_factor * final_div_factor) (three_phase: back to the initial lr first, then down), by
// cosine or linear annealing; the momentum (SGD's momentum, Adam's beta1) cycles the other way between
// max_momentum and base_momentum. Options in torch's order, after max_lr:
//   optim::OneCycleLR scheduler{opt, 0.1, {.total_steps = 1000}};
//   optim::OneCycleLR scheduler{opt, 0.1, {.epochs = 10, .steps_per_epoch = 100, .anneal_strategy = "linear"}};
#include <array>
#include <cmath>
#include <cstddef>
#include <numbers>
#include <string_view>
#include <vector>

#include "scheduler.hpp"

namespace ctnn::optim {

struct OneCycleLROptions {
  std::size_t total_steps = 0;  // 0: epochs * steps_per_epoch
  std::size_t epochs = 0;
  std::size_t steps_per_epoch = 0;
  double pct_start = 0.3;
  std::string_view anneal_strategy = "cos";  // "cos" or "linear"
  bool cycle_momentum = true;
  double base_momentum = 0.85;
  double max_momentum = 0.95;
  double div_factor = 25.;
  double final_div_factor = 1e4;
  bool three_phase = false;
};

template <LearningRateOptimizer Optimizer>
class OneCycleLR : public LRScheduler<Optimizer> {
 public:
  using Options = OneCycleLROptions;

  // max_lr for every group, or one per group.
  OneCycleLR(Optimizer& optimizer, double max_lr, Options options = {})
      : OneCycleLR(optimizer, std::vector<double>(optimizer.param_groups().size(), max_lr), options) {}
  OneCycleLR(Optimizer& optimizer, std::vector<double> max_lrs, Options options)
      : LRScheduler<Optimizer>(optimizer), options_(options) {
    auto& groups = optimizer.param_groups();
    if (options.total_steps != 0) {
      total_steps_ = options.total_steps;
    } else {
      if (options.epochs == 0 && options.steps_per_epoch == 0)
        throw error("OneCycleLR: You must define either total_steps OR (epochs AND steps_per_epoch)");
      if (options.epochs == 0) throw error("OneCycleLR: Expected positive integer epochs, but got 0");
      if (options.steps_per_epoch == 0) throw error("OneCycleLR: Expected positive integer steps_per_epoch, but got 0");
      total_steps_ = options.epochs * options.steps_per_epoch;
    }
    if (!(options.pct_start >= 0 && options.pct_start <= 1))
      throw error(cat("OneCycleLR: Expected float between 0 and 1 pct_start, but got ", options.pct_start));
    if (options.anneal_strategy != "cos" && options.anneal_strategy != "linear")
      throw error(cat("OneCycleLR: anneal_strategy must by one of 'cos' or 'linear', instead got ",
                      options.anneal_strategy));
    if (max_lrs.size() != groups.size())
      throw error(cat("OneCycleLR: expected ", groups.size(), " values for max_lr, got ", max_lrs.size()));
    const double T = static_cast<double>(total_steps_), pct = options.pct_start;
    if (options.three_phase)
      phases_ = {{pct * T - 1, lr_initial, lr_max, momentum_max, momentum_base},
                 {2 * pct * T - 2, lr_max, lr_initial, momentum_base, momentum_max},
                 {T - 1, lr_initial, lr_min, momentum_max, momentum_max}};
    else
      phases_ = {{pct * T - 1, lr_initial, lr_max, momentum_max, momentum_base},
                 {T - 1, lr_max, lr_min, momentum_base, momentum_max}};
    for (std::size_t i = 0; i < groups.size(); ++i) {
      const double initial = max_lrs[i] / options.div_factor;
      lrs_.push_back({initial, max_lrs[i], initial / options.final_div_factor});
    }
    if (options.cycle_momentum)
      for (auto& g : groups) set_momentum(g.options, options.max_momentum);
    for (std::size_t i = 0; i < groups.size(); ++i) this->base_lrs_[i] = lrs_[i][lr_initial];
    compute();  // torch's first step, made by its constructor: epoch 0
  }

  void step() {
    ++this->last_epoch_;
    compute();
  }
  std::size_t total_steps() const { return total_steps_; }
  const Options& options() const { return options_; }

 private:
  enum which_lr { lr_initial = 0, lr_max = 1, lr_min = 2 };
  enum which_momentum { momentum_max = 0, momentum_base = 1 };
  struct phase {
    double end_step;
    which_lr start_lr, end_lr;
    which_momentum start_momentum, end_momentum;
  };

  template <class O>
  static void set_momentum(O& o, double m) {
    if constexpr (requires { o.betas[0]; }) o.betas[0] = m;
    else if constexpr (requires { o.momentum; }) o.momentum = m;
    else
      static_assert(sizeof(O) == 0, "OneCycleLR: optimizer must support momentum with `cycle_momentum` option enabled");
  }
  double anneal(double start, double end, double pct) const {
    if (options_.anneal_strategy == "cos") return end + (start - end) / 2.0 * (std::cos(std::numbers::pi * pct) + 1);
    return (end - start) * pct + start;
  }

  void compute() {
    const std::size_t step_num = this->last_epoch_;
    if (step_num > total_steps_)
      throw error(cat("OneCycleLR: Tried to step ", step_num + 1, " times. The specified number of total steps is ",
                      total_steps_));
    auto& groups = this->optimizer_->param_groups();
    for (std::size_t g = 0; g < groups.size(); ++g) {
      double start_step = 0, lr = 0, momentum = 0;
      for (std::size_t i = 0; i < phases_.size(); ++i) {
        const phase& ph = phases_[i];
        if (static_cast<double>(step_num) <= ph.end_step || i == phases_.size() - 1) {
          const double pct = (static_cast<double>(step_num) - start_step) / (ph.end_step - start_step);
          lr = anneal(lrs_[g][ph.start_lr], lrs_[g][ph.end_lr], pct);
          const double momenta[2] = {options_.max_momentum, options_.base_momentum};
          momentum = anneal(momenta[ph.start_momentum], momenta[ph.end_momentum], pct);
          break;
        }
        start_step = ph.end_step;
      }
      groups[g].options.lr = lr;
      if (options_.cycle_momentum) set_momentum(groups[g].options, momentum);
    }
    this->read_lrs();
  }

  Options options_;
  std::size_t total_steps_ = 0;
  std::vector<phase> phases_;
  std::vector<std::array<double, 3>> lrs_;  // per group: initial, max, min
};

}  // namespace ctnn::optim
