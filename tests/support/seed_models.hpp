#pragma once
// The seed notebooks' models, defined once for every test and benchmark (examples define their own, so
// that each example reads on its own). Layer names follow the notebooks, so state_dict keys are
// PyTorch's ("layer_stack.1.weight", "conv_block_1.0.weight", "classifier.1.bias"), which the parity
// fixtures and tinyvgg_torch.safetensors rely on.
//
// Include <ctnn/ctnn.hpp> (or, in an nvcc translation unit, <ctnn/nn.hpp>) and any backend header first.
#include <cstddef>
#include <type_traits>

#if __has_include(<ctnn/nn.hpp>)  // not in single_include/: there ctnn.hpp has it all
#include <ctnn/nn.hpp>
#endif

namespace ctnn_test {

// Seed 003 (Fashion-MNIST), hidden_units = 10 as the notebook trains them.
inline constexpr std::size_t seed_hidden_units = 10;

// FashionMNISTModelV0: nn.Sequential(nn.Flatten(), nn.Linear(784, 10), nn.Linear(10, 10)).
template <class B>
using FashionMNISTModelV0 =
    ctnn::Sequential<B, ctnn::Input<1, 28, 28>,
                     ctnn::Named<"layer_stack", ctnn::Block<ctnn::Flatten, ctnn::Linear<784, seed_hidden_units>,
                                                            ctnn::Linear<seed_hidden_units, 10>>>>;

// FashionMNISTModelV1: V0 with a ReLU after each Linear.
template <class B>
using FashionMNISTModelV1 =
    ctnn::Sequential<B, ctnn::Input<1, 28, 28>,
                     ctnn::Named<"layer_stack",
                                 ctnn::Block<ctnn::Flatten, ctnn::Linear<784, seed_hidden_units>, ctnn::ReLU,
                                             ctnn::Linear<seed_hidden_units, 10>, ctnn::ReLU>>>;

// FashionMNISTModelV2, the notebook's TinyVGG: two blocks of (conv 3x3 p1, ReLU) x 2 + MaxPool2d(2),
// then Flatten and Linear(10 * 7 * 7, 10).
template <class B>
using TinyVGG = ctnn::Sequential<
    B, ctnn::Input<1, 28, 28>,
    ctnn::Named<"conv_block_1",
                ctnn::Block<ctnn::Conv2d<1, seed_hidden_units, 3, 1, 1>, ctnn::ReLU,
                            ctnn::Conv2d<seed_hidden_units, seed_hidden_units, 3, 1, 1>, ctnn::ReLU, ctnn::MaxPool2d<2>>>,
    ctnn::Named<"conv_block_2",
                ctnn::Block<ctnn::Conv2d<seed_hidden_units, seed_hidden_units, 3, 1, 1>, ctnn::ReLU,
                            ctnn::Conv2d<seed_hidden_units, seed_hidden_units, 3, 1, 1>, ctnn::ReLU, ctnn::MaxPool2d<2>>>,
    ctnn::Named<"classifier", ctnn::Block<ctnn::Flatten, ctnn::Linear<seed_hidden_units * 7 * 7, 10>>>>;

template <class B>
using FashionMNISTModelV2 = TinyVGG<B>;

// Seed 000: the binary MLP (T-shirts against ankle boots), trained with BCELoss.
template <class B>
using BinaryMLP = ctnn::Sequential<B, ctnn::Input<1, 28, 28>, ctnn::Flatten, ctnn::Linear<28 * 28, 256>, ctnn::ReLU,
                                   ctnn::Linear<256, 128>, ctnn::ReLU, ctnn::Linear<128, 32>, ctnn::ReLU,
                                   ctnn::Linear<32, 1>, ctnn::Dropout<0.25>, ctnn::Sigmoid>;

// Seed 004: the GAN's generator (100 noise values to a 28 x 28 image in [-1, 1]) and discriminator.
template <class B>
using GeneratorNet = ctnn::Sequential<B, ctnn::Input<100>, ctnn::Linear<100, 256>, ctnn::ReLU, ctnn::Linear<256, 512>,
                                      ctnn::ReLU, ctnn::Linear<512, 1024>, ctnn::ReLU, ctnn::Linear<1024, 784>, ctnn::Tanh>;
template <class B>
using Discriminator =
    ctnn::Sequential<B, ctnn::Input<784>, ctnn::Linear<784, 1024>, ctnn::ReLU, ctnn::Dropout<0.3>,
                     ctnn::Linear<1024, 512>, ctnn::ReLU, ctnn::Dropout<0.3>, ctnn::Linear<512, 256>, ctnn::ReLU,
                     ctnn::Dropout<0.3>, ctnn::Linear<256, 1>, ctnn::Sigmoid>;

// torchvision's BasicBlock (conv1, bn1, relu, conv2, bn2, relu after the sum), with a 1x1 stride-2
// convolution + BatchNorm2d as its `downsample` when Stride > 1 or the width changes.
template <std::size_t In, std::size_t Out, std::size_t Stride = 1>
using BasicBlock = ctnn::Residual<
    ctnn::Block<ctnn::Named<"conv1", ctnn::Conv2d<In, Out, 3, Stride, 1>>, ctnn::Named<"bn1", ctnn::BatchNorm2d<Out>>,
                ctnn::Named<"relu", ctnn::ReLU>, ctnn::Named<"conv2", ctnn::Conv2d<Out, Out, 3, 1, 1>>,
                ctnn::Named<"bn2", ctnn::BatchNorm2d<Out>>>,
    std::conditional_t<Stride == 1 && In == Out, ctnn::Identity,
                       ctnn::Named<"downsample", ctnn::Block<ctnn::Conv2d<In, Out, 1, Stride>, ctnn::BatchNorm2d<Out>>>>,
    ctnn::Named<"relu", ctnn::ReLU>>;

// The small torchvision-style ResNet of tests/fixtures/make_resnet_fixtures.py (resnet_small): conv1,
// bn1, relu, layer1 (4 -> 4), layer2 (4 -> 8, stride 2, projection shortcut), global average pooling, fc.
template <class B>
using SmallResNet = ctnn::Sequential<
    B, ctnn::Input<1, 8, 8>, ctnn::Named<"conv1", ctnn::Conv2d<1, 4, 3, 1, 1>>, ctnn::Named<"bn1", ctnn::BatchNorm2d<4>>,
    ctnn::Named<"relu", ctnn::ReLU>, ctnn::Named<"layer1", ctnn::Block<BasicBlock<4, 4>>>,
    ctnn::Named<"layer2", ctnn::Block<BasicBlock<4, 8, 2>>>, ctnn::Named<"avgpool", ctnn::AvgPool2d<4>>, ctnn::Flatten,
    ctnn::Named<"fc", ctnn::Linear<8, 3>>>;

}  // namespace ctnn_test
