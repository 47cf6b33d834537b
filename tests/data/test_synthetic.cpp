// make_circles, make_blobs (sklearn's semantics) and the linear-regression line of seed 002.
#include <catch2/catch.hpp>

#include <cmath>

#include <ctnn/ctnn.hpp>

using namespace ctnn;
using namespace ctnn::data;
using Catch::Matchers::Contains;

namespace {
struct Stats {
  double mean = 0, sd = 0;
};
Stats stats(const std::vector<double>& v) {
  Stats s;
  for (double x : v) s.mean += x;
  s.mean /= static_cast<double>(v.size());
  for (double x : v) s.sd += (x - s.mean) * (x - s.mean);
  s.sd = std::sqrt(s.sd / static_cast<double>(v.size()));
  return s;
}
}  // namespace

TEST_CASE("make_circles: shapes, balance, radii", "[data][synthetic]") {
  // X, y = make_circles(1000, noise=0.03, random_state=42): X (1000, 2), y (1000,)
  const auto circles = make_circles(1000, {.noise = 0.03}, manual_seed(42));
  static_assert(std::is_same_v<decltype(circles), const InMemoryDataset<Shape<2>, std::int64_t>>);
  REQUIRE(circles.size() == 1000);
  CHECK(circles.features().size() == 2000);
  std::vector<double> outer, inner;
  for (std::size_t i = 0; i < circles.size(); ++i) {
    const auto p = circles.sample(i);
    const double r = std::hypot(p[0], p[1]);
    const auto y = circles.target(i);
    REQUIRE((y == 0 || y == 1));
    (y == 0 ? outer : inner).push_back(r);
  }
  CHECK(outer.size() == 500);
  CHECK(inner.size() == 500);
  const Stats so = stats(outer), si = stats(inner);
  CHECK(so.mean == Approx(1.0).margin(0.01));
  CHECK(si.mean == Approx(0.8).margin(0.01));
  CHECK(so.sd == Approx(0.03).margin(0.006));  // radial spread of 2-D noise of sd 0.03
  CHECK(si.sd == Approx(0.03).margin(0.006));
  // Shuffled: the labels are not in blocks.
  std::size_t changes = 0;
  for (std::size_t i = 1; i < circles.size(); ++i) changes += circles.target(i) != circles.target(i - 1);
  CHECK(changes > 300);

  // Same seed, same data; another seed, other data.
  const auto again = make_circles(1000, {.noise = 0.03}, manual_seed(42));
  CHECK(std::equal(again.features().begin(), again.features().end(), circles.features().begin()));
  Generator g(43);
  const auto other = make_circles(1000, 0.03, 0.8, g);
  CHECK_FALSE(std::equal(other.features().begin(), other.features().end(), circles.features().begin()));
}

TEST_CASE("make_circles: without noise the points are on the circles; odd counts; bad factor", "[data][synthetic]") {
  const auto c = make_circles(7, {.noise = 0.0, .factor = 0.5, .shuffle = false});
  REQUIRE(c.size() == 7);
  for (std::size_t i = 0; i < 7; ++i) {
    const auto p = c.sample(i);
    const double r = std::hypot(p[0], p[1]);
    CHECK(c.target(i) == (i < 3 ? 0 : 1));  // n // 2 = 3 outer, 4 inner
    CHECK(r == Approx(i < 3 ? 1.0 : 0.5));
  }
  CHECK(c.sample(0)[0] == 1.0f);  // angle 0 first, as linspace(0, 2 pi, endpoint=False)
  CHECK_THROWS_WITH(make_circles(10, {.factor = 1.0}), Contains("factor 1 is not in [0, 1)"));
}

TEST_CASE("make_blobs: clusters, counts, spread", "[data][synthetic]") {
  // make_blobs(n_samples=1000, n_features=2, centers=4, cluster_std=1.5, random_state=42)
  const auto blobs = make_blobs<2>(1000, {.centers = 4, .cluster_std = 1.5}, manual_seed(42));
  REQUIRE(blobs.size() == 1000);
  std::vector<double> xs[4], ys[4];
  for (std::size_t i = 0; i < blobs.size(); ++i) {
    const auto y = blobs.target(i);
    REQUIRE((y >= 0 && y < 4));
    xs[y].push_back(blobs.sample(i)[0]);
    ys[y].push_back(blobs.sample(i)[1]);
  }
  for (int c = 0; c < 4; ++c) {
    CHECK(xs[c].size() == 250);
    const Stats sx = stats(xs[c]), sy = stats(ys[c]);
    CHECK(sx.sd == Approx(1.5).margin(0.2));
    CHECK(sy.sd == Approx(1.5).margin(0.2));
    CHECK(std::abs(sx.mean) <= 10.5);  // centres uniform in the box (-10, 10)
    CHECK(std::abs(sy.mean) <= 10.5);
  }
  // Uneven counts: the first n % centers clusters get one more; explicit centres; 3 features.
  const auto uneven = make_blobs<3>(10, {.cluster_std = 0.0, .shuffle = false,
                                         .center_points = {{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}});
  REQUIRE(uneven.size() == 10);
  const std::int64_t expected_labels[] = {0, 0, 0, 0, 1, 1, 1, 2, 2, 2};
  for (std::size_t i = 0; i < 10; ++i) {
    CHECK(uneven.target(i) == expected_labels[i]);
    CHECK(uneven.sample(i)[1] == static_cast<float>(3 * expected_labels[i] + 2));
  }
  CHECK_THROWS_WITH(make_blobs<2>(10, {.center_points = {{1, 2, 3}}}), Contains("3 coordinates, expected 2"));
}

TEST_CASE("make_linear_regression: the line of seed 002 and its 40 / 10 split", "[data][synthetic]") {
  const auto line = make_linear_regression({.weight = 0.7, .bias = 0.3, .start = 0, .end = 1, .step = 0.02});
  REQUIRE(line.size() == 50);
  for (std::size_t i = 0; i < 50; ++i) {
    CHECK(line.sample(i)[0] == Approx(0.02 * static_cast<double>(i)));
    CHECK(line.target(i)[0] == Approx(0.7 * 0.02 * static_cast<double>(i) + 0.3));
  }
  // train_split = int(0.8 * len(X)): the first 40 train, the last 10 test.
  Generator g(0);
  const auto [train, test] = train_test_split(line, 0.2, g, false);
  CHECK(train.size() == 40);
  CHECK(test.size() == 10);
  CHECK(train.index(39) == 39);
  CHECK(test.index(0) == 40);
}
