#pragma once
// The Eigen backend: float on the CPU. ops<eigen> is host_ops<float>'s loops with the hot operations
// replaced by the kernels in backend/eigen/: GEMM through Eigen's blocked kernels except products with a
// small side (skinny.hpp), direct register-blocked 3x3 stride-1 convolutions (conv3x3.hpp; every other
// convolution is batched im2col through this GEMM, gemm_conv.hpp), and elementwise work, reductions,
// pooling and optimizer updates vectorised and split over threads when large. `eigen_overrides` below
// lists every replaced op and is checked at compile time; any op not listed is host_ops<float>'s loop.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <tuple>
#include <type_traits>

#include "../core/fixed_string.hpp"
#include "../core/random.hpp"
#include "backend.hpp"
#include "eigen/conv3x3.hpp"
#include "eigen/elementwise.hpp"
#include "eigen/gemm.hpp"
#include "eigen/gemm_conv.hpp"
#include "eigen/optimizers.hpp"
#include "eigen/pooling.hpp"
#include "eigen/reductions.hpp"
#include "host_ops.hpp"

namespace ctnn::backend {

template <>
struct ops<eigen> : host_ops<float> {
  // ---- GEMM (eigen/gemm.hpp, eigen/skinny.hpp) ------------------------------------------------
  static void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, float alpha,
                   const float* a, const float* b, float beta, float* c) {
    eigen_kernels::gemm(trans_a, trans_b, m, n, k, alpha, a, b, beta, c);
  }

  // ---- elementwise (eigen/elementwise.hpp) ----------------------------------------------------
  template <class T>
  static void fill(std::size_t n, T* x, T v) { eigen_kernels::fill(x, n, v); }
  template <class F>
  static void map(std::size_t n, const float* x, float* y, F f) { eigen_kernels::map(n, x, y, f); }
  template <class F>
  static void zip(std::size_t n, const float* a, const float* b, float* y, F f) { eigen_kernels::zip(n, a, b, y, f); }
  static void fill_bernoulli(std::size_t n, float* x, double keep, float value, Generator& g) {
    eigen_kernels::fill_bernoulli(x, n, keep, value, g);
  }

  // ---- reductions (eigen/reductions.hpp) ------------------------------------------------------
  static void bias_grad(std::size_t outer, std::size_t channels, std::size_t inner, const float* dy, float* grad_bias) {
    eigen_kernels::bias_grad(dy, outer, channels, inner, grad_bias);
  }
  static double cross_entropy(std::size_t rows, std::size_t cols, const float* logits, const std::int64_t* labels,
                              float* grad, float grad_scale) {
    return eigen_kernels::cross_entropy(logits, labels, rows, cols, grad, grad_scale, &checked_label);
  }

  // ---- convolution: direct 3x3 stride 1 (eigen/conv3x3.hpp), else batched im2col + GEMM (eigen/gemm_conv.hpp,
  // no workspace: its scratch is per thread and one unit's size) --------------------------------
  static std::size_t conv2d_workspace(const conv_geometry& g, std::size_t n) {
    return eigen_kernels::direct_conv3(g) ? eigen_kernels::conv3x3_workspace(g, n) : 0;
  }
  static void conv2d_forward(const conv_geometry& g, std::size_t n, const float* x, const float* weight,
                             const float* bias, float* y, float* workspace) {
    if (!eigen_kernels::direct_conv3(g)) return eigen_kernels::gemm_conv2d_forward(g, n, x, weight, bias, y);
    eigen_kernels::conv3x3_forward(g, n, x, weight, bias, y, workspace);
  }
  static void conv2d_backward(const conv_geometry& g, std::size_t n, const float* x, const float* dy,
                              const float* weight, float* dx, float* grad_weight, float* grad_bias, float* workspace) {
    if (!eigen_kernels::direct_conv3(g))
      return eigen_kernels::gemm_conv2d_backward(g, n, x, dy, weight, dx, grad_weight, grad_bias);
    eigen_kernels::conv3x3_backward(g, n, dy, weight, dx, grad_weight, grad_bias, workspace);
  }

  // ---- pooling (eigen/pooling.hpp) ------------------------------------------------------------
  static void maxpool_forward(const pool_geometry& g, std::size_t n, const float* x, float* y, std::int32_t* argmax) {
    eigen_kernels::maxpool_forward(g, n, x, y, argmax);
  }
  static void maxpool_backward(const pool_geometry& g, std::size_t n, const float* dy, const std::int32_t* argmax,
                               float* dx) {
    eigen_kernels::maxpool_backward(g, n, dy, argmax, dx);
  }

  // ---- optimizers (eigen/optimizers.hpp) ------------------------------------------------------
  static void sgd_update(std::size_t n, const float* grad, float* param, float* momentum_buffer, float lr,
                         float momentum, float dampening, float weight_decay, bool nesterov, bool first_step) {
    eigen_kernels::sgd_update(n, param, grad, momentum_buffer, lr, momentum, dampening, weight_decay, nesterov,
                              first_step);
  }
  static void adam_update(std::size_t n, const float* grad, float* param, float* m, float* v, float beta1, float beta2,
                          float eps, float weight_decay, float step_size, float bias_correction2_sqrt) {
    eigen_kernels::adam_update(n, param, grad, m, v, beta1, beta2, eps, weight_decay, step_size, bias_correction2_sqrt);
  }
};

// ---- the overrides, declared -------------------------------------------------------------------
// ops<eigen> replaces host_ops<float>'s loops by name hiding, so an override whose name is misspelt, or
// whose signature drifted from host_ops' (an op's arguments changed in one place only), would compile and
// silently leave the plain loop running. Each op ops<eigen> means to replace is listed here with both
// member pointers: it must have exactly host_ops' type (checked here, at compile time) and be declared
// in ops<eigen> itself (if it is not, &ops<eigen>::op names the inherited loop and the two pointers are
// equal: checked by tests/differential/test_eigen_overrides.cpp, which also checks the list is exact).
namespace eigen_kernels {

// True when Override has HostLoop's type and is another function. Evaluated at run time by
// tests/differential/test_eigen_overrides.cpp: g++ 12 folds the comparison of two inline functions'
// addresses in a constant expression in most translation units but not in all (it refused in
// test_cifar10.cpp and test_dataloader.cpp), so override_of checks only the types at compile time.
template <auto Override, auto HostLoop>
constexpr bool replaces() {
  if constexpr (!std::is_same_v<decltype(Override), decltype(HostLoop)>) return false;
  else return Override != HostLoop;
}

// One declared override; instantiating it checks it, and the diagnostic's template arguments name the op.
template <fixed_string Name, auto Override, auto HostLoop>
struct override_of {
  static_assert(std::is_same_v<decltype(Override), decltype(HostLoop)>,
                "ctnn: this ops<eigen> override's signature differs from host_ops<float>'s (op named above)");
  static constexpr std::string_view name = Name.view();
  static constexpr auto override_ptr = Override;
  static constexpr auto host_ptr = HostLoop;
};

// Template ops are checked at one instantiation each: a functor as the activations pass one.
struct probe_functor {
  float operator()(float v) const { return v; }
  float operator()(float a, float b) const { return a + b; }
};

}  // namespace eigen_kernels

using eigen_overrides = std::tuple<
    eigen_kernels::override_of<"gemm", &ops<eigen>::gemm, &host_ops<float>::gemm>,
    eigen_kernels::override_of<"fill<float>", &ops<eigen>::fill<float>, &host_ops<float>::fill<float>>,
    eigen_kernels::override_of<"fill<int64_t>", &ops<eigen>::fill<std::int64_t>, &host_ops<float>::fill<std::int64_t>>,
    eigen_kernels::override_of<"map", &ops<eigen>::map<eigen_kernels::probe_functor>,
                               &host_ops<float>::map<eigen_kernels::probe_functor>>,
    eigen_kernels::override_of<"zip", &ops<eigen>::zip<eigen_kernels::probe_functor>,
                               &host_ops<float>::zip<eigen_kernels::probe_functor>>,
    eigen_kernels::override_of<"fill_bernoulli", &ops<eigen>::fill_bernoulli, &host_ops<float>::fill_bernoulli>,
    eigen_kernels::override_of<"bias_grad", &ops<eigen>::bias_grad, &host_ops<float>::bias_grad>,
    eigen_kernels::override_of<"cross_entropy", &ops<eigen>::cross_entropy, &host_ops<float>::cross_entropy>,
    eigen_kernels::override_of<"conv2d_workspace", &ops<eigen>::conv2d_workspace, &host_ops<float>::conv2d_workspace>,
    eigen_kernels::override_of<"conv2d_forward", &ops<eigen>::conv2d_forward, &host_ops<float>::conv2d_forward>,
    eigen_kernels::override_of<"conv2d_backward", &ops<eigen>::conv2d_backward, &host_ops<float>::conv2d_backward>,
    eigen_kernels::override_of<"maxpool_forward", &ops<eigen>::maxpool_forward, &host_ops<float>::maxpool_forward>,
    eigen_kernels::override_of<"maxpool_backward", &ops<eigen>::maxpool_backward, &host_ops<float>::maxpool_backward>,
    eigen_kernels::override_of<"sgd_update", &ops<eigen>::sgd_update, &host_ops<float>::sgd_update>,
    eigen_kernels::override_of<"adam_update", &ops<eigen>::adam_update, &host_ops<float>::adam_update>>;

namespace eigen_kernels {
template <class... Overrides>
consteval bool all_checked(std::tuple<Overrides...>*) {
  return ((Overrides::name.size() > 0) && ...);  // naming a member instantiates each check
}
}  // namespace eigen_kernels
static_assert(eigen_kernels::all_checked(static_cast<eigen_overrides*>(nullptr)));

}  // namespace ctnn::backend
