// Data parallelism changes nothing but the wall time: p ranks with batch 32/p each follow, step for step,
// one process that trains on the whole batch of 32 (TinyVGG, SGD). Every rank also trains that
// one-process reference itself, on the same global batches, so the comparison needs no second run.
//   steps 1-40:  one backward per step;
//   steps 41-50: two micro-batches per rank, the first under no_sync() (gradient accumulation), at half
//                the learning rate (the accumulated gradient is twice the batch mean).
// Checked: the mean loss over ranks and the final parameters within 1e-5 of the reference, parameters
// bitwise equal on every rank after every step, and a rank-0 checkpoint that a fresh model on every
// rank loads back bit for bit. Argument: --bucket-kb K (small buckets, so there are several).
#include "ddp_common.hpp"
#include "seed_models.hpp"

#include <cstdlib>
#include <filesystem>
#include <string>

using namespace ctnn;
using Model = ctnn_test::TinyVGG<backend::eigen>;
using S = Model::input_shape;

int main(int argc, char** argv) {
  dist::environment env{argc, argv};
  dist::mpi comm;
  double bucket_kb = 0;
  std::filesystem::path dir = std::filesystem::temp_directory_path();
  bool overlap = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--no-overlap") overlap = false;
    else if (a == "--bucket-kb" && i + 1 < argc) bucket_kb = std::atof(argv[++i]);
    else if (a == "--dir" && i + 1 < argc) dir = argv[++i];
    else throw error(cat("ddp_equivalence: unknown argument '", a, "'"));
  }
  const std::size_t p = static_cast<std::size_t>(comm.size()), r = static_cast<std::size_t>(comm.rank());
  constexpr std::size_t global_batch = 32, steps = 50, accumulate_from = 41;
  if (global_batch % (2 * p) != 0) throw error("ddp_equivalence: the rank count must divide 16");
  const std::size_t local = global_batch / p;

  Model reference{manual_seed(42)};
  // Another seed on the other ranks: the constructor's broadcast must replace it with rank 0's.
  Model model{manual_seed(comm.rank() == 0 ? 42 : 1000 + r)};
  dist::DDPOptions options;
  if (bucket_kb > 0) options = {.bucket_cap_mb = 4 * bucket_kb / 1024, .first_bucket_mb = bucket_kb / 1024};
  options.overlap = overlap;
  dist::DistributedDataParallel ddp{model, comm, options};
  if (ddp_test::max_abs_difference(model, reference) != 0) throw error("the broadcast did not give every rank rank 0's parameters");

  std::size_t bucketed = 0;
  for (const std::size_t n : ddp.bucket_sizes()) bucketed += n;
  if (bucketed != Model::parameter_count) throw error("the buckets do not hold every parameter exactly once");
  ddp_test::say(comm, cat(p, " ranks x batch ", local, ", ", ddp.bucket_sizes().size(), " buckets, overlap ",
                          overlap ? "on" : "off", "\n"));

  const double lr = 0.1;
  optim::SGD ref_opt{reference.parameters(), {.lr = lr}};
  optim::SGD opt{model.parameters(), {.lr = lr}};
  CrossEntropyLoss ref_loss, loss_fn;
  Batch<S> x, x2;
  Labels<> y, y2;
  double worst_loss = 0;
  for (std::size_t step = 1; step <= steps; ++step) {
    const auto g = ddp_test::make_batch<S>(global_batch, 1000 + step);
    Batch<S> gx;
    Labels<> gy;
    ddp_test::slice(g, 0, global_batch, gx, gy);
    const double expected = ref_loss(reference.forward(gx), gy);
    ref_opt.zero_grad();
    reference.backward(ref_loss.grad(), InputGrad::skip);
    ref_opt.step();

    float loss = 0;
    opt.zero_grad();
    if (step < accumulate_from) {
      ddp_test::slice(g, r * local, local, x, y);
      loss = loss_fn(ddp.forward(x), y);
      ddp.backward(loss_fn.grad());
    } else {
      opt.set_lr(lr / 2);
      const std::size_t half = local / 2;
      ddp_test::slice(g, r * local, half, x, y);
      ddp_test::slice(g, r * local + half, half, x2, y2);
      {
        auto guard = ddp.no_sync();
        loss = loss_fn(ddp.forward(x), y) / 2;
        ddp.backward(loss_fn.grad());
      }
      loss += loss_fn(ddp.forward(x2), y2) / 2;
      ddp.backward(loss_fn.grad());
    }
    opt.step();
    comm.all_reduce(&loss, 1, dist::ReduceOp::avg);
    worst_loss = std::max(worst_loss, std::abs(loss - expected));
    if (std::abs(loss - expected) > 1e-5)
      throw error(cat("step ", step, ": mean loss ", loss, " over the ranks, one process ", expected));
    // With overlap every bucket starts inside backward (the last one when the first layer is done).
    const std::size_t expect_started = overlap ? ddp.bucket_sizes().size() : 0;
    if (ddp.last_sync().started_during_backward != expect_started)
      throw error(cat("step ", step, ": ", ddp.last_sync().started_during_backward,
                      " buckets started during backward, expected ", expect_started));
    if (!ddp_test::same_on_all_ranks(comm, ddp_test::parameter_bits_hash(model)))
      throw error(cat("step ", step, ": the ranks' parameters differ"));
  }
  const double worst_param = ddp_test::max_abs_difference(model, reference);
  ddp_test::say(comm, cat("50 steps: |loss - one process| <= ", worst_loss, ", |parameters - one process| <= ",
                          worst_param, ", all-reduce of ", ddp.last_sync().bytes, " bytes in ",
                          ddp.last_sync().seconds * 1e6, " us\n"));
  if (worst_param > 1e-5) throw error(cat("the parameters are ", worst_param, " from the one-process run's"));

  // The checkpoint: written once, by rank 0, and loaded by every rank into a model of another seed.
  const auto path = dir / cat("ctnn_ddp_equivalence_", p, "_", static_cast<long>(bucket_kb * 1000), ".safetensors");
  dist::save(model, comm, path);
  Model resumed{manual_seed(7 + r)};
  dist::load(resumed, comm, path);
  if (ddp_test::parameter_bits_hash(resumed) != ddp_test::parameter_bits_hash(model))
    throw error("the checkpoint did not restore the parameters bit for bit");
  comm.barrier();
  if (comm.rank() == 0) std::filesystem::remove(path);
  ddp_test::say(comm, "checkpoint: saved by rank 0, loaded on every rank bit for bit\n");
  return 0;
}
