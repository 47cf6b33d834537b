#pragma once
// The tutorials' training engine: train_step, test_step, fit (returning a history), eval_model,
// predictions, the results table and print_train_time. Works with any model, loss, optimizer and
// loader that satisfy the concepts of train/concepts.hpp (a loader is a range of batches with .x and .y).
//
// Loss and accuracy per epoch are the mean of the per-batch values, exactly as the tutorials
// compute them (so the smaller last batch weighs as much as the others, as there).
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "../nn/loss.hpp"
#include "concepts.hpp"
#include "metrics.hpp"
#include "progress.hpp"

namespace ctnn {

struct EpochMetrics {
  double loss = 0;
  double acc = 0;  // percent
};

struct History {
  std::vector<double> train_loss, train_acc, test_loss, test_acc;
  double train_seconds = 0;
};

struct EvalResult {
  std::string model_name;
  double model_loss = 0;
  double model_acc = 0;  // percent
};

struct StepOptions {
  bool progress = true;        // a progress bar on standard error
  std::string description{};   // shown before the bar
};

namespace detail {
template <class Loss>
struct is_bce_with_logits : std::false_type {};
template <class B>
struct is_bce_with_logits<BCEWithLogitsLoss<B>> : std::true_type {};

template <class Target>
struct is_labels : std::false_type {};
template <Backend B>
struct is_labels<Labels<B>> : std::true_type {};

template <class Loss>
std::string_view loss_name() {
  if constexpr (requires { std::string_view(Loss::name); }) return Loss::name;
  else return "the loss";
}
// The step a train_step batch is: the model's backward count + 1 (Sequential::steps), else the batch.
template <class Model>
std::size_t training_step(const Model& model, std::size_t batch) {
  if constexpr (requires { model.steps(); }) return model.steps() + 1;
  else return batch;
}
inline std::string_view without_ctnn_prefix(std::string_view what) {
  return what.substr(0, 6) == "ctnn: " ? what.substr(6) : what;
}
}  // namespace detail

// Accuracy that fits a loss and target: argmax for class indices, a threshold at 0.5 for
// probabilities, at 0 for logits (BCEWithLogitsLoss).
template <class Loss, class Target>
auto default_accuracy() {
  if constexpr (detail::is_labels<Target>::value) return metrics::Multiclass{};
  else return metrics::Binary{detail::is_bce_with_logits<Loss>::value ? 0.0 : 0.5};
}

template <class Loader>
using loader_target_t = std::remove_cvref_t<decltype((*std::declval<Loader&>().begin()).y)>;

// One epoch of training: forward, loss, zero_grad, backward, step for every batch.
// A loss that is NaN or infinite stops it before backward with a ctnn::error naming the loss and the
// step ("train_step: step 17 (batch 17 of the epoch): the loss is inf (CrossEntropyLoss); the
// parameters were not updated"), and so does an error of the loss itself (a NaN input, see loss.hpp):
// PyTorch would go on and fill every parameter with NaN. Anomaly mode (set_detect_anomaly) checks
// every layer's output and gradient as well.
template <class Model, train::Loader Loader, class Loss, train::Optimizer Optimizer,
          class Accuracy = decltype(default_accuracy<Loss, loader_target_t<Loader>>())>
  requires train::TrainableModel<Model, Loader> && train::Loss<Loss, Model, Loader>
EpochMetrics train_step(Model& model, Loader& loader, Loss& loss_fn, Optimizer& optimizer,
                        Accuracy accuracy = default_accuracy<Loss, loader_target_t<Loader>>(),
                        const StepOptions& options = {}) {
  model.train();
  EpochMetrics m;
  std::size_t batches = 0;
  ProgressBar bar(loader.size(), options.description.empty() ? "train" : options.description, std::cerr);
  for (const auto& batch : loader) {
    const auto& prediction = model.forward(batch.x);
    double loss = 0;
    try {
      loss = loss_fn(prediction, batch.y);
    } catch (const error& e) {
      throw error(cat("train_step: step ", detail::training_step(model, batches + 1), " (batch ", batches + 1,
                      " of the epoch), the parameters were not updated: ", detail::without_ctnn_prefix(e.what())));
    }
    if (!std::isfinite(loss))
      throw error(cat("train_step: step ", detail::training_step(model, batches + 1), " (batch ", batches + 1,
                      " of the epoch): the loss is ", loss, " (", detail::loss_name<Loss>(),
                      "); the parameters were not updated"));
    m.loss += loss;
    m.acc += 100.0 * static_cast<double>(accuracy.correct(prediction, batch.y)) / static_cast<double>(accuracy.total(prediction));
    optimizer.zero_grad();
    model.backward(loss_fn.grad(), InputGrad::skip);
    optimizer.step();
    ++batches;
    if (options.progress) {
      char postfix[32];
      std::snprintf(postfix, sizeof postfix, "loss=%.4f", m.loss / static_cast<double>(batches));
      bar.update(1, postfix);
    }
  }
  if (batches == 0) throw error("train_step: the loader produced no batch");
  m.loss /= static_cast<double>(batches);
  m.acc /= static_cast<double>(batches);
  return m;
}

// One pass over a loader in evaluation mode (Dropout off), no parameter change.
template <class Model, train::Loader Loader, class Loss,
          class Accuracy = decltype(default_accuracy<Loss, loader_target_t<Loader>>())>
  requires train::Model<Model, Loader> && train::Loss<Loss, Model, Loader>
EpochMetrics test_step(Model& model, Loader& loader, Loss& loss_fn,
                       Accuracy accuracy = default_accuracy<Loss, loader_target_t<Loader>>(),
                       const StepOptions& options = {}) {
  const bool was_training = model.is_training();
  model.eval();
  EpochMetrics m;
  std::size_t batches = 0;
  ProgressBar bar(loader.size(), options.description.empty() ? "test" : options.description, std::cerr);
  for (const auto& batch : loader) {
    const auto& prediction = model.forward(batch.x);
    m.loss += loss_fn(prediction, batch.y);
    m.acc += 100.0 * static_cast<double>(accuracy.correct(prediction, batch.y)) / static_cast<double>(accuracy.total(prediction));
    ++batches;
    if (options.progress) bar.update(1);
  }
  model.train(was_training);
  if (batches == 0) throw error("test_step: the loader produced no batch");
  m.loss /= static_cast<double>(batches);
  m.acc /= static_cast<double>(batches);
  return m;
}

struct FitOptions {
  bool verbose = true;         // one line per epoch
  bool progress = true;        // progress bars on standard error
  std::ostream* out = &std::cout;
  // Called after each epoch (1-based) with its metrics: learning-rate schedules, snapshots.
  std::function<void(std::size_t epoch, const EpochMetrics& train, const EpochMetrics& test)> on_epoch_end;
};

// The tutorials' train(): epochs of train_step and test_step, printing
// "Epoch: 1 | train_loss: 0.5904 | train_acc: 79.17% | test_loss: 0.5095 | test_acc: 82.04%".
template <class Model, train::Loader TrainLoader, train::Loader TestLoader, class Loss, train::Optimizer Optimizer>
  requires train::TrainableModel<Model, TrainLoader> && train::Model<Model, TestLoader> &&
           train::Loss<Loss, Model, TrainLoader> && train::Loss<Loss, Model, TestLoader>
History fit(Model& model, TrainLoader& train_loader, TestLoader& test_loader, Loss& loss_fn, Optimizer& optimizer,
            std::size_t epochs, const FitOptions& options = {}) {
  History h;
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t epoch = 1; epoch <= epochs; ++epoch) {
    const std::string tag = "epoch " + std::to_string(epoch) + "/" + std::to_string(epochs);
    const auto train = train_step(model, train_loader, loss_fn, optimizer,
                                  default_accuracy<Loss, loader_target_t<TrainLoader>>(), {options.progress, tag + " train"});
    const auto test = test_step(model, test_loader, loss_fn, default_accuracy<Loss, loader_target_t<TestLoader>>(),
                                {options.progress, tag + " test"});
    h.train_loss.push_back(train.loss);
    h.train_acc.push_back(train.acc);
    h.test_loss.push_back(test.loss);
    h.test_acc.push_back(test.acc);
    if (options.verbose && options.out) {
      char line[160];
      std::snprintf(line, sizeof line, "Epoch: %zu | train_loss: %.4f | train_acc: %.2f%% | test_loss: %.4f | test_acc: %.2f%%\n",
                    epoch, train.loss, train.acc, test.loss, test.acc);
      *options.out << line << std::flush;
    }
    if (options.on_epoch_end) options.on_epoch_end(epoch, train, test);
  }
  h.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return h;
}

// The tutorials' eval_model: {model_name, model_loss, model_acc} over a loader.
template <class Model, train::Loader Loader, class Loss>
  requires train::Model<Model, Loader> && train::Loss<Loss, Model, Loader>
EvalResult eval_model(Model& model, Loader& loader, Loss& loss_fn, std::string model_name, bool progress = true) {
  const auto m = test_step(model, loader, loss_fn, default_accuracy<Loss, loader_target_t<Loader>>(),
                           {progress, "eval " + model_name});
  return {std::move(model_name), m.loss, m.acc};
}

// Predicted class of every sample of a loader, in the loader's order.
template <class Model, train::Loader Loader>
  requires train::Model<Model, Loader>
std::vector<std::int64_t> predict_classes(Model& model, Loader& loader) {
  const bool was_training = model.is_training();
  model.eval();
  std::vector<std::int64_t> out;
  for (const auto& batch : loader) metrics::Multiclass::predict(model.forward(batch.x), out);
  model.train(was_training);
  return out;
}

// "Train time on cpu: 26.749 seconds"; returns the seconds.
inline double print_train_time(double seconds, const std::string& device = "cpu", std::ostream& out = std::cout) {
  char line[96];
  std::snprintf(line, sizeof line, "Train time on %s: %.3f seconds\n", device.c_str(), seconds);
  out << line;
  return seconds;
}

// The tutorials' comparison table (pandas' DataFrame print), with the training time when given.
inline std::string results_table(const std::vector<EvalResult>& results, const std::vector<double>& training_seconds = {}) {
  std::size_t name_width = 10;
  for (const auto& r : results) name_width = std::max(name_width, r.model_name.size());
  std::ostringstream os;
  os << "   " << std::left << std::setw(static_cast<int>(name_width)) << "model_name" << std::right << std::setw(12)
     << "model_loss" << std::setw(12) << "model_acc";
  if (!training_seconds.empty()) os << std::setw(15) << "training_time";
  os << "\n";
  for (std::size_t i = 0; i < results.size(); ++i) {
    os << std::left << std::setw(3) << i << std::setw(static_cast<int>(name_width)) << results[i].model_name << std::right
       << std::fixed << std::setprecision(6) << std::setw(12) << results[i].model_loss << std::setw(12)
       << results[i].model_acc;
    if (i < training_seconds.size()) os << std::setw(15) << training_seconds[i];
    os << "\n";
  }
  return os.str();
}

}  // namespace ctnn
