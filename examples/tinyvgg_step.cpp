// The README's example: the seed tutorial's TinyVGG as a type, and one training step on random data.
#include <ctnn/ctnn.hpp>

#include <iostream>

using namespace ctnn;

template <class B = backend::eigen>
using TinyVGG = Sequential<B, Input<1, 28, 28>,
    Named<"conv_block_1", Block<Conv2d<1, 10, 3, 1, 1>, ReLU, Conv2d<10, 10, 3, 1, 1>, ReLU, MaxPool2d<2>>>,
    Named<"conv_block_2", Block<Conv2d<10, 10, 3, 1, 1>, ReLU, Conv2d<10, 10, 3, 1, 1>, ReLU, MaxPool2d<2>>>,
    Named<"classifier", Block<Flatten, Linear<10 * 7 * 7, 10>>>>;

int main() {
  TinyVGG<> model{manual_seed(42)};
  std::cout << model.repr("FashionMNISTModelV2") << "\n" << model.summary(32);

  Batch<Shape<1, 28, 28>> images(32);
  backend::ops<backend::eigen>::fill_uniform(images.size(), images.data(), 0.0, 1.0, default_generator());
  Labels<> labels(32);
  for (std::size_t i = 0; i < 32; ++i) labels(i) = static_cast<std::int64_t>(i % 10);

  CrossEntropyLoss loss_fn;
  const float lr = 0.1f;
  for (int step = 1; step <= 3; ++step) {
    const float loss = loss_fn(model.forward(images), labels);
    model.zero_grad();
    model.backward(loss_fn.grad(), InputGrad::skip);
    model.visit_parameters([&](Parameter<backend::eigen>& p) {  // plain SGD
      for (std::size_t i = 0; i < p.size(); ++i) p.value.data()[i] -= lr * p.grad.data()[i];
    });
    std::cout << "step " << step << " | loss: " << loss << "\n";
  }
}
