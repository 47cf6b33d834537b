#pragma once
// Differential testing of backend ops: every op of ctnn::backend::ops<B> run directly, with run-time
// geometry from geometry.hpp, on backend B and on backend::reference (double, plain loops), on the same
// float-representable inputs; the outputs are compared within tolerances relative to the reference's
// scale (see `tolerance` below). With `bitwise_threads`, B's outputs on every thread count must also be
// the same bits (the Eigen backend's promise).
//
// No Catch2 and no Eigen: the driver reports through a callback, so the same code drives the Catch2
// tests on the CPU and the CUDA test (tests/backend/test_cuda.cu). Include the header of backend B (and
// <ctnn/backend/reference.hpp>, <ctnn/nn.hpp>) before this one; with the single header, <ctnn/ctnn.hpp>.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#if __has_include(<ctnn/backend/reference.hpp>)  // not in single_include/: there ctnn.hpp has it all
#include <ctnn/backend/reference.hpp>
#include <ctnn/core/threads.hpp>
#include <ctnn/nn/activation.hpp>
#include <ctnn/nn/dropout.hpp>
#include <ctnn/nn/loss.hpp>
#endif

#include "geometry.hpp"

namespace ctnn_test::diff {

using host_values = std::vector<double>;

// ---- tolerances ---------------------------------------------------------------------------------------
// u is float's unit roundoff. A float sum of k products (any order, any blocking) is off from the exact
// one by at most about k u sum|terms|; for values of random sign the error grows like sqrt(k) u times
// the typical magnitude of the result, which is what the reference's scale (the largest |value| of the
// expected tensor) measures. The double reference itself is exact to 1e-16 here. So a reduction of k
// terms is allowed 16 u (1 + sqrt(k)) of the scale: a few times what float rounding gives (the test's -s
// summary prints the largest errors found), and orders of magnitude below what a wrong index, a missing
// or doubled term or a wrong plane stride gives (an error of the order of 1 / sqrt(k) of the scale or more).
constexpr double u = 0x1.0p-24;
inline double reduction_tolerance(double terms) { return 16 * u * (1 + std::sqrt(terms)); }
// One float rounding of a double result (conversions, one multiply-add): a few u.
constexpr double rounding_tolerance = 8 * u;
// A float function of one value (exp, tanh, logistic, log1p in the loss functors): vectorised
// implementations are within a few ulp of the correctly rounded value; relative to |value| (or 1e-6
// below that, where a result of 1e-9 next to results of about 1 carries no weight).
constexpr double function_tolerance = 64 * u;

enum class compare_mode {
  scaled,       // max |a - e| / max(max |e|, floor) over the tensor
  elementwise,  // max |a - e| / max(|e|, floor), value by value
  exact         // the same values (NaN matches NaN)
};

struct result_tensor {
  std::string name;
  host_values values;
  double tolerance = 0;
  compare_mode mode = compare_mode::scaled;
  double floor = 1e-30;
};
using results = std::vector<result_tensor>;

struct comparison {
  double error = 0;  // in the mode's measure; infinity when the non-finite values differ
  std::size_t where = 0;
  double actual = 0, expected = 0;
};

inline bool same_class(double a, double e) {
  if (std::isnan(e)) return std::isnan(a);
  if (std::isinf(e)) return a == e;
  return std::isfinite(a);
}

inline comparison compare(const host_values& a, const host_values& e, compare_mode mode, double floor) {
  comparison c;
  if (a.size() != e.size()) {
    c.error = std::numeric_limits<double>::infinity();
    return c;
  }
  double scale = floor;
  if (mode == compare_mode::scaled)
    for (double v : e)
      if (std::isfinite(v)) scale = std::max(scale, std::abs(v));
  for (std::size_t i = 0; i < a.size(); ++i) {
    double err;
    if (!same_class(a[i], e[i])) err = std::numeric_limits<double>::infinity();
    else if (!std::isfinite(e[i])) err = 0;
    else if (mode == compare_mode::exact) err = a[i] == e[i] ? 0 : std::numeric_limits<double>::infinity();
    else err = std::abs(a[i] - e[i]) / (mode == compare_mode::scaled ? scale : std::max(std::abs(e[i]), floor));
    if (err > c.error || (i == 0 && err == 0)) {
      if (err > c.error) c.error = err;
      c.where = i, c.actual = a[i], c.expected = e[i];
    }
  }
  return c;
}

// Bitwise equality of two runs (as floats: values come back from a float backend).
inline std::size_t first_bit_difference(const host_values& a, const host_values& b) {
  if (a.size() != b.size()) return 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto fa = static_cast<float>(a[i]), fb = static_cast<float>(b[i]);
    if (std::memcmp(&fa, &fb, sizeof(float)) != 0) return i;
  }
  return a.size();
}

// ---- data -------------------------------------------------------------------------------------------
// Values exactly representable in float, so that both backends see the same numbers.
inline double as_float(double v) { return static_cast<double>(static_cast<float>(v)); }
inline host_values uniform_values(rng& r, std::size_t n, double lo, double hi) {
  host_values v(n);
  for (auto& x : v) x = as_float(r.uniform(lo, hi));
  return v;
}
inline host_values constant_values(std::size_t n, double c) { return host_values(n, c); }
inline const double nan = std::numeric_limits<double>::quiet_NaN();
inline const double inf = std::numeric_limits<double>::infinity();
// Inputs for a data mode: plain in [-1, 1]; wide in [-w, w]; ties: a few distinct values; non-finite:
// plain with about 1 in 6 values NaN, +inf or -inf; mostly -inf: 7 in 8 values -inf (whole windows of it).
inline host_values mode_values(rng& r, std::size_t n, values mode, double wide = 100) {
  host_values v;
  switch (mode) {
    case values::wide: return uniform_values(r, n, -wide, wide);
    case values::ties: {
      v.resize(n);
      for (auto& x : v) x = 0.5 * static_cast<double>(r.between(0, 3)) - 0.5;
      return v;
    }
    case values::nonfinite: {
      v = uniform_values(r, n, -1, 1);
      for (auto& x : v)
        if (r.chance(1.0 / 6)) x = r.pick<double>({nan, inf, -inf});
      return v;
    }
    case values::mostly_minus_infinity: {  // 7 in 8 values -inf, the rest NaN or plain
      v = uniform_values(r, n, -1, 1);
      for (auto& x : v)
        if (!r.chance(1.0 / 8)) x = -inf;
        else if (r.chance(0.3)) x = nan;
      return v;
    }
    default: return uniform_values(r, n, -1, 1);
  }
}
inline values draw_mode(rng& r, values fixed, std::initializer_list<values> choices) {
  return fixed != values::any ? fixed : r.pick(choices);
}

template <class B>
using ops_of = ctnn::backend::ops<B>;

// Backend memory holding `v` (converted to the backend's scalar, or to T).
template <class B, class T = ctnn::scalar_t<B>>
ctnn::buffer_t<B, T> upload(const std::vector<double>& v) {
  ctnn::buffer_t<B, T> b;
  b.resize(std::max<std::size_t>(v.size(), 1));
  std::vector<T> host(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) host[i] = static_cast<T>(v[i]);
  ops_of<B>::from_host(host.size(), host.data(), b.data());
  return b;
}
template <class B, class T>
host_values download(const T* p, std::size_t n) {
  std::vector<T> host(n);
  ops_of<B>::to_host(n, p, host.data());
  return host_values(host.begin(), host.end());
}
template <class B, class Buffer>
host_values download(const Buffer& b, std::size_t n) {
  return download<B>(b.data(), n);
}

template <class B>
struct backend_tag {
  using type = B;
};

// ---- the driver ---------------------------------------------------------------------------------------
struct op_stats {
  std::string op;
  std::size_t geometries = 0, named = 0, failures = 0;
  std::size_t later_runs = 0;  // geometries also run on the later thread counts
  double max_error = 0;  // the largest error of any tensor (in its mode's measure)
  double max_ratio = 0;  // the largest error / tolerance
  std::string worst;     // where max_ratio was found
  double seconds = 0;
  std::string summary() const {
    char buf[512];
    std::snprintf(buf, sizeof buf, "%s: %zu geometries (%zu named, %zu also on more threads), largest error %.3g (%.2f of tolerance, %s), %.2f s%s",
                  op.c_str(), geometries, named, later_runs, max_error, max_ratio, worst.c_str(), seconds,
                  failures ? " FAILURES" : "");
    return buf;
  }
};

using failure_sink = std::function<void(const std::string&)>;

// CTNN_DIFF_STRIDE=<k>: random cases run on the later thread counts when their index is a multiple of k
// (default 3; 1 runs them all).
inline std::size_t later_threads_stride() {
  const auto k = static_cast<std::size_t>(env_number("CTNN_DIFF_STRIDE", 3));
  return k ? k : 1;
}

// Runs op(backend_tag<B>{}, case, data_rng) and op(backend_tag<reference>{}, case, data_rng) for every case
// (the same data stream for both) on every thread count, compares every result tensor, and reports each
// failure (seed, case index, geometry, tensor, error, first bad value) to `fail`.
template <class B, class Case, class Op>
op_stats differential(const std::string& op_name, const std::vector<Case>& cases, std::uint64_t seed,
                      const std::vector<std::size_t>& thread_counts, bool bitwise_threads, Op op,
                      const failure_sink& fail) {
  op_stats s;
  s.op = op_name;
  const std::size_t saved_threads = ctnn::get_num_threads();
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t index = 0; index < cases.size(); ++index) {
    const Case& c = cases[index];
    const rng data = stream(seed, op_name, 1000 + index);
    ++s.geometries;
    s.named += c.name != "random";
    auto where = [&](std::size_t threads) {
      return "op " + op_name + ", CTNN_DIFF_SEED=" + std::to_string(seed) + ", case " + std::to_string(index) + " (" +
             c.describe() + "), " + std::to_string(threads) + " thread(s)";
    };
    ctnn::set_num_threads(1);
    const results expected = op(backend_tag<ctnn::backend::reference>{}, c, data);
    results first;
    for (std::size_t threads : thread_counts) {
      // Thread counts after the first: every named case, every `later_threads_stride`-th random one (on
      // a 2-core machine shared with other jobs, a parallel region can wait milliseconds for a core).
      if (threads != thread_counts.front() && c.name == "random" && index % later_threads_stride() != 0) continue;
      if (threads != thread_counts.front()) ++s.later_runs;
      ctnn::set_num_threads(threads);
      results actual = op(backend_tag<B>{}, c, data);
      for (std::size_t t = 0; t < expected.size(); ++t) {
        const result_tensor& e = expected[t];
        const comparison cmp = compare(actual[t].values, e.values, e.mode, e.floor);
        const double ratio = e.tolerance > 0 ? cmp.error / e.tolerance : (cmp.error > 0 ? cmp.error * 1e300 : 0);
        if (cmp.error > s.max_error) s.max_error = cmp.error;
        if (ratio > s.max_ratio) s.max_ratio = ratio, s.worst = e.name + " of case " + std::to_string(index);
        if (!(cmp.error <= e.tolerance)) {
          ++s.failures;
          char buf[256];
          std::snprintf(buf, sizeof buf, ": tensor %s differs from the reference: error %.3g > tolerance %.3g at %zu (%.9g vs %.9g)",
                        e.name.c_str(), cmp.error, e.tolerance, cmp.where, cmp.actual, cmp.expected);
          fail(where(threads) + buf);
        }
      }
      if (bitwise_threads) {
        if (first.empty()) {
          first = std::move(actual);
        } else {
          for (std::size_t t = 0; t < first.size(); ++t) {
            const std::size_t at = first_bit_difference(first[t].values, actual[t].values);
            if (at != first[t].values.size()) {
              ++s.failures;
              fail(where(threads) + ": tensor " + first[t].name + " is not bitwise equal to the run on " +
                   std::to_string(thread_counts.front()) + " thread(s) at " + std::to_string(at));
            }
          }
        }
      }
    }
  }
  ctnn::set_num_threads(saved_threads);
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return s;
}

// ---- the ops ------------------------------------------------------------------------------------------
// Each takes (backend_tag<B>, case, data stream by value) and returns the tensors to compare; tolerances
// come from the reference's call (they depend only on the case).

inline constexpr auto gemm_op = [](auto tag, const gemm_case& c, rng r) {
  using B = typename decltype(tag)::type;
  const host_values a = uniform_values(r, c.m * c.k, -1, 1), b = uniform_values(r, c.k * c.n, -1, 1);
  // beta = 0 must not read C (BLAS): it starts as NaN then.
  const host_values c0 = c.beta == 0.0f ? constant_values(c.m * c.n, nan) : uniform_values(r, c.m * c.n, -1, 1);
  auto A = upload<B>(a), Bm = upload<B>(b), C = upload<B>(c0);
  ops_of<B>::gemm(c.trans_a, c.trans_b, c.m, c.n, c.k, c.alpha, A.data(), Bm.data(), c.beta, C.data());
  return results{{"C", download<B>(C, c.m * c.n), reduction_tolerance(static_cast<double>(c.k) + 1)}};
};

// map/zip through the activations' functors (value and grad), as the layers call them.
template <class Functions>
struct activation_op {
  double wide;
  template <class Tag>
  results operator()(Tag, const length_case& c, rng r) const {
    using B = typename Tag::type;
    using T = ctnn::scalar_t<B>;
    const values mode = draw_mode(r, c.data, {values::plain, values::plain, values::wide});
    const host_values x = mode_values(r, c.n, mode, wide), dy = uniform_values(r, c.n, -1, 1);
    auto X = upload<B>(x), Y = upload<B>(constant_values(c.n, nan)), DY = upload<B>(dy), DX = upload<B>(dy);
    ops_of<B>::map(c.n, X.data(), Y.data(), typename Functions::value{});
    // The backward from the reference's output, so that it is tested on its own.
    host_values y_ref(c.n);
    ctnn::backend::ops<ctnn::backend::reference>::map(c.n, x.data(), y_ref.data(), typename Functions::value{});
    for (auto& v : y_ref) v = as_float(v);
    auto YR = upload<B>(y_ref);
    ops_of<B>::zip(c.n, YR.data(), DY.data(), DX.data(), typename Functions::grad{});
    (void)sizeof(T);
    // dx is dy (1 - y^2) or dy y (1 - y) of the float y the layer keeps: where y is near +-1, 1 - y^2
    // cancels, and the rounding of y * y (u, fused or not: -O1 builds do not fuse) is all that is left of
    // it. So dx is checked against |dy|'s scale, not value by value: an absolute error of a few u |dy|.
    double dy_scale = 1e-30;
    for (double v : dy) dy_scale = std::max(dy_scale, std::abs(v));
    return results{{"y", download<B>(Y, c.n), function_tolerance, compare_mode::elementwise, 1e-6},
                   {"dx", download<B>(DX, c.n), function_tolerance, compare_mode::scaled, dy_scale}};
  }
};

inline constexpr auto sum_op = [](auto tag, const length_case& c, rng r) {
  using B = typename decltype(tag)::type;
  const host_values x = uniform_values(r, c.n, -1, 1);
  auto X = upload<B>(x);
  double abs_sum = 0;
  for (double v : x) abs_sum += std::abs(v);
  // A double sum of n float values in any order: within n 2^-53 of sum |x|.
  return results{{"sum", {ops_of<B>::sum(c.n, X.data())}, static_cast<double>(c.n + 1) * 0x1.0p-52,
                  compare_mode::scaled, abs_sum}};
};

// An elementwise loss as the loss classes run it: zip(value), zip(grad{k}), sum of the values.
template <class Functions>
struct loss_op {
  int kind;  // 0 MSE/L1 (any values), 1 BCE (probabilities), 2 BCE with logits
  template <class Tag>
  results operator()(Tag, const length_case& c, rng r) const {
    using B = typename Tag::type;
    const std::size_t n = c.n;
    host_values p, t = uniform_values(r, n, 0, 1);
    if (kind == 0) {
      p = uniform_values(r, n, -2, 2);
      t = uniform_values(r, n, -2, 2);
      for (std::size_t i = 0; i < n; ++i)
        if (r.chance(0.1)) t[i] = p[i];  // L1's subgradient 0 at p == t
    } else if (kind == 1) {
      p = uniform_values(r, n, 0, 1);
      for (std::size_t i = 0; i < n; ++i) {
        if (r.chance(0.05)) p[i] = r.pick<double>({0.0, 1.0, 1e-30, 1 - 0x1.0p-24});  // the -100 clamp, the 1e-12 floor
        if (r.chance(0.3)) t[i] = r.pick<double>({0.0, 1.0});
      }
    } else {
      p = mode_values(r, n, draw_mode(r, c.data == values::nonfinite ? values::wide : c.data, {values::plain, values::wide}), 30);
      for (std::size_t i = 0; i < n; ++i)
        if (r.chance(0.3)) t[i] = r.pick<double>({0.0, 1.0});
    }
    const double k = 1.0 / static_cast<double>(n);
    auto P = upload<B>(p), Tt = upload<B>(t), V = upload<B>(constant_values(n, nan)), G = upload<B>(constant_values(n, nan));
    ops_of<B>::zip(n, P.data(), Tt.data(), V.data(), typename Functions::value{});
    ops_of<B>::zip(n, P.data(), Tt.data(), G.data(), typename Functions::grad{k});
    const double total = ops_of<B>::sum(n, V.data());
    double abs_total = 0;
    const host_values v = download<B>(V, n);
    for (double x : v) abs_total += std::abs(x);
    // Relative to the tensor's largest value, not value by value: the functors' float formulas lose
    // relative accuracy by themselves where a result is small (BCE's log(1 - p) for p near 0, the
    // sigmoid(x) - t of BCEWithLogits for large x: the same in PyTorch), whatever the backend does.
    return results{{"value", v, function_tolerance},
                   {"grad", download<B>(G, n), function_tolerance},
                   {"sum", {total}, function_tolerance + static_cast<double>(n) * 0x1.0p-52, compare_mode::scaled,
                    abs_total}};
  }
};

inline constexpr auto sgd_op = [](auto tag, const length_case& c, rng r) {
  using B = typename decltype(tag)::type;
  const std::size_t n = c.n;
  const float momentum = r.pick<float>({0.0f, 0.9f}), dampening = r.pick<float>({0.0f, 0.1f}),
              weight_decay = r.pick<float>({0.0f, 1e-2f});
  const bool nesterov = momentum != 0.0f && dampening == 0.0f && r.chance(0.5), first_step = r.chance(0.3);
  const host_values p = uniform_values(r, n, -1, 1), g = uniform_values(r, n, -1, 1), buf = uniform_values(r, n, -1, 1);
  auto P = upload<B>(p), G = upload<B>(g), M = upload<B>(buf);
  ops_of<B>::sgd_update(n, G.data(), P.data(), momentum != 0.0f ? M.data() : nullptr, 0.05f, momentum, dampening,
                        weight_decay, nesterov, first_step);
  // Relative to the inputs' scale (1): a result may be small by cancellation (momentum * buf + g).
  return results{{"param", download<B>(P, n), rounding_tolerance, compare_mode::scaled, 1},
                 {"momentum_buffer", download<B>(M, n), rounding_tolerance, compare_mode::scaled, 1}};
};

inline constexpr auto adam_op = [](auto tag, const length_case& c, rng r) {
  using B = typename decltype(tag)::type;
  const std::size_t n = c.n;
  const float weight_decay = r.pick<float>({0.0f, 1e-2f});
  const double t = static_cast<double>(r.between(1, 50));
  const float beta1 = 0.9f, beta2 = 0.999f;
  const auto step_size = static_cast<float>(1e-3 / (1 - std::pow(0.9, t)));
  const auto correction = static_cast<float>(std::sqrt(1 - std::pow(0.999, t)));
  const host_values p = uniform_values(r, n, -1, 1), g = uniform_values(r, n, -1, 1), m = uniform_values(r, n, -0.1, 0.1),
                    v = uniform_values(r, n, 0, 0.01);
  auto P = upload<B>(p), G = upload<B>(g), M = upload<B>(m), V = upload<B>(v);
  ops_of<B>::adam_update(n, G.data(), P.data(), M.data(), V.data(), beta1, beta2, 1e-8f, weight_decay, step_size,
                         correction);
  // Relative to the inputs' scales (param 1, m 0.1, v 0.01): m = beta1 m + (1 - beta1) g may cancel.
  return results{{"param", download<B>(P, n), rounding_tolerance, compare_mode::scaled, 1},
                 {"m", download<B>(M, n), rounding_tolerance, compare_mode::scaled, 0.1},
                 {"v", download<B>(V, n), rounding_tolerance, compare_mode::scaled, 0.01}};
};

inline constexpr auto amsgrad_op = [](auto tag, const length_case& c, rng r) {
  using B = typename decltype(tag)::type;
  const std::size_t n = c.n;
  const float weight_decay = r.pick<float>({0.0f, 1e-2f});
  const double t = static_cast<double>(r.between(1, 50));
  const auto step_size = static_cast<float>(1e-3 / (1 - std::pow(0.9, t)));
  const auto correction = static_cast<float>(std::sqrt(1 - std::pow(0.999, t)));
  const host_values p = uniform_values(r, n, -1, 1), g = uniform_values(r, n, -1, 1), m = uniform_values(r, n, -0.1, 0.1),
                    v = uniform_values(r, n, 0, 0.01), max_v = uniform_values(r, n, 0, 0.01);
  auto P = upload<B>(p), G = upload<B>(g), M = upload<B>(m), V = upload<B>(v), MV = upload<B>(max_v);
  ops_of<B>::amsgrad_update(n, G.data(), P.data(), M.data(), V.data(), MV.data(), 0.9f, 0.999f, 1e-8f, weight_decay,
                            step_size, correction);
  return results{{"param", download<B>(P, n), rounding_tolerance, compare_mode::scaled, 1},
                 {"m", download<B>(M, n), rounding_tolerance, compare_mode::scaled, 0.1},
                 {"v", download<B>(V, n), rounding_tolerance, compare_mode::scaled, 0.01},
                 {"max_v", download<B>(MV, n), rounding_tolerance, compare_mode::scaled, 0.01}};
};

inline constexpr auto adadelta_op = [](auto tag, const length_case& c, rng r) {
  using B = typename decltype(tag)::type;
  const std::size_t n = c.n;
  const float weight_decay = r.pick<float>({0.0f, 1e-2f}), rho = r.pick<float>({0.9f, 0.5f});
  const host_values p = uniform_values(r, n, -1, 1), g = uniform_values(r, n, -1, 1), sq = uniform_values(r, n, 0, 0.1),
                    acc = uniform_values(r, n, 0, 0.1);
  auto P = upload<B>(p), G = upload<B>(g), SQ = upload<B>(sq), ACC = upload<B>(acc);
  ops_of<B>::adadelta_update(n, G.data(), P.data(), SQ.data(), ACC.data(), 1.0f, rho, 1e-6f, weight_decay);
  // Relative to the inputs' scales (param 1, the averages 0.1).
  return results{{"param", download<B>(P, n), rounding_tolerance, compare_mode::scaled, 1},
                 {"square_avg", download<B>(SQ, n), rounding_tolerance, compare_mode::scaled, 0.1},
                 {"acc_delta", download<B>(ACC, n), rounding_tolerance, compare_mode::scaled, 0.1}};
};

inline constexpr auto adagrad_op = [](auto tag, const length_case& c, rng r) {
  using B = typename decltype(tag)::type;
  const std::size_t n = c.n;
  const float weight_decay = r.pick<float>({0.0f, 1e-2f});
  const host_values p = uniform_values(r, n, -1, 1), g = uniform_values(r, n, -1, 1), sum = uniform_values(r, n, 0, 1);
  auto P = upload<B>(p), G = upload<B>(g), SUM = upload<B>(sum);
  ops_of<B>::adagrad_update(n, G.data(), P.data(), SUM.data(), 0.01f, 1e-10f, weight_decay);
  return results{{"param", download<B>(P, n), rounding_tolerance, compare_mode::scaled, 1},
                 {"sum", download<B>(SUM, n), rounding_tolerance, compare_mode::scaled, 1}};
};

inline constexpr auto rmsprop_op = [](auto tag, const length_case& c, rng r) {
  using B = typename decltype(tag)::type;
  const std::size_t n = c.n;
  const float weight_decay = r.pick<float>({0.0f, 1e-2f}), momentum = r.pick<float>({0.0f, 0.9f});
  const bool centered = r.chance(0.5);
  // square_avg above grad_avg^2 (as it is after any number of steps), so the centered root is real.
  const host_values p = uniform_values(r, n, -1, 1), g = uniform_values(r, n, -1, 1), sq = uniform_values(r, n, 0.5, 1),
                    avg = uniform_values(r, n, -0.5, 0.5), buf = uniform_values(r, n, -1, 1);
  auto P = upload<B>(p), G = upload<B>(g), SQ = upload<B>(sq), AVG = upload<B>(avg), BUF = upload<B>(buf);
  ops_of<B>::rmsprop_update(n, G.data(), P.data(), SQ.data(), centered ? AVG.data() : nullptr,
                            momentum != 0.0f ? BUF.data() : nullptr, 0.01f, 0.99f, 1e-8f, weight_decay, momentum);
  return results{{"param", download<B>(P, n), rounding_tolerance, compare_mode::scaled, 1},
                 {"square_avg", download<B>(SQ, n), rounding_tolerance, compare_mode::scaled, 1},
                 {"grad_avg", download<B>(AVG, n), rounding_tolerance, compare_mode::scaled, 1},
                 {"momentum_buffer", download<B>(BUF, n), rounding_tolerance, compare_mode::scaled, 1}};
};

// Dropout masks and the other counter-based fills: fill_bernoulli exactly, uniform and normal to one
// rounding of the double values.
inline constexpr auto random_fill_op = [](auto tag, const length_case& c, rng r) {
  using B = typename decltype(tag)::type;
  const std::size_t n = c.n;
  const double keep = r.pick<double>({0.0, 0.25, 0.5, 0.9, 1.0});
  const double value = keep > 0 ? as_float(1 / keep) : 0;
  ctnn::Generator g{r.next()};
  auto X = upload<B>(constant_values(n, nan)), U = upload<B>(constant_values(n, nan)), N = upload<B>(constant_values(n, nan));
  ops_of<B>::fill_bernoulli(n, X.data(), keep, static_cast<ctnn::scalar_t<B>>(value), g);
  ops_of<B>::fill_uniform(n, U.data(), -0.5, 2.0, g);
  ops_of<B>::fill_normal(n, N.data(), 0.25, 3.0, g);
  return results{{"bernoulli mask", download<B>(X, n), 0, compare_mode::exact},
                 {"uniform", download<B>(U, n), 2 * u, compare_mode::elementwise, 1e-30},
                 {"normal", download<B>(N, n), 2 * u, compare_mode::elementwise, 1e-30}};
};

inline constexpr auto bias_op = [](auto tag, const bias_case& c, rng r) {
  using B = typename decltype(tag)::type;
  const std::size_t n = c.outer * c.channels * c.inner;
  const host_values y = uniform_values(r, n, -1, 1), bias = uniform_values(r, c.channels, -1, 1),
                    dy = uniform_values(r, n, -1, 1), gb = uniform_values(r, c.channels, -1, 1);
  auto Y = upload<B>(y), Bi = upload<B>(bias), DY = upload<B>(dy), GB = upload<B>(gb);
  ops_of<B>::add_bias(c.outer, c.channels, c.inner, Bi.data(), Y.data());
  ops_of<B>::bias_grad(c.outer, c.channels, c.inner, DY.data(), GB.data());
  return results{{"add_bias", download<B>(Y, n), rounding_tolerance},
                 {"bias_grad", download<B>(GB, c.channels),
                  reduction_tolerance(static_cast<double>(c.outer * c.inner) + 1)}};
};

// BatchNorm over the bias geometries: the batch statistics, forward and both backward modes (batch
// statistics, then running statistics drawn in [0.5, 1.5]); gradients accumulate into non-zero buffers,
// y and dx start as NaN (overwritten). A channel of one value has no batch variance: running statistics only.
inline constexpr auto batchnorm_op = [](auto tag, const bias_case& c, rng r) {
  using B = typename decltype(tag)::type;
  using ops = ops_of<B>;
  using S = ctnn::scalar_t<B>;
  const std::size_t n = c.outer * c.channels * c.inner, m = c.outer * c.inner;
  const host_values x = uniform_values(r, n, -2, 3), w = uniform_values(r, c.channels, -1.5, 1.5),
                    b = uniform_values(r, c.channels, -1, 1), dy = uniform_values(r, n, -1, 1),
                    gw0 = uniform_values(r, c.channels, -1, 1), gb0 = uniform_values(r, c.channels, -1, 1),
                    rm = uniform_values(r, c.channels, -1, 1), rv = uniform_values(r, c.channels, 0.5, 1.5);
  auto X = upload<B>(x), W = upload<B>(w), Bi = upload<B>(b), DY = upload<B>(dy), GW = upload<B>(gw0),
       GB = upload<B>(gb0), GW2 = upload<B>(gw0), GB2 = upload<B>(gb0), RM = upload<B>(rm), RV = upload<B>(rv);
  auto Mean = upload<B>(constant_values(c.channels, nan)), Var = upload<B>(constant_values(c.channels, nan));
  auto Y = upload<B>(constant_values(n, nan)), DX = upload<B>(constant_values(n, nan)),
       Y2 = upload<B>(constant_values(n, nan)), DX2 = upload<B>(constant_values(n, nan));
  const bool batch = m > 1;
  const S eps = S(1e-5);
  if (batch) {
    ops::batchnorm_stats(c.outer, c.channels, c.inner, X.data(), Mean.data(), Var.data());
    ops::batchnorm_forward(c.outer, c.channels, c.inner, X.data(), Mean.data(), Var.data(), W.data(), Bi.data(),
                           Y.data(), eps);
    ops::batchnorm_backward(c.outer, c.channels, c.inner, X.data(), DY.data(), Mean.data(), Var.data(), W.data(),
                            DX.data(), GW.data(), GB.data(), eps, true);
  }
  ops::batchnorm_forward(c.outer, c.channels, c.inner, X.data(), RM.data(), RV.data(), nullptr, nullptr, Y2.data(), eps);
  ops::batchnorm_backward(c.outer, c.channels, c.inner, X.data(), DY.data(), RM.data(), RV.data(), nullptr, DX2.data(),
                          GW2.data(), GB2.data(), eps, false);
  // Each output is one normalisation of values that went through sums of m terms (the statistics).
  const double tol = 4 * reduction_tolerance(static_cast<double>(m) + 1);
  results out;
  if (batch)
    out = {{"mean", download<B>(Mean, c.channels), tol},
           {"var", download<B>(Var, c.channels), tol},
           {"y", download<B>(Y, n), tol},
           {"dx", download<B>(DX, n), tol},
           {"grad_weight", download<B>(GW, c.channels), tol},
           {"grad_bias", download<B>(GB, c.channels), tol}};
  out.push_back({"y (running, affine=False)", download<B>(Y2, n), tol});
  out.push_back({"dx (running)", download<B>(DX2, n), tol});
  out.push_back({"grad_weight (running)", download<B>(GW2, c.channels), tol});
  return out;
};

template <bool Log>
struct softmax_op {
  template <class Tag>
  results operator()(Tag, const rows_case& c, rng r) const {
    using B = typename Tag::type;
    using R = ctnn::backend::ops<ctnn::backend::reference>;
    const std::size_t n = c.rows * c.cols;
    const values mode = draw_mode(r, c.data == values::nonfinite ? values::wide : c.data,
                                  {values::plain, values::wide, values::ties});
    host_values x = mode_values(r, n, mode, 30);
    if (mode == values::plain)
      for (auto& v : x) v = as_float(5 * v);
    const host_values dy = uniform_values(r, n, -1, 1);
    auto X = upload<B>(x), Y = upload<B>(constant_values(n, nan)), DY = upload<B>(dy), DX = upload<B>(constant_values(n, nan));
    if constexpr (Log) ops_of<B>::log_softmax_rows(c.rows, c.cols, X.data(), Y.data());
    else ops_of<B>::softmax_rows(c.rows, c.cols, X.data(), Y.data());
    host_values y_ref(n);  // the backward from the reference's (float-rounded) output
    if constexpr (Log) R::log_softmax_rows(c.rows, c.cols, x.data(), y_ref.data());
    else R::softmax_rows(c.rows, c.cols, x.data(), y_ref.data());
    for (auto& v : y_ref) v = as_float(v);
    auto YR = upload<B>(y_ref);
    if constexpr (Log) ops_of<B>::log_softmax_backward(c.rows, c.cols, YR.data(), DY.data(), DX.data());
    else ops_of<B>::softmax_backward(c.rows, c.cols, YR.data(), DY.data(), DX.data());
    // Scale at least 1, the size of the terms (|y| <= 1 and |dy| <= 1 for softmax; |dy| <= 1 for the
    // log-softmax gradient): dx may be small by cancellation (dy - sum(dy y) for a one-hot y).
    const double tol = reduction_tolerance(static_cast<double>(c.cols));
    return results{{"y", download<B>(Y, n), tol, compare_mode::scaled, 1},
                   {"dx", download<B>(DX, n), tol, compare_mode::scaled, 1}};
  }
};

template <bool Logits>
struct class_loss_op {
  template <class Tag>
  results operator()(Tag, const rows_case& c, rng r) const {
    using B = typename Tag::type;
    const std::size_t n = c.rows * c.cols;
    const values mode = draw_mode(r, c.data, {values::plain, values::plain, values::wide, values::ties});
    host_values x = mode_values(r, n, mode, 60);
    if (mode == values::plain)
      for (auto& v : x) v = Logits ? as_float(5 * v) : as_float(5 * v - 5);  // log-probabilities are <= 0
    host_values labels(c.rows);
    for (auto& l : labels) l = static_cast<double>(r.between(0, c.cols - 1));
    const double scale = r.chance(0.5) ? 1.0 : as_float(1.0 / static_cast<double>(c.rows));
    auto X = upload<B>(x), G = upload<B>(constant_values(n, nan));
    auto L = upload<B, std::int64_t>(labels);
    double loss;
    if constexpr (Logits) loss = ops_of<B>::cross_entropy(c.rows, c.cols, X.data(), L.data(), G.data(),
                                                          static_cast<ctnn::scalar_t<B>>(scale));
    else loss = ops_of<B>::nll(c.rows, c.cols, X.data(), L.data(), G.data(), static_cast<ctnn::scalar_t<B>>(scale));
    double floor = 0, largest = 0;
    for (double v : x)
      if (std::isfinite(v)) floor += std::abs(v), largest = std::max(largest, std::abs(v));
    // exp(x - lse): lse carries an absolute error of about u |lse| <= u max |x|, relative in the result.
    const double tol = Logits ? reduction_tolerance(static_cast<double>(c.cols)) + 4 * u * largest : rounding_tolerance;
    return results{{"loss", {loss}, tol, compare_mode::scaled, std::max(floor / static_cast<double>(c.cols), 1e-30)},
                   {"grad", download<B>(G, n), tol}};
  }
};

inline constexpr auto maxpool_op = [](auto tag, const pool_case& c, rng r) {
  using B = typename decltype(tag)::type;
  const std::size_t in = c.planes * c.H * c.W, out = c.planes * c.Ho() * c.Wo();
  const values mode = draw_mode(r, c.data, {values::plain, values::plain, values::ties, values::nonfinite});
  const host_values x = mode_values(r, in, mode), dy = uniform_values(r, out, -1, 1);
  auto X = upload<B>(x), Y = upload<B>(constant_values(out, nan)), DY = upload<B>(dy), DX = upload<B>(constant_values(in, nan));
  auto A = upload<B, std::int32_t>(constant_values(out, -7));
  ops_of<B>::maxpool_forward(c.geometry(), c.n(), X.data(), Y.data(), A.data());
  ops_of<B>::maxpool_backward(c.geometry(), c.n(), DY.data(), A.data(), DX.data());
  // Overlapping windows add several gradients into one input: a sum of up to K^2 terms.
  return results{{"y", download<B>(Y, out), 0, compare_mode::exact},
                 {"argmax", download<B>(A, out), 0, compare_mode::exact},
                 {"dx", download<B>(DX, in), reduction_tolerance(static_cast<double>(c.KH * c.KW))}};
};

// Average pooling (count_include_pad): a window's sum of K^2 terms, and dx a sum of up to K^2 shares of
// the overlapping windows over it; dx starts as NaN (overwritten).
inline constexpr auto avgpool_op = [](auto tag, const pool_case& c, rng r) {
  using B = typename decltype(tag)::type;
  const std::size_t in = c.planes * c.H * c.W, out = c.planes * c.Ho() * c.Wo();
  const values mode = draw_mode(r, c.data, {values::plain, values::plain, values::ties, values::nonfinite});
  const host_values x = mode_values(r, in, mode), dy = uniform_values(r, out, -1, 1);
  auto X = upload<B>(x), Y = upload<B>(constant_values(out, nan)), DY = upload<B>(dy), DX = upload<B>(constant_values(in, nan));
  ops_of<B>::avgpool_forward(c.geometry(), c.n(), X.data(), Y.data());
  ops_of<B>::avgpool_backward(c.geometry(), c.n(), DY.data(), DX.data());
  const double terms = static_cast<double>(c.KH * c.KW);
  return results{{"y", download<B>(Y, out), reduction_tolerance(terms)},
                 {"dx", download<B>(DX, in), reduction_tolerance(terms)}};
};

// Adaptive average pooling: a window's sum of up to ceil(H / Ho) ceil(W / Wo) terms; dx starts as NaN.
inline constexpr auto adaptive_avgpool_op = [](auto tag, const pool_case& c, rng r) {
  using B = typename decltype(tag)::type;
  const auto g = adaptive_geometry(c);
  const std::size_t in = c.planes * c.H * c.W, out = c.planes * g.Ho * g.Wo;
  const host_values x = uniform_values(r, in, -1, 1), dy = uniform_values(r, out, -1, 1);
  auto X = upload<B>(x), Y = upload<B>(constant_values(out, nan)), DY = upload<B>(dy), DX = upload<B>(constant_values(in, nan));
  ops_of<B>::adaptive_avgpool_forward(g, c.n(), X.data(), Y.data());
  ops_of<B>::adaptive_avgpool_backward(g, c.n(), DY.data(), DX.data());
  const double terms = static_cast<double>((c.H / g.Ho + 2) * (c.W / g.Wo + 2));
  return results{{"y", download<B>(Y, out), reduction_tolerance(terms)},
                 {"dx", download<B>(DX, in), reduction_tolerance(terms)}};
};

// Forward, backward with the input gradient, and backward without it (InputGrad::skip), as Conv2d calls
// them, and the input gradient alone (no x, no weight or bias gradient), as ConvTranspose2d's forward
// calls it; the parameter gradients accumulate into non-zero buffers, y and dx start as NaN (overwritten).
inline constexpr auto conv_op = [](auto tag, const conv_case& c, rng r) {
  using B = typename decltype(tag)::type;
  using ops = ops_of<B>;
  const auto& g = c.g;
  const std::size_t in = c.n * g.C * g.H * g.W, out = c.n * g.OC * g.Ho * g.Wo, wn = g.OC * (g.C / g.groups) * g.KH * g.KW;
  const host_values x = uniform_values(r, in, -1, 1), w = uniform_values(r, wn, -1, 1),
                    b = uniform_values(r, g.OC, -1, 1), dy = uniform_values(r, out, -1, 1),
                    gw0 = uniform_values(r, wn, -1, 1), gb0 = uniform_values(r, g.OC, -1, 1);
  auto X = upload<B>(x), Wt = upload<B>(w), Bi = upload<B>(b), DY = upload<B>(dy);
  auto Y = upload<B>(constant_values(out, nan)), DX = upload<B>(constant_values(in, nan));
  auto GW = upload<B>(gw0), GB = upload<B>(gb0), GW2 = upload<B>(gw0), GB2 = upload<B>(gb0);
  ctnn::buffer_t<B> ws;
  ws.resize(std::max<std::size_t>(ops::conv2d_workspace(g, c.n), 1));
  ops::conv2d_forward(g, c.n, X.data(), Wt.data(), Bi.data(), Y.data(), ws.data());
  ops::conv2d_backward(g, c.n, X.data(), DY.data(), Wt.data(), DX.data(), GW.data(), GB.data(), ws.data());
  ops::conv2d_forward(g, c.n, X.data(), Wt.data(), Bi.data(), Y.data(), ws.data());
  ops::conv2d_backward(g, c.n, X.data(), DY.data(), Wt.data(), nullptr, GW2.data(), GB2.data(), ws.data());
  auto DX2 = upload<B>(constant_values(in, nan));
  ops::conv2d_backward(g, c.n, nullptr, DY.data(), Wt.data(), DX2.data(), nullptr, nullptr, ws.data());
  const double patch = static_cast<double>(g.C / g.groups * g.KH * g.KW),
               positions = static_cast<double>(c.n * g.Ho * g.Wo);
  const double dx_terms = static_cast<double>(g.OC / g.groups * g.KH * g.KW);
  return results{{"y", download<B>(Y, out), reduction_tolerance(patch + 1)},
                 {"dx", download<B>(DX, in), reduction_tolerance(dx_terms)},
                 {"dx (alone, as ConvTranspose2d's forward)", download<B>(DX2, in), reduction_tolerance(dx_terms)},
                 {"grad_weight", download<B>(GW, wn), reduction_tolerance(positions + 1)},
                 {"grad_bias", download<B>(GB, g.OC), reduction_tolerance(positions + 1)},
                 {"grad_weight (no dx)", download<B>(GW2, wn), reduction_tolerance(positions + 1)},
                 {"grad_bias (no dx)", download<B>(GB2, g.OC), reduction_tolerance(positions + 1)}};
};

// The ops by name (one line each in a test's summary).
inline const std::vector<std::string>& op_names() {
  static const std::vector<std::string> names = {
      "gemm",       "relu",      "sigmoid",    "tanh",          "sum",          "mse_loss",     "l1_loss",
      "bce_loss",   "bce_with_logits_loss",    "sgd_update",    "adam_update",  "fill/dropout", "bias",
      "softmax",    "log_softmax", "cross_entropy", "nll",       "maxpool",      "avgpool",      "conv2d",
      "adaptive_avgpool",
      "batchnorm",  "amsgrad_update", "adadelta_update", "adagrad_update", "rmsprop_update"};
  return names;
}

// Op `name` of backend B over its named and `random` random cases, on every thread count.
template <class B>
op_stats run_op(const std::string& name, std::uint64_t seed, std::size_t random,
                const std::vector<std::size_t>& thread_counts, bool bitwise_threads, const failure_sink& fail) {
  auto run = [&](const auto& cases, auto op) {
    return differential<B>(name, cases, seed, thread_counts, bitwise_threads, op, fail);
  };
  using namespace ctnn::detail;
  if (name == "gemm") return run(gemm_cases(seed, random), gemm_op);
  if (name == "relu") return run(length_cases(seed, name, random), activation_op<relu_functions>{100});
  if (name == "sigmoid") return run(length_cases(seed, name, random), activation_op<sigmoid_functions>{100});
  if (name == "tanh") return run(length_cases(seed, name, random), activation_op<tanh_functions>{20});
  if (name == "sum") return run(length_cases(seed, name, random), sum_op);
  if (name == "mse_loss") return run(length_cases(seed, name, random), loss_op<mse_functions>{0});
  if (name == "l1_loss") return run(length_cases(seed, name, random), loss_op<l1_functions>{0});
  if (name == "bce_loss") return run(length_cases(seed, name, random), loss_op<bce_functions>{1});
  if (name == "bce_with_logits_loss") return run(length_cases(seed, name, random), loss_op<bce_logits_functions>{2});
  if (name == "sgd_update") return run(length_cases(seed, name, random), sgd_op);
  if (name == "adam_update") return run(length_cases(seed, name, random), adam_op);
  if (name == "amsgrad_update") return run(length_cases(seed, name, random), amsgrad_op);
  if (name == "adadelta_update") return run(length_cases(seed, name, random), adadelta_op);
  if (name == "adagrad_update") return run(length_cases(seed, name, random), adagrad_op);
  if (name == "rmsprop_update") return run(length_cases(seed, name, random), rmsprop_op);
  if (name == "fill/dropout") return run(length_cases(seed, name, random), random_fill_op);
  if (name == "bias") return run(bias_cases(seed, random), bias_op);
  if (name == "softmax") return run(rows_cases(seed, name, random), softmax_op<false>{});
  if (name == "log_softmax") return run(rows_cases(seed, name, random), softmax_op<true>{});
  if (name == "cross_entropy") return run(rows_cases(seed, name, random), class_loss_op<true>{});
  if (name == "nll") return run(rows_cases(seed, name, random), class_loss_op<false>{});
  if (name == "maxpool") return run(pool_cases(seed, name, random), maxpool_op);
  if (name == "avgpool") return run(pool_cases(seed, name, random), avgpool_op);
  if (name == "conv2d") return run(conv_cases(seed, random), conv_op);
  if (name == "adaptive_avgpool") return run(adaptive_pool_cases(seed, random), adaptive_avgpool_op);
  if (name == "batchnorm") return run(bias_cases(seed, random), batchnorm_op);
  fail("no op named " + name);
  return {};
}

}  // namespace ctnn_test::diff
