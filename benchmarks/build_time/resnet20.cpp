// ResNet-20 (He et al. 2016, CIFAR-10: 3 stages of 3 BasicBlocks, 16/32/64 channels, 0.27 M parameters)
// for the build-time benchmark (benchmarks/build_time/run.sh), and one training step. What is timed is
// compiling it: every layer is its own bound type, so the cost grows with depth. The stride-2 blocks
// project their shortcut with a 1x1 convolution (torchvision's downsample, "option B").
#include <ctnn/ctnn.hpp>

#include <cstdint>
#include <iostream>
#include <type_traits>

using namespace ctnn;

template <std::size_t In, std::size_t Out, std::size_t Stride = 1>
using BasicBlock = Residual<
    Block<Named<"conv1", Conv2d<In, Out, 3, Stride, 1>>, Named<"bn1", BatchNorm2d<Out>>, Named<"relu", ReLU>,
          Named<"conv2", Conv2d<Out, Out, 3, 1, 1>>, Named<"bn2", BatchNorm2d<Out>>>,
    std::conditional_t<Stride == 1 && In == Out, Identity,
                       Named<"downsample", Block<Conv2d<In, Out, 1, Stride>, BatchNorm2d<Out>>>>,
    Named<"relu", ReLU>>;

template <std::size_t In, std::size_t Out, std::size_t Stride>
using Stage = Block<BasicBlock<In, Out, Stride>, BasicBlock<Out, Out>, BasicBlock<Out, Out>>;

using ResNet20 = Sequential<backend::eigen, Input<3, 32, 32>,
    Named<"conv1", Conv2d<3, 16, 3, 1, 1>>, Named<"bn1", BatchNorm2d<16>>, Named<"relu", ReLU>,
    Named<"layer1", Stage<16, 16, 1>>,  // [16, 32, 32]
    Named<"layer2", Stage<16, 32, 2>>,  // [32, 16, 16]
    Named<"layer3", Stage<32, 64, 2>>,  // [64, 8, 8]
    Named<"avgpool", AvgPool2d<8>>, Flatten, Named<"fc", Linear<64, 10>>>;

int main() {
  ResNet20 model{manual_seed(0)};
  optim::SGD opt(model.parameters(), 0.1);
  Batch<Shape<3, 32, 32>> images(4);
  backend::ops<backend::eigen>::fill_uniform(images.size(), images.data(), 0.0, 1.0, default_generator());
  Labels<> labels(4);
  for (std::size_t i = 0; i < 4; ++i) labels(i) = static_cast<std::int64_t>(i);
  CrossEntropyLoss loss_fn;
  const float loss = loss_fn(model.forward(images), labels);
  opt.zero_grad();
  model.backward(loss_fn.grad(), InputGrad::skip);
  opt.step();
  std::cout << "parameters: " << model.parameter_count << ", loss: " << loss << "\n";
}
