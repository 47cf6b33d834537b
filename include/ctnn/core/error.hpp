#pragma once
// Errors, in two kinds.
//  * Runtime: ctnn::error, thrown for what only the running program can know (a batch of the wrong
//    size, a label out of range, a bad file). Its message says what was expected and what came.
//  * Compile time: every named diagnostic lives here, in one place (as Eigen's YOU_MIXED_... do).
//    A diagnostic is a class template that is declared and never defined; deriving from it (report<D>
//    below) makes the compiler's first `error:` line print its full type, so the numbers travel in it:
//      error: invalid use of incomplete type
//      'struct ctnn::diagnostic::LAYER_INPUT_SHAPE_MISMATCH<ctnn::diagnostic::layer<"classifier.1">,
//       ctnn::Linear<500, 10>, ctnn::diagnostic::expects<ctnn::Shape<500> >,
//       ctnn::diagnostic::got<ctnn::Shape<490> > >'
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
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

// The dotted path of a layer ("conv_block_2.0"). g++ prints a fixed_string argument as its text; clang
// 14 prints it as character codes cut after ten ({{99, 111, 110, ...}}), but a char argument as the
// character: under clang the path is spelled as a pack of chars, layer_path<'c', 'o', 'n', 'v', ...>.
#if defined(__clang__)
template <char... Path>
struct layer_path {};
template <fixed_string Path>
using layer = typename chars_of<Path, layer_path>::type;
#else
template <fixed_string Path>
struct layer {};
#endif
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
// A Residual whose body and shortcut produce different shapes (their sum is undefined), e.g. a stride-2
// body beside an identity shortcut: the shortcut needs a projection (nn/residual.hpp).
template <class Shape>
struct body {};
template <class Shape>
struct shortcut {};
template <class Layer, class Body, class Shortcut>
struct RESIDUAL_SHAPES_DIFFER;
// Concat branches whose outputs differ in a dimension other than the channels (nn/concat.hpp).
template <class Layer, class First, class Other>
struct CONCAT_SHAPES_DIFFER;

// A type that does not meet the layer contract (nn/layer_concepts.hpp) where a Sequential or Block binds
// it. One requirement per member, so the name says which is missing or malformed:
//   NOT_A_LAYER<MyLayer, missing::output>             the spec has no `template <class S> using output`
//   NOT_A_LAYER<MyLayer, missing::bound_backward>     its bound layer has no backward(x, dy) returning a
//                                                     reference to a Batch of the input shape
// (The member is a tag type rather than a string: clang prints string template arguments as character
// codes, a tag's name reads the same under both compilers.)
template <class Spec, class Missing>
struct NOT_A_LAYER;
namespace missing {
// Members of the spec (the type named in Sequential<...>).
struct type_name {};       // static constexpr std::string_view type_name
struct repr {};            // static std::string repr()
struct accepts {};         // template <class S> static constexpr bool accepts
struct expected_input {};  // template <class S> using expected_input = <a Shape>
struct output {};          // template <class S> using output = <a Shape>
struct bound {};           // template <class S, Backend B, fixed_string Path> class bound
// Members of the bound layer, spec::bound<In, B, Path>.
struct bound_spec {};                 // using spec
struct bound_path {};                 // static constexpr path
struct bound_input_shape {};          // using input_shape = In
struct bound_output_shape {};         // using output_shape = spec::output<In>
struct bound_backend_type {};         // using backend_type = B
struct bound_constructor {};          // explicit bound(Generator&)
struct bound_forward {};              // const Batch<Out, B>& forward(const Batch<In, B>&, bool training)
struct bound_backward {};             // const Batch<In, B>& backward(const Batch<In, B>&, const scalar* dy)
struct bound_output {};               // const Batch<Out, B>& output() const
struct bound_parameter_count {};      // static constexpr std::size_t parameter_count
struct bound_visit_parameters {};     // void visit_parameters(F f), f(Parameter<B>&)
struct bound_copy {};                 // copyable (models are copied, gradcheck copies them)
}  // namespace missing

// require<Ok, Diagnostic>::value is true when Ok; otherwise instantiating it makes the compiler print
// Diagnostic's full name as the error and the program is ill-formed.
template <bool Ok, class Diagnostic>
struct require {
  static constexpr bool value = true;
};
// The report of a failed requirement: an incomplete base, which both compilers name in their first error
// line (g++: "invalid use of incomplete type 'struct ...'", clang: "implicit instantiation of undefined
// template '...'").
template <class Diagnostic>
struct report : Diagnostic {};
template <class Diagnostic>
struct require<false, Diagnostic> {
  // Instantiating report<Diagnostic> is the error; value stays a constant so that the static_assert
  // around it adds no second error (clang: "static_assert expression is not an integral constant
  // expression"), and what carries on after the check (a layer bound to the shape it expects) compiles
  // as if it had passed: one mistake, one error.
  static constexpr bool value = requires { sizeof(report<Diagnostic>); } || true;
};
// The same report as a type whose value is false when !Ok, for std::conjunction (a backend's op set):
// conjunction instantiates its checks one by one up to the first false, so the first missing op is the
// one error, and a concept built on it is not satisfied (nothing goes on to use what is missing).
template <bool Ok, class Diagnostic>
struct check : std::bool_constant<Ok || !require<Ok, Diagnostic>::value> {};

}  // namespace diagnostic
}  // namespace ctnn
