#pragma once
// The zoo's rows on ctnn: each row is a spec string shared with the PyTorch and LibTorch workers
// ("conv C OC K S P H N", "maxpool C K S P H N", "avgpool ...", "model NAME N"), the arithmetic one timed
// iteration must do, and a function that times it. zoo_layers.cpp and zoo_models.cpp fill the table (two
// translation units so that the rows' many network types compile on two cores at once).
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace ctnn_zoo {

struct row {
  std::string spec;
  double flop;  // multiply-adds x 2 of one timed iteration (forward + backward, + the step for models)
  // Runs `iteration` repeatedly for about `seconds` and returns the median time of one, in ms.
  std::function<double(double seconds)> time;
};

// Written with every timed result, so that the compiler keeps the work.
inline volatile float kept = 0;

void add_layer_rows(std::vector<row>& rows);
void add_model_rows(std::vector<row>& rows);

// Median ms of `f` over at least 5 calls and about `seconds`, after 2 warm-up calls (which also size
// every workspace). The median, not the mean: a neighbour's build briefly taking our core shows as an
// outlier, not as a shift.
template <class F>
double median_ms(double seconds, F&& f) {
  using clock = std::chrono::steady_clock;
  f();
  f();
  std::vector<double> ms;
  const auto start = clock::now();
  while (ms.size() < 5 || (std::chrono::duration<double>(clock::now() - start).count() < seconds && ms.size() < 10000)) {
    const auto t0 = clock::now();
    f();
    ms.push_back(std::chrono::duration<double, std::milli>(clock::now() - t0).count());
  }
  std::nth_element(ms.begin(), ms.begin() + static_cast<std::ptrdiff_t>(ms.size() / 2), ms.end());
  return ms[ms.size() / 2];
}

// Output size of a convolution or pooling along one side (floor, PyTorch's default).
constexpr std::size_t out_size(std::size_t in, std::size_t k, std::size_t s, std::size_t p) {
  return (in + 2 * p - k) / s + 1;
}
// Forward arithmetic of one sample's convolution.
constexpr double conv_flop(double c, double oc, double k, double ho) { return 2 * c * oc * k * k * ho * ho; }
constexpr double linear_flop(double in, double out) { return 2 * in * out; }

}  // namespace ctnn_zoo
