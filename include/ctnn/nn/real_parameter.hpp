#pragma once
// A real number as a template argument: LeakyReLU<0.2>, ELU<0.5>, Softplus<2, 10>, HuberLoss<0.5>.
// g++, nvcc and clang 18+ take a double template parameter. clang before 18 has none, and there the
// literal converts to `exact_real`, a structural type that holds the double exactly as mantissa * 2^exponent
// (unlike Dropout's parts per million, a slope of 1e-7 or a threshold of 1e30 survive unrounded).
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>

namespace ctnn {

struct exact_real {
  std::int64_t mantissa = 0;
  int exponent = 0;
  constexpr exact_real(double v) {
    // A non-finite value, or one that would not fit the mantissa, is a compile error in constant evaluation.
    if (!(v > -9.0e18 && v < 9.0e18)) throw "ctnn: a real template argument must be finite and below 9e18 in magnitude";
    // Doubling is exact, and a double becomes an integer after at most 1074 doublings.
    while (static_cast<double>(static_cast<std::int64_t>(v)) != v) {
      v *= 2;
      --exponent;
    }
    mantissa = static_cast<std::int64_t>(v);
  }
  // Implicit, so that a template written over real_parameter reads the value as it would a double.
  constexpr operator double() const { return value(); }
  constexpr double value() const {
    double v = static_cast<double>(mantissa);
    for (int e = exponent; e < 0; ++e) v /= 2;
    return v;
  }
};

#if defined(__clang__) && !defined(__CUDACC__) && __clang_major__ < 18
using real_parameter = exact_real;
#else
using real_parameter = double;
#endif
constexpr double real_value(double v) { return v; }
constexpr double real_value(exact_real v) { return v.value(); }

// How Python's repr prints a float (shortest round trip, "1.0" not "1"), for PyTorch's layer reprs.
inline std::string python_float(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char text[32];
  const auto end = std::to_chars(text, text + sizeof text, v).ptr;
  std::string s(text, end);
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  return s;
}
// A default that PyTorch declares as an int (Softplus's beta=1, threshold=20) prints without ".0".
inline std::string python_number(double v) {
  if (std::abs(v) < 1e15 && v == std::trunc(v)) return std::to_string(static_cast<long long>(v));
  return python_float(v);
}

}  // namespace ctnn
