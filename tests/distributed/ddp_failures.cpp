// What happens when a rank goes wrong. Each mode trains a small model with DistributedDataParallel and
// makes the last rank misbehave at step 3; CTest expects the job to end with a non-zero exit code
// (WILL_FAIL) well within its timeout, except `mismatch`, which must throw the same named error on every
// rank and then end normally:
//   exit      the rank calls std::exit(3) (no MPI_Finalize): mpirun ends the job
//   segfault  the rank raises SIGSEGV: mpirun ends the job
//   throw     an exception leaves main: dist::environment's terminate handler calls MPI_Abort
//   hang      the rank sleeps while the others wait in the all-reduce: their collective timeout
//             (CTNN_COLLECTIVE_TIMEOUT_S) aborts the job
//   mismatch  the last rank builds another model: every rank throws "the ranks hold different models"
#include "ddp_common.hpp"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <string>
#include <thread>

using namespace ctnn;
template <std::size_t Hidden>
using Net = Sequential<backend::eigen, Input<1, 8, 8>, Flatten, Linear<64, Hidden>, ReLU, Linear<Hidden, 10>>;
using S = Shape<1, 8, 8>;

template <class Model>
void run_training(dist::mpi& comm, const std::string& mode) {
  Model model{manual_seed(1)};
  dist::DistributedDataParallel ddp{model, comm};
  optim::SGD opt{model.parameters(), {.lr = 0.1}};
  CrossEntropyLoss loss_fn;
  Batch<S> x;
  Labels<> y;
  const bool culprit = comm.rank() == comm.size() - 1;
  for (std::size_t step = 1; step <= 6; ++step) {
    if (culprit && step == 3) {
      if (mode == "exit") std::exit(3);
      if (mode == "segfault") std::raise(SIGSEGV);
      if (mode == "throw") throw error("ddp_failures: rank failed on purpose at step 3");
      if (mode == "hang") std::this_thread::sleep_for(std::chrono::hours(1));
    }
    const auto g = ddp_test::make_batch<S>(8, step);
    ddp_test::slice(g, 0, 8, x, y);
    loss_fn(ddp.forward(x), y);
    opt.zero_grad();
    ddp.backward(loss_fn.grad());
    opt.step();
  }
}

int main(int argc, char** argv) {
  dist::environment env{argc, argv};
  dist::mpi comm;
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "mismatch") {
    try {
      if (comm.rank() == comm.size() - 1) run_training<Net<12>>(comm, mode);
      else run_training<Net<16>>(comm, mode);
    } catch (const error& e) {
      const std::string what = e.what();
      if (what.find("the ranks hold different models") == std::string::npos) throw;
      std::printf("rank %d: %s\n", comm.rank(), e.what());
      comm.barrier();  // every rank got here: none is left waiting
      return 0;
    }
    throw error("ddp_failures mismatch: constructing DistributedDataParallel over different models did not throw");
  }
  if (mode != "exit" && mode != "segfault" && mode != "throw" && mode != "hang")
    throw error(cat("ddp_failures: unknown mode '", mode, "' (exit, segfault, throw, hang, mismatch)"));
  run_training<Net<16>>(comm, mode);
  return 0;
}
