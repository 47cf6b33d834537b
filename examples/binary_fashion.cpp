// Seed tutorial 000: t-shirts (class 0) against ankle boots (class 9) of Fashion-MNIST, normalised
// to [-1, 1], with the seed's MLP written layer for layer (784-256-128-32-1, ReLU, Dropout(0.25) and
// Sigmoid after the last Linear), BCELoss, Adam(lr=1e-3), batches of 64, 50 epochs; accuracy of the
// 0.5-thresholded predictions on the test set, averaged per batch as the seed does.
//   ./binary_fashion [--epochs 50] [--train-limit N] [--data DIR]
#include <ctnn/ctnn.hpp>

#include <cstdio>
#include <iostream>
#include <numeric>
#include <string>

using namespace ctnn;

using BinaryModel = Sequential<backend::eigen, Input<1, 28, 28>, Flatten, Linear<28 * 28, 256>, ReLU, Linear<256, 128>,
                               ReLU, Linear<128, 32>, ReLU, Linear<32, 1>, Dropout<0.25>, Sigmoid>;

int main(int argc, char** argv) try {
  std::size_t epochs = 50, train_limit = 0;
  std::filesystem::path root;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--epochs") epochs = std::stoul(argv[i + 1]);
    else if (a == "--train-limit") train_limit = std::stoul(argv[i + 1]);
    else if (a == "--data") root = argv[i + 1];
  }
  // transform = Compose([ToTensor(), Normalize((0.5,), (0.5,))])
  const data::Transform transform = data::Compose{data::ToTensor{}, data::Normalize({0.5}, {0.5})};
  const data::FashionMNIST train_set(root, true, transform), test_set(root, false, transform);
  // Keep t-shirts and ankle boots, as 0 and 1 (the seed's labels / 9), float targets for BCELoss.
  const auto binary_train = train_set.select_classes({0, 9}).float_targets();
  const auto binary_test = test_set.select_classes({0, 9}).float_targets();
  std::vector<std::size_t> keep(train_limit && train_limit < binary_train.size() ? train_limit : binary_train.size());
  std::iota(keep.begin(), keep.end(), std::size_t{0});
  const auto train_subset = binary_train.subset(keep);
  std::printf("%zu training and %zu test images of t-shirts and ankle boots\n", train_subset.size(), binary_test.size());

  manual_seed(42);
  data::DataLoader train_loader(train_subset, {.batch_size = 64, .shuffle = true});
  data::DataLoader test_loader(binary_test, {.batch_size = 64, .shuffle = true});

  BinaryModel binary_model{manual_seed(42)};
  std::cout << binary_model << "\n";
  optim::Adam optimizer{binary_model.parameters(), {.lr = 1e-3f}};
  BCELoss loss_fn;
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < epochs; ++i) {
    const auto m = train_step(binary_model, train_loader, loss_fn, optimizer, metrics::Binary{0.5}, {.progress = false});
    std::printf("at epoch %zu, loss is %.6f\n", i, m.loss);
  }
  print_train_time(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  const auto test = test_step(binary_model, test_loader, loss_fn, metrics::Binary{0.5}, {.progress = false});
  std::printf("the accuracy of the predictions is %.4f\n", test.acc / 100.0);
  return 0;
} catch (const std::exception& e) {
  std::cerr << e.what() << "\n";
  return 1;
}
