#pragma once
// Concat<Branch...>: every branch sees the same input and their outputs are joined along the channels
// (torch.cat(dim=1)), the Inception module's join:
//
//   Concat<Conv2d<192, 64, 1>, Block<Conv2d<192, 96, 1>, ReLU, Conv2d<96, 128, 3, 1, 1>>, ...>
//
// Outputs must agree in every dimension but the first; otherwise the build stops with
// CONCAT_SHAPES_DIFFER<layer<path>, <first branch's shape>, <the other's>>. Branches are named by
// index ("3.0.weight", as in an nn.ModuleList) unless Named. Backward hands each branch its slice of
// dL/dy and adds their input gradients.
#include <cstddef>
#include <ostream>
#include <string>
#include <tuple>
#include <vector>

#include "graph_node.hpp"
#include "residual.hpp"

namespace ctnn {

namespace detail {
template <class First, class Other>
inline constexpr bool concat_compatible = [] {
  if constexpr (First::rank != Other::rank || First::rank == 0) {
    return false;
  } else {
    for (std::size_t i = 1; i < First::rank; ++i)
      if (First::dims[i] != Other::dims[i]) return false;
    return true;
  }
}();

template <class Shape, std::size_t Channels>
struct with_channels;
template <std::size_t C, std::size_t... Rest, std::size_t Channels>
struct with_channels<Shape<C, Rest...>, Channels> {
  using type = Shape<Channels, Rest...>;
};
// The branches' outputs on S with their channels summed (shapes only).
template <class S, class... Branches>
struct concat_output {
  using type = typename with_channels<
      spec_output_t<typename naming<std::tuple_element_t<0, std::tuple<Branches...>>>::spec, S>,
      (std::size_t{0} + ... + spec_output_t<typename naming<Branches>::spec, S>::dims[0])>::type;
};
}  // namespace detail

template <class... Branches>
struct Concat {
  static_assert(sizeof...(Branches) > 0, "ctnn: Concat needs at least one branch");
  static constexpr std::string_view type_name = "Concat";

  template <class S>
  static constexpr bool accepts = true;
  template <class S>
  using expected_input = S;
  template <class S>
  using output = typename detail::concat_output<S, Branches...>::type;

  template <class S, Backend B, fixed_string Path>
  class bound {
    template <std::size_t... I>
    static auto bind_all(std::index_sequence<I...>)
        -> std::tuple<typename detail::bind_layer<Branches, S, B,
                                                  detail::node_child_path<Path, Branches, to_fixed_string<I>()>()>::type...>;
    using children_type = decltype(bind_all(std::index_sequence_for<Branches...>{}));
    static constexpr std::size_t count = sizeof...(Branches);
    template <std::size_t I>
    using child = std::tuple_element_t<I, children_type>;
    using first_shape = typename child<0>::output_shape;
    template <std::size_t I>
    static constexpr bool check_branch = diagnostic::require<
        detail::concat_compatible<first_shape, typename child<I>::output_shape>,
        diagnostic::CONCAT_SHAPES_DIFFER<diagnostic::layer<Path>, first_shape, typename child<I>::output_shape>>::value;
    static_assert([]<std::size_t... I>(std::index_sequence<I...>) { return (check_branch<I> && ...); }(
        std::index_sequence_for<Branches...>{}));
    // Values per sample of branch I's output, and where its slice starts in ours.
    template <std::size_t I>
    static constexpr std::size_t width = child<I>::output_shape::size;
    template <std::size_t I>
    static constexpr std::size_t offset = []<std::size_t... J>(std::index_sequence<J...>) {
      return (std::size_t{0} + ... + width<J>);
    }(std::make_index_sequence<I>{});

   public:
    using spec = Concat;
    using input_shape = S;
    using output_shape = typename detail::concat_output<S, Branches...>::type;
    using backend_type = B;
    using ops = backend::ops<B>;
    using scalar = scalar_t<B>;
    static constexpr auto path = Path;
    static constexpr std::size_t parameter_count =
        []<std::size_t... I>(std::index_sequence<I...>) { return (std::size_t{0} + ... + child<I>::parameter_count); }(
            std::index_sequence_for<Branches...>{});

    explicit bound(Generator& g) : children_(make(g, std::index_sequence_for<Branches...>{})) {}

    const Batch<output_shape, B>& forward(const Batch<S, B>& x, bool training) {
      y_.resize(x.batch_size());
      forward_each(x, training, std::index_sequence_for<Branches...>{});
      return y_;
    }

    const Batch<S, B>& backward(const Batch<S, B>& x, const scalar* dy, bool input_grad = true) {
      const std::size_t n = x.batch_size();
      dx_.resize(n);
      backward_each(x, dy, input_grad, n, std::index_sequence_for<Branches...>{});
      return dx_;
    }

    const Batch<output_shape, B>& output() const { return y_; }

    template <class F>
    void visit_parameters(F&& f) {
      std::apply([&](auto&... c) { (c.visit_parameters(f), ...); }, children_);
    }
    template <class F>
    void visit_buffers(F&& f) {
      std::apply([&](auto&... c) { (detail::node_visit_buffers(c, f), ...); }, children_);
    }
    template <class FP, class FB>
    void visit_state(FP&& on_parameter, FB&& on_buffer) {
      std::apply([&](auto&... c) { (detail::node_visit_state(c, on_parameter, on_buffer), ...); }, children_);
    }

    template <std::size_t I>
    auto& get() { return std::get<I>(children_); }

    static void print(std::ostream& os, std::string_view /*title*/, std::size_t indent) {
      os << type_name << "(\n";
      [&]<std::size_t... I>(std::index_sequence<I...>) { (detail::node_print_child<child<I>>(os, indent + 2), ...); }(
          std::index_sequence_for<Branches...>{});
      os << std::string(indent, ' ') << ")";
    }
    static void summary_rows(std::vector<SummaryRow>& rows, std::size_t depth, std::size_t batch) {
      [&]<std::size_t... I>(std::index_sequence<I...>) { (detail::node_summary_row<child<I>>(rows, depth, batch), ...); }(
          std::index_sequence_for<Branches...>{});
    }

   private:
    template <std::size_t... I>
    static children_type make(Generator& g, std::index_sequence<I...>) {
      return children_type{child<I>(g)...};  // braced: branches are initialised in order
    }

    // Sample by sample: branch I's [width] values go to [offset, offset + width) of each output row.
    template <std::size_t... I>
    void forward_each(const Batch<S, B>& x, bool training, std::index_sequence<I...>) {
      (scatter<I>(std::get<I>(children_).forward(x, training), x.batch_size()), ...);
    }
    template <std::size_t I, class Y>
    void scatter(const Y& branch, std::size_t n) {
      for (std::size_t s = 0; s < n; ++s)
        ops::copy(width<I>, branch.data() + s * width<I>, y_.data() + s * output_shape::size + offset<I>);
    }

    template <std::size_t... I>
    void backward_each(const Batch<S, B>& x, const scalar* dy, bool input_grad, std::size_t n,
                       std::index_sequence<I...>) {
      bool first = true;
      (backward_branch<I>(x, dy, input_grad, n, first), ...);
    }
    template <std::size_t I>
    void backward_branch(const Batch<S, B>& x, const scalar* dy, bool input_grad, std::size_t n, bool& first) {
      if (!input_grad && child<I>::parameter_count == 0) return;
      auto& slice = std::get<I>(slices_);
      slice.resize(n);
      for (std::size_t s = 0; s < n; ++s)
        ops::copy(width<I>, dy + s * output_shape::size + offset<I>, slice.data() + s * width<I>);
      const auto& dxi = detail::node_backward(std::get<I>(children_), x, slice.data(), input_grad);
      if (!input_grad) return;
      if (first) ops::copy(dx_.size(), dxi.data(), dx_.data());
      else ops::zip(dx_.size(), dx_.data(), dxi.data(), dx_.data(), detail::add_values{});
      first = false;
    }

    template <class Idx>
    struct slices_of;
    template <std::size_t... I>
    struct slices_of<std::index_sequence<I...>> {
      using type = std::tuple<Batch<typename child<I>::output_shape, B>...>;
    };

    children_type children_;
    typename slices_of<std::index_sequence_for<Branches...>>::type slices_;  // each branch's dL/dy
    Batch<output_shape, B> y_;
    Batch<S, B> dx_;
  };
};

template <class... Branches>
inline constexpr bool layer_contract::is_block<Concat<Branches...>> = true;

}  // namespace ctnn
