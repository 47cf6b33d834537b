#pragma once
// Seeded random numbers. The generator is counter-based: number i of a stream is a pure function of
// (seed, i), so a backend can fill a buffer in parallel (OpenMP, Thrust, CUDA) and still produce
// exactly the numbers the sequential reference produces. Same seed, same numbers, on every backend.
#include <cmath>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "config.hpp"

namespace ctnn {

namespace rng {

// splitmix64's finaliser: a bijective 64-bit mix with good avalanche.
CTNN_HD constexpr std::uint64_t mix(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

CTNN_HD constexpr std::uint64_t bits(std::uint64_t seed, std::uint64_t counter) {
  return mix(mix(seed + 0x9e3779b97f4a7c15ULL) ^ (counter * 0xd1b54a32d192ed03ULL + 0x632be59bd9b4e019ULL));
}

// Uniform in [0, 1) with 53 random bits.
CTNN_HD inline double uniform(std::uint64_t seed, std::uint64_t counter) {
  return static_cast<double>(bits(seed, counter) >> 11) * 0x1.0p-53;
}

// Standard normal (Box-Muller on two counters), never infinite: u1 is in (0, 1].
CTNN_HD inline double normal(std::uint64_t seed, std::uint64_t counter) {
  const double u1 = 1.0 - uniform(seed, 2 * counter);
  const double u2 = uniform(seed, 2 * counter + 1);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

}  // namespace rng

// A stream of random numbers: a seed and how many numbers were drawn. Copying a generator copies
// its position; fork() gives an independent stream (used by each Dropout layer).
//
// It also carries PyTorch's own CPU engine (an mt19937 seeded the same way), used for one thing:
// drawing initial parameters exactly as torch.nn does, so `Model m{manual_seed(42)}` starts from the
// very weights that torch.manual_seed(42) gives the same PyTorch model (tests/nn/test_init.cpp).
class Generator {
 public:
  explicit Generator(std::uint64_t seed = 67280421310721ULL) : seed_(seed), torch_engine_(torch_seed(seed)) {}

  constexpr std::uint64_t seed() const { return seed_; }
  constexpr std::uint64_t offset() const { return offset_; }

  // Reserves n counters and returns the first; a backend turns [first, first + n) into numbers.
  constexpr std::uint64_t advance(std::uint64_t n) {
    const std::uint64_t first = offset_;
    offset_ += n;
    return first;
  }

  double uniform() { return rng::uniform(seed_, advance(1)); }
  double normal() { return rng::normal(seed_, advance(1)); }
  // Integer in [0, n).
  std::uint64_t below(std::uint64_t n) { return rng::bits(seed_, advance(1)) % n; }

  Generator fork() { return Generator{rng::bits(seed_, advance(1))}; }

  void manual_seed(std::uint64_t seed) {
    seed_ = seed;
    offset_ = 0;
    torch_engine_.seed(torch_seed(seed));
  }

  // One number of tensor.uniform_(from, to) as PyTorch draws it on the CPU for dtype T: 24 random
  // bits for float, 53 (from two draws) for double, scaled in double precision with the fused
  // multiply-add that Debian's PyTorch build compiles it to (bit-exact in tests/nn/test_init.cpp).
  template <class T>
  T torch_uniform(T from, T to) {
    if constexpr (sizeof(T) <= 4) {
      const std::uint32_t bits = torch_random();
      const double x = static_cast<double>(bits & ((1u << 24) - 1)) * 0x1.0p-24;
      return static_cast<T>(std::fma(x, static_cast<double>(to - from), static_cast<double>(from)));
    } else {
      const std::uint64_t bits = torch_random64();
      const double x = static_cast<double>(bits & ((std::uint64_t{1} << 53) - 1)) * 0x1.0p-53;
      return static_cast<T>(std::fma(x, static_cast<double>(to - from), static_cast<double>(from)));
    }
  }

  // The raw draws of PyTorch's CPU generator: random() and random64() (two draws, the first high).
  std::uint32_t torch_random() { return static_cast<std::uint32_t>(torch_engine_()); }
  std::uint64_t torch_random64() {
    const std::uint64_t hi = torch_random();
    return (hi << 32) | torch_random();
  }

  // torch.randperm(n, generator=torch.Generator().manual_seed(seed)) on the CPU: PyTorch's swap loop
  // with random() % (n - i), written into order.
  template <class Index>
  static void torch_randperm(std::vector<Index>& order, std::size_t n, std::uint64_t seed) {
    std::mt19937 engine(torch_seed(seed));
    order.resize(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = static_cast<Index>(i);
    for (std::size_t i = 0; i + 1 < n; ++i) {
      const std::size_t z = static_cast<std::uint32_t>(engine()) % (n - i);
      std::swap(order[i], order[z + i]);
    }
  }

 private:
  // PyTorch's mt19937 keeps the low 32 bits of the seed.
  static std::uint32_t torch_seed(std::uint64_t seed) { return static_cast<std::uint32_t>(seed & 0xffffffffu); }

  std::uint64_t seed_;
  std::uint64_t offset_ = 0;
  std::mt19937 torch_engine_;
};

// The process-wide generator used when none is given (PyTorch's default generator).
inline Generator& default_generator() {
  static Generator g;
  return g;
}

// torch.manual_seed: reseeds the default generator and returns it, so `Model m{manual_seed(42)};`
// reads like the tutorials.
inline Generator& manual_seed(std::uint64_t seed) {
  default_generator().manual_seed(seed);
  return default_generator();
}

}  // namespace ctnn
