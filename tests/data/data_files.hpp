#pragma once
// Test inputs in the data formats' own encodings: gzip files, big-endian IDX headers, a small fake
// Fashion-MNIST set. Write them into a ctnn_test::TempDir (temp_dir.hpp).
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_files.hpp"

namespace ctnn_test {

inline void write_gz(const std::filesystem::path& file, const std::vector<std::uint8_t>& bytes) {
  std::filesystem::create_directories(file.parent_path());
  gzFile f = gzopen(file.c_str(), "wb");
  if (!f) throw std::runtime_error("cannot write " + file.string());
  if (!bytes.empty()) gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

inline void put_be32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 24));
  out.push_back(static_cast<std::uint8_t>(v >> 16));
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

// An IDX file: magic, dims, then the data.
inline std::vector<std::uint8_t> idx_bytes(std::uint32_t magic, const std::vector<std::uint32_t>& dims,
                                           const std::vector<std::uint8_t>& data) {
  std::vector<std::uint8_t> out;
  put_be32(out, magic);
  for (auto d : dims) put_be32(out, d);
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

// A small fake Fashion-MNIST set: n images of 28 x 28 whose pixel p of image i is (i + p) % 256,
// labels i % 10.
inline void write_fake_fashion_mnist(const std::filesystem::path& dir, const std::string& prefix, std::uint32_t n,
                                     bool gz) {
  std::vector<std::uint8_t> pixels(std::size_t{n} * 784), labels(n);
  for (std::size_t i = 0; i < n; ++i) {
    labels[i] = static_cast<std::uint8_t>(i % 10);
    for (std::size_t p = 0; p < 784; ++p) pixels[i * 784 + p] = static_cast<std::uint8_t>((i + p) % 256);
  }
  const auto images = idx_bytes(0x803, {n, 28, 28}, pixels);
  const auto lab = idx_bytes(0x801, {n}, labels);
  const std::string ext = gz ? ".gz" : "";
  (gz ? write_gz : write_bytes)(dir / (prefix + "-images-idx3-ubyte" + ext), images);
  (gz ? write_gz : write_bytes)(dir / (prefix + "-labels-idx1-ubyte" + ext), lab);
}

}  // namespace ctnn_test
