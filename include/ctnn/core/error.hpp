#pragma once
// Errors, in two kinds.
//  * Runtime: ctnn::error, thrown for what only the running program can know (a batch of the wrong
//    size, a label out of range, a bad file). Its message says what was expected and what came.
//  * Compile time: every named diagnostic lives here, in one place (as Eigen's YOU_MIXED_... do).
//    A diagnostic is a class template that is declared and never defined; naming it in sizeof makes
//    the compiler's first `error:` line print its full type, so the numbers travel in the type:
//      error: invalid application of 'sizeof' to incomplete type
//      'ctnn::diagnostic::LAYER_INPUT_SHAPE_MISMATCH<ctnn::diagnostic::layer<"classifier.1">,
//       ctnn::Linear<500, 10>, ctnn::diagnostic::expects<ctnn::Shape<500> >,
//       ctnn::diagnostic::got<ctnn::Shape<490> > >'
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

#include "fixed_string.hpp"

namespace ctnn {

class error : public std::runtime_error {
 public:
  explicit error(const std::string& what) : std::runtime_error("ctnn: " + what) {}
};

// Builds a message from pieces: throw error(cat("expected ", a, " but got ", b)).
template <class... Parts>
std::string cat(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  return os.str();
}

template <class...>
inline constexpr bool dependent_false = false;

namespace diagnostic {

template <fixed_string Path>
struct layer {};
template <class Shape>
struct expects {};
template <class Shape>
struct got {};
template <class Lhs>
struct lhs {};
template <class Rhs>
struct rhs {};

// A layer of a Sequential cannot take the shape the previous layer produces.
template <class Layer, class Spec, class Expects, class Got>
struct LAYER_INPUT_SHAPE_MISMATCH;
// A batch whose per-sample shape is not the model's input shape.
template <class Expects, class Got>
struct MODEL_INPUT_SHAPE_MISMATCH;
// matmul/@ of matrices whose inner dimensions differ, e.g. (3, 2) @ (3, 2).
template <class Lhs, class Rhs>
struct MATMUL_INNER_DIMENSIONS_DIFFER;
// reshape/view to a shape with another number of elements.
template <class From, class To>
struct RESHAPE_CHANGES_THE_NUMBER_OF_ELEMENTS;
// Elementwise arithmetic on tensors whose shapes differ.
template <class Lhs, class Rhs>
struct ELEMENTWISE_SHAPES_DIFFER;
// Mixing tensors (or a tensor and a model) that live on different backends.
template <class Lhs, class Rhs>
struct TENSORS_ON_DIFFERENT_BACKENDS;

// require<Ok, Diagnostic>::value is true when Ok; otherwise instantiating it makes the compiler print
// Diagnostic's full name as the error and the program is ill-formed.
template <bool Ok, class Diagnostic>
struct require {
  static constexpr bool value = true;
};
template <class Diagnostic>
struct require<false, Diagnostic> {
  static constexpr bool value = sizeof(Diagnostic) == 0;
};

}  // namespace diagnostic
}  // namespace ctnn
