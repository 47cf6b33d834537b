#pragma once
// What every layer is made of.
//
// A layer *spec* (Linear<784, 10>, ReLU, Block<...>) is a type with no data. It says:
//   type_name, repr()                      how PyTorch prints it
//   accepts<In>                            whether it can take per-sample input shape In
//   expected_input<In>                     the shape it wanted instead (for the error message)
//   output<In>                             the shape it produces
//   bound<In, Backend, Path>               the concrete layer: parameters, buffers, forward/backward
//
// A *bound* layer owns its output and its input-gradient buffers, so a network passes references
// from layer to layer and nothing is copied or allocated once the buffers have their size:
//   const Batch<Out, B>& forward(const Batch<In, B>& x, bool training)
//   const Batch<In, B>&  backward(const Batch<In, B>& x, const scalar* dy)   (accumulates parameter grads)
// and, for a layer with parameters, optionally
//   const Batch<In, B>&  backward(const Batch<In, B>& x, const scalar* dy, bool input_grad)
// which with input_grad == false accumulates the parameter gradients only and leaves the returned
// buffer unspecified: a network's first layers need no dL/dx in training (PyTorch's requires_grad=False
// input), and for Linear<784, 256> in a batch of 64 that product is a third of the layer's work.
//   const Batch<Out, B>& output() const
//   void visit_parameters(F f)                                              f(Parameter<B>&)
//   static constexpr std::size_t parameter_count
#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>

#include "../backend/backend.hpp"
#include "../core/error.hpp"
#include "../core/fixed_string.hpp"
#include "../core/random.hpp"
#include "../core/shape.hpp"
#include "../tensor/batch.hpp"
#include "parameter.hpp"

namespace ctnn {

// The part every leaf layer shares: shapes, the output and input-gradient buffers.
template <class Spec, class In, class Out, Backend B, fixed_string Path>
class leaf_layer {
 public:
  using spec = Spec;
  using input_shape = In;
  using output_shape = Out;
  using backend_type = B;
  using ops = backend::ops<B>;
  using scalar = scalar_t<B>;
  static constexpr auto path = Path;

  const Batch<Out, B>& output() const { return y_; }

 protected:
  std::size_t prepare_output(const Batch<In, B>& x) {
    y_.resize(x.batch_size());
    return x.batch_size();
  }
  std::size_t prepare_input_grad(const Batch<In, B>& x) {
    dx_.resize(x.batch_size());
    return x.batch_size();
  }

  Batch<Out, B> y_;
  Batch<In, B> dx_;
};

// For layers without parameters.
struct no_parameters {
  static constexpr std::size_t parameter_count = 0;
  template <class F>
  void visit_parameters(F&&) {}
};

}  // namespace ctnn

// The contract above as concepts, checked where a Sequential binds each layer.
#include "layer_concepts.hpp"
