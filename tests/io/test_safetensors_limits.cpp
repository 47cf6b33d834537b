// Untrusted checkpoints: the safetensors reader's limits (tensor count, header size), its O(N log N)
// duplicate check on a valid file of 80 000 zero-size tensors, UTF-8 and nesting, shapes that overflow,
// and files that are not regular files (a FIFO, /dev/zero, a directory) refused instead of blocking
// or reading until memory runs out.
#include <catch2/catch.hpp>

#include <ctnn/ctnn.hpp>

#include <sys/stat.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "temp_dir.hpp"

using namespace ctnn;
using Catch::Contains;
namespace fs = std::filesystem;

namespace {

std::string le64(std::uint64_t v) {
  std::string s;
  for (int i = 0; i < 8; ++i) s += static_cast<char>((v >> (8 * i)) & 0xFF);
  return s;
}
// A whole safetensors file: header length, the header padded to 8 bytes, the data.
std::string file_of(std::string header, const std::string& data = {}) {
  header.append((8 - header.size() % 8) % 8, ' ');
  return le64(header.size()) + header + data;
}
// n zero-size F32 tensors "t0", "t1", ... of shape [0] (a valid file).
std::string zero_size_tensors(std::size_t n, const std::string& extra_name = {}) {
  std::string h = "{";
  for (std::size_t i = 0; i < n; ++i)
    h += cat(i ? "," : "", "\"t", i, "\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}");
  if (!extra_name.empty()) h += cat(",\"", extra_name, "\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}");
  return file_of(h + "}");
}
std::string one_tensor(const std::string& name, const std::string& dtype = "F32", const std::string& shape = "[1]",
                       std::size_t bytes = 4) {
  return file_of(cat("{\"", name, "\":{\"dtype\":\"", dtype, "\",\"shape\":", shape, ",\"data_offsets\":[0,", bytes, "]}}"),
                 std::string(bytes, '\0'));
}
std::string parse_error(const std::string& bytes, const safetensors::Limits& limits = {}) {
  try {
    (void)safetensors::parse_header(bytes, "input.safetensors", limits);
  } catch (const ctnn::error& e) {
    return e.what();
  }
  return "(no error)";
}

using Tiny = Sequential<backend::reference, Input<2>, Linear<2, 2>>;

}  // namespace

TEST_CASE("80 000 zero-size tensors parse in well under a second (duplicates by sorting)", "[io][safetensors][limits]") {
  const std::string bytes = zero_size_tensors(80'000);
  REQUIRE(bytes.size() > 4'000'000);  // the 4.6 MB file of the report
  const auto start = std::chrono::steady_clock::now();
  const safetensors::Header h = safetensors::parse_header(bytes, "many.safetensors");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  WARN("80 000 tensors parsed in " << seconds << " s");
  REQUIRE(h.tensors.size() == 80'000);
  CHECK(h.tensors.front().name == "t0");
  CHECK(h.tensors.back().name == "t79999");
  CHECK(h.tensors[12345].shape == std::vector<std::size_t>{0});

  // The same with one duplicate at the very end is found, naming the tensor.
  CHECK_THAT(parse_error(zero_size_tensors(80'000, "t4711")), Contains("input.safetensors") &&
                                                                  Contains("tensor 't4711' appears twice"));
}

TEST_CASE("the tensor count and header size limits are errors naming the limit", "[io][safetensors][limits]") {
  safetensors::Limits limits;
  CHECK(limits.max_tensors == 1'000'000);
  CHECK(limits.max_header_bytes == 100'000'000);
  limits.max_tensors = 100;
  CHECK(safetensors::parse_header(zero_size_tensors(100), "x", limits).tensors.size() == 100);
  CHECK_THAT(parse_error(zero_size_tensors(101), limits), Contains("more than 100 tensors") &&
                                                              Contains("safetensors::Limits::max_tensors"));
  // A header length beyond the file is refused first; one within the file but above the limit next.
  CHECK_THAT(parse_error(le64(200'000'000) + "{}      "), Contains("header length 200000000 is beyond the file size"));
  safetensors::Limits small;
  small.max_header_bytes = 16;
  CHECK_THAT(parse_error(zero_size_tensors(1), small), Contains("more than the limit of 16 bytes"));
}

TEST_CASE("strings must be valid UTF-8; valid multi-byte names load", "[io][safetensors][limits]") {
  // Valid: 2-, 3- and 4-byte sequences, raw and as escapes.
  CHECK(safetensors::parse_header(one_tensor("caf\xc3\xa9.\xe2\x82\xac.\xf0\x9f\x98\x80"), "x").tensors[0].name ==
        "caf\xc3\xa9.\xe2\x82\xac.\xf0\x9f\x98\x80");
  CHECK(safetensors::parse_header(one_tensor("\\u00e9\\ud83d\\ude00"), "x").tensors[0].name == "\xc3\xa9\xf0\x9f\x98\x80");
  for (const std::string& bad : {std::string("\xff"), std::string("\xc0\xaf"),          // invalid byte, overlong '/'
                                std::string("\xe0\x80\xaf"), std::string("\xed\xa0\x80"),  // overlong, a surrogate
                                std::string("\xf4\x90\x80\x80"), std::string("\xc3"),     // above U+10FFFF, cut short
                                std::string("\xe2\x82"), std::string("\x80")}) {         // cut short, a lone continuation
    INFO("name bytes: " << bad.size());
    CHECK_THAT(parse_error(one_tensor("a" + bad + "b")), Contains("not valid UTF-8"));
  }
  CHECK_THAT(parse_error(one_tensor("\\ud83d")), Contains("surrogate"));
  CHECK_THAT(parse_error(one_tensor("\\ude00")), Contains("surrogate"));
  CHECK_THAT(parse_error(one_tensor("\\x41")), Contains("unknown escape"));
}

TEST_CASE("no nesting beyond the format's fixed depth, shapes that overflow, sizes that disagree",
          "[io][safetensors][limits]") {
  // Deep nesting is rejected at its first level: the reader never recurses.
  CHECK_THAT(parse_error(file_of("{\"a\":" + std::string(100'000, '[') + "}")), Contains("must be an object"));
  CHECK_THAT(parse_error(file_of("{\"__metadata__\":{\"k\":{\"x\":\"y\"}}}")), Contains("the value of metadata key 'k'"));
  CHECK_THAT(parse_error(file_of("{\"a\":{\"dtype\":\"F32\",\"shape\":[[1]],\"data_offsets\":[0,4]}}")),
             Contains("expected a non-negative integer"));
  // 2^32 * 2^32 * 2 elements of 4 bytes overflow 64 bits.
  CHECK_THAT(parse_error(one_tensor("big", "F32", "[4294967296,4294967296,2]", 0)), Contains("impossibly large shape"));
  // A zero dimension makes any other dimension harmless: 0 bytes.
  CHECK(safetensors::parse_header(one_tensor("z", "F32", "[0,18446744073709551615]", 0), "x").tensors[0].end == 0);
  CHECK_THAT(parse_error(one_tensor("w", "F64", "[3]", 12)), Contains("needs 24 bytes") && Contains("span 12"));
  CHECK_THAT(parse_error(one_tensor("w", "F32", "[1]", 4) + "x"), Contains("does not cover") || Contains("cover only"));
  CHECK_THAT(parse_error(file_of("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                                 "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[2,6]}}",
                                 std::string(8, '\0'))),
             Contains("overlaps"));
  CHECK_THAT(parse_error(file_of("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[18446744073709551612,"
                                 "18446744073709551616]}}")),
             Contains("integer too large"));
  CHECK_THAT(parse_error(file_of("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", std::string(4, '\0'))),
             Contains("out of range"));
  CHECK_THAT(parse_error(one_tensor("w", "F31")), Contains("unknown dtype 'F31'"));
}

TEST_CASE("load refuses what is not a regular file: a FIFO, /dev/zero, a directory", "[io][safetensors][limits]") {
  ctnn_test::TempDir dir;
  Tiny model{manual_seed(1)};
  const auto before = model.state_dict();
  auto message = [&](const fs::path& p) {
    try {
      load(model, p);
    } catch (const ctnn::error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  const fs::path fifo = dir / "pipe.safetensors";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // Without a writer, a blocking open would wait forever: the reader must answer at once.
  CHECK_THAT(message(fifo), Contains(fifo.string()) && Contains("is a FIFO (named pipe), not a regular file"));
  CHECK_THAT(message("/dev/zero"), Contains("/dev/zero: is a character device, not a regular file"));
  CHECK_THAT(message(dir.path()), Contains("is a directory, not a regular file"));
  CHECK_THAT(message(dir / "missing"), Contains("no such file"));
  CHECK_THAT(message(dir / "missing" / "x.safetensors"), Contains("no such file"));
  CHECK_THROWS_WITH(safetensors::read_header(fifo), Contains("FIFO"));
  CHECK_THROWS_WITH(load_state_dict_file<float>("/dev/zero"), Contains("character device"));
  const auto after = model.state_dict();
  for (std::size_t i = 0; i < after.size(); ++i) CHECK(after[i].values == before[i].values);
}
