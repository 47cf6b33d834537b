#pragma once
// Elementwise activations (ReLU, Sigmoid, Tanh, LeakyReLU, ELU, GELU, SiLU, Softplus, Hardswish) and
// the row-wise Softmax and LogSoftmax (over the features of a [batch, features] input, PyTorch's dim=1).
#include <cmath>
#include <concepts>
#include <string>
#include <type_traits>

#include "../core/config.hpp"
#include "layer.hpp"
#include "real_parameter.hpp"

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
// The derivative is written through the output y when it can be (Sigmoid, Tanh). When it cannot (GELU,
// SiLU: y does not determine x), Functions names it input_grad instead, a functor of x and dL/dy: the
// input batch is the previous layer's output, alive until backward, so that costs no copy either. The
// optional static extra_repr() is what PyTorch prints between the parentheses. The functors run
// inside backend ops (ops::map and ops::zip), on the device for Thrust and CUDA: mark them CTNN_HD and
// use only what a kernel may call. value may also offer array_expression(a): the same function on a
// whole Eigen array, which the Eigen backend uses because Eigen vectorises exp and tanh (std::exp and
// std::tanh are scalar calls, 10-20 ns a value). It is a template, so headers that never call it need
// no Eigen.
template <class F>
concept GradFromOutput = requires(float xf, double xd) {
  { typename F::grad{}(xf, xf) } -> std::same_as<float>;
  { typename F::grad{}(xd, xd) } -> std::same_as<double>;
};
template <class F>
concept GradFromInput = requires(float xf, double xd) {
  { typename F::input_grad{}(xf, xf) } -> std::same_as<float>;
  { typename F::input_grad{}(xd, xd) } -> std::same_as<double>;
};
template <class F>
concept ActivationFunctions = requires(float xf, double xd) {
  { typename F::value{}(xf) } -> std::same_as<float>;
  { typename F::value{}(xd) } -> std::same_as<double>;
} && (GradFromOutput<F> != GradFromInput<F>);  // exactly one of grad and input_grad

template <ActivationFunctions Functions, fixed_string Name>
struct elementwise_activation {
  static constexpr std::string_view type_name = Name.view();
  static std::string repr() {
    if constexpr (requires { Functions::extra_repr(); })
      return std::string(Name.view()) + "(" + Functions::extra_repr() + ")";
    else
      return std::string(Name.view()) + "()";
  }

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
      if constexpr (GradFromInput<Functions>)
        ops::zip(x.size(), x.data(), dy, this->dx_.data(), typename Functions::input_grad{});
      else
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

// The functors below follow PyTorch's CPU kernels (aten/src/ATen/native/cpu/Activation.cpp), including
// which side of a kink the derivative takes, and stay finite in float over the whole real line.
template <real_parameter Slope>
struct leaky_relu_functions {
  struct value {
    template <class T>
    CTNN_HD T operator()(T x) const { return x > T(0) ? x : x * static_cast<T>(Slope); }
  };
  struct input_grad {  // from x: with a negative slope the output's sign does not tell the side
    template <class T>
    CTNN_HD T operator()(T x, T dy) const { return x > T(0) ? dy : dy * static_cast<T>(Slope); }
  };
  static std::string extra_repr() { return "negative_slope=" + python_float(Slope); }
};
template <real_parameter Alpha>
struct elu_functions {
  struct value {
    template <class T>
    CTNN_HD T operator()(T x) const { return x > T(0) ? x : static_cast<T>(Alpha) * std::expm1(x); }
  };
  struct input_grad {
    template <class T>
    CTNN_HD T operator()(T x, T dy) const { return x > T(0) ? dy : dy * static_cast<T>(Alpha) * std::exp(x); }
  };
  static std::string extra_repr() { return "alpha=" + python_float(Alpha); }
};
// 0.5 x erfc(-x / sqrt 2) is 0.5 x (1 + erf(x / sqrt 2)) without the cancellation of 1 + erf for x << 0.
struct gelu_functions {
  struct value {
    template <class T>
    CTNN_HD T operator()(T x) const { return T(0.5) * x * std::erfc(-x * static_cast<T>(0.70710678118654752440)); }
  };
  struct input_grad {  // Phi(x) + x phi(x)
    template <class T>
    CTNN_HD T operator()(T x, T dy) const {
      const T cdf = T(0.5) * std::erfc(-x * static_cast<T>(0.70710678118654752440));
      const T pdf = static_cast<T>(0.39894228040143267794) * std::exp(T(-0.5) * x * x);
      return dy * (cdf + x * pdf);
    }
  };
  static std::string extra_repr() { return "approximate='none'"; }
};
// 0.5 x (1 + tanh(u)) written as x sigmoid(2 u): 1 + tanh(u) loses every digit in float once
// tanh(u) rounds to -1 (x < -4), while the sigmoid's exp(-2 u) keeps them.
struct gelu_tanh_functions {
  template <class T>
  static CTNN_HD T inner(T x) {
    return static_cast<T>(0.79788456080286535588) * (x + static_cast<T>(0.044715) * x * x * x);
  }
  struct value {
    template <class T>
    CTNN_HD T operator()(T x) const { return x / (T(1) + std::exp(T(-2) * inner(x))); }
  };
  struct input_grad {  // with s = sigmoid(2u): 0.5 (1 + tanh u) = s, 0.5 (1 - tanh^2 u) = 2 s (1 - s)
    template <class T>
    CTNN_HD T operator()(T x, T dy) const {
      const T u = inner(x);
      const T s = T(1) / (T(1) + std::exp(T(-2) * u));
      const T not_s = T(1) / (T(1) + std::exp(T(2) * u));
      const T du = static_cast<T>(0.79788456080286535588) * (T(1) + static_cast<T>(3 * 0.044715) * x * x);
      return dy * (s + T(2) * x * s * not_s * du);
    }
  };
  static std::string extra_repr() { return "approximate='tanh'"; }
};
struct silu_functions {
  struct value {
    template <class T>
    CTNN_HD T operator()(T x) const { return x / (T(1) + std::exp(-x)); }
  };
  struct input_grad {  // s (1 + x (1 - s)), s = sigmoid(x); exp(-x) = inf for x << 0 gives s = 0, not NaN
    template <class T>
    CTNN_HD T operator()(T x, T dy) const {
      const T s = T(1) / (T(1) + std::exp(-x));
      return dy * s * (T(1) + x * (T(1) - s));
    }
  };
};
// Linear above the threshold (in beta x), as PyTorch: there log1p(exp(beta x)) / beta equals x to
// within exp(-threshold) and exp would overflow in float beyond beta x = 88.
template <real_parameter Beta, real_parameter Threshold>
struct softplus_functions {
  struct value {
    template <class T>
    CTNN_HD T operator()(T x) const {
      const T bx = x * static_cast<T>(Beta);
      return bx > static_cast<T>(Threshold) ? x : std::log1p(std::exp(bx)) / static_cast<T>(Beta);
    }
  };
  struct input_grad {
    template <class T>
    CTNN_HD T operator()(T x, T dy) const {
      const T bx = x * static_cast<T>(Beta);
      if (bx > static_cast<T>(Threshold)) return dy;
      const T z = std::exp(bx);
      return dy * z / (z + T(1));
    }
  };
  static std::string extra_repr() { return "beta=" + python_number(Beta) + ", threshold=" + python_number(Threshold); }
};
// PyTorch's kinks: the middle piece's derivative on [-3, 3), so -0.5 at -3 and 1 at 3 (PyTorch 1.13's
// vectorized kernel, which every tensor of 8 values or more goes through; its scalar tail says 1.5).
struct hardswish_functions {
  struct value {
    template <class T>
    CTNN_HD T operator()(T x) const {
      const T r = x + T(3) < T(0) ? T(0) : (x + T(3) > T(6) ? T(6) : x + T(3));
      return x * r / T(6);
    }
  };
  struct input_grad {
    template <class T>
    CTNN_HD T operator()(T x, T dy) const {
      if (x < T(-3)) return T(0);
      if (x < T(3)) return dy * (x / T(3) + T(0.5));
      return dy;
    }
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
// LeakyReLU<0.2>: PyTorch's nn.LeakyReLU(negative_slope=0.2); the default slope is PyTorch's 0.01.
template <real_parameter NegativeSlope = 0.01>
struct LeakyReLU : elementwise_activation<detail::leaky_relu_functions<NegativeSlope>, "LeakyReLU"> {};
template <real_parameter Alpha = 1.0>
struct ELU : elementwise_activation<detail::elu_functions<Alpha>, "ELU"> {};
// GELU's `approximate`: PyTorch's string argument as an enum, GELU<approximate::tanh>.
enum class approximate { none, tanh };
template <approximate Approximate = approximate::none>
struct GELU : elementwise_activation<std::conditional_t<Approximate == approximate::none, detail::gelu_functions,
                                                        detail::gelu_tanh_functions>,
                                     "GELU"> {};
struct SiLU : elementwise_activation<detail::silu_functions, "SiLU"> {};
template <real_parameter Beta = 1.0, real_parameter Threshold = 20.0>
struct Softplus : elementwise_activation<detail::softplus_functions<Beta, Threshold>, "Softplus"> {
  static_assert(real_value(Beta) != 0.0, "ctnn: Softplus<Beta, Threshold> needs a nonzero Beta");
};
struct Hardswish : elementwise_activation<detail::hardswish_functions, "Hardswish"> {};
struct Softmax : detail::row_softmax<false, "Softmax"> {};
struct LogSoftmax : detail::row_softmax<true, "LogSoftmax"> {};

}  // namespace ctnn
