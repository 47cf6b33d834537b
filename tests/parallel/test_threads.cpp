// Thread-count independence (issue 4): with OpenMP the Eigen backend splits large products,
// convolutions, pooling and elementwise work over threads; one and two threads must give the same bits.
#include <catch2/catch.hpp>
#include <ctnn/ctnn.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "seed_models.hpp"

using namespace ctnn;
using ops = backend::ops<backend::eigen>;

namespace {

// Restores the thread count the test started with.
struct thread_count {
  std::size_t saved = get_num_threads();
  ~thread_count() { set_num_threads(saved); }
};

template <class F>
auto with_threads(std::size_t n, F f) {
  thread_count keep;
  set_num_threads(n);
  return f();
}

std::vector<float> random_vector(std::size_t n, std::uint64_t seed) {
  std::vector<float> v(n);
  Generator g{seed};
  ops::fill_uniform(n, v.data(), -1.0, 1.0, g);
  return v;
}

using TinyVGG = ctnn_test::TinyVGG<backend::eigen>;
using MLP = Sequential<backend::eigen, Input<784>, Linear<784, 1024>, ReLU, Linear<1024, 512>, ReLU, Linear<512, 1>, Sigmoid>;

// Trains `steps` steps of `Model` from seed 42 on fixed random data with `threads` threads and returns
// every parameter afterwards.
template <class Model, class Loss, class Target, class Optimizer>
std::vector<std::vector<float>> train_with_threads(std::size_t threads, std::size_t n, const Target& y, std::size_t steps) {
  return with_threads(threads, [&] {
    Model model{manual_seed(42)};
    typename Model::input_batch x(n);
    const auto data = random_vector(x.size(), 9);
    ops::copy(data.size(), data.data(), x.data());
    Loss loss_fn;
    Optimizer optimizer{model.parameters(), {.lr = 1e-2f}};
    for (std::size_t s = 0; s < steps; ++s) {
      loss_fn(model.forward(x), y);
      optimizer.zero_grad();
      model.backward(loss_fn.grad(), InputGrad::skip);
      optimizer.step();
    }
    std::vector<std::vector<float>> out;
    for (auto* p : model.parameters()) out.push_back(p->values_to_host());
    return out;
  });
}

// Where two runs' parameters first differ ("" when they are the same bits): a readable failure, not
// thousands of numbers.
std::string first_difference(const std::vector<std::vector<float>>& a, const std::vector<std::vector<float>>& b) {
  if (a.size() != b.size()) return "different parameter counts";
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].size() != b[i].size()) return "parameter " + std::to_string(i) + ": different sizes";
    for (std::size_t j = 0; j < a[i].size(); ++j)
      if (std::memcmp(&a[i][j], &b[i][j], sizeof(float)) != 0)
        return "parameter " + std::to_string(i) + " value " + std::to_string(j) + ": " + std::to_string(a[i][j]) +
               " vs " + std::to_string(b[i][j]);
  }
  return "";
}

}  // namespace

TEST_CASE("ctnn::set_num_threads sets what get_num_threads reports", "[parallel]") {
  thread_count keep;
  set_num_threads(1);
  CHECK(get_num_threads() == 1);
#ifdef _OPENMP
  set_num_threads(2);
  CHECK(get_num_threads() == 2);
  set_num_threads(0);  // clamped: at least one
  CHECK(get_num_threads() == 1);
#else
  WARN("built without OpenMP: everything runs on the calling thread");
#endif
}

TEST_CASE("GEMM gives the same bits on one and two threads", "[parallel][gemm]") {
  // Shapes of the seed models' products (forward, weight and input gradients) and awkward ones.
  const std::vector<std::array<std::size_t, 3>> shapes{{32, 1024, 784}, {1024, 784, 32}, {32, 784, 1024},
                                                       {64, 256, 784},  {256, 784, 64},  {33, 1000, 517},
                                                       {1000, 17, 900}, {5, 3, 2},
                                                       // the general GEMM's 8 parts, by rows and by columns
                                                       {1100, 40, 300}, {40, 1100, 300}};
  for (const auto& shape : shapes)
    for (int trans = 0; trans < 4; ++trans) {
      const std::size_t m = shape[0], n = shape[1], k = shape[2];  // plain names: lambdas below capture them
      const bool ta = trans & 1, tb = trans & 2;
      INFO("m " << m << " n " << n << " k " << k << " trans_a " << ta << " trans_b " << tb);
      const auto a = random_vector(m * k, 1), b = random_vector(k * n, 2), c0 = random_vector(m * n, 3);
      auto run = [&](std::size_t threads) {
        return with_threads(threads, [&] {
          auto c = c0;
          ops::gemm(ta, tb, m, n, k, 0.5f, a.data(), b.data(), 1.0f, c.data());
          return c;
        });
      };
      const auto one = run(1), two = run(2);
      CHECK(first_difference({one}, {two}) == "");
      // and it is the product: one element against a double-precision sum
      double want = 0;
      for (std::size_t p = 0; p < k; ++p) want += double(ta ? a[p * m] : a[p]) * double(tb ? b[p] : b[p * n]);
      CHECK(one[0] == Approx(0.5 * want + c0[0]).margin(1e-4));
    }
}

TEST_CASE("elementwise, pooling and optimizer kernels give the same bits on one and two threads", "[parallel]") {
  const std::size_t n = 300007;  // large enough to be split, not a multiple of anything
  const auto x = random_vector(n, 4), g = random_vector(n, 5);
  auto run = [&](std::size_t threads) {
    return with_threads(threads, [&] {
      std::vector<float> relu(n), prod(n), p = x, m(n, 0.0f), v(n, 0.0f), pool(n / 4);
      ops::map(n, x.data(), relu.data(), [](float a) { return a > 0 ? a : 0.0f; });
      ops::zip(n, x.data(), g.data(), prod.data(), [](float a, float b) { return a * b; });
      ops::adam_update(n, g.data(), p.data(), m.data(), v.data(), 0.9f, 0.999f, 1e-8f, 0.0f, 1e-3f, 0.0316f);
      std::vector<std::int32_t> where(n / 4);
      const std::size_t planes = n / 784;
      const backend::pool_geometry pool_2x2{.C = 1, .H = 28, .W = 28, .KH = 2, .KW = 2, .SH = 2, .SW = 2,
                                            .PH = 0, .PW = 0, .DH = 1, .DW = 1, .Ho = 14, .Wo = 14};
      ops::maxpool_forward(pool_2x2, planes, x.data(), pool.data(), where.data());
      return std::vector<std::vector<float>>{relu, prod, p, m, v, pool};
    });
  };
  CHECK(first_difference(run(1), run(2)) == "");
}

TEST_CASE("TinyVGG and an MLP train to the same bits on one and two threads", "[parallel][train]") {
  Labels<> labels(32);
  for (std::size_t i = 0; i < 32; ++i) labels(i) = static_cast<std::int64_t>(i % 10);
  const auto tiny1 = train_with_threads<TinyVGG, CrossEntropyLoss<>, Labels<>, optim::SGD<backend::eigen>>(1, 32, labels, 3);
  const auto tiny2 = train_with_threads<TinyVGG, CrossEntropyLoss<>, Labels<>, optim::SGD<backend::eigen>>(2, 32, labels, 3);
  CHECK(first_difference(tiny1, tiny2) == "");

  Batch<Shape<1>> targets(64);
  for (std::size_t i = 0; i < 64; ++i) targets.data()[i] = static_cast<float>(i % 2);
  const auto mlp1 = train_with_threads<MLP, BCELoss<>, Batch<Shape<1>>, optim::Adam<backend::eigen>>(1, 64, targets, 3);
  const auto mlp2 = train_with_threads<MLP, BCELoss<>, Batch<Shape<1>>, optim::Adam<backend::eigen>>(2, 64, targets, 3);
  CHECK(first_difference(mlp1, mlp2) == "");
}
