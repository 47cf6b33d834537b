#pragma once
// DistributedDataParallel<Model, Comm> (torch.nn.parallel.DistributedDataParallel): the same model on
// every rank, each rank a different slice of the batch, gradients averaged after backward, so every
// rank takes the same optimizer step and the parameters stay identical.
//
//   dist::environment env{argc, argv};
//   dist::mpi comm;
//   TinyVGG model{manual_seed(42)};
//   dist::DistributedDataParallel ddp{model, comm};      // checks the model, broadcasts rank 0's weights
//   optim::SGD opt{model.parameters(), {.lr = 0.1}};
//   for (const auto& [x, y] : loader) {                   // loader over sampler.shard(train_data)
//     const float loss = loss_fn(ddp.forward(x), y);
//     opt.zero_grad();
//     ddp.backward(loss_fn.grad());                       // backward, then the averaged gradients
//     opt.step();
//   }
//
// Construction is collective: every rank computes a hash of its model (the C++ type, and every
// parameter's name and shape) and the ranks compare the minimum and maximum of the hashes with two
// all-reduces, so a rank that built another model throws the same named ctnn::error on every rank
// instead of hanging in a mismatched all-reduce later. Then rank 0's parameters are broadcast.
//
// Gradients travel in fixed buckets: parameters in reverse order (the order backward finishes them), a
// small first bucket (first_bucket_mb, 1 MB as PyTorch) so communication can start early, the others
// up to bucket_cap_mb (25 MB); a parameter is never split. The buckets are the same on every rank
// because the model is. Each bucket is one all-reduce (a flat host buffer for host-memory
// communicators; one group of in-place all-reduces for device communicators) and the gradients are
// divided by the number of ranks (PyTorch averages too).
//
// With overlap (the default, for Sequential models) a bucket's all-reduce starts as soon as backward has
// finished the top-level layers that hold its parameters, and the started ones are pushed on with
// test() after every later layer (this Open MPI build has no progress thread). Only what is still in
// flight when backward returns is waited for (last_sync().exposed_seconds).
//
// no_sync(): while the returned guard lives, backward only accumulates gradients locally; the first
// backward after it averages everything accumulated (gradient accumulation over several micro-batches).
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <vector>

#include "../core/error.hpp"
#include "../nn/parameter.hpp"
#include "../nn/sequential.hpp"
#include "communicator.hpp"

namespace ctnn::dist {

struct DDPOptions {
  double bucket_cap_mb = 25;      // PyTorch's bucket_cap_mb
  double first_bucket_mb = 1;     // PyTorch's first bucket (torch.distributed._DEFAULT_FIRST_BUCKET_BYTES)
  bool broadcast_parameters = true;  // rank 0's parameters on every rank at construction
  // Start each bucket's all-reduce during backward, as soon as the layers holding its parameters are
  // done (Sequential models: Block::after_child_backward), and drive it with test() between layers.
  bool overlap = true;
};

// Measurements of the last gradient synchronisation.
struct SyncStats {
  std::size_t bytes = 0;       // gradient bytes all-reduced
  std::size_t buckets = 0;
  double seconds = 0;          // from the first bucket's start to the last one's end
  double exposed_seconds = 0;  // of which after backward returned (what overlap did not hide)
  std::size_t started_during_backward = 0;  // buckets
};

namespace detail {

// FNV-1a, 64 bits: stable across processes and machines (std::hash is not required to be).
struct fnv1a {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  void add(std::string_view s) {
    for (const char c : s) {
      h ^= static_cast<unsigned char>(c);
      h *= 0x100000001b3ULL;
    }
    h ^= 0xff;  // a separator, so ("ab", "c") and ("a", "bc") differ
    h *= 0x100000001b3ULL;
  }
};

// The number of top-level layers of a Sequential (the units whose backward the hook reports).
template <class M>
struct top_level_layers : std::integral_constant<std::size_t, 0> {};
template <Backend B, class In, class... L>
struct top_level_layers<Sequential<B, In, L...>> : std::integral_constant<std::size_t, sizeof...(L)> {};

}  // namespace detail

template <class Model, Communicator Comm>
class DistributedDataParallel {
 public:
  using module_type = Model;
  using backend_type = typename Model::backend_type;
  using scalar = scalar_t<backend_type>;
  using input_batch = typename Model::input_batch;
  using output_batch = typename Model::output_batch;
  static_assert(Comm::host_memory || !backend_type::host_memory,
                "ctnn: a device communicator (dist::nccl) needs a device backend (backend::cuda); "
                "use dist::mpi for CPU backends");

  DistributedDataParallel(Model& model, Comm& comm, DDPOptions options = {})
      : model_(model), comm_(comm), options_(options) {
    if (!(options_.bucket_cap_mb > 0) || !(options_.first_bucket_mb > 0))
      throw error("DistributedDataParallel: bucket_cap_mb and first_bucket_mb must be positive");
    params_ = model_.parameters();
    check_same_model();
    if (options_.broadcast_parameters) broadcast_parameters();
    make_buckets();
    if (options_.overlap) install_hook();
  }
  DistributedDataParallel(const DistributedDataParallel&) = delete;
  DistributedDataParallel& operator=(const DistributedDataParallel&) = delete;
  ~DistributedDataParallel() {
    if constexpr (detail::top_level_layers<Model>::value > 0) model_.body().after_child_backward = nullptr;
  }

  const output_batch& forward(const input_batch& x) { return model_.forward(x); }
  const output_batch& operator()(const input_batch& x) { return model_.forward(x); }

  // The model's backward (parameter gradients only, by default), then the averaged gradients on every
  // rank, unless inside no_sync().
  template <class Grad>
  const input_batch& backward(const Grad& dy, InputGrad input_grad = InputGrad::skip) {
    if (!sync_enabled_) return model_.backward(dy, input_grad);
    begin_sync();
    in_backward_ = true;
    try {
      const input_batch& dx = model_.backward(dy, input_grad);
      in_backward_ = false;
      end_sync();
      return dx;
    } catch (...) {
      in_backward_ = false;
      throw;  // buckets may be in flight: the job cannot continue (dist::environment aborts it)
    }
  }

  // Averages every parameter's gradient over the ranks, bucket by bucket. Collective: every rank must
  // call it the same number of times (backward does).
  void synchronize_gradients() {
    begin_sync();
    end_sync();
  }

  // PyTorch's `with ddp.no_sync():` as a scope guard.
  class sync_guard {
   public:
    explicit sync_guard(DistributedDataParallel& d) : d_(&d), previous_(d.sync_enabled_) { d.sync_enabled_ = false; }
    sync_guard(const sync_guard&) = delete;
    sync_guard& operator=(const sync_guard&) = delete;
    ~sync_guard() { d_->sync_enabled_ = previous_; }

   private:
    DistributedDataParallel* d_;
    bool previous_;
  };
  [[nodiscard]] sync_guard no_sync() { return sync_guard(*this); }

  // Rank 0's parameter values on every rank.
  void broadcast_parameters() {
    for (Parameter<backend_type>* p : params_) {
      if constexpr (Comm::host_memory && !backend_type::host_memory) {
        std::vector<scalar> host = p->values_to_host();
        comm_.broadcast(host.data(), host.size(), 0);
        backend::ops<backend_type>::from_host(host.size(), host.data(), p->value.data());
      } else {
        comm_.broadcast(p->value.data(), p->size(), 0);
      }
    }
  }

  Model& module() { return model_; }
  Comm& communicator() { return comm_; }
  std::vector<ParameterRef<backend_type>> parameters() { return model_.parameters(); }
  void zero_grad() { model_.zero_grad(); }
  void train(bool on = true) { model_.train(on); }
  void eval() { model_.eval(); }
  StateDict<scalar> state_dict() { return model_.state_dict(); }
  void load_state_dict(const StateDict<scalar>& s) { model_.load_state_dict(s); }

  // The buckets, as counts of values, in the order they are all-reduced.
  std::vector<std::size_t> bucket_sizes() const {
    std::vector<std::size_t> out;
    for (const auto& b : buckets_) out.push_back(b.size);
    return out;
  }
  const SyncStats& last_sync() const { return stats_; }
  std::uint64_t model_hash() const { return hash_; }

 private:
  using clock = std::chrono::steady_clock;

  // Per synchronisation: how many parameters of each bucket are still being computed, and the next
  // bucket to start (buckets start strictly in order, so every rank issues the same collectives in
  // the same order whatever its timing).
  void begin_sync() {
    for (std::size_t i = 0; i < buckets_.size(); ++i) pending_[i] = buckets_[i].params.size();
    next_ = 0;
    stats_ = {};
  }
  void start_ready_buckets() {
    while (next_ < buckets_.size() && pending_[next_] == 0) {
      if (next_ == 0) first_start_ = clock::now();
      start_bucket(buckets_[next_++]);
    }
    for (std::size_t i = 0; i < next_; ++i) {
      if constexpr (Comm::host_memory) comm_.test(buckets_[i].request);
      else for (auto& r : buckets_[i].requests) comm_.test(r);
    }
  }
  void end_sync() {
    const auto backward_done = clock::now();
    stats_.started_during_backward = next_;
    for (auto& n : pending_) n = 0;
    start_ready_buckets();
    for (auto& b : buckets_) finish_bucket(b);
    const auto done = clock::now();
    if (stats_.started_during_backward == 0) first_start_ = backward_done;
    stats_.seconds = std::chrono::duration<double>(done - first_start_).count();
    stats_.exposed_seconds = std::chrono::duration<double>(done - backward_done).count();
    stats_.buckets = buckets_.size();
    for (const auto& b : buckets_) stats_.bytes += b.size * sizeof(scalar);
  }

  // Sequential models: which parameters each top-level layer holds, and the hook that reports them done.
  void install_hook() {
    constexpr std::size_t layers = detail::top_level_layers<Model>::value;
    if constexpr (layers > 0) {
      layer_params_.resize(layers);
      [&]<std::size_t... I>(std::index_sequence<I...>) {
        (model_.body().template get<I>().visit_parameters([&](Parameter<backend_type>& p) {
          for (std::size_t k = 0; k < params_.size(); ++k)
            if (params_[k] == &p) layer_params_[I].push_back(k);
        }),
         ...);
      }(std::make_index_sequence<layers>{});
      model_.body().after_child_backward = [this](std::size_t layer) { layer_done(layer); };
    }
  }
  void layer_done(std::size_t layer) {
    if (!in_backward_) return;  // a backward not called through this wrapper
    for (const std::size_t k : layer_params_[layer]) --pending_[bucket_of_[k]];
    start_ready_buckets();
  }

  struct bucket {
    std::vector<std::size_t> params;  // indices into params_, in reverse parameter order
    std::size_t size = 0;             // values
    std::vector<scalar> flat;         // host staging (host-memory communicators)
    typename Comm::request request;
    std::vector<typename Comm::request> requests;  // device communicators: one per parameter
  };

  void check_same_model() {
    detail::fnv1a f;
    f.add(typeid(Model).name());
    f.add(std::to_string(params_.size()));
    for (const auto* p : params_) {
      f.add(p->name);
      f.add(shape_string(p->shape));
    }
    hash_ = f.h;
    std::int64_t v[2] = {static_cast<std::int64_t>(hash_), static_cast<std::int64_t>(Model::parameter_count)};
    std::int64_t lo[2] = {v[0], v[1]}, hi[2] = {v[0], v[1]};
    comm_.all_reduce(lo, 2, ReduceOp::min);
    comm_.all_reduce(hi, 2, ReduceOp::max);
    if (lo[0] != hi[0])
      throw error(cat("DistributedDataParallel: the ranks hold different models (rank ", comm_.rank(), " of ",
                      comm_.size(), ": ", params_.size(), " parameter tensors, ", Model::parameter_count,
                      " values, model hash ", std::hex, hash_, std::dec, "; the ranks' parameter counts range from ",
                      lo[1], " to ", hi[1], "): every rank must construct the same Model type"));
  }

  void make_buckets() {
    const auto cap = [&](double mb) {
      return std::max<std::size_t>(1, static_cast<std::size_t>(mb * 1024 * 1024 / sizeof(scalar)));
    };
    bucket current;
    std::size_t limit = cap(options_.first_bucket_mb);
    for (std::size_t k = params_.size(); k-- > 0;) {
      current.params.push_back(k);
      current.size += params_[k]->size();
      if (current.size >= limit) {
        buckets_.push_back(std::move(current));
        current = bucket{};
        limit = cap(options_.bucket_cap_mb);
      }
    }
    if (!current.params.empty()) buckets_.push_back(std::move(current));
    pending_.resize(buckets_.size());
    bucket_of_.resize(params_.size());
    for (std::size_t i = 0; i < buckets_.size(); ++i)
      for (const std::size_t k : buckets_[i].params) bucket_of_[k] = i;
    for (auto& b : buckets_) {
      if constexpr (Comm::host_memory) b.flat.resize(b.size);
      else b.requests.resize(b.params.size());
    }
  }

  void start_bucket(bucket& b) {
    if constexpr (Comm::host_memory) {
      std::size_t offset = 0;
      for (const std::size_t k : b.params) {
        const Parameter<backend_type>& p = *params_[k];
        copy_out(p.grad.data(), p.size(), b.flat.data() + offset);
        offset += p.size();
      }
      b.request = comm_.start_all_reduce(b.flat.data(), b.size, ReduceOp::avg);
    } else {
      comm_.group_start();
      for (std::size_t j = 0; j < b.params.size(); ++j) {
        Parameter<backend_type>& p = *params_[b.params[j]];
        b.requests[j] = comm_.start_all_reduce(p.grad.data(), p.size(), ReduceOp::avg);
      }
      comm_.group_end();
    }
  }
  void finish_bucket(bucket& b) {
    if constexpr (Comm::host_memory) {
      comm_.wait(b.request);
      std::size_t offset = 0;
      for (const std::size_t k : b.params) {
        Parameter<backend_type>& p = *params_[k];
        copy_in(b.flat.data() + offset, p.size(), p.grad.data());
        offset += p.size();
      }
    } else {
      for (auto& r : b.requests) comm_.wait(r);
    }
  }

  // Between a parameter's gradient and the host staging buffer.
  static void copy_out(const scalar* grad, std::size_t n, scalar* host) {
    if constexpr (backend_type::host_memory) std::copy_n(grad, n, host);
    else backend::ops<backend_type>::to_host(n, grad, host);
  }
  static void copy_in(const scalar* host, std::size_t n, scalar* grad) {
    if constexpr (backend_type::host_memory) std::copy_n(host, n, grad);
    else backend::ops<backend_type>::from_host(n, host, grad);
  }

  Model& model_;
  Comm& comm_;
  DDPOptions options_;
  std::vector<ParameterRef<backend_type>> params_;
  std::vector<bucket> buckets_;
  std::uint64_t hash_ = 0;
  bool sync_enabled_ = true;
  bool in_backward_ = false;
  std::vector<std::vector<std::size_t>> layer_params_;  // per top-level layer: indices into params_
  std::vector<std::size_t> bucket_of_;                   // per parameter
  std::vector<std::size_t> pending_;                     // per bucket
  std::size_t next_ = 0;
  clock::time_point first_start_{};
  SyncStats stats_;
};

}  // namespace ctnn::dist
