#pragma once
// Resumable training: an optimizer's state (torch's optimizer.state_dict(): per-parameter buffers and
// step counts, every group's options) and, optionally, its scheduler's counters, in one safetensors
// file beside the model's, written atomically (a crash leaves the old file or the new one, never half):
//   ctnn::save(model, dir / "model.safetensors");
//   optim::save_checkpoint(dir / "optimizer.safetensors", opt, scheduler);
//   ... in a fresh process, after making the model, optimizer and scheduler as before:
//   ctnn::load(model, dir / "model.safetensors");
//   optim::load_checkpoint(dir / "optimizer.safetensors", opt, scheduler);
// Tensors: "state.<parameter name>.<buffer>" (exp_avg, exp_avg_sq, momentum_buffer, ... in the backend's
// scalar type, so float state comes back bit for bit) and "state.<parameter name>.step" (I64), only for
// parameters that have stepped (torch's state is empty before). Metadata: the optimizer's name, each
// group's options ("param_groups.<g>.<field>", doubles printed with 17 digits so they read back
// exactly) and parameter names, the scheduler's last_epoch and base_lrs (ReduceLROnPlateau: best,
// num_bad_epochs, cooldown_counter). Not saved: a DataLoader's shuffling generator or any other RNG
// (resume at an epoch boundary and reseed it as the epoch number dictates).
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "../core/error.hpp"
#include "../io/safetensors.hpp"
#include "scheduler.hpp"

namespace ctnn::optim {

namespace detail {

inline std::string exact(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}
inline double parse_double(const std::string& s, const std::filesystem::path& path, std::string_view key) {
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0') throw error(cat(path.string(), ": checkpoint value of '", key, "' is not a number: ", s));
  return v;
}
// A counter (an epoch, a step): a whole number in [0, 2^53), so that the cast to std::size_t is defined.
inline std::size_t parse_count(const std::string& s, const std::filesystem::path& path, std::string_view key) {
  const double v = parse_double(s, path, key);
  if (!(v >= 0 && v < 9007199254740992.0) || v != static_cast<double>(static_cast<std::uint64_t>(v)))
    throw error(cat(path.string(), ": checkpoint value of '", key, "' is not a count: ", s));
  return static_cast<std::size_t>(v);
}
inline std::string join(const std::vector<double>& v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    out += exact(v[i]);
  }
  return out;
}
inline std::vector<double> split_doubles(const std::string& s, const std::filesystem::path& path,
                                         std::string_view key) {
  std::vector<double> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    const std::size_t comma = s.find(',', start);
    const std::string part = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    out.push_back(parse_double(part, path, key));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

struct field_writer {
  safetensors::Metadata& out;
  std::string prefix;
  void operator()(std::string_view name, double& v) const { out[cat(prefix, name)] = exact(v); }
  void operator()(std::string_view name, bool& v) const { out[cat(prefix, name)] = v ? "true" : "false"; }
  void operator()(std::string_view name, std::array<double, 2>& v) const {
    out[cat(prefix, name)] = join({v[0], v[1]});
  }
};
struct field_reader {
  const safetensors::Metadata& in;
  std::string prefix;
  const std::filesystem::path& path;
  const std::string& get(std::string_view name) const {
    const auto it = in.find(cat(prefix, name));
    if (it == in.end()) throw error(cat(path.string(), ": checkpoint has no '", prefix, name, "'"));
    return it->second;
  }
  void operator()(std::string_view name, double& v) const { v = parse_double(get(name), path, name); }
  void operator()(std::string_view name, bool& v) const { v = get(name) == "true"; }
  void operator()(std::string_view name, std::array<double, 2>& v) const {
    const auto d = split_doubles(get(name), path, name);
    if (d.size() != 2) throw error(cat(path.string(), ": checkpoint's '", prefix, name, "' is not a pair"));
    v = {d[0], d[1]};
  }
};

template <class Optimizer>
std::string group_names(const Optimizer& opt, std::size_t g) {
  std::string out;
  for (const auto* p : opt.param_groups()[g].params) {
    if (!out.empty()) out += ',';
    out += p->name;
  }
  return out;
}

template <class Scheduler>
void save_scheduler(Scheduler& s, safetensors::Metadata& meta) {
  meta["scheduler.last_epoch"] = std::to_string(s.last_epoch());
  meta["scheduler.base_lrs"] = join(s.base_lrs());
  if constexpr (requires { s.restore_plateau(0.0, 0, 0); }) {
    meta["scheduler.best"] = exact(s.best());
    meta["scheduler.num_bad_epochs"] = std::to_string(s.num_bad_epochs());
    meta["scheduler.cooldown_counter"] = std::to_string(s.cooldown_counter());
  }
}
template <class Scheduler>
void load_scheduler(Scheduler& s, const safetensors::Metadata& meta, const std::filesystem::path& path) {
  const field_reader r{meta, "scheduler.", path};
  s.restore(parse_count(r.get("last_epoch"), path, "last_epoch"),
            split_doubles(r.get("base_lrs"), path, "base_lrs"));
  if constexpr (requires { s.restore_plateau(0.0, 0, 0); })
    s.restore_plateau(parse_double(r.get("best"), path, "best"),
                      parse_count(r.get("num_bad_epochs"), path, "num_bad_epochs"),
                      parse_count(r.get("cooldown_counter"), path, "cooldown_counter"));
}

struct no_scheduler {};

template <class Optimizer, class Scheduler>
void save_impl(const std::filesystem::path& path, Optimizer& opt, Scheduler* scheduler) {
  using S = typename Optimizer::scalar;
  using B = typename Optimizer::backend_type;
  safetensors::Metadata meta;
  meta["format"] = "ctnn-optimizer";
  meta["optimizer"] = std::string(opt.name());
  meta["param_groups"] = std::to_string(opt.param_groups().size());
  for (std::size_t g = 0; g < opt.param_groups().size(); ++g) {
    opt.param_groups()[g].options.visit_fields(field_writer{meta, cat("param_groups.", g, ".")});
    meta[cat("param_groups.", g, ".params")] = group_names(opt, g);
  }
  if constexpr (!std::is_same_v<Scheduler, no_scheduler>) save_scheduler(*scheduler, meta);
  StateDict<S> state;
  const auto& params = opt.parameters();
  const auto& steps = opt.step_counts();
  for (std::size_t i = 0; i < params.size(); ++i)
    if (steps[i] > 0)
      state.push_back(StateTensor<S>::int64(cat("state.", params[i]->name, ".step"), {1},
                                            {static_cast<std::int64_t>(steps[i])}));
  opt.visit_state([&](std::size_t i, std::string_view key, buffer_t<B>& buffer) {
    if (steps[i] == 0) return;
    std::vector<S> host(buffer.size());
    backend::ops<B>::to_host(host.size(), buffer.data(), host.data());
    state.push_back({cat("state.", params[i]->name, ".", key), params[i]->shape, std::move(host)});
  });
  save_state_dict(state, path, meta);
}

template <class Optimizer, class Scheduler>
void load_impl(const std::filesystem::path& path, Optimizer& opt, Scheduler* scheduler) {
  using S = typename Optimizer::scalar;
  using B = typename Optimizer::backend_type;
  const safetensors::Metadata meta = safetensors::read_header(path).metadata;
  const field_reader top{meta, "", path};
  if (top.get("optimizer") != opt.name())
    throw error(cat(path.string(), ": checkpoint of a ", top.get("optimizer"), " optimizer loaded into ", opt.name()));
  if (top.get("param_groups") != std::to_string(opt.param_groups().size()))
    throw error(cat(path.string(), ": checkpoint has ", top.get("param_groups"), " parameter groups, the optimizer ",
                    opt.param_groups().size()));
  for (std::size_t g = 0; g < opt.param_groups().size(); ++g)
    if (top.get(cat("param_groups.", g, ".params")) != group_names(opt, g))
      throw error(cat(path.string(), ": parameter group ", g, " holds other parameters than the checkpoint's (",
                      top.get(cat("param_groups.", g, ".params")), ")"));
  const StateDict<S> state = load_state_dict_file<S>(path);
  std::map<std::string, const StateTensor<S>*> by_name;
  for (const auto& t : state) by_name[t.name] = &t;
  // Everything is read and checked before anything changes.
  auto groups = opt.param_groups();
  for (std::size_t g = 0; g < groups.size(); ++g)
    groups[g].options.visit_fields(field_reader{meta, cat("param_groups.", g, "."), path});
  const auto& params = opt.parameters();
  std::vector<std::size_t> steps(params.size(), 0);
  for (std::size_t i = 0; i < params.size(); ++i)
    if (auto it = by_name.find(cat("state.", params[i]->name, ".step")); it != by_name.end()) {
      const auto& t = *it->second;
      if (!t.is_int64 || t.int64_values.size() != 1 || t.int64_values[0] < 0)
        throw error(cat(path.string(), ": ", t.name, " is not one non-negative int64 step count"));
      steps[i] = static_cast<std::size_t>(t.int64_values[0]);
    }
  opt.visit_state([&](std::size_t i, std::string_view key, buffer_t<B>& buffer) {
    if (steps[i] == 0) return;
    const auto it = by_name.find(cat("state.", params[i]->name, ".", key));
    if (it == by_name.end()) throw error(cat(path.string(), ": checkpoint has no state.", params[i]->name, ".", key));
    if (it->second->values.size() != buffer.size())
      throw error(cat(path.string(), ": state.", params[i]->name, ".", key, " holds ", it->second->values.size(),
                      " values for ", buffer.size()));
  });
  opt.visit_state([&](std::size_t i, std::string_view key, buffer_t<B>& buffer) {
    if (steps[i] == 0) return backend::ops<B>::fill(buffer.size(), buffer.data(), S(0));
    const auto& values = by_name.at(cat("state.", params[i]->name, ".", key))->values;
    backend::ops<B>::from_host(buffer.size(), values.data(), buffer.data());
  });
  opt.param_groups() = std::move(groups);
  opt.step_counts() = steps;
  if constexpr (requires { opt.momentum_started(); })
    for (std::size_t i = 0; i < steps.size(); ++i) opt.momentum_started()[i] = steps[i] > 0;
  if constexpr (!std::is_same_v<Scheduler, no_scheduler>) load_scheduler(*scheduler, meta, path);
}

}  // namespace detail

// Saves the optimizer's state (and the scheduler's) to `path`, atomically.
template <class Optimizer>
void save_checkpoint(const std::filesystem::path& path, Optimizer& opt) {
  detail::save_impl(path, opt, static_cast<detail::no_scheduler*>(nullptr));
}
template <class Optimizer, class Scheduler>
void save_checkpoint(const std::filesystem::path& path, Optimizer& opt, Scheduler& scheduler) {
  detail::save_impl(path, opt, &scheduler);
}

// Loads a checkpoint of save_checkpoint into an optimizer made over the same parameters (same names, same
// groups) and a scheduler of the same kind; a mismatch throws.
template <class Optimizer>
void load_checkpoint(const std::filesystem::path& path, Optimizer& opt) {
  detail::load_impl(path, opt, static_cast<detail::no_scheduler*>(nullptr));
}
template <class Optimizer, class Scheduler>
void load_checkpoint(const std::filesystem::path& path, Optimizer& opt, Scheduler& scheduler) {
  detail::load_impl(path, opt, &scheduler);
}

}  // namespace ctnn::optim
