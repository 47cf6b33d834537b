// Forward and backward of each layer at the seed tutorials' shapes, and the GEMM kernel itself.
// Run: ./build/benchmarks/bench_layers   (prints the thread count; compare ratios, not times)
#include <benchmark/benchmark.h>

#include <ctnn/nn.hpp>
#include <ctnn/backend/eigen.hpp>

#include "models.hpp"

using namespace ctnn;
using B = backend::eigen;

namespace {

template <class Model>
void fill_input(typename Model::input_batch& x, std::size_t n) {
  x.resize(n);
  Generator g{7};
  backend::ops<B>::fill_uniform(x.size(), x.data(), 0.0, 1.0, g);
}

// One layer as a one-layer Sequential: forward, then backward of a gradient of ones.
template <class Layer, std::size_t... In>
void layer_forward_backward(benchmark::State& state) {
  using Model = Sequential<B, Input<In...>, Layer>;
  const auto n = static_cast<std::size_t>(state.range(0));
  Model model{manual_seed(0)};
  typename Model::input_batch x;
  fill_input<Model>(x, n);
  typename Model::output_batch dy(n);
  backend::ops<B>::fill(dy.size(), dy.data(), 1.0f);
  for (auto _ : state) {
    benchmark::DoNotOptimize(model.forward(x).data());
    benchmark::DoNotOptimize(model.backward(dy).data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
  state.counters["threads"] = static_cast<double>(ctnn::get_num_threads());
}

template <class Layer, std::size_t... In>
void layer_forward(benchmark::State& state) {
  using Model = Sequential<B, Input<In...>, Layer>;
  const auto n = static_cast<std::size_t>(state.range(0));
  Model model{manual_seed(0)};
  model.eval();
  typename Model::input_batch x;
  fill_input<Model>(x, n);
  for (auto _ : state) benchmark::DoNotOptimize(model.forward(x).data());
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
  state.counters["threads"] = static_cast<double>(ctnn::get_num_threads());
}

// C[m,n] = A[m,k] B[k,n]: the op every Linear and Conv2d runs; reports GFLOP/s.
void gemm(benchmark::State& state) {
  const auto m = static_cast<std::size_t>(state.range(0)), n = static_cast<std::size_t>(state.range(1)),
             k = static_cast<std::size_t>(state.range(2));
  std::vector<float> a(m * k, 0.5f), b(k * n, 0.25f), c(m * n);
  for (auto _ : state) {
    backend::ops<B>::gemm(false, false, m, n, k, 1.0f, a.data(), b.data(), 0.0f, c.data());
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(m * n * k) * static_cast<double>(state.iterations()),
                                                 benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
  state.counters["threads"] = static_cast<double>(ctnn::get_num_threads());
}

}  // namespace

#define CTNN_LAYER_BENCH(name, ...)                                                 \
  BENCHMARK_TEMPLATE(layer_forward_backward, __VA_ARGS__)->Name(name "/fwd+bwd")->Arg(32)->Arg(64); \
  BENCHMARK_TEMPLATE(layer_forward, __VA_ARGS__)->Name(name "/fwd")->Arg(32)->Arg(64)

CTNN_LAYER_BENCH("Linear<784,10>", Linear<784, 10>, 784);
CTNN_LAYER_BENCH("Linear<784,256>", Linear<784, 256>, 784);
CTNN_LAYER_BENCH("Linear<784,1024>", Linear<784, 1024>, 784);
CTNN_LAYER_BENCH("Conv2d<1,10,3,1,1>@28", Conv2d<1, 10, 3, 1, 1>, 1, 28, 28);
CTNN_LAYER_BENCH("Conv2d<10,10,3,1,1>@28", Conv2d<10, 10, 3, 1, 1>, 10, 28, 28);
CTNN_LAYER_BENCH("Conv2d<10,10,3,1,1>@14", Conv2d<10, 10, 3, 1, 1>, 10, 14, 14);
CTNN_LAYER_BENCH("MaxPool2d<2>@28", MaxPool2d<2>, 10, 28, 28);
CTNN_LAYER_BENCH("ReLU@10x28x28", ReLU, 10, 28, 28);
CTNN_LAYER_BENCH("Tanh@1024", Tanh, 1024);
CTNN_LAYER_BENCH("Sigmoid@256", Sigmoid, 256);
CTNN_LAYER_BENCH("Dropout<0.3>@1024", Dropout<0.3>, 1024);
CTNN_LAYER_BENCH("Flatten@10x7x7", Flatten, 10, 7, 7);
CTNN_LAYER_BENCH("LogSoftmax@10", LogSoftmax, 10);

BENCHMARK(gemm)->Args({10, 784, 90})->Args({10, 196, 90})->Args({32, 10, 784})->Args({64, 1024, 784})->Args({32, 1024, 784})->Args({32, 256, 784})->Args({512, 512, 512})->Args({1024, 1024, 1024});

// ---- whole training steps and single-image inference of the seed models ---------------------------
namespace {

template <class Model, class Loss, class Target, class Opt>
void run_step(benchmark::State& state, Model& model, Loss& loss, const typename Model::input_batch& x,
              const Target& y, Opt& opt, double flop_per_step) {
  model.train();
  for (auto _ : state) {
    benchmark::DoNotOptimize(loss(model.forward(x), y));
    opt.zero_grad();
    model.backward(loss.grad(), InputGrad::skip);
    opt.step();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(flop_per_step * static_cast<double>(state.iterations()),
                                                 benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
  state.counters["threads"] = static_cast<double>(ctnn::get_num_threads());
}

// SGD(lr=0.1), CrossEntropyLoss, batches of 32 (seed 001). flop: the arithmetic a step must do:
// forward + 2x for backward, less the first layer's input gradient (not computed: InputGrad::skip).
template <class Model>
void classifier_step(benchmark::State& state, double step_flop_per_image) {
  const std::size_t n = 32;
  Model model{manual_seed(0)};
  typename Model::input_batch x;
  fill_input<Model>(x, n);
  Labels<> y(n);
  for (std::size_t i = 0; i < n; ++i) y(i) = static_cast<std::int64_t>(i % 10);
  CrossEntropyLoss loss;
  optim::SGD opt{model.parameters(), {.lr = 0.1}};
  run_step(state, model, loss, x, y, opt, step_flop_per_image * static_cast<double>(n));
}
constexpr double linear_flop(double in, double out) { return 2 * in * out; }
constexpr double conv_flop(double c, double oc, double hw) { return 2 * c * oc * 9 * hw; }
constexpr double v0_flop = linear_flop(784, 10) + linear_flop(10, 10);
constexpr double tiny_flop = conv_flop(1, 10, 784) + conv_flop(10, 10, 784) + 2 * conv_flop(10, 10, 196) +
                             linear_flop(490, 10);
constexpr double mlp_flop = linear_flop(784, 256) + linear_flop(256, 128) + linear_flop(128, 32) + linear_flop(32, 1);
constexpr double gen_flop = linear_flop(100, 256) + linear_flop(256, 512) + linear_flop(512, 1024) + linear_flop(1024, 784);
constexpr double disc_flop = linear_flop(784, 1024) + linear_flop(1024, 512) + linear_flop(512, 256) + linear_flop(256, 1);

void step_v0(benchmark::State& s) { classifier_step<ctnn_bench::ModelV0>(s, 3 * v0_flop - linear_flop(784, 10)); }
void step_v1(benchmark::State& s) { classifier_step<ctnn_bench::ModelV1>(s, 3 * v0_flop - linear_flop(784, 10)); }
void step_tinyvgg(benchmark::State& s) { classifier_step<ctnn_bench::TinyVGG>(s, 3 * tiny_flop - conv_flop(1, 10, 784)); }

// Adam(1e-3), BCELoss, batches of 64 (seed 000).
void step_binary_mlp(benchmark::State& state) {
  const std::size_t n = 64;
  ctnn_bench::BinaryMLP model{manual_seed(0)};
  ctnn_bench::BinaryMLP::input_batch x;
  fill_input<ctnn_bench::BinaryMLP>(x, n);
  Batch<Shape<1>> y(n);
  for (std::size_t i = 0; i < n; ++i) y.data()[i] = static_cast<float>(i % 2);
  BCELoss loss;
  optim::Adam opt{model.parameters(), {.lr = 1e-3}};
  run_step(state, model, loss, x, y, opt, (3.0 * mlp_flop - linear_flop(784, 256)) * static_cast<double>(n));
}

// One GAN step of seed 004 (D on real, D on fake, G through D), batches of 32.
void step_gan(benchmark::State& state) {
  ctnn_bench::GanStep gan{42};
  std::vector<float> images(32 * 784);
  Generator g{5};
  backend::ops<B>::fill_uniform(images.size(), images.data(), -1.0, 1.0, g);
  for (auto _ : state) benchmark::DoNotOptimize(gan.step(images.data()));
  // D: 3 forwards + 3 backwards (two without the input gradient); G: 1 forward + 1 backward (without).
  const double flop = 32.0 * (3 * 3 * disc_flop - 2 * linear_flop(784, 1024) + 3 * gen_flop - linear_flop(100, 256));
  state.counters["GFLOP/s"] = benchmark::Counter(flop * static_cast<double>(state.iterations()),
                                                 benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
  state.counters["threads"] = static_cast<double>(ctnn::get_num_threads());
}

template <class Model>
void infer_one(benchmark::State& state) {
  Model model{manual_seed(0)};
  model.eval();
  typename Model::input_batch x;
  fill_input<Model>(x, 1);
  for (auto _ : state) benchmark::DoNotOptimize(model.forward(x).data());
  state.counters["threads"] = static_cast<double>(ctnn::get_num_threads());
}

// The convolution kernels alone over a batch of 32, in GFLOP/s (forward; forward + backward = 3x).
template <std::size_t C, std::size_t HW>
void conv_kernel(benchmark::State& state) {
  using Model = Sequential<B, Input<C, HW, HW>, Conv2d<C, 10, 3, 1, 1>>;
  const std::size_t n = 32;
  Model model{manual_seed(0)};
  typename Model::input_batch x;
  fill_input<Model>(x, n);
  typename Model::output_batch dy(n);
  backend::ops<B>::fill(dy.size(), dy.data(), 1.0f);
  const bool backward = state.range(0) != 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(model.forward(x).data());
    if (backward) benchmark::DoNotOptimize(model.backward(dy).data());
  }
  const double flop = conv_flop(C, 10, HW * HW) * static_cast<double>(n) * (backward ? 3.0 : 1.0);
  state.counters["GFLOP/s"] = benchmark::Counter(flop * static_cast<double>(state.iterations()),
                                                 benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
  state.counters["threads"] = static_cast<double>(ctnn::get_num_threads());
}

}  // namespace

BENCHMARK(step_v0)->Name("step/V0/32");
BENCHMARK(step_v1)->Name("step/V1/32");
BENCHMARK(step_tinyvgg)->Name("step/TinyVGG/32");
BENCHMARK(step_binary_mlp)->Name("step/BinaryMLP/64");
BENCHMARK(step_gan)->Name("step/GAN/32");
BENCHMARK_TEMPLATE(infer_one, ctnn_bench::ModelV0)->Name("infer/V0/1");
BENCHMARK_TEMPLATE(infer_one, ctnn_bench::TinyVGG)->Name("infer/TinyVGG/1");
BENCHMARK_TEMPLATE(conv_kernel, 10, 28)->Name("conv3x3/10->10@28/32")->Arg(0)->Arg(1);
BENCHMARK_TEMPLATE(conv_kernel, 10, 14)->Name("conv3x3/10->10@14/32")->Arg(0)->Arg(1);
BENCHMARK_TEMPLATE(conv_kernel, 1, 28)->Name("conv3x3/1->10@28/32")->Arg(0)->Arg(1);

BENCHMARK_MAIN();
