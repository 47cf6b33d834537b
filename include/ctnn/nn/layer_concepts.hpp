#pragma once
// The layer contract (nn/layer.hpp describes it in words) as concepts:
//   LayerSpec<Spec, In, B>   Spec can be bound to per-sample input shape In on backend B
//   BoundLayer<L>            L is a bound layer (its own input_shape/output_shape/backend_type)
//   LayerWithParameters<L>   ... and has learnable parameters
// Sequential and Block check every child where they bind it (detail::bind_layer in block.hpp), one
// requirement per member, so a spec that misses one fails with a first error line that names the spec
// and the member:
//   error: invalid application of 'sizeof' to incomplete type
//   'ctnn::diagnostic::NOT_A_LAYER<MyLayer, ctnn::diagnostic::missing::output>'
// and the bind carries on with a stand-in of the right shape, so one mistake gives one error.
// The members are requirements on declarations only: a concept cannot see that backward really
// computes the gradient; ctnn/testing/gradcheck.hpp checks that.
#include <concepts>
#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>

#include "layer.hpp"

namespace ctnn {

template <class... Layers>
struct Block;

namespace layer_contract {

// Spec members.
template <class S>
concept has_type_name = requires {
  { S::type_name } -> std::convertible_to<std::string_view>;
};
template <class S>
concept has_repr = requires {
  { S::repr() } -> std::convertible_to<std::string>;
};
template <class S, class In>
concept has_accepts = requires {
  { S::template accepts<In> } -> std::convertible_to<bool>;
};
template <class S, class In>
concept has_expected_input =
    requires { typename S::template expected_input<In>; } && ShapeType<typename S::template expected_input<In>>;
template <class S, class In>
concept has_output = requires { typename S::template output<In>; } && ShapeType<typename S::template output<In>>;
template <class S, class In, class B, auto Path>
concept has_bound = requires { typename S::template bound<In, B, Path>; };

// Bound-layer members. forward, backward and output must return references: a network passes them
// from layer to layer, and a batch returned by value would die before the next layer reads it.
template <class R, class T>
concept reference_to = std::is_lvalue_reference_v<R> && std::same_as<std::remove_cvref_t<R>, T>;

template <Backend B>
struct parameter_visitor {
  void operator()(Parameter<B>&) const;  // never called: only its declaration is looked at
};

template <class L>
concept bound_has_spec = requires { typename L::spec; };
template <class L>
concept bound_has_path = requires {
  { L::path.view() } -> std::convertible_to<std::string_view>;
};
template <class L, class In>
concept bound_has_input_shape = requires { typename L::input_shape; } && std::same_as<typename L::input_shape, In>;
template <class L, class Out>
concept bound_has_output_shape = requires { typename L::output_shape; } && std::same_as<typename L::output_shape, Out>;
template <class L, class B>
concept bound_has_backend_type = requires { typename L::backend_type; } && std::same_as<typename L::backend_type, B>;
template <class L>
concept bound_constructible = std::constructible_from<L, Generator&>;
template <class L, class In, class Out, class B>
concept bound_has_forward = requires(L& l, const Batch<In, B>& x, bool training) {
  { l.forward(x, training) } -> reference_to<Batch<Out, B>>;
};
template <class L, class In, class B>
concept bound_has_backward = requires(L& l, const Batch<In, B>& x, const scalar_t<B>* dy) {
  { l.backward(x, dy) } -> reference_to<Batch<In, B>>;
};
template <class L, class Out, class B>
concept bound_has_output = requires(const L& l) {
  { l.output() } -> reference_to<Batch<Out, B>>;
};
template <class L>
concept bound_has_parameter_count = requires {
  { L::parameter_count } -> std::convertible_to<std::size_t>;
  typename std::integral_constant<std::size_t, L::parameter_count>;  // a constant expression
};
template <class L, class B>
concept bound_has_visit_parameters = requires(L& l, parameter_visitor<B> f) { l.visit_parameters(f); };

// Blocks print their children themselves (Block::bound::print) instead of a one-line repr().
template <class S>
inline constexpr bool is_block = false;
template <class... L>
inline constexpr bool is_block<Block<L...>> = true;

// The input a spec is bound to (In, or the shape it wanted: the bind reports the mismatch) and the
// shape it produces, tolerant of a malformed spec (falling back to In) so that the bind, not this
// helper, reports what is missing.
template <class S, class In>
struct input_of {
  using type = In;
};
template <class S, class In>
  requires has_accepts<S, In> && has_expected_input<S, In>
struct input_of<S, In> {
  using type = std::conditional_t<S::template accepts<In>, In, typename S::template expected_input<In>>;
};
template <class S, class In>
struct output_of {
  using type = In;
};
template <class S, class In>
  requires has_output<S, In>
struct output_of<S, In> {
  using type = typename S::template output<In>;
};

template <bool Named, class S, class In, class B, auto Path>
struct bound_of {
  using type = void;
};
template <class S, class In, class B, auto Path>
struct bound_of<true, S, In, B, Path> {
  using type = typename S::template bound<In, B, Path>;
};

template <class L, class In, class Out, class B>
concept bound_layer_for = bound_has_spec<L> && bound_has_path<L> && bound_has_input_shape<L, In> &&
                          bound_has_output_shape<L, Out> && bound_has_backend_type<L, B> && bound_constructible<L> &&
                          bound_has_forward<L, In, Out, B> && bound_has_backward<L, In, B> &&
                          bound_has_output<L, Out, B> && bound_has_parameter_count<L> &&
                          bound_has_visit_parameters<L, B> && std::copy_constructible<L>;

}  // namespace layer_contract

// A bound layer: spec::bound<In, B, Path>, with the members a Sequential calls (see layer.hpp). Optional,
// and not required here: backward(x, dy, input_grad) (parameter gradients only), visit_buffers(f).
template <class L>
concept BoundLayer =
    requires {
      typename L::input_shape;
      typename L::output_shape;
      typename L::backend_type;
    } && Backend<typename L::backend_type> &&
    layer_contract::bound_layer_for<L, typename L::input_shape, typename L::output_shape, typename L::backend_type>;

// A bound layer with learnable parameters (visit_parameters visits parameter_count values in all).
template <class L>
concept LayerWithParameters = BoundLayer<L> && (L::parameter_count > 0);

// A spec that can be bound to per-sample input shape In on backend B (if it does not accept In, it
// must still name the shape it wanted, for the error message).
template <class Spec, class In, class B>
concept LayerSpec =
    ShapeType<In> && Backend<B> && layer_contract::has_type_name<Spec> &&
    (layer_contract::has_repr<Spec> || layer_contract::is_block<Spec>) && layer_contract::has_accepts<Spec, In> &&
    layer_contract::has_expected_input<Spec, In> &&
    layer_contract::has_output<Spec, typename layer_contract::input_of<Spec, In>::type> &&
    layer_contract::has_bound<Spec, typename layer_contract::input_of<Spec, In>::type, B, fixed_string{""}> &&
    layer_contract::bound_layer_for<
        typename Spec::template bound<typename layer_contract::input_of<Spec, In>::type, B, fixed_string{""}>,
        typename layer_contract::input_of<Spec, In>::type,
        typename Spec::template output<typename layer_contract::input_of<Spec, In>::type>, B>;

namespace detail {

// What a Sequential binds in place of a spec that failed the contract (after reporting it): a layer
// with the shape the spec promised (or its input's), so the rest of the network binds without errors.
template <class Out>
struct invalid_layer {
  static constexpr std::string_view type_name = "invalid";
  static std::string repr() { return "invalid()"; }
  template <class S>
  static constexpr bool accepts = true;
  template <class S>
  using expected_input = S;
  template <class S>
  using output = Out;
  template <class S, Backend B, fixed_string Path>
  class bound : public leaf_layer<invalid_layer, S, Out, B, Path>, public no_parameters {
   public:
    explicit bound(Generator&) {}
    const Batch<Out, B>& forward(const Batch<S, B>& x, bool) {
      this->prepare_output(x);
      return this->y_;
    }
    const Batch<S, B>& backward(const Batch<S, B>& x, const scalar_t<B>*) {
      this->prepare_input_grad(x);
      return this->dx_;
    }
  };
};

// Checks Spec against the contract where it is bound to In on B at Path, one static_assert per member
// in the order layer.hpp lists them; `spec` is Spec when it passes, the stand-in otherwise. The bound
// layer's members are looked at only when the spec could name it.
template <class Spec, class In, Backend B, auto Path>
struct checked_layer {
 private:
  template <class Missing>
  using NOT_A_LAYER = diagnostic::NOT_A_LAYER<Spec, Missing>;
  using input = typename layer_contract::input_of<Spec, In>::type;
  using out = typename layer_contract::output_of<Spec, input>::type;

  static constexpr bool type_name = layer_contract::has_type_name<Spec>;
  static constexpr bool repr = layer_contract::has_repr<Spec> || layer_contract::is_block<Spec>;
  static constexpr bool accepts = layer_contract::has_accepts<Spec, In>;
  static constexpr bool expected_input = layer_contract::has_expected_input<Spec, In>;
  static constexpr bool output = layer_contract::has_output<Spec, input>;
  static constexpr bool bound = layer_contract::has_bound<Spec, input, B, Path>;
  static_assert(diagnostic::require<type_name, NOT_A_LAYER<diagnostic::missing::type_name>>::value);
  static_assert(diagnostic::require<repr, NOT_A_LAYER<diagnostic::missing::repr>>::value);
  static_assert(diagnostic::require<accepts, NOT_A_LAYER<diagnostic::missing::accepts>>::value);
  static_assert(diagnostic::require<expected_input, NOT_A_LAYER<diagnostic::missing::expected_input>>::value);
  static_assert(diagnostic::require<output, NOT_A_LAYER<diagnostic::missing::output>>::value);
  static_assert(diagnostic::require<bound, NOT_A_LAYER<diagnostic::missing::bound>>::value);
  static constexpr bool spec_ok = type_name && repr && accepts && expected_input && output && bound;

  using L = typename layer_contract::bound_of<spec_ok, Spec, input, B, Path>::type;
  template <bool Ok>
  static constexpr bool if_bound = !spec_ok || Ok;
  static constexpr bool b_spec = if_bound<layer_contract::bound_has_spec<L>>;
  static constexpr bool b_path = if_bound<layer_contract::bound_has_path<L>>;
  static constexpr bool b_input_shape = if_bound<layer_contract::bound_has_input_shape<L, input>>;
  static constexpr bool b_output_shape = if_bound<layer_contract::bound_has_output_shape<L, out>>;
  static constexpr bool b_backend_type = if_bound<layer_contract::bound_has_backend_type<L, B>>;
  static constexpr bool b_constructor = if_bound<layer_contract::bound_constructible<L>>;
  static constexpr bool b_forward = if_bound<layer_contract::bound_has_forward<L, input, out, B>>;
  static constexpr bool b_backward = if_bound<layer_contract::bound_has_backward<L, input, B>>;
  static constexpr bool b_output = if_bound<layer_contract::bound_has_output<L, out, B>>;
  static constexpr bool b_parameter_count = if_bound<layer_contract::bound_has_parameter_count<L>>;
  static constexpr bool b_visit_parameters = if_bound<layer_contract::bound_has_visit_parameters<L, B>>;
  static constexpr bool b_copy = if_bound<std::copy_constructible<L>>;
  static_assert(diagnostic::require<b_spec, NOT_A_LAYER<diagnostic::missing::bound_spec>>::value);
  static_assert(diagnostic::require<b_path, NOT_A_LAYER<diagnostic::missing::bound_path>>::value);
  static_assert(diagnostic::require<b_input_shape, NOT_A_LAYER<diagnostic::missing::bound_input_shape>>::value);
  static_assert(diagnostic::require<b_output_shape, NOT_A_LAYER<diagnostic::missing::bound_output_shape>>::value);
  static_assert(diagnostic::require<b_backend_type, NOT_A_LAYER<diagnostic::missing::bound_backend_type>>::value);
  static_assert(diagnostic::require<b_constructor, NOT_A_LAYER<diagnostic::missing::bound_constructor>>::value);
  static_assert(diagnostic::require<b_forward, NOT_A_LAYER<diagnostic::missing::bound_forward>>::value);
  static_assert(diagnostic::require<b_backward, NOT_A_LAYER<diagnostic::missing::bound_backward>>::value);
  static_assert(diagnostic::require<b_output, NOT_A_LAYER<diagnostic::missing::bound_output>>::value);
  static_assert(diagnostic::require<b_parameter_count, NOT_A_LAYER<diagnostic::missing::bound_parameter_count>>::value);
  static_assert(diagnostic::require<b_visit_parameters, NOT_A_LAYER<diagnostic::missing::bound_visit_parameters>>::value);
  static_assert(diagnostic::require<b_copy, NOT_A_LAYER<diagnostic::missing::bound_copy>>::value);
  static constexpr bool ok = spec_ok && b_spec && b_path && b_input_shape && b_output_shape && b_backend_type &&
                             b_constructor && b_forward && b_backward && b_output && b_parameter_count &&
                             b_visit_parameters && b_copy;

 public:
  using spec = std::conditional_t<ok, Spec, invalid_layer<out>>;
};

// The spec that detail::bind_layer binds: Spec itself, once checked.
template <class Spec, class In, Backend B, auto Path>
using checked_layer_spec = typename checked_layer<Spec, In, B, Path>::spec;

// The shape a spec produces from In, for shape-only walks (Block::output): nothing is checked or
// reported there, a malformed spec passes In through and its bind reports it.
template <class Spec, class In>
using spec_output_t = typename layer_contract::output_of<Spec, typename layer_contract::input_of<Spec, In>::type>::type;

}  // namespace detail
}  // namespace ctnn
