// A batch whose per-sample shape is not the model's input: Fashion-MNIST images fed to a CIFAR model.
// expect-lines: <= 40
// expect-error: MODEL_INPUT_SHAPE_MISMATCH<ctnn::diagnostic::expects<ctnn::Shape<3, 32, 32> ?>, ctnn::diagnostic::got<ctnn::Shape<1, 28, 28> ?> ?>
#include <ctnn/ctnn.hpp>
using namespace ctnn;

using Model = Sequential<backend::eigen, Input<3, 32, 32>, Flatten, Linear<3072, 2>>;

int main() {
  Model model{manual_seed(0)};
#ifdef CTNN_KO
  Batch<Shape<1, 28, 28>> x(1);
#else
  Batch<Shape<3, 32, 32>> x(1);
#endif
  return static_cast<int>(model.forward(x).batch_size()) - 1;
}
