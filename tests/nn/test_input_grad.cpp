// Sequential::backward(dy, InputGrad::skip): the parameter gradients of a full backward, bit for bit,
// without computing dL/d(input) (what a training step does: the input needs no gradient).
#include <catch2/catch.hpp>
#include <ctnn/ctnn.hpp>

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "seed_models.hpp"

using namespace ctnn;

namespace {

using ctnn_test::FashionMNISTModelV0;
using ctnn_test::TinyVGG;
// Parameter-free layers first, then a Conv2d that is not 3x3 (the im2col path) and nested Blocks.
template <Backend B>
using Mixed = Sequential<B, Input<2, 9, 9>, ReLU, MaxPool2d<3, 1, 1>, Block<Block<Tanh, Conv2d<2, 3, 5, 2, 2>>, ReLU>,
                         Flatten, Linear<75, 4>, Sigmoid>;

template <class Model>
std::vector<std::vector<scalar_t<typename Model::backend_type>>> gradients(Model& m) {
  std::vector<std::vector<scalar_t<typename Model::backend_type>>> out;
  for (auto* p : m.parameters()) out.push_back(p->grad_to_host());
  return out;
}

template <class Model>
void check_skip_matches_full(std::size_t n) {
  using B = typename Model::backend_type;
  using T = scalar_t<B>;
  Model full{manual_seed(3)}, skipping{manual_seed(3)};
  typename Model::input_batch x(n);
  Generator g{11};
  backend::ops<B>::fill_uniform(x.size(), x.data(), -1.0, 1.0, g);
  typename Model::output_batch dy(n);
  backend::ops<B>::fill_uniform(dy.size(), dy.data(), -1.0, 1.0, g);

  full.forward(x);
  full.zero_grad();
  const auto& dx = full.backward(dy);
  CHECK(dx.batch_size() == n);

  skipping.forward(x);
  skipping.zero_grad();
  const auto& none = skipping.backward(dy, InputGrad::skip);
  CHECK(none.batch_size() == 0);  // nothing computed: an empty batch

  const auto a = gradients(full), b = gradients(skipping);
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO("parameter " << full.parameters()[i]->name);
    REQUIRE(a[i].size() == b[i].size());
    bool nonzero = false;
    for (std::size_t j = 0; j < a[i].size(); ++j) {
      // The same operations in the same order; the plain loops of the reference backend may still be
      // contracted to FMAs differently where they are inlined (g++'s -ffp-contract=fast), a last-bit change.
      if constexpr (std::is_same_v<B, backend::reference>) CHECK(a[i][j] == Approx(b[i][j]).epsilon(1e-13).margin(1e-15));
      else CHECK(a[i][j] == b[i][j]);
      nonzero = nonzero || a[i][j] != T(0);
    }
    CHECK(nonzero);
  }
  // A full backward after a skipping one computes the input gradient again.
  skipping.zero_grad();
  const auto& dx2 = skipping.backward(dy);
  REQUIRE(dx2.batch_size() == n);
  const auto want = [&] { std::vector<T> v(dx.size()); backend::ops<B>::to_host(v.size(), dx.data(),
                                                                                v.data()); return v; }();
  std::vector<T> got(dx2.size());
  backend::ops<B>::to_host(got.size(), dx2.data(), got.data());
  for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Approx(want[i]).epsilon(1e-6).margin(1e-12));
}

}  // namespace

TEMPLATE_TEST_CASE("backward with InputGrad::skip gives the full backward's parameter gradients", "[nn][backward]",
                   backend::eigen, backend::reference) {
  check_skip_matches_full<FashionMNISTModelV0<TestType>>(5);
  check_skip_matches_full<TinyVGG<TestType>>(3);
  check_skip_matches_full<Mixed<TestType>>(4);
}

TEST_CASE("Linear and Conv2d backward without the input gradient: the same parameter gradients", "[nn][backward]") {
  using B = backend::reference;
  auto check = []<class L, class In>(std::size_t n) {
    Generator ga{1}, gb{1}, gx{2};
    L a{ga}, b{gb};  // the same initial parameters
    Batch<In, B> x(n);
    backend::ops<B>::fill_uniform(x.size(), x.data(), -1.0, 1.0, gx);
    const auto& y = a.forward(x, true);
    b.forward(x, true);
    std::vector<double> dy(y.size());
    backend::ops<B>::fill_uniform(dy.size(), dy.data(), -1.0, 1.0, gx);
    std::vector<Parameter<B>*> pa, pb;
    a.visit_parameters([&](Parameter<B>& p) { pa.push_back(&p); });
    b.visit_parameters([&](Parameter<B>& p) { pb.push_back(&p); });
    a.backward(x, dy.data());
    b.backward(x, dy.data(), false);
    REQUIRE(pa.size() == pb.size());
    for (std::size_t i = 0; i < pa.size(); ++i) CHECK(pa[i]->grad_to_host() == pb[i]->grad_to_host());
  };
  check.template operator()<Linear<6, 4>::bound<Shape<6>, B, "fc">, Shape<6>>(3);
  check.template operator()<Conv2d<2, 3, 3, 1, 1>::bound<Shape<2, 5, 5>, B, "conv">, Shape<2, 5, 5>>(2);
  check.template operator()<Conv2d<2, 3, 5, 2, 2>::bound<Shape<2, 9, 9>, B, "conv">, Shape<2, 9, 9>>(2);
}
