#pragma once
// dist::nccl: a communicator policy over NCCL for GPU ranks (backend::cuda), bootstrapped over MPI:
//
//   dist::environment env{argc, argv};
//   dist::mpi world;
//   dist::nccl comm{world};     // one GPU per rank: device local_rank() of this machine
//
// Rank 0 makes the ncclUniqueId and broadcasts it over MPI; ncclCommInitRank joins the ranks. The
// collectives run on a stream of their own (non-blocking with respect to the default stream's
// kernels, which the model uses: start_all_reduce synchronises that stream first, so the gradients
// are final); avg is NCCL's ncclAvg. Host pointers (DistributedDataParallel's model check, metric
// counts) are staged through a device scratch buffer.
//
// Waits poll cudaEventQuery and ncclCommGetAsyncError against the collective timeout; on an
// asynchronous NCCL error or at the deadline the communicator is aborted (ncclCommAbort, so no kernel
// waits forever on a dead peer) and the job ends with MPI_Abort and a message naming the collective.
// Needs nccl.h and libnccl (CUDA's /usr/local/cuda here) and cudart; link them with ctnn::distributed.
#include <cuda_runtime.h>
#include <nccl.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

#include "../core/error.hpp"
#include "communicator.hpp"
#include "mpi.hpp"

namespace ctnn::dist {

namespace detail {

template <class T>
ncclDataType_t nccl_type() {
  if constexpr (std::is_same_v<T, float>) return ncclFloat32;
  else if constexpr (std::is_same_v<T, double>) return ncclFloat64;
  else if constexpr (std::is_same_v<T, std::int64_t>) return ncclInt64;
  else if constexpr (std::is_same_v<T, std::uint64_t>) return ncclUint64;
  else if constexpr (std::is_same_v<T, int>) return ncclInt32;
  else if constexpr (std::is_same_v<T, char> || std::is_same_v<T, unsigned char>) return ncclUint8;
  else static_assert(dependent_false<T>, "ctnn::dist::nccl: no NCCL datatype for this element type");
}

inline ncclRedOp_t nccl_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum: return ncclSum;
    case ReduceOp::avg: return ncclAvg;
    case ReduceOp::min: return ncclMin;
    case ReduceOp::max: return ncclMax;
  }
  return ncclSum;
}

inline void check_nccl(ncclResult_t rc, std::string_view what) {
  if (rc != ncclSuccess && rc != ncclInProgress) throw error(cat("dist::nccl: ", what, " failed: ", ncclGetErrorString(rc)));
}
inline void check_cuda(cudaError_t rc, std::string_view what) {
  if (rc != cudaSuccess) throw error(cat("dist::nccl: ", what, " failed: ", cudaGetErrorString(rc)));
}

inline bool is_device_pointer(const void* p) {
  cudaPointerAttributes a{};
  if (cudaPointerGetAttributes(&a, p) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "invalid value" of a plain host pointer on old drivers
    return false;
  }
  return a.type == cudaMemoryTypeDevice || a.type == cudaMemoryTypeManaged;
}

}  // namespace detail

class nccl {
 public:
  static constexpr bool host_memory = false;
  static constexpr std::string_view name = "nccl";

  class request {
   public:
    request() = default;
    bool active() const { return static_cast<bool>(event_); }

   private:
    friend class nccl;
    struct event_slot {
      cudaEvent_t event = nullptr;  // recorded after the collective (or after its group) was issued
      ~event_slot() {
        if (event) cudaEventDestroy(event);
      }
    };
    std::shared_ptr<event_slot> event_;
    const char* what_ = "";
    std::size_t n_ = 0;
    std::chrono::steady_clock::time_point deadline_{};
  };

  explicit nccl(mpi& bootstrap) : timeout_(bootstrap.collective_timeout()) {
    rank_ = bootstrap.rank();
    size_ = bootstrap.size();
    local_rank_ = bootstrap.local_rank();
    int devices = 0;
    detail::check_cuda(cudaGetDeviceCount(&devices), "cudaGetDeviceCount");
    if (devices < 1) throw error("dist::nccl: no CUDA device");
    if (bootstrap.local_size() > devices)
      throw error(cat("dist::nccl: ", bootstrap.local_size(), " ranks on this machine but ", devices,
                      " GPUs: NCCL needs one GPU per rank"));
    device_ = local_rank_;
    detail::check_cuda(cudaSetDevice(device_), "cudaSetDevice");
    ncclUniqueId id{};
    if (rank_ == 0) detail::check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
    bootstrap.broadcast(reinterpret_cast<unsigned char*>(&id), sizeof id, 0);
    detail::check_nccl(ncclCommInitRank(&comm_, size_, id, rank_), "ncclCommInitRank");
    detail::check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
  }
  nccl(const nccl&) = delete;
  nccl& operator=(const nccl&) = delete;
  ~nccl() {
    if (scratch_) cudaFree(scratch_);
    if (stream_) cudaStreamDestroy(stream_);
    if (comm_) ncclCommDestroy(comm_);
  }

  int rank() const { return rank_; }
  int size() const { return size_; }
  int local_rank() const { return local_rank_; }
  int device() const { return device_; }
  ncclComm_t native() const { return comm_; }
  cudaStream_t stream() const { return stream_; }
  seconds collective_timeout() const { return timeout_; }
  void set_collective_timeout(seconds t) {
    if (!(t.count() > 0)) throw error("dist::nccl: the collective timeout must be positive");
    timeout_ = t;
  }

  // Several collectives issued as one (ncclGroupStart/End): DistributedDataParallel's bucket.
  void group_start() {
    detail::check_nccl(ncclGroupStart(), "ncclGroupStart");
    ++group_depth_;
  }
  void group_end() {
    detail::check_nccl(ncclGroupEnd(), "ncclGroupEnd");
    if (--group_depth_ == 0) {
      for (auto& slot : grouped_) record(*slot);
      grouped_.clear();
    }
  }

  template <class T>
  request start_all_reduce(T* data, std::size_t n, ReduceOp op = ReduceOp::sum) {
    if (!detail::is_device_pointer(data))
      throw error("dist::nccl::start_all_reduce: a host pointer (use all_reduce, which stages it)");
    // The model's kernels run on the default stream: the data is final once it has drained (once per group).
    if (group_depth_ == 0 || grouped_.empty())
      detail::check_cuda(cudaStreamSynchronize(nullptr), "cudaStreamSynchronize");
    request r = started("all_reduce", n);
    detail::check_nccl(ncclAllReduce(data, data, n, detail::nccl_type<T>(), detail::nccl_op(op), comm_, stream_),
                       "ncclAllReduce");
    if (group_depth_ > 0) grouped_.push_back(r.event_);
    else record(*r.event_);
    return r;
  }
  template <class T>
  void all_reduce(T* data, std::size_t n, ReduceOp op = ReduceOp::sum) {
    T* target = staged(data, n);
    request r = start_all_reduce(target, n, op);
    wait(r);
    unstage(data, target, n);
  }
  template <class T>
  void broadcast(T* data, std::size_t n, int root = 0) {
    T* target = staged(data, n);
    detail::check_cuda(cudaStreamSynchronize(nullptr), "cudaStreamSynchronize");
    request r = started("broadcast", n);
    detail::check_nccl(ncclBroadcast(target, target, n, detail::nccl_type<T>(), root, comm_, stream_), "ncclBroadcast");
    record(*r.event_);
    wait(r);
    unstage(data, target, n);
  }
  void barrier() {
    int one = 1;
    all_reduce(&one, 1, ReduceOp::sum);
  }

  bool test(request& r) {
    if (!r.active()) return true;
    if (!r.event_->event) return false;  // its group has not been issued yet
    const cudaError_t q = cudaEventQuery(r.event_->event);
    if (q == cudaSuccess) {
      r.event_.reset();
      return true;
    }
    if (q != cudaErrorNotReady) detail::check_cuda(q, "cudaEventQuery");
    ncclResult_t async = ncclSuccess;
    ncclCommGetAsyncError(comm_, &async);
    if (async != ncclSuccess && async != ncclInProgress) {
      ncclCommAbort(comm_);
      comm_ = nullptr;
      abort_job(cat(r.what_, " of ", r.n_, " values: NCCL reported ", ncclGetErrorString(async), " (ncclCommAbort)"));
    }
    return false;
  }
  void wait(request& r) {
    for (unsigned spins = 0; !test(r); ++spins) {
      if (spins < 256) continue;
      if (std::chrono::steady_clock::now() > r.deadline_) {
        ncclCommAbort(comm_);
        comm_ = nullptr;
        abort_job(cat(r.what_, " of ", r.n_, " values did not complete within ", timeout_.count(),
                      " s (the collective timeout; ncclCommAbort): another rank has hung, died or stopped calling "
                      "collectives"),
                  124);
      }
      std::this_thread::yield();
    }
  }

 private:
  request started(const char* what, std::size_t n) {
    request r;
    r.event_ = std::make_shared<request::event_slot>();
    r.what_ = what;
    r.n_ = n;
    r.deadline_ = std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(timeout_);
    return r;
  }
  void record(request::event_slot& slot) {
    detail::check_cuda(cudaEventCreateWithFlags(&slot.event, cudaEventDisableTiming), "cudaEventCreate");
    detail::check_cuda(cudaEventRecord(slot.event, stream_), "cudaEventRecord");
  }
  template <class T>
  T* staged(T* data, std::size_t n) {
    if (detail::is_device_pointer(data)) return data;
    if (scratch_bytes_ < n * sizeof(T)) {
      if (scratch_) cudaFree(scratch_);
      scratch_ = nullptr;
      detail::check_cuda(cudaMalloc(&scratch_, n * sizeof(T)), "cudaMalloc");
      scratch_bytes_ = n * sizeof(T);
    }
    detail::check_cuda(cudaMemcpy(scratch_, data, n * sizeof(T), cudaMemcpyHostToDevice), "cudaMemcpy");
    return static_cast<T*>(scratch_);
  }
  template <class T>
  void unstage(T* data, T* target, std::size_t n) {
    if (target != data)
      detail::check_cuda(cudaMemcpy(data, target, n * sizeof(T), cudaMemcpyDeviceToHost), "cudaMemcpy");
  }

  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  seconds timeout_;
  int rank_ = 0, size_ = 1, local_rank_ = 0, device_ = 0;
  int group_depth_ = 0;
  std::vector<std::shared_ptr<request::event_slot>> grouped_;
  void* scratch_ = nullptr;
  std::size_t scratch_bytes_ = 0;
};

static_assert(Communicator<nccl>);

}  // namespace ctnn::dist
