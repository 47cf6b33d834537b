#pragma once
// Evaluation across ranks: each rank counts on its unpadded shard (shard_indices), then the counts are
// summed, so every rank reports the accuracy of the whole evaluation set, each sample counted once.
#include <cstddef>
#include <cstdint>

#include "communicator.hpp"

namespace ctnn::dist {

struct Counts {
  std::int64_t correct = 0;
  std::int64_t total = 0;
  double accuracy() const { return total ? static_cast<double>(correct) / static_cast<double>(total) : 0.0; }
};

// Collective: the sums over all ranks, on every rank.
template <Communicator Comm>
Counts all_reduce_counts(Comm& comm, Counts local) {
  std::int64_t v[2] = {local.correct, local.total};
  comm.all_reduce(v, 2, ReduceOp::sum);
  return {v[0], v[1]};
}

}  // namespace ctnn::dist
