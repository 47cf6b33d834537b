#pragma once
// What DistributedDataParallel needs from a communicator policy (dist::mpi, dist::nccl): its rank among
// size() ranks, in-place all-reduce and broadcast of scalars, and a non-blocking all-reduce it can start
// while backward is still running and finish later. Like a backend, a communicator says where the
// buffers it takes live: host_memory communicators (MPI here: Debian's Open MPI is not CUDA-aware) get
// host buffers, device communicators (NCCL) get the backend's device buffers.
//
// Every wait has a deadline (collective_timeout, default 10 minutes): a rank that hangs or leaves a
// collective ends the whole job with a message naming the collective, instead of a CI that never ends.
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace ctnn::dist {

enum class ReduceOp { sum, avg, min, max };

inline const char* reduce_op_name(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum: return "sum";
    case ReduceOp::avg: return "avg";
    case ReduceOp::min: return "min";
    case ReduceOp::max: return "max";
  }
  return "?";
}

using seconds = std::chrono::duration<double>;

// CTNN_COLLECTIVE_TIMEOUT_S overrides the default, so a launcher can tighten it without a rebuild.
inline seconds default_collective_timeout() {
  if (const char* s = std::getenv("CTNN_COLLECTIVE_TIMEOUT_S")) {
    char* end = nullptr;
    const double v = std::strtod(s, &end);
    if (end != s && v > 0) return seconds(v);
  }
  return seconds(600.0);
}

template <class C>
concept Communicator = requires(C& c, const C& cc, float* f, std::int64_t* i, std::size_t n, ReduceOp op) {
  { C::host_memory } -> std::convertible_to<bool>;
  { C::name } -> std::convertible_to<std::string_view>;
  { cc.rank() } -> std::convertible_to<int>;
  { cc.size() } -> std::convertible_to<int>;
  { cc.local_rank() } -> std::convertible_to<int>;
  c.all_reduce(f, n, op);
  c.all_reduce(i, n, op);
  c.broadcast(f, n, 0);
  c.barrier();
  typename C::request;
  { c.start_all_reduce(f, n, op) } -> std::same_as<typename C::request>;
  { c.test(std::declval<typename C::request&>()) } -> std::convertible_to<bool>;
  c.wait(std::declval<typename C::request&>());
};

}  // namespace ctnn::dist
