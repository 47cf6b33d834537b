// Data sets in memory and views over them: subset, filter, select_classes, float_targets,
// map_targets, materialize, random_split, train_test_split.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include <ctnn/ctnn.hpp>

using namespace ctnn;
using namespace ctnn::data;
using Catch::Matchers::Contains;

namespace {
// Sample i is [i, 10 i] with label i % 3.
InMemoryDataset<Shape<2>> numbered(std::size_t n) {
  std::vector<float> x;
  std::vector<std::int64_t> y;
  for (std::size_t i = 0; i < n; ++i) {
    x.push_back(static_cast<float>(i));
    x.push_back(10.0f * static_cast<float>(i));
    y.push_back(static_cast<std::int64_t>(i % 3));
  }
  return {std::move(x), std::move(y)};
}
template <class D>
std::vector<std::size_t> firsts(const D& ds) {
  std::vector<std::size_t> v;
  for (std::size_t i = 0; i < ds.size(); ++i) v.push_back(static_cast<std::size_t>(ds[i].x[0]));
  return v;
}
}  // namespace

static_assert(Dataset<InMemoryDataset<Shape<2>>>);
static_assert(Dataset<InMemoryDataset<Shape<1>, Shape<1>>>);
static_assert(Dataset<Subset<InMemoryDataset<Shape<2>>>>);
static_assert(!Dataset<int>);
static_assert(!Dataset<std::vector<float>>);

TEST_CASE("InMemoryDataset: load, target, sample, and its checks", "[data][dataset]") {
  const auto ds = numbered(5);
  CHECK(ds.size() == 5);
  float x[2];
  std::int64_t y = -1;
  ds.load(4, x, &y);
  CHECK(x[0] == 4.0f);
  CHECK(x[1] == 40.0f);
  CHECK(y == 1);
  CHECK(ds.target(2) == 2);
  CHECK(ds.sample(3)[1] == 30.0f);
  const auto [image, label] = ds[1];
  CHECK(image == std::vector<float>{1.0f, 10.0f});
  CHECK(label == 1);
  CHECK_THROWS_WITH(ds.load(5, x, &y), Contains("index 5 is out of range for 5 samples"));
  CHECK_THROWS_WITH((InMemoryDataset<Shape<2>>(std::vector<float>(6), std::vector<std::int64_t>(2))),
                    Contains("6 feature values and 2 target values"));
  CHECK_THROWS_AS((InMemoryDataset<Shape<2>>(std::vector<float>(5), std::vector<std::int64_t>(2))), ctnn::error);
  // Copies share the data.
  const auto copy = ds;
  CHECK(copy.features().data() == ds.features().data());
}

TEST_CASE("Views: subset, filter, select_classes, float_targets, map_targets", "[data][dataset]") {
  const auto ds = numbered(10);
  const auto sub = ds.subset({7, 2, 2});
  CHECK(firsts(sub) == std::vector<std::size_t>{7, 2, 2});
  CHECK(sub.target(0) == 1);
  CHECK_THROWS_WITH(ds.subset({3, 10}), Contains("index 10 (position 1) is out of range for a data set of 10"));

  const auto twos = ds.filter([](std::int64_t y) { return y == 2; });
  CHECK(firsts(twos) == std::vector<std::size_t>{2, 5, 8});

  // Keep classes 2 and 0, renumbered 0 and 1 (label_map = {2: 0, 0: 1}).
  const auto sel = ds.select_classes({2, 0});
  CHECK(firsts(sel) == std::vector<std::size_t>{0, 2, 3, 5, 6, 8, 9});
  std::vector<std::int64_t> labels;
  for (std::size_t i = 0; i < sel.size(); ++i) labels.push_back(sel[i].y);
  CHECK(labels == std::vector<std::int64_t>{1, 0, 1, 0, 1, 0, 1});
  CHECK(sel.classes() == std::vector<std::string>{"2", "0"});
  CHECK_THROWS_WITH(ds.select_classes({1, 1}), Contains("class 1 is listed twice"));

  // Float targets for BCELoss, after selecting.
  const auto bce = ds.select_classes({0, 1}).float_targets();
  static_assert(std::is_same_v<decltype(bce)::target_type, Shape<1>>);
  CHECK(bce.size() == 7);
  CHECK(bce[1].y[0] == 1.0f);
  CHECK(bce.target(0)[0] == 0.0f);

  // Any mapping: labels to one-hot vectors of Shape<3>.
  const auto onehot = ds.map_targets<Shape<3>>([](std::int64_t y) {
    std::array<float, 3> v{};
    v[static_cast<std::size_t>(y)] = 1.0f;
    return v;
  });
  CHECK(onehot[5].y == std::array<float, 3>{0, 0, 1});
  DataLoader loader(onehot, {.batch_size = 4});
  std::size_t n = 0;
  for (const auto& [x, y] : loader) {
    for (std::size_t i = 0; i < y.batch_size(); ++i) CHECK(y(i, static_cast<std::size_t>(x(i, 0)) % 3) == 1.0f);
    n += x.batch_size();
  }
  CHECK(n == 10);

  // Views of views, then back into memory.
  const auto mem = ds.filter([](std::int64_t y) { return y != 1; }).subset({4, 0}).materialize();
  static_assert(std::is_same_v<decltype(mem), const InMemoryDataset<Shape<2>, std::int64_t>>);
  CHECK(firsts(mem) == std::vector<std::size_t>{6, 0});
  CHECK(mem.targets()[0] == 0);
}

TEST_CASE("random_split: a random partition of the given sizes, seeded", "[data][dataset]") {
  const auto ds = numbered(100);
  Generator g1(42), g2(42);
  const auto parts = random_split(ds, {70, 20, 10}, g1);
  const auto again = random_split(ds, {70, 20, 10}, g2);
  REQUIRE(parts.size() == 3);
  CHECK(parts[0].size() == 70);
  CHECK(parts[1].size() == 20);
  CHECK(parts[2].size() == 10);
  std::set<std::size_t> all;
  for (std::size_t p = 0; p < 3; ++p) {
    CHECK(std::vector<std::size_t>(parts[p].indices().begin(), parts[p].indices().end()) ==
          std::vector<std::size_t>(again[p].indices().begin(), again[p].indices().end()));
    all.insert(parts[p].indices().begin(), parts[p].indices().end());
  }
  CHECK(all.size() == 100);
  CHECK_FALSE(std::is_sorted(parts[0].indices().begin(), parts[0].indices().end()));
  CHECK_THROWS_WITH(random_split(ds, {50, 40}, g1), Contains("add up to 90 but the data set has 100"));
}

TEST_CASE("train_test_split: sklearn's sizes, shuffled or in order", "[data][dataset]") {
  const auto ds = numbered(1000);
  Generator g(42);
  const auto [train, test] = train_test_split(ds, 0.2, g);
  CHECK(train.size() == 800);
  CHECK(test.size() == 200);
  std::set<std::size_t> all(train.indices().begin(), train.indices().end());
  all.insert(test.indices().begin(), test.indices().end());
  CHECK(all.size() == 1000);
  // ceil(test_size * n) for the test part.
  const auto odd = train_test_split(numbered(11), 0.25, g);
  CHECK(odd.test.size() == 3);
  CHECK(odd.train.size() == 8);
  const auto ordered = train_test_split(numbered(10), 0.3, g, false);
  CHECK(firsts(ordered.train) == std::vector<std::size_t>{0, 1, 2, 3, 4, 5, 6});
  CHECK(firsts(ordered.test) == std::vector<std::size_t>{7, 8, 9});
  CHECK_THROWS_WITH(train_test_split(ds, 1.5, g), Contains("test_size 1.5"));
  CHECK_THROWS_AS(train_test_split(numbered(1), 0.5, g), ctnn::error);
}
