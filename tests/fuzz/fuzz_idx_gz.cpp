// libFuzzer target: the IDX reader through gzip. The first byte chooses the mode:
//  * even: the rest is given to the reader as it is (the seeds are .gz files, so the fuzzer mutates
//    gzip streams: corrupt headers, cut streams, bad CRCs, concatenated members, trailing bytes);
//  * odd: the rest is compressed here into a valid gzip stream first, so that IDX headers and data
//    behind a correct gzip layer get mutated too.
// Either way: a parsed array whose data matches its dims, or ctnn::error; nothing else.
#include <zlib.h>

#include <ctnn/data/idx.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

namespace {
std::vector<std::uint8_t> gzip(const std::uint8_t* data, std::size_t size) {
  z_stream zs{};
  if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) std::abort();
  std::vector<std::uint8_t> out(deflateBound(&zs, static_cast<uLong>(size)) + 32);
  zs.next_in = const_cast<Bytef*>(data);
  zs.avail_in = static_cast<uInt>(size);
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) std::abort();
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace idx = ctnn::data::idx;
  if (size == 0) return 0;
  std::vector<std::uint8_t> bytes = (data[0] & 1) ? gzip(data + 1, size - 1) : std::vector<std::uint8_t>(data + 1, data + size);
  for (const std::uint32_t m : {idx::images_magic, idx::labels_magic}) {
    try {
      const idx::Array a = idx::read(std::span<const std::uint8_t>(bytes), "fuzz.idx.gz", m);
      std::size_t total = 1;
      for (std::size_t d : a.dims) total *= d;
      if (a.data.size() != total) std::abort();
    } catch (const ctnn::error&) {
    }
  }
  return 0;
}
