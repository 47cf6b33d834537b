// Linear applied to an image without Flatten: the error shows the 3-d shape it received.
// expect-error: LAYER_INPUT_SHAPE_MISMATCH<.*("0"|layer_path<'0'>).*Linear<784, 10(, true)?>.*expects<ctnn::Shape<784> ?>.*got<ctnn::Shape<1, 28, 28> ?>
#include <ctnn/ctnn.hpp>
using namespace ctnn;

#ifdef CTNN_KO
using Model = Sequential<backend::eigen, Input<1, 28, 28>, Linear<784, 10>>;
#else
using Model = Sequential<backend::eigen, Input<1, 28, 28>, Flatten, Linear<784, 10>>;
#endif

int main() {
  Model model{manual_seed(0)};
  return static_cast<int>(Model::parameter_count != 7850);
}
