#pragma once
// The seed workloads' models, copied from the examples (fashion_mnist.cpp, binary_fashion.cpp, gan.cpp)
// so that the benchmarks and the side-by-side reference time exactly the networks the examples train.
#include <ctnn/ctnn.hpp>

namespace ctnn_bench {

using namespace ctnn;
using B = backend::eigen;
constexpr std::size_t hidden_units = 10;

// FashionMNISTModelV0: Flatten, Linear(784, 10), Linear(10, 10)
using ModelV0 = Sequential<B, Input<1, 28, 28>,
    Named<"layer_stack", Block<Flatten, Linear<784, hidden_units>, Linear<hidden_units, 10>>>>;

// FashionMNISTModelV1: the same with a ReLU after each Linear
using ModelV1 = Sequential<B, Input<1, 28, 28>,
    Named<"layer_stack", Block<Flatten, Linear<784, hidden_units>, ReLU, Linear<hidden_units, 10>, ReLU>>>;

// FashionMNISTModelV2: TinyVGG
using TinyVGG = Sequential<B, Input<1, 28, 28>,
    Named<"conv_block_1", Block<Conv2d<1, hidden_units, 3, 1, 1>, ReLU, Conv2d<hidden_units, hidden_units, 3, 1, 1>, ReLU,
                                MaxPool2d<2>>>,
    Named<"conv_block_2", Block<Conv2d<hidden_units, hidden_units, 3, 1, 1>, ReLU,
                                Conv2d<hidden_units, hidden_units, 3, 1, 1>, ReLU, MaxPool2d<2>>>,
    Named<"classifier", Block<Flatten, Linear<hidden_units * 7 * 7, 10>>>>;

// Seed 000's binary MLP (t-shirts against ankle boots), BCELoss, Adam(1e-3), batches of 64.
using BinaryMLP = Sequential<B, Input<1, 28, 28>, Flatten, Linear<28 * 28, 256>, ReLU, Linear<256, 128>, ReLU,
                             Linear<128, 32>, ReLU, Linear<32, 1>, Dropout<0.25>, Sigmoid>;

// Seed 004's GAN, Adam(1e-4) for both, batches of 32.
using GeneratorNet = Sequential<B, Input<100>, Linear<100, 256>, ReLU, Linear<256, 512>, ReLU, Linear<512, 1024>, ReLU,
                                Linear<1024, 784>, Tanh>;
using Discriminator = Sequential<B, Input<784>, Linear<784, 1024>, ReLU, Dropout<0.3>, Linear<1024, 512>, ReLU,
                                 Dropout<0.3>, Linear<512, 256>, ReLU, Dropout<0.3>, Linear<256, 1>, Sigmoid>;

// One GAN step as gan.cpp runs it: D on real, D on fakes (detached), G through D.
struct GanStep {
  static constexpr std::size_t batch_size = 32;
  GeneratorNet G;
  Discriminator D;
  BCELoss<B> loss_fn;
  optim::Adam<B> optimD, optimG;
  Batch<Shape<1>> real_labels{batch_size}, fake_labels{batch_size};
  Batch<Shape<784>> real{batch_size}, fake{batch_size};
  Batch<Shape<100>> noise{batch_size};
  Generator noise_rng{7};

  explicit GanStep(std::uint64_t seed)
      : G{manual_seed(seed)}, D{default_generator()}, optimD{D.parameters(), {.lr = 1e-4}},
        optimG{G.parameters(), {.lr = 1e-4}} {
    backend::ops<B>::fill(real_labels.data(), batch_size, 1.0f);
    backend::ops<B>::fill(fake_labels.data(), batch_size, 0.0f);
  }

  // images: batch_size images of 784 values in [-1, 1]; returns D's and G's losses.
  std::pair<double, double> step(const float* images) {
    using ops = backend::ops<B>;
    ops::copy(images, real.size(), real.data());
    double dloss = loss_fn(D.forward(real), real_labels);
    optimD.zero_grad();
    D.backward(loss_fn.grad(), InputGrad::skip);
    optimD.step();
    ops::fill_normal(noise.data(), noise.size(), 0.0, 1.0, noise_rng);
    const auto& generated = G.forward(noise);
    ops::copy(generated.data(), generated.size(), fake.data());
    dloss += loss_fn(D.forward(fake), fake_labels);
    optimD.zero_grad();
    D.backward(loss_fn.grad(), InputGrad::skip);
    optimD.step();
    const double gloss = loss_fn(D.forward(generated), real_labels);
    optimG.zero_grad();
    G.backward(D.backward(loss_fn.grad()), InputGrad::skip);
    optimG.step();
    return {dloss, gloss};
  }
};

}  // namespace ctnn_bench
