#pragma once
// PyTorch's state_dict on the host: every parameter and persistent buffer of a model, by name, in
// PyTorch's order (per layer its parameters, then its buffers), and load_state_dict's matching rules.
//
//   auto state = model.state_dict();                        // StateDict<float> on eigen
//   model.load_state_dict(state);                           // strict: every key must match
//   auto keys = model.load_state_dict(state, {.strict = false});
//   keys.missing_keys, keys.unexpected_keys                 // PyTorch's _IncompatibleKeys
//   model.load_state_dict(full, {.prefix = "backbone."});   // keys "backbone.<name>" of a larger model
//   model.load_state_dict(part, {.submodule = "features"}); // PyTorch's model.features.load_state_dict(part)
//
// Matching, as torch.nn.Module.load_state_dict does it:
// - a key of the state_dict names the model tensor "<submodule>.<key without prefix>"; keys that do
//   not start with `prefix` belong to other modules and are ignored; with `submodule`, the model's
//   tensors outside it are neither loaded nor reported.
// - missing_keys: model tensors with no key (named as the state_dict would name them, prefix
//   included); unexpected_keys: keys (with the prefix) that name no model tensor. strict (the
//   default) makes either an error listing all of them; strict = false loads the tensors that match.
// - a shape mismatch, a value count that disagrees with the shape, an int64 tensor for a
//   floating-point one (or the reverse) and a key that appears twice are always errors, whatever
//   `strict` says, naming the key and both shapes.
// Nothing changes unless the whole load is valid: a wrong checkpoint never leaves a model half-loaded.
// Keys are matched through a hash map: loading N tensors costs O(N), not O(N^2).
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "../backend/backend.hpp"
#include "../core/error.hpp"
#include "buffer.hpp"
#include "parameter.hpp"

namespace ctnn {

// A host copy of one named tensor of a state_dict. Floating-point tensors (parameters, float buffers)
// hold their values in `values`; int64 tensors (num_batches_tracked) in `int64_values`, with
// is_int64 set and `values` empty.
template <class T>
struct StateTensor {
  std::string name;
  std::vector<std::size_t> shape;
  std::vector<T> values;
  std::vector<std::int64_t> int64_values = {};
  bool is_int64 = false;

  static StateTensor int64(std::string name, std::vector<std::size_t> shape, std::vector<std::int64_t> values) {
    return {std::move(name), std::move(shape), {}, std::move(values), true};
  }
  // Elements the shape describes (1 for a scalar).
  std::size_t numel() const {
    std::size_t n = 1;
    for (std::size_t d : shape) n *= d;
    return n;
  }
  // Values held (numel() when the tensor is well formed).
  std::size_t size() const { return is_int64 ? int64_values.size() : values.size(); }
};
template <class T>
using StateDict = std::vector<StateTensor<T>>;

inline std::string shape_string(const std::vector<std::size_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// How load_state_dict matches keys (see the top of this file).
struct LoadOptions {
  bool strict = true;
  std::string prefix = {};     // the state_dict's keys start with this ("backbone.")
  std::string submodule = {};  // load into this part of the model only ("conv_block_1")
};

// What a non-strict load skipped: PyTorch's _IncompatibleKeys.
struct IncompatibleKeys {
  std::vector<std::string> missing_keys;
  std::vector<std::string> unexpected_keys;

  bool empty() const { return missing_keys.empty() && unexpected_keys.empty(); }
  // PyTorch's repr: "<All keys matched successfully>" or
  // "_IncompatibleKeys(missing_keys=['a'], unexpected_keys=['b'])".
  friend std::ostream& operator<<(std::ostream& os, const IncompatibleKeys& k) {
    if (k.empty()) return os << "<All keys matched successfully>";
    auto list = [&](const std::vector<std::string>& v) {
      os << "[";
      for (std::size_t i = 0; i < v.size(); ++i) os << (i ? ", '" : "'") << v[i] << "'";
      os << "]";
    };
    os << "_IncompatibleKeys(missing_keys=";
    list(k.missing_keys);
    os << ", unexpected_keys=";
    list(k.unexpected_keys);
    return os << ")";
  }
};

namespace detail {

// The state_dict of anything with visit_state(on_parameter, on_buffer) (Block, Sequential).
template <class T, class Model>
StateDict<T> collect_state(Model& model) {
  StateDict<T> out;
  model.visit_state([&](auto& p) { out.push_back({p.name, p.shape, p.values_to_host()}); },
                    [&](auto& b) {
                      using Buf = std::remove_cvref_t<decltype(b)>;
                      if constexpr (Buf::is_int64) out.push_back(StateTensor<T>::int64(b.name, b.shape, b.values_to_host()));
                      else out.push_back({b.name, b.shape, b.values_to_host()});
                    });
  return out;
}

inline std::string kind_name(bool is_int64) { return is_int64 ? "an int64 tensor" : "a floating-point tensor"; }

// load_state_dict for anything with visit_state; `who` starts the error messages.
template <class T, class Model>
IncompatibleKeys load_state(Model& model, const StateDict<T>& state, const LoadOptions& options, std::string_view who) {
  const std::string_view prefix = options.prefix;
  const std::string inside = options.submodule.empty() ? std::string() : options.submodule + ".";

  // Keys (without the prefix) -> index in `state`.
  std::unordered_map<std::string_view, std::size_t> by_key;
  by_key.reserve(state.size());
  for (std::size_t i = 0; i < state.size(); ++i) {
    std::string_view key = state[i].name;
    if (!key.starts_with(prefix)) continue;
    key.remove_prefix(prefix.size());
    if (!by_key.emplace(key, i).second)
      throw error(cat(who, ": tensor '", state[i].name, "' appears twice in the state_dict"));
  }

  IncompatibleKeys keys;
  std::vector<std::string> problems;  // errors whatever `strict` says
  std::vector<bool> used(state.size(), false);
  std::vector<const StateTensor<T>*> sources;  // per model tensor in visit order; null: not loaded
  auto match = [&](const std::string& name, const std::vector<std::size_t>& shape, std::size_t size, bool is_int64) {
    std::string_view local = name;
    if (!local.starts_with(inside)) {
      sources.push_back(nullptr);
      return;
    }
    local.remove_prefix(inside.size());
    const auto it = by_key.find(local);
    if (it == by_key.end()) {
      keys.missing_keys.push_back(cat(prefix, local));
      sources.push_back(nullptr);
      return;
    }
    const StateTensor<T>& t = state[it->second];
    used[it->second] = true;
    sources.push_back(&t);
    const std::string where = t.name == name ? cat("tensor '", t.name, "'") : cat("tensor '", t.name, "' (the model's '", name, "')");
    if (t.is_int64 != is_int64)
      problems.push_back(cat(where, " is ", kind_name(t.is_int64), " but the model's is ", kind_name(is_int64)));
    else if (t.shape != shape)
      problems.push_back(cat(where, " has shape ", shape_string(t.shape), " but the model expects ", shape_string(shape)));
    else if (t.size() != size)
      problems.push_back(cat(where, " holds ", t.size(), " values for shape ", shape_string(shape)));
  };
  std::vector<std::string> missing_shapes;
  model.visit_state(
      [&](auto& p) {
        const std::size_t before = keys.missing_keys.size();
        match(p.name, p.shape, p.size(), false);
        if (keys.missing_keys.size() != before) missing_shapes.push_back(shape_string(p.shape));
      },
      [&](auto& b) {
        const std::size_t before = keys.missing_keys.size();
        match(b.name, b.shape, b.size(), std::remove_cvref_t<decltype(b)>::is_int64);
        if (keys.missing_keys.size() != before) missing_shapes.push_back(shape_string(b.shape));
      });
  std::vector<std::string> unexpected_shapes;
  for (std::size_t i = 0; i < state.size(); ++i) {
    const std::string_view key = state[i].name;
    if (!used[i] && key.starts_with(prefix)) {
      keys.unexpected_keys.push_back(state[i].name);
      unexpected_shapes.push_back(shape_string(state[i].shape));
    }
  }

  const bool refused = options.strict && !keys.empty();
  if (!problems.empty() || refused) {
    std::string message = cat(who, ": the state_dict does not fit the model");
    if (refused)
      message += cat(" (", keys.missing_keys.size(), " missing, ", keys.unexpected_keys.size(),
                     " unexpected; {.strict = false} loads the tensors that match)");
    for (const auto& p : problems) message += cat("\n  ", p);
    if (refused) {
      for (std::size_t i = 0; i < keys.missing_keys.size(); ++i)
        message += cat("\n  missing tensor '", keys.missing_keys[i], "' of shape ", missing_shapes[i]);
      for (std::size_t i = 0; i < keys.unexpected_keys.size(); ++i)
        message += cat("\n  unexpected tensor '", keys.unexpected_keys[i], "' of shape ", unexpected_shapes[i],
                       " (not in this model)");
    }
    throw error(message);
  }

  std::size_t i = 0;
  model.visit_state(
      [&](auto& p) {
        if (const auto* t = sources[i++]) p.values_from_host(t->values);
      },
      [&](auto& b) {
        using Buf = std::remove_cvref_t<decltype(b)>;
        if (const auto* t = sources[i++]) {
          if constexpr (Buf::is_int64) b.values_from_host(t->int64_values);
          else b.values_from_host(t->values);
        }
      });
  return keys;
}

}  // namespace detail
}  // namespace ctnn
