// Seed tutorial 001 (PyTorch computer vision), model for model: FashionMNISTModelV0 (linear),
// V1 (with ReLU) and V2 (TinyVGG), each trained 3 epochs with SGD(lr=0.1) on batches of 32 of the real
// Fashion-MNIST, then compared in the tutorial's results table; the best model is saved, reloaded
// and re-evaluated, its confusion matrix and a 3x3 grid of predictions written as PNG files.
//
//   ./fashion_mnist [--epochs 3] [--train-limit N] [--test-limit N] [--out DIR] [--data DIR]
//
// The data is found in --data, $CTNN_DATA or /usr/share/datasets/fashion-mnist (Debian's
// dataset-fashion-mnist package).
#include <ctnn/ctnn.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <numeric>
#include <string>
#include <vector>

using namespace ctnn;

namespace {

constexpr std::size_t hidden_units = 10;

// class FashionMNISTModelV0: Flatten, Linear(784, 10), Linear(10, 10)
using FashionMNISTModelV0 = Sequential<backend::eigen, Input<1, 28, 28>,
    Named<"layer_stack", Block<Flatten, Linear<784, hidden_units>, Linear<hidden_units, 10>>>>;

// class FashionMNISTModelV1: the same with a ReLU after each Linear
using FashionMNISTModelV1 = Sequential<backend::eigen, Input<1, 28, 28>,
    Named<"layer_stack", Block<Flatten, Linear<784, hidden_units>, ReLU, Linear<hidden_units, 10>, ReLU>>>;

// class FashionMNISTModelV2: TinyVGG
using FashionMNISTModelV2 = Sequential<backend::eigen, Input<1, 28, 28>,
    Named<"conv_block_1", Block<Conv2d<1, hidden_units, 3, 1, 1>, ReLU, Conv2d<hidden_units, hidden_units, 3, 1, 1>, ReLU,
                                MaxPool2d<2>>>,
    Named<"conv_block_2", Block<Conv2d<hidden_units, hidden_units, 3, 1, 1>, ReLU,
                                Conv2d<hidden_units, hidden_units, 3, 1, 1>, ReLU, MaxPool2d<2>>>,
    Named<"classifier", Block<Flatten, Linear<hidden_units * 7 * 7, 10>>>>;

struct Options {
  std::size_t epochs = 3;
  std::size_t train_limit = 0;  // 0: all 60000
  std::size_t test_limit = 0;   // 0: all 10000
  std::filesystem::path out = "fashion_mnist_out";
  std::filesystem::path data;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw error(cat(arg, " needs a value"));
      return argv[++i];
    };
    if (arg == "--epochs") o.epochs = std::stoul(value());
    else if (arg == "--train-limit") o.train_limit = std::stoul(value());
    else if (arg == "--test-limit") o.test_limit = std::stoul(value());
    else if (arg == "--out") o.out = value();
    else if (arg == "--data") o.data = value();
    else throw error(cat("unknown option ", arg, " (see the comment at the top of fashion_mnist.cpp)"));
  }
  return o;
}

// The first `limit` samples (all when limit is 0).
std::vector<std::size_t> first(std::size_t limit, std::size_t size) {
  std::vector<std::size_t> idx(limit && limit < size ? limit : size);
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  return idx;
}

struct Trained {
  EvalResult result;
  double seconds;
};

// The tutorial's loop: for each epoch, train_step and test_step with their printed lines.
template <class Model, class TrainData, class TestLoader>
Trained train_and_evaluate(Model& model, const std::string& name, const TrainData& train_data, TestLoader& test_loader,
                           std::size_t epochs, const std::filesystem::path& out) {
  std::cout << "\n=== " << name << " ===\n" << model.repr(name) << "\n";
  // torch.manual_seed(42) before each model's loop, and loaders that draw their shuffles from the
  // seeded generator as torch.utils.data does: the same batches as the tutorial's.
  data::DataLoader train_loader(train_data, {.batch_size = 32, .shuffle = true, .torch_order = true}, manual_seed(42));
  CrossEntropyLoss loss_fn;
  optim::SGD optimizer{model.parameters(), {.lr = 0.1f}};
  History history;
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t epoch = 0; epoch < epochs; ++epoch) {
    std::printf("Epoch: %zu\n-------\n", epoch);
    const auto train = train_step(model, train_loader, loss_fn, optimizer);
    std::printf("Train loss: %.5f | Train acc: %.2f%%\n", train.loss, train.acc);
    const auto test = test_step(model, test_loader, loss_fn);
    std::printf("Test loss: %.5f | Test acc: %.2f%%\n\n", test.loss, test.acc);
    std::fflush(stdout);
    history.train_loss.push_back(train.loss);
    history.train_acc.push_back(train.acc);
    history.test_loss.push_back(test.loss);
    history.test_acc.push_back(test.acc);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  print_train_time(seconds, "cpu");
  viz::write_png(out / ("loss_curves_" + name + ".png"),
                 viz::loss_curves(history.train_loss, history.test_loss, history.train_acc, history.test_acc));
  return {eval_model(model, test_loader, loss_fn, name), seconds};
}

}  // namespace

int main(int argc, char** argv) try {
  const Options options = parse(argc, argv);
  std::filesystem::create_directories(options.out);

  const data::FashionMNIST train_data(options.data, /*train=*/true);
  const data::FashionMNIST test_data(options.data, /*train=*/false);
  const auto class_names = data::FashionMNIST::classes();
  const auto train_subset = train_data.subset(first(options.train_limit, train_data.size()));
  const auto test_subset = test_data.subset(first(options.test_limit, test_data.size()));
  std::cout << "Train samples: " << train_subset.size() << " (" << train_data.image_file().string() << ")\n"
            << "Test samples: " << test_subset.size() << "\nClasses: ";
  for (const auto& c : class_names) std::cout << c << (&c == &class_names.back() ? "\n" : ", ");

  data::DataLoader test_loader(test_subset, {.batch_size = 32, .shuffle = false, .torch_order = true});
  std::cout << "Length of train dataloader: " << (train_subset.size() + 31) / 32 << " batches of 32\n"
            << "Length of test dataloader: " << test_loader.size() << " batches of 32\n";

  std::vector<EvalResult> results;
  std::vector<double> times;

  FashionMNISTModelV0 model_0{manual_seed(42)};
  auto r0 = train_and_evaluate(model_0, "FashionMNISTModelV0", train_subset, test_loader, options.epochs, options.out);
  FashionMNISTModelV1 model_1{manual_seed(42)};
  auto r1 = train_and_evaluate(model_1, "FashionMNISTModelV1", train_subset, test_loader, options.epochs, options.out);
  FashionMNISTModelV2 model_2{manual_seed(42)};
  std::cout << model_2.summary(32, "FashionMNISTModelV2");
  auto r2 = train_and_evaluate(model_2, "FashionMNISTModelV2", train_subset, test_loader, options.epochs, options.out);
  for (const auto* r : {&r0, &r1, &r2}) {
    results.push_back(r->result);
    times.push_back(r->seconds);
  }
  std::cout << "\n" << results_table(results, times);

  // Save, reload into a fresh model, evaluate again: the tutorial's torch.isclose check.
  const auto path = options.out / "03_pytorch_computer_vision_model_2.safetensors";
  std::cout << "\nSaving model to: " << path.string() << "\n";
  save(model_2, path);
  FashionMNISTModelV2 loaded_model_2{manual_seed(42)};
  load(loaded_model_2, path);
  CrossEntropyLoss loss_fn;
  const auto reloaded = eval_model(loaded_model_2, test_loader, loss_fn, "FashionMNISTModelV2");
  const bool close = std::abs(reloaded.model_loss - r2.result.model_loss) <= 1e-2;
  std::printf("Reloaded model: loss %.6f, acc %.6f | original: loss %.6f, acc %.6f | isclose(atol=1e-2): %s\n",
              reloaded.model_loss, reloaded.model_acc, r2.result.model_loss, r2.result.model_acc,
              close ? "True" : "False");

  // Confusion matrix of the best model over the test set.
  const auto predictions = predict_classes(model_2, test_loader);
  metrics::ConfusionMatrix confusion(class_names.size());
  for (std::size_t i = 0; i < predictions.size(); ++i) confusion.add(test_subset.target(i), predictions[i]);
  std::cout << "\nConfusion matrix (rows: true class, columns: predicted class)\n" << confusion.str(class_names);
  viz::write_png(options.out / "confusion_matrix.png", viz::confusion_matrix_plot(confusion.counts(), class_names));

  // Nine random test images with their predicted and true labels (green when right, red when wrong).
  Generator pick{42};
  std::vector<std::vector<float>> images;
  std::vector<viz::GridImage> tiles;
  for (int k = 0; k < 9; ++k) {
    const std::size_t i = pick.below(test_subset.size());
    auto sample = test_subset[i];
    images.push_back(std::move(sample.x));
    const auto truth = class_names[static_cast<std::size_t>(test_subset.target(i))];
    const auto pred = class_names[static_cast<std::size_t>(predictions[i])];
    tiles.push_back({images.back().data(), "Pred: " + pred + " | Truth: " + truth,
                     pred == truth ? viz::colors::green : viz::colors::red});
  }
  viz::write_png(options.out / "predictions.png", viz::image_grid(tiles, 3, 28, 28, 4));
  std::cout << "\nWrote " << (options.out / "confusion_matrix.png").string() << " and "
            << (options.out / "predictions.png").string() << "\n";
  return close ? 0 : 1;
} catch (const std::exception& e) {
  std::cerr << e.what() << "\n";
  return 1;
}
