#pragma once
// dist::mpi: a communicator policy over MPI (Open MPI on CPU ranks), and dist::environment, which starts
// and ends MPI for a program launched with `mpirun -np N ./program`.
//
//   int main(int argc, char** argv) {
//     ctnn::dist::environment env{argc, argv};   // MPI_Init_thread; MPI_Finalize or MPI_Abort at the end
//     ctnn::dist::mpi comm;                       // a private duplicate of MPI_COMM_WORLD
//     ...
//   }
//
// The communicator is a duplicate (MPI_Comm_dup), so ctnn's collectives never match a user's own
// messages on MPI_COMM_WORLD; local_rank() is the rank among the processes of this machine
// (MPI_Comm_split_type with MPI_COMM_TYPE_SHARED), the number that picks a GPU.
//
// Failures end the job rather than hang it:
//  * an exception that leaves main (or any std::terminate) prints its message with the rank and calls
//    MPI_Abort, which makes mpirun kill every rank (never MPI_Finalize and a normal return, which would
//    leave the other ranks waiting in their next collective);
//  * every collective is non-blocking underneath and waited for with MPI_Test against a deadline
//    (collective_timeout): a rank that hangs or stops calling collectives makes the others abort with a
//    message naming the collective after that long;
//  * a rank that exits or crashes is seen by mpirun itself, which ends the job (about 2 s here).
// MPI_Test also drives progress: this Open MPI build has no progress thread, so a started all-reduce
// advances only while some rank calls into MPI.
#include <mpi.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>

#include "../core/error.hpp"
#include "communicator.hpp"

namespace ctnn::dist {

namespace detail {

template <class T>
MPI_Datatype mpi_type() {
  if constexpr (std::is_same_v<T, float>) return MPI_FLOAT;
  else if constexpr (std::is_same_v<T, double>) return MPI_DOUBLE;
  else if constexpr (std::is_same_v<T, std::int64_t>) return MPI_INT64_T;
  else if constexpr (std::is_same_v<T, std::uint64_t>) return MPI_UINT64_T;
  else if constexpr (std::is_same_v<T, int>) return MPI_INT;
  else if constexpr (std::is_same_v<T, char> || std::is_same_v<T, unsigned char>) return MPI_BYTE;
  else static_assert(dependent_false<T>, "ctnn::dist::mpi: no MPI datatype for this element type");
}

inline MPI_Op mpi_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::min: return MPI_MIN;
    case ReduceOp::max: return MPI_MAX;
    default: return MPI_SUM;  // avg: a sum, divided when it completes
  }
}

inline int world_rank() {
  int initialized = 0, finalized = 0, rank = -1;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

inline void check_mpi(int rc, std::string_view what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(rc, text, &length);
  throw error(cat("dist::mpi: ", what, " failed: ", std::string_view(text, static_cast<std::size_t>(length))));
}

}  // namespace detail

// Ends every rank of the job: prints `message` (prefixed with this rank) and calls MPI_Abort.
[[noreturn]] inline void abort_job(std::string_view message, int code = 1) {
  std::fprintf(stderr, "ctnn: rank %d: %.*s\n", detail::world_rank(), static_cast<int>(message.size()), message.data());
  std::fflush(stderr);
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

namespace detail {
// The std::terminate handler while a dist::environment exists: an uncaught exception ends the job.
[[noreturn]] inline void terminate_job() {
  std::string message = "terminating: ";
  if (const auto e = std::current_exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      message += cat("uncaught exception: ", x.what());
    } catch (...) {
      message += "uncaught exception of a type not derived from std::exception";
    }
  } else {
    message += "std::terminate called";
  }
  abort_job(message + " (MPI_Abort: every rank of the job ends)");
}
}  // namespace detail

// MPI for the lifetime of main. Asks for MPI_THREAD_SERIALIZED (a data loader thread may exist, but
// only one thread calls MPI at a time); MPI_THREAD_MULTIPLE when a program's own threads call MPI.
class environment {
 public:
  environment(int& argc, char**& argv, int thread_level = MPI_THREAD_SERIALIZED) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (initialized) throw error("dist::environment: MPI is already initialised (one environment per process)");
    detail::check_mpi(MPI_Init_thread(&argc, &argv, thread_level, &provided_), "MPI_Init_thread");
    if (provided_ < thread_level) {
      MPI_Finalize();
      throw error(cat("dist::environment: MPI provides thread level ", provided_, ", below the requested ", thread_level));
    }
    previous_terminate_ = std::set_terminate(&detail::terminate_job);
  }
  environment(const environment&) = delete;
  environment& operator=(const environment&) = delete;
  // Unwinding out of main through here means an exception is on its way out: the other ranks must not
  // be left waiting for this one, so the job is aborted instead of finalised.
  ~environment() {
    if (std::uncaught_exceptions() > 0) abort_job("an exception is leaving main (MPI_Abort: every rank of the job ends)");
    std::set_terminate(previous_terminate_);
    MPI_Finalize();
  }
  int thread_level() const { return provided_; }

 private:
  int provided_ = 0;
  std::terminate_handler previous_terminate_ = nullptr;
};

struct MpiOptions {
  seconds collective_timeout = default_collective_timeout();
};

class mpi {
 public:
  static constexpr bool host_memory = true;
  static constexpr std::string_view name = "mpi";

  // A collective in flight (start_all_reduce): finish it with test() or wait() before touching data.
  class request {
   public:
    request() = default;
    bool active() const { return req_ != MPI_REQUEST_NULL; }

   private:
    friend class mpi;
    MPI_Request req_ = MPI_REQUEST_NULL;
    void* data_ = nullptr;
    std::size_t n_ = 0;
    void (*finish_)(void*, std::size_t, int) = nullptr;  // avg: divides by the rank count
    const char* what_ = "";
    std::chrono::steady_clock::time_point deadline_{};
  };

  explicit mpi(MPI_Comm parent = MPI_COMM_WORLD, MpiOptions options = {}) : options_(options) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) throw error("dist::mpi: MPI is not initialised: create a ctnn::dist::environment first");
    detail::check_mpi(MPI_Comm_dup(parent, &comm_), "MPI_Comm_dup");
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);  // errors become ctnn::error, then MPI_Abort
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
    MPI_Comm local;
    detail::check_mpi(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local),
                      "MPI_Comm_split_type");
    MPI_Comm_rank(local, &local_rank_);
    MPI_Comm_size(local, &local_size_);
    MPI_Comm_free(&local);
  }
  mpi(const mpi&) = delete;
  mpi& operator=(const mpi&) = delete;
  ~mpi() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized && comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
  }

  int rank() const { return rank_; }
  int size() const { return size_; }
  int local_rank() const { return local_rank_; }
  int local_size() const { return local_size_; }
  MPI_Comm native() const { return comm_; }

  seconds collective_timeout() const { return options_.collective_timeout; }
  void set_collective_timeout(seconds t) {
    if (!(t.count() > 0)) throw error("dist::mpi: the collective timeout must be positive");
    options_.collective_timeout = t;
  }

  // In place, on every rank: data[i] = op over ranks of data[i]. avg is the sum divided by size().
  template <class T>
  void all_reduce(T* data, std::size_t n, ReduceOp op = ReduceOp::sum) {
    request r = start_all_reduce(data, n, op);
    wait(r);
  }
  template <class T>
  request start_all_reduce(T* data, std::size_t n, ReduceOp op = ReduceOp::sum) {
    if constexpr (std::is_integral_v<T>)
      if (op == ReduceOp::avg) throw error("dist::mpi::all_reduce: avg of integers (use sum and divide)");
    request r = started("all_reduce");
    r.data_ = data;
    r.n_ = n;
    if (op == ReduceOp::avg)
      r.finish_ = [](void* p, std::size_t count, int ranks) {
        T* v = static_cast<T*>(p);
        const T d = static_cast<T>(ranks);
        for (std::size_t i = 0; i < count; ++i) v[i] /= d;
      };
    detail::check_mpi(MPI_Iallreduce(MPI_IN_PLACE, data, count_of(n), detail::mpi_type<T>(), detail::mpi_op(op), comm_,
                                     &r.req_),
                      "MPI_Iallreduce");
    return r;
  }
  // Rank `root`'s data[0, n) on every rank.
  template <class T>
  void broadcast(T* data, std::size_t n, int root = 0) {
    request r = started("broadcast");
    r.n_ = n;
    detail::check_mpi(MPI_Ibcast(data, count_of(n), detail::mpi_type<T>(), root, comm_, &r.req_), "MPI_Ibcast");
    wait(r);
  }
  void barrier() {
    request r = started("barrier");
    detail::check_mpi(MPI_Ibarrier(comm_, &r.req_), "MPI_Ibarrier");
    wait(r);
  }

  // Progress and completion: true (and the result in place) once the collective has finished.
  bool test(request& r) {
    if (!r.active()) return true;
    int done = 0;
    detail::check_mpi(MPI_Test(&r.req_, &done, MPI_STATUS_IGNORE), "MPI_Test");
    if (done) complete(r);
    return done != 0;
  }
  // Blocks until the collective has finished, or ends the job once its deadline has passed.
  void wait(request& r) {
    for (unsigned spins = 0; !test(r); ++spins) {
      if (spins < 256) continue;  // a short collective is done within microseconds: no clock yet
      if (std::chrono::steady_clock::now() > r.deadline_)
        abort_job(cat(r.what_, " of ", r.n_, " values did not complete within ", options_.collective_timeout.count(),
                      " s (the collective timeout): another rank has hung, died or stopped calling collectives"),
                  124);
      std::this_thread::yield();  // on an oversubscribed machine the peer may need this core
    }
  }

 private:
  static int count_of(std::size_t n) {
    if (n > static_cast<std::size_t>(INT32_MAX)) throw error(cat("dist::mpi: ", n, " values exceed MPI's int count"));
    return static_cast<int>(n);
  }
  request started(const char* what) const {
    request r;
    r.what_ = what;
    r.deadline_ = std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(options_.collective_timeout);
    return r;
  }
  void complete(request& r) const {
    if (r.finish_) r.finish_(r.data_, r.n_, size_);
    r.finish_ = nullptr;
  }

  MPI_Comm comm_ = MPI_COMM_NULL;
  MpiOptions options_;
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
};

static_assert(Communicator<mpi>);

}  // namespace ctnn::dist
