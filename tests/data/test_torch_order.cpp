// LoaderOptions::torch_order: the batches PyTorch's DataLoader gives for the same seed. Expected
// orders printed by torch 1.13 (Debian's python3-torch) for:
//   torch.manual_seed(42)
//   train = DataLoader(range(1000), batch_size=32, shuffle=True)
//   test = DataLoader(range(100), batch_size=32, shuffle=False)
//   for epoch in range(3): order = [int(i) for b in train for i in b]; print(order[:12]); [_ for _ in test]
#include <catch2/catch.hpp>

#include <ctnn/ctnn.hpp>

#include <numeric>
#include <vector>

using namespace ctnn;

TEST_CASE("torch_order reproduces torch.utils.data.DataLoader's shuffles after manual_seed") {
  const std::vector<std::vector<std::int64_t>> expected = {
      {88, 494, 773, 894, 370, 750, 522, 119, 571, 348, 414, 673},
      {696, 207, 547, 882, 534, 583, 294, 709, 559, 100, 366, 652},
      {24, 930, 700, 456, 560, 323, 622, 159, 552, 257, 773, 940}};
  std::vector<float> x(1000);
  std::vector<std::int64_t> y(1000);
  std::iota(x.begin(), x.end(), 0.0f);
  std::iota(y.begin(), y.end(), 0);
  const data::InMemoryDataset<Shape<1>, std::int64_t> numbers(x, y);
  const data::InMemoryDataset<Shape<1>, std::int64_t> hundred(std::vector<float>(100, 0.0f), std::vector<std::int64_t>(100, 0));

  Generator& g = manual_seed(42);
  data::DataLoader train(numbers, {.batch_size = 32, .shuffle = true, .torch_order = true}, g);
  data::DataLoader test(hundred, {.batch_size = 32, .shuffle = false, .torch_order = true}, g);
  for (std::size_t epoch = 0; epoch < 3; ++epoch) {
    std::vector<std::int64_t> order;
    std::size_t seen = 0;
    for (const auto& [bx, by] : train) {
      (void)bx;
      for (std::size_t i = 0; i < by.batch_size(); ++i) order.push_back(by(i));
      seen += by.batch_size();
    }
    CHECK(seen == 1000);
    for (const auto& batch : test) (void)batch;  // draws its base seed, as PyTorch's test loop does
    INFO("epoch " << epoch);
    CHECK(std::vector<std::int64_t>(order.begin(), order.begin() + 12) == expected[epoch]);
  }
}

TEST_CASE("without torch_order the loader keeps its own forked stream") {
  std::vector<float> x(64);
  std::vector<std::int64_t> y(64);
  std::iota(y.begin(), y.end(), 0);
  const data::InMemoryDataset<Shape<1>, std::int64_t> ds(x, y);
  data::DataLoader a(ds, {.batch_size = 64, .shuffle = true}, manual_seed(1));
  data::DataLoader b(ds, {.batch_size = 64, .shuffle = true}, manual_seed(1));
  default_generator().torch_random64();  // other users of the generator do not change the loaders
  std::vector<std::int64_t> first, second;
  for (const auto& [bx, by] : a) first.assign(by.data(), by.data() + by.batch_size());
  for (const auto& [bx, by] : b) second.assign(by.data(), by.data() + by.batch_size());
  CHECK(first == second);
}
