// The zoo's layer geometries: one Conv2d (or pooling layer) as a one-layer Sequential, forward and then
// backward of a fixed output gradient, input gradient included (PyTorch's side sets requires_grad on its
// input so that both compute it). The rows span kernels 1/3/5/7, strides 1/2, 1..128 channels, 7..64
// pixels and batches 1/4/32/128 without taking their cross product: each row is a layer of a known
// network (LeNet, the CIFAR-10 tutorial, VGG, ResNet stems and stages) at a batch it is trained or served at.
#include <ctnn/ctnn.hpp>

#include <string>

#include "zoo.hpp"

namespace ctnn_zoo {
namespace {

using B = ctnn::backend::eigen;

template <class Layer, std::size_t N, std::size_t C, std::size_t H>
double time_layer(double seconds) {
  using Model = ctnn::Sequential<B, ctnn::Input<C, H, H>, Layer>;
  Model model{ctnn::manual_seed(0)};
  typename Model::input_batch x(N);
  ctnn::Generator g{7};
  ctnn::backend::ops<B>::fill_uniform(x.size(), x.data(), -1.0, 1.0, g);
  typename Model::output_batch dy(N);
  ctnn::backend::ops<B>::fill_uniform(dy.size(), dy.data(), -1.0, 1.0, g);
  float sink = 0;
  const double ms = median_ms(seconds, [&] {
    sink += model.forward(x).data()[0];
    sink += model.backward(dy).data()[0];
  });
  kept = sink;
  return ms;
}

template <std::size_t C, std::size_t OC, std::size_t K, std::size_t S, std::size_t P, std::size_t H, std::size_t N>
void conv(std::vector<row>& rows) {
  const std::size_t ho = out_size(H, K, S, P);
  // forward, weight gradient and input gradient: three products of the same size
  rows.push_back({"conv " + std::to_string(C) + " " + std::to_string(OC) + " " + std::to_string(K) + " " +
                      std::to_string(S) + " " + std::to_string(P) + " " + std::to_string(H) + " " + std::to_string(N),
                  3 * conv_flop(C, OC, K, static_cast<double>(ho)) * N,
                  &time_layer<ctnn::Conv2d<C, OC, K, S, P>, N, C, H>});
}

template <class Pool, const char* Kind, std::size_t C, std::size_t K, std::size_t S, std::size_t P, std::size_t H,
          std::size_t N>
void pool(std::vector<row>& rows) {
  rows.push_back({std::string(Kind) + " " + std::to_string(C) + " " + std::to_string(K) + " " + std::to_string(S) +
                      " " + std::to_string(P) + " " + std::to_string(H) + " " + std::to_string(N),
                  0.0, &time_layer<Pool, N, C, H>});
}
constexpr char maxpool_kind[] = "maxpool", avgpool_kind[] = "avgpool";

}  // namespace

void add_layer_rows(std::vector<row>& rows) {
  //   C, OC, K, S, P,  H,   N
  conv<1, 6, 5, 1, 0, 32, 4>(rows);      // LeNet's first layer
  conv<1, 6, 5, 1, 0, 32, 128>(rows);
  conv<6, 16, 5, 1, 0, 14, 32>(rows);    // LeNet's / the CIFAR tutorial's second layer
  conv<3, 6, 5, 1, 0, 32, 32>(rows);     // the CIFAR tutorial's first layer
  conv<16, 32, 5, 1, 2, 28, 1>(rows);
  conv<16, 32, 5, 1, 2, 28, 32>(rows);
  conv<32, 64, 5, 2, 2, 32, 32>(rows);
  conv<1, 32, 3, 1, 1, 28, 128>(rows);   // an MNIST CNN's first layer
  conv<3, 32, 3, 1, 1, 32, 1>(rows);     // VGG-style on CIFAR
  conv<3, 32, 3, 1, 1, 32, 32>(rows);
  conv<32, 32, 3, 1, 1, 32, 4>(rows);
  conv<32, 32, 3, 1, 1, 32, 32>(rows);
  conv<64, 64, 3, 1, 1, 16, 32>(rows);
  conv<64, 64, 3, 1, 1, 16, 128>(rows);
  conv<64, 64, 3, 1, 1, 56, 4>(rows);    // ResNet-18's first stage, small batch
  conv<64, 128, 3, 2, 1, 16, 32>(rows);  // a ResNet stage's downsampling conv
  conv<128, 128, 3, 1, 1, 8, 32>(rows);
  conv<128, 128, 3, 1, 1, 7, 128>(rows);
  conv<32, 32, 3, 1, 1, 7, 1>(rows);     // single-image latency of a small layer
  conv<32, 64, 1, 1, 0, 32, 32>(rows);   // 1x1: a plain product
  conv<64, 128, 1, 2, 0, 16, 32>(rows);  // a ResNet shortcut projection
  conv<128, 64, 1, 1, 0, 14, 4>(rows);
  conv<3, 64, 7, 2, 3, 64, 4>(rows);     // ResNet's stem at 64 x 64
  conv<3, 64, 7, 2, 3, 64, 32>(rows);
  conv<8, 16, 7, 1, 3, 28, 32>(rows);
  //           layer,                     kind,        C, K, S, P,  H,  N
  pool<ctnn::MaxPool2d<2>, maxpool_kind, 32, 2, 2, 0, 32, 32>(rows);
  pool<ctnn::MaxPool2d<3, 2, 1>, maxpool_kind, 64, 3, 2, 1, 56, 4>(rows);
  pool<ctnn::AvgPool2d<2>, avgpool_kind, 6, 2, 2, 0, 28, 128>(rows);
}

}  // namespace ctnn_zoo
