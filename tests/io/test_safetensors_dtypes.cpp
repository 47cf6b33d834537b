// Dtypes beyond F32/F64 and buffers in checkpoints: a file written on PyTorch's side
// (tests/fixtures/batchnorm_torch.safetensors, make_buffer_fixtures.py) holding F16, BF16, F32, F64 and
// an I64 num_batches_tracked loads into both backends with exactly PyTorch's values, gives PyTorch's
// outputs and, after two training forwards, PyTorch's running statistics; ctnn's own files save int64
// buffers as I64 and round-trip bit for bit; hand-made files check every integer dtype, F16's special
// values, U64 overflow, F8 refusal, and load's strict/prefix options.
#include <catch2/catch.hpp>
#include <ctnn/ctnn.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "buffered_layer.hpp"
#include "fixture.hpp"
#include "temp_dir.hpp"

using namespace ctnn;
using Catch::Contains;
namespace fs = std::filesystem;

namespace {

template <Backend B>
using TorchNet = Sequential<B, Input<4>, Linear<4, 3>, ctnn_test::TrackedNorm1d<3>>;

const fs::path torch_file = fs::path(CTNN_FIXTURES_DIR) / "batchnorm_torch.safetensors";

std::string le64(std::uint64_t v) {
  std::string s;
  for (int i = 0; i < 8; ++i) s += static_cast<char>((v >> (8 * i)) & 0xFF);
  return s;
}
// One tensor "t" of the given dtype and shape holding `data`.
std::string one_tensor(const std::string& dtype, const std::string& shape, const std::string& data) {
  std::string h = cat("{\"t\":{\"dtype\":\"", dtype, "\",\"shape\":", shape, ",\"data_offsets\":[0,", data.size(), "]}}");
  h.append((8 - h.size() % 8) % 8, ' ');
  return le64(h.size()) + h + data;
}
std::string bytes(std::initializer_list<int> values) {
  std::string s;
  for (int v : values) s += static_cast<char>(static_cast<unsigned char>(v));
  return s;
}

}  // namespace

TEMPLATE_TEST_CASE("PyTorch's F16/BF16/F32/F64/I64 checkpoint loads with PyTorch's values and outputs",
                   "[io][safetensors][dtypes][parity]", backend::eigen, backend::reference) {
  using B = TestType;
  using T = scalar_t<B>;
  const auto f = ctnn_test::load_fixture("batchnorm_torch");
  const auto header = safetensors::read_header(torch_file);
  std::vector<std::string> dtypes;
  for (const auto& t : header.tensors) dtypes.push_back(t.dtype);
  CHECK(dtypes == std::vector<std::string>{"F16", "BF16", "F32", "F64", "BF16", "F16", "I64"});

  TorchNet<B> model{manual_seed(0)};
  CHECK(load(model, torch_file).empty());
  const auto state = model.state_dict();
  const auto expected = f.parameters();
  REQUIRE(state.size() == expected.size());
  for (std::size_t i = 0; i < state.size(); ++i) {
    INFO(state[i].name);
    CHECK(state[i].name == expected[i].name);
    CHECK(state[i].shape == expected[i].shape);
    if (state[i].is_int64) {
      CHECK(state[i].int64_values == std::vector<std::int64_t>{3});
      CHECK(expected[i].values == std::vector<double>{3});
    } else {
      // F16 and BF16 widen exactly; F64 rounds to T as static_cast does.
      for (std::size_t j = 0; j < state[i].values.size(); ++j) CHECK(state[i].values[j] == static_cast<T>(expected[i].values[j]));
    }
  }

  model.eval();
  const auto& input = f.at("input");
  const std::vector<T> x(input.values.begin(), input.values.end());
  const auto y = model.forward(Batch<Shape<4>, B>::from_host(std::span<const T>(x))).to_host();
  const auto& want = f.at("output").values;
  REQUIRE(y.size() == want.size());
  const double tolerance = std::is_same_v<T, float> ? 1e-5 : 1e-12;
  for (std::size_t i = 0; i < y.size(); ++i) CHECK(static_cast<double>(y[i]) == Approx(want[i]).margin(tolerance));

  // Two training forwards update the buffers as BatchNorm1d's did in PyTorch.
  model.train();
  for (const char* name : {"train_input_0", "train_input_1"}) {
    const auto& t = f.at(name);
    const std::vector<T> xi(t.values.begin(), t.values.end());
    model.forward(Batch<Shape<4>, B>::from_host(std::span<const T>(xi)));
  }
  const auto after = model.state_dict();
  for (const char* name : {"1.running_mean", "1.running_var"}) {
    const auto& e = f.at(std::string("after.") + name).values;
    const auto it = std::find_if(after.begin(), after.end(), [&](const auto& t) { return t.name == name; });
    REQUIRE(it != after.end());
    for (std::size_t j = 0; j < e.size(); ++j) CHECK(static_cast<double>(it->values[j]) == Approx(e[j]).margin(tolerance));
  }
  CHECK(after.back().int64_values == std::vector<std::int64_t>{static_cast<std::int64_t>(f.scalar("after.1.num_batches_tracked"))});
}

TEST_CASE("int64 buffers are saved as I64 and round-trip bit for bit", "[io][safetensors][dtypes]") {
  ctnn_test::TempDir dir;
  TorchNet<backend::eigen> model{manual_seed(0)};
  load(model, torch_file);
  auto big = model.state_dict();
  big.back().int64_values = {std::int64_t{1} << 53 | 1};  // above float's and double's exact integers
  model.load_state_dict(big);
  save(model, dir / "model.safetensors");
  const auto header = safetensors::read_header(dir / "model.safetensors");
  CHECK(header.tensors.back().name == "1.num_batches_tracked");
  CHECK(header.tensors.back().dtype == "I64");
  CHECK(header.tensors.back().shape.empty());
  CHECK(header.tensors.front().dtype == "F32");
  TorchNet<backend::reference> loaded{manual_seed(1)};
  load(loaded, dir / "model.safetensors");
  CHECK(loaded.state_dict().back().int64_values == big.back().int64_values);
  const auto raw = load_state_dict_file<float>(dir / "model.safetensors");
  for (std::size_t i = 0; i < raw.size(); ++i) {
    CHECK(raw[i].values == big[i].values);
    CHECK(raw[i].int64_values == big[i].int64_values);
  }
}

TEST_CASE("every integer dtype and BOOL read as int64; F16 special values; U64 overflow; F8 refused",
          "[io][safetensors][dtypes]") {
  auto ints = [](const std::string& file) {
    const auto s = load_state_dict_bytes<float>(file, "x.safetensors");
    REQUIRE(s.size() == 1);
    CHECK(s[0].is_int64);
    return s[0].int64_values;
  };
  using V = std::vector<std::int64_t>;
  CHECK(ints(one_tensor("BOOL", "[3]", bytes({0, 1, 2}))) == V{0, 1, 1});
  CHECK(ints(one_tensor("U8", "[2]", bytes({0xFF, 7}))) == V{255, 7});
  CHECK(ints(one_tensor("I8", "[2]", bytes({0xFF, 0x80}))) == V{-1, -128});
  CHECK(ints(one_tensor("U16", "[1]", bytes({0xFF, 0xFF}))) == V{65535});
  CHECK(ints(one_tensor("I16", "[1]", bytes({0x00, 0x80}))) == V{-32768});
  CHECK(ints(one_tensor("I32", "[2]", bytes({0xFE, 0xFF, 0xFF, 0xFF, 1, 0, 0, 0}))) == V{-2, 1});
  CHECK(ints(one_tensor("U32", "[1]", bytes({0xFF, 0xFF, 0xFF, 0xFF}))) == V{4294967295});
  CHECK(ints(one_tensor("I64", "[1]", bytes({0, 0, 0, 0, 0, 0, 0, 0x80}))) == V{std::numeric_limits<std::int64_t>::min()});
  CHECK(ints(one_tensor("U64", "[1]", bytes({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F}))) ==
        V{std::numeric_limits<std::int64_t>::max()});
  CHECK_THROWS_WITH(load_state_dict_bytes<float>(one_tensor("U64", "[1]", bytes({0, 0, 0, 0, 0, 0, 0, 0x80})), "x.safetensors"),
                    Contains("x.safetensors") && Contains("tensor 't' (U64) holds a value above 2^63 - 1"));
  CHECK_THROWS_WITH(load_state_dict_bytes<float>(one_tensor("F8_E4M3", "[1]", bytes({1})), "x.safetensors"),
                    Contains("tensor 't' has dtype F8_E4M3; ctnn loads F16, BF16, F32, F64, BOOL and integer tensors"));

  // F16: 1, -2, the smallest subnormal 2^-24, the largest normal 65504, -0, inf, NaN; BF16: 1, -inf.
  const auto h = load_state_dict_bytes<double>(
      one_tensor("F16", "[7]", bytes({0x00, 0x3C, 0x00, 0xC0, 0x01, 0x00, 0xFF, 0x7B, 0x00, 0x80, 0x00, 0x7C, 0x00, 0x7E})),
      "x.safetensors")[0].values;
  CHECK(h[0] == 1.0);
  CHECK(h[1] == -2.0);
  CHECK(h[2] == std::ldexp(1.0, -24));
  CHECK(h[3] == 65504.0);
  CHECK((h[4] == 0.0 && std::signbit(h[4])));
  CHECK(h[5] == std::numeric_limits<double>::infinity());
  CHECK(std::isnan(h[6]));
  const auto bf = load_state_dict_bytes<float>(one_tensor("BF16", "[2]", bytes({0x80, 0x3F, 0x80, 0xFF})), "x")[0].values;
  CHECK(bf[0] == 1.0f);
  CHECK(bf[1] == -std::numeric_limits<float>::infinity());
}

TEST_CASE("load takes load_state_dict's options: strict = false and prefix", "[io][safetensors][dtypes]") {
  ctnn_test::TempDir dir;
  using Bigger = Sequential<backend::eigen, Input<4>, Named<"features", Block<Linear<4, 3>, ctnn_test::TrackedNorm1d<3>>>,
                            Named<"head", Block<Linear<3, 2>>>>;
  Bigger big{manual_seed(3)};
  save(big, dir / "big.safetensors");
  TorchNet<backend::eigen> part{manual_seed(4)};
  CHECK_THROWS_WITH(load(part, dir / "big.safetensors"),
                    Contains((dir / "big.safetensors").string()) && Contains("missing tensor '0.weight'") &&
                        Contains("unexpected tensor 'head.0.weight'"));
  CHECK(load(part, dir / "big.safetensors", {.prefix = "features."}).empty());
  const auto keys = load(part, dir / "big.safetensors", {.strict = false});
  CHECK(keys.missing_keys.size() == 7);
  CHECK(keys.unexpected_keys.size() == 9);
}
