// dist::nccl on GPU ranks: all-reduce (avg, sum, min, max), a grouped bucket, broadcast and the staging
// of host pointers, checked against values every rank can compute, and the time of a ~12 MB average
// (the GAN's gradients). Without a GPU it exits 77 (CTest: Skipped). One GPU per rank: on a one-GPU
// machine run it with one rank.
#include <ctnn/distributed/mpi.hpp>
#include <ctnn/distributed/nccl.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

using namespace ctnn;

int main(int argc, char** argv) {
  dist::environment env{argc, argv};
  dist::mpi world;
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices < world.local_size()) {
    if (world.rank() == 0) std::printf("no GPU for each rank (%d found): skipped\n", devices);
    return 77;
  }
  dist::nccl comm{world};
  const int p = comm.size(), r = comm.rank();
  const std::size_t n = 3 * 1024 * 1024;  // 12 MiB of floats
  std::vector<float> host(n);
  for (std::size_t i = 0; i < n; ++i) host[i] = static_cast<float>((i % 97) * (r + 1));
  float* device = nullptr;
  dist::detail::check_cuda(cudaMalloc(&device, n * sizeof(float)), "cudaMalloc");
  auto upload = [&] { dist::detail::check_cuda(cudaMemcpy(device, host.data(), n * sizeof(float), cudaMemcpyHostToDevice), "upload"); };
  auto download = [&] {
    std::vector<float> out(n);
    dist::detail::check_cuda(cudaMemcpy(out.data(), device, n * sizeof(float), cudaMemcpyDeviceToHost), "download");
    return out;
  };
  // The mean of (i % 97) * (rank + 1) over ranks is (i % 97) * (p + 1) / 2.
  upload();
  comm.all_reduce(device, n, dist::ReduceOp::avg);
  const auto avg = download();
  for (std::size_t i = 0; i < n; ++i) {
    const float expected = static_cast<float>(i % 97) * static_cast<float>(p + 1) / 2.0f;
    if (std::abs(avg[i] - expected) > 1e-4f * std::max(1.0f, expected))
      throw error(cat("nccl avg: value ", i, " is ", avg[i], ", expected ", expected));
  }
  // A bucket: two in-place all-reduces issued as one group.
  upload();
  comm.group_start();
  auto a = comm.start_all_reduce(device, n / 2, dist::ReduceOp::max);
  auto b = comm.start_all_reduce(device + n / 2, n - n / 2, dist::ReduceOp::min);
  comm.group_end();
  comm.wait(a);
  comm.wait(b);
  const auto mixed = download();
  for (std::size_t i = 0; i < n; ++i) {
    const float expected = static_cast<float>(i % 97) * static_cast<float>(i < n / 2 ? p : 1);
    if (mixed[i] != expected) throw error(cat("nccl grouped max/min: value ", i, " is ", mixed[i], ", expected ", expected));
  }
  // Host pointers are staged: the model check and metric counts use them.
  std::int64_t counts[2] = {r + 1, 10};
  comm.all_reduce(counts, 2, dist::ReduceOp::sum);
  if (counts[0] != static_cast<std::int64_t>(p) * (p + 1) / 2 || counts[1] != 10 * p) throw error("nccl host all_reduce");
  double root_value = r == 0 ? 3.25 : -1.0;
  comm.broadcast(&root_value, 1, 0);
  if (root_value != 3.25) throw error("nccl host broadcast");
  comm.barrier();

  // Timing: the minimum of 20 averages of 12 MiB.
  double best = 1e9;
  for (int k = 0; k < 20; ++k) {
    const auto t0 = std::chrono::steady_clock::now();
    auto req = comm.start_all_reduce(device, n, dist::ReduceOp::avg);
    comm.wait(req);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  if (r == 0) std::printf("nccl: %d rank(s), all-reduce avg of 12 MiB: %.3f ms (best of 20)\n", p, best * 1e3);
  cudaFree(device);
  return 0;
}
