// What embedding ctnn::core looks like: the networks, losses and optimizers, with Eigen as the only
// dependency (no data loading, no pictures). One SGD step on a fixed batch must lower the loss.
#include <ctnn/io.hpp>
#include <ctnn/nn.hpp>
#include <ctnn/optim.hpp>
#include <ctnn/tensor/tensor.hpp>

#include <cstdio>

using namespace ctnn;
using Model = Sequential<backend::eigen, Input<2>, Linear<2, 8>, ReLU, Linear<8, 1>>;

int main() {
  Model model{manual_seed(7)};
  auto x = Batch<Shape<2>>::from_host({0.f, 1.f, 1.f, 0.f, 1.f, 1.f, 0.f, 0.f});
  auto y = Batch<Shape<1>>::from_host({1.f, 1.f, 0.f, 0.f});
  MSELoss loss_fn;
  optim::SGD optimizer{model.parameters(), {.lr = 0.1f}};
  const float before = loss_fn(model.forward(x), y);
  optimizer.zero_grad();
  model.backward(loss_fn.grad());
  optimizer.step();
  const float after = loss_fn(model.forward(x), y);
  const auto t = tensor({{1.f, 2.f}, {3.f, 4.f}});
  std::printf("loss %.5f -> %.5f, sum %.1f\n", static_cast<double>(before), static_cast<double>(after),
              static_cast<double>(t.sum().item()));
  return after < before && t.sum().item() == 10.f ? 0 : 1;
}
