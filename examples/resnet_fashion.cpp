// A ResNet-8 on Fashion-MNIST, as a torchvision-style PyTorch script would train it (the same script:
// benchmarks/reference/resnet_fashion.py): conv1 3x3 16 + BatchNorm + ReLU, three stages of one
// BasicBlock each (16, 32 and 64 channels; the last two halve the map with a stride-2 body and a 1x1
// stride-2 projection + BatchNorm on the shortcut), global average pooling and fc. SGD with momentum 0.9
// and weight decay 5e-4, CosineAnnealingLR over the epochs, RandomCrop(28, padding=2) and
// RandomHorizontalFlip on the training images, batches of 128.
//
//   ./resnet_fashion [--epochs 5] [--lr 0.1] [--train-limit N] [--test-limit N] [--data DIR] [--seed 42]
//
// --train-limit / --test-limit (or $CTNN_TRAIN_LIMIT / $CTNN_TEST_LIMIT) run on the first N samples, so
// CI runs it in seconds. The data is found in --data, $CTNN_DATA or /usr/share/datasets/fashion-mnist.
#include <ctnn/ctnn.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <numeric>
#include <string>
#include <type_traits>
#include <vector>

using namespace ctnn;

namespace {

// torchvision.models.resnet.BasicBlock: conv1, bn1, relu, conv2, bn2, (+ downsample(x)), relu.
template <std::size_t In, std::size_t Out, std::size_t Stride = 1>
using BasicBlock = Residual<
    Block<Named<"conv1", Conv2d<In, Out, 3, Stride, 1>>, Named<"bn1", BatchNorm2d<Out>>, Named<"relu", ReLU>,
          Named<"conv2", Conv2d<Out, Out, 3, 1, 1>>, Named<"bn2", BatchNorm2d<Out>>>,
    std::conditional_t<Stride == 1 && In == Out, Identity,
                       Named<"downsample", Block<Conv2d<In, Out, 1, Stride>, BatchNorm2d<Out>>>>,
    Named<"relu", ReLU>>;

using ResNet8 = Sequential<backend::eigen, Input<1, 28, 28>,
    Named<"conv1", Conv2d<1, 16, 3, 1, 1>>, Named<"bn1", BatchNorm2d<16>>, Named<"relu", ReLU>,
    Named<"layer1", Block<BasicBlock<16, 16>>>,     // [16, 28, 28]
    Named<"layer2", Block<BasicBlock<16, 32, 2>>>,  // [32, 14, 14]
    Named<"layer3", Block<BasicBlock<32, 64, 2>>>,  // [64, 7, 7]
    Named<"avgpool", AvgPool2d<7>>, Flatten, Named<"fc", Linear<64, 10>>>;

struct Options {
  std::size_t epochs = 5;
  double lr = 0.1;
  std::size_t train_limit = 0;  // 0: all 60000
  std::size_t test_limit = 0;   // 0: all 10000
  std::uint64_t seed = 42;
  std::filesystem::path data;
};

std::size_t env_limit(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? std::stoul(v) : 0;
}

Options parse(int argc, char** argv) {
  Options o;
  o.train_limit = env_limit("CTNN_TRAIN_LIMIT");
  o.test_limit = env_limit("CTNN_TEST_LIMIT");
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw error(cat(arg, " needs a value"));
      return argv[++i];
    };
    if (arg == "--epochs") o.epochs = std::stoul(value());
    else if (arg == "--lr") o.lr = std::stod(value());
    else if (arg == "--train-limit") o.train_limit = std::stoul(value());
    else if (arg == "--test-limit") o.test_limit = std::stoul(value());
    else if (arg == "--seed") o.seed = std::stoull(value());
    else if (arg == "--data") o.data = value();
    else throw error(cat("unknown option ", arg, " (see the comment at the top of resnet_fashion.cpp)"));
  }
  return o;
}

std::vector<std::size_t> first(std::size_t limit, std::size_t size) {
  std::vector<std::size_t> idx(limit && limit < size ? limit : size);
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  return idx;
}

}  // namespace

int main(int argc, char** argv) try {
  const Options options = parse(argc, argv);
  Generator augment{options.seed + 1};
  // transforms.Compose([RandomCrop(28, padding=2), RandomHorizontalFlip()]) on the training images.
  const data::RandomCrop<28, 2> crop{false, 0.0f, augment};
  const data::RandomHorizontalFlip flip{0.5, augment};
  const data::FashionMNIST train_data(options.data, /*train=*/true, data::Compose{crop, flip});
  const data::FashionMNIST test_data(options.data, /*train=*/false);
  const auto train_subset = train_data.subset(first(options.train_limit, train_data.size()));
  const auto test_subset = test_data.subset(first(options.test_limit, test_data.size()));
  std::printf("Train samples: %zu | Test samples: %zu | threads: %zu\n", train_subset.size(), test_subset.size(),
              get_num_threads());

  data::DataLoader train_loader(train_subset, {.batch_size = 128, .shuffle = true}, manual_seed(options.seed));
  data::DataLoader test_loader(test_subset, {.batch_size = 256, .shuffle = false});

  ResNet8 model{manual_seed(options.seed)};
  std::cout << model.repr("ResNet") << "\n" << model.summary(128, "ResNet");

  CrossEntropyLoss loss_fn;
  optim::SGD optimizer{model.parameters(), {.lr = options.lr, .momentum = 0.9, .weight_decay = 5e-4}};
  optim::CosineAnnealingLR scheduler{optimizer, options.epochs};

  const auto accuracy = default_accuracy<decltype(loss_fn), loader_target_t<decltype(train_loader)>>();
  double total_seconds = 0;
  EpochMetrics test{};
  for (std::size_t epoch = 1; epoch <= options.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    const std::string tag = "epoch " + std::to_string(epoch) + "/" + std::to_string(options.epochs);
    const auto train = train_step(model, train_loader, loss_fn, optimizer, accuracy,
                                  {true, tag + " train"});
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    total_seconds += seconds;
    test = test_step(model, test_loader, loss_fn, accuracy,
                     {true, tag + " test"});
    const double lr = scheduler.get_last_lr();
    scheduler.step();
    std::printf("Epoch: %zu | lr: %.5f | train_loss: %.4f | train_acc: %.2f%% | test_loss: %.4f | test_acc: %.2f%% | "
                "epoch time: %.1f s\n",
                epoch, lr, train.loss, train.acc, test.loss, test.acc, seconds);
    std::fflush(stdout);
  }
  std::printf("Final test accuracy: %.2f%% | mean epoch time: %.1f s (training only)\n", test.acc,
              options.epochs ? total_seconds / static_cast<double>(options.epochs) : 0.0);
  return 0;
} catch (const std::exception& e) {
  std::cerr << e.what() << "\n";
  return 1;
}
