#pragma once
// Elementwise activations (ReLU, Sigmoid, Tanh) and the row-wise Softmax and LogSoftmax (over the
// features of a [batch, features] input, PyTorch's dim=1).
#include <cmath>
#include <concepts>
#include <string>

#include "../core/config.hpp"
#include "layer.hpp"

namespace ctnn {

// elementwise_activation<Functions, "Name">: a parameter-free layer y = f(x) applied to every value, for
// any input shape; ReLU, Sigmoid and Tanh are three of them, and a user's own is one line more:
//   struct softsign_functions {
//     struct value { template <class T> CTNN_HD T operator()(T x) const { return x / (T(1) + std::abs(x)); } };
//     struct grad {  // dL/dx from the output y and dL/dy: f'(x) = (1 - |y|)^2
//       template <class T> CTNN_HD T operator()(T y, T dy) const { return dy * (T(1) - std::abs(y)) * (T(1) - std::abs(y)); }
//     };
//   };
//   struct Softsign : ctnn::elementwise_activation<softsign_functions, "Softsign"> {};
// The derivative is written through the output because forward keeps y (no copy of x is needed); an
// activation whose derivative needs x is a layer of its own (docs/custom_layers.md). The functors run
// inside backend ops (ops::map and ops::zip), on the device for Thrust and CUDA: mark them CTNN_HD and
// use only what a kernel may call. value may also offer array_expression(a): the same function on a
// whole Eigen array, which the Eigen backend uses because Eigen vectorises exp and tanh (std::exp and
// std::tanh are scalar calls, 10-20 ns a value). It is a template, so headers that never call it need
// no Eigen.
template <class F>
concept ActivationFunctions = requires(float xf, double xd) {
  { typename F::value{}(xf) } -> std::same_as<float>;
  { typename F::value{}(xd) } -> std::same_as<double>;
  { typename F::grad{}(xf, xf) } -> std::same_as<float>;
  { typename F::grad{}(xd, xd) } -> std::same_as<double>;
};

template <ActivationFunctions Functions, fixed_string Name>
struct elementwise_activation {
  static constexpr std::string_view type_name = Name.view();
  static std::string repr() { return std::string(Name.view()) + "()"; }

  template <class S>
  static constexpr bool accepts = true;
  template <class S>
  using expected_input = S;
  template <class S>
  using output = S;

  template <class S, Backend B, fixed_string Path>
  class bound : public leaf_layer<elementwise_activation, S, S, B, Path>, public no_parameters {
    using base = leaf_layer<elementwise_activation, S, S, B, Path>;
    using typename base::ops;
    using typename base::scalar;

   public:
    explicit bound(Generator&) {}
    const Batch<S, B>& forward(const Batch<S, B>& x, bool /*training*/) {
      this->prepare_output(x);
      ops::map(x.size(), x.data(), this->y_.data(), typename Functions::value{});
      return this->y_;
    }
    const Batch<S, B>& backward(const Batch<S, B>& x, const scalar* dy) {
      this->prepare_input_grad(x);
      ops::zip(x.size(), this->y_.data(), dy, this->dx_.data(), typename Functions::grad{});
      return this->dx_;
    }
  };
};

namespace detail {

struct relu_functions {
  struct value {
    template <class T>
    CTNN_HD T operator()(T x) const { return x > T(0) || x != x ? x : T(0); }  // NaN stays NaN, as in PyTorch
  };
  struct grad {  // PyTorch passes the gradient where the output is positive
    template <class T>
    CTNN_HD T operator()(T y, T dy) const { return y > T(0) ? dy : T(0); }
  };
};
struct sigmoid_functions {
  struct value {
    template <class T>
    CTNN_HD T operator()(T x) const { return T(1) / (T(1) + std::exp(-x)); }
    template <class A>
    static auto array_expression(const A& x) { return x.logistic(); }
  };
  struct grad {
    template <class T>
    CTNN_HD T operator()(T y, T dy) const { return dy * y * (T(1) - y); }
  };
};
struct tanh_functions {
  struct value {
    template <class T>
    CTNN_HD T operator()(T x) const { return std::tanh(x); }
    template <class A>
    static auto array_expression(const A& x) { return x.tanh(); }
  };
  struct grad {
    template <class T>
    CTNN_HD T operator()(T y, T dy) const { return dy * (T(1) - y * y); }
  };
};

template <bool Log, fixed_string Name>
struct row_softmax {
  static constexpr std::string_view type_name = Name.view();
  static std::string repr() { return std::string(Name.view()) + "(dim=1)"; }

  template <class S>
  static constexpr bool accepts = S::rank == 1;
  template <class S>
  using expected_input = Shape<S::size>;
  template <class S>
  using output = S;

  template <class S, Backend B, fixed_string Path>
  class bound : public leaf_layer<row_softmax, S, S, B, Path>, public no_parameters {
    using base = leaf_layer<row_softmax, S, S, B, Path>;
    using typename base::ops;
    using typename base::scalar;

   public:
    explicit bound(Generator&) {}
    const Batch<S, B>& forward(const Batch<S, B>& x, bool /*training*/) {
      const std::size_t n = this->prepare_output(x);
      if constexpr (Log) ops::log_softmax_rows(n, S::size, x.data(), this->y_.data());
      else ops::softmax_rows(n, S::size, x.data(), this->y_.data());
      return this->y_;
    }
    const Batch<S, B>& backward(const Batch<S, B>& x, const scalar* dy) {
      const std::size_t n = this->prepare_input_grad(x);
      if constexpr (Log) ops::log_softmax_backward(n, S::size, this->y_.data(), dy, this->dx_.data());
      else ops::softmax_backward(n, S::size, this->y_.data(), dy, this->dx_.data());
      return this->dx_;
    }
  };
};

}  // namespace detail

struct ReLU : elementwise_activation<detail::relu_functions, "ReLU"> {};
struct Sigmoid : elementwise_activation<detail::sigmoid_functions, "Sigmoid"> {};
struct Tanh : elementwise_activation<detail::tanh_functions, "Tanh"> {};
struct Softmax : detail::row_softmax<false, "Softmax"> {};
struct LogSoftmax : detail::row_softmax<true, "LogSoftmax"> {};

}  // namespace ctnn
