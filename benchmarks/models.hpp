#pragma once
// The seed workloads' models (tests/support/seed_models.hpp: the networks the examples train, defined
// once for the tests and the benchmarks), on the Eigen backend, and the GAN's training step.
#include <ctnn/ctnn.hpp>

#include "seed_models.hpp"

namespace ctnn_bench {

using namespace ctnn;
using B = backend::eigen;

using ModelV0 = ctnn_test::FashionMNISTModelV0<B>;
using ModelV1 = ctnn_test::FashionMNISTModelV1<B>;
using TinyVGG = ctnn_test::TinyVGG<B>;
// Seed 000: BCELoss, Adam(1e-3), batches of 64.
using BinaryMLP = ctnn_test::BinaryMLP<B>;
// Seed 004: Adam(1e-4) for both, batches of 32.
using GeneratorNet = ctnn_test::GeneratorNet<B>;
using Discriminator = ctnn_test::Discriminator<B>;

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
    backend::ops<B>::fill(batch_size, real_labels.data(), 1.0f);
    backend::ops<B>::fill(batch_size, fake_labels.data(), 0.0f);
  }

  // images: batch_size images of 784 values in [-1, 1]; returns D's and G's losses.
  std::pair<double, double> step(const float* images) {
    using ops = backend::ops<B>;
    ops::copy(real.size(), images, real.data());
    double dloss = loss_fn(D.forward(real), real_labels);
    optimD.zero_grad();
    D.backward(loss_fn.grad(), InputGrad::skip);
    optimD.step();
    ops::fill_normal(noise.size(), noise.data(), 0.0, 1.0, noise_rng);
    const auto& generated = G.forward(noise);
    ops::copy(generated.size(), generated.data(), fake.data());
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
