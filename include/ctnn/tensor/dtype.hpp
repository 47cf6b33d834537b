#pragma once
// A Tensor's dtypes: which value types a Tensor holds, their PyTorch names, torch's result dtypes
// (sums, integer op floating scalar, true division), conversion as tensor.to(dtype), and arithmetic that
// wraps on integers as torch's does.
#include <cstdint>
#include <limits>
#include <string_view>
#include <type_traits>

namespace ctnn {

// What a Tensor may hold: float, double and the integer types (not bool).
template <class T>
concept TensorScalar = std::is_arithmetic_v<T> && !std::is_same_v<std::remove_cv_t<T>, bool>;

namespace detail {

// PyTorch's name of a dtype: "float32", "int64", ...
template <class T>
constexpr std::string_view dtype_name() {
  if constexpr (std::is_same_v<T, float>) return "float32";
  else if constexpr (std::is_same_v<T, double>) return "float64";
  else if constexpr (std::is_floating_point_v<T>) return sizeof(T) == 8 ? "float64" : "float128";
  else if constexpr (std::is_signed_v<T>) {
    if constexpr (sizeof(T) == 1) return "int8";
    else if constexpr (sizeof(T) == 2) return "int16";
    else if constexpr (sizeof(T) == 4) return "int32";
    else return "int64";
  } else {
    if constexpr (sizeof(T) == 1) return "uint8";
    else if constexpr (sizeof(T) == 2) return "uint16";
    else if constexpr (sizeof(T) == 4) return "uint32";
    else return "uint64";
  }
}

// torch's result dtypes. sum of integers: int64 (uint64 stays uint64). Division and integer op
// floating scalar: float32 for integer tensors.
template <class T>
using sum_t = std::conditional_t<std::is_floating_point_v<T>, T,
                                 std::conditional_t<std::is_unsigned_v<T> && sizeof(T) == 8, std::uint64_t, std::int64_t>>;
template <class T, class U>
using promote_t = std::conditional_t<std::is_integral_v<T> && std::is_floating_point_v<U>, float, T>;
template <class T>
using true_div_t = std::conditional_t<std::is_floating_point_v<T>, T, float>;

// Value conversion, as tensor.to(dtype): floating -> integer truncates toward zero and goes through
// int64 (wrapping into smaller types, as torch does on x86); NaN, infinities and values outside
// int64 give int64's minimum (x86's answer; PyTorch leaves them undefined).
template <class To, class From>
constexpr To convert(From v) {
  if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>) {
    if constexpr (std::is_same_v<To, std::uint64_t> || (std::is_unsigned_v<To> && sizeof(To) == 8))
      if (v >= 9.2233720368547758e18 && v < 1.8446744073709552e19) return static_cast<To>(v);
    if (!(v >= -9.2233720368547758e18 && v < 9.2233720368547758e18))
      return static_cast<To>(std::numeric_limits<std::int64_t>::min());
    return static_cast<To>(static_cast<std::int64_t>(v));
  } else {
    return static_cast<To>(v);
  }
}

// Elementwise arithmetic; on integers it wraps (computed unsigned, as torch's results do).
template <class T>
using wrap_t = std::make_unsigned_t<decltype(T{} + T{})>;
struct add {
  template <class T>
  constexpr T operator()(T x, T y) const {
    if constexpr (std::is_integral_v<T>) return static_cast<T>(static_cast<wrap_t<T>>(x) + static_cast<wrap_t<T>>(y));
    else return x + y;
  }
};
struct sub {
  template <class T>
  constexpr T operator()(T x, T y) const {
    if constexpr (std::is_integral_v<T>) return static_cast<T>(static_cast<wrap_t<T>>(x) - static_cast<wrap_t<T>>(y));
    else return x - y;
  }
};
struct mul {
  template <class T>
  constexpr T operator()(T x, T y) const {
    if constexpr (std::is_integral_v<T>) return static_cast<T>(static_cast<wrap_t<T>>(x) * static_cast<wrap_t<T>>(y));
    else return x * y;
  }
};
struct div {
  template <class T>
  constexpr T operator()(T x, T y) const { return x / y; }  // only ever called on floating types
};

}  // namespace detail
}  // namespace ctnn
