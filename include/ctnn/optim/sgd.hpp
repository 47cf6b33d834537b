#pragma once
// optim::SGD: torch.optim.SGD (PyTorch 1.13), with momentum, dampening, Nesterov momentum and L2
// weight decay, over the parameters of a model:
//   optim::SGD opt{model.parameters(), {.lr = 0.1f, .momentum = 0.9}};
//   for (...) { model.zero_grad(); ...; model.backward(loss_fn.grad()); opt.step(); }
// The update itself is the backend op sgd_update, so SGD runs on every backend unchanged. The momentum
// buffers are allocated when the optimizer is made: step() never allocates.
#include <cmath>
#include <cstddef>
#include <limits>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "../nn/parameter.hpp"

namespace ctnn::optim {

// Hyperparameters, designated-initialiser friendly: {.lr = 0.1, .momentum = 0.9}. lr is required.
struct SGDOptions {
  double lr = std::numeric_limits<double>::quiet_NaN();
  double momentum = 0;
  double dampening = 0;
  bool nesterov = false;
  double weight_decay = 0;
};

namespace detail {

template <Backend B>
void check_parameters(const std::vector<Parameter<B>*>& params, std::string_view optimizer) {
  if (params.empty()) throw error(cat(optimizer, ": optimizer got an empty parameter list"));
  for (std::size_t i = 0; i < params.size(); ++i)
    if (!params[i]) throw error(cat(optimizer, ": parameter ", i, " is a null pointer"));
}

inline void check_lr(double lr, std::string_view optimizer) {
  if (std::isnan(lr)) throw error(cat(optimizer, ": no learning rate given (set .lr)"));
  if (!(lr >= 0)) throw error(cat(optimizer, ": invalid learning rate: ", lr));
}

}  // namespace detail

template <Backend B>
class SGD {
 public:
  using backend_type = B;
  using scalar = scalar_t<B>;
  using Options = SGDOptions;

  SGD(std::vector<Parameter<B>*> params, Options options) : params_(std::move(params)), options_(options) {
    detail::check_parameters(params_, "SGD");
    detail::check_lr(options_.lr, "SGD");
    if (!(options_.momentum >= 0)) throw error(cat("SGD: invalid momentum value: ", options_.momentum));
    if (!(options_.weight_decay >= 0)) throw error(cat("SGD: invalid weight_decay value: ", options_.weight_decay));
    if (options_.nesterov && (options_.momentum <= 0 || options_.dampening != 0))
      throw error("SGD: Nesterov momentum requires a momentum and zero dampening");
    if (options_.momentum != 0) {
      momentum_buffers_.resize(params_.size());
      for (std::size_t i = 0; i < params_.size(); ++i) momentum_buffers_[i].resize(params_[i]->size());
    }
  }

  // One update of every parameter from its accumulated gradient.
  void step() {
    const bool momentum = options_.momentum != 0;
    for (std::size_t i = 0; i < params_.size(); ++i) {
      Parameter<B>& p = *params_[i];
      if (!p.requires_grad) continue;  // frozen (PyTorch: grad is None, step skips it)
      backend::ops<B>::sgd_update(p.size(), p.grad.data(), p.value.data(),
                                  momentum ? momentum_buffers_[i].data() : nullptr, static_cast<scalar>(options_.lr),
                                  static_cast<scalar>(options_.momentum), static_cast<scalar>(options_.dampening),
                                  static_cast<scalar>(options_.weight_decay), options_.nesterov, steps_ == 0);
    }
    ++steps_;
  }

  // Zeroes the gradient of every parameter (PyTorch 1.13's default, set_to_none = False).
  void zero_grad() {
    for (auto* p : params_) p->zero_grad();
  }

  double lr() const { return options_.lr; }
  void set_lr(double lr) {
    detail::check_lr(lr, "SGD::set_lr");
    options_.lr = lr;
  }
  const Options& options() const { return options_; }
  const std::vector<Parameter<B>*>& parameters() const { return params_; }
  std::size_t steps() const { return steps_; }

 private:
  std::vector<Parameter<B>*> params_;
  Options options_;
  std::vector<buffer_t<B>> momentum_buffers_;
  std::size_t steps_ = 0;
};

}  // namespace ctnn::optim
