#pragma once
// A test-only layer with buffers, shaped like PyTorch's BatchNorm1d(C) so that its state_dict has
// BatchNorm's keys and dtypes: parameters weight [C] and bias [C], float buffers running_mean [C]
// (starts at 0) and running_var [C] (starts at 1), and the int64 buffer num_batches_tracked [].
// It is not BatchNorm: forward always normalises with the running statistics (BatchNorm's eval
// formula, y = (x - running_mean) / sqrt(running_var + eps) * weight + bias), and in training it first
// updates them from the batch exactly as BatchNorm1d does (momentum 0.1, unbiased batch variance,
// num_batches_tracked += 1). So eval outputs and running statistics can be checked against PyTorch,
// and backward (the statistics held constant) against finite differences.
// Computed on the host through to_host/from_host, so it runs on every backend.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <ctnn/nn.hpp>

namespace ctnn_test {

template <std::size_t C>
struct TrackedNorm1d {
  static constexpr std::string_view type_name = "TrackedNorm1d";
  static std::string repr() { return ctnn::cat("TrackedNorm1d(", C, ", eps=1e-05, momentum=0.1)"); }

  template <class S>
  static constexpr bool accepts = std::is_same_v<S, ctnn::Shape<C>>;
  template <class S>
  using expected_input = ctnn::Shape<C>;
  template <class S>
  using output = ctnn::Shape<C>;

  template <class S, ctnn::Backend B, ctnn::fixed_string Path>
  class bound : public ctnn::leaf_layer<TrackedNorm1d, ctnn::Shape<C>, ctnn::Shape<C>, B, Path> {
    using base = ctnn::leaf_layer<TrackedNorm1d, ctnn::Shape<C>, ctnn::Shape<C>, B, Path>;
    using typename base::scalar;
    using batch = ctnn::Batch<ctnn::Shape<C>, B>;
    static constexpr double eps = 1e-5, momentum = 0.1;

   public:
    static constexpr std::size_t parameter_count = 2 * C;

    explicit bound(ctnn::Generator&) {
      weight_.values_from_host(std::vector<scalar>(C, scalar(1)));  // BatchNorm's reset_parameters
      bias_.values_from_host(std::vector<scalar>(C, scalar(0)));
    }

    const batch& forward(const batch& x, bool training) {
      const std::size_t n = x.batch_size();
      const auto xs = x.to_host();
      auto mean = running_mean_.values_to_host(), var = running_var_.values_to_host();
      if (training) {
        for (std::size_t c = 0; c < C; ++c) {
          double m = 0, ss = 0;
          for (std::size_t i = 0; i < n; ++i) m += static_cast<double>(xs[i * C + c]);
          m /= static_cast<double>(n);
          for (std::size_t i = 0; i < n; ++i) ss += std::pow(static_cast<double>(xs[i * C + c]) - m, 2);
          const double unbiased = n > 1 ? ss / static_cast<double>(n - 1) : 0.0;
          mean[c] = static_cast<scalar>((1 - momentum) * static_cast<double>(mean[c]) + momentum * m);
          var[c] = static_cast<scalar>((1 - momentum) * static_cast<double>(var[c]) + momentum * unbiased);
        }
        running_mean_.values_from_host(mean);
        running_var_.values_from_host(var);
        auto count = num_batches_tracked_.values_to_host();
        ++count[0];
        num_batches_tracked_.values_from_host(count);
      }
      const auto w = weight_.values_to_host(), b = bias_.values_to_host();
      std::vector<scalar> y(xs.size());
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t c = 0; c < C; ++c)
          y[i * C + c] = static_cast<scalar>((static_cast<double>(xs[i * C + c]) - static_cast<double>(mean[c])) /
                                                 std::sqrt(static_cast<double>(var[c]) + eps) * static_cast<double>(w[c]) +
                                             static_cast<double>(b[c]));
      this->y_ = batch::from_host(std::span<const scalar>(y));
      return this->y_;
    }

    const batch& backward(const batch& x, const scalar* dy) {
      const std::size_t n = x.batch_size();
      const auto xs = x.to_host();
      std::vector<scalar> g(n * C);
      ctnn::backend::ops<B>::to_host(n * C, dy, g.data());
      const auto mean = running_mean_.values_to_host(), var = running_var_.values_to_host();
      const auto w = weight_.values_to_host();
      auto gw = weight_.grad_to_host(), gb = bias_.grad_to_host();
      std::vector<scalar> dx(n * C);
      for (std::size_t c = 0; c < C; ++c) {
        const double inv = 1 / std::sqrt(static_cast<double>(var[c]) + eps);
        double sw = 0, sb = 0;
        for (std::size_t i = 0; i < n; ++i) {
          const double d = static_cast<double>(g[i * C + c]);
          sw += d * (static_cast<double>(xs[i * C + c]) - static_cast<double>(mean[c])) * inv;
          sb += d;
          dx[i * C + c] = static_cast<scalar>(d * static_cast<double>(w[c]) * inv);
        }
        gw[c] = static_cast<scalar>(static_cast<double>(gw[c]) + sw);
        gb[c] = static_cast<scalar>(static_cast<double>(gb[c]) + sb);
      }
      weight_.grad_from_host(gw);
      bias_.grad_from_host(gb);
      this->dx_ = batch::from_host(std::span<const scalar>(dx));
      return this->dx_;
    }

    template <class F>
    void visit_parameters(F&& f) {
      f(weight_);
      f(bias_);
    }
    template <class F>
    void visit_buffers(F&& f) {
      f(running_mean_);
      f(running_var_);
      f(num_batches_tracked_);
    }

   private:
    ctnn::Parameter<B> weight_{ctnn::parameter_name(Path.view(), "weight"), {C}};
    ctnn::Parameter<B> bias_{ctnn::parameter_name(Path.view(), "bias"), {C}};
    ctnn::Buffer<B> running_mean_{ctnn::parameter_name(Path.view(), "running_mean"), {C}, scalar(0)};
    ctnn::Buffer<B> running_var_{ctnn::parameter_name(Path.view(), "running_var"), {C}, scalar(1)};
    ctnn::Buffer<B, std::int64_t> num_batches_tracked_{ctnn::parameter_name(Path.view(), "num_batches_tracked"), {}, 0};
  };
};

}  // namespace ctnn_test
