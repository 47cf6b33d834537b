#pragma once
// Fixtures meet models: a fixture's parameters as a ctnn StateDict, and a batch's full shape
// ([n, per-sample dims...]) to compare with a fixture tensor's shape.
#include <cstddef>

#if __has_include(<ctnn/nn.hpp>)  // not in single_include/: there ctnn.hpp has it all
#include <ctnn/nn.hpp>
#endif

#include <algorithm>
#include <string>
#include <vector>

#include "fixture.hpp"

namespace ctnn_test {

template <class T>
ctnn::StateDict<T> state_dict_of(const Fixture& f) {
  ctnn::StateDict<T> out;
  for (const auto& p : f.parameters()) {
    std::vector<T> values(p.values.size());
    std::transform(p.values.begin(), p.values.end(), values.begin(), [](double v) { return static_cast<T>(v); });
    out.push_back({p.name, p.shape, std::move(values)});
  }
  return out;
}

template <class BatchType>
std::vector<std::size_t> batch_shape(const BatchType& b) {
  std::vector<std::size_t> s{b.batch_size()};
  s.insert(s.end(), BatchType::shape::dims.begin(), BatchType::shape::dims.end());
  return s;
}

}  // namespace ctnn_test
