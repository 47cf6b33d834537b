#pragma once
// Anomaly detection, like torch.autograd.set_detect_anomaly(True): off by default; when on,
// Sequential::forward and Sequential::backward check, layer by layer, every output, every input
// gradient and every parameter gradient (and the model's input, the gradient handed to backward and
// each loss value) for NaN and infinity, and stop at the first with a ctnn::error that names where:
//
//   ctnn::set_detect_anomaly(true);             // global, for every model and thread
//   { ctnn::detect_anomaly guard; ... }         // or on for a scope (the previous setting comes back)
//
//   ctnn: detect_anomaly: step 3, forward: the output of conv_block_2.0 (Conv2d(10, 10, kernel_size=(3, 3),
//         stride=(1, 1), padding=(1, 1))) holds inf at [0, 4, 2, 5]
//   ctnn: detect_anomaly: step 3, backward: classifier.1.weight.grad (of classifier.1: Linear(in_features=490,
//         out_features=10, bias=True)) holds nan at [7, 12]
//   ctnn: detect_anomaly: step 3, backward: the input gradient of conv_block_2.0 (Conv2d(...)) holds ...
//   ctnn: detect_anomaly: step 3, forward: the model's input holds nan at [1, 0, 2, 3]
//   ctnn: detect_anomaly: step 3, backward: the gradient handed to backward (dL/d output, from the loss) ...
//   ctnn: detect_anomaly: CrossEntropyLoss: the loss is inf
//
// The index is [sample, dims...] (a parameter's own shape for its gradient). The path is the one
// state_dict uses, the layer as print(model) shows it; the step counts the model's backward calls
// (Sequential::steps(); the forward of step k comes after k - 1 backward calls). Backward checks each
// layer's parameter gradients, then its input gradient, from the last layer down, so the first report
// is the layer where the anomaly appeared (a NaN input gradient of layer i would poison the parameter
// gradients of layer i - 1).
//
// Cost. Off: one relaxed atomic load per forward and per backward; the checked walk is a separate
// instantiation, nothing else changes. On: one ops::sum per tensor checked (a sum accumulated in double
// is finite exactly when every value is finite, unless the double itself overflows, which the host
// rescan that locates the value rules out), so it works on every backend, allocates nothing while all
// is finite and reads device memory only through ops::sum and, once something is found, ops::to_host.
// A TinyVGG training step (batch 32, backend::eigen, one thread) took about 1.6x as long with it on:
// like PyTorch's anomaly mode, it is for finding a bug, not for production runs.
#include <atomic>
#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "../backend/backend.hpp"
#include "../core/error.hpp"

namespace ctnn {

namespace detail {
inline std::atomic<bool>& anomaly_flag() {
  static std::atomic<bool> flag{false};
  return flag;
}
}  // namespace detail

// torch.autograd.set_detect_anomaly(mode) and torch.is_anomaly_enabled().
inline void set_detect_anomaly(bool on) noexcept { detail::anomaly_flag().store(on, std::memory_order_relaxed); }
inline bool is_anomaly_enabled() noexcept { return detail::anomaly_flag().load(std::memory_order_relaxed); }

// torch.autograd.detect_anomaly(): on (or off, with false) until the end of the scope.
class detect_anomaly {
 public:
  explicit detect_anomaly(bool on = true) noexcept
      : previous_(detail::anomaly_flag().exchange(on, std::memory_order_relaxed)) {}
  ~detect_anomaly() { set_detect_anomaly(previous_); }
  detect_anomaly(const detect_anomaly&) = delete;
  detect_anomaly& operator=(const detect_anomaly&) = delete;

 private:
  bool previous_;
};

namespace detail {

// "[3, 0, 2, 5]": flat index i of a row-major tensor of shape dims.
inline std::string index_string(std::size_t i, const std::vector<std::size_t>& dims) {
  std::vector<std::size_t> idx(dims.size());
  for (std::size_t d = dims.size(); d-- > 0;) {
    const std::size_t extent = dims[d] ? dims[d] : 1;
    idx[d] = i % extent;
    i /= extent;
  }
  std::string s = "[";
  for (std::size_t d = 0; d < idx.size(); ++d) s += (d ? ", " : "") + std::to_string(idx[d]);
  return s + "]";
}

template <class S>
std::vector<std::size_t> batch_dims(std::size_t batch) {
  std::vector<std::size_t> dims{batch};
  dims.insert(dims.end(), S::dims.begin(), S::dims.end());
  return dims;
}

// Copies n values of backend memory to the host (error paths only).
template <Backend B, class T>
std::vector<T> host_copy(const T* data, std::size_t n) {
  std::vector<T> out(n);
  if (n) backend::ops<B>::to_host(n, data, out.data());
  return out;
}

// Index of the first NaN or infinity among n values of backend memory, or n if all are finite: one
// ops::sum when they are, a host copy only when they are not.
template <Backend B, class T>
std::size_t first_non_finite(const T* data, std::size_t n) {
  if (n == 0 || std::isfinite(backend::ops<B>::sum(n, data))) return n;
  const auto host = host_copy<B>(data, n);
  for (std::size_t i = 0; i < n; ++i)
    if (!std::isfinite(host[i])) return i;
  return n;  // finite values whose sum overflowed the double
}

template <Backend B, class T>
std::string value_at(const T* data, std::size_t i) {
  T v{};
  backend::ops<B>::to_host(1, data + i, &v);
  return cat(v);
}

// The layer's path (as in state_dict) and the layer as print(model) shows it.
template <class Layer>
std::string layer_path() {
  const std::string path(Layer::path.view());
  return path.empty() ? std::string("<model>") : path;
}
template <class Layer>
std::string layer_repr() {
  using spec = typename Layer::spec;
  if constexpr (requires { spec::repr(); }) return spec::repr();
  else return std::string(spec::type_name);
}
template <class Layer>
std::string layer_label() {
  return cat(layer_path<Layer>(), " (", layer_repr<Layer>(), ")");
}

[[noreturn]] inline void throw_anomaly(std::size_t step, std::string_view pass, const std::string& what,
                                       const std::string& value, const std::string& index) {
  throw error(cat("detect_anomaly: step ", step, ", ", pass, ": ", what, " holds ", value, " at ", index));
}

// Throws if the batch holds NaN or infinity; describe() (called only then) says whose values they are.
template <class BatchT, class Describe>
void check_batch(const BatchT& b, std::size_t step, std::string_view pass, Describe&& describe) {
  using B = typename BatchT::backend_type;
  const std::size_t i = first_non_finite<B>(b.data(), b.size());
  if (i == b.size()) return;
  throw_anomaly(step, pass, describe(), value_at<B>(b.data(), i),
                index_string(i, batch_dims<typename BatchT::shape>(b.batch_size())));
}

// The output of a layer after its forward, its input gradient after its backward.
template <class Layer, class BatchT>
void check_output(const BatchT& y, std::size_t step) {
  check_batch(y, step, "forward", [] { return "the output of " + layer_label<Layer>(); });
}
template <class Layer, class BatchT>
void check_input_grad(const BatchT& dx, std::size_t step) {
  check_batch(dx, step, "backward", [] { return "the input gradient of " + layer_label<Layer>(); });
}

// The parameter gradients of one layer, after its backward.
template <class Layer>
void check_parameter_grads(Layer& layer, std::size_t step) {
  using B = typename Layer::backend_type;
  if constexpr (Layer::parameter_count > 0) {
    layer.visit_parameters([&](auto& p) {
      const std::size_t i = first_non_finite<B>(p.grad.data(), p.size());
      if (i == p.size()) return;
      throw_anomaly(step, "backward", cat(p.name, ".grad (of ", layer_path<Layer>(), ": ", layer_repr<Layer>(), ")"),
                    value_at<B>(p.grad.data(), i),
                    index_string(i, p.shape));
    });
  }
}

}  // namespace detail
}  // namespace ctnn
