// A Conv2d whose in-channels differ from the channels the previous layer produces.
// expect-error: LAYER_INPUT_SHAPE_MISMATCH<.*("conv_block_2\.0"|layer_path<'c', 'o', 'n', 'v', '_', 'b', 'l', 'o', 'c', 'k', '_', '2', '\.', '0'>).*Conv2d<3, 10, 3, 1, 1>.*expects<ctnn::Shape<3, 14, 14> ?>.*got<ctnn::Shape<10, 14, 14> ?>
#include <ctnn/ctnn.hpp>
using namespace ctnn;

#ifdef CTNN_KO
constexpr std::size_t in_channels = 3;
#else
constexpr std::size_t in_channels = 10;
#endif

using Model = Sequential<backend::eigen, Input<1, 28, 28>,
    Named<"conv_block_1", Block<Conv2d<1, 10, 3, 1, 1>, ReLU, MaxPool2d<2>>>,
    Named<"conv_block_2", Block<Conv2d<in_channels, 10, 3, 1, 1>, ReLU, MaxPool2d<2>>>,
    Named<"classifier", Block<Flatten, Linear<10 * 7 * 7, 10>>>>;

int main() {
  Model model{manual_seed(0)};
  return static_cast<int>(Model::parameter_count == 0);
}
