// libFuzzer target: the safetensors header parser and validator (ctnn::safetensors::parse_header).
// A header that parses must describe tensors that tile the data section exactly, with sizes that
// match their dtype and shape; anything else must be a ctnn::error.
#include <ctnn/io/safetensors.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace st = ctnn::safetensors;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    const st::Header h = st::parse_header(bytes, "fuzz.safetensors");
    std::size_t total = 0;
    for (const auto& t : h.tensors) {
      std::size_t n = st::dtype_size(t.dtype);
      for (std::size_t d : t.shape) n *= d;
      if (n == 0 && st::dtype_size(t.dtype) == 0) std::abort();
      if (t.end - t.begin != n || t.end > size - h.data_start) std::abort();
      total += n;
    }
    if (total != size - h.data_start) std::abort();
  } catch (const ctnn::error&) {
  }
  return 0;
}
