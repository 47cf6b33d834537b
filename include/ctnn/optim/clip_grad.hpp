#pragma once
// Gradient clipping, torch.nn.utils.clip_grad_norm_ and clip_grad_value_ (PyTorch 1.13), over a list of
// parameters (model.parameters(), or opt.parameters()); frozen parameters (requires_grad false, whose
// grad is None in torch) are left out of the norm and left alone:
//   model.backward(loss_fn.grad());
//   const double total_norm = optim::clip_grad_norm_(model.parameters(), 1.0);  // norm_type 2
//   optim::clip_grad_value_(model.parameters(), 0.5);
//   opt.step();
// clip_grad_norm_ returns the total norm of all the gradients together (the norm of the per-parameter
// norms, as torch computes it) and scales every gradient by min(1, max_norm / (total_norm + 1e-6)).
// The sums are done in double through the backend's map and sum ops (the infinity norm reads the
// gradients on the host), so it runs on every backend.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include "../core/config.hpp"
#include "../core/error.hpp"
#include "../nn/parameter.hpp"

namespace ctnn::optim {

namespace detail {

template <class S>
struct abs_pow {
  S p;
  CTNN_HD S operator()(S x) const {
    const S a = x < S(0) ? -x : x;
    return p == S(2) ? a * a : (p == S(1) ? a : std::pow(a, p));
  }
};
template <class S>
struct clamp_to {
  S lo, hi;
  CTNN_HD S operator()(S x) const { return x < lo ? lo : (x > hi ? hi : x); }
};
template <class S>
struct times {
  S factor;
  CTNN_HD S operator()(S x) const { return x * factor; }
};

}  // namespace detail

// norm_type: any p > 0, or std::numeric_limits<double>::infinity(). error_if_nonfinite as torch: throw
// (gradients untouched) when the total norm is nan or inf.
template <Backend B>
double clip_grad_norm_(const std::vector<Parameter<B>*>& parameters, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false) {
  using S = scalar_t<B>;
  using ops = backend::ops<B>;
  std::vector<Parameter<B>*> params;
  for (auto* p : parameters)
    if (p && p->requires_grad) params.push_back(p);
  if (params.empty()) return 0.0;
  const bool inf = std::isinf(norm_type);
  if (!inf && !(norm_type > 0)) throw error(cat("clip_grad_norm_: invalid norm_type ", norm_type));
  double total = 0;
  if (inf) {
    for (auto* p : params) {
      std::vector<S> g(p->size());
      ops::to_host(g.size(), p->grad.data(), g.data());
      for (S v : g) total = std::max(total, static_cast<double>(v < S(0) ? -v : v));
    }
  } else {
    std::size_t largest = 0;
    for (auto* p : params) largest = std::max(largest, p->size());
    buffer_t<B> scratch;
    scratch.resize(largest);
    for (auto* p : params) {
      ops::map(p->size(), p->grad.data(), scratch.data(), detail::abs_pow<S>{static_cast<S>(norm_type)});
      const double norm = std::pow(ops::sum(p->size(), scratch.data()), 1.0 / norm_type);
      total += std::pow(norm, norm_type);
    }
    total = std::pow(total, 1.0 / norm_type);
  }
  if (error_if_nonfinite && !std::isfinite(total))
    throw error(cat("clip_grad_norm_: the total norm of order ", norm_type,
                    " for gradients from `parameters` is non-finite, so it cannot be clipped. To disable this "
                    "error and scale the gradients by the non-finite norm anyway, set `error_if_nonfinite=False`"));
  const double coef = std::min(max_norm / (total + 1e-6), 1.0);
  for (auto* p : params) ops::map(p->size(), p->grad.data(), p->grad.data(), detail::times<S>{static_cast<S>(coef)});
  return total;
}

// Clamps every gradient value into [-clip_value, clip_value].
template <Backend B>
void clip_grad_value_(const std::vector<Parameter<B>*>& parameters, double clip_value) {
  using S = scalar_t<B>;
  if (!(clip_value >= 0)) throw error(cat("clip_grad_value_: clip_value must be non-negative, got ", clip_value));
  const auto c = static_cast<S>(clip_value);
  for (auto* p : parameters)
    if (p && p->requires_grad)
      backend::ops<B>::map(p->size(), p->grad.data(), p->grad.data(), detail::clamp_to<S>{-c, c});
}

}  // namespace ctnn::optim
