// Seed tutorial 002, part 2 (classification): make_circles (1000 points, noise 0.03) with the ReLU
// model CircleModelV2 (2-10-10-1, BCEWithLogitsLoss, SGD lr 0.1, 1000 full-batch epochs), and
// make_blobs (4 classes, cluster_std 1.5) with BlobModel (2-8-8-4, CrossEntropyLoss, SGD lr 0.1,
// 100 epochs). Prints the tutorial's lines every 100 / 10 epochs and draws each decision boundary.
//   ./circles_blobs [--circle-epochs 1000] [--blob-epochs 100] [--out DIR]
#include <ctnn/ctnn.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>

using namespace ctnn;

using CircleModelV2 = Sequential<backend::eigen, Input<2>, Named<"linear_1", Linear<2, 10>>, ReLU,
                                 Named<"linear_2", Linear<10, 10>>, ReLU, Named<"linear_3", Linear<10, 1>>>;
using BlobModel = Sequential<backend::eigen, Input<2>,
                             Named<"linear_layer_stack", Block<Linear<2, 8>, Linear<8, 8>, Linear<8, 4>>>>;

namespace {

// A class index from a target: an int64 label, or a one-element float target (0.0 / 1.0).
template <class T>
std::size_t class_of(const T& target) {
  if constexpr (std::is_integral_v<T>) return static_cast<std::size_t>(target);
  else return target[0] > 0.5f ? 1 : 0;
}

// Colours the plane by the model's prediction and draws the points on top (plot_decision_boundary).
template <class Model, class Dataset, class Classify>
void decision_boundary(Model& model, const Dataset& points, Classify classify, const std::filesystem::path& file,
                       const std::string& title) {
  double lo_x = 1e9, hi_x = -1e9, lo_y = 1e9, hi_y = -1e9;
  for (std::size_t i = 0; i < points.size(); ++i) {
    const auto s = points[i];
    lo_x = std::min(lo_x, double(s.x[0]) - 0.1), hi_x = std::max(hi_x, double(s.x[0]) + 0.1);
    lo_y = std::min(lo_y, double(s.x[1]) - 0.1), hi_y = std::max(hi_y, double(s.x[1]) + 0.1);
  }
  constexpr int size = 400;
  viz::Canvas canvas(size, size + 30);
  canvas.text((size - viz::Canvas::text_width(title)) / 2, 8, title, viz::colors::black);
  const viz::Color light[] = {{198, 219, 239}, {253, 208, 162}, {199, 233, 192}, {252, 187, 161}};
  const viz::Color dark[] = {viz::colors::blue, viz::colors::orange, viz::colors::green, viz::colors::red};
  model.eval();
  Batch<Shape<2>> grid(size);
  for (int row = 0; row < size; ++row) {
    for (int col = 0; col < size; ++col) {
      grid(static_cast<std::size_t>(col), 0) = static_cast<float>(lo_x + (hi_x - lo_x) * col / (size - 1));
      grid(static_cast<std::size_t>(col), 1) = static_cast<float>(hi_y - (hi_y - lo_y) * row / (size - 1));
    }
    const auto& out = model.forward(grid);
    for (int col = 0; col < size; ++col) canvas.set(col, row + 30, light[classify(out, static_cast<std::size_t>(col)) % 4]);
  }
  for (std::size_t i = 0; i < points.size(); ++i) {
    const auto s = points[i];
    const int px = static_cast<int>((s.x[0] - lo_x) / (hi_x - lo_x) * (size - 1));
    const int py = static_cast<int>((hi_y - s.x[1]) / (hi_y - lo_y) * (size - 1)) + 30;
    canvas.fill_rect(px - 2, py - 2, 5, 5, dark[class_of(points.target(i)) % 4]);
  }
  viz::write_png(file, canvas);
}

}  // namespace

int main(int argc, char** argv) try {
  std::size_t circle_epochs = 1000, blob_epochs = 100;
  std::filesystem::path out = "circles_blobs_out";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--circle-epochs") circle_epochs = std::stoul(argv[i + 1]);
    else if (a == "--blob-epochs") blob_epochs = std::stoul(argv[i + 1]);
    else if (a == "--out") out = argv[i + 1];
  }
  std::filesystem::create_directories(out);

  // ---- circles: binary classification with BCEWithLogitsLoss --------------------------------------
  Generator data_rng{42};
  const auto circles = data::make_circles(1000, {.noise = 0.03}, data_rng);
  const auto circle_split = data::train_test_split(circles.float_targets(), 0.2, data_rng);
  data::DataLoader circle_train(circle_split.train, {.batch_size = circle_split.train.size(), .prefetch = false});
  data::DataLoader circle_test(circle_split.test, {.batch_size = circle_split.test.size(), .prefetch = false});
  CircleModelV2 model_3{manual_seed(42)};
  std::cout << model_3.repr("CircleModelV2") << "\n";
  BCEWithLogitsLoss circle_loss;
  optim::SGD circle_optimizer{model_3.parameters(), {.lr = 0.1f}};
  EpochMetrics train{}, test{};
  for (std::size_t epoch = 0; epoch < circle_epochs; ++epoch) {
    train = train_step(model_3, circle_train, circle_loss, circle_optimizer, metrics::Binary{0.0}, {.progress = false});
    test = test_step(model_3, circle_test, circle_loss, metrics::Binary{0.0}, {.progress = false});
    if (epoch % 100 == 0)
      std::printf("Epoch: %zu | Loss: %.5f, Accuracy: %.2f%% | Test Loss: %.5f, Test Accuracy: %.2f%%\n", epoch, train.loss,
                  train.acc, test.loss, test.acc);
  }
  const double circle_accuracy = test.acc;
  decision_boundary(model_3, circle_split.test, [](const auto& logits, std::size_t i) { return logits(i, 0) > 0 ? 1 : 0; },
                    out / "circles_decision_boundary.png", "CircleModelV2 (test set)");

  // ---- blobs: 4 classes with CrossEntropyLoss ------------------------------------------------------
  const auto blobs = data::make_blobs<2>(1000, {.centers = 4, .cluster_std = 1.5}, data_rng);
  const auto blob_split = data::train_test_split(blobs, 0.2, data_rng);
  data::DataLoader blob_train(blob_split.train, {.batch_size = blob_split.train.size(), .prefetch = false});
  data::DataLoader blob_test(blob_split.test, {.batch_size = blob_split.test.size(), .prefetch = false});
  BlobModel model_4{manual_seed(42)};
  std::cout << "\n" << model_4.repr("BlobModel") << "\n";
  CrossEntropyLoss blob_loss;
  optim::SGD blob_optimizer{model_4.parameters(), {.lr = 0.1f}};
  for (std::size_t epoch = 0; epoch < blob_epochs; ++epoch) {
    train = train_step(model_4, blob_train, blob_loss, blob_optimizer, metrics::Multiclass{}, {.progress = false});
    test = test_step(model_4, blob_test, blob_loss, metrics::Multiclass{}, {.progress = false});
    if (epoch % 10 == 0)
      std::printf("Epoch: %zu | Loss: %.5f, Acc: %.2f%% | Test loss: %.5f, Test acc: %.2f%%\n", epoch, train.loss,
                  train.acc, test.loss, test.acc);
  }
  decision_boundary(model_4, blob_split.test,
                    [](const auto& logits, std::size_t i) {
                      std::size_t best = 0;
                      for (std::size_t c = 1; c < 4; ++c)
                        if (logits(i, c) > logits(i, best)) best = c;
                      return best;
                    },
                    out / "blobs_decision_boundary.png", "BlobModel (test set)");
  std::printf("\nCircles test accuracy: %.2f%% | Blobs test accuracy: %.2f%%\n", circle_accuracy, test.acc);
  return 0;
} catch (const std::exception& e) {
  std::cerr << e.what() << "\n";
  return 1;
}
