#pragma once
// BatchNorm1d<N> (input [N] or [N, L]) and BatchNorm2d<C> (input [C, H, W]), PyTorch's layers with its
// defaults and options in its order:
//   BatchNorm2d<C, Eps = 1e-5, Momentum = 0.1, Affine = true, TrackRunningStats = true>
// In training each channel is normalised with the batch's own mean and biased variance, and the running
// statistics move towards the batch's mean and UNBIASED variance (running = (1 - momentum) running +
// momentum batch); in evaluation the running statistics are used. Without TrackRunningStats the batch
// statistics are used in both modes and there are no buffers (PyTorch's running_mean=None). State in
// PyTorch's order: weight, bias (Affine), running_mean, running_var, num_batches_tracked (int64).
// PyTorch's momentum=None (a cumulative average) is not offered.
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <system_error>

#include "../core/config.hpp"
#include "buffer.hpp"
#include "layer.hpp"

namespace ctnn {

// A small positive real as a template argument. As for Dropout's probability (dropout.hpp): a double
// where the compiler has floating-point template parameters, otherwise parts per 10^15 (exact for 1e-5,
// 1e-3 and every momentum PyTorch users write).
struct small_real {
  std::uint64_t per_quadrillion;
  constexpr small_real(double v) : per_quadrillion(static_cast<std::uint64_t>(v * 1e15 + 0.5)) {
    if (v < 0.0 || v > 1.0) throw "ctnn: BatchNorm's eps and momentum must lie in [0, 1]";  // a compile error here
  }
  constexpr double value() const { return static_cast<double>(per_quadrillion) / 1e15; }
};
#if defined(__clang__) && !defined(__CUDACC__) && __clang_major__ < 18
using small_real_parameter = small_real;
#else
using small_real_parameter = double;
#endif
constexpr double small_real_value(double v) { return v; }
constexpr double small_real_value(small_real v) { return v.value(); }

namespace detail {

// Python's repr of a float (what PyTorch's extra_repr prints): the shortest digits that read back,
// in exponent form below 1e-4 and from 1e16 ("1e-05", "0.001", "0.1").
inline std::string python_float(double v) {
  std::array<char, 32> text{};
  const double a = std::abs(v);
  const bool scientific = a != 0.0 && (a < 1e-4 || a >= 1e16);
  const auto r = std::to_chars(text.data(), text.data() + text.size(), v,
                               scientific ? std::chars_format::scientific : std::chars_format::fixed);
  std::string s(text.data(), r.ptr);
  if (!scientific && s.find('.') == std::string::npos) s += ".0";
  return s;
}

// running = (1 - momentum) running + momentum * factor * batch, in double; factor n / (n - 1) makes the
// batch's biased variance unbiased. At namespace scope: device backends launch kernels with it.
struct running_average {
  double momentum, factor;
  template <class T>
  CTNN_HD T operator()(T running, T batch) const {
    return static_cast<T>((1.0 - momentum) * static_cast<double>(running) + momentum * factor * static_cast<double>(batch));
  }
};

// The layer both specs share; Rank is the number of spatial axes PyTorch's name carries (1 or 2).
template <class Spec, std::size_t Rank, std::size_t C, small_real_parameter EpsArg, small_real_parameter MomentumArg,
          bool Affine, bool Track>
struct batch_norm {
  static_assert(C > 0, "ctnn: BatchNorm needs at least one channel");
  static constexpr double Eps = small_real_value(EpsArg), Momentum = small_real_value(MomentumArg);
  static std::string repr() {
    return cat(Spec::type_name, "(", C, ", eps=", python_float(Eps), ", momentum=", python_float(Momentum),
               ", affine=", Affine ? "True" : "False", ", track_running_stats=", Track ? "True" : "False", ")");
  }

  template <class S>
  static constexpr bool accepts = Rank == 1 ? (S::rank == 1 || S::rank == 2) && S::dims[0] == C
                                            : S::rank == 3 && S::dims[0] == C;
  template <class S>
  using expected_input = std::conditional_t<Rank == 1, Shape<C>, Shape<C, (S::rank == 3 ? S::dims[1] : 1),
                                                                        (S::rank == 3 ? S::dims[2] : 1)>>;
  template <class S>
  using output = S;

  template <class S, Backend B, fixed_string Path>
  class bound : public leaf_layer<Spec, S, S, B, Path> {
    using base = leaf_layer<Spec, S, S, B, Path>;
    using typename base::ops;
    using typename base::scalar;
    static constexpr std::size_t inner = S::size / C;  // L, or H * W

   public:
    static constexpr std::size_t parameter_count = Affine ? 2 * C : 0;

    // PyTorch's reset_parameters: weight 1, bias 0 (the generator is not drawn from).
    explicit bound(Generator&) {
      ops::fill(C, weight_.value.data(), scalar(1));
      ops::fill(C, bias_.value.data(), scalar(0));
      mean_.resize(C);
      var_.resize(C);
    }

    const Batch<S, B>& forward(const Batch<S, B>& x, bool training) {
      const std::size_t n = this->prepare_output(x);
      batch_stats_ = training || !Track;
      if (batch_stats_) {
        if (training && n * inner == 1)
          throw error(cat(Path.view().empty() ? std::string_view("BatchNorm") : Path.view(),
                          ": expected more than 1 value per channel when training, got input size ",
                          S::str_with_batch(n)));
        ops::batchnorm_stats(n, C, inner, x.data(), mean_.data(), var_.data());
        if constexpr (Track) {
          if (training) update_running_stats(n * inner);
        }
      }
      const scalar* mean = batch_stats_ ? mean_.data() : running_mean_.value.data();
      const scalar* var = batch_stats_ ? var_.data() : running_var_.value.data();
      ops::batchnorm_forward(n, C, inner, x.data(), mean, var, Affine ? weight_.value.data() : nullptr,
                             Affine ? bias_.value.data() : nullptr, this->y_.data(), scalar(Eps));
      return this->y_;
    }

    // Follows the forward of the same batch (whose statistics it reuses).
    const Batch<S, B>& backward(const Batch<S, B>& x, const scalar* dy, bool input_grad = true) {
      const std::size_t n = this->prepare_input_grad(x);
      const scalar* mean = batch_stats_ ? mean_.data() : running_mean_.value.data();
      const scalar* var = batch_stats_ ? var_.data() : running_var_.value.data();
      const bool learn = Affine && weight_.requires_grad;
      ops::batchnorm_backward(n, C, inner, x.data(), dy, mean, var, Affine ? weight_.value.data() : nullptr,
                              input_grad ? this->dx_.data() : nullptr, learn ? weight_.grad.data() : nullptr,
                              Affine && bias_.requires_grad ? bias_.grad.data() : nullptr, scalar(Eps), batch_stats_);
      return this->dx_;
    }

    template <class F>
    void visit_parameters(F&& f) {
      if constexpr (Affine) {
        f(weight_);
        f(bias_);
      }
    }
    template <class F>
    void visit_buffers(F&& f) {
      if constexpr (Track) {
        f(running_mean_);
        f(running_var_);
        f(num_batches_tracked_);
      }
    }

   private:
    void update_running_stats(std::size_t values_per_channel) {
      const double unbiased = values_per_channel > 1
                                  ? static_cast<double>(values_per_channel) / static_cast<double>(values_per_channel - 1)
                                  : 1.0;
      ops::zip(C, running_mean_.value.data(), mean_.data(), running_mean_.value.data(), running_average{Momentum, 1.0});
      ops::zip(C, running_var_.value.data(), var_.data(), running_var_.value.data(), running_average{Momentum, unbiased});
      std::int64_t count = 0;
      ops::to_host(1, num_batches_tracked_.value.data(), &count);
      ++count;
      ops::from_host(1, &count, num_batches_tracked_.value.data());
    }

    // Without Affine (or TrackRunningStats) these are never visited and hold C values unused.
    Parameter<B> weight_{parameter_name(Path.view(), "weight"), {C}};
    Parameter<B> bias_{parameter_name(Path.view(), "bias"), {C}};
    Buffer<B> running_mean_{parameter_name(Path.view(), "running_mean"), {C}, scalar(0)};
    Buffer<B> running_var_{parameter_name(Path.view(), "running_var"), {C}, scalar(1)};
    Buffer<B, std::int64_t> num_batches_tracked_{parameter_name(Path.view(), "num_batches_tracked"), {}, 0};
    buffer_t<B> mean_, var_;  // the last training forward's batch statistics
    bool batch_stats_ = true;  // whether the last forward normalised with mean_ and var_
  };
};

}  // namespace detail

template <std::size_t NumFeatures, small_real_parameter Eps = 1e-5, small_real_parameter Momentum = 0.1,
          bool Affine = true, bool TrackRunningStats = true>
struct BatchNorm1d : detail::batch_norm<BatchNorm1d<NumFeatures, Eps, Momentum, Affine, TrackRunningStats>, 1,
                                        NumFeatures, Eps, Momentum, Affine, TrackRunningStats> {
  static constexpr std::string_view type_name = "BatchNorm1d";
};

template <std::size_t NumFeatures, small_real_parameter Eps = 1e-5, small_real_parameter Momentum = 0.1,
          bool Affine = true, bool TrackRunningStats = true>
struct BatchNorm2d : detail::batch_norm<BatchNorm2d<NumFeatures, Eps, Momentum, Affine, TrackRunningStats>, 2,
                                        NumFeatures, Eps, Momentum, Affine, TrackRunningStats> {
  static constexpr std::string_view type_name = "BatchNorm2d";
};

}  // namespace ctnn
