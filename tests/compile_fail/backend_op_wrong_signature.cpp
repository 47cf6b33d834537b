// A backend op declared with another signature than the op set's (here max pooling's pre-pool_geometry
// seven loose sizes) hides the right one; the backend is refused where its tag is first used, naming the op.
// expect-error: BACKEND_MISSING_OP<toy_backend, ctnn::diagnostic::op::maxpool_forward>
#include <ctnn/ctnn.hpp>
using namespace ctnn;

struct toy_backend {
  using scalar = float;
  static constexpr bool host_memory = true;
  static constexpr std::string_view name = "toy";
};

template <>
struct ctnn::backend::ops<toy_backend> : host_ops<float> {
#ifdef CTNN_KO
  static void maxpool_forward(const float* x, std::size_t planes, std::size_t H, std::size_t W, std::size_t K,
                              std::size_t stride, std::size_t pad, std::size_t Ho, std::size_t Wo, float* y,
                              std::int32_t* argmax) {
    host_ops<float>::maxpool_forward({planes, H, W, K, K, stride, stride, pad, pad, 1, 1, Ho, Wo}, 1, x, y, argmax);
  }
#endif
};

using Model = Sequential<toy_backend, Input<1, 4, 4>, MaxPool2d<2>, Flatten>;

int main() {
  Model model{manual_seed(0)};
  return static_cast<int>(Model::parameter_count != 0);
}
