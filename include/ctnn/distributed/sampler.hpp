#pragma once
// DistributedSampler (torch.utils.data.distributed.DistributedSampler): which samples of a data set
// rank r of p trains on this epoch. No MPI needed: every rank computes the same permutation from the
// same seed, so nothing is communicated.
//
//   dist::DistributedSampler sampler(train_data.size(), comm.size(), comm.rank(), {.seed = 42});
//   for (std::size_t epoch = 0; epoch < epochs; ++epoch) {
//     sampler.set_epoch(epoch);                       // a new shuffle per epoch, the same on every rank
//     data::DataLoader loader(sampler.shard(train_data), {.batch_size = 16});
//     for (const auto& [x, y] : loader) ...
//   }
//
// As PyTorch: with shuffle the order is randperm(n) drawn from a generator seeded seed + epoch (ctnn's
// randperm is torch's, so the indices are PyTorch's); the list is padded by repeating its beginning
// until every rank has the same count (or, with drop_last, cut to a multiple of p), and rank r takes
// positions r, r + p, r + 2p, ... Every rank therefore runs the same number of steps, which the
// collectives of DistributedDataParallel require.
//
// Evaluation wants every sample once: shard_indices(n, p, r) is the unpadded shard (counts differ by
// at most one); all-reduce (correct, total) afterwards.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "../core/error.hpp"
#include "../core/random.hpp"

namespace ctnn::dist {

struct SamplerOptions {
  bool shuffle = true;
  std::uint64_t seed = 0;
  bool drop_last = false;
};

class DistributedSampler {
 public:
  DistributedSampler(std::size_t dataset_size, int num_replicas, int rank, SamplerOptions options = {})
      : n_(dataset_size), p_(num_replicas), rank_(rank), options_(options) {
    if (num_replicas < 1) throw error(cat("DistributedSampler: num_replicas must be at least 1, got ", num_replicas));
    if (rank < 0 || rank >= num_replicas)
      throw error(cat("DistributedSampler: invalid rank ", rank, ", rank should be in the interval [0, ",
                      num_replicas - 1, "]"));
    const auto p = static_cast<std::size_t>(p_);
    if (options_.drop_last && n_ % p != 0) num_samples_ = (n_ - p + p - 1) / p;  // ceil((n - p) / p)
    else num_samples_ = (n_ + p - 1) / p;
    if (n_ < p && options_.drop_last) num_samples_ = 0;
  }

  void set_epoch(std::size_t epoch) { epoch_ = epoch; }
  std::size_t epoch() const { return epoch_; }
  // Samples per rank per epoch (PyTorch's len(sampler)).
  std::size_t size() const { return num_samples_; }
  std::size_t total_size() const { return num_samples_ * static_cast<std::size_t>(p_); }
  int num_replicas() const { return p_; }
  int rank() const { return rank_; }

  // This rank's indices for the current epoch.
  std::vector<std::size_t> indices() const {
    std::vector<std::size_t> all;
    if (options_.shuffle) Generator::torch_randperm(all, n_, options_.seed + epoch_);
    else {
      all.resize(n_);
      for (std::size_t i = 0; i < n_; ++i) all[i] = i;
    }
    const std::size_t total = total_size();
    if (total > n_) {
      if (n_ == 0) throw error("DistributedSampler: the data set is empty");
      for (std::size_t i = 0; all.size() < total; ++i) all.push_back(all[i % n_]);
    } else {
      all.resize(total);
    }
    std::vector<std::size_t> mine;
    mine.reserve(num_samples_);
    for (std::size_t i = static_cast<std::size_t>(rank_); i < total; i += static_cast<std::size_t>(p_))
      mine.push_back(all[i]);
    return mine;
  }

  // This rank's part of `dataset` for the current epoch, as a data set view (data::Subset).
  template <class D>
  auto shard(const D& dataset) const {
    if (dataset.size() != n_)
      throw error(cat("DistributedSampler::shard: the sampler was made for ", n_, " samples but the data set has ",
                      dataset.size()));
    return dataset.subset(indices());
  }

 private:
  std::size_t n_;
  int p_, rank_;
  SamplerOptions options_;
  std::size_t num_samples_ = 0;
  std::size_t epoch_ = 0;
};

// The unpadded evaluation shard of rank `rank` of `num_replicas`: r, r + p, ... below n.
inline std::vector<std::size_t> shard_indices(std::size_t n, int num_replicas, int rank) {
  if (num_replicas < 1 || rank < 0 || rank >= num_replicas)
    throw error(cat("shard_indices: invalid rank ", rank, " of ", num_replicas));
  std::vector<std::size_t> out;
  for (std::size_t i = static_cast<std::size_t>(rank); i < n; i += static_cast<std::size_t>(num_replicas)) out.push_back(i);
  return out;
}

}  // namespace ctnn::dist
