#pragma once
// optim::Adam: torch.optim.Adam (PyTorch 1.13, amsgrad = False). Weight decay is L2 added to the
// gradient, as torch.optim.Adam does (not AdamW's decoupled decay). Bias corrections as PyTorch:
//   step_size = lr / (1 - beta1^t),  denom = sqrt(v) / sqrt(1 - beta2^t) + eps,  param -= step_size m / denom
//   optim::Adam opt{model.parameters(), {.lr = 1e-3, .betas = {0.9, 0.999}}};
// The update is the backend op adam_update; the moment buffers are allocated (zeroed) when the
// optimizer is made, so step() never allocates.
#include <array>
#include <cmath>
#include <cstddef>
#include <utility>
#include <vector>

#include "sgd.hpp"

namespace ctnn::optim {

struct AdamOptions {
  double lr = 1e-3;
  std::array<double, 2> betas = {0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 0;
};

template <Backend B>
class Adam {
 public:
  using backend_type = B;
  using scalar = scalar_t<B>;
  using Options = AdamOptions;

  Adam(std::vector<Parameter<B>*> params, Options options = {}) : params_(std::move(params)), options_(options) {
    detail::check_parameters(params_, "Adam");
    detail::check_lr(options_.lr, "Adam");
    if (!(options_.eps >= 0)) throw error(cat("Adam: invalid epsilon value: ", options_.eps));
    for (std::size_t i = 0; i < 2; ++i)
      if (!(options_.betas[i] >= 0 && options_.betas[i] < 1))
        throw error(cat("Adam: invalid beta parameter at index ", i, ": ", options_.betas[i]));
    if (!(options_.weight_decay >= 0)) throw error(cat("Adam: invalid weight_decay value: ", options_.weight_decay));
    exp_avg_.resize(params_.size());
    exp_avg_sq_.resize(params_.size());
    for (std::size_t i = 0; i < params_.size(); ++i) {
      const std::size_t n = params_[i]->size();
      exp_avg_[i].resize(n);
      exp_avg_sq_[i].resize(n);
      backend::ops<B>::fill(n, exp_avg_[i].data(), scalar(0));
      backend::ops<B>::fill(n, exp_avg_sq_[i].data(), scalar(0));
    }
  }

  void step() {
    ++steps_;
    const double t = static_cast<double>(steps_);
    const double bias_correction1 = 1 - std::pow(options_.betas[0], t);
    const double bias_correction2 = 1 - std::pow(options_.betas[1], t);
    const double step_size = options_.lr / bias_correction1;
    const double bias_correction2_sqrt = std::sqrt(bias_correction2);
    for (std::size_t i = 0; i < params_.size(); ++i) {
      Parameter<B>& p = *params_[i];
      if (!p.requires_grad) continue;  // frozen (PyTorch: grad is None, step skips it)
      backend::ops<B>::adam_update(p.size(), p.grad.data(), p.value.data(), exp_avg_[i].data(), exp_avg_sq_[i].data(),
                                   static_cast<scalar>(options_.betas[0]), static_cast<scalar>(options_.betas[1]),
                                   static_cast<scalar>(options_.eps), static_cast<scalar>(options_.weight_decay),
                                   static_cast<scalar>(step_size), static_cast<scalar>(bias_correction2_sqrt));
    }
  }

  void zero_grad() {
    for (auto* p : params_) p->zero_grad();
  }

  double lr() const { return options_.lr; }
  void set_lr(double lr) {
    detail::check_lr(lr, "Adam::set_lr");
    options_.lr = lr;
  }
  const Options& options() const { return options_; }
  const std::vector<Parameter<B>*>& parameters() const { return params_; }
  // Steps taken so far (PyTorch's state['step']).
  std::size_t steps() const { return steps_; }

 private:
  std::vector<Parameter<B>*> params_;
  Options options_;
  std::vector<buffer_t<B>> exp_avg_, exp_avg_sq_;
  std::size_t steps_ = 0;
};

}  // namespace ctnn::optim
