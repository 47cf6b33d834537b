#pragma once
// Composition. Block<L...> chains layer specs (PyTorch's nn.Sequential inside a model); Named<"name", L>
// gives a child the name PyTorch would use (self.conv_block_1 = ...), otherwise children are named by
// index. Binding a Block to an input shape walks its children at compile time, feeding each the shape
// the previous one produces; a child that cannot take it stops the build with one error that names
// the child's path, its spec, the shape it expects and the shape it got.
#include <cstddef>
#include <functional>
#include <ostream>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "anomaly.hpp"
#include "layer.hpp"

namespace ctnn {

template <class... Layers>
struct Block;

template <fixed_string Name, class Layer>
struct Named : Layer {
  static constexpr auto name = Name;
  using layer = Layer;
  using named_self = Named;  // what detail::naming recognises a Named by
};

namespace detail {

template <class L>
struct naming {
  using spec = L;
  static constexpr bool named = false;
};
// Recognised by its members rather than by the pattern Named<N, L>: nvcc 13's front end matches no
// partial specialisation over a deduced class-type (or auto) template parameter, and a Named would
// then pass for its layer (it derives from it) under its index instead of its name.
template <class L>
  requires std::is_same_v<typename L::named_self, L>
struct naming<L> {
  using spec = typename L::layer;
  static constexpr bool named = true;
  static constexpr auto name = L::name;
};

// Path of child I (spec L) of the block at Path: "conv_block_1.0", "classifier", "3".
template <fixed_string Path, std::size_t I, class L>
constexpr auto child_path() {
  if constexpr (naming<L>::named) return join_path<Path, naming<L>::name>();
  else return join_path<Path, to_fixed_string<I>()>();
}

// Checks that spec L takes In. If not, reports it and carries on as if L had received the shape it
// wanted, so one mistake gives one error rather than a cascade.
template <class L, class In, Backend B, fixed_string Path>
struct bind_layer {
  using spec = checked_layer_spec<typename naming<L>::spec, In, B, Path>;  // the layer contract (layer_concepts.hpp)
  static constexpr bool fits = spec::template accepts<In>;
  using input = std::conditional_t<fits, In, typename spec::template expected_input<In>>;
  static_assert(diagnostic::require<fits, diagnostic::LAYER_INPUT_SHAPE_MISMATCH<diagnostic::layer<Path>, spec,
                                                                              diagnostic::expects<input>,
                                                                              diagnostic::got<In>>>::value);
  using type = typename spec::template bound<input, B, Path>;
};

template <class... T>
struct type_list {};
template <class Head, class List>
struct prepend;
template <class Head, class... T>
struct prepend<Head, type_list<T...>> {
  using type = type_list<Head, T...>;
};

template <std::size_t I, class In, Backend B, auto Path, class... Ls>
struct bind_chain {
  using bound = type_list<>;
  using output = In;
};
template <std::size_t I, class In, Backend B, auto Path, class L, class... Rest>
struct bind_chain<I, In, B, Path, L, Rest...> {
  using head = typename bind_layer<L, In, B, child_path<Path, I, L>()>::type;
  using next = bind_chain<I + 1, typename head::output_shape, B, Path, Rest...>;
  using output = typename next::output;
  using bound = typename prepend<head, typename next::bound>::type;
};

// Output shape of a chain of specs, shapes only (nothing is bound, nothing is reported).
template <class In, class... Ls>
struct output_chain {
  using type = In;
};
template <class In, class L, class... Rest>
struct output_chain<In, L, Rest...> {
  using type = typename output_chain<spec_output_t<typename naming<L>::spec, In>, Rest...>::type;
};

template <class List>
struct tuple_of;
template <class... T>
struct tuple_of<type_list<T...>> {
  using type = std::tuple<T...>;
};

// Last component of a dotted path ("conv_block_1.0" -> "0").
inline std::string_view leaf_name(std::string_view path) {
  const auto dot = path.rfind('.');
  return dot == std::string_view::npos ? path : path.substr(dot + 1);
}

}  // namespace detail

// One row of a model summary.
struct SummaryRow {
  std::size_t depth;
  std::string name;        // "conv_block_1.0"
  std::string type_name;   // "Conv2d"
  std::string output;      // "[32, 10, 28, 28]"
  std::size_t output_size;  // values per sample of the output
  std::size_t parameters;   // learnable values in this layer (and its children)
  bool is_container;
};

template <class... Layers>
struct Block {
  static_assert(sizeof...(Layers) > 0, "ctnn: a Block needs at least one layer");
  static constexpr std::string_view type_name = "Sequential";

  template <class S>
  static constexpr bool accepts = true;  // each child checks its own input
  template <class S>
  using expected_input = S;
  template <class S>
  using output = typename detail::output_chain<S, Layers...>::type;

  template <class S, Backend B, fixed_string Path>
  class bound {
    using chain = detail::bind_chain<0, S, B, Path, Layers...>;
    using children_type = typename detail::tuple_of<typename chain::bound>::type;
    static constexpr std::size_t count = sizeof...(Layers);
    template <std::size_t I>
    using child = std::tuple_element_t<I, children_type>;

   public:
    using spec = Block;
    using input_shape = S;
    using output_shape = typename chain::output;
    using backend_type = B;
    using scalar = scalar_t<B>;
    static constexpr auto path = Path;
    static constexpr std::size_t parameter_count =
        []<std::size_t... I>(std::index_sequence<I...>) { return (std::size_t{0} + ... + child<I>::parameter_count); }(
            std::make_index_sequence<count>{});

    // Children are constructed in order, so parameters are initialised in PyTorch's order.
    explicit bound(Generator& g) : children_(make_children(g, std::make_index_sequence<count>{})) {}

    const Batch<output_shape, B>& forward(const Batch<S, B>& x, bool training) {
      return forward_from<0, false>(x, training, 0);
    }
    // input_grad == false: parameter gradients only (see layer.hpp); the layers below the lowest one
    // with parameters are not run at all.
    const Batch<S, B>& backward(const Batch<S, B>& x, const scalar* dy, bool input_grad = true) {
      return backward_from<count - 1, false>(x, dy, input_grad, 0);
    }
    // The same walks in anomaly mode (anomaly.hpp): each child's output, parameter gradients and input
    // gradient are checked for NaN and infinity as soon as they are computed; `step` is for the message.
    const Batch<output_shape, B>& forward_checked(const Batch<S, B>& x, bool training, std::size_t step) {
      return forward_from<0, true>(x, training, step);
    }
    const Batch<S, B>& backward_checked(const Batch<S, B>& x, const scalar* dy, bool input_grad, std::size_t step) {
      return backward_from<count - 1, true>(x, dy, input_grad, step);
    }
    const Batch<output_shape, B>& output() const { return std::get<count - 1>(children_).output(); }

    // Called with child I's index as soon as child I's backward has finished (last child first), when
    // its parameter gradients are final: DistributedDataParallel starts all-reducing them there, while
    // the children below are still running backward. Not called for children backward skips.
    std::function<void(std::size_t)> after_child_backward;

    template <class F>
    void visit_parameters(F&& f) {
      std::apply([&](auto&... c) { (c.visit_parameters(f), ...); }, children_);
    }
    // The buffers of the children that have any (buffer.hpp).
    template <class F>
    void visit_buffers(F&& f) {
      std::apply([&](auto&... c) { (visit_child_buffers(c, f), ...); }, children_);
    }
    // Parameters and buffers in PyTorch's state_dict order: each layer's parameters, then its buffers.
    template <class FP, class FB>
    void visit_state(FP&& on_parameter, FB&& on_buffer) {
      std::apply([&](auto&... c) { (visit_child_state(c, on_parameter, on_buffer), ...); }, children_);
    }

    template <std::size_t I>
    auto& get() { return std::get<I>(children_); }

    // PyTorch's repr: "Sequential(\n  (0): Linear(...)\n)".
    static void print(std::ostream& os, std::string_view title, std::size_t indent) {
      os << title << "(\n";
      print_children(os, indent + 2, std::make_index_sequence<count>{});
      os << std::string(indent, ' ') << ")";
    }
    static void summary_rows(std::vector<SummaryRow>& rows, std::size_t depth, std::size_t batch) {
      append_rows(rows, depth, batch, std::make_index_sequence<count>{});
    }

   private:
    template <class C, class F>
    static void visit_child_buffers(C& c, F& f) {
      if constexpr (requires { c.visit_buffers(f); }) c.visit_buffers(f);
    }
    template <class C, class FP, class FB>
    static void visit_child_state(C& c, FP& on_parameter, FB& on_buffer) {
      if constexpr (requires { c.visit_state(on_parameter, on_buffer); }) {
        c.visit_state(on_parameter, on_buffer);
      } else {
        c.visit_parameters(on_parameter);
        visit_child_buffers(c, on_buffer);
      }
    }

    template <std::size_t... I>
    static children_type make_children(Generator& g, std::index_sequence<I...>) {
      // Braced initialisation evaluates left to right.
      return children_type{child<I>(g)...};
    }

    template <std::size_t I, bool Check, class X>
    decltype(auto) forward_from(const X& x, bool training, std::size_t step) {
      const auto& y = forward_child<Check>(std::get<I>(children_), x, training, step);
      if constexpr (I + 1 == count) return (y);
      else return forward_from<I + 1, Check>(y, training, step);
    }
    template <bool Check, class C, class X>
    static decltype(auto) forward_child(C& c, const X& x, bool training, std::size_t step) {
      // A child bound to another input shape: the mismatch is reported where it was bound (bind_layer)
      // and this code never runs; passing over it keeps that report the only error.
      if constexpr (!requires { c.forward(x, training); }) {
        return c.output();
      } else if constexpr (!Check) {
        return c.forward(x, training);
      } else if constexpr (requires { c.forward_checked(x, training, step); }) {
        return c.forward_checked(x, training, step);  // a Block checks its own children
      } else {
        const auto& y = c.forward(x, training);
        detail::check_output<C>(y, step);
        return (y);
      }
    }

    // Parameters of the children before child I.
    template <std::size_t I>
    static constexpr std::size_t parameters_before = []<std::size_t... J>(std::index_sequence<J...>) {
      return (std::size_t{0} + ... + child<J>::parameter_count);
    }(std::make_index_sequence<I>{});

    template <std::size_t I, bool Check>
    const Batch<S, B>& backward_from(const Batch<S, B>& x, const scalar* dy, bool input_grad, std::size_t step) {
      // Child I must produce its input gradient if the caller wants ours or a child below has parameters.
      const bool need = input_grad || parameters_before<I> > 0;
      if (!need && child<I>::parameter_count == 0) return no_input_grad_;
      auto& c = std::get<I>(children_);
      if constexpr (I == 0) {
        const auto& dx = backward_child<Check>(c, x, dy, need, step);
        if (after_child_backward) after_child_backward(I);
        return dx;
      } else {
        const auto& dx = backward_child<Check>(c, std::get<I - 1>(children_).output(), dy, need, step);
        if (after_child_backward) after_child_backward(I);
        if (!need) return no_input_grad_;
        return backward_from<I - 1, Check>(x, dx.data(), input_grad, step);
      }
    }
    template <bool Check, class C, class X>
    static decltype(auto) backward_child(C& c, const X& x, const scalar* dy, bool input_grad, std::size_t step) {
      if constexpr (Check && requires { c.backward_checked(x, dy, input_grad, step); }) {
        return c.backward_checked(x, dy, input_grad, step);  // a Block checks its own children
      } else if constexpr (!Check) {
        return backward_leaf(c, x, dy, input_grad);
      } else {
        const auto& dx = backward_leaf(c, x, dy, input_grad);
        detail::check_parameter_grads(c, step);
        if (input_grad) detail::check_input_grad<C>(dx, step);
        return (dx);
      }
    }
    template <class C, class X>
    static decltype(auto) backward_leaf(C& c, const X& x, const scalar* dy, bool input_grad) {
      if constexpr (requires { c.backward(x, dy, input_grad); }) return c.backward(x, dy, input_grad);
      else if constexpr (requires { c.backward(x, dy); }) return c.backward(x, dy);
      else return (x);  // an input shape mismatch, reported where the child was bound (see forward_child)
    }

    template <std::size_t... I>
    static void print_children(std::ostream& os, std::size_t indent, std::index_sequence<I...>) {
      ((os << std::string(indent, ' ') << "(" << detail::leaf_name(child<I>::path.view()) << "): ",
        print_child<child<I>>(os, indent), os << "\n"),
       ...);
    }
    template <class C>
    static void print_child(std::ostream& os, std::size_t indent) {
      if constexpr (requires { C::print(os, std::string_view{}, indent); }) C::print(os, "Sequential", indent);
      else os << C::spec::repr();
    }

    template <std::size_t... I>
    static void append_rows(std::vector<SummaryRow>& rows, std::size_t depth, std::size_t batch,
                            std::index_sequence<I...>) {
      (append_row<child<I>>(rows, depth, batch), ...);
    }
    template <class C>
    static void append_row(std::vector<SummaryRow>& rows, std::size_t depth, std::size_t batch) {
      constexpr bool container = requires { C::summary_rows(rows, depth, batch); };
      rows.push_back({depth, std::string(C::path.view()), std::string(C::spec::type_name),
                      C::output_shape::str_with_batch(batch), C::output_shape::size, C::parameter_count, container});
      if constexpr (container) C::summary_rows(rows, depth + 1, batch);
    }

    children_type children_;
    Batch<S, B> no_input_grad_;  // what backward returns when no input gradient was computed (empty)
  };
};

}  // namespace ctnn
