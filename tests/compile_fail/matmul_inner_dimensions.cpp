// The tutorial's shape error: (3, 2) @ (3, 2) has inner dimensions 2 and 3. PyTorch says so at run
// time ("mat1 and mat2 shapes cannot be multiplied (3x2 and 3x2)"); here the compiler names both
// shapes. The fix is the tutorial's: multiply by the transpose, (3, 2) @ (2, 3).
// expect-error: MATMUL_INNER_DIMENSIONS_DIFFER<ctnn::diagnostic::lhs<ctnn::Shape<3, 2> ?>, ctnn::diagnostic::rhs<ctnn::Shape<3, 2> ?> ?>
#include <ctnn/ctnn.hpp>
using namespace ctnn;

int main() {
  Tensor<Shape<3, 2>> tensor_A{{1, 2}, {3, 4}, {5, 6}};
  Tensor<Shape<3, 2>> tensor_B{{7, 10}, {8, 11}, {9, 12}};
#ifdef CTNN_KO
  auto product = matmul(tensor_A, tensor_B);
#else
  auto product = matmul(tensor_A, tensor_B.T());
#endif
  return product.numel == 9 ? 0 : 1;
}
