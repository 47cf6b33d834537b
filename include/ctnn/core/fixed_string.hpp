#pragma once
// A string usable as a template argument: names of blocks (Named<"conv_block_1", ...>) and the
// dotted layer paths that compile-time diagnostics print.
#include <algorithm>
#include <cstddef>
#include <string_view>
#include <utility>

namespace ctnn {

template <std::size_t N>
struct fixed_string {
  char value[N]{};  // includes the terminating '\0'

  constexpr fixed_string() = default;
  constexpr fixed_string(const char (&s)[N]) { std::copy_n(s, N, value); }

  static constexpr std::size_t length = N - 1;
  constexpr std::string_view view() const { return {value, N - 1}; }
  constexpr bool empty() const { return N == 1; }
};

template <std::size_t A, std::size_t B>
constexpr fixed_string<A + B - 1> operator+(const fixed_string<A>& a, const fixed_string<B>& b) {
  fixed_string<A + B - 1> out;
  std::copy_n(a.value, A - 1, out.value);
  std::copy_n(b.value, B, out.value + A - 1);
  return out;
}

namespace detail {
constexpr std::size_t decimal_digits(std::size_t v) { return v < 10 ? 1 : 1 + decimal_digits(v / 10); }
}  // namespace detail

// The decimal spelling of V as a fixed_string (layer indices in paths: "conv_block_1.0").
template <std::size_t V>
constexpr auto to_fixed_string() {
  constexpr std::size_t digits = detail::decimal_digits(V);
  fixed_string<digits + 1> out;
  std::size_t v = V;
  for (std::size_t i = digits; i-- > 0; v /= 10) out.value[i] = static_cast<char>('0' + v % 10);
  return out;
}

// Pack<S's characters...>, e.g. Pack<'r', 'e', 'l', 'u'>: text a compiler prints character by character.
template <fixed_string S, template <char...> class Pack, class = std::make_index_sequence<S.length>>
struct chars_of;
template <fixed_string S, template <char...> class Pack, std::size_t... I>
struct chars_of<S, Pack, std::index_sequence<I...>> {
  using type = Pack<S.value[I]...>;
};

// "prefix.child", or "child" when prefix is empty.
template <fixed_string Prefix, fixed_string Child>
constexpr auto join_path() {
  if constexpr (Prefix.empty()) return Child;
  else return Prefix + fixed_string{"."} + Child;
}

}  // namespace ctnn
