// Layers written outside the library (docs/custom_layers.md explains the contract they follow):
//   LinearRegressionModel  seed tutorial 002's nn.Module: two scalar nn.Parameter's, y = weights * x + bias
//   Swish                  y = x * sigmoid(beta * x) with a learnable beta, and its own backward
//   Softsign               y = x / (1 + |x|), through the public elementwise_activation helper
// Each is checked with the public gradient check (ctnn/testing/gradcheck.hpp); the program exits 1 if a
// check fails or if training does not reproduce PyTorch's numbers. It prints what the PyTorch
// equivalent prints (the numbers are PyTorch 1.13's, float32, one thread):
//   torch.manual_seed(42); model_0 = LinearRegressionModel()    -> weights 0.3367, bias 0.1288
//   L1Loss, SGD(lr=0.01), 100 full-batch epochs                 -> weights 0.5784, bias 0.3513
//   torch.manual_seed(42); nn.Sequential(nn.Linear(1, 16), Swish(), nn.Linear(16, 1)), MSELoss,
//   Adam(lr=0.01), 500 epochs on sin(2 pi x)                    -> train loss 0.006180, beta 3.0943
//   ./custom_layer
#include <ctnn/ctnn.hpp>
#include <ctnn/testing/gradcheck.hpp>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <numbers>
#include <string>
#include <vector>

using namespace ctnn;

// ---- functors the layers run through the backend's map/zip (on the device for Thrust and CUDA) -------

struct affine {  // w x + b
  double w, b;
  template <class T>
  CTNN_HD T operator()(T x) const { return static_cast<T>(w) * x + static_cast<T>(b); }
};
struct scaled {  // w dy
  double w;
  template <class T>
  CTNN_HD T operator()(T dy) const { return static_cast<T>(w) * dy; }
};
struct product {
  template <class T>
  CTNN_HD T operator()(T a, T b) const { return a * b; }
};
struct constant {
  double c;
  template <class T>
  CTNN_HD T operator()(T) const { return static_cast<T>(c); }
};
struct plus_constant {
  double c;
  template <class T>
  CTNN_HD T operator()(T v) const { return v + static_cast<T>(c); }
};
struct swish_value {
  double beta;
  template <class T>
  CTNN_HD T operator()(T x) const { return x / (T(1) + std::exp(-static_cast<T>(beta) * x)); }
};
// dL/dx = dy (s + beta x s (1 - s)), s = sigmoid(beta x)
struct swish_input_grad {
  double beta;
  template <class T>
  CTNN_HD T operator()(T x, T dy) const {
    const T b = static_cast<T>(beta), s = T(1) / (T(1) + std::exp(-b * x));
    return dy * (s + b * x * s * (T(1) - s));
  }
};
// dL/dbeta per element = dy x^2 s (1 - s)
struct swish_beta_grad {
  double beta;
  template <class T>
  CTNN_HD T operator()(T x, T dy) const {
    const T s = T(1) / (T(1) + std::exp(-static_cast<T>(beta) * x));
    return dy * x * x * s * (T(1) - s);
  }
};

// One value of torch.randn on the CPU: Box-Muller on two 53-bit uniforms, where PyTorch keeps the
// second (sine) value for the next call, so two randn(1) calls use one pair.
struct torch_randn {
  Generator& g;
  double cached = 0;
  bool has_cached = false;
  float operator()() {
    if (has_cached) {
      has_cached = false;
      return static_cast<float>(cached);
    }
    const double u1 = g.torch_uniform(0.0, 1.0), u2 = g.torch_uniform(0.0, 1.0);
    const double r = std::sqrt(-2.0 * std::log(1.0 - u2)), theta = 2.0 * std::numbers::pi * u1;
    cached = r * std::sin(theta);
    has_cached = true;
    return static_cast<float>(r * std::cos(theta));
  }
};

// A scalar parameter's value, read to the host (one value: cheap even from a GPU) for the functors.
template <Backend B>
double scalar_value(const Parameter<B>& p) {
  return static_cast<double>(p.values_to_host()[0]);
}
// Sets a scalar parameter's value, in the backend's memory.
template <Backend B>
void set_value(Parameter<B>& p, double v) {
  backend::ops<B>::map(1, p.value.data(), p.value.data(), constant{v});
}
// Adds g to a scalar parameter's gradient, in the backend's memory (backward accumulates).
template <Backend B>
void accumulate(Parameter<B>& p, double g) {
  backend::ops<B>::map(1, p.grad.data(), p.grad.data(), plus_constant{g});
}

// ---- (a) the seed's LinearRegressionModel ------------------------------------------------------------

struct LinearRegressionModel {
  static constexpr std::string_view type_name = "LinearRegressionModel";
  static std::string repr() { return "LinearRegressionModel()"; }

  // weights * x broadcasts the scalar over any shape, as in PyTorch.
  template <class S>
  static constexpr bool accepts = true;
  template <class S>
  using expected_input = S;
  template <class S>
  using output = S;

  template <class S, Backend B, fixed_string Path>
  class bound : public leaf_layer<LinearRegressionModel, S, S, B, Path> {
    using base = leaf_layer<LinearRegressionModel, S, S, B, Path>;
    using typename base::ops;

   public:
    static constexpr std::size_t parameter_count = 2;

    explicit bound(Generator& g) {
      torch_randn randn{g};  // nn.Parameter(torch.randn(1)) twice, in declaration order
      const float w = randn(), b = randn();
      set_value(weights_, w);
      set_value(bias_, b);
    }

    const Batch<S, B>& forward(const Batch<S, B>& x, bool /*training*/) {
      const std::size_t n = x.size();
      this->prepare_output(x);
      ops::map(n, x.data(), this->y_.data(), affine{scalar_value(weights_), scalar_value(bias_)});
      return this->y_;
    }
    // dL/dx = w dy; dL/dw = sum(x dy), dL/db = sum(dy), added to what the gradients already hold.
    const Batch<S, B>& backward(const Batch<S, B>& x, const scalar_t<B>* dy) {
      const std::size_t n = x.size();
      this->prepare_input_grad(x);
      work_.resize(x.batch_size());
      ops::zip(n, x.data(), dy, work_.data(), product{});
      accumulate(weights_, ops::sum(n, work_.data()));
      accumulate(bias_, ops::sum(n, dy));
      ops::map(n, dy, this->dx_.data(), scaled{scalar_value(weights_)});
      return this->dx_;
    }

    template <class F>
    void visit_parameters(F&& f) {
      f(weights_);
      f(bias_);
    }

   private:
    Parameter<B> weights_{parameter_name(Path.view(), "weights"), {1}};
    Parameter<B> bias_{parameter_name(Path.view(), "bias"), {1}};
    Batch<S, B> work_;  // x * dy, summed for dL/dw
  };
};

// ---- (b) Swish with a learnable beta -----------------------------------------------------------------

struct Swish {
  static constexpr std::string_view type_name = "Swish";
  static std::string repr() { return "Swish()"; }
  template <class S>
  static constexpr bool accepts = true;
  template <class S>
  using expected_input = S;
  template <class S>
  using output = S;

  template <class S, Backend B, fixed_string Path>
  class bound : public leaf_layer<Swish, S, S, B, Path> {
    using base = leaf_layer<Swish, S, S, B, Path>;
    using typename base::ops;

   public:
    static constexpr std::size_t parameter_count = 1;

    explicit bound(Generator&) {  // nn.Parameter(torch.ones(1)): no random numbers drawn
      set_value(beta_, 1.0);
    }

    const Batch<S, B>& forward(const Batch<S, B>& x, bool /*training*/) {
      this->prepare_output(x);
      ops::map(x.size(), x.data(), this->y_.data(), swish_value{scalar_value(beta_)});
      return this->y_;
    }
    // Needs x, not only y (the derivative is not a function of the output), which the contract gives:
    // backward receives the same x forward did.
    const Batch<S, B>& backward(const Batch<S, B>& x, const scalar_t<B>* dy) {
      const std::size_t n = x.size();
      const double beta = scalar_value(beta_);
      this->prepare_input_grad(x);
      work_.resize(x.batch_size());
      ops::zip(n, x.data(), dy, work_.data(), swish_beta_grad{beta});
      accumulate(beta_, ops::sum(n, work_.data()));
      ops::zip(n, x.data(), dy, this->dx_.data(), swish_input_grad{beta});
      return this->dx_;
    }

    template <class F>
    void visit_parameters(F&& f) {
      f(beta_);
    }
    double beta() const { return scalar_value(beta_); }

   private:
    Parameter<B> beta_{parameter_name(Path.view(), "beta"), {1}};
    Batch<S, B> work_;
  };
};

// ---- (c) an activation through the public helper: f and f' written through the output ----------------

struct softsign_functions {
  struct value {
    template <class T>
    CTNN_HD T operator()(T x) const { return x / (T(1) + (x < T(0) ? -x : x)); }
  };
  struct grad {  // f'(x) = 1 / (1 + |x|)^2 = (1 - |y|)^2
    template <class T>
    CTNN_HD T operator()(T y, T dy) const {
      const T a = T(1) - (y < T(0) ? -y : y);
      return dy * a * a;
    }
  };
};
struct Softsign : elementwise_activation<softsign_functions, "Softsign"> {};

static_assert(LayerSpec<LinearRegressionModel, Shape<1>, backend::eigen>);
static_assert(LayerSpec<Swish, Shape<3, 4>, backend::reference>);
static_assert(LayerSpec<Softsign, Shape<5>, backend::eigen>);

// ---- the programs --------------------------------------------------------------------------------------

namespace {

std::vector<float> arange(double start, double end, double step) {
  std::vector<float> v;
  for (std::size_t i = 0; start + static_cast<double>(i) * step < end; ++i)
    v.push_back(static_cast<float>(start + static_cast<double>(i) * step));
  return v;
}
template <class T>
Batch<Shape<1>> column(const std::vector<T>& v, std::size_t from, std::size_t to) {
  return Batch<Shape<1>>::from_host(std::span<const float>(v.data() + from, to - from));
}

bool close(double a, double b, double tolerance) { return std::abs(a - b) <= tolerance; }

// Seed tutorial 002: the straight line y = 0.7 x + 0.3, the first 40 points to train, the last 10 to test.
bool linear_regression() {
  const auto X = arange(0, 1, 0.02);
  std::vector<float> y;
  for (const float x : X) y.push_back(0.7f * x + 0.3f);
  const std::size_t n = 8 * X.size() / 10;
  const auto X_train = column(X, 0, n), y_train = column(y, 0, n);
  const auto X_test = column(X, n, X.size()), y_test = column(y, n, X.size());

  using Model = Sequential<backend::eigen, Input<1>, LinearRegressionModel>;
  Model model_0{manual_seed(42)};
  const auto initial = model_0.state_dict();
  std::printf("[Parameter containing:\ntensor([%.4f], requires_grad=True), Parameter containing:\ntensor([%.4f], requires_grad=True)]\n",
              static_cast<double>(initial[0].values[0]), static_cast<double>(initial[1].values[0]));

  L1Loss loss_fn;
  optim::SGD optimizer{model_0.parameters(), {.lr = 0.01}};
  for (std::size_t epoch = 0; epoch < 100; ++epoch) {
    model_0.train();
    const double loss = loss_fn(model_0.forward(X_train), y_train);
    optimizer.zero_grad();
    model_0.backward(loss_fn.grad());
    optimizer.step();
    model_0.eval();
    const double test_loss = loss_fn(model_0.forward(X_test), y_test);
    if (epoch % 10 == 0)
      std::printf("Epoch: %zu | MAE Train Loss: %.8f | MAE Test Loss: %.8f \n", epoch, loss, test_loss);
  }
  const auto state = model_0.state_dict();
  const double w = state[0].values[0], b = state[1].values[0];
  std::printf("OrderedDict([('%s', tensor([%.4f])), ('%s', tensor([%.4f]))])\n", state[0].name.c_str(), w,
              state[1].name.c_str(), b);
  const bool ok = close(initial[0].values[0], 0.3367, 5e-5) && close(initial[1].values[0], 0.1288, 5e-5) &&
                  close(w, 0.5784, 5e-4) && close(b, 0.3513, 5e-4);
  if (!ok) std::printf("MISMATCH: PyTorch starts at 0.3367, 0.1288 and learns weights 0.5784, bias 0.3513\n");
  return ok;
}

// A small network with the Swish layer inside it, fitted to sin(2 pi x) with Adam.
bool swish_network() {
  const auto X = arange(0, 1, 0.02);
  std::vector<float> y;
  for (const float x : X) y.push_back(std::sin(static_cast<float>(2 * std::numbers::pi) * x));
  const std::size_t n = 8 * X.size() / 10;
  const auto X_train = column(X, 0, n), y_train = column(y, 0, n);
  const auto X_test = column(X, n, X.size()), y_test = column(y, n, X.size());

  using Model = Sequential<backend::eigen, Input<1>, Linear<1, 16>, Swish, Linear<16, 1>>;
  Model model_1{manual_seed(42)};
  std::cout << model_1 << "\n";
  MSELoss loss_fn;
  optim::Adam optimizer{model_1.parameters(), {.lr = 0.01}};
  double loss = 0;
  for (std::size_t epoch = 0; epoch < 500; ++epoch) {
    model_1.train();
    loss = loss_fn(model_1.forward(X_train), y_train);
    optimizer.zero_grad();
    model_1.backward(loss_fn.grad());
    optimizer.step();
    model_1.eval();
    const double test_loss = loss_fn(model_1.forward(X_test), y_test);
    if (epoch % 100 == 0 || epoch == 499)
      std::printf("Epoch: %zu | MSE Train Loss: %.6f | MSE Test Loss: %.6f\n", epoch, loss, test_loss);
  }
  const double beta = model_1.body().get<1>().beta();
  std::printf("beta Parameter containing:\ntensor([%.4f], requires_grad=True)\n", beta);
  // Float rounding differs from PyTorch's order of operations; 500 Adam steps keep it small.
  const bool ok = close(loss, 0.006180, 2e-4) && close(beta, 3.0943, 2e-2);
  if (!ok) std::printf("MISMATCH: PyTorch ends at train loss 0.006180 and beta 3.0943\n");
  return ok;
}

bool gradient_checks() {
  const testing::GradcheckResult results[] = {
      testing::check_layer_gradients<LinearRegressionModel, Shape<3>>(),
      testing::check_layer_gradients<Swish, Shape<2, 3>>(),
      testing::check_layer_gradients<Softsign, Shape<5>>(),
      testing::check_layer_gradients<Block<Linear<1, 16>, Swish, Linear<16, 1>>, Shape<1>>({.batch = 4}),
  };
  bool ok = true;
  for (const auto& r : results) {
    std::cout << r.report();
    ok = ok && r.passed();
  }
  return ok;
}

}  // namespace

int main() try {
  std::printf("== LinearRegressionModel (seed tutorial 002)\n");
  const bool a = linear_regression();
  std::printf("\n== Linear(1, 16) -> Swish -> Linear(16, 1) on sin(2 pi x)\n");
  const bool b = swish_network();
  std::printf("\n== gradient checks (backend::reference, central differences)\n");
  const bool c = gradient_checks();
  std::printf("\n%s\n", a && b && c ? "all checks passed" : "SOME CHECKS FAILED");
  return a && b && c ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "%s\n", e.what());
  return 1;
}
