// libFuzzer target: the full checkpoint loader (ctnn::load_bytes, what ctnn::load does after reading
// the file) into a fixed model: a small Sequential with a Conv2d and a Linear on the reference
// backend. A load either succeeds (every parameter then holds the file's values) or throws
// ctnn::error and leaves the model exactly as it was.
#include <ctnn/backend/reference.hpp>
#include <ctnn/io/safetensors.hpp>
#include <ctnn/nn.hpp>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {
using Model = ctnn::Sequential<ctnn::backend::reference, ctnn::Input<1, 6, 6>, ctnn::Conv2d<1, 2, 3, 1, 1>, ctnn::ReLU,
                               ctnn::MaxPool2d<2>, ctnn::Flatten, ctnn::Linear<18, 3>>;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Model model;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto before = model.state_dict();
  try {
    ctnn::load_bytes(model, bytes, "fuzz.safetensors");
    // Loaded: every parameter holds the values of the file's tensor of its name.
    const auto after = model.state_dict();
    const auto file = ctnn::load_state_dict_bytes<double>(bytes, "fuzz.safetensors");
    if (after.size() != file.size()) std::abort();
    for (const auto& p : after) {
      const auto it = std::find_if(file.begin(), file.end(), [&](const auto& t) { return t.name == p.name; });
      if (it == file.end() || it->shape != p.shape || it->values.size() != p.values.size()) std::abort();
      for (std::size_t j = 0; j < p.values.size(); ++j)
        if (std::bit_cast<std::uint64_t>(p.values[j]) != std::bit_cast<std::uint64_t>(it->values[j])) std::abort();
    }
  } catch (const ctnn::error&) {
    const auto after = model.state_dict();
    if (after.size() != before.size()) std::abort();
    for (std::size_t i = 0; i < after.size(); ++i)
      for (std::size_t j = 0; j < after[i].values.size(); ++j)
        if (std::bit_cast<std::uint64_t>(after[i].values[j]) != std::bit_cast<std::uint64_t>(before[i].values[j]))
          std::abort();
  }
  return 0;
}
