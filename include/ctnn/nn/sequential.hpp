#pragma once
// Sequential<Backend, Input<C, H, W>, Layers...>: a whole network as a type.
//
//   using TinyVGG = Sequential<backend::eigen, Input<1, 28, 28>,
//       Named<"conv_block_1", Block<Conv2d<1, 10, 3, 1, 1>, ReLU, Conv2d<10, 10, 3, 1, 1>, ReLU, MaxPool2d<2>>>,
//       ...>;
//   TinyVGG model{manual_seed(42)};
//   const auto& logits = model.forward(x);     // x: Batch<Shape<1, 28, 28>>
//   model.zero_grad();
//   model.backward(loss.grad());               // returns the gradient w.r.t. x
//   model.backward(loss.grad(), InputGrad::skip);  // parameter gradients only (a training step)
//
// With ctnn::set_detect_anomaly(true) (anomaly.hpp) forward and backward check every layer's output and
// gradients for NaN and infinity and throw at the first, naming the layer's path and the step.
//
// Every shape is checked when the type is formed; at run time only the batch size varies.
//
// State (state_dict.hpp): state_dict() holds every parameter and buffer (buffer.hpp), by PyTorch's
// names; load_state_dict(state, {.strict, .prefix, .submodule}) loads it as torch.nn.Module does and
// returns the missing and unexpected keys of a non-strict load. requires_grad_(false) freezes every
// parameter (parameter.hpp).
#include <cstddef>
#include <iomanip>
#include <ostream>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "block.hpp"
#include "buffer.hpp"
#include "inference_context.hpp"
#include "state_dict.hpp"

namespace ctnn {

// The per-sample input shape of a network.
template <std::size_t... Dims>
struct Input {
  using shape = Shape<Dims...>;
};

// Whether Sequential::backward computes dL/d(input). A training step does not need it (PyTorch's input
// has requires_grad=False), and skipping it saves the first layer's largest product.
enum class InputGrad { compute, skip };

template <class T>
struct is_input : std::false_type {};
template <std::size_t... D>
struct is_input<Input<D...>> : std::true_type {};

// A parameter as an optimizer or a checkpoint sees it.
template <Backend B>
using ParameterRef = Parameter<B>*;

template <Backend B, class In, class... Layers>
class Sequential {
  static_assert(is_input<In>::value,
                "ctnn: the second argument of Sequential<Backend, Input<...>, Layers...> must be Input<dims...>, "
                "the per-sample input shape, e.g. Input<1, 28, 28>");
  using body_type = typename Block<Layers...>::template bound<typename In::shape, B, "">;

 public:
  using backend_type = B;
  using scalar = scalar_t<B>;
  using input_shape = typename In::shape;
  using output_shape = typename body_type::output_shape;
  using input_batch = Batch<input_shape, B>;
  using output_batch = Batch<output_shape, B>;
  static constexpr std::size_t parameter_count = body_type::parameter_count;

  explicit Sequential(Generator& g = default_generator()) : body_(g) {}

  // Runs the network; the result lives in the model until the next forward. x must stay alive and
  // unchanged until backward (it is not copied).
  const output_batch& forward(const input_batch& x) {
    if (x.batch_size() == 0) throw error("Sequential::forward: the batch is empty");
    input_ = &x;
    if (is_anomaly_enabled()) return forward_checked(x);
    return body_.forward(x, training_);
  }
  const output_batch& operator()(const input_batch& x) { return forward(x); }

  // Any other batch is a mistake the compiler reports by name: a batch of another backend
  // (PyTorch's "Expected all tensors to be on the same device") or of another per-sample shape.
  template <class S, class B2, class T>
    requires(!std::is_same_v<Batch<S, B2, T>, input_batch>)
  const output_batch& forward(const Batch<S, B2, T>&) {
    static_assert(diagnostic::require<std::is_same_v<B2, B>, diagnostic::TENSORS_ON_DIFFERENT_BACKENDS<
                                                                 diagnostic::lhs<B>, diagnostic::rhs<B2>>>::value);
    static_assert(diagnostic::require<!std::is_same_v<B2, B> || std::is_same_v<S, input_shape>,
                                      diagnostic::MODEL_INPUT_SHAPE_MISMATCH<diagnostic::expects<input_shape>,
                                                                             diagnostic::got<S>>>::value);
    // Only once backend and shape are right, or a wrong shape would also be reported as a wrong type.
    static_assert(!std::is_same_v<B2, B> || !std::is_same_v<S, input_shape> || dependent_false<T>,
                  "ctnn: the batch's value type is not the backend's scalar type");
    return output();
  }

  // Back-propagates dL/d(output) of the last forward, accumulates parameter gradients and returns
  // dL/d(input) (with InputGrad::skip: not computed, and an empty batch is returned).
  const input_batch& backward(const output_batch& dy, InputGrad input_grad = InputGrad::compute) {
    return backward(GradientView<B>{dy.data(), dy.batch_size(), output_shape::size}, input_grad);
  }
  const input_batch& backward(const GradientView<B>& dy, InputGrad input_grad = InputGrad::compute) {
    if (!input_) throw error("Sequential::backward: called before forward");
    if (dy.per_sample != output_shape::size)
      throw error(cat("Sequential::backward: the gradient has ", dy.per_sample, " values per sample but the output ",
                      output_shape::str(), " has ", output_shape::size));
    if (dy.batch_size != input_->batch_size())
      throw error(cat("Sequential::backward: the gradient is for a batch of ", dy.batch_size,
                      " but the last forward saw a batch of ", input_->batch_size()));
    ++steps_;
    if (is_anomaly_enabled()) return backward_checked(dy, input_grad);
    if (input_grad == InputGrad::skip) {
      body_.backward(*input_, dy.data, false);
      return no_input_grad_;
    }
    return body_.backward(*input_, dy.data, true);
  }

  const output_batch& output() const { return body_.output(); }

  // Inference on many threads without copying the weights (inference_context.hpp): each thread makes
  // its own context, then infer(x, ctx) is this model's eval-mode forward, bit for bit.
  using context_type = InferenceContext<body_type>;
  context_type context() const { return context_type(body_); }
  const output_batch& infer(const input_batch& x, context_type& ctx) const { return ctx.forward(x); }

  // Backward calls so far: the training step that anomaly mode's messages name (the forward of step k
  // is the one after k - 1 backward calls; see anomaly.hpp).
  std::size_t steps() const { return steps_; }

  void zero_grad() {
    visit_parameters([](Parameter<B>& p) { p.zero_grad(); });
  }
  void train(bool on = true) { training_ = on; }
  void eval() { training_ = false; }
  bool is_training() const { return training_; }

  template <class F>
  void visit_parameters(F&& f) {
    body_.visit_parameters(f);
  }
  std::vector<ParameterRef<B>> parameters() {
    std::vector<ParameterRef<B>> out;
    visit_parameters([&](Parameter<B>& p) { out.push_back(&p); });
    return out;
  }

  // Buffers (running statistics and counters), in layer order; f takes Buffer<B>& and
  // Buffer<B, std::int64_t>&.
  template <class F>
  void visit_buffers(F&& f) {
    body_.visit_buffers(f);
  }
  // Parameters and buffers in PyTorch's state_dict order (each layer's parameters, then its buffers).
  template <class FP, class FB>
  void visit_state(FP&& on_parameter, FB&& on_buffer) {
    body_.visit_state(on_parameter, on_buffer);
  }

  // PyTorch's model.requires_grad_(False): freezes (or unfreezes) every parameter.
  Sequential& requires_grad_(bool on = true) {
    visit_parameters([&](Parameter<B>& p) { p.requires_grad = on; });
    return *this;
  }

  // PyTorch's state_dict: names ("conv_block_1.0.weight", "1.running_mean"), shapes (OIHW) and values
  // of every parameter and buffer, copied to the host.
  StateDict<scalar> state_dict() { return detail::collect_state<scalar>(*this); }

  // Loads parameters and buffers from `state` (matching rules in state_dict.hpp). Checks everything
  // first and changes nothing unless the load is valid; strict (the default) throws unless every key
  // matches, otherwise the keys that did not are returned.
  IncompatibleKeys load_state_dict(const StateDict<scalar>& state, const LoadOptions& options = {}) {
    return detail::load_state(*this, state, options, "load_state_dict");
  }

  // torchinfo-style table of each layer's output shape and parameter count for a batch size. As in
  // torchinfo, parameters with requires_grad == false are "Non-trainable params" (a layer whose
  // parameters are all frozen shows its count in parentheses) and buffers are not counted at all.
  std::string summary(std::size_t batch_size = 1, std::string_view title = "Sequential") const {
    std::vector<SummaryRow> rows;
    body_type::summary_rows(rows, 1, batch_size);
    std::size_t trainable = 0;
    std::unordered_map<std::string, std::size_t> trainable_in;  // layer path -> trainable values
    // Visiting only reads here; it is not const because the layers' visit_parameters are not.
    const_cast<Sequential&>(*this).visit_parameters([&](Parameter<B>& p) {
      const std::size_t dot = p.name.rfind('.');
      auto& n = trainable_in[dot == std::string::npos ? std::string() : p.name.substr(0, dot)];
      if (p.requires_grad) {
        n += p.size();
        trainable += p.size();
      }
    });
    std::ostringstream os;
    const std::string rule(86, '='), thin(86, '-');
    auto line = [&](std::string layer, const std::string& shape, const std::string& params) {
      os << std::left << std::setw(46) << layer << std::setw(26) << shape << params << "\n";
    };
    os << rule << "\n";
    line("Layer (type)", "Output Shape", "Param #");
    os << rule << "\n";
    line(std::string(title), output_shape::str_with_batch(batch_size), thousands(parameter_count));
    for (const auto& r : rows) {
      std::string params = r.is_container ? "--" : thousands(r.parameters);
      if (!r.is_container && r.parameters > 0 && trainable_in[r.name] == 0) params = "(" + params + ")";  // frozen
      line(std::string(2 * r.depth, ' ') + r.name + " (" + r.type_name + ")", r.output, params);
    }
    os << rule << "\n";
    os << "Total params: " << thousands(parameter_count) << "\n";
    os << "Trainable params: " << thousands(trainable) << "\n";
    os << "Non-trainable params: " << thousands(parameter_count - trainable) << "\n";
    os << "Input size (MB): " << mb(input_shape::size * batch_size) << "\n";
    std::size_t activations = 0;
    for (const auto& r : rows)
      if (!r.is_container) activations += r.output_size * batch_size;
    os << "Forward/backward pass size (MB): " << mb(2 * activations) << "\n";
    os << "Params size (MB): " << mb(parameter_count) << "\n";
    os << thin << "\n";
    return os.str();
  }

  // PyTorch's repr of the model, e.g. "Sequential(\n  (0): Flatten(start_dim=1, end_dim=-1)\n ...)".
  std::string repr(std::string_view title = "Sequential") const {
    std::ostringstream os;
    body_type::print(os, title, 0);
    return os.str();
  }
  friend std::ostream& operator<<(std::ostream& os, const Sequential& m) { return os << m.repr(); }

  // Direct access to the layers (body().template get<0>()) for tests and surgery.
  body_type& body() { return body_; }

 private:
  static std::string thousands(std::size_t v) {
    const std::string digits = std::to_string(v);
    std::string s;
    for (std::size_t i = 0; i < digits.size(); ++i) {
      if (i > 0 && (digits.size() - i) % 3 == 0) s += ',';
      s += digits[i];
    }
    return s;
  }
  static std::string mb(std::size_t values) {
    std::ostringstream os;
    os << std::fixed << std::setprecision(2) << static_cast<double>(values * sizeof(scalar)) / 1e6;
    return os.str();
  }

  // Anomaly mode (set_detect_anomaly): the model's input, then every layer on the way.
  const output_batch& forward_checked(const input_batch& x) {
    const std::size_t step = steps_ + 1;
    detail::check_batch(x, step, "forward", [] { return std::string("the model's input"); });
    return body_.forward_checked(x, training_, step);
  }
  const input_batch& backward_checked(const GradientView<B>& dy, InputGrad input_grad) {
    const std::size_t n = dy.batch_size * dy.per_sample;
    if (const std::size_t i = detail::first_non_finite<B>(dy.data, n); i != n)
      detail::throw_anomaly(steps_, "backward", "the gradient handed to backward (dL/d output, from the loss)",
                            detail::value_at<B>(dy.data, i),
                            detail::index_string(i, detail::batch_dims<output_shape>(dy.batch_size)));
    if (input_grad == InputGrad::skip) {
      body_.backward_checked(*input_, dy.data, false, steps_);
      return no_input_grad_;
    }
    return body_.backward_checked(*input_, dy.data, true, steps_);
  }

  body_type body_;
  const input_batch* input_ = nullptr;
  std::size_t steps_ = 0;  // backward calls
  input_batch no_input_grad_;  // backward's result with InputGrad::skip (empty)
  bool training_ = true;
};

}  // namespace ctnn
