#pragma once
// The op set every backend implements, each op with its exact signature: the one list layers, losses
// and optimizers may call (no layer branches on the backend), checked where a backend tag is used
// (the `Backend` concept, backend.hpp). A backend that lacks an op, or declares it with another
// signature, stops at its first use with the op's name in the first error line:
//
//   error: invalid application of 'sizeof' to incomplete type 'ctnn::diagnostic::BACKEND_MISSING_OP<
//          my_backend, ctnn::diagnostic::op::avgpool_backward>'
//
// (The op is a tag type named after it, not a string template argument: clang 14 prints those as
// character codes, {{97, 118, ...}}.)
//
// Argument order, for every op: sizes or geometry first, then the inputs (read), then the outputs
// (written, in-out buffers included), then the options (scalars, functors, the generator). gemm keeps
// the BLAS order. Pointers are backend memory (to_host/from_host's host side excepted), row-major, and
// sizes are element counts. Templated ops (fill, copy, to_host, from_host for the scalar and int64_t
// labels; map and zip for any functor) are checked on one instantiation each.
//
// Adding an op: its line in CTNN_BACKEND_OP_SET below, its plain loop in host_ops.hpp (the reference
// backend, and the Eigen backend unless it overrides it), its functor and launch in device_ops.hpp
// (Thrust and CUDA). Nothing else.
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "../core/error.hpp"
#include "../core/fixed_string.hpp"
#include "../core/random.hpp"

namespace ctnn::backend {

// The shape of a 2-d convolution, PyTorch's Conv2d arguments spelt out per axis: input [C, H, W], OC
// output channels, a KH x KW kernel whose taps lie DH / DW apart (dilation), moved SH / SW at a time
// over the input padded with PH rows and PW columns of zeros on each side; `groups` splits the input and
// output channels into that many independent convolutions (weights [OC, C / groups, KH, KW]); output
// [OC, Ho, Wo] with Ho = (H + 2 PH - DH (KH - 1) - 1) / SH + 1 (conv_output_size).
struct conv_geometry {
  std::size_t C, H, W, OC, KH, KW, SH, SW, PH, PW, DH, DW, groups, Ho, Wo;
};

// The shape of a 2-d pooling: C planes of H x W, a KH x KW window of taps DH / DW apart moved SH / SW at
// a time, PH rows and PW columns of padding on each side, output planes of Ho x Wo.
struct pool_geometry {
  std::size_t C, H, W, KH, KW, SH, SW, PH, PW, DH, DW, Ho, Wo;
};

// PyTorch's output size of a window sliding over one axis (floor mode): 0 when the dilated window does
// not fit in the padded input.
// AdaptiveAvgPool2d's window over one axis for output o of `out` from `in` positions: [first, last).
constexpr std::size_t adaptive_first(std::size_t o, std::size_t in, std::size_t out) { return o * in / out; }
constexpr std::size_t adaptive_last(std::size_t o, std::size_t in, std::size_t out) {
  return ((o + 1) * in + out - 1) / out;
}

constexpr std::size_t conv_output_size(std::size_t in, std::size_t k, std::size_t stride, std::size_t pad,
                                       std::size_t dilation = 1) {
  const std::size_t span = dilation * (k - 1) + 1;
  return in + 2 * pad >= span ? (in + 2 * pad - span) / stride + 1 : 0;
}

// Functor types the map/zip lines are checked with (any functor of floats or doubles will do).
struct probe_unary {
  template <class T>
  T operator()(T x) const { return x; }
};
struct probe_binary {
  template <class T>
  T operator()(T a, T) const { return a; }
};

// X(op, signature) for every op, S being the backend's scalar.
// clang-format off
#define CTNN_BACKEND_OP_SET(X, S)                                                                          \
  /* storage: n values; to_host's destination and from_host's source are host memory */                    \
  X(fill,                 void(std::size_t n, S* x, S value))                                                  \
  X(fill,                 void(std::size_t n, std::int64_t* x, std::int64_t value))                            \
  X(copy,                 void(std::size_t n, const S* src, S* dst))                                           \
  X(copy,                 void(std::size_t n, const std::int64_t* src, std::int64_t* dst))                     \
  X(to_host,              void(std::size_t n, const S* src, S* host_dst))                                      \
  X(to_host,              void(std::size_t n, const std::int64_t* src, std::int64_t* host_dst))                \
  X(from_host,            void(std::size_t n, const S* host_src, S* dst))                                      \
  X(from_host,            void(std::size_t n, const std::int64_t* host_src, std::int64_t* dst))                \
  /* C[m, n] = alpha op(A)[m, k] op(B)[k, n] + beta C (beta 0: C is not read) */                            \
  X(gemm,                 void(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k,        \
                               S alpha, const S* a, const S* b, S beta, S* c))                                 \
  /* y[i] = f(x[i]), y[i] = f(a[i], b[i]); in place allowed */                                              \
  X(map,                  void(std::size_t n, const S* x, S* y, probe_unary f))                                \
  X(zip,                  void(std::size_t n, const S* a, const S* b, S* y, probe_binary f))                   \
  /* the sum in double */                                                                                   \
  X(sum,                  double(std::size_t n, const S* x))                                                   \
  /* y[o, c, i] += bias[c]; grad_bias[c] += sum over o, i of dy[o, c, i] */                                 \
  X(add_bias,             void(std::size_t outer, std::size_t channels, std::size_t inner, const S* bias, S* y)) \
  X(bias_grad,            void(std::size_t outer, std::size_t channels, std::size_t inner, const S* dy,       \
                               S* grad_bias))                                                                  \
  /* rows x cols, one softmax per row; the backward ops take the forward's output y */                      \
  X(softmax_rows,         void(std::size_t rows, std::size_t cols, const S* x, S* y))                          \
  X(log_softmax_rows,     void(std::size_t rows, std::size_t cols, const S* x, S* y))                          \
  X(softmax_backward,     void(std::size_t rows, std::size_t cols, const S* y, const S* dy, S* dx))            \
  X(log_softmax_backward, void(std::size_t rows, std::size_t cols, const S* y, const S* dy, S* dx))            \
  /* class-index losses fused with their gradient: returns the summed loss, grad = dL/dx * grad_scale */    \
  X(cross_entropy,        double(std::size_t rows, std::size_t cols, const S* logits, const std::int64_t* labels, \
                                 S* grad, S grad_scale))                                                       \
  X(nll,                  double(std::size_t rows, std::size_t cols, const S* log_probs,                      \
                                 const std::int64_t* labels, S* grad, S grad_scale))                           \
  /* a batch of n samples; the workspace (conv2d_workspace values) lives from forward to backward; */      \
  /* backward overwrites dx and adds into grad_weight and grad_bias, each skipped when null (without */    \
  /* grad_weight x is not read); forward adds no bias when it is null */                                    \
  X(conv2d_workspace,     std::size_t(const conv_geometry& g, std::size_t n))                                  \
  X(conv2d_forward,       void(const conv_geometry& g, std::size_t n, const S* x, const S* weight,            \
                               const S* bias, S* y, S* workspace))                                             \
  X(conv2d_backward,      void(const conv_geometry& g, std::size_t n, const S* x, const S* dy, const S* weight, \
                               S* dx, S* grad_weight, S* grad_bias, S* workspace))                             \
  /* n samples of g.C planes; argmax: each output's index in its input plane; backward overwrites dx */    \
  X(maxpool_forward,      void(const pool_geometry& g, std::size_t n, const S* x, S* y, std::int32_t* argmax)) \
  X(maxpool_backward,     void(const pool_geometry& g, std::size_t n, const S* dy, const std::int32_t* argmax, \
                               S* dx))                                                                         \
  X(avgpool_forward,      void(const pool_geometry& g, std::size_t n, const S* x, S* y))                       \
  X(avgpool_backward,     void(const pool_geometry& g, std::size_t n, const S* dy, S* dx))                     \
  /* adaptive: output (oh, ow) averages rows [floor(oh H / Ho), ceil((oh + 1) H / Ho)) and the columns */  \
  /* alike, PyTorch's windows; only g's C, H, W, Ho and Wo are read */                                     \
  X(adaptive_avgpool_forward,  void(const pool_geometry& g, std::size_t n, const S* x, S* y))                  \
  X(adaptive_avgpool_backward, void(const pool_geometry& g, std::size_t n, const S* dy, S* dx))                \
  /* batch norm over [outer, channels, inner]: each channel's mean and biased variance (in double); */     \
  /* forward normalises with (mean, var) then scales and shifts (weight, bias null: affine=False);   */     \
  /* backward overwrites dx (skipped when null; batch_stats: mean and var are x's own, so their      */     \
  /* gradient is part of dx) and adds into grad_weight and grad_bias (skipped when null)             */     \
  X(batchnorm_stats,      void(std::size_t outer, std::size_t channels, std::size_t inner, const S* x, S* mean, \
                               S* var))                                                                        \
  X(batchnorm_forward,    void(std::size_t outer, std::size_t channels, std::size_t inner, const S* x,         \
                               const S* mean, const S* var, const S* weight, const S* bias, S* y, S eps))      \
  X(batchnorm_backward,   void(std::size_t outer, std::size_t channels, std::size_t inner, const S* x,         \
                               const S* dy, const S* mean, const S* var, const S* weight, S* dx,               \
                               S* grad_weight, S* grad_bias, S eps, bool batch_stats))                         \
  /* one parameter tensor in place, torch.optim's rules (host_ops.hpp) */                                  \
  X(sgd_update,           void(std::size_t n, const S* grad, S* param, S* momentum_buffer, S lr, S momentum,   \
                               S dampening, S weight_decay, bool nesterov, bool first_step))                   \
  X(adam_update,          void(std::size_t n, const S* grad, S* param, S* m, S* v, S beta1, S beta2, S eps,    \
                               S weight_decay, S step_size, S bias_correction2_sqrt))                          \
  /* adam_update keeping max_v = max(max_v, v) and dividing by its root (amsgrad) */                         \
  X(amsgrad_update,       void(std::size_t n, const S* grad, S* param, S* m, S* v, S* max_v, S beta1, S beta2, \
                               S eps, S weight_decay, S step_size, S bias_correction2_sqrt))                   \
  X(adadelta_update,      void(std::size_t n, const S* grad, S* param, S* square_avg, S* acc_delta, S lr,     \
                               S rho, S eps, S weight_decay))                                                  \
  /* clr: lr / (1 + (step - 1) lr_decay) */                                                                 \
  X(adagrad_update,       void(std::size_t n, const S* grad, S* param, S* state_sum, S clr, S eps,            \
                               S weight_decay))                                                                \
  /* grad_avg null: not centered; momentum_buffer null: momentum 0 */                                       \
  X(rmsprop_update,       void(std::size_t n, const S* grad, S* param, S* square_avg, S* grad_avg,            \
                               S* momentum_buffer, S lr, S alpha, S eps, S weight_decay, S momentum))          \
  /* counter-based random numbers: the same values on every backend */                                    \
  X(fill_uniform,         void(std::size_t n, S* x, double lo, double hi, Generator& g))                       \
  X(fill_normal,          void(std::size_t n, S* x, double mean, double stddev, Generator& g))                 \
  X(fill_bernoulli,       void(std::size_t n, S* x, double keep, S value, Generator& g))
// clang-format on

// Whether O declares static member `op` with exactly this signature.
#define CTNN_DETAIL_HAS_OP(name, ...) requires { static_cast<std::add_pointer_t<__VA_ARGS__>>(&O::name); }
#define CTNN_DETAIL_OP_PRESENT(name, ...) &&(CTNN_DETAIL_HAS_OP(name, __VA_ARGS__))
// One `if constexpr` per op, in a function body: the first missing op's diagnostic is the only one
// instantiated (the branches after it are discarded), and nvcc 13, which cannot mangle a requires-
// expression written as a template argument (std::conjunction<check<(requires ...)>...>), accepts it.
#define CTNN_DETAIL_OP_REQUIRED(name, ...)                                                                  \
  if constexpr (!(CTNN_DETAIL_HAS_OP(name, __VA_ARGS__)))                                                   \
    return !diagnostic::require<false, diagnostic::BACKEND_MISSING_OP<B, diagnostic::op::name>>::value; \
  else

}  // namespace ctnn::backend

// One tag type per op, named after it, for BACKEND_MISSING_OP's second argument.
namespace ctnn::diagnostic::op {
#define CTNN_DETAIL_OP_TAG(name, ...) struct name;
CTNN_BACKEND_OP_SET(CTNN_DETAIL_OP_TAG, float)
#undef CTNN_DETAIL_OP_TAG
}  // namespace ctnn::diagnostic::op

namespace ctnn::diagnostic {
// Backend B's op set (ops<B>) has no op named Op with the signature of backend/op_set.hpp.
template <class B, class Op>
struct BACKEND_MISSING_OP;
}  // namespace ctnn::diagnostic

namespace ctnn::backend {

// An op set for scalar S: every op of CTNN_BACKEND_OP_SET, with its signature.
template <class O, class S>
concept OpSet = true CTNN_BACKEND_OP_SET(CTNN_DETAIL_OP_PRESENT, S);

// The same check for backend tag B (what `Backend` requires), naming the first missing op in its error.
template <class B, class O, class S = typename B::scalar>
consteval bool first_missing_op_reported() {
  CTNN_BACKEND_OP_SET(CTNN_DETAIL_OP_REQUIRED, S)
  return true;
}
template <class B, class O, class S = typename B::scalar>
inline constexpr bool implements_op_set = first_missing_op_reported<B, O, S>();

#undef CTNN_DETAIL_OP_REQUIRED
#undef CTNN_DETAIL_OP_PRESENT
#undef CTNN_DETAIL_HAS_OP

}  // namespace ctnn::backend
