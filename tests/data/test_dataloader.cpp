// DataLoader: batch counts, shuffling (deterministic per seed, new each epoch, a permutation),
// prefetch giving the same batches as loading in the loop, buffer reuse, errors from the background
// thread, other backends and float targets.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <set>

#include <ctnn/ctnn.hpp>

#include "data_files.hpp"
#include "temp_dir.hpp"

using namespace ctnn;
using namespace ctnn::data;
using Catch::Matchers::Contains;

namespace {
// Sample i is [i, -i] with label i % 10.
InMemoryDataset<Shape<2>> indexed(std::size_t n) {
  std::vector<float> x;
  std::vector<std::int64_t> y;
  for (std::size_t i = 0; i < n; ++i) {
    x.push_back(static_cast<float>(i));
    x.push_back(-static_cast<float>(i));
    y.push_back(static_cast<std::int64_t>(i % 10));
  }
  return {std::move(x), std::move(y)};
}

// Every sample and label the loader yields in one epoch, in order.
template <class Loader>
std::pair<std::vector<float>, std::vector<std::int64_t>> one_epoch(Loader& loader) {
  std::pair<std::vector<float>, std::vector<std::int64_t>> out;
  for (const auto& [x, y] : loader) {
    out.first.insert(out.first.end(), x.values().begin(), x.values().end());
    out.second.insert(out.second.end(), y.values().begin(), y.values().end());
  }
  return out;
}

// A data set that throws on one sample and counts loads.
struct Faulty {
  using sample_shape = Shape<3>;
  using target_type = std::int64_t;
  std::size_t n = 100, bad = 50;
  std::shared_ptr<std::atomic<std::size_t>> loads = std::make_shared<std::atomic<std::size_t>>(0);
  std::size_t size() const { return n; }
  void load(std::size_t i, float* x, std::int64_t* y) const {
    ++*loads;
    if (i == bad) throw ctnn::error(cat("Faulty: cannot read sample ", i));
    x[0] = x[1] = x[2] = static_cast<float>(i);
    *y = 0;
  }
};
static_assert(Dataset<Faulty>);
}  // namespace

TEST_CASE("DataLoader: number of batches and the last batch", "[data][dataloader]") {
  const auto ds = indexed(100);
  DataLoader keep(ds, {.batch_size = 32});
  DataLoader drop(ds, {.batch_size = 32, .drop_last = true});
  CHECK(keep.size() == 4);
  CHECK(drop.size() == 3);
  std::vector<std::size_t> sizes;
  for (const auto& b : keep) sizes.push_back(b.x.batch_size());
  CHECK(sizes == std::vector<std::size_t>{32, 32, 32, 4});
  sizes.clear();
  for (const auto& b : drop) sizes.push_back(b.y.batch_size());
  CHECK(sizes == std::vector<std::size_t>{32, 32, 32});

  // 60000 / 32: 1875 full batches with or without drop_last (seed 001); 10000 / 32: 313 and 312.
  InMemoryDataset<Shape<1>> big(std::vector<float>(60000), std::vector<std::int64_t>(60000));
  CHECK(DataLoader(big, {.batch_size = 32}).size() == 1875);
  CHECK(DataLoader(big, {.batch_size = 32, .drop_last = true}).size() == 1875);
  InMemoryDataset<Shape<1>> test(std::vector<float>(10000), std::vector<std::int64_t>(10000));
  CHECK(DataLoader(test, {.batch_size = 32}).size() == 313);
  CHECK(DataLoader(test, {.batch_size = 32, .drop_last = true}).size() == 312);

  // Fewer samples than a batch; an empty data set.
  CHECK(DataLoader(indexed(5), {.batch_size = 32}).size() == 1);
  CHECK(DataLoader(indexed(5), {.batch_size = 32, .drop_last = true}).size() == 0);
  DataLoader empty(indexed(0), {.batch_size = 4, .shuffle = true});
  std::size_t n = 0;
  for (const auto& b : empty) n += b.x.batch_size();
  CHECK(n == 0);
  CHECK_THROWS_WITH(DataLoader(ds, {.batch_size = 0}), Contains("batch_size"));
}

TEST_CASE("DataLoader: without shuffle the samples come in order", "[data][dataloader]") {
  DataLoader loader(indexed(10), {.batch_size = 4});
  const auto [x, y] = one_epoch(loader);
  REQUIRE(x.size() == 20);
  for (std::size_t i = 0; i < 10; ++i) {
    CHECK(x[2 * i] == static_cast<float>(i));
    CHECK(x[2 * i + 1] == -static_cast<float>(i));
    CHECK(y[i] == static_cast<std::int64_t>(i % 10));
  }
}

TEST_CASE("DataLoader: shuffling is a permutation, new each epoch, the same for the same seed", "[data][dataloader]") {
  const auto ds = indexed(1000);
  Generator g1(42), g2(42), g3(43);
  DataLoader a(ds, {.batch_size = 32, .shuffle = true}, g1);
  DataLoader b(ds, {.batch_size = 32, .shuffle = true}, g2);
  DataLoader c(ds, {.batch_size = 32, .shuffle = true}, g3);
  std::vector<std::vector<float>> epochs_a;
  for (int e = 0; e < 3; ++e) {
    const auto [xa, ya] = one_epoch(a);
    const auto [xb, yb] = one_epoch(b);
    const auto [xc, yc] = one_epoch(c);
    CHECK(xa == xb);  // same seed, same order
    CHECK(ya == yb);
    CHECK(xa != xc);  // another seed, another order
    // Every index exactly once, with its own label.
    std::vector<int> seen(1000, 0);
    for (std::size_t k = 0; k < 1000; ++k) {
      const auto i = static_cast<std::size_t>(xa[2 * k]);
      REQUIRE(xa[2 * k + 1] == -xa[2 * k]);
      REQUIRE(ya[k] == static_cast<std::int64_t>(i % 10));
      seen[i]++;
    }
    CHECK(std::all_of(seen.begin(), seen.end(), [](int s) { return s == 1; }));
    CHECK_FALSE(std::is_sorted(xa.begin(), xa.end()));
    epochs_a.push_back(xa);
  }
  CHECK(epochs_a[0] != epochs_a[1]);  // reshuffled each epoch
  CHECK(epochs_a[1] != epochs_a[2]);
  CHECK(a.epoch() == 3);

  // The loader forks its generator at construction: using the generator afterwards changes nothing.
  Generator g4(42);
  DataLoader d(ds, {.batch_size = 32, .shuffle = true}, g4);
  for (int k = 0; k < 100; ++k) (void)g4.uniform();
  CHECK(one_epoch(d).first == epochs_a[0]);
}

TEST_CASE("DataLoader: prefetch gives the same batches as loading in the loop", "[data][dataloader]") {
  // A data set with a random transform: the flips depend on the order of load() calls.
  ctnn_test::TempDir dir;
  ctnn_test::write_fake_fashion_mnist(dir.path(), "train", 203, true);
  Generator ga(7), gb(7);
  FashionMNIST fa(dir.path(), true, Compose{RandomHorizontalFlip(0.5, ga), Normalize({0.5}, {0.5})});
  FashionMNIST fb(dir.path(), true, Compose{RandomHorizontalFlip(0.5, gb), Normalize({0.5}, {0.5})});
  Generator la(1), lb(1);
  DataLoader with(fa, {.batch_size = 16, .shuffle = true, .prefetch = true}, la);
  DataLoader without(fb, {.batch_size = 16, .shuffle = true, .prefetch = false}, lb);
  for (int epoch = 0; epoch < 3; ++epoch) {
    auto it = without.begin();
    std::size_t batches = 0;
    for (const auto& [x, y] : with) {
      REQUIRE(it != without.end());
      const auto [x2, y2] = *it;
      REQUIRE(x.batch_size() == x2.batch_size());
      REQUIRE(std::equal(x.values().begin(), x.values().end(), x2.values().begin()));
      REQUIRE(std::equal(y.values().begin(), y.values().end(), y2.values().begin()));
      ++it;
      ++batches;
    }
    CHECK(it == without.end());
    CHECK(batches == 13);
  }
}

TEST_CASE("DataLoader: buffers are reused after the first epoch", "[data][dataloader]") {
  for (bool prefetch : {false, true}) {
    DataLoader loader(indexed(100), {.batch_size = 32, .shuffle = true, .prefetch = prefetch});
    std::set<const float*> first, later;
    std::set<const std::int64_t*> first_y, later_y;
    for (const auto& b : loader) {
      first.insert(b.x.data());
      first_y.insert(b.y.data());
    }
    for (int e = 0; e < 3; ++e)
      for (const auto& b : loader) {
        later.insert(b.x.data());
        later_y.insert(b.y.data());
      }
    CHECK(later == first);
    CHECK(later_y == first_y);
    CHECK(first.size() == (prefetch ? 2u : 1u));
  }
}

TEST_CASE("DataLoader: breaking out of an epoch and starting again", "[data][dataloader]") {
  for (bool prefetch : {false, true}) {
    DataLoader loader(indexed(100), {.batch_size = 10, .prefetch = prefetch});
    for (const auto& b : loader) {
      CHECK(b.x(0, 0) == 0.0f);
      break;
    }
    std::size_t n = 0;
    for (const auto& b : loader) n += b.x.batch_size();
    CHECK(n == 100);
  }
}

TEST_CASE("DataLoader: an error while loading reaches the loop, with or without prefetch", "[data][dataloader]") {
  for (bool prefetch : {false, true}) {
    Faulty ds;
    DataLoader loader(ds, {.batch_size = 8, .prefetch = prefetch});
    std::size_t seen = 0;
    auto run = [&] {
      for (const auto& b : loader) seen += b.x.batch_size();
    };
    CHECK_THROWS_WITH(run(), Contains("Faulty: cannot read sample 50"));
    CHECK(seen == 48);  // batches 0..5 arrived; batch 6 holds sample 50
    // The loader is usable again.
    seen = 0;
    CHECK_THROWS_AS(run(), ctnn::error);
    CHECK(seen == 48);
  }
}

TEST_CASE("DataLoader: a moved loader keeps working", "[data][dataloader]") {
  DataLoader a(indexed(50), {.batch_size = 8, .shuffle = true}, manual_seed(3));
  const auto first = one_epoch(a);
  DataLoader b(std::move(a));
  const auto second = one_epoch(b);
  CHECK(second.first.size() == 100);
  CHECK(second.first != first.first);
  DataLoader c(indexed(10), {.batch_size = 3});
  (void)one_epoch(c);
  c = std::move(b);
  CHECK(one_epoch(c).first.size() == 100);
}

TEST_CASE("DataLoader: the reference backend (double) and float targets", "[data][dataloader]") {
  const auto ds = indexed(20);
  DataLoader<InMemoryDataset<Shape<2>>, backend::reference> loader(ds, {.batch_size = 6});
  std::vector<double> xs;
  for (const auto& [x, y] : loader) {
    static_assert(std::is_same_v<std::remove_cvref_t<decltype(x)>, Batch<Shape<2>, backend::reference>>);
    static_assert(std::is_same_v<std::remove_cvref_t<decltype(y)>, Labels<backend::reference>>);
    xs.insert(xs.end(), x.values().begin(), x.values().end());
  }
  REQUIRE(xs.size() == 40);
  CHECK(xs[38] == 19.0);

  // Regression targets: Batch<Shape<1>> of floats.
  const auto line = make_linear_regression();
  DataLoader lines(line, {.batch_size = 16, .shuffle = true});
  std::size_t n = 0;
  for (const auto& [x, y] : lines) {
    for (std::size_t i = 0; i < x.batch_size(); ++i) REQUIRE(y(i, 0) == Approx(0.7 * x(i, 0) + 0.3).epsilon(1e-6));
    n += y.batch_size();
  }
  CHECK(n == 50);

  // The whole data set as one batch.
  const auto all = to_batch(line);
  CHECK(all.x.batch_size() == 50);
  CHECK(all.y(49, 0) == Approx(0.7 * 0.98 + 0.3));
}
