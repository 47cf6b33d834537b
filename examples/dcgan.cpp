// pytorch/examples' dcgan/main.py, sized for Fashion-MNIST 28x28 (its PyTorch twin:
// benchmarks/reference/dcgan.py). The generator upsamples 100 noise values (a 100 x 1 x 1 map)
// 1 -> 7 -> 14 -> 28 with ConvTranspose2d (k7 s1 p0, then k4 s2 p1 twice), BatchNorm2d and ReLU between,
// Tanh last; the discriminator mirrors it with Conv2d (k4 s2 p1 twice, then k7 to one value),
// LeakyReLU(0.2), BatchNorm2d on the middle layer, Sigmoid. As in main.py: no convolution biases,
// weights_init (conv weights N(0, 0.02), BatchNorm weight N(1, 0.02) and bias 0), BCELoss,
// Adam(lr=2e-4, betas=(0.5, 0.999)) for both, batches of 64, images scaled to [-1, 1]. Each step D's
// gradients of a real batch (label 1) and of a detached fake batch (label 0) are summed into one step,
// then G takes its step through the updated D with label 1. Prints main.py's line every --log-every batches:
//   [epoch/epochs][batch/batches] Loss_D: .. Loss_G: .. D(x): .. D(G(z)): before D's step / after it
// and after each epoch writes fake_samples_epoch_<n>.png (an 8 x 8 grid from one fixed noise batch),
// plus real_samples.png and, at the end, the generator's weights (netG.safetensors) into --out.
//
//   ./dcgan [--epochs 5] [--train-limit N] [--log-every 50] [--seed 999] [--out DIR] [--data DIR]
//
// --train-limit (or $CTNN_TRAIN_LIMIT) trains on the first N images, so CI runs it in seconds. The data
// is found in --data, $CTNN_DATA or /usr/share/datasets/fashion-mnist.
#include <ctnn/ctnn.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <numeric>
#include <string>
#include <vector>

using namespace ctnn;

namespace {

constexpr std::size_t nz = 100, ngf = 64, ndf = 64, batch_size = 64;
using B = backend::eigen;

// main.py's convolutions have bias=False: the BatchNorm after them has its own shift.
template <std::size_t In, std::size_t Out, std::size_t K, std::size_t S, std::size_t P>
using Up = ConvTranspose2d<In, Out, ConvTranspose2dOptions{.kernel_size = K, .stride = S, .padding = P, .bias = false}>;
template <std::size_t In, std::size_t Out, std::size_t K, std::size_t S, std::size_t P>
using Down = Conv2d<In, Out, Conv2dOptions{.kernel_size = K, .stride = S, .padding = P, .bias = false}>;

using GeneratorNet = Sequential<B, Input<nz, 1, 1>,
                                Up<nz, ngf * 2, 7, 1, 0>, BatchNorm2d<ngf * 2>, ReLU,  // [128, 7, 7]
                                Up<ngf * 2, ngf, 4, 2, 1>, BatchNorm2d<ngf>, ReLU,     // [64, 14, 14]
                                Up<ngf, 1, 4, 2, 1>, Tanh>;                            // [1, 28, 28]
using Discriminator = Sequential<B, Input<1, 28, 28>,
                                 Down<1, ndf, 4, 2, 1>, LeakyReLU<0.2>,                              // [64, 14, 14]
                                 Down<ndf, ndf * 2, 4, 2, 1>, BatchNorm2d<ndf * 2>, LeakyReLU<0.2>,  // [128, 7, 7]
                                 Down<ndf * 2, 1, 7, 1, 0>, Sigmoid, Flatten>;                       // [1]

struct Options {
  std::size_t epochs = 5;
  std::size_t train_limit = 0;  // 0: all 60000
  std::size_t log_every = 50;
  std::uint64_t seed = 999;  // main.py's manualSeed
  std::filesystem::path out = "dcgan_out", data;
};

Options parse(int argc, char** argv) {
  Options o;
  if (const char* v = std::getenv("CTNN_TRAIN_LIMIT"); v && *v) o.train_limit = std::stoul(v);
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw error(cat(arg, " needs a value"));
      return argv[++i];
    };
    if (arg == "--epochs") o.epochs = std::stoul(value());
    else if (arg == "--train-limit") o.train_limit = std::stoul(value());
    else if (arg == "--log-every") o.log_every = std::max<std::size_t>(1, std::stoul(value()));
    else if (arg == "--seed") o.seed = std::stoull(value());
    else if (arg == "--out") o.out = value();
    else if (arg == "--data") o.data = value();
    else throw error(cat("unknown option ", arg, " (see the comment at the top of dcgan.cpp)"));
  }
  return o;
}

// main.py's weights_init: convolution (and transposed convolution) weights from N(0, 0.02), BatchNorm
// weights from N(1, 0.02) and its biases 0. The convolutions' weights are the only 4-D parameters.
template <class Net>
void weights_init(Net& net, Generator& g) {
  for (auto* p : net.parameters()) {
    const bool conv = p->shape.size() == 4, bn_weight = !conv && p->name.ends_with("weight");
    std::vector<typename Net::scalar> v(p->size());
    for (auto& x : v) x = static_cast<typename Net::scalar>(conv ? 0.02 * g.normal() : bn_weight ? 1 + 0.02 * g.normal() : 0.0);
    p->values_from_host(v);
  }
}

double mean_of(const Batch<Shape<1>, B>& d) {
  const auto v = d.to_host();
  return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

// vutils.save_image(..., normalize=True) of 64 images: an 8 x 8 grid, [-1, 1] shown as black..white.
void write_grid(const Batch<Shape<1, 28, 28>, B>& images, const std::filesystem::path& file) {
  std::vector<viz::GridImage> tiles;
  for (std::size_t i = 0; i < images.batch_size() && i < 64; ++i) tiles.push_back({images.sample(i), ""});
  viz::write_png(file, viz::image_grid(tiles, 8, 28, 28, 2, -1.0, 1.0));
}

}  // namespace

int main(int argc, char** argv) try {
  const Options o = parse(argc, argv);
  std::filesystem::create_directories(o.out);

  // transforms.Normalize((0.5,), (0.5,)): pixels to [-1, 1], the range of the generator's Tanh.
  const data::FashionMNIST train_set(o.data, /*train=*/true, data::Normalize({0.5}, {0.5}));
  std::vector<std::size_t> keep(o.train_limit && o.train_limit < train_set.size() ? o.train_limit : train_set.size());
  std::iota(keep.begin(), keep.end(), std::size_t{0});
  const auto train_subset = train_set.subset(keep);
  Generator& rng = manual_seed(o.seed);
  data::DataLoader train_loader(train_subset, {.batch_size = batch_size, .shuffle = true, .drop_last = true}, rng);
  const std::size_t batches = train_loader.size();
  if (batches == 0) throw error(cat("--train-limit ", o.train_limit, " is less than one batch of ", batch_size));

  GeneratorNet G{rng};
  Discriminator D{rng};
  weights_init(G, rng);
  weights_init(D, rng);
  std::cout << G.repr("Generator") << "\n" << D.repr("Discriminator") << "\n";
  std::printf("Train samples: %zu | batches of %zu: %zu | threads: %zu\n", train_subset.size(), batch_size, batches,
              get_num_threads());

  BCELoss criterion;
  optim::Adam optimizerD{D.parameters(), {.lr = 2e-4f, .betas = {0.5f, 0.999f}}};
  optim::Adam optimizerG{G.parameters(), {.lr = 2e-4f, .betas = {0.5f, 0.999f}}};

  Batch<Shape<1>, B> real_label(batch_size), fake_label(batch_size);
  backend::ops<B>::fill(batch_size, real_label.data(), 1.0f);
  backend::ops<B>::fill(batch_size, fake_label.data(), 0.0f);
  Batch<Shape<nz, 1, 1>, B> noise(batch_size), fixed_noise(64);
  Batch<Shape<1, 28, 28>, B> fake(batch_size);
  backend::ops<B>::fill_normal(fixed_noise.size(), fixed_noise.data(), 0.0, 1.0, rng);

  double total_seconds = 0;
  for (std::size_t epoch = 0; epoch < o.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    double sum_d = 0, sum_g = 0;
    std::size_t i = 0;
    for (const auto& [images, labels] : train_loader) {
      (void)labels;
      if (epoch == 0 && i == 0) write_grid(images, o.out / "real_samples.png");
      // (1) Update D: maximize log(D(x)) + log(1 - D(G(z))); both backward passes accumulate into one step.
      optimizerD.zero_grad();
      const double errD_real = criterion(D.forward(images), real_label);
      const double D_x = mean_of(D.output());
      D.backward(criterion.grad(), InputGrad::skip);
      backend::ops<B>::fill_normal(noise.size(), noise.data(), 0.0, 1.0, rng);
      const auto& generated = G.forward(noise);
      backend::ops<B>::copy(generated.size(), generated.data(), fake.data());  // fake.detach()
      const double errD_fake = criterion(D.forward(fake), fake_label);
      const double D_G_z1 = mean_of(D.output());
      D.backward(criterion.grad(), InputGrad::skip);
      optimizerD.step();
      // (2) Update G: maximize log(D(G(z))). D's input gradient is G's output gradient; the parameter
      // gradients this leaves in D are cleared by the next zero_grad, as main.py's netD.zero_grad().
      optimizerG.zero_grad();
      const double errG = criterion(D.forward(fake), real_label);
      const double D_G_z2 = mean_of(D.output());
      G.backward(D.backward(criterion.grad()), InputGrad::skip);
      optimizerG.step();
      sum_d += errD_real + errD_fake;
      sum_g += errG;
      if (i % o.log_every == 0 || i + 1 == batches) {
        std::printf("[%zu/%zu][%zu/%zu] Loss_D: %.4f Loss_G: %.4f D(x): %.4f D(G(z)): %.4f / %.4f\n", epoch, o.epochs,
                    i, batches, errD_real + errD_fake, errG, D_x, D_G_z1, D_G_z2);
        std::fflush(stdout);
      }
      ++i;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    total_seconds += seconds;
    // main.py samples netG(fixed_noise) in train mode: BatchNorm normalises with the batch's statistics
    // (the running ones lag far behind early on, which turns eval-mode samples into flat grey).
    const auto file = o.out / ("fake_samples_epoch_" + std::to_string(epoch) + ".png");
    write_grid(G.forward(fixed_noise), file);
    std::printf("Epoch %zu/%zu | mean Loss_D: %.4f | mean Loss_G: %.4f | epoch time: %.1f s | wrote %s\n", epoch + 1,
                o.epochs, sum_d / static_cast<double>(batches), sum_g / static_cast<double>(batches), seconds,
                file.string().c_str());
    std::fflush(stdout);
  }
  save(G, o.out / "netG.safetensors");
  print_train_time(total_seconds);
  return 0;
} catch (const std::exception& e) {
  std::cerr << e.what() << "\n";
  return 1;
}
