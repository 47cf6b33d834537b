// Elementwise arithmetic needs tensors of one shape (there is no broadcasting but for numbers and
// 0-dim tensors): [3] + [4] names both shapes instead of PyTorch's run-time "The size of tensor a (3)
// must match the size of tensor b (4) at non-singleton dimension 0".
// expect-error: ELEMENTWISE_SHAPES_DIFFER<ctnn::diagnostic::lhs<ctnn::Shape<3> ?>, ctnn::diagnostic::rhs<ctnn::Shape<4> ?> ?>
#include <ctnn/ctnn.hpp>
using namespace ctnn;

int main() {
  Tensor<Shape<3>> a{1, 2, 3};
#ifdef CTNN_KO
  Tensor<Shape<4>> b{1, 2, 3, 4};
#else
  Tensor<Shape<3>> b{1, 2, 3};
#endif
  auto c = a + b;
  return c.numel == 3 ? 0 : 1;
}
