// Forward and backward of each layer at the seed tutorials' shapes, and the GEMM kernel itself.
// Run: ./build/benchmarks/bench_layers   (prints the thread count; compare ratios, not times)
#include <benchmark/benchmark.h>

#include <ctnn/nn.hpp>
#include <ctnn/backend/eigen.hpp>

#include <Eigen/Core>

using namespace ctnn;
using B = backend::eigen;

namespace {

template <class Model>
void fill_input(typename Model::input_batch& x, std::size_t n) {
  x.resize(n);
  Generator g{7};
  backend::ops<B>::fill_uniform(x.data(), x.size(), 0.0, 1.0, g);
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
  backend::ops<B>::fill(dy.data(), dy.size(), 1.0f);
  for (auto _ : state) {
    benchmark::DoNotOptimize(model.forward(x).data());
    benchmark::DoNotOptimize(model.backward(dy).data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
  state.counters["threads"] = Eigen::nbThreads();
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
  state.counters["threads"] = Eigen::nbThreads();
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
  state.counters["threads"] = Eigen::nbThreads();
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

BENCHMARK(gemm)->Args({10, 784, 90})->Args({10, 196, 90})->Args({32, 10, 784})->Args({64, 1024, 784})->Args({512, 512, 512})->Args({1024, 1024, 1024});

BENCHMARK_MAIN();
