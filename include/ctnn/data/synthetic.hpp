#pragma once
// Toy data sets, with scikit-learn's parameters and semantics (not its random numbers: ctnn draws
// from its own seeded Generator, so the same seed gives the same data on every machine).
//   make_circles(n, {.noise, .factor, .shuffle})   a large circle (label 0, n / 2 points) around a
//                                                  small one (label 1, radius factor, the rest)
//   make_blobs<F>(n, {.centers, .cluster_std, .center_box, .shuffle})
//                                                  isotropic Gaussian clusters in F dimensions,
//                                                  centres uniform in the box, label = cluster
//   make_linear_regression({.weight, .bias, .start, .end, .step})
//                                                  X = arange(start, end, step), y = weight X + bias
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "../core/random.hpp"
#include "../core/shape.hpp"
#include "dataset.hpp"

namespace ctnn::data {

namespace detail {
// Shuffles rows of x (width values each) and y together (sklearn's shuffle(X, y)).
template <class Y>
void shuffle_rows(std::vector<float>& x, std::vector<Y>& y, std::size_t width, Generator& g) {
  std::vector<std::size_t> order;
  permutation(order, y.size(), g);
  std::vector<float> x2(x.size());
  std::vector<Y> y2(y.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    std::copy_n(x.begin() + static_cast<std::ptrdiff_t>(order[i] * width), width, x2.begin() + static_cast<std::ptrdiff_t>(i * width));
    y2[i] = y[order[i]];
  }
  x = std::move(x2);
  y = std::move(y2);
}
inline constexpr double two_pi = 6.283185307179586;
}  // namespace detail

struct CirclesOptions {
  double noise = 0.0;    // standard deviation of Gaussian noise added to each coordinate
  double factor = 0.8;   // radius of the inner circle (the outer one has radius 1), in [0, 1)
  bool shuffle = true;
};

// sklearn.datasets.make_circles(n_samples, noise=, factor=, shuffle=, random_state=): features
// Shape<2>, labels 0 (outer circle, n / 2 points) and 1 (inner circle, n - n / 2 points), points
// evenly spaced in angle on each circle, then shuffled, then noised.
inline InMemoryDataset<Shape<2>, std::int64_t> make_circles(std::size_t n_samples, CirclesOptions options = {},
                                                            Generator& generator = default_generator()) {
  if (!(options.factor >= 0.0 && options.factor < 1.0))
    throw error(cat("make_circles: factor ", options.factor, " is not in [0, 1)"));
  if (!(options.noise >= 0.0)) throw error(cat("make_circles: noise ", options.noise, " is negative"));
  const std::size_t n_out = n_samples / 2, n_in = n_samples - n_out;
  std::vector<float> x;
  std::vector<std::int64_t> y;
  x.reserve(2 * n_samples);
  y.reserve(n_samples);
  auto circle = [&](std::size_t n, double radius, std::int64_t label) {
    for (std::size_t i = 0; i < n; ++i) {
      const double angle = detail::two_pi * static_cast<double>(i) / static_cast<double>(n);
      x.push_back(static_cast<float>(radius * std::cos(angle)));
      x.push_back(static_cast<float>(radius * std::sin(angle)));
      y.push_back(label);
    }
  };
  circle(n_out, 1.0, 0);
  circle(n_in, options.factor, 1);
  if (options.shuffle) detail::shuffle_rows(x, y, 2, generator);
  if (options.noise > 0)
    for (auto& v : x) v = static_cast<float>(v + options.noise * generator.normal());
  return {std::move(x), std::move(y)};
}

// make_circles(n, noise, factor, generator), positionally.
inline InMemoryDataset<Shape<2>, std::int64_t> make_circles(std::size_t n_samples, double noise, double factor,
                                                            Generator& generator) {
  return make_circles(n_samples, CirclesOptions{.noise = noise, .factor = factor, .shuffle = true}, generator);
}

struct BlobsOptions {
  std::size_t centers = 3;                          // number of clusters (sklearn: centers=None -> 3)
  double cluster_std = 1.0;
  std::pair<double, double> center_box = {-10.0, 10.0};
  bool shuffle = true;
  std::vector<std::vector<double>> center_points{};  // explicit centres (overrides centers)
};

// sklearn.datasets.make_blobs(n_samples, n_features=Features, centers=, cluster_std=, center_box=,
// shuffle=, random_state=): n / centers samples per cluster (the first n % centers get one more),
// each normal around its centre with cluster_std; centres uniform in center_box.
template <std::size_t Features = 2>
InMemoryDataset<Shape<Features>, std::int64_t> make_blobs(std::size_t n_samples, BlobsOptions options = {},
                                                          Generator& generator = default_generator()) {
  static_assert(Features > 0, "ctnn: make_blobs needs at least one feature");
  std::vector<std::array<double, Features>> centers;
  if (!options.center_points.empty()) {
    for (std::size_t c = 0; c < options.center_points.size(); ++c) {
      if (options.center_points[c].size() != Features)
        throw error(cat("make_blobs: centre ", c, " has ", options.center_points[c].size(), " coordinates, expected ",
                        Features));
      std::array<double, Features> p{};
      std::copy_n(options.center_points[c].begin(), Features, p.begin());
      centers.push_back(p);
    }
  } else {
    if (options.centers == 0) throw error("make_blobs: centers must be at least 1");
    const auto [lo, hi] = options.center_box;
    if (!(hi >= lo)) throw error(cat("make_blobs: center_box (", lo, ", ", hi, ") is empty"));
    centers.resize(options.centers);
    for (auto& c : centers)
      for (auto& v : c) v = lo + (hi - lo) * generator.uniform();
  }
  if (!(options.cluster_std >= 0.0)) throw error(cat("make_blobs: cluster_std ", options.cluster_std, " is negative"));
  const std::size_t k = centers.size();
  std::vector<float> x;
  std::vector<std::int64_t> y;
  x.reserve(n_samples * Features);
  y.reserve(n_samples);
  for (std::size_t c = 0; c < k; ++c) {
    const std::size_t count = n_samples / k + (c < n_samples % k ? 1 : 0);
    for (std::size_t i = 0; i < count; ++i) {
      for (std::size_t f = 0; f < Features; ++f)
        x.push_back(static_cast<float>(centers[c][f] + options.cluster_std * generator.normal()));
      y.push_back(static_cast<std::int64_t>(c));
    }
  }
  if (options.shuffle) detail::shuffle_rows(x, y, Features, generator);
  return {std::move(x), std::move(y)};
}

struct LinearRegressionOptions {
  double weight = 0.7;
  double bias = 0.3;
  double start = 0.0;
  double end = 1.0;
  double step = 0.02;
};

// The straight line of the PyTorch workflow tutorial: X = arange(start, end, step) (50 points by
// default), y = weight * X + bias, both Shape<1> per sample, in order (split with
// train_test_split(ds, 0.2, g, false) for the tutorial's first 40 / last 10).
inline InMemoryDataset<Shape<1>, Shape<1>> make_linear_regression(LinearRegressionOptions options = {}) {
  if (!(options.step != 0.0) || (options.end - options.start) / options.step < 0)
    throw error(cat("make_linear_regression: arange(", options.start, ", ", options.end, ", ", options.step,
                    ") is not a valid range"));
  const auto n = static_cast<std::size_t>(std::ceil((options.end - options.start) / options.step));
  std::vector<float> x(n), y(n);
  const auto w = static_cast<float>(options.weight), b = static_cast<float>(options.bias);
  for (std::size_t i = 0; i < n; ++i) {
    x[i] = static_cast<float>(options.start + static_cast<double>(i) * options.step);
    y[i] = w * x[i] + b;  // float arithmetic, as PyTorch on a float32 tensor
  }
  return {std::move(x), std::move(y)};
}

}  // namespace ctnn::data
