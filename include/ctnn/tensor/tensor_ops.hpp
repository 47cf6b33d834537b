#pragma once
// Operations on several Tensors (tensor.hpp): matmul, stack, cat, equal, allclose, and printing in
// PyTorch's format. All of them return new tensors; shape mistakes are compile errors.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <ostream>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include "../core/error.hpp"
#include "../core/shape.hpp"
#include "tensor_class.hpp"

namespace ctnn {

// ---- matmul --------------------------------------------------------------------------------------
namespace detail {

// C[m, n] = A[m, k] B[k, n], row-major and packed: Eigen's GEMM for float and double, loops otherwise.
template <class T>
void matmul_kernel(std::size_t m, std::size_t n, std::size_t k, const T* a, const T* b, T* c) {
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
    using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const auto M = static_cast<Eigen::Index>(m), N = static_cast<Eigen::Index>(n), K = static_cast<Eigen::Index>(k);
    Eigen::Map<Matrix>(c, M, N).noalias() = Eigen::Map<const Matrix>(a, M, K) * Eigen::Map<const Matrix>(b, K, N);
  } else {
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        T acc = 0;
        for (std::size_t p = 0; p < k; ++p) acc = add{}(acc, mul{}(a[i * k + p], b[p * n + j]));
        c[i * n + j] = acc;
      }
  }
}

template <class S1, class S2>
struct matmul_shapes {
  static constexpr bool supported = S1::rank >= 1 && S1::rank <= 2 && S2::rank >= 1 && S2::rank <= 2;
  static constexpr std::size_t m = S1::rank == 2 ? S1::dims[0] : 1;
  static constexpr std::size_t k_lhs = supported ? S1::dims[S1::rank - 1] : 0;
  static constexpr std::size_t k_rhs = supported ? S2::dims[0] : 0;
  static constexpr std::size_t n = S2::rank == 2 ? S2::dims[S2::rank - 1] : 1;
  // (m, k) @ (k, n) -> (m, n); a 1-D operand contributes no dimension: (k) @ (k) is a 0-dim tensor.
  using result = std::conditional_t<
      S1::rank == 2, std::conditional_t<S2::rank == 2, Shape<m, n>, Shape<m>>,
      std::conditional_t<S2::rank == 2, Shape<n>, Shape<>>>;
};

}  // namespace detail

// torch.matmul / @ for 1-D and 2-D tensors: (m, k) @ (k, n) -> (m, n), (m, k) @ (k) -> (m),
// (k) @ (k, n) -> (n), (k) @ (k) -> 0-dim (the dot product). Inner dimensions are checked at compile
// time: (3, 2) @ (3, 2) is MATMUL_INNER_DIMENSIONS_DIFFER<lhs<Shape<3, 2>>, rhs<Shape<3, 2>>>.
template <class S1, class T1, class B1, class S2, class T2, class B2>
auto matmul(const Tensor<S1, T1, B1>& a, const Tensor<S2, T2, B2>& b) {
  using shapes = detail::matmul_shapes<S1, S2>;
  if constexpr (!std::is_same_v<B1, B2>) {
    static_assert(diagnostic::require<std::is_same_v<B1, B2>,
                                      diagnostic::TENSORS_ON_DIFFERENT_BACKENDS<diagnostic::lhs<B1>, diagnostic::rhs<B2>>>::value);
    return a;
  } else if constexpr (!std::is_same_v<T1, T2>) {
    static_assert(dependent_false<T1, T2>, "ctnn: matmul of tensors of different dtypes; convert one first: b.to<float>()");
    return a;
  } else if constexpr (!shapes::supported) {
    static_assert(dependent_false<S1, S2>,
                  "ctnn: matmul takes 1-D and 2-D tensors (multiply by a number or a 0-dim tensor with *)");
    return a;
  } else {
    static_assert(diagnostic::require<shapes::k_lhs == shapes::k_rhs,
                                      diagnostic::MATMUL_INNER_DIMENSIONS_DIFFER<diagnostic::lhs<S1>, diagnostic::rhs<S2>>>::value);
    Tensor<typename shapes::result, T1, B1> out;
    if constexpr (shapes::k_lhs == shapes::k_rhs)
      detail::matmul_kernel(shapes::m, shapes::n, shapes::k_lhs, a.data(), b.data(), out.data());
    return out;
  }
}

// ---- stack and cat ------------------------------------------------------------------------------------

// torch.stack: same-shaped tensors along a new dimension Dim (0 <= Dim <= ndim):
// stack<0>(x, x, x, x) of [7] is [4, 7]; stack<1>(...) is [7, 4]. A new tensor.
template <std::size_t Dim = 0, class S, class T, class B, class... Rest>
auto stack(const Tensor<S, T, B>& first, const Rest&... rest) {
  using First = Tensor<S, T, B>;
  if constexpr (!(std::is_same_v<Rest, First> && ...)) {
    static_assert((std::is_same_v<Rest, First> && ...),
                  "ctnn: stack<Dim>(a, b, ...) needs tensors of one shape, dtype and backend");
    return first;
  } else if constexpr (Dim > S::rank) {
    static_assert(Dim <= S::rank, "ctnn: stack<Dim>(): Dim must be at most ndim");
    return first;
  } else {
    constexpr std::size_t n = 1 + sizeof...(Rest);
    constexpr std::size_t outer = detail::product(S::dims.data(), Dim), inner = S::size / (outer ? outer : 1);
    const T* sources[] = {first.data(), rest.data()...};
    Tensor<shape::insert<S, Dim, n>, T, B> out;
    for (std::size_t o = 0; o < outer; ++o)
      for (std::size_t j = 0; j < n; ++j) std::copy_n(sources[j] + o * inner, inner, out.data() + (o * n + j) * inner);
    return out;
  }
}
template <std::size_t Dim = 0, class S, class T, class B, std::size_t N>
auto stack(const std::array<Tensor<S, T, B>, N>& tensors) {
  static_assert(N > 0, "ctnn: stack of no tensors");
  return std::apply([](const auto&... t) { return stack<Dim>(t...); }, tensors);
}

namespace detail {
template <std::size_t Dim, class S1, class S2>
constexpr bool cat_compatible() {
  if (S1::rank != S2::rank || Dim >= S1::rank) return false;
  for (std::size_t d = 0; d < S1::rank; ++d)
    if (d != Dim && S1::dims[d] != S2::dims[d]) return false;
  return true;
}
}  // namespace detail

// torch.cat: tensors joined along an existing dimension Dim; their shapes agree except in Dim.
// cat<0>([2, 3], [4, 3]) is [6, 3]. A new tensor.
template <std::size_t Dim = 0, class S, class T, class B, class... Rest>
auto cat(const Tensor<S, T, B>& first, const Rest&... rest) {
  if constexpr (!(TensorType<Rest> && ...)) {
    static_assert((TensorType<Rest> && ...), "ctnn: cat<Dim>(a, b, ...) takes tensors");
    return first;
  } else if constexpr (Dim >= S::rank) {
    static_assert(Dim < S::rank, "ctnn: cat<Dim>(): Dim is not a dimension of the tensors");
    return first;
  } else if constexpr (!((std::is_same_v<typename Rest::value_type, T> && std::is_same_v<typename Rest::backend_type, B>) &&
                         ...)) {
    static_assert(dependent_false<Rest...>, "ctnn: cat<Dim>(a, b, ...) needs tensors of one dtype and backend");
    return first;
  } else if constexpr (!(detail::cat_compatible<Dim, S, typename Rest::shape>() && ...)) {
    static_assert(dependent_false<Rest...>,
                  "ctnn: cat<Dim>(a, b, ...): the shapes must have the same rank and agree in every dimension but Dim");
    return first;
  } else {
    constexpr std::size_t total = S::dims[Dim] + (std::size_t{0} + ... + Rest::shape::dims[Dim]);
    constexpr std::size_t outer = detail::product(S::dims.data(), Dim);
    constexpr std::size_t inner = ctnn::shape::strides<S>()[Dim];
    Tensor<shape::replace<S, Dim, total>, T, B> out;
    std::size_t at = 0;  // where the current tensor's block starts within a row of the output
    auto put = [&](const T* src, std::size_t size) {
      const std::size_t chunk = size * inner;
      for (std::size_t o = 0; o < outer; ++o) std::copy_n(src + o * chunk, chunk, out.data() + o * total * inner + at);
      at += chunk;
    };
    put(first.data(), S::dims[Dim]);
    (put(rest.data(), Rest::shape::dims[Dim]), ...);
    return out;
  }
}

// ---- comparison -----------------------------------------------------------------------------------------

// torch.equal: the same shape and the same values (compared after the usual arithmetic conversions).
// Tensors of different shapes are simply not equal.
template <class S1, class T1, class B1, class S2, class T2, class B2>
bool equal(const Tensor<S1, T1, B1>& a, const Tensor<S2, T2, B2>& b) {
  static_assert(diagnostic::require<std::is_same_v<B1, B2>,
                                    diagnostic::TENSORS_ON_DIFFERENT_BACKENDS<diagnostic::lhs<B1>, diagnostic::rhs<B2>>>::value);
  if constexpr (!std::is_same_v<S1, S2>) {
    return false;
  } else {
    using C = std::common_type_t<T1, T2>;
    for (std::size_t i = 0; i < S1::size; ++i)
      if (static_cast<C>(a.data()[i]) != static_cast<C>(b.data()[i])) return false;
    return true;
  }
}

// torch.allclose: |a - b| <= atol + rtol * |b| everywhere (NaN is never close). Same shape required.
template <class S1, class T1, class B1, class S2, class T2, class B2>
bool allclose(const Tensor<S1, T1, B1>& a, const Tensor<S2, T2, B2>& b, double rtol = 1e-5, double atol = 1e-8) {
  if constexpr (!std::is_same_v<B1, B2>) {
    static_assert(diagnostic::require<std::is_same_v<B1, B2>,
                                      diagnostic::TENSORS_ON_DIFFERENT_BACKENDS<diagnostic::lhs<B1>, diagnostic::rhs<B2>>>::value);
    return false;
  } else if constexpr (!std::is_same_v<S1, S2>) {
    static_assert(diagnostic::require<std::is_same_v<S1, S2>,
                                      diagnostic::ELEMENTWISE_SHAPES_DIFFER<diagnostic::lhs<S1>, diagnostic::rhs<S2>>>::value);
    return false;
  } else {
    for (std::size_t i = 0; i < S1::size; ++i) {
      const auto x = static_cast<double>(a.data()[i]), y = static_cast<double>(b.data()[i]);
      if (x == y) continue;  // equal infinities
      if (!(std::abs(x - y) <= atol + rtol * std::abs(y))) return false;
    }
    return true;
  }
}

// ---- printing, as PyTorch's repr ------------------------------------------------------------------------
namespace detail::print {

// PyTorch's print options: precision 4, threshold 1000 (more elements are summarized with "..."),
// edgeitems 3, linewidth 80.
inline constexpr int precision = 4;
inline constexpr std::size_t threshold = 1000, edgeitems = 3, linewidth = 80;

inline std::string printf_double(const char* format, int digits, double v) {
  const int n = std::snprintf(nullptr, 0, format, digits, v);
  std::string s(static_cast<std::size_t>(n), '\0');
  std::snprintf(s.data(), s.size() + 1, format, digits, v);
  return s;
}
// Python's "{:.Nf}" / "{:.Ne}" (nan and inf spelled as Python does).
inline std::string python_format(double v, int digits, bool scientific) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return printf_double(scientific ? "%.*e" : "%.*f", digits, v);
}

// torch._tensor_str._Formatter for floating-point values.
struct float_formatter {
  bool int_mode = true, sci_mode = false;
  std::size_t width = 1;

  explicit float_formatter(const std::vector<double>& values) {
    std::vector<double> nonzero_finite;
    for (double v : values)
      if (std::isfinite(v) && v != 0) nonzero_finite.push_back(v);
    if (nonzero_finite.empty()) return;
    double lo = std::abs(nonzero_finite[0]), hi = lo;
    for (double v : nonzero_finite) {
      lo = std::min(lo, std::abs(v));
      hi = std::max(hi, std::abs(v));
      if (v != std::ceil(v)) int_mode = false;
    }
    if (int_mode) {
      sci_mode = hi / lo > 1000.0 || hi > 1.0e8;
      for (double v : nonzero_finite)
        width = std::max(width, sci_mode ? python_format(v, precision, true).size() : python_format(v, 0, false).size() + 1);
    } else {
      sci_mode = hi / lo > 1000.0 || hi > 1.0e8 || lo < 1.0e-4;
      for (double v : nonzero_finite) width = std::max(width, python_format(v, precision, sci_mode).size());
    }
  }

  std::string operator()(double v) const {
    std::string s;
    if (sci_mode) s = python_format(v, precision, true);
    else if (int_mode) s = python_format(v, 0, false) + (std::isfinite(v) ? "." : "");
    else s = python_format(v, precision, false);
    return s.size() < width ? std::string(width - s.size(), ' ') + s : s;
  }
};

template <class T>
std::string integer_text(T v) {
  if constexpr (std::is_signed_v<T>) return std::to_string(static_cast<long long>(v));
  else return std::to_string(static_cast<unsigned long long>(v));
}

template <class T>
struct integer_formatter {
  std::size_t width = 1;
  explicit integer_formatter(const std::vector<T>& values) {
    for (T v : values) width = std::max(width, integer_text(v).size());
  }
  std::string operator()(T v) const {
    const std::string s = integer_text(v);
    return s.size() < width ? std::string(width - s.size(), ' ') + s : s;
  }
};

// Visits the values that are printed (all, or the edge items of each dimension when summarizing),
// in order: torch's get_summarized_data.
template <class T, class F>
void visit_shown(const T* x, const std::size_t* dims, std::size_t rank, bool summarize, F& f) {
  if (rank == 0) {
    f(x[0]);
    return;
  }
  const std::size_t block = product(dims + 1, rank - 1);
  for (std::size_t i = 0; i < dims[0]; ++i) {
    if (summarize && dims[0] > 2 * edgeitems && i == edgeitems) i = dims[0] - edgeitems;
    visit_shown(x + i * block, dims + 1, rank - 1, summarize, f);
  }
}

inline std::string join(const std::vector<std::string>& parts, const std::string& separator) {
  std::string s;
  for (std::size_t i = 0; i < parts.size(); ++i) s += (i ? separator : "") + parts[i];
  return s;
}

// torch._tensor_str._tensor_str_with_formatter.
template <class T, class Fmt>
std::string tensor_str(const T* x, const std::size_t* dims, std::size_t rank, std::size_t indent, bool summarize,
                       const Fmt& fmt) {
  if (rank == 0) return fmt(x[0]);
  const bool cut = summarize && dims[0] > 2 * edgeitems;
  if (rank == 1) {
    std::vector<std::string> items;
    for (std::size_t i = 0; i < dims[0]; ++i) {
      if (cut && i == edgeitems) {
        items.push_back(" ...");
        i = dims[0] - edgeitems;
      }
      items.push_back(fmt(x[i]));
    }
    const std::size_t element_length = fmt.width + 2;
    const std::size_t per_line = std::max<std::size_t>(1, linewidth > indent ? (linewidth - indent) / element_length : 0);
    std::vector<std::string> lines;
    for (std::size_t i = 0; i < items.size(); i += per_line)
      lines.push_back(join(std::vector<std::string>(items.begin() + static_cast<std::ptrdiff_t>(i),
                                                    items.begin() + static_cast<std::ptrdiff_t>(std::min(items.size(), i + per_line))),
                           ", "));
    return "[" + join(lines, ",\n" + std::string(indent + 1, ' ')) + "]";
  }
  const std::size_t block = product(dims + 1, rank - 1);
  std::vector<std::string> slices;
  for (std::size_t i = 0; i < dims[0]; ++i) {
    if (cut && i == edgeitems) {
      slices.push_back("...");
      i = dims[0] - edgeitems;
    }
    slices.push_back(tensor_str(x + i * block, dims + 1, rank - 1, indent + 1, summarize, fmt));
  }
  return "[" + join(slices, "," + std::string(rank - 1, '\n') + std::string(indent + 1, ' ')) + "]";
}

// torch._tensor_str._str_intern for a CPU tensor without gradient.
template <class T>
std::string repr(const T* x, const std::size_t* dims, std::size_t rank) {
  const std::string prefix = "tensor(";
  const std::size_t indent = prefix.size(), numel = product(dims, rank);
  const bool default_dtype = std::is_same_v<T, float> || (std::is_integral_v<T> && std::is_signed_v<T> && sizeof(T) == 8);
  std::vector<std::string> suffixes;
  std::string body;
  if (numel == 0) {
    if (rank != 1) {
      std::vector<std::string> sizes;
      for (std::size_t d = 0; d < rank; ++d) sizes.push_back(std::to_string(dims[d]));
      suffixes.push_back("size=(" + join(sizes, ", ") + ")");
    }
    if (!std::is_same_v<T, float>) suffixes.push_back("dtype=torch." + std::string(dtype_name<T>()));
    body = "[]";
  } else {
    if (!default_dtype) suffixes.push_back("dtype=torch." + std::string(dtype_name<T>()));
    const bool summarize = numel > threshold;
    if constexpr (std::is_floating_point_v<T>) {
      std::vector<double> shown;
      auto collect = [&](T v) { shown.push_back(static_cast<double>(v)); };
      visit_shown(x, dims, rank, summarize, collect);
      body = tensor_str(x, dims, rank, indent, summarize, float_formatter(shown));
    } else {
      std::vector<T> shown;
      auto collect = [&](T v) { shown.push_back(v); };
      visit_shown(x, dims, rank, summarize, collect);
      body = tensor_str(x, dims, rank, indent, summarize, integer_formatter<T>(shown));
    }
  }
  // torch._tensor_str._add_suffixes
  std::string s = prefix + body;
  const std::size_t newline = s.rfind('\n');
  std::size_t last_line = newline == std::string::npos ? s.size() + 2 : s.size() - newline + 1;
  for (const std::string& suffix : suffixes) {
    if (last_line + suffix.size() + 2 > linewidth) {
      s += ",\n" + std::string(indent, ' ') + suffix;
      last_line = indent + suffix.size();
    } else {
      s += ", " + suffix;
      last_line += suffix.size() + 2;
    }
  }
  return s + ")";
}

}  // namespace detail::print

// PyTorch's repr: tensor([[1., 2., 3.],\n        [4., 5., 6.]]), tensor([1, 2, 3]), tensor(7),
// tensor([1, 2], dtype=torch.int32); more than 1000 elements are summarized with "...".
template <class S, class T, class B>
std::string to_string(const Tensor<S, T, B>& t) {
  return detail::print::repr(t.data(), S::dims.data(), S::rank);
}
template <class S, class T, class B>
std::ostream& operator<<(std::ostream& os, const Tensor<S, T, B>& t) {
  return os << to_string(t);
}

}  // namespace ctnn
