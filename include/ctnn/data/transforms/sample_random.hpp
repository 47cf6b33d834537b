#pragma once
// Where random transforms get their numbers. Inside a DataLoader every sample has its own seed, a pure
// function of the epoch's seed and the sample's index in the data set (DataLoader sets it around each
// load()), so an epoch's augmentations do not depend on which thread loads which sample, or in what
// order: 0, 1, 2 or 4 workers give the same batches. Outside a loader (a transform called by hand, or
// a data set read directly) a transform numbers its calls instead, from its own seed.
//
// A random transform holds a transform_random (seeded from a Generator at construction, as
// RandomHorizontalFlip(p, generator)) and asks it for the draws of one call: a small counter-based
// stream, distinct for every (transform, sample, call within the sample).
#include <atomic>
#include <cstdint>
#include <memory>

#include "../../core/random.hpp"

namespace ctnn::data {

namespace detail {
struct sample_seed_state {
  bool active = false;
  std::uint64_t seed = 0;
  std::uint64_t calls = 0;  // random transform calls so far for this sample
};
inline sample_seed_state& current_sample_seed() {
  thread_local sample_seed_state state;
  return state;
}
}  // namespace detail

// While alive, random transforms on this thread draw from `seed` (the loader's seed of one sample).
class sample_seed_scope {
 public:
  explicit sample_seed_scope(std::uint64_t seed) : saved_(detail::current_sample_seed()) {
    detail::current_sample_seed() = {true, seed, 0};
  }
  ~sample_seed_scope() { detail::current_sample_seed() = saved_; }
  sample_seed_scope(const sample_seed_scope&) = delete;
  sample_seed_scope& operator=(const sample_seed_scope&) = delete;

 private:
  detail::sample_seed_state saved_;
};

// The numbers of one transform call.
class draws {
 public:
  explicit draws(std::uint64_t seed) : seed_(seed) {}
  // Uniform in [0, 1).
  double uniform() { return rng::uniform(seed_, next_++); }
  // Uniform in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Integer in [0, n) (torch.randint(n)); n > 0.
  std::uint64_t below(std::uint64_t n) { return rng::bits(seed_, next_++) % n; }
  // Integer in [lo, hi] (inclusive, as random.randint).
  std::int64_t between(std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(below(static_cast<std::uint64_t>(hi - lo + 1)));
  }

 private:
  std::uint64_t seed_;
  std::uint64_t next_ = 0;
};

class transform_random {
 public:
  explicit transform_random(Generator& generator)
      : seed_(generator.fork().seed()), calls_(std::make_shared<std::atomic<std::uint64_t>>(0)) {}

  // The draws of one call: per sample inside a loader, else per call of this transform (copies of a
  // transform share the call counter, as copies of a data set share their transform).
  draws next() const {
    auto& sample = detail::current_sample_seed();
    if (sample.active) return draws(rng::bits(rng::mix(seed_ ^ sample.seed), sample.calls++));
    return draws(rng::bits(seed_, calls_->fetch_add(1, std::memory_order_relaxed)));
  }

 private:
  std::uint64_t seed_;
  std::shared_ptr<std::atomic<std::uint64_t>> calls_;
};

}  // namespace ctnn::data
