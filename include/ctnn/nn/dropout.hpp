#pragma once
// Dropout<P>: in training, zeroes each value with probability P and scales the rest by 1 / (1 - P)
// (inverted dropout, as PyTorch), so evaluation is the identity. Dropout2d<P> does the same to whole
// channels of a [C, H, W] sample (PyTorch's nn.Dropout2d on [N, C, H, W]). Each layer draws its masks
// from its own stream forked from the model's generator: same seed, same masks.
#include <cstdint>
#include <string>

#include "../core/config.hpp"
#include "layer.hpp"

namespace ctnn {

// The probability is a template argument: Dropout<0.25>. Compilers with floating-point template
// parameters (g++, nvcc, clang 18+) take it as a double; clang before 18 has none, and there the
// literal converts to a structural type holding parts per million.
struct probability {
  std::uint32_t per_million;
  constexpr probability(double p) : per_million(static_cast<std::uint32_t>(p * 1e6 + 0.5)) {
    if (p < 0.0 || p > 1.0) throw "ctnn: a probability must be in [0, 1]";  // a compile error in constant evaluation
  }
  constexpr double value() const { return per_million / 1e6; }
};
#if defined(__clang__) && !defined(__CUDACC__) && __clang_major__ < 18
using probability_parameter = probability;
#else
using probability_parameter = double;
#endif
constexpr double probability_value(double p) { return p; }
constexpr double probability_value(probability p) { return p.value(); }

namespace detail {
// Values times mask. At namespace scope: a device backend launches kernels with it, and CUDA does not
// allow a class-private type there.
struct multiply_values {
  template <class T>
  CTNN_HD T operator()(T a, T b) const { return a * b; }
};
}  // namespace detail

template <probability_parameter Probability = 0.5>
struct Dropout {
  static constexpr double P = probability_value(Probability);
  static_assert(P >= 0.0 && P <= 1.0, "ctnn: Dropout<P> needs a probability P in [0, 1]");
  static constexpr std::string_view type_name = "Dropout";
  static std::string repr() { return cat("Dropout(p=", P, ", inplace=False)"); }

  template <class S>
  static constexpr bool accepts = true;
  template <class S>
  using expected_input = S;
  template <class S>
  using output = S;

  template <class S, Backend B, fixed_string Path>
  class bound : public leaf_layer<Dropout, S, S, B, Path>, public no_parameters {
    using base = leaf_layer<Dropout, S, S, B, Path>;
    using typename base::ops;
    using typename base::scalar;

   public:
    explicit bound(Generator& g) : generator_(g.fork()) {}

    const Batch<S, B>& forward(const Batch<S, B>& x, bool training) {
      this->prepare_output(x);
      masked_ = training && P > 0.0;
      if (!masked_) {
        ops::copy(x.size(), x.data(), this->y_.data());
        return this->y_;
      }
      mask_.resize(x.batch_size());
      const scalar keep_value = P < 1.0 ? static_cast<scalar>(1.0 / (1.0 - P)) : scalar(0);
      ops::fill_bernoulli(x.size(), mask_.data(), 1.0 - P, keep_value, generator_);
      ops::zip(x.size(), x.data(), mask_.data(), this->y_.data(), detail::multiply_values{});
      return this->y_;
    }

    const Batch<S, B>& backward(const Batch<S, B>& x, const scalar* dy) {
      this->prepare_input_grad(x);
      if (masked_) ops::zip(x.size(), dy, mask_.data(), this->dx_.data(), detail::multiply_values{});
      else ops::copy(x.size(), dy, this->dx_.data());
      return this->dx_;
    }

   private:
    Generator generator_;
    Batch<S, B> mask_;
    bool masked_ = false;
  };
};

// Dropout2d<P>: one Bernoulli draw per (sample, channel), the same counter-based stream as Dropout's
// (the same masks on every backend).
template <probability_parameter Probability = 0.5>
struct Dropout2d {
  static constexpr double P = probability_value(Probability);
  static_assert(P >= 0.0 && P <= 1.0, "ctnn: Dropout2d<P> needs a probability P in [0, 1]");
  static constexpr std::string_view type_name = "Dropout2d";
  static std::string repr() { return cat("Dropout2d(p=", P, ", inplace=False)"); }

  template <class S>
  static constexpr bool accepts = S::rank == 3;
  template <class S>
  using expected_input = Shape<S::size, 1, 1>;  // shown when the input is not [C, H, W]
  template <class S>
  using output = S;

  template <class S, Backend B, fixed_string Path>
  class bound : public leaf_layer<Dropout2d, S, S, B, Path>, public no_parameters {
    using base = leaf_layer<Dropout2d, S, S, B, Path>;
    using typename base::ops;
    using typename base::scalar;
    static constexpr std::size_t channels = S::dims[0];
    static constexpr std::size_t plane = S::size / channels;

   public:
    explicit bound(Generator& g) : generator_(g.fork()) {}

    const Batch<S, B>& forward(const Batch<S, B>& x, bool training) {
      const std::size_t n = this->prepare_output(x);
      masked_ = training && P > 0.0;
      if (!masked_) {
        ops::copy(x.size(), x.data(), this->y_.data());
        return this->y_;
      }
      if (channel_mask_.size() < n * channels) channel_mask_.resize(n * channels);
      if (ones_.size() < plane) {
        ones_.resize(plane);
        ops::fill(plane, ones_.data(), scalar(1));
      }
      mask_.resize(n);
      const scalar keep_value = P < 1.0 ? static_cast<scalar>(1.0 / (1.0 - P)) : scalar(0);
      ops::fill_bernoulli(n * channels, channel_mask_.data(), 1.0 - P, keep_value, generator_);
      // Each channel's value spread over its plane: the outer product [n C, 1] x [1, H W] is a gemm of
      // depth 1, which every backend has (no broadcasting op is needed for one layer).
      ops::gemm(false, false, n * channels, plane, 1, scalar(1), channel_mask_.data(), ones_.data(), scalar(0),
                mask_.data());
      ops::zip(x.size(), x.data(), mask_.data(), this->y_.data(), detail::multiply_values{});
      return this->y_;
    }

    const Batch<S, B>& backward(const Batch<S, B>& x, const scalar* dy) {
      this->prepare_input_grad(x);
      if (masked_) ops::zip(x.size(), dy, mask_.data(), this->dx_.data(), detail::multiply_values{});
      else ops::copy(x.size(), dy, this->dx_.data());
      return this->dx_;
    }

   private:
    Generator generator_;
    buffer_t<B> channel_mask_;
    buffer_t<B> ones_;
    Batch<S, B> mask_;
    bool masked_ = false;
  };
};

}  // namespace ctnn
