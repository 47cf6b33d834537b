#pragma once
// Residual<Body, Shortcut = Identity, After = Identity>: y = After(Body(x) + Shortcut(x)), the skip
// connection of ResNet. torchvision's BasicBlock is
//
//   Residual<Block<Named<"conv1", Conv2d<64, 64, 3, 1, 1>>, Named<"bn1", BatchNorm2d<64>>, ReLU,
//                  Named<"conv2", Conv2d<64, 64, 3, 1, 1>>, Named<"bn2", BatchNorm2d<64>>>,
//            Identity, ReLU>
//
// and a block that halves the map projects its shortcut as torchvision does:
//
//   Residual<Block<...stride 2...>, Named<"downsample", Block<Conv2d<64, 128, 1, 2>, BatchNorm2d<128>>>, ReLU>
//
// The body's children are the Residual's own (as a BasicBlock's conv1 and bn1 are), so under
// Named<"layer1.0", ...> their state is "layer1.0.conv1.weight", "layer1.0.bn1.running_mean" and the
// projection's "layer1.0.downsample.0.weight": a torchvision checkpoint loads by name. An unnamed
// shortcut or After is called "shortcut" or "after".
//
// A body whose output shape differs from its shortcut's is a compile error naming both:
//   RESIDUAL_SHAPES_DIFFER<layer<"layer2.0">, body<Shape<128, 4, 4>>, shortcut<Shape<64, 8, 8>>>
// Backward sends dL/d(sum) into both branches and adds their input gradients.
#include <cstddef>
#include <ostream>
#include <string>
#include <vector>

#include "../core/config.hpp"
#include "graph_node.hpp"
#include "identity.hpp"

namespace ctnn {

namespace detail {
// a + b, for the sum of the branches and of their input gradients (a device kernel's functor).
struct add_values {
  template <class T>
  CTNN_HD T operator()(T a, T b) const { return a + b; }
};
}  // namespace detail

template <class Body, class Shortcut = Identity, class After = Identity>
struct Residual {
  static constexpr std::string_view type_name = "Residual";

  template <class S>
  static constexpr bool accepts = true;  // the children check their own inputs
  template <class S>
  using expected_input = S;
  template <class S>
  using output = detail::spec_output_t<typename detail::naming<After>::spec,
                                       detail::spec_output_t<typename detail::naming<Body>::spec, S>>;

  template <class S, Backend B, fixed_string Path>
  class bound {
    using body_type = typename detail::bind_layer<Body, S, B, Path>::type;
    using shortcut_type =
        typename detail::bind_layer<Shortcut, S, B, detail::node_child_path<Path, Shortcut, "shortcut">()>::type;
    using sum_shape = typename body_type::output_shape;
    using after_type = typename detail::bind_layer<After, sum_shape, B,
                                                   detail::node_child_path<Path, After, "after">()>::type;
    static constexpr bool identity_shortcut = detail::is_identity<typename detail::naming<Shortcut>::spec>;
    static constexpr bool identity_after = detail::is_identity<typename detail::naming<After>::spec>;
    static_assert(diagnostic::require<std::is_same_v<sum_shape, typename shortcut_type::output_shape>,
                                      diagnostic::RESIDUAL_SHAPES_DIFFER<
                                          diagnostic::layer<Path>, diagnostic::body<sum_shape>,
                                          diagnostic::shortcut<typename shortcut_type::output_shape>>>::value);

   public:
    using spec = Residual;
    using input_shape = S;
    using output_shape = typename after_type::output_shape;
    using backend_type = B;
    using ops = backend::ops<B>;
    using scalar = scalar_t<B>;
    static constexpr auto path = Path;
    static constexpr std::size_t parameter_count =
        body_type::parameter_count + shortcut_type::parameter_count + after_type::parameter_count;

    // In PyTorch's order of construction: the body, then the shortcut, then After.
    explicit bound(Generator& g) : body_(g), shortcut_(g), after_(g) {}

    const Batch<output_shape, B>& forward(const Batch<S, B>& x, bool training) {
      const auto& b = body_.forward(x, training);
      const auto& s = shortcut_.forward(x, training);
      sum_.resize(x.batch_size());
      ops::zip(sum_.size(), b.data(), s.data(), sum_.data(), detail::add_values{});
      return after_.forward(sum_, training);
    }

    // input_grad == false: the parameter gradients only (the branches are told so too).
    const Batch<S, B>& backward(const Batch<S, B>& x, const scalar* dy, bool input_grad = true) {
      const scalar* dsum = dy;
      if constexpr (!identity_after) dsum = detail::node_backward(after_, sum_, dy, true).data();
      const auto& db = detail::node_backward(body_, x, dsum, input_grad);
      dx_.resize(x.batch_size());
      if constexpr (identity_shortcut) {
        if (input_grad) ops::zip(dx_.size(), db.data(), dsum, dx_.data(), detail::add_values{});
      } else {
        const bool need = input_grad || shortcut_type::parameter_count > 0;
        if (need) {
          const auto& ds = detail::node_backward(shortcut_, x, dsum, input_grad);
          if (input_grad) ops::zip(dx_.size(), db.data(), ds.data(), dx_.data(), detail::add_values{});
        }
      }
      return dx_;
    }

    const Batch<output_shape, B>& output() const { return after_.output(); }

    template <class F>
    void visit_parameters(F&& f) {
      body_.visit_parameters(f);
      shortcut_.visit_parameters(f);
      after_.visit_parameters(f);
    }
    template <class F>
    void visit_buffers(F&& f) {
      detail::node_visit_buffers(body_, f);
      detail::node_visit_buffers(shortcut_, f);
      detail::node_visit_buffers(after_, f);
    }
    template <class FP, class FB>
    void visit_state(FP&& on_parameter, FB&& on_buffer) {
      detail::node_visit_state(body_, on_parameter, on_buffer);
      detail::node_visit_state(shortcut_, on_parameter, on_buffer);
      detail::node_visit_state(after_, on_parameter, on_buffer);
    }

    body_type& body() { return body_; }
    shortcut_type& shortcut() { return shortcut_; }

    // As torchvision prints a BasicBlock: the body's children, then the shortcut (when it is not the
    // identity) and After, all at one level.
    static void print(std::ostream& os, std::string_view /*title*/, std::size_t indent) {
      os << type_name << "(\n";
      detail::node_print_inlined<body_type>(os, indent);
      if constexpr (!identity_shortcut) detail::node_print_child<shortcut_type>(os, indent + 2);
      if constexpr (!identity_after) detail::node_print_child<after_type>(os, indent + 2);
      os << std::string(indent, ' ') << ")";
    }
    static void summary_rows(std::vector<SummaryRow>& rows, std::size_t depth, std::size_t batch) {
      detail::node_summary_inlined<body_type>(rows, depth, batch);
      if constexpr (!identity_shortcut) detail::node_summary_row<shortcut_type>(rows, depth, batch);
      if constexpr (!identity_after) detail::node_summary_row<after_type>(rows, depth, batch);
    }

   private:
    body_type body_;
    shortcut_type shortcut_;
    after_type after_;
    Batch<sum_shape, B> sum_;
    Batch<S, B> dx_;
  };
};

// A Residual prints its children itself, as a Block does (it has no one-line repr()).
template <class Body, class Shortcut, class After>
inline constexpr bool layer_contract::is_block<Residual<Body, Shortcut, After>> = true;

}  // namespace ctnn
