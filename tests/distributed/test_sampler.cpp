// DistributedSampler needs no MPI: every rank computes its shard alone, so a single process can play
// all the ranks.
#include <ctnn/ctnn.hpp>
#include <ctnn/distributed/sampler.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

using ctnn::dist::DistributedSampler;
using ctnn::dist::SamplerOptions;

namespace {

std::vector<std::vector<std::size_t>> all_shards(std::size_t n, int p, SamplerOptions o, std::size_t epoch) {
  std::vector<std::vector<std::size_t>> out;
  for (int r = 0; r < p; ++r) {
    DistributedSampler s(n, p, r, o);
    s.set_epoch(epoch);
    out.push_back(s.indices());
  }
  return out;
}

}  // namespace

TEST_CASE("DistributedSampler gives PyTorch's shards", "[distributed][sampler]") {
  // torch 1.13: DistributedSampler(range(10), num_replicas=3, rank=r, seed=5, drop_last=...), set_epoch(2).
  const auto padded = all_shards(10, 3, {.shuffle = true, .seed = 5}, 2);
  CHECK(padded == std::vector<std::vector<std::size_t>>{{5, 4, 9, 2}, {0, 1, 6, 5}, {3, 7, 8, 0}});
  const auto dropped = all_shards(10, 3, {.shuffle = true, .seed = 5, .drop_last = true}, 2);
  CHECK(dropped == std::vector<std::vector<std::size_t>>{{5, 4, 9}, {0, 1, 6}, {3, 7, 8}});
  // Fewer samples than ranks: the list is repeated until every rank has one.
  CHECK(DistributedSampler(2, 5, 4, {.shuffle = false}).indices() == std::vector<std::size_t>{0});
}

TEST_CASE("DistributedSampler gives equal counts and a new order per epoch", "[distributed][sampler]") {
  for (const std::size_t n : {1u, 7u, 64u, 1001u}) {
    for (const int p : {1, 2, 3, 8}) {
      for (const bool drop_last : {false, true}) {
        const SamplerOptions o{.shuffle = true, .seed = 42, .drop_last = drop_last};
        const auto shards = all_shards(n, p, o, 0);
        std::vector<std::size_t> seen;
        for (const auto& s : shards) {
          CHECK(s.size() == shards[0].size());  // every rank runs the same number of steps
          seen.insert(seen.end(), s.begin(), s.end());
        }
        std::vector<std::size_t> distinct = seen;
        std::sort(distinct.begin(), distinct.end());
        distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
        if (drop_last) {
          CHECK(seen.size() == n / p * p);
          CHECK(distinct.size() == seen.size());  // nothing repeated
        } else {
          CHECK(seen.size() == (n + p - 1) / p * p);
          CHECK(distinct.size() == n);  // everything covered, the padding repeats the start
        }
        if (n > 7 && p < 8) CHECK(all_shards(n, p, o, 1) != shards);
        CHECK(all_shards(n, p, o, 0) == shards);  // deterministic: every rank computes the same
      }
    }
  }
}

TEST_CASE("DistributedSampler shards a data set and evaluation shards cover it exactly once", "[distributed][sampler]") {
  std::vector<std::size_t> all;
  for (int r = 0; r < 3; ++r) {
    const auto s = ctnn::dist::shard_indices(10, 3, r);
    all.insert(all.end(), s.begin(), s.end());
  }
  std::sort(all.begin(), all.end());
  CHECK(all == std::vector<std::size_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  // shard(): the samples at indices(), as a data set view (the labels here are the sample numbers).
  std::vector<std::int64_t> labels(10);
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<std::int64_t>(i);
  const ctnn::data::InMemoryDataset<ctnn::Shape<1>> ds(std::vector<float>(10, 0.0f), labels);
  DistributedSampler sampler(ds.size(), 3, 1, {.seed = 5});
  sampler.set_epoch(2);
  const auto shard = sampler.shard(ds);
  REQUIRE(shard.size() == 4);
  for (std::size_t i = 0; i < shard.size(); ++i)
    CHECK(shard.target(i) == static_cast<std::int64_t>(sampler.indices()[i]));
  CHECK_THROWS_WITH(DistributedSampler(11, 3, 1).shard(ds), Catch::Contains("made for 11 samples"));
  CHECK_THROWS_WITH(DistributedSampler(10, 2, 2), Catch::Contains("invalid rank 2"));
  CHECK_THROWS_WITH(ctnn::dist::shard_indices(10, 0, 0), Catch::Contains("invalid rank"));
}
