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
#include <type_traits>
#include <utility>
#include <vector>

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
// starts to replace without adding it to eigen_overrides fails the first test by name. An op the set no
// longer has is skipped (the op set's own check, backend/op_set.hpp, is what names the set).
#define CTNN_PROBE_OP(label, ...)                                                \
  if constexpr (requires { &H::__VA_ARGS__; }) ops.push_back(probe<&E::__VA_ARGS__, &H::__VA_ARGS__>(label))
template <class E, class H>  // a template, so that an op missing from H is a false requirement, not an error
std::vector<op_probe> every_op() {
  using F = probe_functor;
  std::vector<op_probe> ops;
  CTNN_PROBE_OP("fill<float>", template fill<float>);
  CTNN_PROBE_OP("fill<int64_t>", template fill<std::int64_t>);
  CTNN_PROBE_OP("copy", template copy<float>);
  CTNN_PROBE_OP("to_host", template to_host<float>);
  CTNN_PROBE_OP("from_host", template from_host<float>);
  CTNN_PROBE_OP("gemm", gemm);
  CTNN_PROBE_OP("map", template map<F>);
  CTNN_PROBE_OP("zip", template zip<F>);
  CTNN_PROBE_OP("sum", sum);
  CTNN_PROBE_OP("add_bias", add_bias);
  CTNN_PROBE_OP("bias_grad", bias_grad);
  CTNN_PROBE_OP("softmax_rows", softmax_rows);
  CTNN_PROBE_OP("log_softmax_rows", log_softmax_rows);
  CTNN_PROBE_OP("softmax_backward", softmax_backward);
  CTNN_PROBE_OP("log_softmax_backward", log_softmax_backward);
  CTNN_PROBE_OP("argmax_rows", argmax_rows);
  CTNN_PROBE_OP("cross_entropy", cross_entropy);
  CTNN_PROBE_OP("nll", nll);
  CTNN_PROBE_OP("im2col", im2col);
  CTNN_PROBE_OP("col2im", col2im);
  CTNN_PROBE_OP("conv2d_workspace", conv2d_workspace);
  CTNN_PROBE_OP("conv2d_forward", conv2d_forward);
  CTNN_PROBE_OP("conv2d_backward", conv2d_backward);
  CTNN_PROBE_OP("maxpool_forward", maxpool_forward);
  CTNN_PROBE_OP("maxpool_backward", maxpool_backward);
  CTNN_PROBE_OP("avgpool_forward", avgpool_forward);
  CTNN_PROBE_OP("avgpool_backward", avgpool_backward);
  CTNN_PROBE_OP("sgd_update", sgd_update);
  CTNN_PROBE_OP("adam_update", adam_update);
  CTNN_PROBE_OP("fill_uniform", fill_uniform);
  CTNN_PROBE_OP("fill_normal", fill_normal);
  CTNN_PROBE_OP("fill_bernoulli", fill_bernoulli);
  return ops;
}
#undef CTNN_PROBE_OP

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
  for (const op_probe& op : every_op<ops<eigen>, host_ops<float>>()) {
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
  REQUIRE_FALSE(replaces<&misspelt_gemm::gemm, &host_ops<float>::gemm>());
  // Drifted: a gemm of another type (override_of's first static_assert would name it).
  REQUIRE_FALSE(replaces<&drifted_gemm::gemm, &host_ops<float>::gemm>());
  STATIC_REQUIRE_FALSE(
      std::is_same_v<decltype(&drifted_gemm::gemm), decltype(&host_ops<float>::gemm)>);
  // A faithful override passes, and so does the real one.
  REQUIRE(replaces<&faithful_gemm::gemm, &host_ops<float>::gemm>());
  REQUIRE(replaces<&ops<eigen>::gemm, &host_ops<float>::gemm>());
}

TEST_CASE("eigen overrides: a replaced op runs the Eigen kernel (skinny GEMM rounds unlike the host loop)",
          "[differential][eigen][overrides]") {
  // C = A B^T with 10 columns and depth 784 (a Linear<784, 10> forward) takes skinny_dot, which sums in
  // packets along k; host_ops sums each dot product in one sequential accumulator. On these values the
  // two round differently somewhere, so equal outputs would mean ops<eigen>::gemm ran the host loop.
  const std::size_t m = 32, n = 10, k = 784;
  std::vector<float> a(m * k), b(n * k), c_eigen(m * n), c_host(m * n);
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(2 * rng::uniform(11, i) - 1);
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<float>(2 * rng::uniform(12, i) - 1);
  ops<eigen>::gemm(false, true, m, n, k, 1.0f, a.data(), b.data(), 0.0f, c_eigen.data());
  host_ops<float>::gemm(false, true, m, n, k, 1.0f, a.data(), b.data(), 0.0f, c_host.data());
  std::size_t differ = 0;
  for (std::size_t i = 0; i < m * n; ++i) {
    CHECK(c_eigen[i] == Approx(c_host[i]).margin(1e-4));
    differ += c_eigen[i] != c_host[i];
  }
  CHECK(differ > 0);
}
