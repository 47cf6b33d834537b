// The contracts as concepts: every built-in layer meets LayerSpec/BoundLayer, a spec missing any one
// member does not (the compile-fail pairs check the diagnostic's text), losses declared without a
// backend take the one of their arguments, the engine's concepts accept what fit() is given, and the
// public gradient check catches a wrong backward.
#include <catch2/catch.hpp>
#include <ctnn/ctnn.hpp>
#include <ctnn/testing/gradcheck.hpp>

#include <string>
#include <vector>

using namespace ctnn;
using ref = backend::reference;

// ---- layers ---------------------------------------------------------------------------------------

static_assert(LayerSpec<Linear<4, 3>, Shape<4>, backend::eigen>);
static_assert(LayerSpec<Conv2d<1, 2, 3, 1, 1>, Shape<1, 5, 5>, ref>);
static_assert(LayerSpec<MaxPool2d<2>, Shape<1, 4, 4>, ref>);
static_assert(LayerSpec<Flatten, Shape<2, 3>, ref>);
static_assert(LayerSpec<ReLU, Shape<2, 3>, ref> && LayerSpec<Sigmoid, Shape<2>, ref> && LayerSpec<Tanh, Shape<2>, ref>);
static_assert(LayerSpec<Softmax, Shape<5>, ref> && LayerSpec<LogSoftmax, Shape<5>, ref>);
static_assert(LayerSpec<Dropout<0.5>, Shape<3>, ref>);
static_assert(LayerSpec<Block<Linear<4, 3>, ReLU>, Shape<4>, ref>);
// A spec that does not accept In is still a LayerSpec: it names the shape it wanted, the bind reports it.
static_assert(LayerSpec<Linear<4, 3>, Shape<5>, ref>);

using LinearBound = Linear<4, 3>::bound<Shape<4>, ref, "fc">;
using ReluBound = ReLU::bound<Shape<4>, ref, "act">;
static_assert(BoundLayer<LinearBound> && LayerWithParameters<LinearBound>);
static_assert(BoundLayer<ReluBound> && !LayerWithParameters<ReluBound>);
static_assert(!BoundLayer<Linear<4, 3>>);  // a spec is not a bound layer

namespace {

// A complete layer (y = x), then one variant per missing member.
template <bool TypeName = true, bool Repr = true, bool Output = true, bool Backward = true, bool Visit = true>
struct Probe {
  static constexpr std::string_view type_name = "Probe";
  static std::string repr() requires Repr { return "Probe()"; }
  template <class S>
  static constexpr bool accepts = true;
  template <class S>
  using expected_input = S;
  template <class S>
  using output = std::conditional_t<Output, S, void>;  // void is not a shape
  template <class S, Backend B, fixed_string Path>
  class bound : public leaf_layer<Probe, S, S, B, Path> {
   public:
    static constexpr std::size_t parameter_count = 0;
    explicit bound(Generator&) {}
    const Batch<S, B>& forward(const Batch<S, B>& x, bool) {
      this->prepare_output(x);
      return this->y_;
    }
    const Batch<S, B>& backward(const Batch<S, B>& x, const scalar_t<B>*) requires Backward {
      this->prepare_input_grad(x);
      return this->dx_;
    }
    template <class F>
    void visit_parameters(F&&) requires Visit {}
  };
};

}  // namespace

static_assert(LayerSpec<Probe<>, Shape<3>, ref>);
static_assert(!LayerSpec<Probe<true, false>, Shape<3>, ref>);
static_assert(!LayerSpec<Probe<true, true, false>, Shape<3>, ref>);
static_assert(!LayerSpec<Probe<true, true, true, false>, Shape<3>, ref>);
static_assert(!LayerSpec<Probe<true, true, true, true, false>, Shape<3>, ref>);
static_assert(!BoundLayer<Probe<true, true, true, false>::bound<Shape<3>, ref, "p">>);

TEST_CASE("A user layer that meets the contract binds inside a network") {
  Sequential<ref, Input<3>, Linear<3, 3>, Probe<>, Linear<3, 2>> model{manual_seed(1)};
  CHECK(model.repr().find("(1): Probe()") != std::string::npos);
  CHECK(decltype(model)::parameter_count == 3 * 3 + 3 + 3 * 2 + 2);
}

namespace {
struct square_functions {
  struct value {
    template <class T>
    T operator()(T x) const { return x * x; }
  };
  struct grad {  // not a function of y alone in general; fine for x > 0, which the check below uses
    template <class T>
    T operator()(T y, T dy) const { return T(2) * std::sqrt(y) * dy; }
  };
};
struct Square : elementwise_activation<square_functions, "Square"> {};
}  // namespace

TEST_CASE("elementwise_activation is public: a user activation is a struct away") {
  static_assert(LayerSpec<Square, Shape<4>, ref>);
  Sequential<ref, Input<4>, Square> model;
  const auto x = Batch<Shape<4>, ref>::from_host({1.0, 2.0, 3.0, 0.5});
  CHECK(model.forward(x).to_host() == std::vector<double>{1.0, 4.0, 9.0, 0.25});
  const auto dy = Batch<Shape<4>, ref>::from_host({1.0, 1.0, 1.0, 2.0});
  CHECK(model.backward(dy).to_host() == std::vector<double>{2.0, 4.0, 6.0, 2.0});
  CHECK(model.repr().find("(0): Square()") != std::string::npos);
}

// ---- the public gradient check ----------------------------------------------------------------------

namespace {
// y = 3 x with a backward that returns 2 dy: the check must say so, naming the input.
struct WrongScale {
  static constexpr std::string_view type_name = "WrongScale";
  static std::string repr() { return "WrongScale()"; }
  template <class S>
  static constexpr bool accepts = true;
  template <class S>
  using expected_input = S;
  template <class S>
  using output = S;
  template <class S, Backend B, fixed_string Path>
  class bound : public leaf_layer<WrongScale, S, S, B, Path>, public no_parameters {
   public:
    explicit bound(Generator&) {}
    const Batch<S, B>& forward(const Batch<S, B>& x, bool) {
      this->prepare_output(x);
      for (std::size_t i = 0; i < x.size(); ++i) this->y_.data()[i] = 3 * x.data()[i];
      return this->y_;
    }
    const Batch<S, B>& backward(const Batch<S, B>& x, const scalar_t<B>* dy) {
      this->prepare_input_grad(x);
      for (std::size_t i = 0; i < x.size(); ++i) this->dx_.data()[i] = 2 * dy[i];
      return this->dx_;
    }
  };
};
}  // namespace

TEST_CASE("The gradient check reports a wrong backward, element by element") {
  const auto r = testing::check_layer_gradients<WrongScale, Shape<2>>({.batch = 2});
  CHECK_FALSE(r.passed());
  CHECK_FALSE(static_cast<bool>(r));
  CHECK(r.derivatives == 4);
  REQUIRE(r.mismatches.size() == 4);
  CHECK(r.mismatches[0].tensor == "input");
  CHECK(r.mismatches[0].numeric == Approx(1.5 * r.mismatches[0].analytic).epsilon(1e-6));
  const std::string report = r.report();
  CHECK_THAT(report, Catch::StartsWith("gradcheck WrongScale() on [2]: FAILED, 4 derivatives"));
  CHECK_THAT(report, Catch::Contains("d/d input[3]: analytic"));

  const auto good = testing::check_layer_gradients<Linear<3, 2>, Shape<3>>();
  INFO(good.report());
  CHECK(good.passed());
  CHECK(good.derivatives == 3 * 3 + 2 * 3 + 2);
  CHECK(good.max_error < 1e-8);
}

// ---- losses take the backend of their arguments --------------------------------------------------------

TEST_CASE("A loss declared without a backend computes on the backend of its arguments") {
  CrossEntropyLoss loss_fn;  // CrossEntropyLoss<deduced_backend>
  static_assert(std::is_same_v<decltype(loss_fn), CrossEntropyLoss<deduced_backend>>);
  CrossEntropyLoss<ref> typed;
  const auto logits_r = Batch<Shape<3>, ref>::from_host({1.0, 2.0, 0.5, -1.0, 0.0, 3.0});
  const auto labels_r = Labels<ref>::from_host({1, 2});
  const double on_ref = loss_fn(logits_r, labels_r);
  CHECK(on_ref == typed(logits_r, labels_r));
  const GradientView<ref> g = loss_fn.grad();
  REQUIRE(g.batch_size == 2);
  CHECK(std::vector<double>(g.data, g.data + 6) == std::vector<double>(typed.grad().data, typed.grad().data + 6));

  // The same object, now on Eigen's float batches.
  const auto logits_e = Batch<Shape<3>>::from_host({1.0f, 2.0f, 0.5f, -1.0f, 0.0f, 3.0f});
  const auto labels_e = Labels<>::from_host({1, 2});
  CHECK(loss_fn(logits_e, labels_e) == Approx(on_ref).epsilon(1e-6));
  const GradientView<backend::eigen> ge = loss_fn.grad();
  CHECK(ge.batch_size == 2);
  // The gradient is the last call's: asking for it on another backend is an error, not a bad pointer.
  CHECK_THROWS_WITH(static_cast<GradientView<ref>>(loss_fn.grad()),
                    Catch::Contains("CrossEntropyLoss: grad() asked for on backend reference but the last loss was "
                                    "computed on eigen"));
  CHECK_THROWS_WITH(static_cast<GradientView<ref>>(MSELoss{}.grad()),
                    Catch::Contains("MSELoss: grad() before the loss was computed"));
  CHECK(MSELoss{Reduction::sum}.reduction() == Reduction::sum);
  CHECK(BCEWithLogitsLoss<>::name == "BCEWithLogitsLoss");
}

TEST_CASE("A deduced loss drives a model's backward as a typed one does") {
  using Net = Sequential<ref, Input<3>, Linear<3, 2>>;
  Net a{manual_seed(5)}, b{manual_seed(5)};
  const auto x = Batch<Shape<3>, ref>::from_host({0.5, -1.0, 2.0, 1.5, 0.25, -0.75});
  const auto t = Batch<Shape<2>, ref>::from_host({1.0, 0.0, -1.0, 2.0});
  MSELoss deduced;
  MSELoss<ref> typed;
  CHECK(deduced(a.forward(x), t) == typed(b.forward(x), t));
  a.backward(deduced.grad());
  b.backward(typed.grad());
  const auto pa = a.parameters(), pb = b.parameters();
  for (std::size_t i = 0; i < pa.size(); ++i) CHECK(pa[i]->grad_to_host() == pb[i]->grad_to_host());
}

// ---- the engine's concepts ------------------------------------------------------------------------------

namespace {
using Blob = Sequential<ref, Input<2>, Linear<2, 3>>;
using BlobLoader = data::DataLoader<data::InMemoryDataset<Shape<2>>, ref>;
struct NotAnOptimizer {
  void step() {}
};
}  // namespace

static_assert(train::Loader<BlobLoader>);
static_assert(train::Model<Blob, BlobLoader> && train::TrainableModel<Blob, BlobLoader>);
static_assert(train::Loss<CrossEntropyLoss<>, Blob, BlobLoader> && train::Loss<CrossEntropyLoss<ref>, Blob, BlobLoader>);
static_assert(!train::Loss<MSELoss<>, Blob, BlobLoader>);  // labels are not a regression target
static_assert(train::Optimizer<optim::SGD<ref>> && train::Optimizer<optim::Adam<ref>>);
static_assert(!train::Optimizer<NotAnOptimizer>);
static_assert(!train::Loader<std::vector<int>>);
