// libFuzzer target: the IDX reader (ctnn::data::idx) over bytes in memory, plain (gzip input takes the
// same path when it starts with 1f 8b; fuzz_idx_gz.cpp aims at it). Every input must either parse into
// an array whose data matches its dims or throw ctnn::error; anything else (a crash, a sanitizer
// report, another exception, an allocation beyond -malloc_limit_mb) is a bug.
#include <ctnn/data/idx.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

namespace {
void check(const ctnn::data::idx::Array& a, std::uint32_t magic) {
  std::size_t total = 1;
  for (std::size_t d : a.dims) total *= d;
  if (a.dims.size() != (magic & 0xff) || a.data.size() != (a.dims.empty() ? 1 : total)) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace idx = ctnn::data::idx;
  const std::span<const std::uint8_t> bytes(data, size);
  // The magic the input itself claims (any 0x000008nn), then the two of the data sets.
  std::uint32_t magic = idx::images_magic;
  if (size >= 4 && data[0] == 0 && data[1] == 0 && data[2] == 8) magic = 0x800u | data[3];
  for (const std::uint32_t m : {magic, idx::images_magic, idx::labels_magic}) {
    try {
      const idx::Array a = idx::read(bytes, "fuzz.idx", m);
      check(a, m);
      if (m == idx::labels_magic) {
        try {
          idx::check_labels(a, 10);
        } catch (const ctnn::error&) {
        }
      }
    } catch (const ctnn::error&) {
    }
  }
  return 0;
}
