// libFuzzer target: CIFAR-10 binary batches (ctnn::data::CIFAR10::read_batch) over bytes in memory,
// plain or gzip (the reader decompresses whatever starts with 1f 8b). A parsed batch holds whole
// 3073-byte records with labels 0..9; anything else must be a ctnn::error.
#include <ctnn/data/cifar10.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using ctnn::data::CIFAR10;
  std::vector<std::uint8_t> images;
  std::vector<std::int64_t> labels;
  try {
    ctnn::data::gz_reader in(data, size, "fuzz_batch.bin");
    CIFAR10::read_batch(in, images, labels);
    if (labels.empty() || images.size() != labels.size() * 3072) std::abort();
    for (const std::int64_t l : labels)
      if (l < 0 || l > 9) std::abort();
  } catch (const ctnn::error&) {
  }
  return 0;
}
