#pragma once
// RandomCrop<Size, Padding> as torchvision.transforms.RandomCrop(Size, padding=Padding,
// pad_if_needed, fill, padding_mode="constant"): pads every side by Padding with `fill`, then (with
// pad_if_needed) pads an image narrower or shorter than Size by the difference on both sides of that
// axis, then crops Size x Size at a uniformly random offset (top, then left, as torch.randint draws
// them). In place when the image already is Size x Size (RandomCrop(32, padding=4) on CIFAR-10);
// buffer to buffer otherwise, like Resize.
#include <algorithm>
#include <cstddef>
#include <vector>

#include "../../core/error.hpp"
#include "../../core/random.hpp"
#include "image_view.hpp"
#include "sample_random.hpp"

namespace ctnn::data {

template <std::size_t Size, std::size_t Padding = 0>
class RandomCrop {
  static_assert(Size > 0, "ctnn: RandomCrop<Size>: the size must be positive");

 public:
  explicit RandomCrop(bool pad_if_needed = false, float fill = 0.0f, Generator& generator = default_generator())
      : pad_if_needed_(pad_if_needed), fill_(fill), random_(generator) {}

  // src [channels, height, width] -> dst [channels, Size, Size].
  void operator()(const float* src, std::size_t channels, std::size_t height, std::size_t width, float* dst) const {
    std::size_t ph = height + 2 * Padding, pw = width + 2 * Padding;  // padded size
    std::size_t top = Padding, left = Padding;                         // where the image starts in it
    if (pad_if_needed_ && pw < Size) {
      left += Size - pw;
      pw += 2 * (Size - pw);
    }
    if (pad_if_needed_ && ph < Size) {
      top += Size - ph;
      ph += 2 * (Size - ph);
    }
    if (ph < Size || pw < Size)
      throw error(cat("RandomCrop: required crop size (", Size, ", ", Size, ") is larger than the input image size (",
                      ph, ", ", pw, ")"));
    draws d = random_.next();
    const std::size_t i = ph == Size ? 0 : static_cast<std::size_t>(d.below(ph - Size + 1));
    const std::size_t j = pw == Size ? 0 : static_cast<std::size_t>(d.below(pw - Size + 1));
    for (std::size_t c = 0; c < channels; ++c)
      for (std::size_t y = 0; y < Size; ++y) {
        float* out = dst + (c * Size + y) * Size;
        const std::size_t py = i + y;  // row in the padded image
        if (py < top || py >= top + height) {
          std::fill(out, out + Size, fill_);
          continue;
        }
        const float* row = src + (c * height + (py - top)) * width;
        for (std::size_t x = 0; x < Size; ++x) {
          const std::size_t px = j + x;
          out[x] = px < left || px >= left + width ? fill_ : row[px - left];
        }
      }
  }

  void operator()(ImageView v) const {
    if (v.height != Size || v.width != Size)
      throw error(cat("RandomCrop<", Size, ">: an image of ", v.height, " x ", v.width, " cannot be cropped in place; ",
                      "use the buffer-to-buffer call"));
    thread_local std::vector<float> copy;
    copy.assign(v.data, v.data + v.size());
    (*this)(copy.data(), v.channels, v.height, v.width, v.data);
  }

 private:
  bool pad_if_needed_;
  float fill_;
  transform_random random_;
};

}  // namespace ctnn::data
