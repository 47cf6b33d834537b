#pragma once
// Shared by the MPI test programs (run under mpirun; see CMakeLists.txt): random batches that every
// rank can generate identically, and a check that all ranks hold bitwise the same parameters.
#include <ctnn/ctnn.hpp>
#include <ctnn/distributed.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace ddp_test {

// A global batch of n images and labels, the same on every rank for the same seed.
template <class S>
struct GlobalBatch {
  std::vector<float> x;
  std::vector<std::int64_t> y;
};

template <class S>
GlobalBatch<S> make_batch(std::size_t n, std::uint64_t seed) {
  GlobalBatch<S> b;
  b.x.resize(n * S::size);
  ctnn::Generator g{seed};
  for (auto& v : b.x) v = static_cast<float>(ctnn::rng::normal(g.seed(), g.advance(1)));
  b.y.resize(n);
  for (std::size_t i = 0; i < n; ++i) b.y[i] = static_cast<std::int64_t>(ctnn::rng::bits(seed ^ 0x5eed, i) % 10);
  return b;
}

// Rows [begin, begin + count) of a global batch as ctnn batches on the eigen backend.
template <class S>
void slice(const GlobalBatch<S>& g, std::size_t begin, std::size_t count, ctnn::Batch<S>& x, ctnn::Labels<>& y) {
  x = ctnn::Batch<S>(count);
  y = ctnn::Labels<>(count);
  std::memcpy(x.data(), g.x.data() + begin * S::size, count * S::size * sizeof(float));
  for (std::size_t i = 0; i < count; ++i) y(i) = g.y[begin + i];
}

// FNV-1a over the bytes of every parameter value.
template <class Model>
std::uint64_t parameter_bits_hash(Model& m) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  m.visit_parameters([&](ctnn::Parameter<typename Model::backend_type>& p) {
    const auto values = p.values_to_host();
    const auto* bytes = reinterpret_cast<const unsigned char*>(values.data());
    for (std::size_t i = 0; i < values.size() * sizeof(float); ++i) {
      h ^= bytes[i];
      h *= 0x100000001b3ULL;
    }
  });
  return h;
}

template <class Comm>
bool same_on_all_ranks(Comm& comm, std::uint64_t h) {
  std::int64_t lo = static_cast<std::int64_t>(h), hi = lo;
  comm.all_reduce(&lo, 1, ctnn::dist::ReduceOp::min);
  comm.all_reduce(&hi, 1, ctnn::dist::ReduceOp::max);
  return lo == hi;
}

template <class A, class B>
double max_abs_difference(A& a, B& b) {
  const auto sa = a.state_dict(), sb = b.state_dict();
  double worst = 0;
  for (std::size_t t = 0; t < sa.size(); ++t)
    for (std::size_t i = 0; i < sa[t].values.size(); ++i)
      worst = std::max(worst, std::abs(static_cast<double>(sa[t].values[i]) - static_cast<double>(sb[t].values[i])));
  return worst;
}

// Prints on rank 0 only.
template <class Comm>
void say(Comm& comm, const std::string& line) {
  if (comm.rank() == 0) {
    std::fputs(line.c_str(), stdout);
    std::fflush(stdout);
  }
}

}  // namespace ddp_test
