// A tiny program a user of ctnn would write: a typed MLP, one training step, a prediction.
#include <ctnn/ctnn.hpp>

#include <cstdio>

using namespace ctnn;
using Model = Sequential<backend::eigen, Input<2>, Linear<2, 8>, ReLU, Linear<8, 2>>;

int main() {
  Model model{manual_seed(42)};
  auto x = Batch<Shape<2>>::from_host({0.f, 1.f, 1.f, 0.f});
  Labels<> y(2);
  y(0) = 1;
  y(1) = 0;
  CrossEntropyLoss loss_fn;
  const float loss = loss_fn(model.forward(x), y);
  model.zero_grad();
  model.backward(loss_fn.grad());
  std::printf("parameters: %zu, loss: %.4f\n", Model::parameter_count, static_cast<double>(loss));
  return Model::parameter_count == 42 && loss > 0.f ? 0 : 1;
}
