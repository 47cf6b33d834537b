#pragma once
// A fresh directory under the system temp dir, removed with everything in it at scope exit; and
// helpers that write test files (plain bytes, gzip, big-endian IDX headers).
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace ctnn_test {

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    for (int attempt = 0; attempt < 100; ++attempt) {
      path_ = std::filesystem::temp_directory_path() / ("ctnn_test_" + std::to_string(rd()) + std::to_string(rd()));
      if (std::filesystem::create_directory(path_)) return;
    }
    throw std::runtime_error("cannot create a temporary directory");
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

inline void write_bytes(const std::filesystem::path& file, const std::vector<std::uint8_t>& bytes) {
  std::filesystem::create_directories(file.parent_path());
  std::FILE* f = std::fopen(file.c_str(), "wb");
  if (!f) throw std::runtime_error("cannot write " + file.string());
  if (!bytes.empty()) std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
}

inline void write_gz(const std::filesystem::path& file, const std::vector<std::uint8_t>& bytes) {
  std::filesystem::create_directories(file.parent_path());
  gzFile f = gzopen(file.c_str(), "wb");
  if (!f) throw std::runtime_error("cannot write " + file.string());
  if (!bytes.empty()) gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

inline std::vector<std::uint8_t> read_bytes(const std::filesystem::path& file) {
  std::vector<std::uint8_t> out;
  std::FILE* f = std::fopen(file.c_str(), "rb");
  if (!f) throw std::runtime_error("cannot read " + file.string());
  unsigned char buf[65536];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) out.insert(out.end(), buf, buf + n);
  std::fclose(f);
  return out;
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
