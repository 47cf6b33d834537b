// Default initialisation draws PyTorch's numbers: a model built right after manual_seed(s) holds
// exactly the parameters torch.nn gives the same model right after torch.manual_seed(s)
// (fixtures from tests/fixtures/make_init_fixtures.py).
#include <catch2/catch.hpp>

#include <ctnn/ctnn.hpp>

#include "fixture.hpp"
#include "seed_models.hpp"

using namespace ctnn;

namespace {
using ctnn_test::TinyVGG;

template <class Model>
void check_equal_to_fixture(Model& model, const std::string& fixture) {
  const auto expected = ctnn_test::load_fixture(fixture).parameters();
  const auto actual = model.state_dict();
  REQUIRE(actual.size() == expected.size());
  for (std::size_t t = 0; t < actual.size(); ++t) {
    INFO(actual[t].name);
    REQUIRE(actual[t].name == expected[t].name);
    REQUIRE(actual[t].values.size() == expected[t].values.size());
    for (std::size_t i = 0; i < actual[t].values.size(); ++i) {
      INFO("index " << i);
      REQUIRE(static_cast<double>(actual[t].values[i]) == expected[t].values[i]);  // bit for bit
    }
  }
}
}  // namespace

TEST_CASE("TinyVGG seeded 42 starts from PyTorch's seed-42 weights, bit for bit (float)") {
  TinyVGG<backend::eigen> model{manual_seed(42)};
  check_equal_to_fixture(model, "init_tinyvgg_seed42");
}

TEST_CASE("a double model draws 53-bit numbers as PyTorch's float64 uniform_ does") {
  Sequential<backend::reference, Input<5>, Linear<5, 3>> model{manual_seed(7)};
  // One-layer Sequential: names are "0.weight", PyTorch's bare Linear says "weight".
  auto state = model.state_dict();
  const auto expected = ctnn_test::load_fixture("init_linear_float64_seed7").parameters();
  REQUIRE(state.size() == 2);
  CHECK(state[0].values == expected[0].values);
  CHECK(state[1].values == expected[1].values);
}

TEST_CASE("manual_seed resets PyTorch's engine too: two models from the same seed are equal") {
  TinyVGG<backend::eigen> a{manual_seed(3)}, b{manual_seed(3)};
  CHECK(a.state_dict()[0].values == b.state_dict()[0].values);
  TinyVGG<backend::eigen> c{default_generator()};  // continues the stream: different numbers
  CHECK(c.state_dict()[0].values != b.state_dict()[0].values);
}
