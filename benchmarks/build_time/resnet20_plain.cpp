// A ResNet-20-sized network for the build-time benchmark (benchmarks/build_time/run.sh): ResNet-20's
// 19 3x3 convolutions (16, 32, 64 channels, 6 per stage after the stem) and its classifier, one training
// step, without the shortcuts (built from Conv2d, ReLU and MaxPool2d only; max pooling stands in for the
// stride-2 convolutions). What is timed is compiling it: every layer is its own bound type, so the cost
// grows with depth.
#include <ctnn/ctnn.hpp>

#include <cstdint>
#include <iostream>

using namespace ctnn;

template <std::size_t In, std::size_t Out>
using ConvReLU = Block<Conv2d<In, Out, 3, 1, 1>, ReLU>;

// Six convolutions, the first from In to C channels.
template <std::size_t In, std::size_t C>
using Stage = Block<ConvReLU<In, C>, ConvReLU<C, C>, ConvReLU<C, C>, ConvReLU<C, C>, ConvReLU<C, C>, ConvReLU<C, C>>;

using ResNet20Plain = Sequential<backend::eigen, Input<3, 32, 32>,
    Named<"conv1", ConvReLU<3, 16>>,
    Named<"layer1", Stage<16, 16>>, MaxPool2d<2>,  // [16, 16, 16]
    Named<"layer2", Stage<16, 32>>, MaxPool2d<2>,  // [32, 8, 8]
    Named<"layer3", Stage<32, 64>>,                // [64, 8, 8]
    MaxPool2d<8>, Flatten, Named<"fc", Linear<64, 10>>>;

int main() {
  ResNet20Plain model{manual_seed(0)};
  Batch<Shape<3, 32, 32>> images(4);
  backend::ops<backend::eigen>::fill_uniform(images.size(), images.data(), 0.0, 1.0, default_generator());
  Labels<> labels(4);
  for (std::size_t i = 0; i < 4; ++i) labels(i) = static_cast<std::int64_t>(i);
  CrossEntropyLoss loss_fn;
  const float loss = loss_fn(model.forward(images), labels);
  model.zero_grad();
  model.backward(loss_fn.grad(), InputGrad::skip);
  std::cout << "parameters: " << model.parameter_count << ", loss: " << loss << "\n";
}
