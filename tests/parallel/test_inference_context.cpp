// Inference embedded in a multi-threaded program (issue 11): one model, a context per thread, no copy
// of the weights, and every thread's result equal to the single-thread eval forward bit for bit. Built
// with CTNN_SANITIZE=thread (and CTNN_OPENMP=OFF, so that TSan sees only ctnn's own threads) this is the
// ThreadSanitizer test.
#include <catch2/catch.hpp>
#include <ctnn/ctnn.hpp>

#include <cstddef>
#include <cstring>
#include <thread>
#include <vector>

#include "seed_models.hpp"

using namespace ctnn;
using B = backend::eigen;

namespace {

template <class Model>
Batch<typename Model::input_shape, B> random_inputs(std::size_t n, std::uint64_t seed) {
  Generator g(seed);
  Batch<typename Model::input_shape, B> x(n);
  for (auto& v : x.values()) v = static_cast<float>(g.normal());
  return x;
}

// Every thread runs `rounds` batch-1 forwards (one per sample) and batch-32 forwards on its own context
// and counts results that differ from the model's own forward of the same batch. (A sample's result
// at batch 1 may differ in the last bit from its row at batch 32: the products take another path.)
template <class Model>
std::size_t mismatches_on_threads(Model& model, std::size_t threads, std::size_t rounds) {
  constexpr std::size_t batch = 32;
  const auto x = random_inputs<Model>(batch, 11);
  model.eval();
  const std::vector<float> expected = model.forward(x).to_host();
  std::vector<Batch<typename Model::input_shape, B>> singles;
  for (std::size_t i = 0; i < batch; ++i) {
    Batch<typename Model::input_shape, B> one(1);
    std::memcpy(one.data(), x.sample(i), Model::input_shape::size * sizeof(float));
    singles.push_back(std::move(one));
  }
  std::vector<std::vector<float>> expected_single;
  for (const auto& one : singles) expected_single.push_back(model.forward(one).to_host());
  const Model& shared = model;
  std::vector<std::size_t> wrong(threads, 0);
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      set_num_threads(1);
      auto ctx = shared.context();
      for (std::size_t r = 0; r < rounds; ++r) {
        const auto& y = shared.infer(x, ctx);
        wrong[t] += std::memcmp(y.data(), expected.data(), expected.size() * sizeof(float)) != 0;
        for (std::size_t i = (t + r) % 4; i < batch; i += 4) {  // threads visit the samples in different orders
          const auto& y1 = ctx.forward(singles[i]);
          wrong[t] += std::memcmp(y1.data(), expected_single[i].data(), expected_single[i].size() * sizeof(float)) != 0;
        }
      }
    });
  for (auto& th : pool) th.join();
  std::size_t total = 0;
  for (auto w : wrong) total += w;
  return total;
}

}  // namespace

TEST_CASE("an inference context shares the model's parameters; a copy of the model does not", "[inference]") {
  ctnn_test::TinyVGG<B> model{manual_seed(3)};
  auto ctx = model.context();
  std::vector<const float*> model_values, context_values;
  model.visit_parameters([&](Parameter<B>& p) { model_values.push_back(p.value.data()); });
  ctx.visit_parameters([&](Parameter<B>& p) { context_values.push_back(p.value.data()); });
  REQUIRE(model_values.size() == 10);
  CHECK(context_values == model_values);

  auto copy = model;
  std::size_t shared = 0;
  std::size_t k = 0;
  copy.visit_parameters([&](Parameter<B>& p) { shared += p.value.data() == model_values[k++]; });
  CHECK(shared == 0);
}

TEST_CASE("a context sees the model's parameters as they change, and runs the eval forward", "[inference]") {
  ctnn_test::BinaryMLP<B> model{manual_seed(5)};  // ends in Dropout(0.25): off in a context
  auto ctx = model.context();
  const auto x = random_inputs<ctnn_test::BinaryMLP<B>>(4, 2);
  model.visit_parameters([](Parameter<B>& p) {
    std::vector<float> v = p.values_to_host();
    for (auto& e : v) e *= 0.5f;
    p.values_from_host(v);
  });
  model.eval();
  const auto expected = model.forward(x).to_host();
  const auto& y = model.infer(x, ctx);
  CHECK(std::memcmp(y.data(), expected.data(), expected.size() * sizeof(float)) == 0);
  CHECK_THROWS_AS(ctx.forward(Batch<Shape<1, 28, 28>, B>(0)), ctnn::error);
}

TEST_CASE("8 threads infer with one TinyVGG, batch 1 and 32, as the single-thread forward", "[inference][threads]") {
  ctnn_test::TinyVGG<B> model{manual_seed(42)};
  CHECK(mismatches_on_threads(model, 8, 2) == 0);
}

TEST_CASE("8 threads infer with one MLP with dropout, batch 1 and 32, as the single-thread forward",
          "[inference][threads]") {
  ctnn_test::BinaryMLP<B> model{manual_seed(1)};
  model.train();  // the contexts run eval mode whatever the model's mode
  auto reference = model;
  CHECK(mismatches_on_threads(reference, 8, 3) == 0);
  CHECK(model.is_training());
}
