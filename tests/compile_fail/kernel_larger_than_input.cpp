// A convolution whose kernel no longer fits after pooling: 28 -> 14 -> 7 -> 3, then a 5x5 kernel.
// expect-error: LAYER_INPUT_SHAPE_MISMATCH<.*("4"|layer_path<'4'>).*Conv2d<4, 4, 5(UL)?(, 1, 0)?>.*expects<ctnn::Shape<4, 5, 5> ?>.*got<ctnn::Shape<4, 3, 3> ?>
#include <ctnn/ctnn.hpp>
using namespace ctnn;

#ifdef CTNN_KO
constexpr std::size_t kernel = 5;
#else
constexpr std::size_t kernel = 3;
#endif

using Model = Sequential<backend::eigen, Input<1, 28, 28>, Conv2d<1, 4, 3, 1, 1>, MaxPool2d<2>, MaxPool2d<2>, MaxPool2d<2>,
                         Conv2d<4, 4, kernel>, Flatten>;

int main() {
  Model model{manual_seed(0)};
  return static_cast<int>(Model::parameter_count == 0);
}
