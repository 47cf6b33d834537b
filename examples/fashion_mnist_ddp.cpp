// TinyVGG on Fashion-MNIST, data-parallel over MPI ranks (DistributedDataParallel):
//   mpirun -np 2 --bind-to none -x OMP_NUM_THREADS=1 ./fashion_mnist_ddp --epochs 3
//   mpirun -np 8 --hostfile hosts --mca btl self,tcp -x OMP_NUM_THREADS=4 ./fashion_mnist_ddp
// Options: --epochs N, --global-batch B (split evenly over the ranks; default 32), --train-limit N,
// --test-limit N, --data DIR. The global batch is what the optimizer sees, so N ranks train the same
// model as one process at the same global batch (up to float rounding). Each rank prints its throughput;
// rank 0 prints the global throughput and the test accuracy, counted over every test sample once
// (unpadded shards, (correct, total) all-reduced).
#include <ctnn/ctnn.hpp>
#include <ctnn/distributed.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

using namespace ctnn;

namespace {

using TinyVGG = Sequential<backend::eigen, Input<1, 28, 28>,
    Named<"conv_block_1", Block<Conv2d<1, 10, 3, 1, 1>, ReLU, Conv2d<10, 10, 3, 1, 1>, ReLU, MaxPool2d<2>>>,
    Named<"conv_block_2", Block<Conv2d<10, 10, 3, 1, 1>, ReLU, Conv2d<10, 10, 3, 1, 1>, ReLU, MaxPool2d<2>>>,
    Named<"classifier", Block<Flatten, Linear<10 * 7 * 7, 10>>>>;

struct Options {
  std::size_t epochs = 3, global_batch = 32, train_limit = 0, test_limit = 0;
  std::string data;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) throw error(cat(arg, " needs a value"));
    const std::string v = argv[++i];
    if (arg == "--epochs") o.epochs = std::stoul(v);
    else if (arg == "--global-batch") o.global_batch = std::stoul(v);
    else if (arg == "--train-limit") o.train_limit = std::stoul(v);
    else if (arg == "--test-limit") o.test_limit = std::stoul(v);
    else if (arg == "--data") o.data = v;
    else throw error(cat("unknown option ", arg, " (see the comment at the top of fashion_mnist_ddp.cpp)"));
  }
  return o;
}

std::vector<std::size_t> first(std::size_t limit, std::size_t size) {
  std::vector<std::size_t> idx(limit && limit < size ? limit : size);
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  return idx;
}

}  // namespace

int main(int argc, char** argv) {
  dist::environment env{argc, argv};
  dist::mpi comm;
  const Options o = parse(argc, argv);
  const auto p = static_cast<std::size_t>(comm.size());
  if (o.global_batch % p != 0) throw error(cat("--global-batch ", o.global_batch, " is not a multiple of ", p, " ranks"));
  const std::size_t local_batch = o.global_batch / p;

  const data::FashionMNIST train_all(o.data, /*train=*/true), test_all(o.data, /*train=*/false);
  const auto train_data = train_all.subset(first(o.train_limit, train_all.size()));
  const auto test_data = test_all.subset(first(o.test_limit, test_all.size()));
  // This rank's evaluation shard: every test sample on exactly one rank.
  data::DataLoader test_loader(test_data.subset(dist::shard_indices(test_data.size(), comm.size(), comm.rank())),
                               {.batch_size = 256});

  TinyVGG model{manual_seed(42)};
  dist::DistributedDataParallel ddp{model, comm};
  optim::SGD optimizer{model.parameters(), {.lr = 0.1}};
  CrossEntropyLoss loss_fn;
  dist::DistributedSampler sampler(train_data.size(), comm.size(), comm.rank(), {.seed = 42});
  if (comm.rank() == 0)
    std::printf("%zu ranks x batch %zu (global batch %zu), %zu training samples, %zu steps per epoch\n", p, local_batch,
                o.global_batch, train_data.size(), (sampler.size() + local_batch - 1) / local_batch);

  for (std::size_t epoch = 0; epoch < o.epochs; ++epoch) {
    sampler.set_epoch(epoch);
    data::DataLoader loader(sampler.shard(train_data), {.batch_size = local_batch});
    model.train();
    double loss_sum = 0;
    std::size_t steps = 0, samples = 0;
    comm.barrier();
    const auto t0 = std::chrono::steady_clock::now();
    for (const auto& [x, y] : loader) {
      loss_sum += loss_fn(ddp.forward(x), y);
      optimizer.zero_grad();
      ddp.backward(loss_fn.grad());
      optimizer.step();
      ++steps;
      samples += x.batch_size();
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("epoch %zu rank %d: %zu samples in %.2f s, %.0f samples/s\n", epoch, comm.rank(), samples, seconds,
                static_cast<double>(samples) / seconds);
    std::fflush(stdout);

    model.eval();
    dist::Counts local;
    for (const auto& [x, y] : test_loader) {
      const auto& logits = model.forward(x);
      for (std::size_t i = 0; i < x.batch_size(); ++i) {
        const float* row = logits.data() + i * 10;
        local.correct += static_cast<std::int64_t>(std::max_element(row, row + 10) - row) == y(i);
      }
      local.total += static_cast<std::int64_t>(x.batch_size());
    }
    const auto counts = dist::all_reduce_counts(comm, local);
    double mean_loss[2] = {loss_sum, static_cast<double>(steps)};
    comm.all_reduce(mean_loss, 2, dist::ReduceOp::sum);
    std::int64_t total_samples = static_cast<std::int64_t>(samples);
    comm.all_reduce(&total_samples, 1, dist::ReduceOp::sum);
    double slowest = seconds;
    comm.all_reduce(&slowest, 1, dist::ReduceOp::max);
    if (comm.rank() == 0) {
      std::printf("epoch %zu: train loss %.5f | test acc %.2f%% (%lld of %lld) | global %.0f samples/s\n", epoch,
                  mean_loss[0] / mean_loss[1], 100 * counts.accuracy(), static_cast<long long>(counts.correct),
                  static_cast<long long>(counts.total), static_cast<double>(total_samples) / slowest);
      std::fflush(stdout);
    }
  }
  return 0;
}
