#pragma once
// InferenceContext: what one thread needs to run a trained model, apart from the model's parameters.
//
//   const TinyVGG& model = ...;                 // trained, shared by every thread, not copied
//   auto ctx = model.context();                 // per thread: activations and workspaces
//   const auto& logits = model.infer(x, ctx);   // eval-mode forward (same as ctx.forward(x))
//
// A layer keeps its activations and workspaces beside its parameters, so a model cannot run two
// forwards at once. A context is a copy of the model's layers whose parameters (and their gradients)
// refer to the model's memory instead of duplicating it (parameter_storage); only activations,
// workspaces and buffers (running statistics: small, copied when the context is made, so make
// contexts after training or loading a checkpoint) are its own. Contexts of one model may run on as
// many threads as there are contexts, each context on one thread at a time; the model itself must not
// be trained or loaded into while they run (as torch.no_grad inference on a module that nobody changes).
// The result is the model's own eval-mode forward, bit for bit (tests/parallel/test_inference_context.cpp).
//
// Kernels inside one forward may still split work over OpenMP threads (ctnn::set_num_threads); a
// server that runs a context per thread usually wants set_num_threads(1) on each of them.
#include <utility>

#include "../core/error.hpp"
#include "../tensor/batch.hpp"
#include "parameter.hpp"

namespace ctnn {

template <class Body>
class InferenceContext {
 public:
  using backend_type = typename Body::backend_type;
  using input_shape = typename Body::input_shape;
  using output_shape = typename Body::output_shape;
  using input_batch = Batch<input_shape, backend_type>;
  using output_batch = Batch<output_shape, backend_type>;

  // Shares body's parameters (see Sequential::context()).
  explicit InferenceContext(const Body& body) : body_(share(body)) {}

  // The eval-mode forward of the model (dropout off, running statistics); the result lives in the
  // context until its next forward.
  const output_batch& forward(const input_batch& x) {
    if (x.batch_size() == 0) throw error("InferenceContext::forward: the batch is empty");
    return body_.forward(x, false);
  }
  const output_batch& operator()(const input_batch& x) { return forward(x); }

  // The parameters as the context sees them: the model's own (same memory).
  template <class F>
  void visit_parameters(F&& f) {
    body_.visit_parameters(f);
  }

 private:
  static Body share(const Body& body) {
    detail::share_parameters_on_copy sharing;
    return Body(body);
  }

  Body body_;
};

}  // namespace ctnn
