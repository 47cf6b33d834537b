// A model on a device backend fed a CPU batch is a type error that names both backends, not PyTorch's
// runtime "Expected all tensors to be on the same device". The device here is backend::thrust (it
// compiles with plain g++ on Thrust's CPP system); backend::cuda models reject CPU batches the same way.
// expect-error: TENSORS_ON_DIFFERENT_BACKENDS<ctnn::diagnostic::lhs<ctnn::backend::thrust<[^>]*> ?>, ctnn::diagnostic::rhs<ctnn::backend::eigen> ?>
// requires: thrust
#define THRUST_DEVICE_SYSTEM THRUST_DEVICE_SYSTEM_CPP
#include <ctnn/backend/thrust.hpp>
#include <ctnn/ctnn.hpp>
#include <ctnn/nn/transfer.hpp>
using namespace ctnn;

using Device = backend::thrust<>;
using Model = Sequential<Device, Input<4>, Linear<4, 2>>;

int main() {
  Model model{manual_seed(0)};
  const Batch<Shape<4>> cpu_batch(1);  // backend::eigen, the default
#ifdef CTNN_KO
  const auto& x = cpu_batch;
#else
  const auto x = to<Device>(cpu_batch);
#endif
  return static_cast<int>(model.forward(x).batch_size()) - 1;
}
