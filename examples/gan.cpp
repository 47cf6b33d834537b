// Seed tutorial 004: an MLP GAN on Fashion-MNIST. The generator maps 100 normal noise values to a
// 28x28 image in [-1, 1] (100-256-512-1024-784, ReLU, Tanh); the discriminator scores images
// (784-1024-512-256-1, ReLU, Dropout(0.3), Sigmoid). BCELoss, Adam(lr=1e-4) for both, batches of 32,
// images scaled to [-1, 1]. Each step trains D on real images (target 1), D on fakes (target 0) and
// G through D (target 1): D's backward returns the gradient w.r.t. its input, which is G's output.
// Writes a 4x8 grid of generated clothes every few epochs, saves the generator, reloads it and
// samples from the reloaded one.
//   ./gan [--epochs 50] [--every 10] [--train-limit N] [--out DIR] [--data DIR]
#include <ctnn/ctnn.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <numeric>
#include <string>
#include <vector>

using namespace ctnn;

using GeneratorNet = Sequential<backend::eigen, Input<100>, Linear<100, 256>, ReLU, Linear<256, 512>, ReLU,
                                Linear<512, 1024>, ReLU, Linear<1024, 784>, Tanh>;
using Discriminator = Sequential<backend::eigen, Input<784>, Linear<784, 1024>, ReLU, Dropout<0.3>, Linear<1024, 512>,
                                 ReLU, Dropout<0.3>, Linear<512, 256>, ReLU, Dropout<0.3>, Linear<256, 1>, Sigmoid>;

namespace {

constexpr std::size_t batch_size = 32;

// see_output(): 32 generated images in a 4 x 8 grid, rescaled from [-1, 1].
void write_samples(GeneratorNet& G, const std::filesystem::path& file, Generator& noise_rng) {
  G.eval();
  Batch<Shape<100>> noise(32);
  backend::ops<backend::eigen>::fill_normal(noise.size(), noise.data(), 0.0, 1.0, noise_rng);
  const auto& fake = G.forward(noise);
  std::vector<viz::GridImage> tiles;
  for (std::size_t i = 0; i < 32; ++i) tiles.push_back({fake.sample(i), ""});
  viz::write_png(file, viz::image_grid(tiles, 8, 28, 28, 3, -1.0, 1.0));
  G.train();
}

}  // namespace

int main(int argc, char** argv) try {
  std::size_t epochs = 50, every = 10, train_limit = 0;
  std::filesystem::path out = "gan_out", root;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--epochs") epochs = std::stoul(argv[i + 1]);
    else if (a == "--every") every = std::stoul(argv[i + 1]);
    else if (a == "--train-limit") train_limit = std::stoul(argv[i + 1]);
    else if (a == "--out") out = argv[i + 1];
    else if (a == "--data") root = argv[i + 1];
  }
  std::filesystem::create_directories(out);

  // Normalize((0.5,), (0.5,)): pixels to [-1, 1], like the generator's Tanh.
  const data::FashionMNIST train_set(root, true, data::Normalize({0.5}, {0.5}));
  std::vector<std::size_t> keep(train_limit && train_limit < train_set.size() ? train_limit : train_set.size());
  std::iota(keep.begin(), keep.end(), std::size_t{0});
  const auto train_subset = train_set.subset(keep);
  manual_seed(42);
  data::DataLoader train_loader(train_subset, {.batch_size = batch_size, .shuffle = true, .drop_last = true});

  GeneratorNet G{manual_seed(42)};
  Discriminator D{default_generator()};
  std::cout << "G: " << G << "\nD: " << D << "\n";
  BCELoss loss_fn;
  optim::Adam optimD{D.parameters(), {.lr = 1e-4f}};
  optim::Adam optimG{G.parameters(), {.lr = 1e-4f}};

  Batch<Shape<1>> real_labels(batch_size), fake_labels(batch_size);
  backend::ops<backend::eigen>::fill(batch_size, real_labels.data(), 1.0f);
  backend::ops<backend::eigen>::fill(batch_size, fake_labels.data(), 0.0f);
  Batch<Shape<784>> real(batch_size), fake(batch_size);
  Batch<Shape<100>> noise(batch_size);
  Generator noise_rng{7}, sample_rng{2024};

  const auto start = std::chrono::steady_clock::now();
  for (std::size_t epoch = 1; epoch <= epochs; ++epoch) {
    double gloss = 0, dloss = 0;
    std::size_t n = 0;
    ProgressBar bar(train_loader.size(), "epoch " + std::to_string(epoch), std::cerr);
    for (const auto& [images, labels] : train_loader) {
      (void)labels;
      backend::ops<backend::eigen>::copy(images.size(), images.data(), real.data());  // flatten 1x28x28 -> 784
      // train_D_on_real
      dloss += loss_fn(D.forward(real), real_labels);
      optimD.zero_grad();
      D.backward(loss_fn.grad(), InputGrad::skip);
      optimD.step();
      // fake_samples = G(noise); train_D_on_fake (on a copy: G's output is "detached")
      backend::ops<backend::eigen>::fill_normal(noise.size(), noise.data(), 0.0, 1.0, noise_rng);
      const auto& generated = G.forward(noise);
      backend::ops<backend::eigen>::copy(generated.size(), generated.data(), fake.data());
      dloss += loss_fn(D.forward(fake), fake_labels);
      optimD.zero_grad();
      D.backward(loss_fn.grad(), InputGrad::skip);
      optimD.step();
      // train_G: D(G(noise)) against "real", the gradient flows through D into G.
      gloss += loss_fn(D.forward(generated), real_labels);
      optimG.zero_grad();
      const auto& d_input_grad = D.backward(loss_fn.grad());  // dLoss / dG(noise); D's grads are discarded
      G.backward(d_input_grad, InputGrad::skip);
      optimG.step();
      ++n;
      bar.update();
    }
    if (epoch % every == 0 || epoch == epochs) {
      std::printf("at epoch %zu, dloss: %.6f, gloss: %.6f\n", epoch, dloss / static_cast<double>(n),
                  gloss / static_cast<double>(n));
      std::fflush(stdout);
      const auto file = out / ("samples_epoch_" + std::to_string(epoch) + ".png");
      write_samples(G, file, sample_rng);
    }
  }
  print_train_time(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());

  // Save the generator, load it into a fresh one and sample from that.
  const auto path = out / "fashion_gen.safetensors";
  save(G, path);
  GeneratorNet new_G{manual_seed(0)};
  load(new_G, path);
  write_samples(new_G, out / "samples_reloaded.png", sample_rng);
  std::cout << "Saved the generator to " << path.string() << "; samples of the reloaded one in "
            << (out / "samples_reloaded.png").string() << "\n";
  return 0;
} catch (const std::exception& e) {
  std::cerr << e.what() << "\n";
  return 1;
}
