// LibTorch's worker for the zoo runner (run_zoo.py): the same protocol and rows as zoo_ctnn, built from the
// spec strings at run time (LibTorch's layers take their sizes as values).
//   zoo_libtorch [--threads N] [--seconds S] < specs
// Specs: "conv C OC K S P H N", "maxpool C K S P H N", "avgpool C K S P H N", "model NAME N", "gemm M", "rss".
#include <torch/torch.h>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

volatile float kept = 0;

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

// Forward then backward of a fixed output gradient, the input gradient included (as zoo_ctnn).
double time_layer(torch::nn::AnyModule layer, std::int64_t n, std::int64_t c, std::int64_t h, double seconds) {
  auto x = torch::rand({n, c, h, h}) * 2 - 1;
  x.set_requires_grad(true);
  auto dy = torch::rand_like(layer.forward(x)) * 2 - 1;
  auto* module = layer.ptr().get();
  return median_ms(seconds, [&] {
    module->zero_grad(true);
    x.mutable_grad() = torch::Tensor();
    auto y = layer.forward(x);
    y.backward(dy);
    kept = x.grad().data_ptr<float>()[0];
  });
}

torch::nn::Sequential make_model(const std::string& name) {
  namespace nn = torch::nn;
  if (name == "lenet5")
    return nn::Sequential(nn::Conv2d(nn::Conv2dOptions(1, 6, 5)), nn::Tanh(), nn::AvgPool2d(2),
                          nn::Conv2d(nn::Conv2dOptions(6, 16, 5)), nn::Tanh(), nn::AvgPool2d(2),
                          nn::Conv2d(nn::Conv2dOptions(16, 120, 5)), nn::Tanh(), nn::Flatten(), nn::Linear(120, 84),
                          nn::Tanh(), nn::Linear(84, 10));
  if (name == "cifar_net")
    return nn::Sequential(nn::Conv2d(nn::Conv2dOptions(3, 6, 5)), nn::ReLU(), nn::MaxPool2d(2),
                          nn::Conv2d(nn::Conv2dOptions(6, 16, 5)), nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(),
                          nn::Linear(400, 120), nn::ReLU(), nn::Linear(120, 84), nn::ReLU(), nn::Linear(84, 10));
  if (name == "vgg_small")
    return nn::Sequential(nn::Conv2d(nn::Conv2dOptions(3, 32, 3).padding(1)), nn::ReLU(),
                          nn::Conv2d(nn::Conv2dOptions(32, 32, 3).padding(1)), nn::ReLU(), nn::MaxPool2d(2),
                          nn::Conv2d(nn::Conv2dOptions(32, 64, 3).padding(1)), nn::ReLU(),
                          nn::Conv2d(nn::Conv2dOptions(64, 64, 3).padding(1)), nn::ReLU(), nn::MaxPool2d(2),
                          nn::Flatten(), nn::Linear(64 * 8 * 8, 10));
  throw std::runtime_error("unknown model " + name);
}

double time_model(const std::string& name, std::int64_t n, double seconds) {
  auto model = make_model(name);
  const std::int64_t c = name == "lenet5" ? 1 : 3;
  auto x = torch::rand({n, c, 32, 32}) * 2 - 1;
  auto y = torch::arange(n) % 10;
  torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  model->train();
  return median_ms(seconds, [&] {
    opt.zero_grad();
    auto loss = torch::nn::functional::cross_entropy(model->forward(x), y);
    loss.backward();
    opt.step();
    kept = loss.item<float>();
  });
}

}  // namespace

int main(int argc, char** argv) try {
  int threads = 2;
  double seconds = 0.5;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--threads" && i + 1 < argc) threads = std::stoi(argv[++i]);
    else if (arg == "--seconds" && i + 1 < argc) seconds = std::stod(argv[++i]);
    else throw std::runtime_error("usage: zoo_libtorch [--threads N] [--seconds S] < specs");
  }
  torch::set_num_threads(threads);
  std::string spec;
  while (std::getline(std::cin, spec)) {
    if (spec.empty()) continue;
    std::istringstream in(spec);
    std::string kind;
    in >> kind;
    namespace nn = torch::nn;
    if (kind == "rss") {
      rusage usage{};
      getrusage(RUSAGE_SELF, &usage);
      std::printf("{\"spec\": \"rss\", \"peak_rss_mb\": %.1f}\n", static_cast<double>(usage.ru_maxrss) / 1024.0);
    } else if (kind == "gemm") {
      std::int64_t m = 0;
      in >> m;
      auto a = torch::full({m, m}, 0.5f), b = torch::full({m, m}, 0.25f);
      const double ms = median_ms(seconds, [&] { kept = torch::mm(a, b).data_ptr<float>()[0]; });
      std::printf("{\"spec\": \"%s\", \"gflops\": %.4g}\n", spec.c_str(), 2.0 * double(m) * double(m) * double(m) / (ms * 1e6));
    } else {
      double ms = 0;
      if (kind == "conv") {
        std::int64_t c, oc, k, s, p, h, n;
        in >> c >> oc >> k >> s >> p >> h >> n;
        ms = time_layer(nn::AnyModule(nn::Conv2d(nn::Conv2dOptions(c, oc, k).stride(s).padding(p))), n, c, h, seconds);
      } else if (kind == "maxpool" || kind == "avgpool") {
        std::int64_t c, k, s, p, h, n;
        in >> c >> k >> s >> p >> h >> n;
        ms = kind == "maxpool"
                 ? time_layer(nn::AnyModule(nn::MaxPool2d(nn::MaxPool2dOptions(k).stride(s).padding(p))), n, c, h, seconds)
                 : time_layer(nn::AnyModule(nn::AvgPool2d(nn::AvgPool2dOptions(k).stride(s).padding(p))), n, c, h, seconds);
      } else if (kind == "model") {
        std::string name;
        std::int64_t n;
        in >> name >> n;
        ms = time_model(name, n, seconds);
      } else {
        std::printf("{\"spec\": \"%s\", \"error\": \"unknown spec\"}\n", spec.c_str());
        std::fflush(stdout);
        continue;
      }
      std::printf("{\"spec\": \"%s\", \"ms\": %.6g, \"threads\": %d}\n", spec.c_str(), ms, torch::get_num_threads());
    }
    std::fflush(stdout);
  }
  return 0;
} catch (const std::exception& e) {
  std::cerr << e.what() << "\n";
  return 1;
}
