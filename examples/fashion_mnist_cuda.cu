// The seed's TinyVGG trained on the GPU: the same network type as examples/fashion_mnist.cpp with
// backend::cuda as its first argument (PyTorch's `device = "cuda"`), one epoch on Fashion-MNIST, then
// the checkpoint is loaded into the CPU (Eigen) model, which must give the same test accuracy.
// Without a usable GPU it says so and exits 77 (CTest: skipped).
//   ./fashion_mnist_cuda [--epochs 1] [--data DIR]
#include <ctnn/backend/cuda.hpp>
#include <ctnn/ctnn.hpp>

#include <cstdio>
#include <string>

using namespace ctnn;

template <class B>
using TinyVGG = Sequential<B, Input<1, 28, 28>,
    Named<"conv_block_1", Block<Conv2d<1, 10, 3, 1, 1>, ReLU, Conv2d<10, 10, 3, 1, 1>, ReLU, MaxPool2d<2>>>,
    Named<"conv_block_2", Block<Conv2d<10, 10, 3, 1, 1>, ReLU, Conv2d<10, 10, 3, 1, 1>, ReLU, MaxPool2d<2>>>,
    Named<"classifier", Block<Flatten, Linear<10 * 7 * 7, 10>>>>;

int main(int argc, char** argv) try {
  if (!cuda::available()) {
    std::puts("fashion_mnist_cuda: no usable CUDA device here, nothing to do");
    return 77;
  }
  std::size_t epochs = 1;
  std::filesystem::path root;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--epochs") epochs = std::stoul(argv[i + 1]);
    else if (std::string(argv[i]) == "--data") root = argv[i + 1];
  }
  const data::FashionMNIST train_data(root, true), test_data(root, false);
  data::DataLoader<data::FashionMNIST, backend::cuda> train_loader(
      train_data, {.batch_size = 32, .shuffle = true, .torch_order = true}, manual_seed(42));
  data::DataLoader<data::FashionMNIST, backend::cuda> test_gpu(test_data, {.batch_size = 32});
  data::DataLoader<data::FashionMNIST, backend::eigen> test_cpu(test_data, {.batch_size = 32});

  TinyVGG<backend::cuda> model{manual_seed(42)};
  CrossEntropyLoss<backend::cuda> loss_fn;
  optim::SGD optimizer{model.parameters(), {.lr = 0.1}};
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t epoch = 0; epoch < epochs; ++epoch) {
    const auto train = train_step(model, train_loader, loss_fn, optimizer);
    const auto test = test_step(model, test_gpu, loss_fn);
    std::printf("Epoch: %zu | Train loss: %.5f | Train acc: %.2f%% | Test loss: %.5f | Test acc: %.2f%%\n", epoch,
                train.loss, train.acc, test.loss, test.acc);
  }
  print_train_time(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), "cuda");

  save(model, "tinyvgg_cuda.safetensors");
  TinyVGG<backend::eigen> cpu_model{manual_seed(0)};
  load(cpu_model, "tinyvgg_cuda.safetensors");
  CrossEntropyLoss<backend::eigen> cpu_loss;
  const auto gpu = eval_model(model, test_gpu, loss_fn, "TinyVGG (cuda)");
  const auto cpu = eval_model(cpu_model, test_cpu, cpu_loss, "TinyVGG (eigen)");
  std::printf("test accuracy on the GPU %.4f%%, on the CPU from the checkpoint %.4f%%\n", gpu.model_acc, cpu.model_acc);
  return std::abs(gpu.model_acc - cpu.model_acc) < 0.05 ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "%s\n", e.what());
  return 1;
}
