// The training engine, metrics and progress bar: train_step/test_step/fit/eval_model on a small
// learnable problem, accuracy and confusion matrix arithmetic, the results table and the bar's text.
#include <catch2/catch.hpp>

#include <ctnn/ctnn.hpp>

#include <sstream>

using namespace ctnn;

namespace {
using Model = Sequential<backend::eigen, Input<2>, Linear<2, 16>, ReLU, Linear<16, 4>>;

// Four well separated blobs: a model must reach (nearly) 100 % quickly.
auto blobs() {
  Generator g{3};
  return data::make_blobs<2>(400, {.centers = 4, .cluster_std = 0.5}, g);
}
}  // namespace

TEST_CASE("fit trains, records a history and prints the tutorial's epoch lines") {
  const auto ds = blobs();
  auto split = data::train_test_split(ds, 0.25, manual_seed(1));
  data::DataLoader train(split.train, {.batch_size = 32, .shuffle = true, .prefetch = false});
  data::DataLoader test(split.test, {.batch_size = 32, .prefetch = false});
  Model model{manual_seed(0)};
  CrossEntropyLoss loss_fn;
  optim::SGD opt{model.parameters(), {.lr = 0.1}};
  std::ostringstream log;
  std::size_t callbacks = 0;
  const History h = fit(model, train, test, loss_fn, opt, 5,
                        {.verbose = true, .progress = false, .out = &log,
                         .on_epoch_end = [&](std::size_t, const EpochMetrics&, const EpochMetrics&) { ++callbacks; }});
  REQUIRE(h.train_loss.size() == 5);
  REQUIRE(h.test_acc.size() == 5);
  CHECK(callbacks == 5);
  CHECK(h.train_loss.back() < h.train_loss.front());
  CHECK(h.test_acc.back() >= 95.0);
  CHECK(h.train_seconds > 0.0);
  CHECK_THAT(log.str(), Catch::Contains("Epoch: 1 | train_loss: ") && Catch::Contains("| test_acc: "));

  const EvalResult r = eval_model(model, test, loss_fn, "BlobModel", false);
  CHECK(r.model_name == "BlobModel");
  CHECK(r.model_acc == Approx(h.test_acc.back()));
  CHECK(r.model_loss == Approx(h.test_loss.back()));
  CHECK(model.is_training());  // eval_model restores the mode

  const auto predictions = predict_classes(model, test);
  REQUIRE(predictions.size() == split.test.size());
  metrics::ConfusionMatrix cm(4);
  for (std::size_t i = 0; i < predictions.size(); ++i) cm.add(split.test.target(i), predictions[i]);
  CHECK(cm.total() == split.test.size());
  CHECK(cm.accuracy() >= 95.0);
}

TEST_CASE("test_step leaves the parameters alone and switches Dropout off") {
  using WithDropout = Sequential<backend::eigen, Input<2>, Linear<2, 8>, Dropout<0.5>, Linear<8, 4>>;
  const auto ds = blobs();
  data::DataLoader loader(ds, {.batch_size = 50, .prefetch = false});
  WithDropout model{manual_seed(0)};
  const auto before = model.state_dict();
  CrossEntropyLoss loss_fn;
  const auto a = test_step(model, loader, loss_fn, metrics::Multiclass{}, {.progress = false});
  const auto b = test_step(model, loader, loss_fn, metrics::Multiclass{}, {.progress = false});
  CHECK(a.loss == b.loss);  // deterministic: no dropout in evaluation
  const auto after = model.state_dict();
  for (std::size_t i = 0; i < before.size(); ++i) CHECK(before[i].values == after[i].values);
}

TEST_CASE("binary accuracy thresholds probabilities at 0.5 and logits at 0") {
  auto out = Batch<Shape<1>>::from_host({0.9f, 0.2f, 0.6f, 0.4f});
  auto target = Batch<Shape<1>>::from_host({1.f, 0.f, 0.f, 0.f});
  CHECK(metrics::Binary{0.5}.correct(out, target) == 3);
  auto logits = Batch<Shape<1>>::from_host({2.f, -1.f, -0.5f, 0.5f});
  CHECK(metrics::Binary{0.0}.correct(logits, target) == 3);  // the last logit (0.5) says 1, the target 0
  CHECK(metrics::Binary::total(out) == 4);
}

TEST_CASE("accuracy, confusion matrix and results table") {
  CHECK(metrics::accuracy({1, 2, 3, 4}, {1, 2, 0, 4}) == Approx(75.0));
  CHECK_THROWS_AS(metrics::accuracy({1, 2}, {1}), ctnn::error);
  metrics::ConfusionMatrix cm(3);
  cm.add({0, 1, 2, 2, 1}, {0, 2, 2, 2, 1});
  CHECK(cm.counts()[1][2] == 1);
  CHECK(cm.counts()[2][2] == 2);
  CHECK(cm.accuracy() == Approx(80.0));
  CHECK_THROWS_WITH(cm.add(3, 0), Catch::Contains("class 3 is outside 0..2"));
  CHECK_THAT(cm.str({"a", "b", "c"}), Catch::Contains("true\\pred"));
  const std::string table = results_table({{"FashionMNISTModelV0", 0.476639, 83.426518}}, {26.748773});
  CHECK_THAT(table, Catch::Contains("FashionMNISTModelV0    0.476639   83.426518      26.748773"));
}

TEST_CASE("the progress bar shows tqdm's fields, and plain quarter lines off a terminal") {
  std::ostringstream plain;
  ProgressBar bar(8, "train", plain, /*interactive=*/false);
  for (int i = 0; i < 8; ++i) bar.update(1, "loss=0.5000");
  const std::string text = plain.str();
  CHECK_THAT(text, Catch::Contains("train:  25%|#####               | 2/8 ["));
  CHECK_THAT(text, Catch::Contains("100%|####################| 8/8 [") && Catch::Contains("it/s, loss=0.5000]"));
  CHECK(std::count(text.begin(), text.end(), '\n') == 4);  // 25, 50, 75, 100 %

  std::ostringstream tty;
  ProgressBar live(3, "", tty, /*interactive=*/true);
  live.update();
  live.update();
  live.update();
  CHECK(tty.str().front() == '\r');
  CHECK(tty.str().back() == '\n');
}
