#pragma once
// What the graph layers (Residual, Concat) do with each of their children: bind it at a path, call its
// backward with or without the input gradient, walk its state in PyTorch's order, print it and list it
// in a summary, exactly as Block does for a chain.
#include <cstddef>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "block.hpp"

namespace ctnn::detail {

// Child spec L of the node at Path, under its Named name or else `fallback` ("shortcut", "0").
template <fixed_string Path, class L, fixed_string Fallback>
constexpr auto node_child_path() {
  if constexpr (naming<L>::named) return join_path<Path, naming<L>::name>();
  else return join_path<Path, Fallback>();
}

template <class C, class X, class Scalar>
decltype(auto) node_backward(C& c, const X& x, const Scalar* dy, bool input_grad) {
  if constexpr (requires { c.backward(x, dy, input_grad); }) return c.backward(x, dy, input_grad);
  else return c.backward(x, dy);
}

template <class C, class FP, class FB>
void node_visit_state(C& c, FP& on_parameter, FB& on_buffer) {
  if constexpr (requires { c.visit_state(on_parameter, on_buffer); }) {
    c.visit_state(on_parameter, on_buffer);
  } else {
    c.visit_parameters(on_parameter);
    if constexpr (requires { c.visit_buffers(on_buffer); }) c.visit_buffers(on_buffer);
  }
}
template <class C, class F>
void node_visit_buffers(C& c, F& f) {
  if constexpr (requires { c.visit_buffers(f); }) c.visit_buffers(f);
}

// "(name): <repr>" lines of one child at `indent`; a Block prints its own children.
template <class C>
void node_print_child(std::ostream& os, std::size_t indent) {
  os << std::string(indent, ' ') << "(" << leaf_name(C::path.view()) << "): ";
  if constexpr (requires { C::print(os, std::string_view{}, indent); }) C::print(os, "Sequential", indent);
  else os << C::spec::repr();
  os << "\n";
}
// The lines of a Block's children without its "Sequential(" and ")" lines, for a node whose body's
// children are its own (torchvision's BasicBlock lists conv1, bn1, ... directly).
template <class C>
void node_print_inlined(std::ostream& os, std::size_t indent) {
  if constexpr (requires { C::print(os, std::string_view{}, indent); }) {
    std::ostringstream inner;
    C::print(inner, "", indent);
    std::string text = inner.str();
    text = text.substr(text.find('\n') + 1);                          // "(\n"
    text = text.substr(0, text.size() - (indent + 1));                // the closing ")"
    os << text;
  } else {
    node_print_child<C>(os, indent + 2);
  }
}

template <class C>
void node_summary_row(std::vector<SummaryRow>& rows, std::size_t depth, std::size_t batch) {
  constexpr bool container = requires { C::summary_rows(rows, depth, batch); };
  rows.push_back({depth, std::string(C::path.view()), std::string(C::spec::type_name),
                  C::output_shape::str_with_batch(batch), C::output_shape::size, C::parameter_count, container});
  if constexpr (container) C::summary_rows(rows, depth + 1, batch);
}
// A body whose children are the node's own: its rows at the node's depth.
template <class C>
void node_summary_inlined(std::vector<SummaryRow>& rows, std::size_t depth, std::size_t batch) {
  if constexpr (requires { C::summary_rows(rows, depth, batch); }) C::summary_rows(rows, depth, batch);
  else node_summary_row<C>(rows, depth, batch);
}

}  // namespace ctnn::detail
