// Checkpoints in the safetensors format: save -> load round trips (bit-identical outputs, as the seed
// notebook's torch.isclose check after torch.save/torch.load), a file written by PyTorch's side
// (tests/fixtures/tinyvgg_torch.safetensors, from make_optim_fixtures.py) reproducing PyTorch's logits,
// every kind of corrupt file, checkpoints of another architecture, and atomic writes (a save that
// fails midway leaves the old file byte for byte).
//
// Run with -s to see the largest error against PyTorch's logits.
#include <algorithm>
#include <bit>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <ctnn/ctnn.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "fixture.hpp"
#include "seed_models.hpp"
#include "temp_dir.hpp"

using namespace ctnn;
using Catch::Contains;
namespace fs = std::filesystem;

namespace {

// The seed notebook's FashionMNISTModelV2 (TinyVGG) and FashionMNISTModelV0 (tests/support/seed_models.hpp).
using ctnn_test::FashionMNISTModelV0;
using ctnn_test::TinyVGG;
// A tiny model whose checkpoint is easy to write by hand: "0.weight" [2, 2], "0.bias" [2].
template <Backend B>
using Tiny = Sequential<B, Input<2>, Linear<2, 2>>;

using ctnn_test::TempDir;

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}
void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

std::string le64(std::uint64_t v) {
  std::string s;
  for (int i = 0; i < 8; ++i) s += static_cast<char>((v >> (8 * i)) & 0xFF);
  return s;
}
std::string f32_bytes(std::initializer_list<float> values) {
  std::string s;
  for (float v : values) {
    const auto u = std::bit_cast<std::uint32_t>(v);
    for (int i = 0; i < 4; ++i) s += static_cast<char>((u >> (8 * i)) & 0xFF);
  }
  return s;
}
// A safetensors file: header length, header, data.
std::string safetensors_file(const std::string& header, const std::string& data) { return le64(header.size()) + header + data; }

template <class Model>
std::vector<std::vector<typename Model::scalar>> values_of(Model& model) {
  std::vector<std::vector<typename Model::scalar>> out;
  for (const auto& t : model.state_dict()) out.push_back(t.values);
  return out;
}

// Expects loading `file` into `model` to throw a ctnn::error whose message names the file and
// contains every one of `parts`, and the model to be left exactly as it was.
template <class Model>
void expect_load_error(Model& model, const fs::path& file, std::initializer_list<std::string> parts) {
  const auto before = values_of(model);
  try {
    load(model, file);
    FAIL("loading " << file << " did not throw");
  } catch (const ctnn::error& e) {
    const std::string message = e.what();
    INFO("message: " << message);
    CHECK_THAT(message, Contains(file.string()));
    for (const auto& part : parts) CHECK_THAT(message, Contains(part));
  }
  CHECK(values_of(model) == before);
}

template <Backend B>
Batch<Shape<1, 28, 28>, B> random_images(std::size_t n, std::uint64_t seed) {
  Batch<Shape<1, 28, 28>, B> x(n);
  Generator g{seed};
  backend::ops<B>::fill_uniform(x.size(), x.data(), 0.0, 1.0, g);
  return x;
}

}  // namespace

// ---- round trips --------------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("save -> load round trip gives bit-identical outputs (TinyVGG)", "[io][safetensors]",
                   backend::reference, backend::eigen) {
  using B = TestType;
  TempDir dir;
  const fs::path path = dir / "tinyvgg.safetensors";
  TinyVGG<B> model{manual_seed(42)};
  model.eval();
  const auto x = random_images<B>(3, 11);
  const auto expected = model.forward(x).to_host();
  save(model, path);

  TinyVGG<B> loaded{manual_seed(7)};  // other weights until loaded
  loaded.eval();
  CHECK(loaded.forward(x).to_host() != expected);
  load(loaded, path);
  CHECK(loaded.forward(x).to_host() == expected);  // bit for bit
  CHECK(values_of(loaded) == values_of(model));

  const auto header = safetensors::read_header(path);
  const std::string dtype = std::is_same_v<scalar_t<B>, float> ? "F32" : "F64";
  REQUIRE(header.tensors.size() == 10);
  CHECK(header.tensors[0].name == "conv_block_1.0.weight");
  CHECK(header.tensors[0].shape == std::vector<std::size_t>{10, 1, 3, 3});
  CHECK(header.tensors[9].name == "classifier.1.bias");
  CHECK(header.tensors[8].shape == std::vector<std::size_t>{10, 490});
  for (const auto& t : header.tensors) CHECK(t.dtype == dtype);
  CHECK(header.data_start % 8 == 0);  // the header is padded to 8 bytes
  CHECK(header.data_start + header.tensors.back().end == fs::file_size(path));
  CHECK(dir.files() == std::vector<std::string>{"tinyvgg.safetensors"});  // no temporary file left
}

TEST_CASE("F32 and F64 checkpoints load into both backends", "[io][safetensors]") {
  TempDir dir;
  TinyVGG<backend::reference> reference_model{manual_seed(1)};
  TinyVGG<backend::eigen> eigen_model{manual_seed(2)};
  save(reference_model, dir / "f64.safetensors");
  save(eigen_model, dir / "f32.safetensors");

  TinyVGG<backend::eigen> from_f64{manual_seed(3)};
  load(from_f64, dir / "f64.safetensors");
  const auto doubles = values_of(reference_model);
  const auto floats = values_of(from_f64);
  for (std::size_t i = 0; i < doubles.size(); ++i)
    for (std::size_t j = 0; j < doubles[i].size(); ++j) CHECK(floats[i][j] == static_cast<float>(doubles[i][j]));

  TinyVGG<backend::reference> from_f32{manual_seed(4)};
  load(from_f32, dir / "f32.safetensors");
  const auto exact = values_of(eigen_model);
  const auto widened = values_of(from_f32);
  for (std::size_t i = 0; i < exact.size(); ++i)
    for (std::size_t j = 0; j < exact[i].size(); ++j) CHECK(widened[i][j] == static_cast<double>(exact[i][j]));

  // Raw access: any state_dict, read back as float or double.
  const auto state = load_state_dict_file<float>(dir / "f32.safetensors");
  REQUIRE(state.size() == 10);
  CHECK(state[0].name == "conv_block_1.0.weight");
  CHECK(state[0].values == exact[0]);
}

TEST_CASE("save_state_dict writes names with JSON escapes and metadata", "[io][safetensors]") {
  TempDir dir;
  const fs::path path = dir / "raw.safetensors";
  StateDict<double> state = {
      {"plain", {2, 3}, {1, 2, 3, 4, 5, 6}},
      {"quote\" backslash\\ newline\n tab\t bell\x07 \xc3\xa9", {1}, {-0.5}},
      {"scalar", {}, {42}},
      {"empty", {0, 4}, {}},
  };
  save_state_dict(state, path, {{"format", "pt"}, {"note", "\"quoted\"\n"}});
  const auto loaded = load_state_dict_file(path);
  REQUIRE(loaded.size() == state.size());
  for (std::size_t i = 0; i < state.size(); ++i) {
    CHECK(loaded[i].name == state[i].name);
    CHECK(loaded[i].shape == state[i].shape);
    CHECK(loaded[i].values == state[i].values);
  }
  const auto header = safetensors::read_header(path);
  CHECK(header.metadata == safetensors::Metadata{{"format", "pt"}, {"note", "\"quoted\"\n"}});

  // Saving nothing gives a valid file of no tensors.
  save_state_dict(StateDict<float>{}, dir / "nothing.safetensors");
  CHECK(load_state_dict_file(dir / "nothing.safetensors").empty());

  CHECK_THROWS_WITH(save_state_dict(StateDict<float>{{"a", {2}, {1}}}, dir / "bad.safetensors"),
                    Contains("tensor 'a' of shape [2] holds 1 values"));
  CHECK_THROWS_WITH(save_state_dict(StateDict<float>{{"a", {1}, {1}}, {"a", {1}, {2}}}, dir / "bad.safetensors"),
                    Contains("'a' appears twice"));
  CHECK_FALSE(fs::exists(dir / "bad.safetensors"));
}

TEST_CASE("the reader takes any JSON whitespace, escapes and key order", "[io][safetensors]") {
  TempDir dir;
  const fs::path path = dir / "hand.safetensors";
  // Surrogate pair (U+1F600), \u00e9, \/ and whitespace everywhere; metadata last; keys in any order.
  const std::string header =
      "{\n  \"w\\u00e9\\ud83d\\ude00\\/x\" : {\"shape\" : [ 2 ], \"data_offsets\":[0,8],\"dtype\":\"F32\"} ,\r\n"
      "\t\"b\": {\"dtype\": \"F32\", \"shape\": [], \"data_offsets\": [8, 12]},"
      " \"__metadata__\": {\"k\": \"v\\\\\"}}    ";
  write_bytes(path, safetensors_file(header, f32_bytes({1.5f, -2.0f, 0.25f})));
  const auto state = load_state_dict_file<float>(path);
  REQUIRE(state.size() == 2);
  CHECK(state[0].name == "w\xc3\xa9\xf0\x9f\x98\x80/x");
  CHECK(state[0].values == std::vector<float>{1.5f, -2.0f});
  CHECK(state[1].shape.empty());
  CHECK(state[1].values == std::vector<float>{0.25f});
  CHECK(safetensors::read_header(path).metadata.at("k") == "v\\");
}

// ---- PyTorch's file ---------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("a TinyVGG checkpoint written on PyTorch's side reproduces PyTorch's logits", "[io][safetensors][parity]",
                   backend::reference, backend::eigen) {
  using B = TestType;
  using T = scalar_t<B>;
  const fs::path path = fs::path(CTNN_FIXTURES_DIR) / "tinyvgg_torch.safetensors";
  const auto fixture = ctnn_test::load_fixture("tinyvgg_torch");
  const auto header = safetensors::read_header(path);
  CHECK(header.metadata.at("format") == "pt");
  CHECK(header.tensors.size() == 10);

  TinyVGG<B> model{manual_seed(0)};
  model.eval();
  load(model, path);
  const auto& input = fixture.at("input");
  std::vector<T> host(input.values.begin(), input.values.end());
  const auto x = Batch<Shape<1, 28, 28>, B>::from_host(std::span<const T>(host));
  const auto logits = model.forward(x).to_host();
  const auto& expected = fixture.at("logits");
  REQUIRE(logits.size() == expected.values.size());
  double scale = 0, worst = 0;
  for (double e : expected.values) scale = std::max(scale, std::abs(e));
  for (std::size_t i = 0; i < logits.size(); ++i)
    worst = std::max(worst, std::abs(static_cast<double>(logits[i]) - expected.values[i]) / scale);
  const double tolerance = std::is_same_v<T, float> ? 1e-5 : 1e-10;
  CHECK(worst <= tolerance);
  SUCCEED("tinyvgg_torch.safetensors [" << B::name << "]: largest logits error " << worst << " of the scale " << scale);
}

// ---- corrupt files ------------------------------------------------------------------------------------

TEST_CASE("corrupt files are rejected with the path and the problem, and change nothing", "[io][safetensors][errors]") {
  TempDir dir;
  TinyVGG<backend::eigen> model{manual_seed(42)};
  auto file = [&](const std::string& name, const std::string& bytes) {
    const fs::path p = dir / name;
    write_bytes(p, bytes);
    return p;
  };
  const std::string w = "{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}";

  SECTION("missing file") { expect_load_error(model, dir / "missing.safetensors", {"no such file"}); }
  SECTION("a directory") { expect_load_error(model, dir.path(), {"is a directory"}); }
  SECTION("shorter than 8 bytes") {
    expect_load_error(model, file("short.safetensors", std::string("\x05\0\0\0", 4)), {"4 bytes long", "too short"});
    expect_load_error(model, file("empty.safetensors", ""), {"0 bytes long"});
  }
  SECTION("header length beyond the file size") {
    expect_load_error(model, file("long_header.safetensors", le64(1000) + "{}"),
                      {"header length 1000 is beyond the file size (10 bytes)"});
    expect_load_error(model, file("huge_header.safetensors", le64(~std::uint64_t{0}) + "{}"), {"beyond the file size"});
  }
  SECTION("header not valid JSON") {
    const std::vector<std::string> headers = {
        "",                                                                      // nothing
        "[1, 2]",                                                                // not an object
        "{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}",  // unterminated
        "{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},}",  // trailing comma
        "{\"w\": {\"dtype\": \"F32\", \"shape\": [2.0], \"data_offsets\": [0, 8]}}",  // a float
        "{\"w\": {\"dtype\": \"F32\", \"shape\": [-2], \"data_offsets\": [0, 8]}}",   // negative
        "{\"w\": {\"dtype\": true, \"shape\": [2], \"data_offsets\": [0, 8]}}",       // a boolean
        "{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8], \"x\": 1}}",  // unknown key
        "{\"w\": {\"dtype\": \"F32\", \"shape\": [2]}}",                                    // no offsets
        "{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 4, 8]}}",       // three offsets
        "{\"w\\q\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}",       // bad escape
        "{\"w\\ud800\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}",   // lone surrogate
        "{\"w\": {\"dtype\": \"F32\", \"shape\": [02], \"data_offsets\": [0, 8]}}",         // leading zero
        "{\"__metadata__\": {\"k\": 1}}",                                                     // metadata not a string
        w + " x",                                                                             // garbage after
        "{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}, \"w\": {}}",  // duplicate
    };
    for (std::size_t i = 0; i < headers.size(); ++i) {
      INFO("header: " << headers[i]);
      expect_load_error(model, file("json" + std::to_string(i) + ".safetensors", safetensors_file(headers[i], f32_bytes({1, 2}))),
                        {"the header is not valid safetensors JSON"});
    }
  }
  SECTION("data_offsets out of range") {
    expect_load_error(model, file("range.safetensors", safetensors_file(w, f32_bytes({1}))),
                      {"tensor 'w'", "data_offsets [0, 8] out of range", "4 bytes"});
  }
  SECTION("data_offsets reversed") {
    const std::string h = "{\"w\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [8, 0]}}";
    expect_load_error(model, file("reversed.safetensors", safetensors_file(h, f32_bytes({1, 2}))),
                      {"tensor 'w'", "end before they begin"});
  }
  SECTION("overlapping tensors") {
    const std::string h =
        "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
        " \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}";
    expect_load_error(model, file("overlap.safetensors", safetensors_file(h, f32_bytes({1, 2, 3}))),
                      {"tensor 'b' (data_offsets [4, 12]) overlaps tensor 'a' (data_offsets [0, 8])"});
  }
  SECTION("a gap or trailing bytes in the data section") {
    const std::string h =
        "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
        " \"b\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [8, 12]}}";
    expect_load_error(model, file("gap.safetensors", safetensors_file(h, f32_bytes({1, 2, 3}))), {"gap", "'b'"});
    expect_load_error(model, file("trailing.safetensors", safetensors_file(w, f32_bytes({1, 2, 3}))),
                      {"holds 12 bytes but the tensors cover only 8"});
  }
  SECTION("data_offsets not matching shape and dtype") {
    const std::string h = "{\"w\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}";
    expect_load_error(model, file("size.safetensors", safetensors_file(h, f32_bytes({1, 2}))),
                      {"tensor 'w' of shape [3] and dtype F32 needs 12 bytes", "span 8"});
  }
  SECTION("unknown dtype") {
    const std::string h = "{\"w\": {\"dtype\": \"F33\", \"shape\": [2], \"data_offsets\": [0, 8]}}";
    expect_load_error(model, file("dtype.safetensors", safetensors_file(h, f32_bytes({1, 2}))),
                      {"tensor 'w' has an unknown dtype 'F33'"});
  }
}

TEST_CASE("F16 and I64 tensors load into parameters only where the kinds agree", "[io][safetensors][errors]") {
  TempDir dir;
  Tiny<backend::eigen> model{manual_seed(1)};
  const std::string weight = "\"0.weight\": {\"dtype\": \"F32\", \"shape\": [2, 2], \"data_offsets\": [0, 16]}";
  SECTION("F16 converts to the model's float") {
    const fs::path p = dir / "f16.safetensors";
    // 0x3C00 = 1.0 and 0xC000 = -2.0 in IEEE half precision.
    write_bytes(p, safetensors_file("{" + weight + ", \"0.bias\": {\"dtype\": \"F16\", \"shape\": [2], \"data_offsets\": [16, 20]}}",
                                    f32_bytes({1, 2, 3, 4}) + std::string("\x00\x3c\x00\xc0", 4)));
    load(model, p);
    CHECK(values_of(model) == std::vector<std::vector<float>>{{1, 2, 3, 4}, {1, -2}});
    CHECK(safetensors::read_header(p).tensors[1].dtype == "F16");
  }
  SECTION("I64 for a floating-point parameter is an error naming the tensor") {
    const fs::path p = dir / "i64.safetensors";
    write_bytes(p, safetensors_file("{" + weight + ", \"0.bias\": {\"dtype\": \"I64\", \"shape\": [2], \"data_offsets\": [16, 32]}}",
                                    f32_bytes({1, 2, 3, 4, 5, 6, 7, 8})));
    expect_load_error(model, p, {"tensor '0.bias' is an int64 tensor but the model's is a floating-point tensor"});
  }
  SECTION("a good file by hand loads") {
    const fs::path p = dir / "good.safetensors";
    write_bytes(p, safetensors_file("{" + weight + ", \"0.bias\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [16, 24]}}",
                                    f32_bytes({1, 2, 3, 4, 5, 6})));
    load(model, p);
    CHECK(values_of(model) == std::vector<std::vector<float>>{{1, 2, 3, 4}, {5, 6}});
  }
}

// ---- another architecture ---------------------------------------------------------------------------

TEST_CASE("a checkpoint of another architecture names the tensor, both shapes and the file", "[io][safetensors][errors]") {
  TempDir dir;
  SECTION("V0 into TinyVGG: the first missing tensor") {
    FashionMNISTModelV0<backend::eigen> v0{manual_seed(1)};
    save(v0, dir / "v0.safetensors");
    TinyVGG<backend::eigen> model{manual_seed(42)};
    expect_load_error(model, dir / "v0.safetensors", {"missing tensor 'conv_block_1.0.weight' of shape [10, 1, 3, 3]"});
  }
  SECTION("a shape mismatch") {
    Sequential<backend::eigen, Input<4>, Linear<4, 8>> saved{manual_seed(1)};
    save(saved, dir / "linear.safetensors");
    Sequential<backend::eigen, Input<4>, Linear<4, 9>> model{manual_seed(2)};
    expect_load_error(model, dir / "linear.safetensors", {"tensor '0.weight' has shape [8, 4]", "expects [9, 4]"});
  }
  SECTION("an unexpected tensor") {
    Sequential<backend::eigen, Input<4>, Linear<4, 8>, ReLU, Linear<8, 3>> saved{manual_seed(1)};
    save(saved, dir / "two.safetensors");
    Sequential<backend::eigen, Input<4>, Linear<4, 8>> model{manual_seed(2)};
    expect_load_error(model, dir / "two.safetensors", {"unexpected tensor '2.weight'"});
  }
}

// ---- atomic writes ------------------------------------------------------------------------------------

namespace {
struct simulated_crash : std::runtime_error {
  simulated_crash() : std::runtime_error("simulated crash in the middle of a save") {}
};
fs::path crashed_temporary;
void crash_midway(const fs::path& temporary) {
  crashed_temporary = temporary;
  REQUIRE(fs::exists(temporary));  // half of the new file is on disk
  throw simulated_crash();
}
struct HookGuard {
  explicit HookGuard(void (*hook)(const fs::path&)) { io::detail::after_partial_write_hook = hook; }
  ~HookGuard() { io::detail::after_partial_write_hook = nullptr; }
};
}  // namespace

TEST_CASE("a save that fails midway leaves the old file intact and no temporary file", "[io][safetensors][atomic]") {
  TempDir dir;
  const fs::path path = dir / "model.safetensors";
  TinyVGG<backend::eigen> old_model{manual_seed(1)}, new_model{manual_seed(2)};
  save(old_model, path);
  const std::string old_bytes = read_bytes(path);

  {
    HookGuard guard{crash_midway};
    CHECK_THROWS_AS(save(new_model, path), simulated_crash);
  }
  CHECK(crashed_temporary.parent_path() == path.parent_path());  // the temporary file is in the same directory
  CHECK_THAT(crashed_temporary.filename().string(), Contains("model.safetensors.tmp-"));
  CHECK_FALSE(fs::exists(crashed_temporary));
  CHECK(read_bytes(path) == old_bytes);
  CHECK(dir.files() == std::vector<std::string>{"model.safetensors"});

  TinyVGG<backend::eigen> check{manual_seed(3)};
  load(check, path);
  CHECK(values_of(check) == values_of(old_model));

  // Without the crash the same save replaces the file.
  save(new_model, path);
  CHECK(read_bytes(path) != old_bytes);
  load(check, path);
  CHECK(values_of(check) == values_of(new_model));
  CHECK(dir.files() == std::vector<std::string>{"model.safetensors"});
}

TEST_CASE("a save that cannot complete is an error naming the path", "[io][safetensors][atomic]") {
  TempDir dir;
  Tiny<backend::eigen> model{manual_seed(1)};
  SECTION("the directory does not exist") {
    const fs::path path = dir / "no_such_dir" / "model.safetensors";
    CHECK_THROWS_WITH(save(model, path), Contains(path.string()) && Contains("cannot save") &&
                                             Contains("the directory " + (dir / "no_such_dir").string() + " does not exist"));
    CHECK_FALSE(fs::exists(dir / "no_such_dir"));
  }
  SECTION("the target is a directory (refused before anything is written)") {
    const fs::path path = dir / "occupied";
    fs::create_directories(path / "inside");
    CHECK_THROWS_WITH(save(model, path), Contains(path.string()) &&
                                             Contains("is a directory, not a regular file; refusing to replace it"));
    CHECK(fs::is_directory(path / "inside"));
    CHECK(dir.files() == std::vector<std::string>{"occupied"});  // the temporary file is gone
  }
}
