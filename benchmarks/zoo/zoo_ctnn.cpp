// ctnn's worker for the zoo runner (run_zoo.py), also usable alone:
//   zoo_ctnn --list                 one line per row: {"spec": ..., "flop": ...}
//   zoo_ctnn [--threads N] [--seconds S]
//       then reads specs on stdin, one per line, and answers each with {"spec": ..., "ms": ...}; the spec
//       "gemm M" times a square M x M x M product through the backend's GEMM and answers with its GFLOP/s.
// A persistent worker, so that the runner can alternate ctnn, PyTorch and LibTorch row by row without
// paying an interpreter's start-up per measurement. Peak RSS is answered to the spec "rss".
#include <ctnn/ctnn.hpp>

#include <sys/resource.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "zoo.hpp"

namespace {

double gemm_gflops(std::size_t m, double seconds) {
  using ops = ctnn::backend::ops<ctnn::backend::eigen>;
  std::vector<float> a(m * m, 0.5f), b(m * m, 0.25f), c(m * m);
  const double ms = ctnn_zoo::median_ms(seconds, [&] { ops::gemm(false, false, m, m, m, 1.0f, a.data(), b.data(), 0.0f, c.data()); });
  ctnn_zoo::kept = c[0];
  return 2.0 * static_cast<double>(m) * static_cast<double>(m) * static_cast<double>(m) / (ms * 1e6);
}

}  // namespace

int main(int argc, char** argv) try {
  std::vector<ctnn_zoo::row> rows;
  ctnn_zoo::add_layer_rows(rows);
  ctnn_zoo::add_model_rows(rows);
  std::size_t threads = 2;
  double seconds = 0.5;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--list") {
      for (const auto& r : rows) std::printf("{\"spec\": \"%s\", \"flop\": %.6g}\n", r.spec.c_str(), r.flop);
      return 0;
    }
    if (arg == "--threads" && i + 1 < argc) threads = std::stoul(argv[++i]);
    else if (arg == "--seconds" && i + 1 < argc) seconds = std::stod(argv[++i]);
    else throw ctnn::error("usage: zoo_ctnn --list | zoo_ctnn [--threads N] [--seconds S] < specs");
  }
  ctnn::set_num_threads(threads);
  std::string spec;
  while (std::getline(std::cin, spec)) {
    if (spec.empty()) continue;
    if (spec == "rss") {
      rusage usage{};
      getrusage(RUSAGE_SELF, &usage);
      std::printf("{\"spec\": \"rss\", \"peak_rss_mb\": %.1f}\n", static_cast<double>(usage.ru_maxrss) / 1024.0);
    } else if (spec.rfind("gemm ", 0) == 0) {
      std::printf("{\"spec\": \"%s\", \"gflops\": %.4g}\n", spec.c_str(), gemm_gflops(std::stoul(spec.substr(5)), seconds));
    } else {
      const ctnn_zoo::row* found = nullptr;
      for (const auto& r : rows)
        if (r.spec == spec) found = &r;
      if (!found) std::printf("{\"spec\": \"%s\", \"error\": \"not a zoo row\"}\n", spec.c_str());
      else std::printf("{\"spec\": \"%s\", \"ms\": %.6g, \"threads\": %zu}\n", spec.c_str(), found->time(seconds), ctnn::get_num_threads());
    }
    std::fflush(stdout);
  }
  return 0;
} catch (const std::exception& e) {
  std::cerr << e.what() << "\n";
  return 1;
}
