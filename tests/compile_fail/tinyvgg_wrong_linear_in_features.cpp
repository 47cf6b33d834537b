// The seed's classic mistake: Linear(hidden*7*7, ...) written with the wrong number. With ctnn the
// build stops, and the first error names the layer path, the spec and both shapes.
// expect-lines: <= 40
// expect-error: LAYER_INPUT_SHAPE_MISMATCH<.*("classifier\.1"|layer_path<'c', 'l', 'a', 's', 's', 'i', 'f', 'i', 'e', 'r', '\.', '1'>).*Linear<500, 10(, true)?>.*expects<ctnn::Shape<500> ?>.*got<ctnn::Shape<490> ?>
#include <ctnn/ctnn.hpp>
using namespace ctnn;

#ifdef CTNN_KO
constexpr std::size_t in_features = 500;
#else
constexpr std::size_t in_features = 10 * 7 * 7;
#endif

using TinyVGG = Sequential<backend::eigen, Input<1, 28, 28>,
    Named<"conv_block_1", Block<Conv2d<1, 10, 3, 1, 1>, ReLU, Conv2d<10, 10, 3, 1, 1>, ReLU, MaxPool2d<2>>>,
    Named<"conv_block_2", Block<Conv2d<10, 10, 3, 1, 1>, ReLU, Conv2d<10, 10, 3, 1, 1>, ReLU, MaxPool2d<2>>>,
    Named<"classifier", Block<Flatten, Linear<in_features, 10>>>>;

int main() {
  TinyVGG model{manual_seed(42)};
  Batch<Shape<1, 28, 28>> x(2);
  return static_cast<int>(model.forward(x).batch_size()) - 2;
}
