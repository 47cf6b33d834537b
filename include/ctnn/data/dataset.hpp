#pragma once
// Data sets, as torch.utils.data.Dataset but with static shapes. A data set is a cheap handle (its
// data is shared, so copies and views cost nothing) with
//   sample_shape                 the per-sample shape, e.g. Shape<1, 28, 28>
//   target_type                  std::int64_t (a class index) or a Shape<...> (a float target tensor,
//                                e.g. Shape<1> for BCELoss, or a regression target)
//   size()                       the number of samples
//   load(i, float* x, target_element_t<target_type>* y) const
//                                writes sample i into x (sample_shape::size floats) and its target
//                                into y (one int64, or target_shape::size floats), allocating
//                                nothing; thread-safe against other const calls
//   target(i) (optional)         the target of sample i without loading the sample (fast filtering)
//   prefetch(i) (optional)       a hint that sample i is loaded next: starts its memory traffic early
//                                (a shuffled epoch reads samples at random; see data::prefetch)
// Views and helpers work on any data set: subset(), filter(), select_classes(), float_targets(),
// map_targets(), materialize(); random_split() and train_test_split().
#include <algorithm>
#include <array>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <numeric>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "../core/random.hpp"
#include "../core/shape.hpp"

namespace ctnn::data {

namespace detail {
// Asks for the cache line holding p. Not __builtin_prefetch: g++ 12 at -O2 treats it as free of effects
// and deletes it wherever it sits behind a bounds check or in a loop of its own.
inline void prefetch_line(const void* p) {
#if defined(__x86_64__) || defined(__i386__)
  asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p)));
#else
  __builtin_prefetch(p);
#endif
}
}  // namespace detail

// Hint for data sets that do not say how to prefetch: nothing to do.
template <class D>
void prefetch(const D& dataset, std::size_t i) {
  if constexpr (requires { dataset.prefetch(i); }) dataset.prefetch(i);
}

// ---- targets -----------------------------------------------------------------------------------

template <class T>
concept TargetType = std::same_as<T, std::int64_t> || ShapeType<T>;

template <class T>
struct target_traits;
template <>
struct target_traits<std::int64_t> {
  using element = std::int64_t;
  using value = std::int64_t;
  static constexpr std::size_t size = 1;
};
template <std::size_t... D>
struct target_traits<Shape<D...>> {
  using element = float;
  using value = std::array<float, Shape<D...>::size>;
  static constexpr std::size_t size = Shape<D...>::size;
};

// What load() writes a target as: std::int64_t or float.
template <class T>
using target_element_t = typename target_traits<T>::element;
// One target by value: std::int64_t or std::array<float, N>.
template <class T>
using target_value_t = typename target_traits<T>::value;
// How many elements one target has.
template <class T>
inline constexpr std::size_t target_size_v = target_traits<T>::size;

// ---- the concept ---------------------------------------------------------------------------------

template <class D>
concept Dataset = requires {
  typename D::sample_shape;
  typename D::target_type;
} && ShapeType<typename D::sample_shape> && TargetType<typename D::target_type> &&
    requires(const D& d, std::size_t i, float* x, target_element_t<typename D::target_type>* y) {
      { d.size() } -> std::convertible_to<std::size_t>;
      d.load(i, x, y);
    };

template <class D>
concept HasTargetLookup = Dataset<D> && requires(const D& d, std::size_t i) {
  { d.target(i) } -> std::convertible_to<target_value_t<typename D::target_type>>;
};

template <class D>
concept HasClasses = requires(const D& d) {
  { d.classes() } -> std::convertible_to<std::vector<std::string>>;
};

namespace detail {
inline void check_index(std::size_t i, std::size_t size, const char* what) {
  if (i >= size) throw error(cat(what, ": index ", i, " is out of range for ", size, " samples"));
}
template <class T>
target_value_t<T> target_from_elements(const target_element_t<T>* y) {
  if constexpr (std::same_as<T, std::int64_t>) {
    return y[0];
  } else {
    target_value_t<T> v{};
    std::copy(y, y + target_size_v<T>, v.begin());
    return v;
  }
}
}  // namespace detail

// The target of sample i: through target(i) when the data set has it, else by loading the sample.
template <Dataset D>
target_value_t<typename D::target_type> target_of(const D& ds, std::size_t i) {
  using T = typename D::target_type;
  if constexpr (HasTargetLookup<D>) {
    return ds.target(i);
  } else {
    std::vector<float> x(D::sample_shape::size);
    std::array<target_element_t<T>, target_size_v<T>> y{};
    ds.load(i, x.data(), y.data());
    return detail::target_from_elements<T>(y.data());
  }
}

// One sample by value (for inspection: `auto [image, label] = train_data[0];`).
template <ShapeType S, TargetType T>
struct Example {
  std::vector<float> x;
  target_value_t<T> y;
};

template <Dataset D>
Example<typename D::sample_shape, typename D::target_type> get(const D& ds, std::size_t i) {
  using T = typename D::target_type;
  Example<typename D::sample_shape, T> e{std::vector<float>(D::sample_shape::size), {}};
  std::array<target_element_t<T>, target_size_v<T>> y{};
  ds.load(i, e.x.data(), y.data());
  e.y = detail::target_from_elements<T>(y.data());
  return e;
}

// ---- views -----------------------------------------------------------------------------------------

template <class D>
class Subset;
template <class D, TargetType NewTarget, class F>
class TargetMap;
template <ShapeType S, TargetType T>
class InMemoryDataset;

namespace detail {
// select_classes(): old label -> position in the kept list.
struct class_table {
  std::vector<std::int64_t> table;  // indexed by old label; -1 when not kept
  std::int64_t operator()(std::int64_t old) const {
    if (old < 0 || static_cast<std::size_t>(old) >= table.size() || table[static_cast<std::size_t>(old)] < 0)
      throw error(cat("select_classes: label ", old, " is not one of the selected classes"));
    return table[static_cast<std::size_t>(old)];
  }
};
struct label_to_float {
  float operator()(std::int64_t label) const { return static_cast<float>(label); }
};
}  // namespace detail

// Members every data set of ctnn gets (CRTP): views over it and conversions.
template <class Derived>
class dataset_ops {
 public:
  // Sample i by value.
  auto operator[](std::size_t i) const { return get(self(), i); }

  // The samples at `indices`, in that order (torch.utils.data.Subset).
  Subset<Derived> subset(std::vector<std::size_t> indices) const { return Subset<Derived>(self(), std::move(indices)); }

  // The samples whose target satisfies pred (pred takes the target by value: a class index or an
  // array of floats).
  template <class Pred>
  Subset<Derived> filter(Pred pred) const {
    const Derived& d = self();
    std::vector<std::size_t> keep;
    for (std::size_t i = 0; i < d.size(); ++i)
      if (pred(target_of(d, i))) keep.push_back(i);
    return Subset<Derived>(d, std::move(keep));
  }

  // Keeps the samples of the listed classes and renumbers them by their position in the list:
  // select_classes({0, 9}) keeps t-shirts and ankle boots as 0 and 1; select_classes({0, 2}) keeps
  // airplanes and birds as 0 and 1 (label_map = {0: 0, 2: 1}).
  template <class Self = Derived>
    requires std::same_as<typename Self::target_type, std::int64_t>
  auto select_classes(const std::vector<std::int64_t>& classes) const {
    detail::class_table t;
    for (std::size_t k = 0; k < classes.size(); ++k) {
      const std::int64_t c = classes[k];
      if (c < 0) throw error(cat("select_classes: class ", c, " is negative"));
      const auto ci = static_cast<std::size_t>(c);
      if (ci >= t.table.size()) t.table.resize(ci + 1, -1);
      if (t.table[ci] >= 0) throw error(cat("select_classes: class ", c, " is listed twice"));
      t.table[ci] = static_cast<std::int64_t>(k);
    }
    auto kept = filter([&](std::int64_t y) {
      return y >= 0 && static_cast<std::size_t>(y) < t.table.size() && t.table[static_cast<std::size_t>(y)] >= 0;
    });
    std::vector<std::string> names;
    if constexpr (HasClasses<Derived>) {
      const std::vector<std::string> all = self().classes();
      for (auto c : classes)
        names.push_back(static_cast<std::size_t>(c) < all.size() ? all[static_cast<std::size_t>(c)] : std::to_string(c));
    } else {
      for (auto c : classes) names.push_back(std::to_string(c));
    }
    return TargetMap<Subset<Derived>, std::int64_t, detail::class_table>(std::move(kept), std::move(t), std::move(names));
  }

  // Class indices as float targets of Shape<1> (what BCELoss takes): 0 -> 0.0f, 1 -> 1.0f.
  template <class Self = Derived>
    requires std::same_as<typename Self::target_type, std::int64_t>
  auto float_targets() const {
    std::vector<std::string> names;
    if constexpr (HasClasses<Derived>) names = self().classes();
    return TargetMap<Derived, Shape<1>, detail::label_to_float>(self(), {}, std::move(names));
  }

  // Targets through f: f takes the old target by value and returns the new one (an int64 for a
  // class index target, a float for a one-element target, or std::array<float, N>).
  template <TargetType NewTarget, class F>
  TargetMap<Derived, NewTarget, F> map_targets(F f) const {
    return TargetMap<Derived, NewTarget, F>(self(), std::move(f));
  }

  // Every sample loaded once into memory (runs the transform once: no more augmentation).
  auto materialize() const {
    return InMemoryDataset<typename Derived::sample_shape, typename Derived::target_type>::from(self());
  }

 private:
  const Derived& self() const { return static_cast<const Derived&>(*this); }
};

// The samples of D at the given indices.
template <class D>
class Subset : public dataset_ops<Subset<D>> {
 public:
  using sample_shape = typename D::sample_shape;
  using target_type = typename D::target_type;

  Subset(D base, std::vector<std::size_t> indices)
      : base_(std::move(base)), indices_(std::make_shared<const std::vector<std::size_t>>(std::move(indices))) {
    for (std::size_t k = 0; k < indices_->size(); ++k)
      if ((*indices_)[k] >= base_.size())
        throw error(cat("Subset: index ", (*indices_)[k], " (position ", k, ") is out of range for a data set of ",
                        base_.size(), " samples"));
  }

  std::size_t size() const { return indices_->size(); }
  void load(std::size_t i, float* x, target_element_t<target_type>* y) const { base_.load(index(i), x, y); }
  void prefetch(std::size_t i) const {
    if (i < indices_->size()) data::prefetch(base_, (*indices_)[i]);
  }
  target_value_t<target_type> target(std::size_t i) const { return target_of(base_, index(i)); }
  std::vector<std::string> classes() const
    requires HasClasses<D>
  {
    return base_.classes();
  }

  // Index in the underlying data set of sample i.
  std::size_t index(std::size_t i) const {
    detail::check_index(i, indices_->size(), "Subset");
    return (*indices_)[i];
  }
  std::span<const std::size_t> indices() const { return *indices_; }
  const D& base() const { return base_; }

 private:
  D base_;
  std::shared_ptr<const std::vector<std::size_t>> indices_;
};

// D with its targets passed through F (see map_targets, select_classes, float_targets).
template <class D, TargetType NewTarget, class F>
class TargetMap : public dataset_ops<TargetMap<D, NewTarget, F>> {
  using old_target = typename D::target_type;

 public:
  using sample_shape = typename D::sample_shape;
  using target_type = NewTarget;

  TargetMap(D base, F f, std::vector<std::string> classes = {})
      : base_(std::move(base)), f_(std::move(f)), classes_(std::move(classes)) {}

  std::size_t size() const { return base_.size(); }
  void prefetch(std::size_t i) const { data::prefetch(base_, i); }
  void load(std::size_t i, float* x, target_element_t<target_type>* y) const {
    std::array<target_element_t<old_target>, target_size_v<old_target>> old{};
    base_.load(i, x, old.data());
    write(f_(detail::target_from_elements<old_target>(old.data())), y);
  }
  target_value_t<target_type> target(std::size_t i) const {
    std::array<target_element_t<target_type>, target_size_v<target_type>> y{};
    write(f_(target_of(base_, i)), y.data());
    return detail::target_from_elements<target_type>(y.data());
  }
  // The class names, when the mapping defines them (select_classes does).
  std::vector<std::string> classes() const { return classes_; }
  const D& base() const { return base_; }

 private:
  template <class R>
  static void write(const R& r, target_element_t<target_type>* y) {
    if constexpr (std::is_arithmetic_v<R>) {
      static_assert(target_size_v<target_type> == 1, "ctnn: map_targets: a scalar result needs a one-element target");
      y[0] = static_cast<target_element_t<target_type>>(r);
    } else {
      static_assert(std::tuple_size_v<R> == target_size_v<target_type>,
                    "ctnn: map_targets: the result has another number of elements than the target shape");
      for (std::size_t k = 0; k < target_size_v<target_type>; ++k) y[k] = static_cast<target_element_t<target_type>>(r[k]);
    }
  }

  D base_;
  F f_;
  std::vector<std::string> classes_;
};

// ---- in memory -----------------------------------------------------------------------------------

// Samples and targets held in memory as floats (and int64 class indices). The storage is shared:
// copies are cheap.
template <ShapeType S, TargetType T = std::int64_t>
class InMemoryDataset : public dataset_ops<InMemoryDataset<S, T>> {
 public:
  using sample_shape = S;
  using target_type = T;
  using element = target_element_t<T>;

  InMemoryDataset() : x_(std::make_shared<const std::vector<float>>()), y_(std::make_shared<const std::vector<element>>()) {}
  // features: n * S::size floats, [n, S...]; targets: n * target size.
  InMemoryDataset(std::vector<float> features, std::vector<element> targets) {
    const std::size_t n = S::size ? features.size() / S::size : targets.size() / target_size_v<T>;
    if (features.size() != n * S::size || targets.size() != n * target_size_v<T>)
      throw error(cat("InMemoryDataset", S::str(), ": ", features.size(), " feature values and ", targets.size(),
                      " target values are not the same number of samples (", S::size, " and ", target_size_v<T>,
                      " per sample)"));
    x_ = std::make_shared<const std::vector<float>>(std::move(features));
    y_ = std::make_shared<const std::vector<element>>(std::move(targets));
  }

  // Loads every sample of ds.
  template <Dataset D>
    requires std::same_as<typename D::sample_shape, S> && std::same_as<typename D::target_type, T>
  static InMemoryDataset from(const D& ds) {
    const std::size_t n = ds.size();
    std::vector<float> x(n * S::size);
    std::vector<element> y(n * target_size_v<T>);
    for (std::size_t i = 0; i < n; ++i) ds.load(i, x.data() + i * S::size, y.data() + i * target_size_v<T>);
    return InMemoryDataset(std::move(x), std::move(y));
  }

  std::size_t size() const { return y_->size() / target_size_v<T>; }
  void load(std::size_t i, float* x, element* y) const {
    detail::check_index(i, size(), "InMemoryDataset");
    std::copy_n(x_->data() + i * S::size, S::size, x);
    std::copy_n(y_->data() + i * target_size_v<T>, target_size_v<T>, y);
  }
  target_value_t<T> target(std::size_t i) const {
    detail::check_index(i, size(), "InMemoryDataset");
    return detail::target_from_elements<T>(y_->data() + i * target_size_v<T>);
  }

  std::span<const float> features() const { return *x_; }
  std::span<const element> targets() const { return *y_; }
  std::span<const float> sample(std::size_t i) const {
    detail::check_index(i, size(), "InMemoryDataset");
    return std::span<const float>(*x_).subspan(i * S::size, S::size);
  }

 private:
  std::shared_ptr<const std::vector<float>> x_;
  std::shared_ptr<const std::vector<element>> y_;
};

// ---- splitting -----------------------------------------------------------------------------------

namespace detail {
// A uniformly random permutation of 0..n-1 (Fisher-Yates), written into order.
inline void permutation(std::vector<std::size_t>& order, std::size_t n, Generator& g) {
  order.resize(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  for (std::size_t i = n; i > 1; --i) std::swap(order[i - 1], order[g.below(i)]);
}
}  // namespace detail

// torch.utils.data.random_split: a random permutation cut into consecutive pieces of the given
// lengths, which must add up to the size of the data set.
template <Dataset D>
std::vector<Subset<D>> random_split(const D& ds, const std::vector<std::size_t>& lengths,
                                    Generator& generator = default_generator()) {
  const std::size_t total = std::accumulate(lengths.begin(), lengths.end(), std::size_t{0});
  if (total != ds.size())
    throw error(cat("random_split: the lengths add up to ", total, " but the data set has ", ds.size(), " samples"));
  std::vector<std::size_t> order;
  detail::permutation(order, ds.size(), generator);
  std::vector<Subset<D>> parts;
  std::size_t at = 0;
  for (auto len : lengths) {
    parts.emplace_back(ds, std::vector<std::size_t>(order.begin() + static_cast<std::ptrdiff_t>(at),
                                                    order.begin() + static_cast<std::ptrdiff_t>(at + len)));
    at += len;
  }
  return parts;
}

template <class D>
struct Split {
  Subset<D> train;
  Subset<D> test;
};

// sklearn's train_test_split: ceil(test_size * n) samples for the test part, the rest for training.
// shuffle: a random permutation (test first, as sklearn's ShuffleSplit); otherwise the first samples
// train and the last ones test, in order.
template <Dataset D>
Split<D> train_test_split(const D& ds, double test_size, Generator& generator = default_generator(), bool shuffle = true) {
  if (!(test_size > 0.0 && test_size < 1.0))
    throw error(cat("train_test_split: test_size ", test_size, " is not in (0, 1)"));
  const std::size_t n = ds.size();
  const auto n_test = static_cast<std::size_t>(std::ceil(test_size * static_cast<double>(n)));
  if (n_test == 0 || n_test >= n)
    throw error(cat("train_test_split: test_size ", test_size, " of ", n, " samples leaves ", n - std::min(n, n_test),
                    " for training and ", n_test, " for testing"));
  std::vector<std::size_t> order;
  if (shuffle) {
    detail::permutation(order, n, generator);
    return {Subset<D>(ds, std::vector<std::size_t>(order.begin() + static_cast<std::ptrdiff_t>(n_test), order.end())),
            Subset<D>(ds, std::vector<std::size_t>(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n_test)))};
  }
  order.resize(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  const std::size_t n_train = n - n_test;
  return {Subset<D>(ds, std::vector<std::size_t>(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n_train))),
          Subset<D>(ds, std::vector<std::size_t>(order.begin() + static_cast<std::ptrdiff_t>(n_train), order.end()))};
}

}  // namespace ctnn::data
