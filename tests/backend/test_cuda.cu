// backend::cuda on a GPU: the PyTorch parity cases every backend runs (tests/support/parity.hpp: every
// layer, loss and seed model against the fixtures, 1e-5 of each tensor's scale), one TinyVGG training
// step (forward, CrossEntropyLoss, backward, SGD step) against backend::reference, and a safetensors
// checkpoint written from the GPU model and loaded on the CPU with the same outputs.
// Then the differential test of every op (tests/support/differential.hpp, the generator the CPU backends'
// tests use): named boundary cases and random geometries against backend::reference; CTNN_DIFF_SEED and
// CTNN_DIFF_COUNT (default 100 random geometries per op) as there.
// Without a usable GPU it prints why and exits 77 (CTest: Skipped).
// No Catch2 and no Eigen in this nvcc translation unit: a few checks by hand, against backend::reference
// (double, plain loops), which the Eigen backend itself matches to 1e-5 in tests/nn.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <span>
#include <string>
#include <vector>

#include <ctnn/backend/cuda.hpp>
#include <ctnn/backend/reference.hpp>
#include <ctnn/io.hpp>
#include <ctnn/nn.hpp>
#include <ctnn/nn/transfer.hpp>
#include <ctnn/optim.hpp>

#include "differential.hpp"
#include "parity.hpp"
#include "seed_models.hpp"
#include "temp_dir.hpp"

namespace {

using namespace ctnn;
using ctnn_test::TinyVGG;
using CB = backend::cuda;
using ref = backend::reference;
constexpr double tolerance = 1e-5;
int failures = 0, checks = 0;

// |a - e| / max(|a|, |e|, scale): relative above the scale, absolute below.
template <class A, class E>
void compare(const std::string& what, const std::vector<A>& actual, const std::vector<E>& expected, double scale = 1) {
  ++checks;
  if (actual.size() != expected.size()) {
    std::printf("FAIL %s: %zu values, expected %zu\n", what.c_str(), actual.size(), expected.size());
    ++failures;
    return;
  }
  double worst = 0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const double a = static_cast<double>(actual[i]), e = static_cast<double>(expected[i]);
    const double err = std::abs(a - e) / std::max({std::abs(a), std::abs(e), scale});
    if (!(err <= worst)) worst = err;
  }
  const bool ok = worst <= tolerance;
  failures += !ok;
  std::printf("%s %s: largest error %.3g\n", ok ? "ok  " : "FAIL", what.c_str(), worst);
}

template <class Model>
std::vector<std::vector<double>> grads(Model& model) {
  using B = typename Model::backend_type;
  std::vector<std::vector<double>> out;
  model.visit_parameters([&](Parameter<B>& p) {
    const auto g = p.grad_to_host();
    out.emplace_back(g.begin(), g.end());
  });
  return out;
}

void tinyvgg_step() {
  constexpr std::size_t n = 32;
  TinyVGG<ref> cpu{manual_seed(42)};
  auto gpu = to<CB>(cpu);
  Generator g{31};
  std::vector<double> xv(n * 28 * 28);
  for (auto& v : xv) v = g.uniform();
  std::vector<std::int64_t> yv(n);
  for (auto& y : yv) y = static_cast<std::int64_t>(g.below(10));
  const auto xr = Batch<Shape<1, 28, 28>, ref>::from_host(std::span<const double>(xv));
  const auto yr = Labels<ref>::from_host(std::span<const std::int64_t>(yv));
  const auto xg = to<CB>(xr);
  const auto yg = to<CB>(yr);
  ++checks;
  if (gpu.state_dict()[0].name != "conv_block_1.0.weight") {  // PyTorch's names, also through nvcc's front end
    std::printf("FAIL parameter name %s\n", gpu.state_dict()[0].name.c_str());
    ++failures;
  }
  optim::SGD<ref> opt_r{cpu.parameters(), {.lr = 0.1, .momentum = 0.9}};
  optim::SGD<CB> opt_g{gpu.parameters(), {.lr = 0.1, .momentum = 0.9}};
  CrossEntropyLoss<ref> ce_r;
  CrossEntropyLoss<CB> ce_g;
  for (int step = 0; step < 2; ++step) {
    const std::string s = "TinyVGG step " + std::to_string(step) + ": ";
    const auto& lr = cpu.forward(xr);
    const auto& lg = gpu.forward(xg);
    compare(s + "logits", lg.to_host(), lr.to_host());
    compare(s + "loss", std::vector<float>{ce_g(lg, yg)}, std::vector<double>{ce_r(lr, yr)});
    opt_r.zero_grad();
    opt_g.zero_grad();
    compare(s + "grad_input", gpu.backward(ce_g.grad()).to_host(), cpu.backward(ce_r.grad()).to_host());
    const auto gr = grads(cpu), gg = grads(gpu);
    for (std::size_t i = 0; i < gr.size(); ++i) compare(s + "grad " + std::to_string(i), gg[i], gr[i]);
    opt_r.step();
    opt_g.step();
    const auto sr = cpu.state_dict();
    const auto sg = gpu.state_dict();
    for (std::size_t i = 0; i < sr.size(); ++i) compare(s + sr[i].name + " after the step", sg[i].values, sr[i].values);
  }

  // A checkpoint of the GPU model, loaded by a CPU model: the same outputs.
  const ctnn_test::TempDir dir;
  ctnn::save(gpu, dir / "tinyvgg.safetensors");
  TinyVGG<ref> loaded{manual_seed(1)};
  ctnn::load(loaded, dir / "tinyvgg.safetensors");
  gpu.eval();
  loaded.eval();
  compare("checkpoint: CPU outputs of the GPU-trained model", gpu.forward(xg).to_host(), loaded.forward(xr).to_host());
}

}  // namespace

// The parity cases of every backend, one line per comparison; a case that throws (a missing fixture,
// a CUDA error) fails alone and the next one runs.
void parity_cases() {
  for (const auto& c : ctnn_test::parity::cases<CB>()) {
    const ctnn_test::parity::Report report = [&](bool ok, const std::string& message) {
      ++checks;
      failures += !ok;
      std::printf("%s parity %s: %s\n", ok ? "ok  " : "FAIL", c.name.c_str(), message.c_str());
    };
    try {
      c.run(report);
    } catch (const std::exception& e) {
      report(false, std::string("exception: ") + e.what());
    }
  }
}

// Dropout in training mode: the counter-based RNG gives the device the same masks as the host, so a
// CUDA model and a reference model from the same seed agree on outputs and input gradients.
void dropout_masks() {
  using CudaModel = Sequential<CB, Input<64>, Linear<64, 32>, ReLU, Dropout<0.25>, Linear<32, 4>>;
  using HostModel = Sequential<backend::reference, Input<64>, Linear<64, 32>, ReLU, Dropout<0.25>, Linear<32, 4>>;
  HostModel host_model{manual_seed(5)};
  CudaModel device_model{manual_seed(5)};     // the same seed: the same Dropout stream
  copy_parameters(host_model, device_model);  // float draws differ from double ones: copy the weights
  std::vector<float> x(8 * 64);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(std::sin(0.37 * static_cast<double>(i)));
  std::vector<double> xd(x.begin(), x.end());
  const auto xb = Batch<Shape<64>, CB>::from_host(x);
  const auto xh = Batch<Shape<64>, backend::reference>::from_host(xd);
  compare("dropout forward", device_model.forward(xb).to_host(), host_model.forward(xh).to_host());
  std::vector<float> ones(8 * 4, 1.0f);
  std::vector<double> ones_d(ones.begin(), ones.end());
  compare("dropout backward", device_model.backward(Batch<Shape<4>, CB>::from_host(ones)).to_host(),
          host_model.backward(Batch<Shape<4>, backend::reference>::from_host(ones_d)).to_host());
}

// Every backend op of backend::cuda against backend::reference over the shared geometry generator.
void differential_ops() {
  using namespace ctnn_test::diff;
  const std::uint64_t seed = base_seed();
  std::printf("differential: CTNN_DIFF_SEED=%llu\n", static_cast<unsigned long long>(seed));
  for (const std::string& op : op_names()) {
    std::size_t shown = 0;
    const op_stats s = run_op<CB>(op, seed, random_count(100), {1}, false, [&](const std::string& m) {
      if (++shown <= 10) std::printf("FAIL %s\n", m.c_str());
    });
    ++checks;
    failures += s.failures != 0;
    std::printf("%s differential %s\n", s.failures ? "FAIL" : "ok  ", s.summary().c_str());
  }
}

int main() {
  if (!cuda::available()) {
    std::puts("test_cuda: no usable CUDA device (cudaGetDeviceCount failed or found none): skipped");
    return 77;
  }
  try {
    parity_cases();
    tinyvgg_step();
    dropout_masks();
    differential_ops();
  } catch (const std::exception& e) {
    std::printf("FAIL: exception: %s\n", e.what());
    return 1;
  }
  std::printf("%d checks, %d failed\n", checks, failures);
  return failures ? 1 : 0;
}
