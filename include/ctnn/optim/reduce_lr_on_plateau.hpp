#pragma once
// optim::ReduceLROnPlateau: torch.optim.lr_scheduler.ReduceLROnPlateau (PyTorch 1.13): step(metric) once
// per epoch; when the metric has not improved for more than `patience` epochs, every group's lr is
// multiplied by factor (not below min_lr; changes smaller than eps are skipped), then `cooldown` epochs
// pass before bad epochs count again. Options in torch's order:
//   optim::ReduceLROnPlateau scheduler{opt, {.mode = "max", .factor = 0.5, .patience = 2}};
//   scheduler.step(test_accuracy);
#include <algorithm>
#include <cstddef>
#include <limits>
#include <string_view>
#include <utility>
#include <vector>

#include "scheduler.hpp"

namespace ctnn::optim {

struct ReduceLROnPlateauOptions {
  std::string_view mode = "min";  // "min" or "max"
  double factor = 0.1;
  std::size_t patience = 10;
  double threshold = 1e-4;
  std::string_view threshold_mode = "rel";  // "rel" or "abs"
  std::size_t cooldown = 0;
  double min_lr = 0;  // for every group; min_lrs (below) for one per group
  double eps = 1e-8;
  std::vector<double> min_lrs = {};
};

template <LearningRateOptimizer Optimizer>
class ReduceLROnPlateau : public LRScheduler<Optimizer> {
 public:
  using Options = ReduceLROnPlateauOptions;

  explicit ReduceLROnPlateau(Optimizer& optimizer, Options options = {})
      : LRScheduler<Optimizer>(optimizer), options_(std::move(options)) {
    if (options_.factor >= 1.0) throw error("ReduceLROnPlateau: Factor should be < 1.0.");
    if (options_.mode != "min" && options_.mode != "max")
      throw error(cat("ReduceLROnPlateau: mode ", options_.mode, " is unknown!"));
    if (options_.threshold_mode != "rel" && options_.threshold_mode != "abs")
      throw error(cat("ReduceLROnPlateau: threshold mode ", options_.threshold_mode, " is unknown!"));
    const std::size_t groups = optimizer.param_groups().size();
    if (options_.min_lrs.empty()) options_.min_lrs.assign(groups, options_.min_lr);
    if (options_.min_lrs.size() != groups)
      throw error(cat("ReduceLROnPlateau: expected ", groups, " min_lrs, got ", options_.min_lrs.size()));
    best_ = worse();
  }

  void step(double metric) {
    ++this->last_epoch_;
    if (is_better(metric, best_)) {
      best_ = metric;
      num_bad_epochs_ = 0;
    } else {
      ++num_bad_epochs_;
    }
    if (cooldown_counter_ > 0) {
      --cooldown_counter_;
      num_bad_epochs_ = 0;  // bad epochs in cooldown do not count
    }
    if (num_bad_epochs_ > options_.patience) {
      this->update([&](std::size_t i, double lr) {
        const double reduced = std::max(lr * options_.factor, options_.min_lrs[i]);
        return lr - reduced > options_.eps ? reduced : lr;
      });
      cooldown_counter_ = options_.cooldown;
      num_bad_epochs_ = 0;
    }
    this->read_lrs();
  }

  double best() const { return best_; }
  std::size_t num_bad_epochs() const { return num_bad_epochs_; }
  std::size_t cooldown_counter() const { return cooldown_counter_; }
  bool in_cooldown() const { return cooldown_counter_ > 0; }
  const Options& options() const { return options_; }
  // For checkpoints (checkpoint.hpp).
  void restore_plateau(double best, std::size_t num_bad_epochs, std::size_t cooldown_counter) {
    best_ = best;
    num_bad_epochs_ = num_bad_epochs;
    cooldown_counter_ = cooldown_counter;
  }

 private:
  double worse() const {
    return options_.mode == "min" ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
  }
  bool is_better(double a, double best) const {
    const bool rel = options_.threshold_mode == "rel";
    if (options_.mode == "min") return rel ? a < best * (1. - options_.threshold) : a < best - options_.threshold;
    return rel ? a > best * (options_.threshold + 1.) : a > best + options_.threshold;
  }

  Options options_;
  double best_;
  std::size_t num_bad_epochs_ = 0, cooldown_counter_ = 0;
};

}  // namespace ctnn::optim
