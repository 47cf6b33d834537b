#pragma once
// DataLoader (torch.utils.data.DataLoader): batches of a data set, for range-for.
//
//   DataLoader train_loader(train_data, {.batch_size = 32, .shuffle = true});
//   for (const auto& [x, y] : train_loader) { ... }     // x: Batch<Shape, B>, y: Labels<B>
//
// Each iteration (each call of begin()) is one epoch; with shuffle the order is a fresh random
// permutation drawn from the loader's generator, which is forked from the given one at construction:
// the same seed gives the same epochs, and other users of that generator do not change them.
// The batches are views into two buffers that the loader owns and reuses, so after the first epoch
// no batch allocates; a batch stays valid until the loop advances. The last batch is smaller unless
// drop_last. size() is the number of batches per epoch.
//
// Random transforms draw from a seed per sample: a function of the epoch's seed (from the loader's
// generator) and the sample's index (transforms/sample_random.hpp), so the batches, augmentations
// included, are the same however many threads load them.
//
// num_workers (torch's DataLoader(num_workers=...)): that many threads load whole batches, batch k on
// whichever worker is free, at most prefetch_factor * num_workers batches ahead of the loop (one
// buffer per batch in flight, reused). With num_workers = 0 and prefetch, one background thread loads
// batch k + 1 while the loop body runs on batch k (double buffering); without prefetch the loop's own
// thread loads each batch. The batches are identical in every case. An error of a worker is rethrown
// when the loop reaches that batch, as ctnn::error (a std::exception that is not one is wrapped, its
// message kept). Leaving a loop early, starting another epoch or destroying the loader stops the
// workers within one sample. One iteration at a time per loader; the data set's load() must be
// thread-safe against itself (every ctnn data set's is).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <iterator>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "../backend/backend.hpp"
#include "../backend/eigen.hpp"
#include "../core/error.hpp"
#include "../core/random.hpp"
#include "../tensor/batch.hpp"
#include "dataset.hpp"
#include "transforms/sample_random.hpp"

namespace ctnn::data {

struct LoaderOptions {
  std::size_t batch_size = 1;  // as PyTorch's defaults
  bool shuffle = false;
  bool drop_last = false;
  bool prefetch = true;
  // Draw every epoch's order from the given generator itself (not a fork), the way
  // torch.utils.data.DataLoader draws from torch's global generator: a base seed per iteration, then
  // for shuffle a sampler seed and torch.randperm. After manual_seed(s) the batches are PyTorch's
  // batches for the same seed and the same sequence of loops (tests/data/test_torch_order.cpp).
  // The generator must then outlive the loader.
  bool torch_order = false;
  // Threads loading batches (torch's num_workers); 0: see prefetch.
  std::size_t num_workers = 0;
  // Batches loaded ahead per worker (torch's prefetch_factor, default 2).
  std::size_t prefetch_factor = 2;
};

// The batch type of targets T on backend B: Labels<B> for class indices, Batch<Shape, B> otherwise.
template <class T, Backend B>
struct target_batch;
template <Backend B>
struct target_batch<std::int64_t, B> {
  using type = Labels<B>;
};
template <std::size_t... D, Backend B>
struct target_batch<Shape<D...>, B> {
  using type = Batch<Shape<D...>, B>;
};
template <class T, Backend B>
using target_batch_t = typename target_batch<T, B>::type;

namespace detail {
// Host staging to backend memory: on a host backend of the same element type the loader writes the
// batch directly and this is never called.
template <Backend B, class Dst, class Src>
void upload(const Src* src, std::size_t n, Dst* dst, std::vector<Dst>& tmp) {
  if constexpr (B::host_memory) {
    for (std::size_t i = 0; i < n; ++i) dst[i] = static_cast<Dst>(src[i]);
  } else if constexpr (std::is_same_v<Src, Dst>) {
    backend::ops<B>::from_host(n, src, dst);
  } else {
    tmp.resize(n);
    for (std::size_t i = 0; i < n; ++i) tmp[i] = static_cast<Dst>(src[i]);
    backend::ops<B>::from_host(n, tmp.data(), dst);
  }
}
}  // namespace detail

template <Dataset D, Backend B = backend::eigen>
class DataLoader {
 public:
  using dataset_type = D;
  using backend_type = B;
  using sample_shape = typename D::sample_shape;
  using target_type = typename D::target_type;
  using x_type = Batch<sample_shape, B>;
  using y_type = target_batch_t<target_type, B>;

  // What the loop gets: the current batch, by reference.
  struct batch {
    const x_type& x;
    const y_type& y;
  };

  struct sentinel {};
  class iterator {
   public:
    using value_type = batch;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    batch operator*() const { return loader_->current(); }
    iterator& operator++() {
      loader_->advance(++k_);
      return *this;
    }
    void operator++(int) { ++*this; }
    bool operator==(sentinel) const { return !loader_ || k_ >= loader_->size(); }
    std::size_t index() const { return k_; }

   private:
    friend class DataLoader;
    iterator(DataLoader* loader, std::size_t k) : loader_(loader), k_(k) {}
    DataLoader* loader_ = nullptr;
    std::size_t k_ = 0;
  };

  explicit DataLoader(D dataset, LoaderOptions options = {}, Generator& generator = default_generator())
      : st_(std::make_unique<state>(std::move(dataset), options, generator.fork())) {
    if (options.torch_order) st_->shared = &generator;
    if (options.batch_size == 0) throw error("DataLoader: batch_size must be at least 1");
    if (options.num_workers > 0 && options.prefetch_factor == 0)
      throw error("DataLoader: prefetch_factor must be at least 1 with num_workers > 0");
    state& s = *st_;
    s.workers = options.num_workers > 0 ? options.num_workers : (options.prefetch ? 1 : 0);
    s.ring = options.num_workers > 0 ? options.num_workers * options.prefetch_factor + 1 : 2;
    s.slots = std::make_unique<slot[]>(s.ring);
  }
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;
  DataLoader(DataLoader&&) noexcept = default;
  DataLoader& operator=(DataLoader&& other) noexcept {
    if (this != &other) {
      shutdown();
      st_ = std::move(other.st_);
    }
    return *this;
  }
  ~DataLoader() { shutdown(); }

  // Starts an epoch: draws the order (with shuffle) and loads the first batch.
  iterator begin() {
    state& s = *st_;
    drain();
    s.epoch++;
    if (s.shared) s.shared->torch_random64();  // torch: the iterator's _base_seed
    if (s.options.shuffle && s.shared)          // torch: RandomSampler's seed, then randperm
      Generator::torch_randperm(s.order, s.dataset.size(), s.shared->torch_random64() % (std::uint64_t{1} << 63));
    else if (s.options.shuffle) detail::permutation(s.order, s.dataset.size(), s.generator);
    else if (s.order.size() != s.dataset.size()) {
      s.order.resize(s.dataset.size());
      for (std::size_t i = 0; i < s.order.size(); ++i) s.order[i] = i;
    }
    // From the generator's seed and the epoch number, not a draw: the shuffle stream stays as it was.
    s.epoch_seed = rng::bits(rng::mix(s.generator.seed() ^ 0x5a3f1e6d2c4b7a91ULL), s.epoch);
    if (size() == 0) return iterator(this, 0);
    s.current = 0;
    if (s.workers == 0) {
      fill(s, s.slots[0], 0);
    } else {
      start_workers();
      release(std::min(size(), s.ring));
      take(0);
    }
    publish(s.slots[0]);
    return iterator(this, 0);
  }
  sentinel end() const { return {}; }

  // Batches per epoch.
  std::size_t size() const {
    const std::size_t n = st_->dataset.size(), b = st_->options.batch_size;
    return st_->options.drop_last ? n / b : (n + b - 1) / b;
  }
  std::size_t batch_size() const { return st_->options.batch_size; }
  const LoaderOptions& options() const { return st_->options; }
  const D& dataset() const { return st_->dataset; }
  // Epochs started so far.
  std::size_t epoch() const { return st_->epoch; }
  // The sample order of the current epoch (indices into the data set).
  const std::vector<std::size_t>& order() const { return st_->order; }

 private:
  using y_element = target_element_t<target_type>;
  static constexpr bool direct_x = B::host_memory && std::is_same_v<scalar_t<B>, float>;
  static constexpr bool direct_y = B::host_memory && std::is_same_v<typename y_type::value_type, y_element>;

  struct slot {
    x_type x;
    y_type y;
    std::vector<float> x_stage;             // when the backend cannot take floats directly
    std::vector<y_element> y_stage;
    std::vector<scalar_t<B>> convert;       // device backend of another scalar: converted values
    std::vector<typename y_type::value_type> convert_y;
    std::size_t n = 0;
    // The batch a worker last finished in this slot (none: npos) and its error; under the mutex,
    // atomic so that the loop can spin on it before sleeping.
    std::atomic<std::size_t> ready{npos};
    std::exception_ptr failure;
  };

  struct state {
    state(D d, const LoaderOptions& o, Generator g) : dataset(std::move(d)), options(o), generator(g) {}
    D dataset;
    LoaderOptions options;
    Generator generator;
    Generator* shared = nullptr;  // torch_order: the generator to draw from each epoch
    std::vector<std::size_t> order;
    std::uint64_t epoch_seed = 0;
    std::unique_ptr<slot[]> slots;  // batch k fills slot k % ring
    std::size_t ring = 2;
    std::size_t current = 0;
    std::size_t epoch = 0;
    std::size_t workers = 0;  // threads to start
    std::vector<std::thread> threads;
    std::mutex mutex;
    std::condition_variable work_cv, done_cv;
    // Batches [next, limit) may be claimed by a worker; in_flight are being loaded. Under the mutex;
    // limit is atomic so that an idle worker can spin on it before sleeping.
    std::size_t next = 0;
    std::atomic<std::size_t> limit{0};
    std::size_t in_flight = 0;
    std::atomic<bool> cancel{false};  // stops a load between two samples (early exit, shutdown)
    bool stop = false;
  };

  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  batch current() const { return {st_->slots[st_->current].x, st_->slots[st_->current].y}; }

  static constexpr std::size_t prefetch_distance = 8;  // samples ahead (covers a few hundred ns of memory latency)

  // Loads batch k of the current order into host memory of slot s (worker or loop thread). Each
  // sample is loaded under its own seed (sample_seed_scope), so random transforms give the same
  // result on any thread.
  static void fill(const state& st, slot& s, std::size_t k) {
    const std::size_t bs = st.options.batch_size;
    const std::size_t first = k * bs;
    const std::size_t n = std::min(bs, st.order.size() - first);
    constexpr std::size_t xs = sample_shape::size, ys = target_size_v<target_type>;
    s.n = n;
    if constexpr (direct_x) s.x.resize(n);
    else s.x_stage.resize(n * xs);
    if constexpr (direct_y) s.y.resize(n);
    else s.y_stage.resize(n * ys);
    for (std::size_t j = 0; j < std::min(n, prefetch_distance); ++j) data::prefetch(st.dataset, st.order[first + j]);
    for (std::size_t j = 0; j < n; ++j) {
      if (st.cancel.load(std::memory_order_relaxed)) return;
      float* x;
      y_element* y;
      if constexpr (direct_x) x = s.x.data() + j * xs;
      else x = s.x_stage.data() + j * xs;
      if constexpr (direct_y) y = s.y.data() + j * ys;
      else y = s.y_stage.data() + j * ys;
      if (j + prefetch_distance < n) data::prefetch(st.dataset, st.order[first + j + prefetch_distance]);
      const std::size_t index = st.order[first + j];
      sample_seed_scope seed(rng::bits(st.epoch_seed, index));
      st.dataset.load(index, x, y);
    }
  }

  // Moves a filled slot's staging into backend memory (loop thread only).
  static void publish(slot& s) {
    if constexpr (!direct_x) {
      s.x.resize(s.n);
      detail::upload<B>(s.x_stage.data(), s.n * sample_shape::size, s.x.data(), s.convert);
    }
    if constexpr (!direct_y) {
      s.y.resize(s.n);
      detail::upload<B>(s.y_stage.data(), s.n * target_size_v<target_type>, s.y.data(), s.convert_y);
    }
  }

  // The loop moved on to batch k.
  void advance(std::size_t k) {
    state& s = *st_;
    if (k >= size()) return;
    if (s.workers == 0) {
      fill(s, s.slots[0], k);
      publish(s.slots[0]);
      return;
    }
    {
      // Batch k - 1's slot is free again: it takes batch k - 1 + ring, the last of the ring batches
      // (k .. k + ring - 1) that may now be loaded or loading.
      std::lock_guard lock(s.mutex);
      s.slots[(k - 1) % s.ring].ready.store(npos, std::memory_order_relaxed);
    }
    release(std::min(size(), k + s.ring));
    take(k);
    s.current = k % s.ring;
    publish(s.slots[s.current]);
  }

  void start_workers() {
    state& s = *st_;
    if (!s.threads.empty()) return;
    for (std::size_t w = 0; w < s.workers; ++w) s.threads.emplace_back([p = st_.get()] { run(*p); });
  }

  // Lets the workers claim batches up to (not including) limit.
  void release(std::size_t limit) {
    state& s = *st_;
    {
      std::lock_guard lock(s.mutex);
      if (limit <= s.limit.load(std::memory_order_relaxed)) return;
      s.limit.store(limit, std::memory_order_release);
    }
    s.work_cv.notify_all();
  }

  // Spins up to ~50 microseconds for `done()` before the caller blocks on a condition variable. A small
  // model's step (V0: ~20 us) is shorter than a sleep/wake-up pair through the kernel, so both sides
  // would otherwise spend their time in futex calls; a longer step costs at most this bounded spin.
  template <class Done>
  static void spin_until(Done done) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::microseconds(50);
    for (unsigned i = 1; !done(); ++i) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
      if (i % 64 == 0 && std::chrono::steady_clock::now() > give_up) return;
    }
  }

  // Waits until a worker has loaded batch k; rethrows its error as ctnn::error.
  void take(std::size_t k) {
    state& s = *st_;
    slot& sl = s.slots[k % s.ring];
    spin_until([&] { return sl.ready.load(std::memory_order_acquire) == k; });
    std::unique_lock lock(s.mutex);
    s.done_cv.wait(lock, [&] { return sl.ready.load(std::memory_order_relaxed) == k; });
    if (std::exception_ptr e = std::exchange(sl.failure, nullptr)) {
      lock.unlock();
      try {
        std::rethrow_exception(e);
      } catch (const error&) {
        throw;
      } catch (const std::exception& x) {
        throw error(cat("DataLoader: a worker failed to load batch ", k, ": ", x.what()));
      } catch (...) {
        throw error(cat("DataLoader: a worker failed to load batch ", k, " (an exception that is not a std::exception)"));
      }
    }
  }

  // Stops the epoch in progress (the loop left early or a new one starts): no more claims, loads in
  // flight end at their next sample, and their results are forgotten.
  void drain() {
    state& s = *st_;
    if (s.threads.empty()) return;
    std::unique_lock lock(s.mutex);
    s.cancel.store(true, std::memory_order_relaxed);
    s.next = 0;
    s.limit.store(0, std::memory_order_relaxed);
    s.done_cv.wait(lock, [&] { return s.in_flight == 0; });
    for (std::size_t i = 0; i < s.ring; ++i) {
      s.slots[i].ready.store(npos, std::memory_order_relaxed);
      s.slots[i].failure = nullptr;
    }
    s.cancel.store(false, std::memory_order_relaxed);
  }

  static void run(state& s) {
    std::unique_lock lock(s.mutex);
    for (;;) {
      if (!s.stop && s.next >= s.limit.load(std::memory_order_relaxed)) {
        const std::size_t claimed = s.next;
        lock.unlock();
        spin_until([&] { return s.limit.load(std::memory_order_acquire) > claimed; });
        lock.lock();
      }
      s.work_cv.wait(lock, [&] { return s.stop || s.next < s.limit.load(std::memory_order_relaxed); });
      if (s.stop) return;
      const std::size_t k = s.next++;
      ++s.in_flight;
      slot& sl = s.slots[k % s.ring];
      lock.unlock();
      std::exception_ptr e;
      try {
        fill(s, sl, k);
      } catch (...) {
        e = std::current_exception();
      }
      lock.lock();
      --s.in_flight;
      sl.failure = e;
      sl.ready.store(k, std::memory_order_release);
      s.done_cv.notify_all();
    }
  }

  void shutdown() noexcept {
    if (!st_ || st_->threads.empty()) return;
    {
      std::lock_guard lock(st_->mutex);
      st_->stop = true;
      st_->cancel.store(true, std::memory_order_relaxed);
    }
    st_->work_cv.notify_all();
    for (auto& t : st_->threads) t.join();
    st_->threads.clear();
  }

  std::unique_ptr<state> st_;
};

template <class D>
DataLoader(D, LoaderOptions, Generator&) -> DataLoader<D>;
template <class D>
DataLoader(D, LoaderOptions) -> DataLoader<D>;
template <class D>
DataLoader(D) -> DataLoader<D>;

// The whole data set as one batch, in order (for the small tutorials that train on all of X at once).
template <Backend B = backend::eigen, Dataset D>
auto to_batch(const D& ds) {
  struct whole {
    Batch<typename D::sample_shape, B> x;
    target_batch_t<typename D::target_type, B> y;
  };
  DataLoader<D, B> loader(ds, {.batch_size = std::max<std::size_t>(ds.size(), 1), .shuffle = false, .drop_last = false,
                               .prefetch = false});
  whole w;
  for (const auto& b : loader) {
    w.x = b.x;
    w.y = b.y;
  }
  return w;
}

}  // namespace ctnn::data
