// A Residual whose stride-2 body halves the map while its identity shortcut keeps it: the sum is
// undefined, and torchvision's BasicBlock would need its `downsample` projection here.
// expect-error: RESIDUAL_SHAPES_DIFFER<.*("layer2\.0"|layer_path<'l', 'a', 'y', 'e', 'r', '2', '\.', '0'>).*body<ctnn::Shape<8, 3, 3> ?>.*shortcut<ctnn::Shape<4, 6, 6> ?>
#include <ctnn/ctnn.hpp>
using namespace ctnn;

using Body = Block<Named<"conv1", Conv2d<4, 8, 3, 2, 1>>, Named<"bn1", BatchNorm2d<8>>, ReLU,
                   Named<"conv2", Conv2d<8, 8, 3, 1, 1>>, Named<"bn2", BatchNorm2d<8>>>;
#ifdef CTNN_KO
using Shortcut = Identity;
#else
using Shortcut = Named<"downsample", Block<Conv2d<4, 8, 1, 2>, BatchNorm2d<8>>>;
#endif

using Model = Sequential<backend::eigen, Input<4, 6, 6>, Named<"layer2", Block<Residual<Body, Shortcut, ReLU>>>>;

int main() {
  Model model{manual_seed(0)};
  return static_cast<int>(Model::parameter_count == 0);
}
