// ctnn's side of the side-by-side benchmark (issue 4): the seed workloads exactly as
// benchmarks/reference/pytorch_reference.py runs them in PyTorch, one per invocation.
//
//   ./ctnn_reference WORKLOAD [--epochs N] [--train-limit N] [--threads N] [--steps N] [--reps N] [--data DIR]
//
// WORKLOAD: v0, v1, tinyvgg (seed 001: batch 32, SGD 0.1, CrossEntropyLoss), binary (seed 000: t-shirt vs
// ankle boot, Adam 1e-3, BCELoss, batch 64, images in [-1, 1]), gan (seed 004: --steps steps timed after 5
// warm-up steps, scaled to the 1875 steps of an epoch), infer_v0 / infer_tinyvgg (single-image forward
// latency in microseconds, eval mode, one thread, median of --reps). seconds_per_epoch is the training time
// only (the test pass is not timed), scaled to the full training set under --train-limit. Prints one JSON
// line: {"workload", "seconds_per_epoch", "test_acc", "peak_rss_mb"} (+ "latency_us" for infer_*).
// With --threads 1 the loader's prefetch thread is off, so the whole run is on one thread like PyTorch's.
#include <ctnn/ctnn.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "models.hpp"

using namespace ctnn;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string workload;
  std::size_t epochs = 1, train_limit = 0, threads = 1, steps = 200, reps = 5000;
  std::filesystem::path data;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw error(cat(arg, " needs a value"));
      return argv[++i];
    };
    if (arg == "--epochs") o.epochs = std::stoul(value());
    else if (arg == "--train-limit") o.train_limit = std::stoul(value());
    else if (arg == "--threads") o.threads = std::stoul(value());
    else if (arg == "--steps") o.steps = std::stoul(value());
    else if (arg == "--reps") o.reps = std::stoul(value());
    else if (arg == "--data") o.data = value();
    else if (!arg.empty() && arg[0] != '-' && o.workload.empty()) o.workload = arg;
    else throw error(cat("unknown argument ", arg, " (see the comment at the top of ctnn_reference.cpp)"));
  }
  if (o.workload.empty()) throw error("usage: ctnn_reference WORKLOAD [--epochs N] [--train-limit N] [--threads N]");
  if (o.epochs == 0 || o.steps == 0 || o.reps == 0 || o.threads == 0) throw error("counts must be at least 1");
  return o;
}

void set_threads(std::size_t n) { ctnn::set_num_threads(n); }

std::vector<std::size_t> first(std::size_t limit, std::size_t size) {
  std::vector<std::size_t> idx(limit && limit < size ? limit : size);
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  return idx;
}

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

struct Result {
  std::optional<double> seconds_per_epoch, test_acc, latency_us;
};

// Seed 001: SGD(0.1), CrossEntropyLoss, batches of 32, torch.manual_seed(42) before the model.
template <class Model>
Result classifier(const Options& o) {
  const data::FashionMNIST train_data(o.data, true), test_data(o.data, false);
  const auto train_subset = train_data.subset(first(o.train_limit, train_data.size()));
  const bool prefetch = o.threads > 1;
  // The tutorial's initial weights and DataLoader shuffles (torch_order), as pytorch_reference.py draws
  // them: the two sides train on the same batches, so their accuracies differ only by float rounding.
  Model model{manual_seed(42)};
  data::DataLoader train_loader(train_subset, {.batch_size = 32, .shuffle = true, .prefetch = prefetch, .torch_order = true},
                                manual_seed(42));
  data::DataLoader test_loader(test_data, {.batch_size = 32, .shuffle = false, .prefetch = prefetch});
  CrossEntropyLoss loss_fn;
  optim::SGD optimizer{model.parameters(), {.lr = 0.1f}};
  double seconds = 0;
  for (std::size_t e = 0; e < o.epochs; ++e) {
    const auto start = Clock::now();
    train_step(model, train_loader, loss_fn, optimizer, metrics::Multiclass{}, {.progress = false});
    seconds += seconds_since(start);
  }
  const auto test = test_step(model, test_loader, loss_fn, metrics::Multiclass{}, {.progress = false});
  const double scale = static_cast<double>(train_data.size()) / static_cast<double>(train_subset.size());
  return {seconds / static_cast<double>(o.epochs) * scale, test.acc, std::nullopt};
}

// Seed 000: t-shirts (0) against ankle boots (9 -> 1), [-1, 1], Adam(1e-3), BCELoss, batches of 64.
Result binary(const Options& o) {
  const data::Transform transform = data::Normalize({0.5}, {0.5});
  const data::FashionMNIST train_set(o.data, true, transform), test_set(o.data, false, transform);
  const auto binary_train = train_set.select_classes({0, 9}).float_targets();
  const auto binary_test = test_set.select_classes({0, 9}).float_targets();
  const auto train_subset = binary_train.subset(first(o.train_limit, binary_train.size()));
  const bool prefetch = o.threads > 1;
  manual_seed(42);
  data::DataLoader train_loader(train_subset, {.batch_size = 64, .shuffle = true, .prefetch = prefetch});
  data::DataLoader test_loader(binary_test, {.batch_size = 64, .shuffle = true, .prefetch = prefetch});
  ctnn_bench::BinaryMLP model{manual_seed(42)};
  optim::Adam optimizer{model.parameters(), {.lr = 1e-3f}};
  BCELoss loss_fn;
  double seconds = 0;
  for (std::size_t e = 0; e < o.epochs; ++e) {
    const auto start = Clock::now();
    train_step(model, train_loader, loss_fn, optimizer, metrics::Binary{0.5}, {.progress = false});
    seconds += seconds_since(start);
  }
  const auto test = test_step(model, test_loader, loss_fn, metrics::Binary{0.5}, {.progress = false});
  const double scale = static_cast<double>(binary_train.size()) / static_cast<double>(train_subset.size());
  return {seconds / static_cast<double>(o.epochs) * scale, test.acc, std::nullopt};
}

// Seed 004: gan.cpp's step (models.hpp's GanStep) on real batches in [-1, 1]; 5 warm-up steps, then
// o.steps timed steps scaled to the 1875 (drop_last) steps of an epoch.
Result gan(const Options& o) {
  constexpr std::size_t warmup = 5, steps_per_epoch = 60000 / ctnn_bench::GanStep::batch_size;
  const data::FashionMNIST train_set(o.data, true, data::Normalize({0.5}, {0.5}));
  manual_seed(42);
  data::DataLoader loader(train_set, {.batch_size = ctnn_bench::GanStep::batch_size, .shuffle = true, .drop_last = true,
                                      .prefetch = o.threads > 1});
  ctnn_bench::GanStep gan_step{42};
  std::size_t done = 0;
  double seconds = 0;
  Clock::time_point start{};
  while (done < warmup + o.steps) {
    for (const auto& batch : loader) {
      if (done == warmup) start = Clock::now();
      gan_step.step(batch.x.data());
      if (++done == warmup + o.steps) break;
    }
  }
  seconds = seconds_since(start);
  return {seconds / static_cast<double>(o.steps) * static_cast<double>(steps_per_epoch), std::nullopt, std::nullopt};
}

// Single-image forward latency: eval mode, one thread, median of o.reps after 200 warm-up forwards.
template <class Model>
Result infer(const Options& o) {
  set_threads(1);
  const data::FashionMNIST test_data(o.data, false);
  Model model{manual_seed(42)};
  model.eval();
  typename Model::input_batch x(1);
  std::int64_t label = 0;
  test_data.load(0, x.data(), &label);
  float sink = 0;
  for (int i = 0; i < 200; ++i) sink += model.forward(x).data()[0];
  std::vector<double> us(o.reps);
  for (auto& t : us) {
    const auto start = Clock::now();
    sink += model.forward(x).data()[0];
    t = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
  }
  if (sink == 12345.678f) std::fprintf(stderr, " ");  // keep the forwards
  std::nth_element(us.begin(), us.begin() + static_cast<std::ptrdiff_t>(us.size() / 2), us.end());
  return {std::nullopt, std::nullopt, us[us.size() / 2]};
}

std::string json(const std::optional<double>& v) {
  if (!v) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", *v);
  return buf;
}

}  // namespace

int main(int argc, char** argv) try {
  const Options o = parse(argc, argv);
  set_threads(o.threads);
  Result r;
  if (o.workload == "v0") r = classifier<ctnn_bench::ModelV0>(o);
  else if (o.workload == "v1") r = classifier<ctnn_bench::ModelV1>(o);
  else if (o.workload == "tinyvgg") r = classifier<ctnn_bench::TinyVGG>(o);
  else if (o.workload == "binary") r = binary(o);
  else if (o.workload == "gan") r = gan(o);
  else if (o.workload == "infer_v0") r = infer<ctnn_bench::ModelV0>(o);
  else if (o.workload == "infer_tinyvgg") r = infer<ctnn_bench::TinyVGG>(o);
  else throw error(cat("unknown workload ", o.workload, " (v0 v1 tinyvgg binary gan infer_v0 infer_tinyvgg)"));
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("{\"workload\": \"%s\", \"seconds_per_epoch\": %s, \"test_acc\": %s, \"peak_rss_mb\": %.1f", o.workload.c_str(),
              json(r.seconds_per_epoch).c_str(), json(r.test_acc).c_str(), static_cast<double>(usage.ru_maxrss) / 1024.0);
  if (r.latency_us) std::printf(", \"latency_us\": %s", json(r.latency_us).c_str());
  std::printf(", \"threads\": %zu}\n", ctnn::get_num_threads());
  return 0;
} catch (const std::exception& e) {
  std::cerr << e.what() << "\n";
  return 1;
}
