#pragma once
// A learnable tensor and its gradient, with the name and shape PyTorch gives it ("conv_block_1.0.weight",
// OIHW for convolutions). Optimizers and checkpoints see parameters only through this type; state that
// is saved but not learned (running statistics) is a Buffer (buffer.hpp).
//
// requires_grad is PyTorch's flag of the same name: false freezes the parameter. SGD and Adam leave a
// frozen parameter as it is, summary() counts it as "Non-trainable params", and it is still part of
// parameters(), state_dict() and checkpoints (as in PyTorch). Its gradient is still accumulated by
// backward (the layers do not look at the flag), so freezing saves no backward work.
#include <cmath>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <numeric>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../backend/backend.hpp"
#include "../core/error.hpp"
#include "../core/random.hpp"

namespace ctnn {

namespace detail {
// While alive on this thread, copying a parameter shares its storage instead of duplicating it. An
// inference context (inference_context.hpp) copies a whole model this way: every layer's defaulted
// copy constructor passes it through, so layers need not know about contexts.
inline bool& parameters_shared_on_copy() {
  thread_local bool on = false;
  return on;
}
class share_parameters_on_copy {
 public:
  share_parameters_on_copy() : saved_(std::exchange(parameters_shared_on_copy(), true)) {}
  ~share_parameters_on_copy() { parameters_shared_on_copy() = saved_; }
  share_parameters_on_copy(const share_parameters_on_copy&) = delete;
  share_parameters_on_copy& operator=(const share_parameters_on_copy&) = delete;

 private:
  bool saved_;
};
}  // namespace detail

// A parameter's values (or gradient): a backend buffer that copies deeply, as a tensor's clone, except
// under detail::share_parameters_on_copy, where the copy refers to the same memory.
template <Backend B>
class parameter_storage {
 public:
  parameter_storage() : buffer_(std::make_shared<buffer_t<B>>()) {}
  parameter_storage(const parameter_storage& other)
      : buffer_(detail::parameters_shared_on_copy() ? other.buffer_ : std::make_shared<buffer_t<B>>(*other.buffer_)) {}
  parameter_storage(parameter_storage&&) noexcept = default;
  parameter_storage& operator=(const parameter_storage& other) {
    if (this != &other) *this = parameter_storage(other);
    return *this;
  }
  parameter_storage& operator=(parameter_storage&&) noexcept = default;

  void resize(std::size_t n) { buffer_->resize(n); }
  std::size_t size() const { return buffer_->size(); }
  scalar_t<B>* data() { return buffer_->data(); }
  const scalar_t<B>* data() const { return buffer_->data(); }
  // Whether both refer to the same memory (an inference context's parameters and its model's).
  bool shares_memory_with(const parameter_storage& other) const { return buffer_ == other.buffer_; }

 private:
  std::shared_ptr<buffer_t<B>> buffer_;
};

template <Backend B>
struct Parameter {
  using ops = backend::ops<B>;
  using scalar = scalar_t<B>;

  std::string name;
  std::vector<std::size_t> shape;
  parameter_storage<B> value;
  parameter_storage<B> grad;
  bool requires_grad = true;

  Parameter(std::string name_, std::initializer_list<std::size_t> shape_)
      : name(std::move(name_)), shape(shape_) {
    value.resize(size());
    grad.resize(size());
    ops::fill(size(), grad.data(), scalar(0));
  }

  std::size_t size() const {
    return std::accumulate(shape.begin(), shape.end(), std::size_t{1}, std::multiplies<>{});
  }
  void zero_grad() { ops::fill(size(), grad.data(), scalar(0)); }
  // PyTorch's p.requires_grad_(False): freezes (or with true unfreezes) the parameter.
  Parameter& requires_grad_(bool on = true) {
    requires_grad = on;
    return *this;
  }

  // PyTorch's default initialisation of Linear and Conv2d, number for number: weights get
  // kaiming_uniform_(a = sqrt(5)), i.e. U(-b, b) with b = sqrt(3) * gain / sqrt(fan_in) and
  // gain = sqrt(2 / (1 + a^2)); biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)). Both bounds are computed
  // as torch.nn.init computes them (in double, then cast), and the numbers come from the generator's
  // PyTorch engine, so a model seeded 42 starts where torch.manual_seed(42) starts.
  void init_kaiming_uniform(std::size_t fan_in, Generator& g) {
    const double a = std::sqrt(5.0);
    const double gain = std::sqrt(2.0 / (1.0 + a * a));
    init_uniform(std::sqrt(3.0) * (gain / std::sqrt(static_cast<double>(fan_in))), g);
  }
  void init_bias_uniform(std::size_t fan_in, Generator& g) { init_uniform(1.0 / std::sqrt(static_cast<double>(fan_in)), g); }

  void init_uniform(double bound, Generator& g) {
    std::vector<scalar> host(size());
    const auto from = static_cast<scalar>(-bound), to = static_cast<scalar>(bound);
    for (auto& v : host) v = g.torch_uniform(from, to);
    ops::from_host(host.size(), host.data(), value.data());
  }

  std::vector<scalar> values_to_host() const {
    std::vector<scalar> out(size());
    ops::to_host(size(), value.data(), out.data());
    return out;
  }
  void values_from_host(std::span<const scalar> host) {
    if (host.size() != size())
      throw error(cat("Parameter '", name, "': ", host.size(), " values for ", size(), " elements"));
    ops::from_host(host.size(), host.data(), value.data());
  }
  void grad_from_host(std::span<const scalar> host) {
    if (host.size() != size())
      throw error(cat("Parameter '", name, "': ", host.size(), " gradient values for ", size(), " elements"));
    ops::from_host(host.size(), host.data(), grad.data());
  }
  std::vector<scalar> grad_to_host() const {
    std::vector<scalar> out(size());
    ops::to_host(size(), grad.data(), out.data());
    return out;
  }
};

// "prefix.leaf", or "leaf" at the top level.
inline std::string parameter_name(std::string_view path, std::string_view leaf) {
  return path.empty() ? std::string(leaf) : std::string(path) + "." + std::string(leaf);
}

}  // namespace ctnn
