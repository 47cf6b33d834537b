#pragma once
// The Tensor class. Include <ctnn/tensor/tensor.hpp>, which says what a Tensor shares and what it copies,
// and brings the factories and the multi-tensor operations along.
#include <algorithm>
#include <array>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "../backend/eigen.hpp"
#include "../core/error.hpp"
#include "../core/random.hpp"
#include "../core/shape.hpp"
#include "dtype.hpp"
#include "shape_algebra.hpp"

namespace ctnn {

template <ShapeType S, class T = float, Backend B = backend::eigen>
class Tensor;

template <class X>
struct is_tensor : std::false_type {};
template <class S, class T, class B>
struct is_tensor<Tensor<S, T, B>> : std::true_type {};
template <class X>
concept TensorType = is_tensor<std::remove_cvref_t<X>>::value;

// Defined in tensor_ops.hpp.
template <class S1, class T1, class B1, class S2, class T2, class B2>
auto matmul(const Tensor<S1, T1, B1>& a, const Tensor<S2, T2, B2>& b);

namespace detail {

// The type of the nested initializer lists of a rank-R tensor ({{1, 2}, {3, 4}}); for rank < 2 a type
// nobody can make, so that the flat initializer_list is the only list constructor.
class no_nested_list {
  no_nested_list() = default;
};
template <class T, std::size_t R>
struct nested_list {
  using type = std::initializer_list<typename nested_list<T, R - 1>::type>;
};
template <class T>
struct nested_list<T, 1> {
  using type = std::initializer_list<T>;
};
template <class T, std::size_t R>
using nested_list_t = std::conditional_t<(R >= 2), typename nested_list<T, (R >= 2 ? R : 2)>::type, no_nested_list>;

struct no_scalar_tensor {
  no_scalar_tensor() = delete;
};

constexpr std::size_t product(const std::size_t* dims, std::size_t n) {
  std::size_t p = 1;
  for (std::size_t i = 0; i < n; ++i) p *= dims[i];
  return p;
}

// dst (contiguous, row-major, dims) = the values of src at the given strides: the gather behind
// permute, transpose, slice and select.
template <class T, std::size_t R>
void strided_copy(const T* src, const std::array<std::size_t, R>& dims, const std::array<std::size_t, R>& src_strides,
                  T* dst) {
  if constexpr (R == 0) {
    *dst = *src;
  } else {
    const std::size_t total = product(dims.data(), R);
    if (total == 0) return;
    std::array<std::size_t, R> index{};
    const std::size_t last = dims[R - 1], last_stride = src_strides[R - 1];
    std::size_t off = 0;  // offset in src of index[0 .. R-1) (the last dimension is the inner loop)
    for (std::size_t done = 0; done < total; done += last) {
      const T* s = src + off;
      for (std::size_t j = 0; j < last; ++j) dst[done + j] = s[j * last_stride];
      for (std::size_t d = R - 1; d-- > 0;) {
        off += src_strides[d];
        if (++index[d] < dims[d]) break;
        off -= src_strides[d] * dims[d];
        index[d] = 0;
      }
    }
  }
}

// Reductions over n values at a stride.
template <class T>
sum_t<T> sum_of(const T* x, std::size_t n, std::size_t stride) {
  if constexpr (std::is_floating_point_v<T>) {
    double acc = 0;
    for (std::size_t i = 0; i < n; ++i) acc += static_cast<double>(x[i * stride]);
    return static_cast<T>(acc);
  } else {
    using W = std::make_unsigned_t<sum_t<T>>;
    W acc = 0;
    for (std::size_t i = 0; i < n; ++i) acc += static_cast<W>(static_cast<sum_t<T>>(x[i * stride]));
    return static_cast<sum_t<T>>(acc);
  }
}
template <class T>
T mean_of(const T* x, std::size_t n, std::size_t stride) {
  double acc = 0;
  for (std::size_t i = 0; i < n; ++i) acc += static_cast<double>(x[i * stride]);
  return static_cast<T>(acc / static_cast<double>(n));
}
template <class T>
constexpr bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>) return v != v;
  else return false;
}
// Index of the first maximum (Max) or minimum; a NaN wins, as in PyTorch (max/min propagate NaN).
template <bool Max, class T>
std::size_t arg_extreme(const T* x, std::size_t n, std::size_t stride) {
  std::size_t best = 0;
  for (std::size_t i = 1; i < n && !is_nan(x[best * stride]); ++i) {
    const T v = x[i * stride];
    if (is_nan(v) || (Max ? v > x[best * stride] : v < x[best * stride])) best = i;
  }
  return best;
}

template <class T>
std::string index_text(T i) {
  if constexpr (std::is_signed_v<T>) return std::to_string(static_cast<long long>(i));
  else return std::to_string(static_cast<unsigned long long>(i));
}

// Index i (negative counts from the end, as in Python) into a dimension of the given size.
template <std::integral I>
std::size_t checked_index(I i, std::size_t size, std::size_t dim) {
  std::size_t k = 0;
  bool ok = true;
  if constexpr (std::is_signed_v<I>) {
    if (i < 0) {
      const auto back = static_cast<std::size_t>(-(static_cast<long long>(i) + 1)) + 1;  // |i|, overflow-free
      ok = back <= size;
      k = ok ? size - back : 0;
    } else {
      k = static_cast<std::size_t>(i);
    }
  } else {
    k = static_cast<std::size_t>(i);
  }
  if (!ok || k >= size)
    throw error(cat("index ", index_text(i), " is out of bounds for dimension ", dim, " with size ", size));
  return k;
}

}  // namespace detail

// ---- Tensor ---------------------------------------------------------------------------------------

template <ShapeType S, class V, Backend B>
class Tensor {
  static_assert(B::host_memory,
                "ctnn: Tensor keeps its values in host memory: B must be a host backend (backend::eigen, "
                "backend::reference); device backends work on Batch");
  static_assert(TensorScalar<V>, "ctnn: a Tensor holds float, double or an integer type (int8_t ... int64_t, uint8_t ...)");

  template <ShapeType, class, Backend>
  friend class Tensor;

  using nested_arg = detail::nested_list_t<V, S::rank>;
  using scalar_tensor_arg = std::conditional_t<(S::rank > 0), Tensor<Shape<>, V, B>, detail::no_scalar_tensor>;

 public:
  using shape = S;
  using value_type = V;
  using backend_type = B;
  static constexpr std::size_t ndim = S::rank;
  static constexpr std::size_t numel = S::size;
  static constexpr std::array<std::size_t, ndim> dims = S::dims;
  static constexpr std::array<std::size_t, ndim> strides = ctnn::shape::strides<S>();

  // ---- construction ----------------------------------------------------------------------------

  // Zeros (torch.zeros).
  Tensor() : data_(new V[numel == 0 ? 1 : numel]()) {}

  // The values, row-major: Tensor<Shape<2, 3>>{1, 2, 3, 4, 5, 6}. The count is checked at run time.
  Tensor(std::initializer_list<V> values) : Tensor() { assign(values.begin(), values.size()); }

  // Nested lists, as torch.tensor([[1, 2], [3, 4]]): Tensor<Shape<2, 2>>{{1, 2}, {3, 4}} (rank >= 2).
  // The flat values in one more pair of braces, Tensor<Shape<3, 2>>{{1, 2, 3, 4, 5, 6}}, are read
  // row-major too (for rank 2 they arrive here; for higher ranks at the flat constructor).
  Tensor(nested_arg rows) : Tensor() {
    if constexpr (ndim == 2) {
      if (rows.size() == 1 && dims[0] != 1 && rows.begin()->size() == numel) {
        assign(rows.begin()->begin(), numel);
        return;
      }
    }
    std::size_t pos = 0;
    fill_nested<0>(rows, pos);
  }

  explicit Tensor(const std::array<V, numel>& values) : Tensor() { assign(values.data(), numel); }

  static Tensor from_values(std::span<const V> values) {
    Tensor t;
    t.assign(values.data(), values.size());
    return t;
  }

  // Handle semantics (see the top of this file).
  Tensor(const Tensor&) = default;
  Tensor& operator=(const Tensor&) & = default;
  // x[0] = y: copies y's values into the values x[0] views.
  Tensor operator=(const Tensor& src) && {
    copy_(src);
    return *this;
  }
  // x[0] = 5: fills them.
  Tensor operator=(V value) && {
    fill_(value);
    return *this;
  }

  // An independent copy.
  Tensor clone() const {
    Tensor t;
    std::copy_n(data(), numel, t.data());
    return t;
  }

  // ---- information -----------------------------------------------------------------------------

  static std::string shape_str() { return S::str(); }           // "[3, 4]"
  static constexpr std::string_view dtype() { return detail::dtype_name<V>(); }  // "float32"
  static constexpr std::string_view device() { return B::name; }                // "eigen"

  V* data() const { return data_.get() + offset_; }
  std::span<V, numel> values() const { return std::span<V, numel>(data(), numel); }

  // ---- in place ---------------------------------------------------------------------------------

  const Tensor& fill_(V value) const {
    std::fill_n(data(), numel, value);
    return *this;
  }
  // Copies src's values (converting them, as torch's copy_) into this tensor's.
  template <class U>
  const Tensor& copy_(const Tensor<S, U, B>& src) const {
    if constexpr (std::is_same_v<U, V>) {
      if (numel) std::memmove(data(), src.data(), numel * sizeof(V));  // views may overlap
    } else {
      for (std::size_t i = 0; i < numel; ++i) data()[i] = detail::convert<V>(src.data()[i]);
    }
    return *this;
  }

  // ---- element access and indexing ---------------------------------------------------------------

  // t(i, j, k): a reference to one element (bounds checked; negative indices count from the end).
  template <std::integral... I>
  V& operator()(I... index) const {
    static_assert(sizeof...(I) == ndim, "ctnn: t(i, j, ...) takes one index per dimension");
    std::size_t off = 0, d = 0;
    ((off += detail::checked_index(index, dims[d], d) * strides[d], ++d), ...);
    return data()[off];
  }

  // t[i]: the sub-tensor at index i of dimension 0, sharing the values (x[0][0][0] as in PyTorch).
  template <std::integral I>
  auto operator[](I i) const {
    if constexpr (ndim == 0) {
      static_assert(ndim > 0, "ctnn: a 0-dim tensor cannot be indexed (PyTorch: invalid index of a 0-dim tensor); use item()");
      return *this;
    } else {
      const std::size_t k = detail::checked_index(i, dims[0], 0);
      return Tensor<ctnn::shape::remove<S, 0>, V, B>(data_, offset_ + k * strides[0]);
    }
  }

  // The value of a one-element tensor (a Python number in PyTorch).
  V item() const {
    static_assert(numel == 1,
                  "ctnn: item() needs a tensor with exactly one element (PyTorch: a Tensor with N elements "
                  "cannot be converted to Scalar)");
    return data()[0];
  }

  // x[:, i] is select<1>(i): dimension Dim removed at index i. A copy.
  template <std::size_t Dim, std::integral I>
  auto select(I i) const {
    if constexpr (Dim >= ndim) {
      static_assert(Dim < ndim, "ctnn: select<Dim>(i): Dim is not a dimension of this tensor");
      return *this;
    } else {
      using R = ctnn::shape::remove<S, Dim>;
      const std::size_t k = detail::checked_index(i, dims[Dim], Dim);
      Tensor<R, V, B> out;
      std::array<std::size_t, ndim - 1> st{};
      for (std::size_t d = 0, j = 0; d < ndim; ++d)
        if (d != Dim) st[j++] = strides[d];
      detail::strided_copy<V, ndim - 1>(data() + k * strides[Dim], R::dims, st, out.data());
      return out;
    }
  }

  // x[..., Begin:End, ...] along Dim (compile-time bounds). A copy.
  template <std::size_t Dim, std::size_t Begin, std::size_t End>
  auto slice() const {
    if constexpr (Dim >= ndim) {
      static_assert(Dim < ndim, "ctnn: slice<Dim, Begin, End>(): Dim is not a dimension of this tensor");
      return *this;
    } else if constexpr (!(Begin <= End && End <= dims[Dim])) {
      static_assert(Begin <= End && End <= dims[Dim], "ctnn: slice<Dim, Begin, End>(): needs Begin <= End <= size of Dim");
      return *this;
    } else {
      using R = ctnn::shape::replace<S, Dim, End - Begin>;
      Tensor<R, V, B> out;
      detail::strided_copy<V, ndim>(data() + Begin * strides[Dim], R::dims, strides, out.data());
      return out;
    }
  }

  // ---- shape changes ------------------------------------------------------------------------------

  // The same values seen with another shape of as many elements: SHARES the values.
  template <std::size_t... D>
  auto view() const {
    return view_as<Shape<D...>>();
  }
  // reshape: as view (a Tensor is always contiguous, so reshape never needs to copy).
  template <std::size_t... D>
  auto reshape() const {
    return view_as<Shape<D...>>();
  }
  template <ShapeType To>
  auto reshape() const {
    return view_as<To>();
  }
  // All dimensions in one: Shape<numel>. Shares the values.
  auto flatten() const { return Tensor<Shape<numel>, V, B>(data_, offset_); }
  // Without the dimensions of size 1 (the result shape is computed at compile time). Shares.
  auto squeeze() const { return Tensor<ctnn::shape::squeeze<S>, V, B>(data_, offset_); }
  // Without dimension Dim if its size is 1 (otherwise unchanged, as torch.squeeze(dim)). Shares.
  template <std::size_t Dim>
  auto squeeze() const {
    if constexpr (Dim >= ndim) {
      static_assert(Dim < ndim, "ctnn: squeeze<Dim>(): Dim is not a dimension of this tensor");
      return *this;
    } else if constexpr (dims[Dim] != 1) {
      return *this;
    } else {
      return Tensor<ctnn::shape::remove<S, Dim>, V, B>(data_, offset_);
    }
  }
  // With a new dimension of size 1 at Dim (0 <= Dim <= ndim). Shares.
  template <std::size_t Dim>
  auto unsqueeze() const {
    if constexpr (Dim > ndim) {
      static_assert(Dim <= ndim, "ctnn: unsqueeze<Dim>(): Dim must be at most ndim");
      return *this;
    } else {
      return Tensor<ctnn::shape::insert<S, Dim, 1>, V, B>(data_, offset_);
    }
  }

  // Dimensions reordered: result dimension k is dimension P[k] (x.permute(2, 0, 1)). A copy.
  template <std::size_t... P>
  auto permute() const {
    if constexpr (!ctnn::shape::is_permutation<ndim, P...>()) {
      static_assert(ctnn::shape::is_permutation<ndim, P...>(),
                    "ctnn: permute<P...>(): P must name each dimension 0 .. ndim-1 exactly once");
      return *this;
    } else {
      using R = Shape<dims[P]...>;
      Tensor<R, V, B> out;
      detail::strided_copy<V, ndim>(data(), R::dims, std::array<std::size_t, ndim>{strides[P]...}, out.data());
      return out;
    }
  }
  // Dimensions D0 and D1 swapped. A copy.
  template <std::size_t D0, std::size_t D1>
  auto transpose() const {
    if constexpr (D0 >= ndim || D1 >= ndim) {
      static_assert(D0 < ndim && D1 < ndim, "ctnn: transpose<D0, D1>(): D0 and D1 must be dimensions of this tensor");
      return *this;
    } else {
      return [this]<std::size_t... I>(std::index_sequence<I...>) {
        return this->template permute<(I == D0 ? D1 : (I == D1 ? D0 : I))...>();
      }(std::make_index_sequence<ndim>{});
    }
  }
  // The matrix transpose (PyTorch's .T); a 0-dim or 1-dim tensor is returned as a copy of itself.
  auto transpose() const {
    if constexpr (ndim > 2) {
      static_assert(ndim <= 2, "ctnn: T()/transpose() are for matrices; use transpose<D0, D1>() or permute<...>()");
      return *this;
    } else if constexpr (ndim == 2) {
      return transpose<0, 1>();
    } else {
      return clone();
    }
  }
  auto T() const { return transpose(); }

  // ---- conversion -------------------------------------------------------------------------------------

  // to<U>(): another dtype (float -> int truncates, as torch); the same dtype returns this tensor
  // itself (shared), as torch's .to does. to<OtherBackend>(): a copy tagged with another host backend.
  template <class U>
    requires(TensorScalar<U> || Backend<U>)
  auto to() const {
    if constexpr (TensorScalar<U>) {
      return as<U>();
    } else {
      static_assert(U::host_memory, "ctnn: to<Backend>(): Tensor lives in host memory; use a host backend");
      Tensor<S, V, U> out;
      std::copy_n(data(), numel, out.data());
      return out;
    }
  }
  template <class U>
    requires TensorScalar<U>
  auto as() const {
    if constexpr (std::is_same_v<U, V>) {
      return *this;
    } else {
      Tensor<S, U, B> out;
      for (std::size_t i = 0; i < numel; ++i) out.data()[i] = detail::convert<U>(data()[i]);
      return out;
    }
  }

  // f applied to each value: a new tensor of f's result type (which must be a TensorScalar).
  template <class F>
  auto map(F f) const {
    using R = std::remove_cvref_t<decltype(f(std::declval<V>()))>;
    Tensor<S, R, B> out;
    for (std::size_t i = 0; i < numel; ++i) out.data()[i] = f(data()[i]);
    return out;
  }

  // ---- reductions (0-dim tensors, as PyTorch; item() gives the number) ----------------------------

  auto sum() const { return Tensor<Shape<>, detail::sum_t<V>, B>{detail::sum_of(data(), numel, 1)}; }
  auto mean() const {
    static_assert(std::is_floating_point_v<V>,
                  "ctnn: mean() needs a floating-point tensor (PyTorch: mean(): could not infer output dtype. "
                  "Input dtype must be either a floating point or complex dtype); convert first: t.to<float>().mean()");
    static_assert(numel > 0, "ctnn: mean() of an empty tensor");
    return Tensor<Shape<>, V, B>{detail::mean_of(data(), numel, 1)};
  }
  auto max() const { return Tensor<Shape<>, V, B>{data()[flat_arg<true>()]}; }
  auto min() const { return Tensor<Shape<>, V, B>{data()[flat_arg<false>()]}; }
  // The flat (row-major) index of the first maximum / minimum, as torch.argmax without dim.
  auto argmax() const { return Tensor<Shape<>, std::int64_t, B>{static_cast<std::int64_t>(flat_arg<true>())}; }
  auto argmin() const { return Tensor<Shape<>, std::int64_t, B>{static_cast<std::int64_t>(flat_arg<false>())}; }

  // Along one dimension: the result drops dimension Dim (keepdim=False).
  template <std::size_t Dim>
  auto sum() const {
    return reduce<Dim, detail::sum_t<V>>([](const V* x, std::size_t n, std::size_t st) { return detail::sum_of(x, n, st); });
  }
  template <std::size_t Dim>
  auto mean() const {
    static_assert(std::is_floating_point_v<V>,
                  "ctnn: mean<Dim>() needs a floating-point tensor; convert first: t.to<float>().mean<Dim>()");
    return reduce<Dim, V>([](const V* x, std::size_t n, std::size_t st) { return detail::mean_of(x, n, st); });
  }
  template <std::size_t Dim>
  auto max() const {
    return reduce<Dim, V>([](const V* x, std::size_t n, std::size_t st) { return x[detail::arg_extreme<true>(x, n, st) * st]; });
  }
  template <std::size_t Dim>
  auto min() const {
    return reduce<Dim, V>([](const V* x, std::size_t n, std::size_t st) { return x[detail::arg_extreme<false>(x, n, st) * st]; });
  }
  template <std::size_t Dim>
  auto argmax() const {
    return reduce<Dim, std::int64_t>(
        [](const V* x, std::size_t n, std::size_t st) { return static_cast<std::int64_t>(detail::arg_extreme<true>(x, n, st)); });
  }
  template <std::size_t Dim>
  auto argmin() const {
    return reduce<Dim, std::int64_t>(
        [](const V* x, std::size_t n, std::size_t st) { return static_cast<std::int64_t>(detail::arg_extreme<false>(x, n, st)); });
  }

  // ---- matrix product (matmul in tensor_ops.hpp) -----------------------------------------------------

  template <class S2, class V2, class B2>
  auto matmul(const Tensor<S2, V2, B2>& other) const {
    return ctnn::matmul(*this, other);
  }

  // ---- arithmetic ----------------------------------------------------------------------------------

  // Same shape, dtype and backend; or a 0-dim tensor on either side (a scalar).
  friend Tensor operator+(const Tensor& a, const Tensor& b) { return zip(a, b, detail::add{}); }
  friend Tensor operator-(const Tensor& a, const Tensor& b) { return zip(a, b, detail::sub{}); }
  friend Tensor operator*(const Tensor& a, const Tensor& b) { return zip(a, b, detail::mul{}); }
  friend Tensor<S, detail::true_div_t<V>, B> operator/(const Tensor& a, const Tensor& b) {
    using R = detail::true_div_t<V>;
    Tensor<S, R, B> out;
    for (std::size_t i = 0; i < numel; ++i) out.data()[i] = static_cast<R>(a.data()[i]) / static_cast<R>(b.data()[i]);
    return out;
  }
  friend Tensor operator+(const Tensor& a, const scalar_tensor_arg& s) { return a + s.item(); }
  friend Tensor operator-(const Tensor& a, const scalar_tensor_arg& s) { return a - s.item(); }
  friend Tensor operator*(const Tensor& a, const scalar_tensor_arg& s) { return a * s.item(); }
  friend Tensor<S, detail::true_div_t<V>, B> operator/(const Tensor& a, const scalar_tensor_arg& s) { return a / s.item(); }
  friend Tensor operator+(const scalar_tensor_arg& s, const Tensor& a) { return s.item() + a; }
  friend Tensor operator-(const scalar_tensor_arg& s, const Tensor& a) { return s.item() - a; }
  friend Tensor operator*(const scalar_tensor_arg& s, const Tensor& a) { return s.item() * a; }
  friend Tensor<S, detail::true_div_t<V>, B> operator/(const scalar_tensor_arg& s, const Tensor& a) { return s.item() / a; }

  // Any other tensor: a named compile error (TENSORS_ON_DIFFERENT_BACKENDS, ELEMENTWISE_SHAPES_DIFFER)
  // or a dtype message.
  template <class S2, class V2, class B2>
    requires(!std::is_same_v<Tensor<S2, V2, B2>, Tensor>)
  friend Tensor operator+(const Tensor& a, const Tensor<S2, V2, B2>&) {
    check_elementwise<S2, V2, B2>();
    return a;
  }
  template <class S2, class V2, class B2>
    requires(!std::is_same_v<Tensor<S2, V2, B2>, Tensor>)
  friend Tensor operator-(const Tensor& a, const Tensor<S2, V2, B2>&) {
    check_elementwise<S2, V2, B2>();
    return a;
  }
  template <class S2, class V2, class B2>
    requires(!std::is_same_v<Tensor<S2, V2, B2>, Tensor>)
  friend Tensor operator*(const Tensor& a, const Tensor<S2, V2, B2>&) {
    check_elementwise<S2, V2, B2>();
    return a;
  }
  template <class S2, class V2, class B2>
    requires(!std::is_same_v<Tensor<S2, V2, B2>, Tensor>)
  friend Tensor operator/(const Tensor& a, const Tensor<S2, V2, B2>&) {
    check_elementwise<S2, V2, B2>();
    return a;
  }

  // With a number on either side; an integer tensor with a floating number gives float32.
  template <TensorScalar U>
  friend auto operator+(const Tensor& a, U s) { return a.with_scalar<detail::promote_t<V, U>>(s, detail::add{}, false); }
  template <TensorScalar U>
  friend auto operator+(U s, const Tensor& a) { return a.with_scalar<detail::promote_t<V, U>>(s, detail::add{}, true); }
  template <TensorScalar U>
  friend auto operator-(const Tensor& a, U s) { return a.with_scalar<detail::promote_t<V, U>>(s, detail::sub{}, false); }
  template <TensorScalar U>
  friend auto operator-(U s, const Tensor& a) { return a.with_scalar<detail::promote_t<V, U>>(s, detail::sub{}, true); }
  template <TensorScalar U>
  friend auto operator*(const Tensor& a, U s) { return a.with_scalar<detail::promote_t<V, U>>(s, detail::mul{}, false); }
  template <TensorScalar U>
  friend auto operator*(U s, const Tensor& a) { return a.with_scalar<detail::promote_t<V, U>>(s, detail::mul{}, true); }
  template <TensorScalar U>
  friend auto operator/(const Tensor& a, U s) { return a.with_scalar<detail::true_div_t<V>>(s, detail::div{}, false); }
  template <TensorScalar U>
  friend auto operator/(U s, const Tensor& a) { return a.with_scalar<detail::true_div_t<V>>(s, detail::div{}, true); }

  friend Tensor operator-(const Tensor& a) { return V(0) - a; }
  friend Tensor operator+(const Tensor& a) { return a; }

  // In place (on the shared values: x[0] += 1 changes x).
  const Tensor& operator+=(const Tensor& b) const { return zip_in_place(b, detail::add{}); }
  const Tensor& operator-=(const Tensor& b) const { return zip_in_place(b, detail::sub{}); }
  const Tensor& operator*=(const Tensor& b) const { return zip_in_place(b, detail::mul{}); }
  const Tensor& operator/=(const Tensor& b) const {
    static_assert(std::is_floating_point_v<V>,
                  "ctnn: /= on an integer tensor (PyTorch: result type Float can't be cast to the desired output type)");
    return zip_in_place(b, detail::div{});
  }
  template <class S2, class V2, class B2>
    requires(!std::is_same_v<Tensor<S2, V2, B2>, Tensor>)
  const Tensor& operator+=(const Tensor<S2, V2, B2>& b) const { return compound_other(b, detail::add{}); }
  template <class S2, class V2, class B2>
    requires(!std::is_same_v<Tensor<S2, V2, B2>, Tensor>)
  const Tensor& operator-=(const Tensor<S2, V2, B2>& b) const { return compound_other(b, detail::sub{}); }
  template <class S2, class V2, class B2>
    requires(!std::is_same_v<Tensor<S2, V2, B2>, Tensor>)
  const Tensor& operator*=(const Tensor<S2, V2, B2>& b) const { return compound_other(b, detail::mul{}); }
  template <class S2, class V2, class B2>
    requires(!std::is_same_v<Tensor<S2, V2, B2>, Tensor>)
  const Tensor& operator/=(const Tensor<S2, V2, B2>& b) const {
    static_assert(std::is_floating_point_v<V>,
                  "ctnn: /= on an integer tensor (PyTorch: result type Float can't be cast to the desired output type)");
    return compound_other(b, detail::div{});
  }
  template <TensorScalar U>
  const Tensor& operator+=(U s) const { return scalar_in_place(s, detail::add{}); }
  template <TensorScalar U>
  const Tensor& operator-=(U s) const { return scalar_in_place(s, detail::sub{}); }
  template <TensorScalar U>
  const Tensor& operator*=(U s) const { return scalar_in_place(s, detail::mul{}); }
  template <TensorScalar U>
  const Tensor& operator/=(U s) const {
    static_assert(std::is_floating_point_v<V>,
                  "ctnn: /= on an integer tensor (PyTorch: result type Float can't be cast to the desired output type)");
    return scalar_in_place(s, detail::div{});
  }

 private:
  Tensor(std::shared_ptr<V[]> data, std::size_t offset) : data_(std::move(data)), offset_(offset) {}

  void assign(const V* values, std::size_t count) {
    if (count != numel)
      throw error(cat("Tensor", S::str(), ": ", count, " values given, the shape holds ", numel));
    std::copy_n(values, count, data());
  }

  template <std::size_t D, class List>
  void fill_nested(const List& list, std::size_t& pos) {
    if (list.size() != dims[D])
      throw error(cat("Tensor", S::str(), ": expected sequence of length ", dims[D], " at dim ", D, " (got ",
                      list.size(), ")"));
    for (const auto& item : list) {
      if constexpr (D + 1 == ndim) data()[pos++] = item;
      else fill_nested<D + 1>(item, pos);
    }
  }

  template <class To>
  auto view_as() const {
    static_assert(diagnostic::require<To::size == numel, diagnostic::RESHAPE_CHANGES_THE_NUMBER_OF_ELEMENTS<S, To>>::value);
    return Tensor<To, V, B>(data_, offset_);
  }

  template <bool Max>
  std::size_t flat_arg() const {
    static_assert(numel > 0, "ctnn: max()/min()/argmax()/argmin() of an empty tensor");
    return detail::arg_extreme<Max>(data(), numel, 1);
  }

  template <std::size_t Dim, class R, class F>
  auto reduce(F f) const {
    if constexpr (Dim >= ndim) {
      static_assert(Dim < ndim, "ctnn: a reduction along Dim: Dim is not a dimension of this tensor");
      return *this;
    } else {
      static_assert(dims[Dim] > 0, "ctnn: a reduction along an empty dimension");
      constexpr std::size_t outer = detail::product(dims.data(), Dim), n = dims[Dim], inner = strides[Dim];
      Tensor<ctnn::shape::remove<S, Dim>, R, B> out;
      for (std::size_t o = 0; o < outer; ++o)
        for (std::size_t i = 0; i < inner; ++i) out.data()[o * inner + i] = f(data() + o * n * inner + i, n, inner);
      return out;
    }
  }

  template <class F>
  static Tensor zip(const Tensor& a, const Tensor& b, F f) {
    Tensor out;
    for (std::size_t i = 0; i < numel; ++i) out.data()[i] = f(a.data()[i], b.data()[i]);
    return out;
  }

  template <class R, class U, class F>
  Tensor<S, R, B> with_scalar(U s, F f, bool scalar_first) const {
    const R c = detail::convert<R>(s);
    Tensor<S, R, B> out;
    for (std::size_t i = 0; i < numel; ++i) {
      const R x = static_cast<R>(data()[i]);
      out.data()[i] = scalar_first ? f(c, x) : f(x, c);
    }
    return out;
  }

  template <class F>
  const Tensor& zip_in_place(const Tensor& b, F f) const {
    for (std::size_t i = 0; i < numel; ++i) data()[i] = f(data()[i], b.data()[i]);
    return *this;
  }
  template <class U, class F>
  const Tensor& scalar_in_place(U s, F f) const {
    static_assert(!(std::is_integral_v<V> && std::is_floating_point_v<U>),
                  "ctnn: an integer tensor op= a floating number (PyTorch: result type Float can't be cast to the "
                  "desired output type); convert the tensor first: t = t.to<float>()");
    const V c = static_cast<V>(s);
    for (std::size_t i = 0; i < numel; ++i) data()[i] = f(data()[i], c);
    return *this;
  }
  template <class S2, class V2, class B2, class F>
  const Tensor& compound_other(const Tensor<S2, V2, B2>& b, F f) const {
    if constexpr (std::is_same_v<S2, Shape<>> && std::is_same_v<V2, V> && std::is_same_v<B2, B>)
      return scalar_in_place(b.item(), f);
    else
      check_elementwise<S2, V2, B2>();
    return *this;
  }

  template <class S2, class V2, class B2>
  static constexpr void check_elementwise() {
    if constexpr (!std::is_same_v<B2, B>)
      static_assert(diagnostic::require<std::is_same_v<B2, B>,
                                        diagnostic::TENSORS_ON_DIFFERENT_BACKENDS<diagnostic::lhs<B>, diagnostic::rhs<B2>>>::value);
    else if constexpr (!std::is_same_v<S2, S>)
      static_assert(diagnostic::require<std::is_same_v<S2, S>,
                                        diagnostic::ELEMENTWISE_SHAPES_DIFFER<diagnostic::lhs<S>, diagnostic::rhs<S2>>>::value);
    else
      static_assert(std::is_same_v<V2, V>,
                    "ctnn: elementwise arithmetic on tensors of different dtypes; convert one first: b.to<float>()");
  }

  std::shared_ptr<V[]> data_;
  std::size_t offset_ = 0;
};

}  // namespace ctnn
