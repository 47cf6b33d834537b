// Parity with PyTorch: every layer, loss and the seed's three FashionMNIST models against fixtures
// computed by PyTorch 1.13 in float64 (tests/fixtures/make_fixtures.py). Each case runs on both
// backends: eigen (float) must match to 1e-5 and reference (double) to 1e-9 of each tensor's scale,
// max(1, max |expected|). Forward outputs, the input gradient and every parameter gradient are
// compared, for layers with loss = sum(output * grad_output).
//
// Run with -s to see the largest error of every compared tensor.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <ctnn/ctnn.hpp>
#include <span>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "fixture.hpp"
#include "fixture_models.hpp"

namespace {

using namespace ctnn;
using ctnn_test::Fixture;
using ctnn_test::FixtureTensor;
using ctnn_test::load_fixture;
using ctnn_test::batch_shape;
using ctnn_test::state_dict_of;

template <class B>
constexpr double tolerance = std::is_same_v<scalar_t<B>, float> ? 1e-5 : 1e-9;

std::string shape_text(const std::vector<std::size_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// "[1, 0, 2]": the multi-index of flat position i in shape.
std::string index_text(std::size_t i, const std::vector<std::size_t>& shape) {
  std::vector<std::size_t> index(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    index[d] = i % shape[d];
    i /= shape[d];
  }
  return shape_text(index);
}

// Compares `count` values at `actual` with the fixture tensor `name`: |a - e| <= tol * max(1, max |e|).
// On failure names the fixture, the tensor, the first offending index and both values.
template <class T>
void check_close(const Fixture& f, const std::string& name, const T* actual, std::size_t count, double tol,
                 const std::vector<std::size_t>& actual_shape = {}) {
  const FixtureTensor& expected = f.at(name);
  const std::string where = "fixture " + f.path() + ": tensor '" + name + "'";
  if (!actual_shape.empty() && actual_shape != expected.shape) {
    FAIL_CHECK(where << ": ctnn's shape is " << shape_text(actual_shape) << " but PyTorch's is "
                     << shape_text(expected.shape));
    return;
  }
  if (count != expected.values.size()) {
    FAIL_CHECK(where << ": ctnn has " << count << " values but PyTorch has " << expected.values.size() << " (shape "
                     << shape_text(expected.shape) << ")");
    return;
  }
  double scale = 1;
  for (double e : expected.values) scale = std::max(scale, std::abs(e));
  double worst = 0;
  std::size_t first_bad = count;
  for (std::size_t i = 0; i < count; ++i) {
    const double a = static_cast<double>(actual[i]), e = expected.values[i];
    const double error = std::abs(a - e) / scale;
    if (!(error <= tol) && first_bad == count) first_bad = i;  // NaN fails too
    if (!(error <= worst)) worst = error;
  }
  if (first_bad != count) {
    std::ostringstream os;
    os.precision(17);
    os << where << " differs at index " << index_text(first_bad, expected.shape) << " (flat " << first_bad
       << "): ctnn " << static_cast<double>(actual[first_bad]) << ", PyTorch " << expected.values[first_bad]
       << "; largest error " << worst << " of the scale " << scale << ", tolerance " << tol;
    FAIL_CHECK(os.str());
  } else {
    std::ostringstream os;
    os.precision(3);
    os << where << ": largest error " << worst << " of the scale " << scale << " (tolerance " << tol << ")";
    SUCCEED(os.str());
  }
}

template <class T>
void check_close_scalar(const Fixture& f, const std::string& name, T actual, double tol) {
  check_close(f, name, &actual, 1, tol);
}

// A batch holding a fixture tensor whose shape must be [n, per-sample shape...].
template <class BatchType>
BatchType to_batch(const Fixture& f, const std::string& name) {
  using T = typename BatchType::value_type;
  using S = typename BatchType::shape;
  const FixtureTensor& t = f.at(name);
  std::vector<std::size_t> per_sample(t.shape.empty() ? t.shape.begin() : t.shape.begin() + 1, t.shape.end());
  const std::vector<std::size_t> wanted(S::dims.begin(), S::dims.end());
  if (t.shape.empty() || per_sample != wanted)
    throw std::runtime_error("fixture " + f.path() + ": tensor '" + name + "' has shape " + shape_text(t.shape) +
                             ", not [n] + " + shape_text(wanted));
  std::vector<T> values(t.values.size());
  std::transform(t.values.begin(), t.values.end(), values.begin(), [](double v) { return static_cast<T>(v); });
  return BatchType::from_host(std::span<const T>(values));
}

// Every parameter's gradient against "<state_dict key>.grad".
template <class Model>
void check_parameter_grads(Model& model, const Fixture& f, double tol) {
  std::size_t checked = 0;
  model.visit_parameters([&](Parameter<typename Model::backend_type>& p) {
    check_close(f, p.name + ".grad", p.grad.data(), p.size(), tol, p.shape);
    ++checked;
  });
  CHECK(checked == f.parameters().size());
}

// A one-layer model against a layer fixture: forward, then backward of sum(output * grad_output).
template <class Model>
void check_layer(const std::string& case_name) {
  using B = typename Model::backend_type;
  using T = scalar_t<B>;
  constexpr double tol = tolerance<B>;
  const Fixture f = load_fixture(case_name);
  Model model;
  model.load_state_dict(state_dict_of<T>(f));
  model.eval();
  const auto x = to_batch<typename Model::input_batch>(f, "input");
  const auto& y = model.forward(x);
  check_close(f, "output", y.data(), y.size(), tol, batch_shape(y));

  const auto dy = to_batch<typename Model::output_batch>(f, "grad_output");
  model.zero_grad();
  const auto& dx = model.backward(dy);
  check_close(f, "grad_input", dx.data(), dx.size(), tol, batch_shape(dx));
  check_parameter_grads(model, f, tol);
}

// A seed model: logits, CrossEntropyLoss (mean) against the fixture's labels, and loss.backward().
template <class Model>
void check_seed_model(const std::string& case_name) {
  using B = typename Model::backend_type;
  using T = scalar_t<B>;
  constexpr double tol = tolerance<B>;
  const Fixture f = load_fixture(case_name);
  Model model;
  model.load_state_dict(state_dict_of<T>(f));
  model.train();
  const auto x = to_batch<typename Model::input_batch>(f, "input");
  const auto labels = to_batch<Labels<B>>(f, "target");
  const auto& logits = model.forward(x);
  check_close(f, "output", logits.data(), logits.size(), tol, batch_shape(logits));

  CrossEntropyLoss<B> loss_fn;
  const T loss = loss_fn(logits, labels);
  check_close_scalar(f, "loss", loss, tol);
  model.zero_grad();
  const auto& dx = model.backward(loss_fn.grad());
  check_close(f, "grad_input", dx.data(), dx.size(), tol, batch_shape(dx));
  check_parameter_grads(model, f, tol);
}

// A loss against the fixtures <stem>_mean and <stem>_sum: the value and d(loss)/d(input).
template <class Loss, class PredictionBatch, class TargetBatch>
void check_loss(const std::string& stem) {
  using B = typename PredictionBatch::backend_type;
  for (const auto reduction : {Reduction::mean, Reduction::sum}) {
    const std::string case_name = stem + (reduction == Reduction::mean ? "_mean" : "_sum");
    INFO("case " << case_name);
    const Fixture f = load_fixture(case_name);
    const auto prediction = to_batch<PredictionBatch>(f, "input");
    const auto target = to_batch<TargetBatch>(f, "target");
    Loss loss_fn{reduction};
    const auto value = loss_fn(prediction, target);
    check_close_scalar(f, "loss", value, tolerance<B>);
    const GradientView<B> grad = loss_fn.grad();
    CHECK(grad.batch_size == prediction.batch_size());
    CHECK(grad.per_sample == PredictionBatch::sample_size);
    check_close(f, "grad_input", grad.data, grad.batch_size * grad.per_sample, tolerance<B>);
  }
}

}  // namespace

#define CTNN_BACKENDS ctnn::backend::eigen, ctnn::backend::reference

// ---- layers -----------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("Linear parity", "[parity][linear]", CTNN_BACKENDS) {
  check_layer<Sequential<TestType, Input<5>, Linear<5, 3>>>("linear");
}

TEMPLATE_TEST_CASE("Linear without bias parity", "[parity][linear]", CTNN_BACKENDS) {
  check_layer<Sequential<TestType, Input<5>, Linear<5, 3, false>>>("linear_no_bias");
}

TEMPLATE_TEST_CASE("Conv2d parity: kernel 3, stride 1, padding 1", "[parity][conv]", CTNN_BACKENDS) {
  check_layer<Sequential<TestType, Input<2, 5, 5>, Conv2d<2, 3, 3, 1, 1>>>("conv2d_k3_s1_p1");
}

TEMPLATE_TEST_CASE("Conv2d parity: kernel 3, stride 2, padding 0", "[parity][conv]", CTNN_BACKENDS) {
  check_layer<Sequential<TestType, Input<2, 7, 7>, Conv2d<2, 3, 3, 2, 0>>>("conv2d_k3_s2_p0");
}

TEMPLATE_TEST_CASE("Conv2d parity: kernel 5, stride 1, padding 2", "[parity][conv]", CTNN_BACKENDS) {
  check_layer<Sequential<TestType, Input<1, 6, 6>, Conv2d<1, 2, 5, 1, 2>>>("conv2d_k5_s1_p2");
}

TEMPLATE_TEST_CASE("MaxPool2d parity: kernel 2", "[parity][pool]", CTNN_BACKENDS) {
  check_layer<Sequential<TestType, Input<3, 6, 6>, MaxPool2d<2>>>("maxpool2d_k2");
}

TEMPLATE_TEST_CASE("MaxPool2d parity: kernel 3, stride 2", "[parity][pool]", CTNN_BACKENDS) {
  check_layer<Sequential<TestType, Input<2, 7, 7>, MaxPool2d<3, 2>>>("maxpool2d_k3_s2");
}

TEMPLATE_TEST_CASE("MaxPool2d parity: kernel 3, stride 2, padding 1", "[parity][pool]", CTNN_BACKENDS) {
  check_layer<Sequential<TestType, Input<2, 7, 7>, MaxPool2d<3, 2, 1>>>("maxpool2d_k3_s2_p1");
}

TEMPLATE_TEST_CASE("MaxPool2d parity: ties go to the first maximum", "[parity][pool]", CTNN_BACKENDS) {
  check_layer<Sequential<TestType, Input<2, 6, 6>, MaxPool2d<2>>>("maxpool2d_k2_ties");
  check_layer<Sequential<TestType, Input<2, 7, 7>, MaxPool2d<3, 2, 1>>>("maxpool2d_k3_s2_p1_ties");
}

TEMPLATE_TEST_CASE("Flatten parity", "[parity][flatten]", CTNN_BACKENDS) {
  check_layer<Sequential<TestType, Input<3, 2, 2>, Flatten>>("flatten");
}

TEMPLATE_TEST_CASE("ReLU parity", "[parity][activation]", CTNN_BACKENDS) {
  check_layer<Sequential<TestType, Input<2, 3, 4>, ReLU>>("relu");
}

TEMPLATE_TEST_CASE("Sigmoid parity", "[parity][activation]", CTNN_BACKENDS) {
  check_layer<Sequential<TestType, Input<2, 3, 4>, Sigmoid>>("sigmoid");
}

TEMPLATE_TEST_CASE("Tanh parity", "[parity][activation]", CTNN_BACKENDS) {
  check_layer<Sequential<TestType, Input<2, 3, 4>, Tanh>>("tanh");
}

TEMPLATE_TEST_CASE("Softmax parity", "[parity][activation]", CTNN_BACKENDS) {
  check_layer<Sequential<TestType, Input<6>, Softmax>>("softmax");
}

TEMPLATE_TEST_CASE("LogSoftmax parity", "[parity][activation]", CTNN_BACKENDS) {
  check_layer<Sequential<TestType, Input<6>, LogSoftmax>>("log_softmax");
}

TEMPLATE_TEST_CASE("Dropout parity: evaluation is the identity", "[parity][dropout]", CTNN_BACKENDS) {
  check_layer<Sequential<TestType, Input<7>, Dropout<0.5>>>("dropout_eval");
}

// In training PyTorch's masks come from its own generator, so only their statistics can match:
// about P of the values zeroed, the rest scaled by 1 / (1 - P), and backward through the same mask.
TEMPLATE_TEST_CASE("Dropout statistics in training match PyTorch's definition", "[parity][dropout]", CTNN_BACKENDS) {
  using B = TestType;
  using T = scalar_t<B>;
  constexpr std::size_t features = 1000, n = 20;
  Sequential<B, Input<features>, Dropout<0.3>> model{manual_seed(7)};
  model.train();
  Batch<Shape<features>, B> x(n);
  for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = T(1) + static_cast<T>(i % 5);
  const auto& y = model.forward(x);
  const T keep_scale = static_cast<T>(1.0 / 0.7);
  std::size_t zeros = 0, wrong = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    if (y.data()[i] == T(0)) ++zeros;
    else if (std::abs(y.data()[i] - x.data()[i] * keep_scale) > T(1e-6) * x.data()[i]) ++wrong;
  }
  const double dropped = static_cast<double>(zeros) / static_cast<double>(y.size());
  CHECK(wrong == 0);
  CHECK(dropped > 0.28);  // 20000 draws: one standard deviation is 0.0032
  CHECK(dropped < 0.32);

  Batch<Shape<features>, B> dy(n);
  for (std::size_t i = 0; i < dy.size(); ++i) dy.data()[i] = T(2);
  const auto& dx = model.backward(dy);
  std::size_t mismatched = 0;
  for (std::size_t i = 0; i < dx.size(); ++i)
    if (std::abs(dx.data()[i] - (y.data()[i] == T(0) ? T(0) : T(2) * keep_scale)) > T(1e-6)) ++mismatched;
  CHECK(mismatched == 0);
}

// ---- losses -----------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("CrossEntropyLoss parity", "[parity][loss]", CTNN_BACKENDS) {
  check_loss<CrossEntropyLoss<TestType>, Batch<Shape<5>, TestType>, Labels<TestType>>("cross_entropy");
}

TEMPLATE_TEST_CASE("NLLLoss parity", "[parity][loss]", CTNN_BACKENDS) {
  check_loss<NLLLoss<TestType>, Batch<Shape<5>, TestType>, Labels<TestType>>("nll");
}

TEMPLATE_TEST_CASE("BCELoss parity", "[parity][loss]", CTNN_BACKENDS) {
  check_loss<BCELoss<TestType>, Batch<Shape<4>, TestType>, Batch<Shape<4>, TestType>>("bce");
}

TEMPLATE_TEST_CASE("BCELoss parity: probabilities exactly 0 and 1 (logs clamped at -100)", "[parity][loss]",
                   CTNN_BACKENDS) {
  check_loss<BCELoss<TestType>, Batch<Shape<4>, TestType>, Batch<Shape<4>, TestType>>("bce_saturated");
}

TEMPLATE_TEST_CASE("BCEWithLogitsLoss parity", "[parity][loss]", CTNN_BACKENDS) {
  check_loss<BCEWithLogitsLoss<TestType>, Batch<Shape<4>, TestType>, Batch<Shape<4>, TestType>>("bce_with_logits");
}

TEMPLATE_TEST_CASE("MSELoss parity", "[parity][loss]", CTNN_BACKENDS) {
  check_loss<MSELoss<TestType>, Batch<Shape<2, 2>, TestType>, Batch<Shape<2, 2>, TestType>>("mse");
}

TEMPLATE_TEST_CASE("L1Loss parity", "[parity][loss]", CTNN_BACKENDS) {
  check_loss<L1Loss<TestType>, Batch<Shape<5>, TestType>, Batch<Shape<5>, TestType>>("l1");
}

// ---- the seed's models ------------------------------------------------------------------------
// Named so that parameter names are the seed's state_dict keys ("layer_stack.1.weight",
// "conv_block_1.0.weight", "classifier.1.bias").

template <class B>
using FashionMNISTModelV0 =
    Sequential<B, Input<1, 28, 28>, Named<"layer_stack", Block<Flatten, Linear<784, 10>, Linear<10, 10>>>>;

template <class B>
using FashionMNISTModelV1 =
    Sequential<B, Input<1, 28, 28>, Named<"layer_stack", Block<Flatten, Linear<784, 10>, ReLU, Linear<10, 10>, ReLU>>>;

template <class B>
using FashionMNISTModelV2 =
    Sequential<B, Input<1, 28, 28>,
               Named<"conv_block_1", Block<Conv2d<1, 10, 3, 1, 1>, ReLU, Conv2d<10, 10, 3, 1, 1>, ReLU, MaxPool2d<2>>>,
               Named<"conv_block_2", Block<Conv2d<10, 10, 3, 1, 1>, ReLU, Conv2d<10, 10, 3, 1, 1>, ReLU, MaxPool2d<2>>>,
               Named<"classifier", Block<Flatten, Linear<490, 10>>>>;

TEMPLATE_TEST_CASE("FashionMNISTModelV0 parity", "[parity][model]", CTNN_BACKENDS) {
  check_seed_model<FashionMNISTModelV0<TestType>>("fashion_mnist_v0");
}

TEMPLATE_TEST_CASE("FashionMNISTModelV1 parity", "[parity][model]", CTNN_BACKENDS) {
  check_seed_model<FashionMNISTModelV1<TestType>>("fashion_mnist_v1");
}

TEMPLATE_TEST_CASE("FashionMNISTModelV2 (TinyVGG) parity", "[parity][model]", CTNN_BACKENDS) {
  check_seed_model<FashionMNISTModelV2<TestType>>("fashion_mnist_v2");
}

// ---- the fixture reader -----------------------------------------------------------------------

TEST_CASE("Fixture reader names the file and the tensor it cannot find", "[parity][fixture]") {
  CHECK_THROWS_WITH(load_fixture("no_such_case"), Catch::Contains("no_such_case.txt"));
  const Fixture f = load_fixture("linear");
  CHECK_THROWS_WITH(f.at("no_such_tensor"), Catch::Contains("linear.txt") && Catch::Contains("no_such_tensor"));
  CHECK(f.at("0.weight").is_parameter);
  CHECK(f.at("0.weight").shape == std::vector<std::size_t>{3, 5});
  CHECK(f.parameters().size() == 2);
}
