// backend::cuda on a GPU: PyTorch parity of a few layers and a loss (fixtures), one TinyVGG training
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
#include <filesystem>
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
#include "fixture.hpp"

namespace {

using namespace ctnn;
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

template <class B, class T>
std::vector<T> host(const T* p, std::size_t n) {
  std::vector<T> out(n);
  backend::ops<B>::to_host(p, n, out.data());
  return out;
}

template <class T>
std::vector<T> cast(const std::vector<double>& v) {
  std::vector<T> out(v.size());
  std::transform(v.begin(), v.end(), out.begin(), [](double x) { return static_cast<T>(x); });
  return out;
}

template <class BatchType>
BatchType fixture_batch(const ctnn_test::Fixture& f, const std::string& name) {
  const auto values = cast<typename BatchType::value_type>(f.at(name).values);
  return BatchType::from_host(std::span<const typename BatchType::value_type>(values));
}

double fixture_scale(const ctnn_test::Fixture& f, const std::string& name) {
  double s = 1;
  for (double v : f.at(name).values) s = std::max(s, std::abs(v));
  return s;
}

template <class Model>
void layer_parity(const std::string& case_name) {
  const auto f = ctnn_test::load_fixture(case_name);
  Model model;
  StateDict<float> state;
  for (const auto& p : f.parameters()) state.push_back({p.name, p.shape, cast<float>(p.values)});
  model.load_state_dict(state);
  model.eval();
  const auto x = fixture_batch<typename Model::input_batch>(f, "input");
  compare(case_name + " output", model.forward(x).to_host(), f.at("output").values, fixture_scale(f, "output"));
  const auto dy = fixture_batch<typename Model::output_batch>(f, "grad_output");
  model.zero_grad();
  compare(case_name + " grad_input", model.backward(dy).to_host(), f.at("grad_input").values,
          fixture_scale(f, "grad_input"));
  model.visit_parameters([&](Parameter<CB>& p) {
    compare(case_name + " " + p.name + ".grad", host<CB>(p.grad.data(), p.size()), f.at(p.name + ".grad").values,
            fixture_scale(f, p.name + ".grad"));
  });
}

template <class B>
using TinyVGG =
    Sequential<B, Input<1, 28, 28>,
               Named<"conv_block_1", Block<Conv2d<1, 10, 3, 1, 1>, ReLU, Conv2d<10, 10, 3, 1, 1>, ReLU, MaxPool2d<2>>>,
               Named<"conv_block_2", Block<Conv2d<10, 10, 3, 1, 1>, ReLU, Conv2d<10, 10, 3, 1, 1>, ReLU, MaxPool2d<2>>>,
               Named<"classifier", Block<Flatten, Linear<490, 10>>>>;

template <class Model>
std::vector<std::vector<double>> grads(Model& model) {
  using B = typename Model::backend_type;
  std::vector<std::vector<double>> out;
  model.visit_parameters([&](Parameter<B>& p) {
    const auto g = host<B>(p.grad.data(), p.size());
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
  const auto path = std::filesystem::temp_directory_path() / "ctnn_test_cuda_tinyvgg.safetensors";
  ctnn::save(gpu, path);
  TinyVGG<ref> loaded{manual_seed(1)};
  ctnn::load(loaded, path);
  std::filesystem::remove(path);
  gpu.eval();
  loaded.eval();
  compare("checkpoint: CPU outputs of the GPU-trained model", gpu.forward(xg).to_host(), loaded.forward(xr).to_host());
}

}  // namespace

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
    layer_parity<Sequential<CB, Input<5>, Linear<5, 3>>>("linear");
    layer_parity<Sequential<CB, Input<2, 5, 5>, Conv2d<2, 3, 3, 1, 1>>>("conv2d_k3_s1_p1");
    layer_parity<Sequential<CB, Input<2, 7, 7>, Conv2d<2, 3, 3, 2, 0>>>("conv2d_k3_s2_p0");
    layer_parity<Sequential<CB, Input<2, 7, 7>, MaxPool2d<3, 2, 1>>>("maxpool2d_k3_s2_p1");
    layer_parity<Sequential<CB, Input<6>, LogSoftmax>>("log_softmax");
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
