#pragma once
// Accuracy and the confusion matrix, as the tutorials compute them (accuracy in percent), and from the
// matrix precision, recall and F1 as torchmetrics' MulticlassPrecision / MulticlassRecall /
// MulticlassF1Score compute them (fractions in [0, 1]):
//   Average::macro (torchmetrics' default)  the mean over classes; a class that is neither a target nor
//                                           a prediction (tp + fp + fn = 0) is left out of the mean
//   Average::micro                          from the counts summed over classes (= accuracy / 100)
//   Average::weighted                       the mean weighted by each class's support (tp + fn)
//   per class                               precision_per_class() etc. (torchmetrics' average=None)
// A ratio whose denominator is 0 is 0 (torchmetrics' zero-division convention), e.g. the precision of
// a class never predicted.
#include <algorithm>
#include <cstdint>
#include <iomanip>
#include <sstream>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "../tensor/batch.hpp"

namespace ctnn::metrics {

// The tutorials' accuracy_fn: percentage of equal entries.
inline double accuracy(const std::vector<std::int64_t>& y_true, const std::vector<std::int64_t>& y_pred) {
  if (y_true.size() != y_pred.size() || y_true.empty())
    throw error(cat("accuracy: ", y_true.size(), " targets but ", y_pred.size(), " predictions"));
  std::size_t correct = 0;
  for (std::size_t i = 0; i < y_true.size(); ++i) correct += y_true[i] == y_pred[i];
  return 100.0 * static_cast<double>(correct) / static_cast<double>(y_true.size());
}

namespace detail {
// Host pointer to a batch's values: the batch itself on host backends, a reused copy otherwise.
template <class T, class BatchType>
const T* host_values(const BatchType& batch, std::vector<T>& scratch) {
  if constexpr (BatchType::backend_type::host_memory) {
    return batch.data();
  } else {
    scratch.resize(batch.size());
    backend::ops<typename BatchType::backend_type>::to_host(batch.size(), batch.data(), scratch.data());
    return scratch.data();
  }
}
}  // namespace detail

// Class prediction = argmax of the logits (or probabilities), compared with class indices.
class Multiclass {
 public:
  template <std::size_t C, Backend B>
  std::size_t correct(const Batch<Shape<C>, B>& scores, const Labels<B>& y) const {
    std::vector<scalar_t<B>> score_copy;  // stay empty (no allocation) on host backends
    std::vector<std::int64_t> label_copy;
    const auto* s = detail::host_values(scores, score_copy);
    const auto* t = detail::host_values(y, label_copy);
    std::size_t hits = 0;
    for (std::size_t i = 0; i < scores.batch_size(); ++i) hits += static_cast<std::int64_t>(argmax(s + i * C, C)) == t[i];
    return hits;
  }
  template <class Scores>
  static std::size_t total(const Scores& scores) { return scores.batch_size(); }

  template <std::size_t C, Backend B>
  static void predict(const Batch<Shape<C>, B>& scores, std::vector<std::int64_t>& out) {
    std::vector<scalar_t<B>> score_copy;
    const auto* s = detail::host_values(scores, score_copy);
    for (std::size_t i = 0; i < scores.batch_size(); ++i) out.push_back(static_cast<std::int64_t>(argmax(s + i * C, C)));
  }

 private:
  template <class T>
  static std::size_t argmax(const T* row, std::size_t n) {
    std::size_t best = 0;
    for (std::size_t c = 1; c < n; ++c)
      if (row[c] > row[best]) best = c;
    return best;
  }
};

// Binary prediction = output > threshold (0.5 for probabilities after Sigmoid, 0 for logits),
// compared with 0/1 targets.
class Binary {
 public:
  explicit Binary(double threshold = 0.5) : threshold_(threshold) {}
  template <class S, Backend B>
  std::size_t correct(const Batch<S, B>& outputs, const Batch<S, B>& targets) const {
    std::vector<scalar_t<B>> output_copy, target_copy;  // stay empty on host backends
    const auto* o = detail::host_values(outputs, output_copy);
    const auto* t = detail::host_values(targets, target_copy);
    std::size_t hits = 0;
    for (std::size_t i = 0; i < outputs.size(); ++i) hits += (o[i] > threshold_) == (t[i] > 0.5);
    return hits;
  }
  template <class Outputs>
  static std::size_t total(const Outputs& outputs) { return outputs.size(); }
  double threshold() const { return threshold_; }

 private:
  double threshold_;
};

enum class Average { micro, macro, weighted };

// Counts of (true class, predicted class) pairs; rows are true classes.
class ConfusionMatrix {
 public:
  explicit ConfusionMatrix(std::size_t classes) : counts_(classes, std::vector<std::size_t>(classes, 0)) {}

  void add(std::int64_t truth, std::int64_t prediction) {
    const auto n = static_cast<std::int64_t>(counts_.size());
    if (truth < 0 || truth >= n || prediction < 0 || prediction >= n)
      throw error(cat("confusion matrix: class ", truth < 0 || truth >= n ? truth : prediction, " is outside 0..", n - 1));
    ++counts_[static_cast<std::size_t>(truth)][static_cast<std::size_t>(prediction)];
  }
  void add(const std::vector<std::int64_t>& truth, const std::vector<std::int64_t>& predictions) {
    if (truth.size() != predictions.size())
      throw error(cat("confusion matrix: ", truth.size(), " targets but ", predictions.size(), " predictions"));
    for (std::size_t i = 0; i < truth.size(); ++i) add(truth[i], predictions[i]);
  }

  const std::vector<std::vector<std::size_t>>& counts() const { return counts_; }
  std::size_t classes() const { return counts_.size(); }
  std::size_t total() const {
    std::size_t t = 0;
    for (const auto& row : counts_) for (auto v : row) t += v;
    return t;
  }
  double accuracy() const {
    std::size_t diagonal = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) diagonal += counts_[i][i];
    return total() ? 100.0 * static_cast<double>(diagonal) / static_cast<double>(total()) : 0.0;
  }

  // Per class: true positives (the diagonal), false positives (column sum minus it), false negatives
  // (row sum minus it).
  std::vector<double> true_positives() const { return per_class([&](std::size_t c) { return tp(c); }); }
  std::vector<double> false_positives() const { return per_class([&](std::size_t c) { return column(c) - tp(c); }); }
  std::vector<double> false_negatives() const { return per_class([&](std::size_t c) { return row(c) - tp(c); }); }

  std::vector<double> precision_per_class() const {
    return per_class([&](std::size_t c) { return safe_divide(tp(c), column(c)); });
  }
  std::vector<double> recall_per_class() const { return per_class([&](std::size_t c) { return safe_divide(tp(c), row(c)); }); }
  std::vector<double> f1_per_class() const {
    return per_class([&](std::size_t c) { return safe_divide(2 * tp(c), tp(c) + row(c) + column(c) - tp(c)); });
  }

  double precision(Average average = Average::macro) const {
    return reduce(average, precision_per_class(), [&](double t, double, double fp) { return safe_divide(t, t + fp); });
  }
  double recall(Average average = Average::macro) const {
    return reduce(average, recall_per_class(), [&](double t, double fn, double) { return safe_divide(t, t + fn); });
  }
  // F1 = 2 tp / (2 tp + fp + fn) (torchmetrics' F-beta with beta 1, from the counts).
  double f1_score(Average average = Average::macro) const {
    return reduce(average, f1_per_class(), [&](double t, double fn, double fp) { return safe_divide(2 * t, 2 * t + fn + fp); });
  }

  // A text table with class names (rows: true class, columns: predicted class).
  std::string str(const std::vector<std::string>& class_names = {}) const {
    const std::size_t n = counts_.size();
    auto name = [&](std::size_t i) { return i < class_names.size() ? class_names[i] : std::to_string(i); };
    std::size_t label_width = 4, cell = 6;
    for (std::size_t i = 0; i < n; ++i) label_width = std::max(label_width, name(i).size());
    std::ostringstream os;
    os << std::setw(static_cast<int>(label_width)) << "true\\pred";
    for (std::size_t c = 0; c < n; ++c) os << std::setw(static_cast<int>(cell)) << c;
    os << "\n";
    for (std::size_t r = 0; r < n; ++r) {
      os << std::setw(static_cast<int>(label_width)) << name(r);
      for (std::size_t c = 0; c < n; ++c) os << std::setw(static_cast<int>(cell)) << counts_[r][c];
      os << "\n";
    }
    return os.str();
  }

 private:
  static double safe_divide(double num, double den) { return den == 0 ? 0.0 : num / den; }
  double tp(std::size_t c) const { return static_cast<double>(counts_[c][c]); }
  double row(std::size_t c) const {
    std::size_t s = 0;
    for (auto v : counts_[c]) s += v;
    return static_cast<double>(s);
  }
  double column(std::size_t c) const {
    std::size_t s = 0;
    for (const auto& r : counts_) s += r[c];
    return static_cast<double>(s);
  }
  template <class F>
  std::vector<double> per_class(F f) const {
    std::vector<double> out(counts_.size());
    for (std::size_t c = 0; c < counts_.size(); ++c) out[c] = f(c);
    return out;
  }
  // torchmetrics' _adjust_weights_safe_divide (macro, weighted) or the micro ratio of summed counts
  // (micro(tp, fn, fp)).
  template <class Micro>
  double reduce(Average average, const std::vector<double>& scores, Micro micro) const {
    const std::size_t n = counts_.size();
    if (average == Average::micro) {
      double t = 0, fn = 0, fp = 0;
      for (std::size_t c = 0; c < n; ++c) {
        t += tp(c);
        fn += row(c) - tp(c);
        fp += column(c) - tp(c);
      }
      return micro(t, fn, fp);
    }
    double weighted = 0, total_weight = 0;
    for (std::size_t c = 0; c < n; ++c) {
      const double w = average == Average::weighted ? row(c) : (row(c) + column(c) - tp(c) == 0 ? 0.0 : 1.0);
      weighted += w * scores[c];
      total_weight += w;
    }
    return safe_divide(weighted, total_weight);
  }

  std::vector<std::vector<std::size_t>> counts_;
};

}  // namespace ctnn::metrics
