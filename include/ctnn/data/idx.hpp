#pragma once
// The IDX format of MNIST and Fashion-MNIST, plain or gzip-compressed (through zlib).
//   magic   4 bytes, big-endian: 0x00 0x00 <type> <number of dimensions>; type 0x08 = unsigned byte
//   dims    one big-endian uint32 per dimension
//   data    the product of the dims, in bytes, row-major
// Images are 0x00000803 (n, rows, cols), labels 0x00000801 (n). The reader checks the magic, that
// the data is complete and that nothing follows it; each error names the file and the problem. Only
// regular files are read (a FIFO or a device is an error), and no header can make the reader allocate
// more than the file could hold.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "files.hpp"

namespace ctnn::data::idx {

inline constexpr std::uint32_t images_magic = 0x00000803;
inline constexpr std::uint32_t labels_magic = 0x00000801;

// The contents of an IDX file of unsigned bytes.
struct Array {
  std::filesystem::path file;
  std::vector<std::size_t> dims;
  std::vector<std::uint8_t> data;

  std::size_t count() const { return dims.empty() ? 0 : dims[0]; }
};

namespace detail {
inline std::uint32_t big_endian32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
}
inline std::string describe_magic(std::uint32_t magic) {
  if (magic == images_magic) return "IDX images: unsigned bytes, 3 dimensions";
  if (magic == labels_magic) return "IDX labels: unsigned bytes, 1 dimension";
  if ((magic >> 16) == 0x1f8b) return "a gzip header: the file is compressed twice or not a gzip stream zlib can read";
  if ((magic & 0xffff0000u) == 0 && ((magic >> 8) & 0xff) == 0x08)
    return cat("IDX unsigned bytes with ", magic & 0xff, " dimensions");
  if ((magic & 0xffff0000u) == 0) return cat("IDX of element type ", hex32((magic >> 8) & 0xff), " (not unsigned bytes)");
  return "not an IDX file";
}
}  // namespace detail

// Reads IDX data from `in` whose magic must be `magic` (images_magic, labels_magic, or any 0x000008nn).
// Before anything is allocated for the data, the size the header declares is checked against what the
// input could hold (the rest of a plain file; what the rest of a gzip file could decompress to, and
// max_decompressed_bytes): a 100-byte file claiming 2^31 images is an error, not a 47 GB allocation.
inline Array read(gz_reader& in, std::uint32_t magic) {
  const std::string name = in.file().string();
  unsigned char head[4];
  auto zlib_note = [&] {
    const std::string zmsg = in.zlib_message();
    return zmsg.empty() ? std::string() : " (zlib: " + zmsg + ")";
  };
  if (const std::size_t got = in.read(head, 4); got < 4)
    throw error(cat(name, ": truncated: ", got, " bytes, not even the 4-byte magic number", zlib_note()));
  const std::uint32_t found = detail::big_endian32(head);
  if (found != magic)
    throw error(cat(name, ": wrong magic number ", hex32(found), " (", detail::describe_magic(found), "), expected ",
                    hex32(magic), " (", detail::describe_magic(magic), ")"));
  Array a;
  a.file = in.file();
  const std::size_t rank = magic & 0xff;
  std::uint64_t total = 1;
  bool overflow = false;
  for (std::size_t d = 0; d < rank; ++d) {
    unsigned char b[4];
    if (in.read(b, 4) < 4)
      throw error(cat(name, ": truncated: the header declares ", rank, " dimensions but ends after ", d, zlib_note()));
    const std::uint32_t dim = detail::big_endian32(b);
    a.dims.push_back(dim);
    if (dim != 0 && total > std::numeric_limits<std::uint64_t>::max() / dim) overflow = true;
    total *= dim;
  }
  auto dims_string = [&] {
    std::string dims;
    for (std::size_t d = 0; d < a.dims.size(); ++d) dims += (d ? " x " : "") + std::to_string(a.dims[d]);
    return dims;
  };
  bool zero = false;
  for (std::size_t dim : a.dims) zero = zero || dim == 0;
  if (overflow && !zero) throw error(cat(name, ": corrupt header: the dimensions ", dims_string(), " overflow"));
  if (zero) total = 0;
  const std::uint64_t room = in.max_remaining();
  if (total > room) {
    if (!in.compressed())
      throw error(cat(name, ": truncated: the header declares ", dims_string(), " = ", total,
                      " bytes of data, the file holds ", room));
    throw error(cat(name, ": corrupt header or truncated: the header declares ", dims_string(), " = ", total,
                    " bytes of data, more than the ", in.input_size(), "-byte gzip file can hold (at most ", room,
                    " bytes: deflate's largest ratio, within ctnn::data::max_decompressed_bytes)"));
  }
  if (total > std::numeric_limits<std::size_t>::max()) throw error(cat(name, ": too large for this machine"));
  const auto size = static_cast<std::size_t>(total);
  // Plain files: the size is known to be there. Gzip: grow with what decompression yields.
  std::size_t step = in.compressed() ? std::min<std::size_t>(size, std::size_t{1} << 20) : size;
  while (a.data.size() < size) {
    const std::size_t at = a.data.size();
    const std::size_t want = std::min(size - at, step);
    a.data.resize(at + want);
    const std::size_t got = in.read(a.data.data() + at, want);
    if (got < want) {
      a.data.resize(at + got);
      throw error(cat(name, ": truncated: the header declares ", dims_string(), " = ", total,
                      " bytes of data, the file holds ", a.data.size(), zlib_note()));
    }
    step = std::min<std::size_t>(std::max(step, a.data.size()), std::size_t{1} << 26);
  }
  if (!in.at_end()) throw error(cat(name, ": has bytes after the ", total, " bytes of data its header declares"));
  return a;
}

// Reads an IDX file (plain or gzip) whose magic must be `magic`.
inline Array read(const std::filesystem::path& file, std::uint32_t magic) {
  gz_reader in(file);
  return read(in, magic);
}

// Reads IDX bytes in memory (plain or gzip); `name` stands for the file in errors.
inline Array read(std::span<const std::uint8_t> bytes, const std::string& name, std::uint32_t magic) {
  gz_reader in(bytes.data(), bytes.size(), name);
  return read(in, magic);
}

// Every label of a labels file is below num_classes.
inline void check_labels(const Array& a, std::size_t num_classes) {
  for (std::size_t i = 0; i < a.data.size(); ++i)
    if (a.data[i] >= num_classes)
      throw error(cat(a.file.string(), ": label ", static_cast<unsigned>(a.data[i]), " of sample ", i,
                      " is out of range: expected 0 to ", num_classes - 1));
}

// An images file: (n, rows, cols) unsigned bytes.
inline Array read_images(const std::filesystem::path& file) { return read(file, images_magic); }

// A labels file: n unsigned bytes, each below num_classes.
inline Array read_labels(const std::filesystem::path& file, std::size_t num_classes) {
  Array a = read(file, labels_magic);
  check_labels(a, num_classes);
  return a;
}

}  // namespace ctnn::data::idx
