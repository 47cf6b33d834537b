// libFuzzer target: ImageFolder's image decoding (ctnn::data::decode_image: PNG through libpng, JPEG
// through libjpeg-turbo, every other format refused) over bytes in memory. Every input must either
// decode into an image whose pixel buffer matches its dimensions and the limits, convertible to every
// channel count, or throw ctnn::error; anything else (a crash, a sanitizer report, another exception, a
// message printed by a decoder, an allocation beyond -malloc_limit_mb) is a bug.
// The limits are smaller than the defaults (1 Mi pixels, 4096 a side) so that each input decodes in
// milliseconds; the code paths are the same.
#include <ctnn/data/image_decode.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace d = ctnn::data;
  const d::DecodeLimits limits{.max_pixels = std::uint64_t{1} << 20, .max_side = 4096, .max_file_bytes = 1u << 20,
                               .max_jpeg_scans = 64};
  try {
    const d::DecodedImage image = d::decode_image(std::span<const std::uint8_t>(data, size), 0, limits, "fuzz");
    if (image.width == 0 || image.height == 0 || image.width > limits.max_side || image.height > limits.max_side ||
        image.width * image.height > limits.max_pixels || image.channels < 1 || image.channels > 4 ||
        image.pixels.size() != image.width * image.height * image.channels)
      std::abort();
    for (std::size_t c = 1; c <= 4; ++c) {
      const d::DecodedImage converted = d::to_channels(image, c);
      if (converted.channels != c || converted.pixels.size() != image.width * image.height * c) std::abort();
    }
  } catch (const ctnn::error&) {
  }
  return 0;
}
