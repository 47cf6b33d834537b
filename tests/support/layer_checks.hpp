#pragma once
// Layer-level differential checks (issue 9): a model built on backend::reference (double), copied to
// backend B (same parameters), then forward, backward (input gradient and every parameter gradient) on B and
// on the reference from the same float-representable batch. Used with Catch2 by tests/differential and
// tests/backend/test_thrust_differential.cpp. Include <ctnn/ctnn.hpp> and B's header first. (Only
// <ctnn/ctnn.hpp>, no <ctnn/nn/transfer.hpp>: the tests are also built against the single header, so
// models and batches move between backends here, through state_dict and host values.)
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <span>
#include <string>
#include <vector>

#include "geometry.hpp"

namespace ctnn_test {

// A copy of model `from` (any backend) as a model of type To: same parameters, converted.
template <class To, class From>
To copy_model(From& from) {
  using T = ctnn::scalar_t<typename To::backend_type>;
  ctnn::Generator g;
  To to{g};
  ctnn::StateDict<T> converted;
  for (auto& t : from.state_dict()) converted.push_back({t.name, t.shape, std::vector<T>(t.values.begin(), t.values.end())});
  to.load_state_dict(converted);
  return to;
}
// Batch type BatchTo holding `values` (converted to its scalar).
template <class BatchTo>
BatchTo batch_of(const std::vector<double>& values) {
  using T = typename BatchTo::value_type;
  const std::vector<T> converted(values.begin(), values.end());
  return BatchTo::from_host(std::span<const T>(converted));
}

// max |a - e| / max(1, max |e|) over the tensor (relative to the reference's scale, absolute below 1).
template <class A>
double scaled_error(const std::vector<A>& actual, const std::vector<double>& expected) {
  double scale = 1, err = 0;
  for (double e : expected) scale = std::max(scale, std::abs(e));
  for (std::size_t i = 0; i < expected.size(); ++i)
    err = std::max(err, std::abs(static_cast<double>(actual[i]) - expected[i]));
  return actual.size() == expected.size() ? err / scale : 1e300;
}

// Compares Model<B> with Model<reference> on a batch of n; float against double, through every layer:
// 1e-5 of the scale (the op-level tests show errors below 1e-6 for every op).
template <template <class> class Model, class B>
void check_model_against_reference(const std::string& what, std::size_t n, std::uint64_t seed) {
  using namespace ctnn;
  using R = backend::reference;
  INFO(what << ", batch " << n << ", seed " << seed);
  Model<R> ref{manual_seed(seed)};
  auto model = copy_model<Model<B>>(ref);
  diff::rng r(seed);
  using In = typename Model<R>::input_batch;
  using Out = typename Model<R>::output_batch;
  std::vector<double> x(n * In::shape::size), dy(n * Out::shape::size);
  for (auto& v : x) v = static_cast<double>(static_cast<float>(r.uniform(-1, 1)));
  for (auto& v : dy) v = static_cast<double>(static_cast<float>(r.uniform(-1, 1)));
  const auto xr = batch_of<In>(x);
  const auto dyr = batch_of<Out>(dy);
  const auto xb = batch_of<typename Model<B>::input_batch>(x);
  const auto dyb = batch_of<typename Model<B>::output_batch>(dy);
  constexpr double tolerance = 1e-5;
  CHECK(scaled_error(model.forward(xb).to_host(), ref.forward(xr).to_host()) <= tolerance);
  model.zero_grad();
  ref.zero_grad();
  CHECK(scaled_error(model.backward(dyb).to_host(), ref.backward(dyr).to_host()) <= tolerance);
  std::vector<std::vector<double>> expected;
  ref.visit_parameters([&](Parameter<R>& p) { expected.push_back(p.grad_to_host()); });
  std::size_t i = 0;
  model.visit_parameters([&](Parameter<B>& p) {
    INFO("gradient of " << p.name);
    REQUIRE(i < expected.size());
    CHECK(scaled_error(p.grad_to_host(), expected[i++]) <= tolerance);
  });
  CHECK(i == expected.size());
}

// Odd shapes through the public layer types: strided/padded 5x5 and 7x7 convolutions, pools on odd
// maps (issue 9), 1x1 and direct 3x3 convolutions, Linear widths 11..17 around the skinny kernels.
template <class B>
using OddConvNet = ctnn::Sequential<B, ctnn::Input<3, 7, 7>, ctnn::Conv2d<3, 5, 5, 2, 1>, ctnn::ReLU, ctnn::MaxPool2d<2>,
                                    ctnn::Flatten, ctnn::Linear<5, 11>, ctnn::Tanh, ctnn::Linear<11, 13>, ctnn::ReLU,
                                    ctnn::Linear<13, 17>>;
template <class B>
using OddPoolNet = ctnn::Sequential<B, ctnn::Input<2, 9, 7>, ctnn::Conv2d<2, 4, 3, 1, 1>, ctnn::ReLU,
                                    ctnn::MaxPool2d<3, 2, 1>, ctnn::Conv2d<4, 3, 3, 1, 2>, ctnn::Sigmoid, ctnn::Flatten,
                                    ctnn::Linear<126, 12>, ctnn::LogSoftmax>;
template <class B>
using SevenBySevenNet = ctnn::Sequential<B, ctnn::Input<3, 11, 13>, ctnn::Conv2d<3, 7, 1>, ctnn::MaxPool2d<2>,
                                         ctnn::Conv2d<7, 2, 7, 1, 3>, ctnn::ReLU, ctnn::MaxPool2d<2>, ctnn::Flatten,
                                         ctnn::Linear<12, 16>, ctnn::Softmax>;
template <class B>
using SkinnyMLP = ctnn::Sequential<B, ctnn::Input<31>, ctnn::Linear<31, 16>, ctnn::ReLU, ctnn::Linear<16, 15>, ctnn::Tanh,
                                   ctnn::Linear<15, 12>, ctnn::Sigmoid, ctnn::Linear<12, 1>>;

template <class B>
void check_odd_models() {
  for (std::size_t n : {1, 5, 13}) {
    check_model_against_reference<OddConvNet, B>("Input<3,7,7> Conv2d<3,5,5,2,1> MaxPool2d<2> Linear 11..17", n, 100 + n);
    check_model_against_reference<OddPoolNet, B>("Input<2,9,7> Conv2d 3x3 p1 MaxPool2d<3,2,1> Conv2d 3x3 p2 LogSoftmax", n, 200 + n);
    check_model_against_reference<SevenBySevenNet, B>("Input<3,11,13> 1x1 conv, 7x7 conv p3, pools on 11x13 and 5x6", n, 300 + n);
    check_model_against_reference<SkinnyMLP, B>("Linear 31->16->15->12->1", n, 400 + n);
  }
}

}  // namespace ctnn_test
