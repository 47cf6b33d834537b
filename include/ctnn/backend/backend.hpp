#pragma once
// A backend is a tag type naming a scalar and where memory lives, plus one specialisation of
// ctnn::backend::ops<Tag> that implements the closed op set of op_set.hpp (each op's signature and
// argument order are there). Layers and losses call only these operations, so a new backend (Thrust,
// CUDA) is a new ops<> specialisation and nothing else: no layer ever branches on the backend.
#include <concepts>
#include <cstddef>
#include <string_view>

#include "../core/error.hpp"
#include "op_set.hpp"

namespace ctnn::backend {

// Float, on the CPU, through Eigen's GEMM. The default.
struct eigen {
  using scalar = float;
  static constexpr bool host_memory = true;
  static constexpr std::string_view name = "eigen";
};

// Double, on the CPU, in plain loops: slow and obviously right. Serves the gradient checks and
// keeps the backend interface honest.
struct reference {
  using scalar = double;
  static constexpr bool host_memory = true;
  static constexpr std::string_view name = "reference";
};

// The op set of backend Tag. Each backend header specialises it; using a backend whose header was
// not included (or that implements nothing) stops here with a sentence instead of pages of errors.
template <class Tag>
struct ops {
  static_assert(dependent_false<Tag>,
                "ctnn: this backend has no ops<> specialisation: include its header "
                "(ctnn/backend/<name>.hpp) or specialise ctnn::backend::ops for it");
};

}  // namespace ctnn::backend

namespace ctnn {

// What a backend tag must provide to run a network: its description, buffers, and every op of the op
// set (a missing one is named by a BACKEND_MISSING_OP error).
template <class B>
concept Backend = requires(typename backend::ops<B>::template buffer<typename B::scalar>& storage) {
  typename B::scalar;
  { B::host_memory } -> std::convertible_to<bool>;
  { B::name } -> std::convertible_to<std::string_view>;
  storage.resize(std::size_t{1});
  { storage.data() } -> std::convertible_to<const typename B::scalar*>;
} && backend::implements_op_set<B, backend::ops<B>>;

template <class B>
using scalar_t = typename B::scalar;

template <class B, class T = scalar_t<B>>
using buffer_t = typename backend::ops<B>::template buffer<T>;

}  // namespace ctnn
