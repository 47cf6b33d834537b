#pragma once
// CIFAR-10 (torchvision.datasets.CIFAR10), from the binary version: data_batch_1.bin ..
// data_batch_5.bin (training) and test_batch.bin (test), each a sequence of 3073-byte records
// (1 label byte, then 3072 bytes of a 32 x 32 image, channel-major: R plane, G plane, B plane).
// Searched for in root, root/cifar-10-batches-bin, $CTNN_DATA, $CTNN_DATA/cifar-10-batches-bin.
// Files may be gzip-compressed (.bin.gz). Only regular files are read (a FIFO or a device is an error)
// and a file may yield at most max_decompressed_bytes. Images become float [3, 32, 32] in [0, 1], then the
// transform applies (e.g. Normalize({0.4914, 0.4822, 0.4465}, {0.2470, 0.2435, 0.2616})).
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "../core/shape.hpp"
#include "dataset.hpp"
#include "files.hpp"
#include "transforms.hpp"

namespace ctnn::data {

class CIFAR10 : public dataset_ops<CIFAR10> {
 public:
  using sample_shape = Shape<3, 32, 32>;
  using target_type = std::int64_t;
  static constexpr std::size_t num_classes = 10;
  static constexpr std::size_t record_size = 1 + sample_shape::size;

  explicit CIFAR10(const std::filesystem::path& root = {}, bool train = true, Transform transform = {})
      : transform_(std::move(transform)), train_(train) {
    std::vector<std::vector<std::string>> wanted;
    if (train)
      for (int b = 1; b <= 5; ++b) wanted.push_back(plain_or_gz(cat("data_batch_", b, ".bin")));
    else
      wanted.push_back(plain_or_gz("test_batch.bin"));
    const Located at = locate("CIFAR-10", search_paths(root), wanted);
    auto d = std::make_shared<storage>();
    for (const auto& file : at.files) read_batch(file, *d);
    d->files = at.files;
    data_ = std::move(d);
  }

  static std::vector<std::filesystem::path> search_paths(const std::filesystem::path& root = {}) {
    return search_dirs(root, {"cifar-10-batches-bin"}, {});
  }

  static std::vector<std::string> classes() {
    return {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
  }

  std::size_t size() const { return data_->labels.size(); }

  // Appends the records of one batch (a regular file or bytes in memory, plain or gzip) to images
  // (3072 bytes each) and labels. Memory grows only with the bytes the input yields; the batch must be
  // a whole, non-zero number of records with labels 0..9.
  static void read_batch(gz_reader& in, std::vector<std::uint8_t>& images, std::vector<std::int64_t>& labels) {
    const std::string name = in.file().string();
    const std::vector<std::uint8_t> bytes = read_all(in);
    if (bytes.empty()) throw error(cat(name, ": empty: expected records of ", record_size, " bytes"));
    if (bytes.size() % record_size != 0) {
      const std::string zmsg = in.zlib_message();
      throw error(cat(name, ": truncated: ", bytes.size(), " bytes are not a whole number of ", record_size,
                      "-byte records (", bytes.size() / record_size, " records and ", bytes.size() % record_size,
                      " bytes)", zmsg.empty() ? "" : " (zlib: " + zmsg + ")"));
    }
    const std::size_t n = bytes.size() / record_size;
    for (std::size_t r = 0; r < n; ++r) {
      const std::uint8_t label = bytes[r * record_size];
      if (label >= num_classes)
        throw error(cat(name, ": label ", static_cast<unsigned>(label), " of record ", r,
                        " is out of range: expected 0 to ", num_classes - 1));
    }
    images.reserve(images.size() + n * sample_shape::size);
    labels.reserve(labels.size() + n);
    for (std::size_t r = 0; r < n; ++r) {
      const std::uint8_t* rec = bytes.data() + r * record_size;
      labels.push_back(rec[0]);
      images.insert(images.end(), rec + 1, rec + record_size);
    }
  }

  void load(std::size_t i, float* x, std::int64_t* y) const {
    detail::check_index(i, size(), "CIFAR10");
    ToTensor::convert(data_->images.data() + i * sample_shape::size, sample_shape::size, x);
    if (transform_) transform_(ImageView{x, 3, 32, 32});
    *y = data_->labels[i];
  }
  std::int64_t target(std::size_t i) const {
    detail::check_index(i, size(), "CIFAR10");
    return data_->labels[i];
  }

  std::span<const std::int64_t> targets() const { return data_->labels; }
  std::span<const std::uint8_t> image_bytes(std::size_t i) const {
    detail::check_index(i, size(), "CIFAR10");
    return std::span<const std::uint8_t>(data_->images).subspan(i * sample_shape::size, sample_shape::size);
  }
  bool train() const { return train_; }
  const std::vector<std::filesystem::path>& files() const { return data_->files; }

 private:
  struct storage {
    std::vector<std::uint8_t> images;
    std::vector<std::int64_t> labels;
    std::vector<std::filesystem::path> files;
  };

  static void read_batch(const std::filesystem::path& file, storage& d) {
    gz_reader in(file);
    read_batch(in, d.images, d.labels);
  }

  std::shared_ptr<const storage> data_;
  Transform transform_;
  bool train_;
};

}  // namespace ctnn::data
