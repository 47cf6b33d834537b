// Seed tutorial 003: airplanes against birds of CIFAR-10 ("CIFAR-2"), normalised per channel with the
// tutorial's mean and std, batches of 64, SGD(lr=1e-2). First the small MLP
// (3072-512-2, Tanh, LogSoftmax + NLLLoss), then the tapered one (3072-1024-512-128-2, Tanh,
// CrossEntropyLoss); validation accuracy of each.
//   ./cifar2 [--epochs 100] [--data DIR]
// CIFAR-10's binary version (data_batch_1.bin ... data_batch_5.bin, test_batch.bin) is looked for in
// --data, $CTNN_DATA, $CTNN_DATA/cifar-10-batches-bin; without it the program says where to put it.
#include <ctnn/ctnn.hpp>

#include <cstdio>
#include <optional>
#include <iostream>
#include <string>

using namespace ctnn;

using SmallModel = Sequential<backend::eigen, Input<3, 32, 32>, Flatten, Linear<3072, 512>, Tanh, Linear<512, 2>, LogSoftmax>;
using TaperedModel = Sequential<backend::eigen, Input<3, 32, 32>, Flatten, Linear<3072, 1024>, Tanh, Linear<1024, 512>, Tanh,
                                Linear<512, 128>, Tanh, Linear<128, 2>>;

namespace {

template <class Model, class Loss, class TrainLoader, class ValLoader>
double train_and_validate(Model& model, Loss& loss_fn, TrainLoader& train_loader, ValLoader& val_loader, std::size_t epochs) {
  std::cout << model << "\n";
  optim::SGD optimizer{model.parameters(), {.lr = 1e-2f}};
  for (std::size_t epoch = 0; epoch < epochs; ++epoch) {
    double loss = 0;
    for (const auto& [imgs, labels] : train_loader) {
      loss = loss_fn(model.forward(imgs), labels);
      optimizer.zero_grad();
      model.backward(loss_fn.grad(), InputGrad::skip);
      optimizer.step();
    }
    std::printf("Epoch: %zu Loss: %.4f\n", epoch, loss);  // the last batch's loss, as the tutorial prints
  }
  const auto val = test_step(model, val_loader, loss_fn, metrics::Multiclass{}, {.progress = false});
  std::printf("Validation accuracy: %.4f\n\n", val.acc / 100.0);
  return val.acc;
}

}  // namespace

int main(int argc, char** argv) try {
  std::size_t epochs = 100;
  std::filesystem::path root;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--epochs") epochs = std::stoul(argv[i + 1]);
    else if (std::string(argv[i]) == "--data") root = argv[i + 1];
  }
  const auto transform = data::Normalize({0.4914, 0.4822, 0.4465}, {0.2470, 0.2435, 0.2616});
  std::optional<data::CIFAR10> cifar10, cifar10_val;
  try {
    cifar10.emplace(root, true, transform);
    cifar10_val.emplace(root, false, transform);
  } catch (const ctnn::error& e) {
    std::cout << "CIFAR-10 is not available here, so there is nothing to train.\n" << e.what() << "\n"
              << "Download the binary version (cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html), "
                 "unpack it and pass --data <dir> or set CTNN_DATA to the folder holding cifar-10-batches-bin.\n";
    return 0;
  }
  // label_map = {0: 0, 2: 1}: airplanes and birds.
  const auto cifar2 = cifar10->select_classes({0, 2});
  const auto cifar2_val = cifar10_val->select_classes({0, 2});
  std::printf("CIFAR-2: %zu training and %zu validation images\n", cifar2.size(), cifar2_val.size());
  manual_seed(42);
  data::DataLoader train_loader(cifar2, {.batch_size = 64, .shuffle = true});
  data::DataLoader val_loader(cifar2_val, {.batch_size = 64, .shuffle = false});

  SmallModel small{manual_seed(42)};
  NLLLoss nll;
  const double small_acc = train_and_validate(small, nll, train_loader, val_loader, epochs);
  TaperedModel tapered{manual_seed(42)};
  CrossEntropyLoss cross_entropy;
  const double tapered_acc = train_and_validate(tapered, cross_entropy, train_loader, val_loader, epochs);
  std::printf("3072-512-2 + LogSoftmax/NLLLoss: %.2f%% | 3072-1024-512-128-2 + CrossEntropyLoss: %.2f%%\n", small_acc,
              tapered_acc);
  return 0;
} catch (const std::exception& e) {
  std::cerr << e.what() << "\n";
  return 1;
}
