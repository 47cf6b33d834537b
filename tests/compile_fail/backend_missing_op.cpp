// A backend whose op set lacks one op (here avgpool_backward) stops where the tag is first used, with the
// op's name in the first error, not deep inside the layer that would have called it.
// expect-error: BACKEND_MISSING_OP<toy_backend, ctnn::diagnostic::op::avgpool_backward>
#include <ctnn/ctnn.hpp>
using namespace ctnn;

// A host backend of its own: host_ops' loops, re-exported one by one (a user's backend would implement
// them), plus its own buffer type.
struct toy_backend {
  using scalar = float;
  static constexpr bool host_memory = true;
  static constexpr std::string_view name = "toy";
};

template <>
struct ctnn::backend::ops<toy_backend> : private host_ops<float> {
  using host_ops<float>::scalar;
  template <class T>
  using buffer = host_buffer<T>;
  using host_ops<float>::fill;
  using host_ops<float>::copy;
  using host_ops<float>::to_host;
  using host_ops<float>::from_host;
  using host_ops<float>::gemm;
  using host_ops<float>::map;
  using host_ops<float>::zip;
  using host_ops<float>::sum;
  using host_ops<float>::add_bias;
  using host_ops<float>::bias_grad;
  using host_ops<float>::softmax_rows;
  using host_ops<float>::log_softmax_rows;
  using host_ops<float>::softmax_backward;
  using host_ops<float>::log_softmax_backward;
  using host_ops<float>::cross_entropy;
  using host_ops<float>::nll;
  using host_ops<float>::conv2d_workspace;
  using host_ops<float>::conv2d_forward;
  using host_ops<float>::conv2d_backward;
  using host_ops<float>::maxpool_forward;
  using host_ops<float>::maxpool_backward;
  using host_ops<float>::avgpool_forward;
#ifndef CTNN_KO
  using host_ops<float>::avgpool_backward;
#endif
  using host_ops<float>::adaptive_avgpool_forward;
  using host_ops<float>::adaptive_avgpool_backward;
  using host_ops<float>::batchnorm_stats;
  using host_ops<float>::batchnorm_forward;
  using host_ops<float>::batchnorm_backward;
  using host_ops<float>::sgd_update;
  using host_ops<float>::adam_update;
  using host_ops<float>::amsgrad_update;
  using host_ops<float>::adadelta_update;
  using host_ops<float>::adagrad_update;
  using host_ops<float>::rmsprop_update;
  using host_ops<float>::fill_uniform;
  using host_ops<float>::fill_normal;
  using host_ops<float>::fill_bernoulli;
};

using Model = Sequential<toy_backend, Input<1, 4, 4>, AvgPool2d<2>, Flatten>;

int main() {
  Model model{manual_seed(0)};
  return static_cast<int>(Model::parameter_count != 0);
}
