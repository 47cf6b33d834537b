#pragma once
// The image a transform changes in place, and the type data sets keep a transform as.
#include <cstddef>
#include <functional>

namespace ctnn::data {

// A float image [channels, height, width], row-major, changed in place by a transform.
struct ImageView {
  float* data;
  std::size_t channels, height, width;

  std::size_t size() const { return channels * height * width; }
  float& operator()(std::size_t c, std::size_t h, std::size_t w) const { return data[(c * height + h) * width + w]; }
};

// What a data set applies to each sample after decoding it. Empty: nothing.
using Transform = std::function<void(ImageView)>;

}  // namespace ctnn::data
