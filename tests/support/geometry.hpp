#pragma once
// Geometries for the differential tests (tests/differential, tests/backend/test_thrust_differential.cpp,
// tests/backend/test_cuda.cu): for every backend op, a fixed list of NAMED boundary cases (each names the
// fast path of a backend and the boundary it sits on) followed by randomly drawn ones. Everything is a
// function of one base seed: CTNN_DIFF_SEED=<n> in the environment replaces the default, and
// CTNN_DIFF_COUNT=<n> the number of random geometries per op. A failure prints the seed, the case's index
// and its geometry, which is all it takes to reproduce it.
//
// Plain C++ (no Eigen, no Catch2, no CUDA runtime): the CUDA test includes it from a .cu file. Include
// ctnn first (<ctnn/ctnn.hpp>, or the backend headers in a .cu file): the tests built against the single
// header (single_include/) have no <ctnn/backend/...> to include here.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <vector>

#if __has_include(<ctnn/backend/backend.hpp>)
#include <ctnn/backend/backend.hpp>
#endif

namespace ctnn_test::diff {

// splitmix64: a tiny, well-mixed generator whose stream is the same on every compiler.
class rng {
 public:
  explicit rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Integer in [lo, hi], both included.
  std::size_t between(std::size_t lo, std::size_t hi) { return lo + static_cast<std::size_t>(next() % (hi - lo + 1)); }
  bool chance(double p) { return uniform() < p; }
  template <class T>
  T pick(std::initializer_list<T> values) {
    return *(values.begin() + between(0, values.size() - 1));
  }

 private:
  std::uint64_t state_;
};

inline std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const unsigned long long parsed = std::strtoull(v, &end, 0);
  return end && *end == '\0' ? static_cast<std::uint64_t>(parsed) : fallback;
}
// The base seed of every random geometry and every input value.
inline std::uint64_t base_seed() { return env_number("CTNN_DIFF_SEED", 20261201); }
// Random geometries per op (after the named ones).
inline std::size_t random_count(std::size_t fallback) {
  return static_cast<std::size_t>(env_number("CTNN_DIFF_COUNT", fallback));
}
// The thread counts to run each case on: CTNN_DIFF_THREADS=<a,b,...> (default: the caller's list).
inline std::vector<std::size_t> thread_counts(std::vector<std::size_t> fallback) {
  const char* v = std::getenv("CTNN_DIFF_THREADS");
  if (!v || !*v) return fallback;
  std::vector<std::size_t> out;
  for (const char* p = v; *p;) {
    char* end = nullptr;
    const unsigned long parsed = std::strtoul(p, &end, 10);
    if (end == p) break;
    if (parsed > 0) out.push_back(static_cast<std::size_t>(parsed));
    p = *end == ',' ? end + 1 : end;
  }
  return out.empty() ? fallback : out;
}
// A stream for (op, purpose) derived from the base seed, so that adding an op changes no other op's cases.
inline rng stream(std::uint64_t seed, const std::string& op, std::uint64_t purpose) {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a of the op's name
  for (char c : op) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  rng r(seed ^ h ^ (purpose * 0x632be59bd9b4e019ULL));
  r.next();
  return r;
}

// A side of a feature map (1..31) with the edge sizes over-represented: 1, 2, primes, packet multiples
// and their neighbours.
inline std::size_t map_side(rng& r) {
  if (r.chance(0.35)) return r.pick<std::size_t>({1, 2, 3, 4, 5, 7, 8, 9, 11, 13, 15, 16, 17, 23, 24, 25, 29, 31});
  return r.between(1, 31);
}
// A length of a 1-d op: short ones (tails of a packet), medium ones, and lengths around multiples of the
// 8192-value parallel grain of the Eigen backend (elementwise_grain: 2 threads from 16384 values).
inline std::size_t vector_length(rng& r) {
  const double u = r.uniform();
  if (u < 0.3) return r.between(1, 40);
  if (u < 0.7) return r.between(1, 5000);
  const std::size_t base = 8192 * r.between(1, 3);
  return base + r.between(0, 40) - 20;
}
// Output widths of a Linear layer around the Eigen backend's skinny-kernel thresholds (12 columns for
// skinny_dot, 16 rows for skinny_outer, 8 = the AVX packet).
inline std::size_t linear_width(rng& r) {
  if (r.chance(0.6)) return r.pick<std::size_t>({1, 2, 3, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 24, 25, 31, 32, 33});
  return r.between(1, 300);
}

// How the input values of a case are drawn: `any` lets the case's data stream choose; the named cases of
// the ops with data-dependent branches fix it.
enum class values { any = -1, plain = 0, wide, ties, nonfinite, mostly_minus_infinity };
inline const char* values_name(values v) {
  switch (v) {
    case values::plain: return "plain";
    case values::wide: return "wide range";
    case values::ties: return "ties";
    case values::nonfinite: return "NaN/inf";
    case values::mostly_minus_infinity: return "mostly -inf";
    default: return "any";
  }
}

// ---- GEMM -------------------------------------------------------------------------------------------
struct gemm_case {
  std::string name;  // the boundary it tests; "random" for drawn ones
  std::size_t m, n, k;
  bool trans_a, trans_b;
  float alpha, beta;
  std::string describe() const {
    return name + ": m=" + std::to_string(m) + " n=" + std::to_string(n) + " k=" + std::to_string(k) +
           " trans_a=" + std::to_string(trans_a) + " trans_b=" + std::to_string(trans_b) +
           " alpha=" + std::to_string(alpha) + " beta=" + std::to_string(beta);
  }
  double work() const { return static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k); }
};

inline std::vector<gemm_case> gemm_cases(std::uint64_t seed, std::size_t random) {
  std::vector<gemm_case> v;
  auto add = [&](std::string name, std::size_t m, std::size_t n, std::size_t k, bool ta, bool tb, float alpha,
                 float beta) { v.push_back({std::move(name), m, n, k, ta, tb, alpha, beta}); };
  // skinny_dot (C = A B^T with n <= 12 columns and k >= 8, a Linear forward): columns 1..13 (13 is the
  // first that is not skinny), depths 7 (below the packet: the general path), 8, 9 (a 1-value tail), 17.
  for (std::size_t n : {1, 7, 8, 9, 11, 12, 13})
    for (std::size_t k : {7, 8, 9, 17}) add("skinny_dot n/k boundary", 33, n, k, false, true, 1.0f, 0.0f);
  add("skinny_dot with beta 1 (accumulating)", 5, 12, 100, false, true, 1.0f, 1.0f);
  add("skinny_dot with alpha -0.5, beta 0.75", 6, 10, 31, false, true, -0.5f, 0.75f);
  add("skinny_dot rows split over 2 threads (m n k >= 2^20)", 1000, 12, 100, false, true, 1.0f, 0.0f);
  // skinny_outer (C = A^T B with m <= 16 rows and n >= 8, a Linear weight gradient): rows 1..17 (17 is
  // not skinny; the rows go in near-equal groups of at most 8), columns 7 (below a packet), 8, 9, 15, 16
  // (two packets), 17.
  for (std::size_t m : {1, 7, 8, 9, 12, 15, 16, 17})
    for (std::size_t n : {7, 8, 9, 15, 16, 17}) add("skinny_outer m/n boundary", m, n, 13, true, false, 1.0f, 1.0f);
  add("skinny_outer with beta 0", 10, 49, 32, true, false, 1.0f, 0.0f);
  add("skinny_outer packets split over 2 threads", 10, 203, 700, true, false, 1.0f, 1.0f);
  // The general GEMM (Eigen's kernel, gemm.hpp): C cut along its longer side (rows when m >= n) into
  // side / 128 parts (1..8, boundaries on multiples of 8), threads taking whole parts; depths beyond
  // Eigen's depth block kc (a few hundred for float) run in several depth panels.
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      add("general GEMM one part (side 255)", 255, 30, 70, ta, tb, 1.0f, 0.0f);
      add("general GEMM two parts (side 256, by rows)", 256, 20, 33, ta, tb, 1.0f, 1.0f);
      add("general GEMM two parts by columns (n 257 > m)", 40, 257, 120, ta, tb, 0.5f, -1.0f);
      add("general GEMM 8 parts of 8-row multiples (side 1030)", 1030, 17, 21, ta, tb, 1.0f, 0.0f);
      add("general GEMM several depth panels (k 1500)", 29, 31, 1500, ta, tb, 1.0f, 0.75f);
    }
  add("general GEMM 1 x 1 x 1", 1, 1, 1, false, false, 1.0f, 0.0f);
  add("general GEMM k = 0 (C = beta C)", 9, 13, 0, false, false, 1.0f, 0.5f);
  rng r = stream(seed, "gemm", 0);
  for (std::size_t i = 0; i < random; ++i) {
    gemm_case c{"random", 0, 0, 0, false, false, 1.0f, 0.0f};
    const double u = r.uniform();
    if (u < 0.3) {  // a Linear forward: batch x outputs, depth = inputs
      c.m = r.between(1, 70), c.n = linear_width(r), c.k = r.between(1, 800), c.trans_b = true;
    } else if (u < 0.5) {  // a Linear weight gradient: outputs x inputs, depth = batch
      c.m = linear_width(r), c.n = r.between(1, 800), c.k = r.between(1, 70), c.trans_a = true, c.beta = 1.0f;
    } else {
      auto side = [&] { return r.chance(0.5) ? r.between(1, 40) : r.between(1, 600); };
      c.m = side(), c.n = side(), c.k = r.chance(0.1) ? r.between(500, 530) : side();
      c.trans_a = r.chance(0.5), c.trans_b = r.chance(0.5);
      c.alpha = r.pick<float>({1.0f, 1.0f, 0.5f, -1.25f});
      c.beta = r.pick<float>({0.0f, 1.0f, 0.75f});
    }
    while (c.work() > 3e6) {  // keep the double-precision reference cheap
      std::size_t& big = c.m >= c.n && c.m >= c.k ? c.m : (c.n >= c.k ? c.n : c.k);
      big = (big + 1) / 2;
    }
    v.push_back(c);
  }
  return v;
}

// ---- elementwise (map, zip, sum, optimizers, dropout masks, loss functors) ------------------------------
struct length_case {
  std::string name;
  std::size_t n;
  values data = values::any;
  std::string describe() const { return name + ": n=" + std::to_string(n) + " values=" + values_name(data); }
};
inline std::vector<length_case> length_cases(std::uint64_t seed, const std::string& op, std::size_t random) {
  std::vector<length_case> v;
  // The vectorised exp/tanh/logistic (and the Eigen array expressions of the optimizers) run in whole
  // packets from the start of each thread's part, then n % lanes scalar values: lengths below, at and
  // around 4-, 8- and 16-value packets.
  for (std::size_t n : {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 65})
    v.push_back({"packet tail (n % lanes)", n});
  // Parts split over threads at multiples of 16 from 2 x 8192 values (elementwise_grain).
  for (std::size_t n : {8191, 8192, 8193, 16383, 16384, 16385, 16399, 24577, 32771})
    v.push_back({"parallel grain boundary (8192 per thread)", n});
  // Saturation and non-finite inputs of the vectorised functions: |x| up to 100, +-inf and NaN.
  v.push_back({"wide inputs through a packet and its tail", 37, values::wide});
  v.push_back({"+-inf and NaN through a packet and its tail", 37, values::nonfinite});
  rng r = stream(seed, op, 0);
  for (std::size_t i = 0; i < random; ++i) v.push_back({"random", vector_length(r)});
  return v;
}

// ---- per-channel bias: outer x channels x inner ---------------------------------------------------------
struct bias_case {
  std::string name;
  std::size_t outer, channels, inner;
  std::string describe() const {
    return name + ": outer=" + std::to_string(outer) + " channels=" + std::to_string(channels) +
           " inner=" + std::to_string(inner);
  }
};
inline std::vector<bias_case> bias_cases(std::uint64_t seed, std::size_t random) {
  std::vector<bias_case> v;
  // bias_grad sums a row in packets only from 16 values (below: the plain loop), with an inner % lanes
  // tail; channels are split over threads from 2 x 8192 values.
  for (std::size_t inner : {1, 7, 8, 15, 16, 17, 23, 24, 25, 49, 961})
    v.push_back({"bias_grad packet path boundary (inner 16, inner % lanes)", 3, 5, inner});
  v.push_back({"bias_grad channels split over 2 threads", 40, 17, 729});
  v.push_back({"bias_grad of a Linear layer (inner 1)", 70, 13, 1});
  v.push_back({"one channel", 70, 1, 31});
  rng r = stream(seed, "bias", 0);
  for (std::size_t i = 0; i < random; ++i) {
    bias_case c{"random", r.between(1, 70), r.between(1, 17), 1};
    c.inner = r.chance(0.2) ? 1 : map_side(r) * map_side(r);
    while (c.outer * c.channels * c.inner > 100000 && c.outer > 1) c.outer = (c.outer + 1) / 2;
    v.push_back(c);
  }
  return v;
}

// ---- rows: softmax, log_softmax, their backward, argmax, cross-entropy, nll ----------------------------
struct rows_case {
  std::string name;
  std::size_t rows, cols;
  values data = values::any;
  std::string describe() const {
    return name + ": rows=" + std::to_string(rows) + " cols=" + std::to_string(cols) + " values=" + values_name(data);
  }
};
inline std::vector<rows_case> rows_cases(std::uint64_t seed, const std::string& op, std::size_t random) {
  std::vector<rows_case> v;
  // cross_entropy's one vectorised exp over the whole rows x cols block: lengths around packets.
  for (std::size_t cols : {1, 2, 7, 8, 9, 10, 16, 17})
    v.push_back({"row length around a packet", 3, cols});
  v.push_back({"one row", 1, 10});
  v.push_back({"a batch of 70, 1000 classes", 70, 1000});
  // cross_entropy's branches: the vectorised path for finite row maxima (-inf entries included: exp(-inf)
  // must be 0 in the packet code too), host_ops' path as soon as one row's maximum is +inf or NaN.
  v.push_back({"logits of +-60 (exp range)", 9, 10, values::wide});
  v.push_back({"ties", 9, 10, values::ties});
  v.push_back({"non-finite branch: +inf, -inf, NaN logits", 12, 10, values::nonfinite});
  v.push_back({"non-finite branch in a single row", 1, 9, values::nonfinite});
  rng r = stream(seed, op, 0);
  for (std::size_t i = 0; i < random; ++i)
    v.push_back({"random", r.between(1, 70), r.chance(0.8) ? linear_width(r) % 40 + 1 : r.between(1, 300)});
  return v;
}

// ---- pooling: planes of H x W ------------------------------------------------------------------------------
struct pool_case {
  std::string name;
  std::size_t planes, H, W, KH, KW, SH, SW, PH, PW, DH = 1, DW = 1;
  values data = values::any;
  std::size_t Ho() const { return ctnn::backend::conv_output_size(H, KH, SH, PH, DH); }
  std::size_t Wo() const { return ctnn::backend::conv_output_size(W, KW, SW, PW, DW); }
  // The planes as n samples of C channels (n of 3, 2 or 1), so that an op mixing up n and C shows.
  std::size_t n() const { return planes % 3 == 0 ? 3 : planes % 2 == 0 ? 2 : 1; }
  ctnn::backend::pool_geometry geometry() const {
    return {planes / n(), H, W, KH, KW, SH, SW, PH, PW, DH, DW, Ho(), Wo()};
  }
  std::string describe() const {
    return name + ": planes=" + std::to_string(planes) + " (n=" + std::to_string(n()) + ") H=" + std::to_string(H) +
           " W=" + std::to_string(W) + " K=" + std::to_string(KH) + "x" + std::to_string(KW) +
           " stride=" + std::to_string(SH) + "x" + std::to_string(SW) + " pad=" + std::to_string(PH) + "x" +
           std::to_string(PW) + " dilation=" + std::to_string(DH) + "x" + std::to_string(DW) +
           " values=" + values_name(data);
  }
};
// A square window: kernel K, stride and padding the same on both axes, no dilation.
inline pool_case square_pool(std::string name, std::size_t planes, std::size_t H, std::size_t W, std::size_t K,
                             std::size_t stride, std::size_t pad, values data = values::any) {
  return {std::move(name), planes, H, W, K, K, stride, stride, pad, pad, 1, 1, data};
}
// `op` names the random cases' stream (maxpool, avgpool). The named cases are max pooling's fast paths and
// boundaries; average pooling runs them too (the same shapes, odd sizes, padding, overlapping windows).
inline std::vector<pool_case> pool_cases(std::uint64_t seed, const std::string& op, std::size_t random) {
  std::vector<pool_case> v;
  // The Eigen backend's 2x2 stride-2 kernel (maxpool2x2): odd and even heights and widths (an odd last
  // row or column is in no window: issue 9's wrong plane stride), 2 and 3 (one output row/column), and
  // enough planes for two threads (2 x 8192 input values).
  for (std::size_t h : {2, 3, 4, 5, 7, 8, 9, 31})
    for (std::size_t w : {2, 3, 7, 8, 17}) v.push_back(square_pool("maxpool2x2 odd/even H and W", 6, h, w, 2, 2, 0));
  v.push_back(square_pool("maxpool2x2 issue 9: 2 planes of 3x3", 2, 3, 3, 2, 2, 0));
  v.push_back(square_pool("maxpool2x2 planes split over 2 threads", 70, 15, 17, 2, 2, 0));
  v.push_back(square_pool("maxpool2x2 planes split over 2 threads (odd H)", 40, 31, 31, 2, 2, 0));
  // The general path next to it: padding, overlapping windows, a stride other than the kernel.
  v.push_back(square_pool("2x2 with padding 1 (general path)", 4, 5, 5, 2, 2, 1));
  v.push_back(square_pool("2x2 stride 1 (overlapping, general path)", 4, 5, 6, 2, 1, 0));
  v.push_back(square_pool("3x3 stride 2 padding 1", 4, 7, 7, 3, 2, 1));
  v.push_back(square_pool("1x1 window", 3, 4, 5, 1, 1, 0));
  v.push_back(square_pool("window = whole map", 3, 7, 7, 7, 1, 0));
  // Next to the fast path: 2x2 stride 2 but dilated, or one axis only (not maxpool2x2's geometry).
  v.push_back({"2x2 stride 2 dilation 2 (general path)", 6, 9, 8, 2, 2, 2, 2, 0, 0, 2, 2});
  v.push_back({"2x1 window stride 2x1", 6, 8, 7, 2, 1, 2, 1, 0, 0});
  v.push_back({"3x2 window, stride 1x2, padding 1x1, dilation 2x1", 4, 9, 8, 3, 2, 1, 2, 1, 1, 2, 1});
  // Ties (the first maximum of a window wins, and gets the gradient) and NaN (the first NaN wins), on
  // the fast path and the general one.
  for (std::size_t k : {2, 3}) {
    v.push_back(square_pool("ties", 5, 7, 9, k, 2, 0, values::ties));
    v.push_back(square_pool("NaN and -inf", 5, 7, 9, k, 2, 0, values::nonfinite));
    v.push_back(square_pool("ties, overlapping windows", 5, 8, 9, k, 1, 1, values::ties));
    v.push_back(square_pool("NaN and -inf, overlapping windows", 5, 8, 9, k, 1, 1, values::nonfinite));
  }
  // The general path's packet interior (eigen maxpool_rows): outputs whose window lies inside the row
  // are computed 8 at a time (a gather for stride 2), the columns nearer the edges one by one. Interiors
  // of 7, 8, 9, 17 columns at stride 1, 16 and 17 at stride 2, with ties and NaN/-inf inside them.
  for (std::size_t w : {9, 10, 11, 19}) v.push_back(square_pool("packet interior, 3x3 stride 1", 3, 5, w, 3, 1, 1));
  for (std::size_t w : {35, 37}) v.push_back(square_pool("packet interior, 3x3 stride 2", 3, 5, w, 3, 2, 1));
  for (std::size_t stride : {1, 2}) {
    v.push_back(square_pool("packet interior with ties", 4, 6, 40, 3, stride, 1, values::ties));
    v.push_back(square_pool("packet interior with NaN and -inf", 4, 6, 40, 3, stride, 1, values::nonfinite));
  }
  // Windows of -infinity only (the first tap inside wins), on the 2x2 kernel and the packet interior.
  v.push_back(square_pool("windows of -inf only, 2x2", 4, 8, 40, 2, 2, 0, values::mostly_minus_infinity));
  v.push_back(square_pool("windows of -inf only, packet interior", 4, 6, 40, 3, 1, 1, values::mostly_minus_infinity));
  rng r = stream(seed, op, 0);
  for (std::size_t i = 0; i < random; ++i) {
    pool_case c = square_pool("random", r.between(1, 70) * r.between(1, 17), map_side(r), map_side(r), 2, 2, 0);
    if (r.chance(0.4)) {  // MaxPool2d<2> and MaxPool2d<2, 2>: the fast path
    } else {
      c.KH = r.between(1, 7);
      c.KW = r.chance(0.5) ? c.KH : r.between(1, 7);
      c.SH = r.chance(0.3) ? c.KH : r.between(1, 4);
      c.SW = r.chance(0.5) ? c.SH : r.between(1, 4);
      c.PH = r.between(0, c.KH / 2);  // PyTorch (and MaxPool2d) allow padding up to half the kernel
      c.PW = r.between(0, c.KW / 2);
      if (r.chance(0.3)) c.DH = r.between(1, 3), c.DW = r.chance(0.5) ? c.DH : r.between(1, 3);
    }
    while (c.H + 2 * c.PH < c.DH * (c.KH - 1) + 1) ++c.H;
    while (c.W + 2 * c.PW < c.DW * (c.KW - 1) + 1) ++c.W;
    const auto work = [&] {
      return static_cast<double>(c.planes * c.Ho() * c.Wo() * c.KH * c.KW + c.planes * c.H * c.W);
    };
    while (work() > 4e5 && c.planes > 1) c.planes = (c.planes + 1) / 2;
    v.push_back(c);
  }
  return v;
}

// Adaptive average pooling: output sizes below, at and above the input's, multiples (fixed windows) and
// not (windows of two sizes that overlap), global pooling.
inline std::vector<pool_case> adaptive_pool_cases(std::uint64_t seed, std::size_t random) {
  auto adaptive = [](std::string name, std::size_t planes, std::size_t H, std::size_t W, std::size_t Ho,
                     std::size_t Wo) {
    // The window fields carry the output size (Ho() and Wo() read them as K = 1, stride 1 windows of a
    // Ho x Wo input): geometry() below puts the real sizes in.
    return pool_case{std::move(name), planes, H, W, Ho, Wo, 1, 1, 0, 0};
  };
  std::vector<pool_case> v;
  v.push_back(adaptive("global (1x1)", 6, 7, 5, 1, 1));
  v.push_back(adaptive("multiples: 6x9 to 2x3", 4, 6, 9, 2, 3));
  v.push_back(adaptive("not multiples: 5x7 to 3x4 (overlapping windows)", 6, 5, 7, 3, 4));
  v.push_back(adaptive("output larger than input: 3x2 to 5x7", 2, 3, 2, 5, 7));
  v.push_back(adaptive("same size", 3, 4, 6, 4, 6));
  rng r = stream(seed, "adaptive_avgpool", 0);
  for (std::size_t i = 0; i < random; ++i) {
    pool_case c = adaptive("random", r.between(1, 70) * r.between(1, 5), map_side(r), map_side(r),
                           r.between(1, 9), r.between(1, 9));
    while (c.planes * c.H * c.W > 200000 && c.planes > 1) c.planes = (c.planes + 1) / 2;
    v.push_back(c);
  }
  return v;
}
// The adaptive ops' geometry of a case of adaptive_pool_cases: the output size is in KH and KW.
inline ctnn::backend::pool_geometry adaptive_geometry(const pool_case& c) {
  return {c.planes / c.n(), c.H, c.W, 1, 1, 1, 1, 0, 0, 1, 1, c.KH, c.KW};
}

// ---- convolution: a batch of n samples ------------------------------------------------------------------
struct conv_case {
  std::string name;
  std::size_t n;
  ctnn::backend::conv_geometry g;
  std::string describe() const {
    auto axes = [](std::size_t a, std::size_t b) { return std::to_string(a) + "x" + std::to_string(b); };
    return name + ": n=" + std::to_string(n) + " C=" + std::to_string(g.C) + " H=" + std::to_string(g.H) +
           " W=" + std::to_string(g.W) + " OC=" + std::to_string(g.OC) + " K=" + axes(g.KH, g.KW) +
           " stride=" + axes(g.SH, g.SW) + " pad=" + axes(g.PH, g.PW) + " dilation=" + axes(g.DH, g.DW) +
           " groups=" + std::to_string(g.groups) + " (Ho=" + std::to_string(g.Ho) + " Wo=" + std::to_string(g.Wo) + ")";
  }
  double work() const {
    return static_cast<double>(n * g.OC * g.Ho * g.Wo) * static_cast<double>(g.C / g.groups * g.KH * g.KW);
  }
};
// Every field but the output size; Ho and Wo as PyTorch's Conv2d.
struct conv_shape {
  std::size_t C, H, W, OC, KH, KW, SH = 1, SW = 1, PH = 0, PW = 0, DH = 1, DW = 1, groups = 1;
};
inline ctnn::backend::conv_geometry conv_geometry_of(const conv_shape& s) {
  using ctnn::backend::conv_output_size;
  return {s.C,  s.H,  s.W,  s.OC, s.KH, s.KW, s.SH, s.SW, s.PH, s.PW, s.DH, s.DW, s.groups,
          conv_output_size(s.H, s.KH, s.SH, s.PH, s.DH), conv_output_size(s.W, s.KW, s.SW, s.PW, s.DW)};
}
inline ctnn::backend::conv_geometry conv_geometry_of(std::size_t C, std::size_t H, std::size_t W, std::size_t OC,
                                                     std::size_t K, std::size_t stride, std::size_t pad) {
  return conv_geometry_of(conv_shape{C, H, W, OC, K, K, stride, stride, pad, pad});
}
inline std::vector<conv_case> conv_cases(std::uint64_t seed, std::size_t random) {
  std::vector<conv_case> v;
  auto add = [&](std::string name, std::size_t n, std::size_t C, std::size_t H, std::size_t W, std::size_t OC,
                 std::size_t K, std::size_t stride, std::size_t pad) {
    v.push_back({std::move(name), n, conv_geometry_of(C, H, W, OC, K, stride, pad)});
  };
  auto add_shape = [&](std::string name, std::size_t n, const conv_shape& s) {
    v.push_back({std::move(name), n, conv_geometry_of(s)});
  };
  // The Eigen backend's direct 3x3 stride-1 kernels (padding 0, 1, 2): output rows of Wo around whole
  // packets (blocks of 1 and 2 packets: 7, 8, 9, 15, 16, 17, 23, 24, 25), output channels around its
  // register blocks (8 for one packet of columns, 5 for two, 4 in the weight gradient), a 1-pixel input
  // with padding 2, and batches that split over threads.
  for (std::size_t pad : {0, 1, 2})
    for (std::size_t wo : {1, 7, 8, 9, 15, 16, 17, 23, 24, 25}) {
      const std::size_t w = wo + 2 - 2 * pad;
      if (w >= 1 && w <= 31) add("direct 3x3: Wo around packet multiples", 2, 2, 5, w, 3, 3, 1, pad);
    }
  for (std::size_t oc : {1, 3, 4, 5, 6, 8, 9, 10, 11, 16, 17})
    add("direct 3x3: output channels around register blocks (4, 5, 8)", 2, 3, 6, 17, oc, 3, 1, 1);
  add("direct 3x3: 1x1 input, padding 2", 3, 2, 1, 1, 3, 3, 1, 2);
  add("direct 3x3: batch over 2 threads, TinyVGG-like", 8, 10, 14, 14, 10, 3, 1, 1);
  add("direct 3x3: odd everything", 7, 5, 13, 11, 7, 3, 1, 0);
  // The channel bound (direct_conv3_max_channels = 64): 64 input channels direct, 65 through the GEMM.
  add("direct 3x3: 64 input channels (the widest it takes)", 2, 64, 5, 6, 3, 3, 1, 1);
  add("3x3 stride 1 with 65 input channels (not direct: the GEMM path)", 2, 65, 5, 6, 3, 3, 1, 1);
  // The generic path (im2col + GEMM): stride 2 with 3x3, 5x5 of the CIFAR tutorial, 1x1, 7x7, padding
  // beyond half the kernel.
  add("3x3 stride 2 (generic path)", 3, 2, 7, 7, 3, 3, 2, 0);
  add("3x3 padding 3 (generic path)", 2, 2, 4, 5, 3, 3, 1, 3);
  add("5x5 CIFAR tutorial conv1", 2, 3, 32, 32, 6, 5, 1, 0);
  add("5x5 CIFAR tutorial conv2", 4, 6, 14, 14, 16, 5, 1, 0);
  add("1x1 kernel", 3, 17, 9, 9, 5, 1, 1, 0);
  add("7x7 stride 4 padding 3", 2, 3, 31, 29, 4, 7, 4, 3);
  add("kernel = whole input", 5, 3, 7, 7, 11, 7, 1, 0);
  // 3x3 stride 1 that the direct kernels must not take: each departs from their geometry on one field.
  add_shape("3x3 dilation 2 (not direct)", 2, {3, 9, 10, 4, 3, 3, 1, 1, 2, 2, 2, 2});
  add_shape("3x3 padding 1x0 (not direct)", 2, {3, 7, 8, 4, 3, 3, 1, 1, 1, 0});
  add_shape("3x3 groups 2 (not direct)", 2, {4, 7, 8, 6, 3, 3, 1, 1, 1, 1, 1, 1, 2});
  add_shape("3x3 depthwise (not direct)", 3, {5, 7, 8, 5, 3, 3, 1, 1, 1, 1, 1, 1, 5});
  add_shape("3x5 kernel, stride 1x2, padding 1x2", 2, {3, 9, 11, 4, 3, 5, 1, 2, 1, 2});
  add_shape("depthwise multiplier 3, 5x3, dilation 1x3", 2, {4, 12, 13, 12, 5, 3, 2, 1, 2, 1, 1, 3, 4});
  // The Eigen backend's batched im2col (eigen/gemm_conv.hpp): the batch's columns cut into units of a
  // multiple of 16 columns, at least 4 when there are columns for it; the weight gradient summed in up
  // to 4 lanes of units; the input gradient by sample, or with the GEMM split when n < threads.
  add("batched im2col: units ending inside samples and rows (81 columns a sample, 64 a unit)", 3, 2, 9, 9, 3, 5, 1, 2);
  add("batched im2col: batch 1 in 4 units", 1, 3, 20, 20, 4, 3, 2, 1);
  add("batched im2col: a patch of 8500 rows, 16-column units, 5 over 4 lanes", 5, 340, 8, 8, 2, 5, 1, 0);
  add("batched im2col: stride 3 > kernel 2", 3, 3, 11, 10, 4, 2, 3, 0);
  add("batched im2col: 1x1 stride 2", 5, 8, 9, 9, 4, 1, 2, 0);
  add_shape("batched im2col: 7x7 dilation 2, the largest kernel", 2, {2, 15, 17, 3, 7, 7, 1, 1, 3, 3, 2, 2});
  add_shape("batched im2col: 3 groups of 5x5 over 6 units", 5, {6, 11, 11, 9, 5, 5, 1, 1, 2, 2, 1, 1, 3});
  // im2col's and col2im's tap ranges (a segment of a row is zeros, a copy, zeros, computed from the first
  // tap): strides whose first in-range tap is not a multiple of the stride away, segments wholly in the
  // padding, a dilated kernel wider than the padded row allows but one tap.
  add_shape("tap ranges: 5x5 stride 3, padding 4 (segments starting and ending in padding)", 2, {2, 10, 11, 3, 5, 5, 3, 3, 4, 4});
  add_shape("tap ranges: 7x7 dilation 2 on a 2-wide map, padding 6 (whole segments out of range)", 2, {2, 3, 2, 3, 7, 7, 1, 1, 6, 6, 2, 2});
  add_shape("tap ranges: 3x7, stride 1x4, padding 0x5", 3, {3, 6, 13, 2, 3, 7, 1, 4, 0, 5});
  // Strided segments are gathered a packet (8) at a time, then one by one: runs of 7, 8, 9, 16, 17 taps.
  for (std::size_t run : {7, 8, 9, 16, 17}) add("strided im2col: rows of 7-17 taps at stride 2", 2, 3, 5, 2 * run + 1, 4, 3, 2, 0);
  add("strided im2col: 17 taps at stride 3", 2, 3, 4, 51, 4, 3, 3, 0);
  // The input gradient in chunks of whole output rows of about a unit's width: a remainder chunk
  // (81 = 63 + 18 positions, above), and rows wider than a unit (16-column units, 20-column rows).
  add("input gradient: output rows wider than a unit (a chunk is one row)", 1, 340, 24, 24, 2, 5, 1, 0);
  rng r = stream(seed, "conv", 0);
  for (std::size_t i = 0; i < random; ++i) {
    conv_shape s{r.between(1, 17), map_side(r), map_side(r), r.between(1, 17), 3, 3, 1, 1, 0, 0};
    s.PH = s.PW = r.between(0, 2);
    if (r.chance(0.6)) {  // anything Conv2d accepts; otherwise the direct 3x3 path
      s.KH = r.between(1, 7);
      s.KW = r.chance(0.5) ? s.KH : r.between(1, 7);
      s.SH = r.between(1, 4);
      s.SW = r.chance(0.5) ? s.SH : r.between(1, 4);
      s.PH = r.chance(0.85) ? r.between(0, s.KH / 2) : r.between(0, s.KH);
      s.PW = r.chance(0.5) ? std::min(s.PH, s.KW) : r.between(0, s.KW / 2);
      if (r.chance(0.35)) s.DH = r.between(1, 3), s.DW = r.chance(0.5) ? s.DH : r.between(1, 3);
      if (r.chance(0.35)) {  // grouped: groups divide both channel counts; depthwise (groups = C) often
        const std::size_t groups = r.chance(0.5) ? s.C : r.between(1, s.C);
        s.groups = groups;
        s.C = s.C / groups * groups;
        s.OC = groups * r.between(1, 4);
      }
    }
    while (s.H + 2 * s.PH < s.DH * (s.KH - 1) + 1) ++s.H;
    while (s.W + 2 * s.PW < s.DW * (s.KW - 1) + 1) ++s.W;
    conv_case c{"random", r.between(1, 70), conv_geometry_of(s)};
    while (c.work() > 4e5 && c.n > 1) c.n = (c.n + 1) / 2;  // keep the reference cheap: fewer samples,
    while (c.work() > 4e5 && c.g.groups == 1 && (c.g.C > 1 || c.g.OC > 1)) {  // then fewer channels
      if (c.g.C >= c.g.OC) c.g.C = (c.g.C + 1) / 2;
      else c.g.OC = (c.g.OC + 1) / 2;
    }
    v.push_back(c);
  }
  return v;
}

}  // namespace ctnn_test::diff
