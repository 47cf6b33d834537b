#pragma once
// Fashion-MNIST (torchvision.datasets.FashionMNIST): 60000 training and 10000 test images of 28 x 28
// grey pixels in 10 classes, read from the IDX files (plain or .gz):
//   {train,t10k}-images-idx3-ubyte[.gz], {train,t10k}-labels-idx1-ubyte[.gz]
// searched for in root, root/fashion-mnist, root/FashionMNIST/raw (torchvision's layout), then
// $CTNN_DATA, $CTNN_DATA/fashion-mnist, $CTNN_DATA/FashionMNIST/raw, then
// /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist). Nothing is downloaded.
// Images are kept as bytes; load() turns one into floats in [0, 1] (ToTensor) and applies the
// transform (e.g. Normalize({0.5}, {0.5})).
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
#include "idx.hpp"
#include "transforms.hpp"

namespace ctnn::data {

class FashionMNIST : public dataset_ops<FashionMNIST> {
 public:
  using sample_shape = Shape<1, 28, 28>;
  using target_type = std::int64_t;
  static constexpr std::size_t num_classes = 10;
  static constexpr std::size_t rows = 28, cols = 28;

  explicit FashionMNIST(const std::filesystem::path& root = {}, bool train = true, Transform transform = {})
      : transform_(std::move(transform)), train_(train) {
    const std::string prefix = train ? "train" : "t10k";
    const Located at = locate("Fashion-MNIST", search_paths(root),
                              {plain_or_gz(prefix + "-images-idx3-ubyte"), plain_or_gz(prefix + "-labels-idx1-ubyte")});
    idx::Array images = idx::read_images(at.files[0]);
    if (images.dims[1] != rows || images.dims[2] != cols)
      throw error(cat(at.files[0].string(), ": images are ", images.dims[1], " x ", images.dims[2], ", expected ", rows,
                      " x ", cols));
    idx::Array labels = idx::read_labels(at.files[1], num_classes);
    if (labels.count() != images.count())
      throw error(cat("Fashion-MNIST: ", at.files[0].string(), " holds ", images.count(), " images but ",
                      at.files[1].string(), " holds ", labels.count(), " labels"));
    auto d = std::make_shared<storage>();
    d->images = std::move(images.data);
    d->labels.assign(labels.data.begin(), labels.data.end());
    d->image_file = at.files[0];
    d->label_file = at.files[1];
    data_ = std::move(d);
  }

  // Where the files are looked for, in order.
  static std::vector<std::filesystem::path> search_paths(const std::filesystem::path& root = {}) {
    return search_dirs(root, {"fashion-mnist", "FashionMNIST/raw"}, {"/usr/share/datasets/fashion-mnist"});
  }

  static std::vector<std::string> classes() {
    return {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
  }

  std::size_t size() const { return data_->labels.size(); }

  void load(std::size_t i, float* x, std::int64_t* y) const {
    detail::check_index(i, size(), "FashionMNIST");
    ToTensor::convert(data_->images.data() + i * sample_shape::size, sample_shape::size, x);
    if (transform_) transform_(ImageView{x, 1, rows, cols});
    *y = data_->labels[i];
  }
  // The image's bytes are requested from memory before load() needs them: in a shuffled epoch each
  // image is a cache miss of its own (a fifth of the loader's time on one thread without this).
  void prefetch(std::size_t i) const {
    if (i >= size()) return;
    const std::uint8_t* p = data_->images.data() + i * sample_shape::size;
    for (std::size_t b = 0; b < sample_shape::size; b += 64) detail::prefetch_line(p + b);
  }
  std::int64_t target(std::size_t i) const {
    detail::check_index(i, size(), "FashionMNIST");
    return data_->labels[i];
  }

  // All labels (train_data.targets) and the raw bytes of image i.
  std::span<const std::int64_t> targets() const { return data_->labels; }
  std::span<const std::uint8_t> image_bytes(std::size_t i) const {
    detail::check_index(i, size(), "FashionMNIST");
    return std::span<const std::uint8_t>(data_->images).subspan(i * sample_shape::size, sample_shape::size);
  }
  bool train() const { return train_; }
  const std::filesystem::path& image_file() const { return data_->image_file; }
  const std::filesystem::path& label_file() const { return data_->label_file; }
  const Transform& transform() const { return transform_; }

 private:
  struct storage {
    std::vector<std::uint8_t> images;
    std::vector<std::int64_t> labels;
    std::filesystem::path image_file, label_file;
  };
  std::shared_ptr<const storage> data_;
  Transform transform_;
  bool train_;
};

}  // namespace ctnn::data
