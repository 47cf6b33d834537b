// Feeding a batch of one backend to a model of another is a type error, not a runtime crash
// (PyTorch's "Expected all tensors to be on the same device").
// expect-error: TENSORS_ON_DIFFERENT_BACKENDS<ctnn::diagnostic::lhs<ctnn::backend::eigen>, ctnn::diagnostic::rhs<ctnn::backend::reference> ?>
#include <ctnn/ctnn.hpp>
using namespace ctnn;

using Model = Sequential<backend::eigen, Input<4>, Linear<4, 2>>;

int main() {
  Model model{manual_seed(0)};
#ifdef CTNN_KO
  Batch<Shape<4>, backend::reference> x(1);
#else
  Batch<Shape<4>, backend::eigen> x(1);
#endif
  return static_cast<int>(model.forward(x).batch_size()) - 1;
}
