#pragma once
// Writing safetensors files: a state_dict's floating-point tensors as F32 (float) or F64 (double),
// its int64 tensors (num_batches_tracked) as I64, in state_dict order, the header padded with spaces
// so that the data section starts 8-byte aligned. Writes are atomic (io/atomic_file.hpp, shared with
// the PNG writer): on any failure an existing file is left exactly as it was.
#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "../../nn/state_dict.hpp"
#include "../atomic_file.hpp"
#include "format.hpp"

namespace ctnn {

namespace safetensors::detail {

inline void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (u < 0x20) {
      out += "\\u00";
      out += hex[u >> 4];
      out += hex[u & 0xF];
    } else out += c;
  }
  out += '"';
}

}  // namespace safetensors::detail

// Writes a state_dict as a safetensors file, atomically. `metadata` goes to "__metadata__"
// (safetensors.torch writes {"format": "pt"}).
template <class T>
void save_state_dict(const StateDict<T>& state, const std::filesystem::path& path,
                     const safetensors::Metadata& metadata = {}) {
  namespace st = safetensors::detail;
  constexpr std::string_view floating_dtype = safetensors::dtype_of<T>();
  std::string header = "{";
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [key, value] : metadata) {
      if (!first) header += ',';
      first = false;
      st::append_json_string(header, key);
      header += ':';
      st::append_json_string(header, value);
    }
    header += "}";
  }
  {
    std::vector<const std::string*> names;
    names.reserve(state.size());
    for (const auto& t : state) names.push_back(&t.name);
    std::sort(names.begin(), names.end(), [](const std::string* a, const std::string* b) { return *a < *b; });
    for (std::size_t i = 1; i < names.size(); ++i)
      if (*names[i] == *names[i - 1])
        st::fail(path, cat("cannot save: tensor '", *names[i], "' appears twice in the state_dict"));
  }
  std::size_t offset = 0;
  for (const auto& t : state) {
    if (t.name == "__metadata__") st::fail(path, "cannot save: a tensor may not be named '__metadata__'");
    std::size_t count = 1;
    for (std::size_t d : t.shape) {
      if (d != 0 && count > std::numeric_limits<std::size_t>::max() / d)
        st::fail(path, cat("cannot save: tensor '", t.name, "' has an impossibly large shape ", shape_string(t.shape)));
      count *= d;
    }
    if (count != t.size())
      st::fail(path, cat("cannot save: tensor '", t.name, "' of shape ", shape_string(t.shape), " holds ", t.size(),
                         " values"));
    if (header.size() > 1) header += ',';
    st::append_json_string(header, t.name);
    header += cat(":{\"dtype\":\"", t.is_int64 ? std::string_view("I64") : floating_dtype, "\",\"shape\":[");
    for (std::size_t d = 0; d < t.shape.size(); ++d) header += cat(d ? "," : "", t.shape[d]);
    const std::size_t bytes = count * (t.is_int64 ? sizeof(std::int64_t) : sizeof(T));
    header += cat("],\"data_offsets\":[", offset, ",", offset + bytes, "]}");
    offset += bytes;
  }
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');  // the data section starts 8-byte aligned

  std::string file;
  file.reserve(8 + header.size() + offset);
  st::store_le(static_cast<std::uint64_t>(header.size()), file);
  file += header;
  for (const auto& t : state) {
    if (t.is_int64)
      for (const std::int64_t v : t.int64_values) st::store_le(static_cast<std::uint64_t>(v), file);
    else
      for (const T v : t.values) st::store_le(std::bit_cast<st::bits_of<T>>(v), file);
  }
  io::write_file_atomically(path, file);
}

// Saves model.state_dict() (PyTorch names and layouts, parameters and buffers), atomically.
template <class Model>
  requires requires(Model& m) { m.state_dict(); }
void save(Model& model, const std::filesystem::path& path, const safetensors::Metadata& metadata = {}) {
  save_state_dict(model.state_dict(), path, metadata);
}

}  // namespace ctnn
