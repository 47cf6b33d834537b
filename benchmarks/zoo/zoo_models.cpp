// The zoo's whole models, written from their public definitions (none is a seed workload), each timed for
// one training step: forward, CrossEntropyLoss, zero_grad, backward (no input gradient), SGD(0.01,
// momentum 0.9) step, as the PyTorch tutorials train them.
//   lenet5     LeCun et al. 1998 on 1 x 32 x 32: C1 conv 5x5 to 6, tanh, S2 2x2 average pooling, C3 5x5 to
//              16, tanh, S4, C5 5x5 to 120, tanh, F6 120 -> 84, tanh, 84 -> 10 (plain connections, no RBF)
//   cifar_net  the "Training a classifier" tutorial's Net on 3 x 32 x 32: conv 5x5 to 6, ReLU, max pool 2,
//              conv 5x5 to 16, ReLU, max pool 2, 400 -> 120 -> 84 -> 10 with ReLUs
//   vgg_small  VGG's pattern at 32-64 channels on 3 x 32 x 32: two blocks of (3x3 conv pad 1, ReLU) x 2 +
//              max pool 2, with 32 then 64 channels, then 64 * 8 * 8 -> 10
#include <ctnn/ctnn.hpp>

#include <string>

#include "zoo.hpp"

namespace ctnn_zoo {
namespace {

using namespace ctnn;
using B = backend::eigen;

using LeNet5 = Sequential<B, Input<1, 32, 32>, Conv2d<1, 6, 5>, Tanh, AvgPool2d<2>, Conv2d<6, 16, 5>, Tanh, AvgPool2d<2>,
                          Conv2d<16, 120, 5>, Tanh, Flatten, Linear<120, 84>, Tanh, Linear<84, 10>>;
using CifarNet = Sequential<B, Input<3, 32, 32>, Conv2d<3, 6, 5>, ReLU, MaxPool2d<2>, Conv2d<6, 16, 5>, ReLU,
                            MaxPool2d<2>, Flatten, Linear<400, 120>, ReLU, Linear<120, 84>, ReLU, Linear<84, 10>>;
using VggSmall = Sequential<B, Input<3, 32, 32>, Conv2d<3, 32, 3, 1, 1>, ReLU, Conv2d<32, 32, 3, 1, 1>, ReLU, MaxPool2d<2>,
                            Conv2d<32, 64, 3, 1, 1>, ReLU, Conv2d<64, 64, 3, 1, 1>, ReLU, MaxPool2d<2>, Flatten,
                            Linear<64 * 8 * 8, 10>>;

// Forward arithmetic per image, and that of the first layer (whose input gradient a step skips).
constexpr double lenet5_flop = conv_flop(1, 6, 5, 28) + conv_flop(6, 16, 5, 10) + conv_flop(16, 120, 5, 1) +
                               linear_flop(120, 84) + linear_flop(84, 10);
constexpr double cifar_net_flop = conv_flop(3, 6, 5, 28) + conv_flop(6, 16, 5, 10) + linear_flop(400, 120) +
                                  linear_flop(120, 84) + linear_flop(84, 10);
constexpr double vgg_small_flop = conv_flop(3, 32, 3, 32) + conv_flop(32, 32, 3, 32) + conv_flop(32, 64, 3, 16) +
                                  conv_flop(64, 64, 3, 16) + linear_flop(4096, 10);

template <class Model, std::size_t N>
double time_step(double seconds) {
  Model model{manual_seed(0)};
  typename Model::input_batch x(N);
  Generator g{7};
  backend::ops<B>::fill_uniform(x.size(), x.data(), -1.0, 1.0, g);
  Labels<> y(N);
  for (std::size_t i = 0; i < N; ++i) y(i) = static_cast<std::int64_t>(i % 10);
  CrossEntropyLoss loss;
  optim::SGD opt{model.parameters(), {.lr = 0.01, .momentum = 0.9}};
  model.train();
  double total = 0;
  const double ms = median_ms(seconds, [&] {
    total += loss(model.forward(x), y);
    opt.zero_grad();
    model.backward(loss.grad(), InputGrad::skip);
    opt.step();
  });
  kept = static_cast<float>(total);
  return ms;
}

template <class Model, std::size_t N>
void model(std::vector<row>& rows, const char* name, double flop_per_image, double first_layer_flop) {
  rows.push_back({std::string("model ") + name + " " + std::to_string(N), (3 * flop_per_image - first_layer_flop) * N,
                  &time_step<Model, N>});
}

}  // namespace

void add_model_rows(std::vector<row>& rows) {
  model<LeNet5, 4>(rows, "lenet5", lenet5_flop, conv_flop(1, 6, 5, 28));
  model<LeNet5, 32>(rows, "lenet5", lenet5_flop, conv_flop(1, 6, 5, 28));
  model<LeNet5, 128>(rows, "lenet5", lenet5_flop, conv_flop(1, 6, 5, 28));
  model<CifarNet, 4>(rows, "cifar_net", cifar_net_flop, conv_flop(3, 6, 5, 28));
  model<CifarNet, 32>(rows, "cifar_net", cifar_net_flop, conv_flop(3, 6, 5, 28));
  model<VggSmall, 4>(rows, "vgg_small", vgg_small_flop, conv_flop(3, 32, 3, 32));
  model<VggSmall, 32>(rows, "vgg_small", vgg_small_flop, conv_flop(3, 32, 3, 32));
  model<VggSmall, 128>(rows, "vgg_small", vgg_small_flop, conv_flop(3, 32, 3, 32));
}

}  // namespace ctnn_zoo
