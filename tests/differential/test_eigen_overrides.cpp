// The Eigen backend's overrides, declared (backend/eigen.hpp: eigen_overrides). The compile-time check
// there makes every listed op a function of ops<eigen> itself with host_ops<float>'s signature; these
// tests check the other direction (every op ops<eigen> replaces is listed, every other op is the host
// loop) and that the check really refuses a misspelt or drifted override.
#include <catch2/catch.hpp>

#include <ctnn/ctnn.hpp>

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <tuple>

namespace {

using namespace ctnn;
using backend::host_ops;
using backend::ops;
using backend::eigen;
using backend::eigen_kernels::probe_functor;
using backend::eigen_kernels::replaces;

std::set<std::string> declared_overrides() {
  std::set<std::string> names;
  std::apply([&](auto... o) { (names.insert(std::string(decltype(o)::name)), ...); }, backend::eigen_overrides{});
  return names;
}

// An op of the set, compared at run time: is ops<eigen>'s function another than host_ops<float>'s?
struct op_probe {
  std::string name;
  bool replaced;
};
template <auto Eigen, auto Host>
op_probe probe(std::string name) {
  static_assert(std::is_same_v<decltype(Eigen), decltype(Host)>, "ops<eigen> changed an op's signature");
  return {std::move(name), Eigen != Host};
}

// Every op of the set host_ops<float> implements, whether ops<eigen> replaces it or not. An op ops<eigen>
// starts to replace without adding it to eigen_overrides fails the first test by name.
std::vector<op_probe> every_op() {
  using E = ops<eigen>;
  using H = host_ops<float>;
  using F = probe_functor;
  return {
      probe<&E::fill<float>, &H::fill<float>>("fill<float>"),
      probe<&E::fill<std::int64_t>, &H::fill<std::int64_t>>("fill<int64_t>"),
      probe<&E::copy<float>, &H::copy<float>>("copy"),
      probe<&E::to_host<float>, &H::to_host<float>>("to_host"),
      probe<&E::from_host<float>, &H::from_host<float>>("from_host"),
      probe<&E::gemm, &H::gemm>("gemm"),
      probe<&E::map<F>, &H::map<F>>("map"),
      probe<&E::zip<F>, &H::zip<F>>("zip"),
      probe<&E::sum, &H::sum>("sum"),
      probe<&E::add_bias, &H::add_bias>("add_bias"),
      probe<&E::bias_grad, &H::bias_grad>("bias_grad"),
      probe<&E::softmax_rows, &H::softmax_rows>("softmax_rows"),
      probe<&E::log_softmax_rows, &H::log_softmax_rows>("log_softmax_rows"),
      probe<&E::softmax_backward, &H::softmax_backward>("softmax_backward"),
      probe<&E::log_softmax_backward, &H::log_softmax_backward>("log_softmax_backward"),
      probe<&E::argmax_rows, &H::argmax_rows>("argmax_rows"),
      probe<&E::cross_entropy, &H::cross_entropy>("cross_entropy"),
      probe<&E::nll, &H::nll>("nll"),
      probe<&E::im2col, &H::im2col>("im2col"),
      probe<&E::col2im, &H::col2im>("col2im"),
      probe<&E::conv2d_workspace, &H::conv2d_workspace>("conv2d_workspace"),
      probe<&E::conv2d_forward, &H::conv2d_forward>("conv2d_forward"),
      probe<&E::conv2d_backward, &H::conv2d_backward>("conv2d_backward"),
      probe<&E::maxpool_forward, &H::maxpool_forward>("maxpool_forward"),
      probe<&E::maxpool_backward, &H::maxpool_backward>("maxpool_backward"),
      probe<&E::sgd_update, &H::sgd_update>("sgd_update"),
      probe<&E::adam_update, &H::adam_update>("adam_update"),
      probe<&E::fill_uniform, &H::fill_uniform>("fill_uniform"),
      probe<&E::fill_normal, &H::fill_normal>("fill_normal"),
      probe<&E::fill_bernoulli, &H::fill_bernoulli>("fill_bernoulli"),
  };
}

// Stand-ins for a façade with one mistake each.
struct misspelt_gemm : host_ops<float> {
  static void gem(bool, bool, std::size_t, std::size_t, std::size_t, float, const float*, const float*, float, float*) {}
};
struct drifted_gemm : host_ops<float> {  // the depth as int: hides host_ops' gemm, with another type
  static void gemm(bool, bool, std::size_t, std::size_t, int, float, const float*, const float*, float, float*) {}
};
struct faithful_gemm : host_ops<float> {
  static void gemm(bool, bool, std::size_t, std::size_t, std::size_t, float, const float*, const float*, float, float*) {}
};

}  // namespace

TEST_CASE("eigen overrides: every op ops<eigen> replaces is declared, every other op is host_ops' loop",
          "[differential][eigen][overrides]") {
  const std::set<std::string> declared = declared_overrides();
  std::set<std::string> replaced;
  for (const op_probe& op : every_op()) {
    INFO("op " << op.name << (op.replaced ? " is replaced by ops<eigen>" : " is host_ops<float>'s loop"));
    CHECK(op.replaced == declared.contains(op.name));
    if (op.replaced) replaced.insert(op.name);
  }
  // Nothing declared that the op set above does not know (a stale entry after an op was removed).
  CHECK(replaced == declared);
  CHECK(declared.size() == std::tuple_size_v<backend::eigen_overrides>);  // no name listed twice
}

TEST_CASE("eigen overrides: each declared override is another function than the host loop",
          "[differential][eigen][overrides]") {
  std::size_t checked = 0;
  std::apply(
      [&](auto... o) {
        auto one = [&](auto op) {
          using O = decltype(op);
          INFO("op " << O::name);
          CHECK(O::override_ptr != O::host_ptr);
          ++checked;
        };
        (one(o), ...);
      },
      backend::eigen_overrides{});
  CHECK(checked == std::tuple_size_v<backend::eigen_overrides>);
  CHECK(checked >= 14);  // gemm, the elementwise ops, reductions, convolutions, pooling, optimizers
}

TEST_CASE("eigen overrides: the check refuses a misspelt override and a drifted signature",
          "[differential][eigen][overrides]") {
  // Misspelt: &misspelt_gemm::gemm is the inherited host loop.
  STATIC_REQUIRE_FALSE(replaces<&misspelt_gemm::gemm, &host_ops<float>::gemm>());
  // Drifted: a gemm of another type (override_of's first static_assert would name it).
  STATIC_REQUIRE_FALSE(replaces<&drifted_gemm::gemm, &host_ops<float>::gemm>());
  STATIC_REQUIRE_FALSE(
      std::is_same_v<decltype(&drifted_gemm::gemm), decltype(&host_ops<float>::gemm)>);
  // A faithful override passes, and so does the real one.
  STATIC_REQUIRE(replaces<&faithful_gemm::gemm, &host_ops<float>::gemm>());
  STATIC_REQUIRE(replaces<&ops<eigen>::gemm, &host_ops<float>::gemm>());
}

TEST_CASE("eigen overrides: a replaced op runs the Eigen kernel (skinny GEMM rounds unlike the host loop)",
          "[differential][eigen][overrides]") {
  // C = A B^T with 10 columns and depth 784 (a Linear<784, 10> forward) takes skinny_dot, which sums in
  // packets along k; host_ops sums each dot product in one sequential accumulator. On these values the
  // two round differently somewhere, so equal outputs would mean ops<eigen>::gemm ran the host loop.
  const std::size_t m = 32, n = 10, k = 784;
  std::vector<float> a(m * k), b(n * k), c_eigen(m * n), c_host(m * n);
  Generator g(11);
  host_ops<float>::fill_uniform(a.data(), a.size(), -1.0, 1.0, g);
  host_ops<float>::fill_uniform(b.data(), b.size(), -1.0, 1.0, g);
  ops<eigen>::gemm(false, true, m, n, k, 1.0f, a.data(), b.data(), 0.0f, c_eigen.data());
  host_ops<float>::gemm(false, true, m, n, k, 1.0f, a.data(), b.data(), 0.0f, c_host.data());
  std::size_t differ = 0;
  for (std::size_t i = 0; i < m * n; ++i) {
    CHECK(c_eigen[i] == Approx(c_host[i]).margin(1e-4));
    differ += c_eigen[i] != c_host[i];
  }
  CHECK(differ > 0);
}
