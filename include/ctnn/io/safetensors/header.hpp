#pragma once
// Reading a safetensors header: the length prefix, the JSON (json.hpp) within safetensors::Limits, and
// validation against the data section: every dtype known, every tensor's byte count equal to its
// shape times its element size (without overflow), offsets in range, and the tensors tiling the data
// section exactly (no gaps, no overlaps, nothing after). Duplicate names are found by sorting
// (O(N log N): 80 000 names take milliseconds).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "../regular_file.hpp"
#include "format.hpp"
#include "json.hpp"

namespace ctnn::safetensors {
namespace detail {

inline std::string offsets_string(const TensorInfo& t) { return cat("[", t.begin, ", ", t.end, "]"); }

// Checks dtypes, sizes and offsets against a data section of data_size bytes.
inline void validate(const Header& h, std::size_t data_size, const std::filesystem::path& path) {
  for (const auto& t : h.tensors) {
    const std::size_t element = dtype_size(t.dtype);
    if (element == 0) fail(path, cat("tensor ", in_quotes(t.name), " has an unknown dtype ", in_quotes(t.dtype)));
    std::size_t bytes = element;
    for (std::size_t d : t.shape) {
      if (d != 0 && bytes > std::numeric_limits<std::size_t>::max() / d)
        fail(path, cat("tensor ", in_quotes(t.name), " has an impossibly large shape ", dims_string(t.shape)));
      bytes *= d;
    }
    if (t.end < t.begin)
      fail(path, cat("tensor ", in_quotes(t.name), " has data_offsets ", offsets_string(t), " that end before they begin"));
    if (t.end > data_size)
      fail(path, cat("tensor ", in_quotes(t.name), " has data_offsets ", offsets_string(t),
                     " out of range: the data section holds ", data_size, " bytes"));
    if (t.end - t.begin != bytes)
      fail(path, cat("tensor ", in_quotes(t.name), " of shape ", dims_string(t.shape), " and dtype ", t.dtype, " needs ",
                     bytes, " bytes but its data_offsets ", offsets_string(t), " span ", t.end - t.begin));
  }
  std::vector<const TensorInfo*> order;
  for (const auto& t : h.tensors) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  std::size_t covered = 0;
  const TensorInfo* previous = nullptr;
  for (const TensorInfo* t : order) {
    if (t->begin < covered)
      fail(path, cat("tensor ", in_quotes(t->name), " (data_offsets ", offsets_string(*t), ") overlaps tensor ",
                     in_quotes(previous->name), " (data_offsets ", offsets_string(*previous), ")"));
    if (t->begin > covered)
      fail(path, cat("the data section has a gap: bytes [", covered, ", ", t->begin, ") before tensor ",
                     in_quotes(t->name), " belong to no tensor"));
    covered = t->end;
    previous = t;
  }
  if (covered != data_size)
    fail(path, cat("the data section holds ", data_size, " bytes but the tensors cover only ", covered));
}

// A regular file only (a FIFO, /dev/zero or a directory is an error, see io/regular_file.hpp).
inline std::string read_whole_file(const std::filesystem::path& path) { return io::read_file(path); }

// Parses and validates the header of a whole file's bytes.
inline Header parse_file(std::string_view bytes, const std::filesystem::path& path, const Limits& limits = {}) {
  if (bytes.size() < 8)
    fail(path, cat("the file is ", bytes.size(),
                   " bytes long, too short for a safetensors file (which starts with an 8-byte header length)"));
  const auto n = load_le<std::uint64_t>(reinterpret_cast<const unsigned char*>(bytes.data()));
  if (n > bytes.size() - 8)
    fail(path, cat("the header length ", n, " is beyond the file size (", bytes.size(),
                   " bytes): the file is truncated or not a safetensors file"));
  if (n > limits.max_header_bytes)
    fail(path, cat("the header length ", n, " is more than the limit of ", limits.max_header_bytes,
                   " bytes (safetensors::Limits::max_header_bytes)"));
  const auto header_size = static_cast<std::size_t>(n);
  Header h = header_parser(bytes.substr(8, header_size), path, limits).parse();
  h.data_start = 8 + header_size;
  validate(h, bytes.size() - h.data_start, path);
  return h;
}

}  // namespace detail

// The validated header of a safetensors file: its tensors (names, dtypes, shapes, offsets) and metadata.
inline Header read_header(const std::filesystem::path& path, const Limits& limits = {}) {
  const std::string bytes = detail::read_whole_file(path);
  return detail::parse_file(bytes, path, limits);
}
// The same from a whole file's bytes in memory; `name` names them in errors.
inline Header parse_header(std::string_view bytes, const std::filesystem::path& name, const Limits& limits = {}) {
  return detail::parse_file(bytes, name, limits);
}

}  // namespace ctnn::safetensors
