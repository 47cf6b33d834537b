// libFuzzer target: Sequential::load_state_dict with arbitrary names, shapes and value counts. The
// fuzz bytes are a little program: per tensor, a name length and name (with a bias towards the
// model's real names, so that matching entries with wrong shapes or value counts are reached), a
// rank, the dims and a value count. A load either succeeds (then every parameter matches by name and
// shape) or throws ctnn::error and leaves the model as it was.
#include <ctnn/backend/reference.hpp>
#include <ctnn/nn.hpp>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace {
using Model = ctnn::Sequential<ctnn::backend::reference, ctnn::Input<1, 6, 6>, ctnn::Conv2d<1, 2, 3, 1, 1>, ctnn::ReLU,
                               ctnn::MaxPool2d<2>, ctnn::Flatten, ctnn::Linear<18, 3>>;

struct Cursor {
  const std::uint8_t* p;
  std::size_t n;
  std::uint8_t byte() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Model model;
  static const auto reference = model.state_dict();
  Cursor in{data, size};
  ctnn::StateDict<double> state;
  const std::size_t count = in.byte() % 8;
  for (std::size_t t = 0; t < count; ++t) {
    ctnn::StateTensor<double> s;
    const std::uint8_t how = in.byte();
    if (how < 192) {  // a real name, with its real shape or a mutated one
      const auto& real = reference[how % reference.size()];
      s.name = real.name;
      s.shape = real.shape;
      if (how & 0x40) {
        if (!s.shape.empty()) s.shape[in.byte() % s.shape.size()] = in.byte() % 5;
      }
      if (how & 0x20) s.shape.push_back(in.byte() % 3);
    } else {
      const std::size_t len = in.byte() % 24;
      for (std::size_t i = 0; i < len; ++i) s.name += static_cast<char>(in.byte());
      const std::size_t rank = in.byte() % 5;
      for (std::size_t i = 0; i < rank; ++i) s.shape.push_back(in.byte() % 20);
    }
    std::size_t values = 1;
    for (std::size_t d : s.shape) values *= d;
    const std::uint8_t skew = in.byte();
    if (skew > 224) values = values + (skew & 3) - ((skew & 4) ? std::min<std::size_t>(values, 1) : 0);
    values = std::min<std::size_t>(values, 4096);
    s.values.assign(values, static_cast<double>(in.byte()) / 7.0);
    state.push_back(std::move(s));
  }
  const auto before = model.state_dict();
  try {
    model.load_state_dict(state);
    const auto after = model.state_dict();
    for (const auto& p : after) {
      const auto it = std::find_if(state.begin(), state.end(), [&](const auto& s) { return s.name == p.name; });
      if (it == state.end() || it->shape != p.shape) std::abort();
    }
  } catch (const ctnn::error&) {
    const auto after = model.state_dict();
    for (std::size_t i = 0; i < after.size(); ++i)
      for (std::size_t j = 0; j < after[i].values.size(); ++j)
        if (std::bit_cast<std::uint64_t>(after[i].values[j]) != std::bit_cast<std::uint64_t>(before[i].values[j]))
          std::abort();
  }
  return 0;
}
