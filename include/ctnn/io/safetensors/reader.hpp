#pragma once
// Reading safetensors files into state_dicts and models. Floating-point tensors (F16, BF16, F32, F64)
// convert to the state_dict's T (format.hpp says how); integer tensors and BOOL become int64 tensors
// (PyTorch's num_batches_tracked is I64); F8 tensors are an error naming the tensor. The whole file
// is read and validated before anything is returned or loaded: on any error a model is left as it was.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <type_traits>

#include "../../nn/state_dict.hpp"
#include "format.hpp"
#include "header.hpp"

namespace ctnn {

namespace safetensors::detail {
// The message of a ctnn::error without its "ctnn: " prefix.
inline std::string_view message_of(const error& e) {
  std::string_view m = e.what();
  if (m.starts_with("ctnn: ")) m.remove_prefix(6);
  return m;
}
}  // namespace safetensors::detail

// Every tensor of a safetensors file's bytes (`name` names them in errors) as a state_dict of T
// (float or double), in header order.
template <class T = double>
StateDict<T> load_state_dict_bytes(std::string_view bytes, const std::filesystem::path& name) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                "ctnn: load_state_dict_file<T> reads into float or double");
  namespace st = safetensors::detail;
  const safetensors::Header header = st::parse_file(bytes, name);
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data()) + header.data_start;
  StateDict<T> out;
  out.reserve(header.tensors.size());
  for (const auto& info : header.tensors) {
    const unsigned char* p = data + info.begin;
    const std::size_t n = (info.end - info.begin) / safetensors::dtype_size(info.dtype);
    switch (safetensors::kind_of(info.dtype)) {
      case safetensors::element_kind::floating: {
        StateTensor<T> t{info.name, info.shape, std::vector<T>(n)};
        st::decode_floating(info.dtype, p, n, t.values.data());
        out.push_back(std::move(t));
        break;
      }
      case safetensors::element_kind::integer: {
        auto t = StateTensor<T>::int64(info.name, info.shape, std::vector<std::int64_t>(n));
        if (!st::decode_integer(info.dtype, p, n, t.int64_values.data()))
          st::fail(name, cat("tensor '", info.name, "' (U64) holds a value above 2^63 - 1, which int64 cannot hold"));
        out.push_back(std::move(t));
        break;
      }
      case safetensors::element_kind::unsupported:
        st::fail(name, cat("tensor '", info.name, "' has dtype ", info.dtype,
                           "; ctnn loads F16, BF16, F32, F64, BOOL and integer tensors"));
    }
  }
  return out;
}
// The same from a file.
template <class T = double>
StateDict<T> load_state_dict_file(const std::filesystem::path& path) {
  const std::string bytes = safetensors::detail::read_whole_file(path);
  return load_state_dict_bytes<T>(bytes, path);
}

// load() from a checkpoint's bytes in memory; `name` names them in errors.
template <class Model>
  requires requires(Model& m, const StateDict<typename Model::scalar>& s) { m.load_state_dict(s); }
IncompatibleKeys load_bytes(Model& model, std::string_view bytes, const std::filesystem::path& name,
                            const LoadOptions& options = {}) {
  const auto state = load_state_dict_bytes<typename Model::scalar>(bytes, name);
  try {
    if constexpr (requires { model.load_state_dict(state, options); }) {
      return model.load_state_dict(state, options);
    } else {  // a wrapper whose load_state_dict is strict only
      if (!options.strict || !options.prefix.empty() || !options.submodule.empty())
        throw error("this model's load_state_dict takes no options (strict, prefix, submodule)");
      model.load_state_dict(state);
      return {};
    }
  } catch (const error& e) {
    safetensors::detail::fail(name, safetensors::detail::message_of(e));
  }
}

// Loads a safetensors checkpoint into model (model.load_state_dict's rules and options, state_dict.hpp).
// The whole file is read and checked, and every name and shape matched, before anything changes: on
// any error the model is left as it was. Errors start with the file's path.
template <class Model>
  requires requires(Model& m, const StateDict<typename Model::scalar>& s) { m.load_state_dict(s); }
IncompatibleKeys load(Model& model, const std::filesystem::path& path, const LoadOptions& options = {}) {
  const std::string bytes = safetensors::detail::read_whole_file(path);
  return load_bytes(model, bytes, path, options);
}

}  // namespace ctnn
