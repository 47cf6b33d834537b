#pragma once
// Parity with PyTorch, once for every backend: each layer, loss and the seed's three Fashion-MNIST models
// against fixtures that PyTorch 1.13 computed in float64 (tests/fixtures/make_fixtures.py). Forward
// outputs, the input gradient and every parameter gradient are compared (for layers, with
// loss = sum(output * grad_output)); |actual - expected| <= tolerance * max(1, max |expected|) over each
// tensor, the tolerance being 1e-5 for a float backend and 1e-9 for a double one.
//
// Values are read only through Batch::to_host, Parameter::grad_to_host and the backend's to_host, so the
// same checks run on host and device backends. No Catch2 and no Eigen: a check reports through a
// callback, so the Catch2 tests (parity_catch.hpp: nn.test_parity on eigen and reference,
// backend.test_thrust) and the CUDA test (tests/backend/test_cuda.cu, compiled by nvcc) run the same cases.
//
//   for (const auto& c : ctnn_test::parity::cases<B>()) c.run(report);   // report(bool ok, std::string what)
//
// Include <ctnn/ctnn.hpp> (or <ctnn/nn.hpp> in nvcc) and the backend's header first.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#if __has_include(<ctnn/nn.hpp>)  // not in single_include/: there ctnn.hpp has it all
#include <ctnn/nn.hpp>
#include <ctnn/nn/adaptive_pool.hpp>
#include <ctnn/nn/conv_transpose.hpp>
#endif

#include "fixture.hpp"
#include "fixture_models.hpp"
#include "seed_models.hpp"

namespace ctnn_test::parity {

// Receives every comparison: whether it held, and a line naming the fixture, the tensor and the largest
// error (or, on failure, the first offending index and both values).
using Report = std::function<void(bool ok, const std::string& message)>;

template <class B>
inline constexpr double tolerance = std::is_same_v<ctnn::scalar_t<B>, float> ? 1e-5 : 1e-9;

inline std::string shape_text(const std::vector<std::size_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// "[1, 0, 2]": the multi-index of flat position i in shape.
inline std::string index_text(std::size_t i, const std::vector<std::size_t>& shape) {
  std::vector<std::size_t> index(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    index[d] = i % shape[d];
    i /= shape[d];
  }
  return shape_text(index);
}

// Compares `actual` with the fixture tensor `name` (and, when given, its shape).
template <class T>
void check_close(const Report& report, const Fixture& f, const std::string& name, const std::vector<T>& actual,
                 double tol, const std::vector<std::size_t>& actual_shape = {}) {
  const FixtureTensor& expected = f.at(name);
  const std::string where = "fixture " + f.path() + ": tensor '" + name + "'";
  if (!actual_shape.empty() && actual_shape != expected.shape) {
    report(false, where + ": ctnn's shape is " + shape_text(actual_shape) + " but PyTorch's is " +
                      shape_text(expected.shape));
    return;
  }
  if (actual.size() != expected.values.size()) {
    report(false, where + ": ctnn has " + std::to_string(actual.size()) + " values but PyTorch has " +
                      std::to_string(expected.values.size()) + " (shape " + shape_text(expected.shape) + ")");
    return;
  }
  double scale = 1;
  for (double e : expected.values) scale = std::max(scale, std::abs(e));
  double worst = 0;
  std::size_t first_bad = actual.size();
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const double error = std::abs(static_cast<double>(actual[i]) - expected.values[i]) / scale;
    if (!(error <= tol) && first_bad == actual.size()) first_bad = i;  // NaN fails too
    if (!(error <= worst)) worst = error;
  }
  std::ostringstream os;
  if (first_bad != actual.size()) {
    os.precision(17);
    os << where << " differs at index " << index_text(first_bad, expected.shape) << " (flat " << first_bad
       << "): ctnn " << static_cast<double>(actual[first_bad]) << ", PyTorch " << expected.values[first_bad]
       << "; largest error " << worst << " of the scale " << scale << ", tolerance " << tol;
  } else {
    os.precision(3);
    os << where << ": largest error " << worst << " of the scale " << scale << " (tolerance " << tol << ")";
  }
  report(first_bad == actual.size(), os.str());
}

// A batch holding a fixture tensor whose shape must be [n, per-sample shape...].
template <class BatchType>
BatchType to_batch(const Fixture& f, const std::string& name) {
  using T = typename BatchType::value_type;
  using S = typename BatchType::shape;
  const FixtureTensor& t = f.at(name);
  const std::vector<std::size_t> wanted(S::dims.begin(), S::dims.end());
  if (t.shape.empty() || std::vector<std::size_t>(t.shape.begin() + 1, t.shape.end()) != wanted)
    throw std::runtime_error("fixture " + f.path() + ": tensor '" + name + "' has shape " + shape_text(t.shape) +
                             ", not [n] + " + shape_text(wanted));
  std::vector<T> values(t.values.size());
  std::transform(t.values.begin(), t.values.end(), values.begin(), [](double v) { return static_cast<T>(v); });
  return BatchType::from_host(std::span<const T>(values));
}

// A loss's gradient with respect to its prediction (in B's memory), as host values.
template <class B>
std::vector<ctnn::scalar_t<B>> gradient_to_host(const ctnn::GradientView<B>& grad) {
  std::vector<ctnn::scalar_t<B>> out(grad.batch_size * grad.per_sample);
  ctnn::backend::ops<B>::to_host(out.size(), grad.data, out.data());
  return out;
}

// Every parameter's gradient against "<state_dict key>.grad", and no parameter left unchecked.
template <class Model>
void check_parameter_grads(const Report& report, Model& model, const Fixture& f, double tol) {
  std::size_t checked = 0;
  model.visit_parameters([&](ctnn::Parameter<typename Model::backend_type>& p) {
    check_close(report, f, p.name + ".grad", p.grad_to_host(), tol, p.shape);
    ++checked;
  });
  report(checked == f.parameters().size(), "fixture " + f.path() + ": " + std::to_string(checked) +
                                               " parameter gradients compared, the fixture has " +
                                               std::to_string(f.parameters().size()));
}

// A one-layer model against a layer fixture, in evaluation mode: forward, then backward of
// sum(output * grad_output).
template <class Model>
void check_layer(const Report& report, const std::string& case_name) {
  using B = typename Model::backend_type;
  constexpr double tol = tolerance<B>;
  const Fixture f = load_fixture(case_name);
  Model model;
  model.load_state_dict(state_dict_of<ctnn::scalar_t<B>>(f));
  model.eval();
  const auto x = to_batch<typename Model::input_batch>(f, "input");
  const auto& y = model.forward(x);
  check_close(report, f, "output", y.to_host(), tol, batch_shape(y));
  const auto dy = to_batch<typename Model::output_batch>(f, "grad_output");
  model.zero_grad();
  const auto& dx = model.backward(dy);
  check_close(report, f, "grad_input", dx.to_host(), tol, batch_shape(dx));
  check_parameter_grads(report, model, f, tol);
}

// A model with BatchNorm against a fixture of make_resnet_fixtures.py, in training mode: forward (batch
// statistics), backward of sum(output * grad_output) (grad_input when the fixture has it, every
// parameter gradient), then the running statistics after that step ("step1.<buffer>", when present).
template <class Model>
void check_layer_training(const Report& report, const std::string& case_name) {
  using B = typename Model::backend_type;
  using T = ctnn::scalar_t<B>;
  constexpr double tol = tolerance<B>;
  const Fixture f = load_fixture(case_name);
  ctnn::StateDict<T> state;
  for (const auto& p : f.parameters()) {
    if (p.name.ends_with("num_batches_tracked"))
      state.push_back(ctnn::StateTensor<T>::int64(p.name, p.shape, std::vector<std::int64_t>(p.values.begin(), p.values.end())));
    else
      state.push_back({p.name, p.shape, std::vector<T>(p.values.begin(), p.values.end())});
  }
  Model model;
  model.load_state_dict(state);
  model.train();
  const auto x = to_batch<typename Model::input_batch>(f, "input");
  const auto& y = model.forward(x);
  check_close(report, f, "output", y.to_host(), tol, batch_shape(y));
  model.zero_grad();
  const auto& dx = model.backward(to_batch<typename Model::output_batch>(f, "grad_output"));
  if (f.contains("grad_input")) check_close(report, f, "grad_input", dx.to_host(), tol, batch_shape(dx));
  std::size_t checked = 0;
  model.visit_parameters([&](ctnn::Parameter<B>& p) {
    check_close(report, f, p.name + ".grad", p.grad_to_host(), tol, p.shape);
    ++checked;
  });
  report(checked > 0 || Model::parameter_count == 0,
         "fixture " + f.path() + ": " + std::to_string(checked) + " parameter gradients compared");
  for (const auto& t : model.state_dict())
    if (!t.is_int64 && f.contains("step1." + t.name)) check_close(report, f, "step1." + t.name, t.values, tol, t.shape);
}

// A seed model in training mode: logits, CrossEntropyLoss (mean) against the fixture's labels, and
// loss.backward().
template <class Model>
void check_seed_model(const Report& report, const std::string& case_name) {
  using B = typename Model::backend_type;
  using T = ctnn::scalar_t<B>;
  constexpr double tol = tolerance<B>;
  const Fixture f = load_fixture(case_name);
  Model model;
  model.load_state_dict(state_dict_of<T>(f));
  model.train();
  const auto x = to_batch<typename Model::input_batch>(f, "input");
  const auto labels = to_batch<ctnn::Labels<B>>(f, "target");
  const auto& logits = model.forward(x);
  check_close(report, f, "output", logits.to_host(), tol, batch_shape(logits));
  ctnn::CrossEntropyLoss<B> loss_fn;
  const T loss = loss_fn(logits, labels);
  check_close(report, f, "loss", std::vector<T>{loss}, tol);
  model.zero_grad();
  const auto& dx = model.backward(loss_fn.grad());
  check_close(report, f, "grad_input", dx.to_host(), tol, batch_shape(dx));
  check_parameter_grads(report, model, f, tol);
}

// A loss against the fixtures <stem>_mean and <stem>_sum (and <stem>_batchmean when asked for): the
// value and d(loss)/d(prediction).
template <class Loss, class PredictionBatch, class TargetBatch>
void check_loss(const Report& report, const std::string& stem, bool batchmean = false) {
  using B = typename PredictionBatch::backend_type;
  using ctnn::Reduction;
  constexpr double tol = tolerance<B>;
  std::vector<Reduction> reductions{Reduction::mean, Reduction::sum};
  if (batchmean) reductions.push_back(Reduction::batchmean);
  for (const auto reduction : reductions) {
    const Fixture f = load_fixture(stem + (reduction == Reduction::mean  ? "_mean"
                                           : reduction == Reduction::sum ? "_sum"
                                                                         : "_batchmean"));
    const auto prediction = to_batch<PredictionBatch>(f, "input");
    const auto target = to_batch<TargetBatch>(f, "target");
    Loss loss_fn{reduction};
    const auto value = loss_fn(prediction, target);
    check_close(report, f, "loss", std::vector<std::remove_cv_t<decltype(value)>>{value}, tol);
    const ctnn::GradientView<B> grad = loss_fn.grad();
    report(grad.batch_size == prediction.batch_size() && grad.per_sample == PredictionBatch::sample_size,
           "fixture " + f.path() + ": the gradient has the prediction's shape");
    check_close(report, f, "grad_input", gradient_to_host(grad), tol, batch_shape(prediction));
  }
}

// In training PyTorch's masks come from its own generator, so only their statistics can match: about P
// of the values zeroed, the rest scaled by 1 / (1 - P), and backward through the same mask.
template <class B>
void check_dropout_training(const Report& report) {
  using namespace ctnn;
  using T = scalar_t<B>;
  constexpr std::size_t features = 1000, n = 20;
  constexpr double p = 0.3;  // the Dropout<0.3> below
  Sequential<B, Input<features>, Dropout<0.3>> model{manual_seed(7)};
  model.train();
  std::vector<T> xv(n * features);
  for (std::size_t i = 0; i < xv.size(); ++i) xv[i] = T(1) + static_cast<T>(i % 5);
  const auto x = Batch<Shape<features>, B>::from_host(std::span<const T>(xv));
  const auto y = model.forward(x).to_host();
  const T keep_scale = static_cast<T>(1.0 / (1.0 - p));
  std::size_t zeros = 0, wrong = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    if (y[i] == T(0)) ++zeros;
    else if (std::abs(y[i] - xv[i] * keep_scale) > T(1e-6) * xv[i]) ++wrong;
  }
  const double dropped = static_cast<double>(zeros) / static_cast<double>(y.size());
  report(wrong == 0, "Dropout<0.3> in training: " + std::to_string(wrong) + " kept values not scaled by 1 / 0.7");
  // 20000 draws: one standard deviation of the dropped fraction is 0.0032.
  report(dropped > p - 0.02 && dropped < p + 0.02,
         "Dropout<0.3> in training: fraction dropped " + std::to_string(dropped) + ", expected 0.3 +- 0.02");

  const std::vector<T> dyv(n * features, T(2));
  const auto dx = model.backward(Batch<Shape<features>, B>::from_host(std::span<const T>(dyv))).to_host();
  std::size_t mismatched = 0;
  for (std::size_t i = 0; i < dx.size(); ++i)
    if (std::abs(dx[i] - (y[i] == T(0) ? T(0) : T(2) * keep_scale)) > T(1e-6)) ++mismatched;
  report(mismatched == 0, "Dropout<0.3> in training: " + std::to_string(mismatched) +
                              " input gradients not through the forward's mask");
}

// CrossEntropyLoss with the options a fixture names (weight, label_smoothing, ignore_index; -1: none),
// for <stem>_mean and <stem>_sum.
template <class B>
void check_cross_entropy_options(const Report& report, const std::string& stem) {
  using ctnn::Reduction;
  constexpr double tol = tolerance<B>;
  for (const auto reduction : {Reduction::mean, Reduction::sum}) {
    const Fixture f = load_fixture(stem + (reduction == Reduction::mean ? "_mean" : "_sum"));
    ctnn::CrossEntropyOptions options{.weight = f.at("weight").values, .reduction = reduction,
                                      .label_smoothing = f.at("label_smoothing").values.at(0)};
    const auto ignore_index = static_cast<std::int64_t>(f.at("ignore_index").values.at(0));
    if (ignore_index != -1) options.ignore_index = ignore_index;
    const auto prediction = to_batch<ctnn::Batch<ctnn::Shape<5>, B>>(f, "input");
    const auto target = to_batch<ctnn::Labels<B>>(f, "target");
    ctnn::CrossEntropyLoss<B> loss_fn{options};
    const auto value = loss_fn(prediction, target);
    check_close(report, f, "loss", std::vector<std::remove_cv_t<decltype(value)>>{value}, tol);
    check_close(report, f, "grad_input", gradient_to_host(ctnn::GradientView<B>(loss_fn.grad())), tol,
                batch_shape(prediction));
  }
}

// Dropout2d<0.3> in training: each (sample, channel) plane all zero or all scaled by 1 / 0.7, about 0.3
// of the planes zeroed, and backward through the same mask.
template <class B>
void check_dropout2d_training(const Report& report) {
  using namespace ctnn;
  using T = scalar_t<B>;
  constexpr std::size_t channels = 50, plane = 12, n = 40;
  constexpr double p = 0.3;  // the Dropout2d<0.3> below
  using S = Shape<channels, 3, 4>;
  Sequential<B, Input<channels, 3, 4>, Dropout2d<0.3>> model{manual_seed(7)};
  model.train();
  std::vector<T> xv(n * S::size);
  for (std::size_t i = 0; i < xv.size(); ++i) xv[i] = T(1) + static_cast<T>(i % 7);
  const auto x = Batch<S, B>::from_host(std::span<const T>(xv));
  const auto y = model.forward(x).to_host();
  const T keep_scale = static_cast<T>(1.0 / (1.0 - p));
  std::size_t zeroed = 0, mixed = 0;
  for (std::size_t c = 0; c < n * channels; ++c) {
    std::size_t zeros = 0, scaled = 0;
    for (std::size_t i = c * plane; i < (c + 1) * plane; ++i) {
      if (y[i] == T(0)) ++zeros;
      else if (std::abs(y[i] - xv[i] * keep_scale) <= T(1e-6) * xv[i]) ++scaled;
    }
    if (zeros == plane) ++zeroed;
    else if (scaled != plane) ++mixed;
  }
  report(mixed == 0, "Dropout2d<0.3> in training: " + std::to_string(mixed) +
                         " channels neither all zero nor all scaled by 1 / 0.7");
  // 2000 channels: one standard deviation of the dropped fraction is 0.010.
  const double dropped = static_cast<double>(zeroed) / static_cast<double>(n * channels);
  report(dropped > p - 0.04 && dropped < p + 0.04,
         "Dropout2d<0.3> in training: fraction of channels dropped " + std::to_string(dropped) +
             ", expected 0.3 +- 0.04");
  const std::vector<T> dyv(n * S::size, T(2));
  const auto dx = model.backward(Batch<S, B>::from_host(std::span<const T>(dyv))).to_host();
  std::size_t mismatched = 0;
  for (std::size_t i = 0; i < dx.size(); ++i)
    if (std::abs(dx[i] - (y[i] == T(0) ? T(0) : T(2) * keep_scale)) > T(1e-6)) ++mismatched;
  report(mismatched == 0, "Dropout2d<0.3> in training: " + std::to_string(mismatched) +
                              " input gradients not through the forward's mask");
}

// ---- the cases ------------------------------------------------------------------------------------

struct Case {
  std::string name;
  void (*run)(const Report&);
};

// The options of the convolution and pooling vocabulary cases (namespace-scope constants: nvcc takes
// no template argument from a local constant).
namespace vocabulary {
inline constexpr ctnn::Conv2dOptions conv_rect{.kernel_size = {3, 5}, .stride = {1, 2}, .padding = {1, 2}};
inline constexpr ctnn::Conv2dOptions conv_dilated{.kernel_size = 3, .padding = 2, .dilation = 2};
inline constexpr ctnn::Conv2dOptions conv_grouped{.kernel_size = 3, .padding = 1, .groups = 2};
inline constexpr ctnn::Conv2dOptions conv_depthwise{.kernel_size = 3, .stride = 2, .padding = 1, .groups = 3, .bias = false};
inline constexpr ctnn::ConvTranspose2dOptions up_rect{.kernel_size = {3, 2}, .stride = {2, 3}, .padding = {1, 0},
                                            .output_padding = {1, 2}, .groups = 2, .bias = false};
inline constexpr ctnn::ConvTranspose2dOptions up_dilated{.kernel_size = 3, .stride = 2, .output_padding = 1, .dilation = 2};
inline constexpr ctnn::MaxPool2dOptions max_rect{.kernel_size = {3, 2}, .stride = {2, 1}, .padding = 1, .dilation = {2, 1}};
inline constexpr ctnn::AvgPool2dOptions avg_rect{.kernel_size = {3, 2}, .stride = {2, 1}, .padding = {1, 0}};
}  // namespace vocabulary

template <class B>
std::vector<Case> layer_cases() {
  using namespace ctnn;
  return {
      {"Linear", [](const Report& r) { check_layer<Sequential<B, Input<5>, Linear<5, 3>>>(r, "linear"); }},
      {"Linear without bias",
       [](const Report& r) { check_layer<Sequential<B, Input<5>, Linear<5, 3, false>>>(r, "linear_no_bias"); }},
      {"Conv2d: kernel 3, stride 1, padding 1",
       [](const Report& r) { check_layer<Sequential<B, Input<2, 5, 5>, Conv2d<2, 3, 3, 1, 1>>>(r, "conv2d_k3_s1_p1"); }},
      {"Conv2d: kernel 3, stride 2, padding 0",
       [](const Report& r) { check_layer<Sequential<B, Input<2, 7, 7>, Conv2d<2, 3, 3, 2, 0>>>(r, "conv2d_k3_s2_p0"); }},
      {"Conv2d: kernel 5, stride 1, padding 2",
       [](const Report& r) { check_layer<Sequential<B, Input<1, 6, 6>, Conv2d<1, 2, 5, 1, 2>>>(r, "conv2d_k5_s1_p2"); }},
      {"Conv2d: kernel 3x5, stride 1x2, padding 1x2 (make_conv_fixtures.py)",
       [](const Report& r) {
         check_layer<Sequential<B, Input<3, 7, 9>, Conv2d<3, 4, vocabulary::conv_rect>>>(r, "conv2d_rect");
       }},
      {"Conv2d: dilation 2",
       [](const Report& r) {
         check_layer<Sequential<B, Input<2, 8, 7>, Conv2d<2, 3, vocabulary::conv_dilated>>>(r, "conv2d_dilation");
       }},
      {"Conv2d: groups 2",
       [](const Report& r) {
         check_layer<Sequential<B, Input<4, 6, 5>, Conv2d<4, 6, vocabulary::conv_grouped>>>(r, "conv2d_groups");
       }},
      {"Conv2d: depthwise (groups = in_channels), stride 2, no bias",
       [](const Report& r) {
         check_layer<Sequential<B, Input<3, 7, 8>, Conv2d<3, 6, vocabulary::conv_depthwise>>>(r, "conv2d_depthwise_no_bias");
       }},
      {"ConvTranspose2d: kernel 4, stride 2, padding 1 (DCGAN's)",
       [](const Report& r) {
         check_layer<Sequential<B, Input<4, 4, 5>, ConvTranspose2d<4, 3, 4, 2, 1>>>(r, "convtranspose2d_k4_s2_p1");
       }},
      {"ConvTranspose2d: kernel 3, stride 1, padding 1",
       [](const Report& r) {
         check_layer<Sequential<B, Input<3, 5, 6>, ConvTranspose2d<3, 2, 3, 1, 1>>>(r, "convtranspose2d_k3_s1_p1");
       }},
      {"ConvTranspose2d: rectangular, output_padding, groups 2, no bias",
       [](const Report& r) {
         check_layer<Sequential<B, Input<2, 4, 3>, ConvTranspose2d<2, 4, vocabulary::up_rect>>>(r, "convtranspose2d_rect_groups");
       }},
      {"ConvTranspose2d: dilation 2, output_padding 1",
       [](const Report& r) {
         check_layer<Sequential<B, Input<2, 3, 4>, ConvTranspose2d<2, 3, vocabulary::up_dilated>>>(r, "convtranspose2d_dilation");
       }},
      {"MaxPool2d: kernel 3x2, stride 2x1, padding 1, dilation 2x1",
       [](const Report& r) {
         check_layer<Sequential<B, Input<2, 9, 7>, MaxPool2d<vocabulary::max_rect>>>(r, "maxpool2d_rect_dilation");
       }},
      {"AvgPool2d: kernel 3x2, stride 2x1, padding 1x0",
       [](const Report& r) {
         check_layer<Sequential<B, Input<2, 7, 6>, AvgPool2d<vocabulary::avg_rect>>>(r, "avgpool2d_rect");
       }},
      {"AdaptiveAvgPool2d: global (1)",
       [](const Report& r) { check_layer<Sequential<B, Input<3, 5, 7>, AdaptiveAvgPool2d<1>>>(r, "adaptive_avgpool2d_1"); }},
      {"AdaptiveAvgPool2d: (2, 3)",
       [](const Report& r) {
         check_layer<Sequential<B, Input<2, 6, 9>, AdaptiveAvgPool2d<2, 3>>>(r, "adaptive_avgpool2d_2x3");
       }},
      {"MaxPool2d: kernel 2",
       [](const Report& r) { check_layer<Sequential<B, Input<3, 6, 6>, MaxPool2d<2>>>(r, "maxpool2d_k2"); }},
      {"MaxPool2d: kernel 3, stride 2",
       [](const Report& r) { check_layer<Sequential<B, Input<2, 7, 7>, MaxPool2d<3, 2>>>(r, "maxpool2d_k3_s2"); }},
      {"MaxPool2d: kernel 3, stride 2, padding 1",
       [](const Report& r) { check_layer<Sequential<B, Input<2, 7, 7>, MaxPool2d<3, 2, 1>>>(r, "maxpool2d_k3_s2_p1"); }},
      {"MaxPool2d: ties go to the first maximum",
       [](const Report& r) {
         check_layer<Sequential<B, Input<2, 6, 6>, MaxPool2d<2>>>(r, "maxpool2d_k2_ties");
         check_layer<Sequential<B, Input<2, 7, 7>, MaxPool2d<3, 2, 1>>>(r, "maxpool2d_k3_s2_p1_ties");
       }},
      {"Flatten", [](const Report& r) { check_layer<Sequential<B, Input<3, 2, 2>, Flatten>>(r, "flatten"); }},
      {"ReLU", [](const Report& r) { check_layer<Sequential<B, Input<2, 3, 4>, ReLU>>(r, "relu"); }},
      {"Sigmoid", [](const Report& r) { check_layer<Sequential<B, Input<2, 3, 4>, Sigmoid>>(r, "sigmoid"); }},
      {"Tanh", [](const Report& r) { check_layer<Sequential<B, Input<2, 3, 4>, Tanh>>(r, "tanh"); }},
      {"Softmax", [](const Report& r) { check_layer<Sequential<B, Input<6>, Softmax>>(r, "softmax"); }},
      {"LogSoftmax", [](const Report& r) { check_layer<Sequential<B, Input<6>, LogSoftmax>>(r, "log_softmax"); }},
      {"Dropout: evaluation is the identity",
       [](const Report& r) { check_layer<Sequential<B, Input<7>, Dropout<0.5>>>(r, "dropout_eval"); }},
      {"Dropout: statistics in training", [](const Report& r) { check_dropout_training<B>(r); }},
      {"Dropout2d: evaluation is the identity",
       [](const Report& r) { check_layer<Sequential<B, Input<3, 2, 2>, Dropout2d<0.5>>>(r, "dropout2d_eval"); }},
      {"Dropout2d: whole channels in training", [](const Report& r) { check_dropout2d_training<B>(r); }},
      {"LeakyReLU", [](const Report& r) { check_layer<Sequential<B, Input<41>, LeakyReLU<>>>(r, "act_leaky_relu"); }},
      {"LeakyReLU(0.2)",
       [](const Report& r) { check_layer<Sequential<B, Input<41>, LeakyReLU<0.2>>>(r, "act_leaky_relu_0.2"); }},
      {"ELU", [](const Report& r) { check_layer<Sequential<B, Input<41>, ELU<>>>(r, "act_elu"); }},
      {"ELU(alpha=0.5)", [](const Report& r) { check_layer<Sequential<B, Input<41>, ELU<0.5>>>(r, "act_elu_0.5"); }},
      {"GELU", [](const Report& r) { check_layer<Sequential<B, Input<41>, GELU<>>>(r, "act_gelu"); }},
      {"GELU(approximate='tanh')",
       [](const Report& r) { check_layer<Sequential<B, Input<41>, GELU<approximate::tanh>>>(r, "act_gelu_tanh"); }},
      {"SiLU", [](const Report& r) { check_layer<Sequential<B, Input<41>, SiLU>>(r, "act_silu"); }},
      {"Softplus", [](const Report& r) { check_layer<Sequential<B, Input<41>, Softplus<>>>(r, "act_softplus"); }},
      {"Softplus(beta=2, threshold=10)",
       [](const Report& r) { check_layer<Sequential<B, Input<41>, Softplus<2.0, 10.0>>>(r, "act_softplus_2_10"); }},
      {"Hardswish", [](const Report& r) { check_layer<Sequential<B, Input<41>, Hardswish>>(r, "act_hardswish"); }},
      {"BatchNorm1d (training)",
       [](const Report& r) {
         check_layer_training<Sequential<B, Input<5>, BatchNorm1d<5>>>(r, "batchnorm1d_5");
         check_layer_training<Sequential<B, Input<3, 5>, BatchNorm1d<3>>>(r, "batchnorm1d_3_l5");
       }},
      {"BatchNorm2d (training)",
       [](const Report& r) { check_layer_training<Sequential<B, Input<3, 5, 7>, BatchNorm2d<3>>>(r, "batchnorm2d_3"); }},
  };
}

template <class B>
std::vector<Case> loss_cases() {
  using namespace ctnn;
  return {
      {"CrossEntropyLoss",
       [](const Report& r) { check_loss<CrossEntropyLoss<B>, Batch<Shape<5>, B>, Labels<B>>(r, "cross_entropy"); }},
      {"NLLLoss", [](const Report& r) { check_loss<NLLLoss<B>, Batch<Shape<5>, B>, Labels<B>>(r, "nll"); }},
      {"BCELoss", [](const Report& r) { check_loss<BCELoss<B>, Batch<Shape<4>, B>, Batch<Shape<4>, B>>(r, "bce"); }},
      {"BCELoss: probabilities exactly 0 and 1 (logs clamped at -100)",
       [](const Report& r) { check_loss<BCELoss<B>, Batch<Shape<4>, B>, Batch<Shape<4>, B>>(r, "bce_saturated"); }},
      {"BCEWithLogitsLoss",
       [](const Report& r) {
         check_loss<BCEWithLogitsLoss<B>, Batch<Shape<4>, B>, Batch<Shape<4>, B>>(r, "bce_with_logits");
       }},
      {"MSELoss", [](const Report& r) { check_loss<MSELoss<B>, Batch<Shape<2, 2>, B>, Batch<Shape<2, 2>, B>>(r, "mse"); }},
      {"L1Loss", [](const Report& r) { check_loss<L1Loss<B>, Batch<Shape<5>, B>, Batch<Shape<5>, B>>(r, "l1"); }},
      {"HuberLoss",
       [](const Report& r) {
         check_loss<HuberLoss<1.0, B>, Batch<Shape<5>, B>, Batch<Shape<5>, B>>(r, "huber");
         check_loss<HuberLoss<0.5, B>, Batch<Shape<5>, B>, Batch<Shape<5>, B>>(r, "huber_0.5");
       }},
      {"SmoothL1Loss",
       [](const Report& r) {
         check_loss<SmoothL1Loss<1.0, B>, Batch<Shape<5>, B>, Batch<Shape<5>, B>>(r, "smooth_l1");
         check_loss<SmoothL1Loss<0.5, B>, Batch<Shape<5>, B>, Batch<Shape<5>, B>>(r, "smooth_l1_0.5");
       }},
      {"CrossEntropyLoss: class weights",
       [](const Report& r) { check_cross_entropy_options<B>(r, "cross_entropy_weighted"); }},
      {"CrossEntropyLoss: label smoothing",
       [](const Report& r) {
         check_cross_entropy_options<B>(r, "cross_entropy_smoothing");
         check_cross_entropy_options<B>(r, "cross_entropy_weighted_smoothing");
       }},
      {"CrossEntropyLoss: ignore_index", [](const Report& r) { check_cross_entropy_options<B>(r, "cross_entropy_ignore"); }},
      {"KLDivLoss",
       [](const Report& r) {
         check_loss<KLDivLoss<false, B>, Batch<Shape<6>, B>, Batch<Shape<6>, B>>(r, "kl_div", true);
         check_loss<KLDivLoss<true, B>, Batch<Shape<6>, B>, Batch<Shape<6>, B>>(r, "kl_div_log_target", true);
       }},
  };
}

// The seed's models, named so that their parameter names are the notebook's state_dict keys.
template <class B>
std::vector<Case> model_cases() {
  return {
      {"FashionMNISTModelV0", [](const Report& r) { check_seed_model<FashionMNISTModelV0<B>>(r, "fashion_mnist_v0"); }},
      {"FashionMNISTModelV1", [](const Report& r) { check_seed_model<FashionMNISTModelV1<B>>(r, "fashion_mnist_v1"); }},
      {"FashionMNISTModelV2 (TinyVGG)", [](const Report& r) { check_seed_model<TinyVGG<B>>(r, "fashion_mnist_v2"); }},
      {"SmallResNet (BasicBlocks, BatchNorm, projection shortcut; training)",
       [](const Report& r) { check_layer_training<SmallResNet<B>>(r, "resnet_small"); }},
  };
}

template <class B>
std::vector<Case> cases() {
  std::vector<Case> all = layer_cases<B>();
  for (auto group : {loss_cases<B>(), model_cases<B>()}) all.insert(all.end(), group.begin(), group.end());
  return all;
}

}  // namespace ctnn_test::parity
