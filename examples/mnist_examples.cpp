// pytorch/examples mnist/main.py, line for line, on Fashion-MNIST: the same network (two convolutions,
// max pooling, Dropout 0.25 and 0.5, Linear 9216-128-10, log_softmax + NLL), the same training (Adadelta
// lr 1.0, StepLR step 1 gamma 0.7, batches of 64 shuffled, test batches of 1000, Normalize((0.1307,),
// (0.3081,))), the same options and the same printed lines ("Train Epoch: 1 [640/60000 (1%)]\tLoss: ...",
// "Test set: Average loss: ..., Accuracy: .../10000 (..%)").
//
//   ./mnist_examples [--epochs 14] [--batch-size 64] [--test-batch-size 1000] [--lr 1.0] [--gamma 0.7]
//                    [--dry-run] [--seed 1] [--log-interval 10] [--save-model]
//                    [--train-limit N] [--test-limit N] [--data DIR]
//
// --train-limit and --test-limit (the first N samples; not in main.py) let CI run a subset. The data
// is found in --data, $CTNN_DATA or /usr/share/datasets/fashion-mnist. The same script in PyTorch, for
// the comparison in the README, is benchmarks/reference/mnist_main.py.
#include <ctnn/ctnn.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <string>
#include <vector>

using namespace ctnn;

namespace {

// class Net(nn.Module): the children under main.py's attribute names, so the state_dict keys
// (conv1.weight, fc2.bias, ...) are those of torch.save(model.state_dict(), "mnist_cnn.pt").
using Net = Sequential<backend::eigen, Input<1, 28, 28>,
    Named<"conv1", Conv2d<1, 32, 3, 1, 0>>, ReLU,
    Named<"conv2", Conv2d<32, 64, 3, 1, 0>>, ReLU,
    MaxPool2d<2>,
    Named<"dropout1", Dropout<0.25>>,
    Flatten,
    Named<"fc1", Linear<9216, 128>>, ReLU,
    Named<"dropout2", Dropout<0.5>>,
    Named<"fc2", Linear<128, 10>>,
    LogSoftmax>;

struct Args {
  std::size_t batch_size = 64;
  std::size_t test_batch_size = 1000;
  std::size_t epochs = 14;
  double lr = 1.0;
  double gamma = 0.7;
  bool dry_run = false;
  std::uint64_t seed = 1;
  std::size_t log_interval = 10;
  bool save_model = false;
  std::size_t train_limit = 0;  // 0: all 60000
  std::size_t test_limit = 0;   // 0: all 10000
  std::filesystem::path data;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw error(cat(arg, " needs a value"));
      return argv[++i];
    };
    if (arg == "--batch-size") a.batch_size = std::stoul(value());
    else if (arg == "--test-batch-size") a.test_batch_size = std::stoul(value());
    else if (arg == "--epochs") a.epochs = std::stoul(value());
    else if (arg == "--lr") a.lr = std::stod(value());
    else if (arg == "--gamma") a.gamma = std::stod(value());
    else if (arg == "--dry-run") a.dry_run = true;
    else if (arg == "--seed") a.seed = std::stoull(value());
    else if (arg == "--log-interval") a.log_interval = std::stoul(value());
    else if (arg == "--save-model") a.save_model = true;
    else if (arg == "--train-limit") a.train_limit = std::stoul(value());
    else if (arg == "--test-limit") a.test_limit = std::stoul(value());
    else if (arg == "--data") a.data = value();
    else throw error(cat("unknown option ", arg, " (see the comment at the top of mnist_examples.cpp)"));
  }
  if (a.batch_size == 0 || a.test_batch_size == 0 || a.log_interval == 0)
    throw error("--batch-size, --test-batch-size and --log-interval must be positive");
  return a;
}

std::vector<std::size_t> first(std::size_t limit, std::size_t size) {
  std::vector<std::size_t> idx(limit && limit < size ? limit : size);
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  return idx;
}

// main.py's train(): a line every log_interval batches with that batch's loss; --dry-run stops after
// the first line.
template <class Loader, class Optimizer>
void train_epoch(const Args& args, Net& model, Loader& train_loader, std::size_t dataset_size, Optimizer& optimizer,
                 std::size_t epoch) {
  model.train();
  NLLLoss loss_fn;
  std::size_t batch_idx = 0;
  for (const auto& [data, target] : train_loader) {
    optimizer.zero_grad();
    const auto& output = model.forward(data);
    const double loss = loss_fn(output, target);
    model.backward(loss_fn.grad());
    optimizer.step();
    if (batch_idx % args.log_interval == 0) {
      std::printf("Train Epoch: %zu [%zu/%zu (%.0f%%)]\tLoss: %.6f\n", epoch, batch_idx * args.batch_size,
                  dataset_size, 100.0 * static_cast<double>(batch_idx) / static_cast<double>(train_loader.size()),
                  loss);
      std::fflush(stdout);
      if (args.dry_run) break;
    }
    ++batch_idx;
  }
}

// main.py's test(): the summed NLL over the test set divided by its size, and argmax accuracy.
template <class Loader>
void test_epoch(Net& model, Loader& test_loader, std::size_t dataset_size) {
  model.eval();
  NLLLoss loss_fn{Reduction::sum};
  const metrics::Multiclass accuracy;
  double test_loss = 0;
  std::size_t correct = 0;
  for (const auto& [data, target] : test_loader) {
    const auto& output = model.forward(data);
    test_loss += loss_fn(output, target);
    correct += accuracy.correct(output, target);
  }
  test_loss /= static_cast<double>(dataset_size);
  std::printf("\nTest set: Average loss: %.4f, Accuracy: %zu/%zu (%.0f%%)\n\n", test_loss, correct, dataset_size,
              100.0 * static_cast<double>(correct) / static_cast<double>(dataset_size));
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) try {
  const Args args = parse(argc, argv);
  Generator& generator = manual_seed(args.seed);  // torch.manual_seed(args.seed)

  const data::Normalize normalize({0.1307}, {0.3081});
  const data::FashionMNIST train_data(args.data, /*train=*/true, normalize);
  const data::FashionMNIST test_data(args.data, /*train=*/false, normalize);
  const auto train_subset = train_data.subset(first(args.train_limit, train_data.size()));
  const auto test_subset = test_data.subset(first(args.test_limit, test_data.size()));
  data::DataLoader train_loader(train_subset, {.batch_size = args.batch_size, .shuffle = true, .torch_order = true},
                                generator);
  data::DataLoader test_loader(test_subset, {.batch_size = args.test_batch_size});

  Net model{generator};
  optim::Adadelta optimizer{model.parameters(), {.lr = args.lr}};
  optim::StepLR scheduler{optimizer, 1, args.gamma};

  const auto start = std::chrono::steady_clock::now();
  for (std::size_t epoch = 1; epoch <= args.epochs; ++epoch) {
    train_epoch(args, model, train_loader, train_subset.size(), optimizer, epoch);
    test_epoch(model, test_loader, test_subset.size());
    scheduler.step();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("Time: %.1f s for %zu epochs (%zu threads)\n", seconds, args.epochs, get_num_threads());

  if (args.save_model) save(model, "mnist_cnn.safetensors");
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "%s\n", e.what());
  return 1;
}
