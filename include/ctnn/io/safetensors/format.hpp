#pragma once
// The safetensors format's vocabulary: a tensor's header entry, a parsed header, the reader's limits,
// the dtypes and how their little-endian elements decode. No I/O and no JSON here.
//
// Element conversions on load: F16 and BF16 widen exactly to float (every half and bfloat16 value
// is a float, NaN payloads and signed zeros included), F32/F64 convert to the model's scalar type
// with static_cast (F64 -> float rounds to nearest), integer dtypes and BOOL widen to int64 (a U64
// above 2^63 - 1 is an error).
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "../../core/error.hpp"

namespace ctnn::safetensors {

// __metadata__: free-form string pairs (safetensors.torch writes {"format": "pt"}).
using Metadata = std::map<std::string, std::string>;

// One tensor of a file as its header describes it.
struct TensorInfo {
  std::string name;
  std::string dtype;  // "F32", "F64", "F16", "I64", ...
  std::vector<std::size_t> shape;
  std::size_t begin = 0, end = 0;  // byte offsets in the data section
};

// What a header may hold; read_header and the loaders use the defaults.
struct Limits {
  std::uint64_t max_header_bytes = 100'000'000;
  std::size_t max_tensors = 1'000'000;
};

// A parsed and validated header.
struct Header {
  std::vector<TensorInfo> tensors;  // in header order
  Metadata metadata;
  std::size_t data_start = 0;  // file offset of the data section: 8 + header length
};

// Bytes per element of every dtype the format defines; 0 for a name it does not define.
inline std::size_t dtype_size(std::string_view dtype) {
  struct entry {
    std::string_view name;
    std::size_t size;
  };
  static constexpr entry table[] = {{"BOOL", 1}, {"U8", 1},   {"I8", 1},   {"F8_E4M3", 1}, {"F8_E5M2", 1},
                                    {"I16", 2},  {"U16", 2},  {"F16", 2},  {"BF16", 2},    {"I32", 4},
                                    {"U32", 4},  {"F32", 4},  {"F64", 8},  {"I64", 8},     {"U64", 8}};
  for (const auto& e : table)
    if (e.name == dtype) return e.size;
  return 0;
}

// The dtype a state_dict's floating-point tensors are saved as: F32 for float, F64 for double.
template <class T>
constexpr std::string_view dtype_of() {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                "ctnn: safetensors checkpoints hold float (F32) or double (F64) tensors");
  return std::is_same_v<T, float> ? "F32" : "F64";
}

// How ctnn reads a dtype into a state_dict.
enum class element_kind { floating, integer, unsupported };
inline element_kind kind_of(std::string_view dtype) {
  if (dtype == "F16" || dtype == "BF16" || dtype == "F32" || dtype == "F64") return element_kind::floating;
  if (dtype == "BOOL" || dtype == "U8" || dtype == "I8" || dtype == "I16" || dtype == "U16" || dtype == "I32" ||
      dtype == "U32" || dtype == "I64" || dtype == "U64")
    return element_kind::integer;
  return element_kind::unsupported;  // F8_E4M3, F8_E5M2 (and names the format does not define)
}

namespace detail {

inline std::string in_quotes(std::string_view s) { return cat("'", s, "'"); }

[[noreturn]] inline void fail(const std::filesystem::path& path, std::string_view problem) {
  throw error(cat(path.string(), ": ", problem));
}

inline std::string dims_string(const std::vector<std::size_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// ---- little-endian values --------------------------------------------------------------------------
template <class U>
U load_le(const unsigned char* p) {
  U u = 0;
  for (std::size_t i = 0; i < sizeof(U); ++i) u = static_cast<U>(u | (static_cast<U>(p[i]) << (8 * i)));
  return u;
}
template <class U>
void store_le(U u, std::string& out) {
  for (std::size_t i = 0; i < sizeof(U); ++i) out += static_cast<char>((u >> (8 * i)) & 0xFF);
}
template <class T>
using bits_of = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;

// IEEE binary16 -> float, exactly: normal numbers rebias the exponent, subnormals are m * 2^-24,
// infinities and NaNs keep their sign and payload.
inline float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1Fu;
  const std::uint32_t mantissa = h & 0x3FFu;
  if (exponent == 0) {
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 31) return std::bit_cast<float>(sign | 0x7F800000u | (mantissa << 13));
  return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
}
// bfloat16 is the upper half of a float.
inline float bfloat16_to_float(std::uint16_t b) { return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16); }

// n elements of a floating dtype at p (little-endian) as T.
template <class T>
void decode_floating(std::string_view dtype, const unsigned char* p, std::size_t n, T* out) {
  if (dtype == "F32") {
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<T>(std::bit_cast<float>(load_le<std::uint32_t>(p + 4 * i)));
  } else if (dtype == "F64") {
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<T>(std::bit_cast<double>(load_le<std::uint64_t>(p + 8 * i)));
  } else if (dtype == "F16") {
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<T>(half_to_float(load_le<std::uint16_t>(p + 2 * i)));
  } else {  // BF16
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<T>(bfloat16_to_float(load_le<std::uint16_t>(p + 2 * i)));
  }
}

// n elements of an integer dtype (or BOOL) at p as int64. Returns false if a U64 value does not fit.
inline bool decode_integer(std::string_view dtype, const unsigned char* p, std::size_t n, std::int64_t* out) {
  auto each = [&]<class U, class S>(std::size_t bytes) {
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::int64_t>(static_cast<S>(load_le<U>(p + bytes * i)));
  };
  if (dtype == "BOOL") {
    for (std::size_t i = 0; i < n; ++i) out[i] = p[i] != 0;
  } else if (dtype == "U8") {
    each.template operator()<std::uint8_t, std::uint8_t>(1);
  } else if (dtype == "I8") {
    each.template operator()<std::uint8_t, std::int8_t>(1);
  } else if (dtype == "U16") {
    each.template operator()<std::uint16_t, std::uint16_t>(2);
  } else if (dtype == "I16") {
    each.template operator()<std::uint16_t, std::int16_t>(2);
  } else if (dtype == "U32") {
    each.template operator()<std::uint32_t, std::uint32_t>(4);
  } else if (dtype == "I32") {
    each.template operator()<std::uint32_t, std::int32_t>(4);
  } else if (dtype == "I64") {
    each.template operator()<std::uint64_t, std::int64_t>(8);
  } else {  // U64
    for (std::size_t i = 0; i < n; ++i) {
      const auto u = load_le<std::uint64_t>(p + 8 * i);
      if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return false;
      out[i] = static_cast<std::int64_t>(u);
    }
  }
  return true;
}

}  // namespace detail
}  // namespace ctnn::safetensors
