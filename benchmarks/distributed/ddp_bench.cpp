// Constants for the scaling model of the README: all-reduce latency and bandwidth, and per-step compute
// and communication of TinyVGG and the GAN under DistributedDataParallel. A plain program run under
// mpirun (not Google Benchmark: every rank must time the same collectives):
//   mpirun -np 2 --oversubscribe --bind-to none --mca btl self,vader -x OMP_NUM_THREADS=1 ./ddp_bench
// Times are minima (and medians) over repetitions, each after a barrier; every line says the rank count
// and threads per rank.
#include <ctnn/ctnn.hpp>
#include <ctnn/distributed.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "seed_models.hpp"

using namespace ctnn;
using clock_type = std::chrono::steady_clock;

namespace {

double since(clock_type::time_point t) { return std::chrono::duration<double>(clock_type::now() - t).count(); }

struct Summary {
  double min = 0, median = 0;
};
Summary summarise(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v.front(), v[v.size() / 2]};
}

Summary time_all_reduce(dist::mpi& comm, std::size_t floats, int reps) {
  std::vector<float> data(floats, 1.0f);
  std::vector<double> t;
  for (int k = 0; k < reps; ++k) {
    comm.barrier();
    const auto t0 = clock_type::now();
    comm.all_reduce(data.data(), floats, dist::ReduceOp::avg);
    t.push_back(since(t0));
  }
  return summarise(t);
}

template <class S, class B = backend::eigen>
Batch<S, B> random_batch(std::size_t n, std::uint64_t seed) {
  Batch<S, B> b(n);
  Generator g{seed};
  backend::ops<B>::fill_normal(b.size(), b.data(), 0.0, 1.0, g);
  return b;
}

// One model's training step under DDP: forward, loss, backward with the bucketed all-reduce.
struct StepTimes {
  Summary step, sync, exposed;
};
template <class Model, class Loss>
StepTimes time_steps(dist::mpi& comm, Model& model, std::size_t batch, bool overlap, int reps, Loss& loss_fn) {
  dist::DistributedDataParallel ddp{model, comm, {.overlap = overlap}};
  const auto x = random_batch<typename Model::input_shape>(batch, 11 + comm.rank());
  const auto y = random_batch<typename Model::output_shape>(batch, 99 + comm.rank());
  std::vector<double> step, sync, exposed;
  for (int k = 0; k < reps; ++k) {
    comm.barrier();
    const auto t0 = clock_type::now();
    loss_fn(ddp.forward(x), y);
    model.zero_grad();
    ddp.backward(loss_fn.grad());
    step.push_back(since(t0));
    sync.push_back(ddp.last_sync().seconds);
    exposed.push_back(ddp.last_sync().exposed_seconds);
  }
  return {summarise(step), summarise(sync), summarise(exposed)};
}

}  // namespace

int main(int argc, char** argv) {
  dist::environment env{argc, argv};
  dist::mpi comm;
  const int p = comm.size();
  auto say = [&](const std::string& s) {
    if (comm.rank() == 0) std::printf("[%d ranks, %zu thread(s) each] %s\n", p, ctnn::get_num_threads(), s.c_str());
  };

  for (const std::size_t bytes : {std::size_t{8}, std::size_t{30960}, std::size_t{1} << 20, std::size_t{11800000}}) {
    const int reps = bytes > 1000000 ? 30 : 200;
    const auto s = time_all_reduce(comm, std::max<std::size_t>(1, bytes / 4), reps);
    say(cat("all-reduce avg ", bytes, " B: min ", s.min * 1e6, " us, median ", s.median * 1e6, " us"));
  }

  // TinyVGG epoch: 1024 samples, global batch 32 (32/p per rank), 32 steps, SGD.
  {
    using Model = ctnn_test::TinyVGG<backend::eigen>;
    Model model{manual_seed(42)};
    dist::DistributedDataParallel ddp{model, comm};
    optim::SGD opt{model.parameters(), {.lr = 0.01}};
    CrossEntropyLoss loss_fn;
    const std::size_t local = 32 / static_cast<std::size_t>(p);
    const auto x = random_batch<Model::input_shape>(local, 5 + comm.rank());
    Labels<> y(local);
    for (std::size_t i = 0; i < local; ++i) y(i) = static_cast<std::int64_t>(i % 10);
    std::vector<double> epochs;
    double sync = 0, exposed = 0;
    for (int e = 0; e < 3; ++e) {
      comm.barrier();
      const auto t0 = clock_type::now();
      sync = exposed = 0;
      for (int step = 0; step < 32; ++step) {
        loss_fn(ddp.forward(x), y);
        opt.zero_grad();
        ddp.backward(loss_fn.grad());
        opt.step();
        sync += ddp.last_sync().seconds;
        exposed += ddp.last_sync().exposed_seconds;
      }
      epochs.push_back(since(t0));
    }
    const auto s = summarise(epochs);
    say(cat("TinyVGG epoch (1024 samples, global batch 32, batch ", local, " per rank): min ", s.min * 1e3,
            " ms, median ", s.median * 1e3, " ms; last epoch's all-reduce ", sync * 1e3, " ms, exposed ",
            exposed * 1e3, " ms"));
  }

  // The GAN's two networks (~11.8 MB of gradients together), batch 64/p per rank: overlap on and off.
  {
    const std::size_t local = 64 / static_cast<std::size_t>(p);
    ctnn_test::GeneratorNet<backend::eigen> G{manual_seed(1)};
    ctnn_test::Discriminator<backend::eigen> D{manual_seed(2)};
    MSELoss mse;
    for (const bool overlap : {true, false}) {
      const auto g = time_steps(comm, G, local, overlap, 20, mse);
      const auto d = time_steps(comm, D, local, overlap, 20, mse);
      say(cat("GAN step (G + D forward/backward, batch ", local, " per rank), overlap ", overlap ? "on " : "off",
              ": min ", (g.step.min + d.step.min) * 1e3, " ms; all-reduce ", (g.sync.median + d.sync.median) * 1e3,
              " ms median, exposed ", (g.exposed.median + d.exposed.median) * 1e3, " ms median"));
    }
  }
  return 0;
}
