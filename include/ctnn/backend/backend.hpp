#pragma once
// A backend is a tag type naming a scalar and where memory lives, plus one specialisation of
// ctnn::backend::ops<Tag> that implements a small, closed set of operations. Layers and losses call
// only these operations, so a new backend (Thrust, CUDA) is a new ops<> specialisation and nothing
// else: no layer ever branches on the backend.
//
// The op set (pointers are backend memory, row-major, sizes are element counts):
//   storage      buffer<T> (resize/data/size), fill, copy, to_host, from_host
//   GEMM         gemm(trans_a, trans_b, m, n, k, alpha, A, B, beta, C)   C = alpha op(A) op(B) + beta C
//   elementwise  map(n, x, y, f), zip(n, a, b, y, f)                      f is a small functor
//   reductions   sum, add_bias/bias_grad (per channel), softmax/log_softmax rows and their
//                backward, argmax_rows, cross_entropy/nll (fused loss + gradient)
//   convolution  conv2d_workspace(geometry, n), conv2d_forward, conv2d_backward (the whole batch, with a
//                workspace the layer keeps from forward to backward); im2col, col2im (one sample)
//   pooling      maxpool_forward (records argmax), maxpool_backward
//   RNG          fill_uniform, fill_normal, fill_bernoulli (counter-based: same numbers everywhere)
//   optimizers   sgd_update(n, param, grad, momentum_buffer, ...), adam_update(n, param, grad, m, v, ...)
//                (one parameter tensor in place, torch.optim's update rules)
#include <concepts>
#include <cstddef>
#include <string_view>

#include "../core/error.hpp"

namespace ctnn::backend {

// The shape of a 2-d convolution: input [C, H, W], OC output channels, K x K kernel, output [OC, Ho, Wo].
struct conv_geometry {
  std::size_t C, H, W, OC, K, stride, pad, Ho, Wo;
};

// Float, on the CPU, through Eigen's GEMM. The default.
struct eigen {
  using scalar = float;
  static constexpr bool host_memory = true;
  static constexpr std::string_view name = "eigen";
};

// Double, on the CPU, in plain loops: slow and obviously right. Serves the gradient checks and
// keeps the backend interface honest.
struct reference {
  using scalar = double;
  static constexpr bool host_memory = true;
  static constexpr std::string_view name = "reference";
};

// The op set of backend Tag. Each backend header specialises it; using a backend whose header was
// not included (or that implements nothing) stops here with a sentence instead of pages of errors.
template <class Tag>
struct ops {
  static_assert(dependent_false<Tag>,
                "ctnn: this backend has no ops<> specialisation: include its header "
                "(ctnn/backend/<name>.hpp) or specialise ctnn::backend::ops for it");
};

}  // namespace ctnn::backend

namespace ctnn {

// What a backend tag must provide to run a network.
template <class B>
concept Backend = requires(typename backend::ops<B>::template buffer<typename B::scalar>& storage) {
  typename B::scalar;
  { B::host_memory } -> std::convertible_to<bool>;
  { B::name } -> std::convertible_to<std::string_view>;
  storage.resize(std::size_t{1});
  { storage.data() } -> std::convertible_to<const typename B::scalar*>;
};

template <class B>
using scalar_t = typename B::scalar;

template <class B, class T = scalar_t<B>>
using buffer_t = typename backend::ops<B>::template buffer<T>;

}  // namespace ctnn
