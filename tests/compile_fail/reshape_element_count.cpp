// reshape and view keep the number of elements: 7 values cannot be seen as a [2, 4] tensor. PyTorch
// finds out at run time ("shape '[2, 4]' is invalid for input of size 7"); here the compiler names
// both shapes.
// expect-error: RESHAPE_CHANGES_THE_NUMBER_OF_ELEMENTS<ctnn::Shape<7>, ctnn::Shape<2, 4> ?>
#include <ctnn/ctnn.hpp>
using namespace ctnn;

int main() {
  auto x = arange<float, 1, 8>();
#ifdef CTNN_KO
  auto y = x.reshape<2, 4>();
#else
  auto y = x.reshape<1, 7>();
#endif
  return y.numel == 7 ? 0 : 1;
}
