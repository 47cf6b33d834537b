// Batch-1 inference latency per thread (issue 11): one trained model shared by 1, 2, 4 and 8 threads,
// each with its own InferenceContext (model.context(); model.infer(x, ctx)), against the model's own
// forward on one thread (what a program without contexts would run, one request at a time). Each
// thread's kernels run single-threaded (set_num_threads(1)): the threads are the parallelism. On these
// 2-core machines more than 2 threads share cores, so per-thread latency grows with the thread count;
// the comparison that matters is "context, 1 thread" against "model.forward".
#include <benchmark/benchmark.h>
#include <ctnn/ctnn.hpp>

#include "seed_models.hpp"

namespace {

using B = ctnn::backend::eigen;
using Model = ctnn_test::TinyVGG<B>;

Model& shared_model() {
  static Model model = [] {
    Model m{ctnn::manual_seed(42)};
    m.eval();
    return m;
  }();
  return model;
}

ctnn::Batch<Model::input_shape, B> one_input() {
  ctnn::Generator g(1);
  ctnn::Batch<Model::input_shape, B> x(1);
  for (auto& v : x.values()) v = static_cast<float>(g.normal());
  return x;
}

void BM_model_forward_batch1(benchmark::State& state) {
  ctnn::set_num_threads(1);
  Model& model = shared_model();
  const auto x = one_input();
  for (auto _ : state) benchmark::DoNotOptimize(model.forward(x).data());
  state.counters["threads"] = 1;
}
BENCHMARK(BM_model_forward_batch1)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_context_infer_batch1(benchmark::State& state) {
  ctnn::set_num_threads(1);
  const Model& model = shared_model();
  auto ctx = model.context();  // per benchmark thread
  const auto x = one_input();
  for (auto _ : state) benchmark::DoNotOptimize(model.infer(x, ctx).data());
  state.counters["threads"] = benchmark::Counter(static_cast<double>(state.threads()), benchmark::Counter::kAvgThreads);
  state.counters["per_thread_us"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate | benchmark::Counter::kAvgThreads | benchmark::Counter::kInvert);
}
BENCHMARK(BM_context_infer_batch1)->Unit(benchmark::kMicrosecond)->UseRealTime()->Threads(1)->Threads(2)->Threads(4)->Threads(8);

}  // namespace

BENCHMARK_MAIN();
