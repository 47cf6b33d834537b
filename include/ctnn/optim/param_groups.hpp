#pragma once
// Parameter groups, as torch.optim's param_groups: every optimizer holds a list of groups, each a list of
// parameters with its own complete options (lr, weight_decay, ...). A group is given by its parameters and
// the options it overrides; the rest come from the optimizer's defaults:
//   optim::SGD<backend::eigen> opt({{decay, {.weight_decay = 5e-4}}, {no_decay, {.weight_decay = 0}}},
//                                  {.lr = 0.1, .momentum = 0.9});
// Schedulers change every group's lr (param_groups()[i].options.lr). split_parameters picks groups out of
// model.parameters() by a predicate on the parameter (its name, e.g. biases).
//
// Optimizer<B, Options, GroupOptions> is the base each optimizer derives from: groups, zero_grad, lr.
// GroupOptions is Options with every field std::optional and apply(Options&) writing the set ones.
#include <cmath>
#include <cstddef>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "../core/config.hpp"
#include "../core/error.hpp"
#include "../nn/parameter.hpp"

namespace ctnn::optim {

// One group as given to an optimizer: parameters and the options that differ from the defaults.
template <Backend B, class GroupOptions>
struct ParamGroupSpec {
  std::vector<Parameter<B>*> params;
  GroupOptions options = {};
};

// One group as the optimizer holds it: torch's param_groups[i] (options complete).
template <Backend B, class Options>
struct ParamGroup {
  std::vector<Parameter<B>*> params;
  Options options;
};

// model.parameters() split by a predicate on Parameter<B>: {those it accepts, the others}, order kept.
//   auto [no_decay, decay] = optim::split_parameters(model.parameters(), optim::is_bias_or_norm<B>);
template <Backend B, class Predicate>
std::pair<std::vector<Parameter<B>*>, std::vector<Parameter<B>*>> split_parameters(
    const std::vector<Parameter<B>*>& params, Predicate predicate) {
  std::pair<std::vector<Parameter<B>*>, std::vector<Parameter<B>*>> out;
  for (auto* p : params) (predicate(static_cast<const Parameter<B>&>(*p)) ? out.first : out.second).push_back(p);
  return out;
}

// The usual "no weight decay" set: biases and one-dimensional parameters (BatchNorm's weight and bias).
template <Backend B>
bool is_bias_or_norm(const Parameter<B>& p) {
  const std::string_view name = p.name;
  return p.shape.size() == 1 || (name.size() >= 4 && name.substr(name.size() - 4) == "bias");
}

// A learning rate given positionally (any arithmetic type but bool).
template <class T>
concept LearningRate = std::is_arithmetic_v<T> && !std::is_same_v<T, bool>;

namespace detail {

inline void check_lr(double lr, std::string_view optimizer) {
  if (std::isnan(lr)) throw error(cat(optimizer, ": no learning rate given (set .lr)"));
  if (!(lr >= 0)) throw error(cat(optimizer, ": invalid learning rate: ", lr));
}

inline void check_nonnegative(double value, std::string_view optimizer, std::string_view what) {
  if (!(value >= 0)) throw error(cat(optimizer, ": invalid ", what, " value: ", value));
}

// grad = -grad, for maximize. The update ops minimise; negating the gradient before and after the step
// is exact in floating point, so the caller's gradient comes back bit for bit, as torch leaves it.
struct negate {
  template <class T>
  CTNN_HD T operator()(T x) const { return -x; }
};
template <Backend B>
void negate_grad(Parameter<B>& p) {
  backend::ops<B>::map(p.size(), p.grad.data(), p.grad.data(), negate{});
}

}  // namespace detail

template <Backend B, class OptionsT, class GroupOptionsT>
class Optimizer {
 public:
  using backend_type = B;
  using scalar = scalar_t<B>;
  using Options = OptionsT;
  using GroupOptions = GroupOptionsT;
  using Group = ParamGroup<B, Options>;
  using GroupSpec = ParamGroupSpec<B, GroupOptions>;

  // Zeroes the gradient of every parameter (PyTorch 1.13's default, set_to_none = False).
  void zero_grad() {
    for (auto& g : groups_)
      for (auto* p : g.params) p->zero_grad();
  }

  // Group 0's learning rate; set_lr sets every group's.
  double lr() const { return groups_.front().options.lr; }
  void set_lr(double lr) {
    detail::check_lr(lr, name_);
    for (auto& g : groups_) g.options.lr = lr;
  }
  // The defaults (the options of a group that overrides nothing).
  const Options& options() const { return defaults_; }
  std::vector<Group>& param_groups() { return groups_; }
  const std::vector<Group>& param_groups() const { return groups_; }
  // Every parameter, group after group (the index optimizer state is kept under).
  const std::vector<Parameter<B>*>& parameters() const { return flat_; }
  std::string_view name() const { return name_; }

 protected:
  Optimizer(std::string_view name, std::vector<GroupSpec> specs, Options defaults)
      : name_(name), defaults_(defaults) {
    if (specs.empty()) throw error(cat(name_, ": optimizer got an empty parameter list"));
    for (auto& spec : specs) {
      Group g{std::move(spec.params), defaults_};
      spec.options.apply(g.options);
      if (g.params.empty()) throw error(cat(name_, ": optimizer got an empty parameter list"));
      for (auto* p : g.params) {
        if (!p) throw error(cat(name_, ": parameter ", flat_.size(), " is a null pointer"));
        for (auto* q : flat_)
          if (q == p) throw error(cat(name_, ": some parameters appear in more than one parameter group"));
        flat_.push_back(p);
      }
      groups_.push_back(std::move(g));
    }
  }
  static buffer_t<B> zeros(std::size_t n) {
    buffer_t<B> b;
    b.resize(n);
    backend::ops<B>::fill(n, b.data(), scalar(0));
    return b;
  }
  static std::vector<GroupSpec> one_group(std::vector<Parameter<B>*> params) {
    std::vector<GroupSpec> out(1);
    out[0].params = std::move(params);
    return out;
  }

  // f(group options, parameter, flat index) for every parameter that takes a step (frozen ones are
  // skipped: in PyTorch their grad is None); with maximize the gradient is negated around f.
  template <class F>
  void for_each_trainable(F f) {
    std::size_t index = 0;
    for (auto& g : groups_)
      for (auto* p : g.params) {
        const std::size_t i = index++;
        if (!p->requires_grad) continue;
        const bool maximize = g.options.maximize;
        if (maximize) detail::negate_grad(*p);
        f(static_cast<const Options&>(g.options), *p, i);
        if (maximize) detail::negate_grad(*p);
      }
  }

  std::string_view name_;
  Options defaults_;
  std::vector<Group> groups_;
  std::vector<Parameter<B>*> flat_;
};

}  // namespace ctnn::optim
