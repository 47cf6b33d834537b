// Seed tutorial 002, part 1 (PyTorch workflow): a straight line y = 0.7 x + 0.3 learned by
// LinearRegressionModelV2 (one Linear(1, 1)) with L1Loss and SGD(lr=0.01), full batch, 1000 epochs;
// prints the loss every 100 epochs, the learned parameters, saves/reloads the model and draws the
// loss curves.
//   ./linear_regression [--epochs 1000] [--out DIR]
#include <ctnn/ctnn.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>

using namespace ctnn;

using LinearRegressionModelV2 = Sequential<backend::eigen, Input<1>, Named<"linear_layer", Linear<1, 1>>>;

int main(int argc, char** argv) try {
  std::size_t epochs = 1000;
  std::filesystem::path out = "linear_regression_out";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--epochs") epochs = std::stoul(argv[i + 1]);
    else if (std::string(argv[i]) == "--out") out = argv[i + 1];
  }
  std::filesystem::create_directories(out);

  // X = arange(0, 1, 0.02), y = 0.7 X + 0.3; the first 80 % train, the last 20 % test.
  const auto line = data::make_linear_regression({.weight = 0.7, .bias = 0.3});
  const auto split = data::train_test_split(line, 0.2, default_generator(), /*shuffle=*/false);
  data::DataLoader train_loader(split.train, {.batch_size = split.train.size(), .prefetch = false});
  data::DataLoader test_loader(split.test, {.batch_size = split.test.size(), .prefetch = false});
  std::printf("%zu training and %zu test samples\n", split.train.size(), split.test.size());

  LinearRegressionModelV2 model_1{manual_seed(42)};
  for (const auto& t : model_1.state_dict()) std::printf("%s: %.4f\n", t.name.c_str(), static_cast<double>(t.values[0]));

  L1Loss loss_fn;
  optim::SGD optimizer{model_1.parameters(), {.lr = 0.01f}};
  std::vector<double> train_curve, test_curve;
  for (std::size_t epoch = 0; epoch < epochs; ++epoch) {
    model_1.train();
    double loss = 0;
    for (const auto& [x, y] : train_loader) {
      loss = loss_fn(model_1.forward(x), y);
      optimizer.zero_grad();
      model_1.backward(loss_fn.grad());
      optimizer.step();
    }
    model_1.eval();
    double test_loss = 0;
    for (const auto& [x, y] : test_loader) test_loss = loss_fn(model_1.forward(x), y);
    if (epoch % 10 == 0) {
      train_curve.push_back(loss);
      test_curve.push_back(test_loss);
    }
    if (epoch % 100 == 0) std::printf("Epoch: %zu | Train loss: %.5f | Test loss: %.5f\n", epoch, loss, test_loss);
  }

  const auto state = model_1.state_dict();
  const double weight = state[0].values[0], bias = state[1].values[0];
  std::printf("The model learned: weight %.4f, bias %.4f (the line: weight 0.7, bias 0.3)\n", weight, bias);

  const auto path = out / "01_pytorch_workflow_model_1.safetensors";
  save(model_1, path);
  LinearRegressionModelV2 loaded{manual_seed(0)};
  load(loaded, path);
  bool same = true;
  for (const auto& [x, y] : test_loader) {
    (void)y;
    const auto a = model_1.forward(x).to_host();
    const auto b = loaded.forward(x).to_host();
    same = same && a == b;
  }
  std::printf("Saved to %s; the reloaded model's test predictions are %s\n", path.string().c_str(),
              same ? "identical" : "DIFFERENT");
  viz::Canvas canvas(560, 420);
  viz::draw_curves(canvas, 0, 0, 560, 420, "Training and test loss curves", "Epochs / 10",
                   {{"Train loss", train_curve}, {"Test loss", test_curve}});
  viz::write_png(out / "loss_curves.png", canvas);
  const bool recovered = std::abs(weight - 0.7) < 0.01 && std::abs(bias - 0.3) < 0.01;
  return recovered && same ? 0 : 1;
} catch (const std::exception& e) {
  std::cerr << e.what() << "\n";
  return 1;
}
