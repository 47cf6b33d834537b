// CIFAR-10's binary batches, on generated files (the real set cannot be downloaded here).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <optional>

#include <ctnn/ctnn.hpp>

#include <sys/stat.h>

#include "data_files.hpp"
#include "temp_dir.hpp"

using namespace ctnn;
using namespace ctnn::data;
using Catch::Matchers::Contains;
using ctnn_test::TempDir;

namespace {
// n records; record r of batch b has label (b + r) % 10 and pixel p = (b * 31 + r * 7 + p) % 256.
std::vector<std::uint8_t> records(std::size_t b, std::size_t n) {
  std::vector<std::uint8_t> out;
  for (std::size_t r = 0; r < n; ++r) {
    out.push_back(static_cast<std::uint8_t>((b + r) % 10));
    for (std::size_t p = 0; p < 3072; ++p) out.push_back(static_cast<std::uint8_t>((b * 31 + r * 7 + p) % 256));
  }
  return out;
}
void write_fake_cifar(const std::filesystem::path& dir, std::size_t per_batch, bool gz = false) {
  for (std::size_t b = 1; b <= 5; ++b) {
    const auto name = dir / ("data_batch_" + std::to_string(b) + ".bin" + (gz ? ".gz" : ""));
    (gz ? ctnn_test::write_gz : ctnn_test::write_bytes)(name, records(b, per_batch));
  }
  (gz ? ctnn_test::write_gz : ctnn_test::write_bytes)(dir / (std::string("test_batch.bin") + (gz ? ".gz" : "")),
                                                       records(0, per_batch + 1));
}
}  // namespace

static_assert(Dataset<CIFAR10>);
static_assert(std::is_same_v<CIFAR10::sample_shape, Shape<3, 32, 32>>);

TEST_CASE("CIFAR10: records, labels and channel-major pixels", "[data][cifar10]") {
  TempDir dir;
  write_fake_cifar(dir.path(), 4);
  CIFAR10 train(dir.path(), true), test(dir.path(), false);
  REQUIRE(train.size() == 20);
  REQUIRE(test.size() == 5);
  CHECK(train.files().size() == 5);
  CHECK(CIFAR10::classes() == std::vector<std::string>{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
                                                       "horse", "ship", "truck"});
  // Sample 6 = batch 2, record 2.
  const auto [x, y] = train[6];
  CHECK(y == 4);
  REQUIRE(x.size() == 3072);
  for (std::size_t p : {0u, 1u, 1024u, 2047u, 3071u})
    CHECK(x[p] == Approx(static_cast<double>((2 * 31 + 2 * 7 + p) % 256) / 255.0));
  CHECK(test.target(4) == 4);

  // gzip-compressed batches read the same.
  TempDir gz;
  write_fake_cifar(gz.path(), 4, true);
  CIFAR10 train_gz(gz.path(), true);
  REQUIRE(train_gz.size() == 20);
  for (std::size_t i = 0; i < 20; ++i) {
    REQUIRE(train_gz[i].x == train[i].x);
    REQUIRE(train_gz[i].y == train[i].y);
  }
}

TEST_CASE("CIFAR10: normalisation and airplanes vs birds (seed 003)", "[data][cifar10]") {
  TempDir dir;
  write_fake_cifar(dir / "cifar-10-batches-bin", 10);
  const Normalize normalize({0.4914, 0.4822, 0.4465}, {0.2470, 0.2435, 0.2616});
  CIFAR10 plain(dir.path(), true), normalized(dir.path(), true, Compose{ToTensor{}, normalize});
  const auto a = plain[3], b = normalized[3];
  CHECK(b.x[0] == Approx((a.x[0] - 0.4914) / 0.2470));
  CHECK(b.x[1024] == Approx((a.x[1024] - 0.4822) / 0.2435));
  CHECK(b.x[3071] == Approx((a.x[3071] - 0.4465) / 0.2616));

  // label_map = {0: 0, 2: 1}; cifar2 = [(img, label_map[label]) for img, label in cifar10 if label in [0, 2]]
  const auto cifar2 = normalized.select_classes({0, 2});
  CHECK(cifar2.size() == 10);  // labels (b + r) % 10 over 5 batches x 10 records: each label 5 times
  CHECK(cifar2.classes() == std::vector<std::string>{"airplane", "bird"});
  DataLoader loader(cifar2, {.batch_size = 64, .shuffle = true});
  for (const auto& [x, y] : loader) {
    CHECK(x.batch_size() == 10);
    for (auto v : y.values()) CHECK((v == 0 || v == 1));
  }
}

TEST_CASE("CIFAR10: broken files are errors naming the file", "[data][cifar10]") {
  TempDir dir;
  write_fake_cifar(dir.path(), 3);
  SECTION("a truncated batch") {
    auto bytes = records(3, 3);
    bytes.resize(bytes.size() - 10);
    ctnn_test::write_bytes(dir / "data_batch_3.bin", bytes);
    CHECK_THROWS_WITH(CIFAR10(dir.path()), Contains((dir / "data_batch_3.bin").string()) && Contains("truncated") &&
                                               Contains("3073-byte records"));
  }
  SECTION("a label out of range") {
    auto bytes = records(2, 3);
    bytes[3073] = 10;
    ctnn_test::write_bytes(dir / "data_batch_2.bin", bytes);
    CHECK_THROWS_WITH(CIFAR10(dir.path()), Contains((dir / "data_batch_2.bin").string()) &&
                                               Contains("label 10 of record 1 is out of range"));
  }
  SECTION("an empty batch") {
    ctnn_test::write_bytes(dir / "test_batch.bin", {});
    CHECK_THROWS_WITH(CIFAR10(dir.path(), false), Contains((dir / "test_batch.bin").string()) && Contains("empty"));
  }
  SECTION("a missing batch") {
    std::filesystem::remove(dir / "data_batch_5.bin");
    CHECK_THROWS_WITH(CIFAR10(dir.path()), Contains(dir.path().string()) && Contains("but not data_batch_5.bin"));
  }
  SECTION("nothing anywhere: every place searched is listed") {
    TempDir empty;
    const char* old = std::getenv("CTNN_DATA");
    const std::optional<std::string> saved = old ? std::optional<std::string>(old) : std::nullopt;
    ::setenv("CTNN_DATA", (empty / "data").string().c_str(), 1);
    CHECK_THROWS_WITH(CIFAR10(empty.path()), Contains("CIFAR-10: not found") && Contains("data_batch_1.bin") &&
                                                 Contains((empty / "cifar-10-batches-bin").string()) &&
                                                 Contains((empty / "data" / "cifar-10-batches-bin").string()));
    if (saved) ::setenv("CTNN_DATA", saved->c_str(), 1);
    else ::unsetenv("CTNN_DATA");
  }
}

TEST_CASE("CIFAR10: untrusted batches: FIFOs and devices, decompression bombs, bytes in memory", "[data][cifar10][untrusted]") {
  TempDir dir;
  write_fake_cifar(dir.path(), 2);
  auto batch_error = [](data::gz_reader& in) {
    std::vector<std::uint8_t> images;
    std::vector<std::int64_t> labels;
    try {
      CIFAR10::read_batch(in, images, labels);
    } catch (const ctnn::error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  SECTION("a FIFO in place of a batch is skipped by the search, and refused when opened") {
    std::filesystem::remove(dir / "data_batch_4.bin");
    REQUIRE(::mkfifo((dir / "data_batch_4.bin").c_str(), 0600) == 0);
    CHECK_THROWS_WITH(CIFAR10(dir.path()), Contains("but not data_batch_4.bin"));
    CHECK_THROWS_WITH(data::gz_reader(dir / "data_batch_4.bin"), Contains("is a FIFO (named pipe), not a regular file"));
    CHECK_THROWS_WITH(data::gz_reader("/dev/zero"), Contains("is a character device, not a regular file"));
  }
  SECTION("a gzip bomb stops at max_decompressed_bytes") {
    std::vector<std::uint8_t> zeros(std::size_t{8} << 20, 0);  // 8 MiB of label-0 records and pixels
    ctnn_test::write_gz(dir / "bomb.bin.gz", zeros);
    const auto gz = ctnn_test::read_bytes(dir / "bomb.bin.gz");
    data::gz_reader in(gz.data(), gz.size(), "bomb.bin.gz", std::uint64_t{1} << 20);
    CHECK_THAT(batch_error(in), Contains("bomb.bin.gz: decompresses to more than 1048576 bytes"));
  }
  SECTION("a batch in memory reads as the same file does") {
    const auto bytes = records(7, 3);
    data::gz_reader in(bytes.data(), bytes.size(), "mem.bin");
    std::vector<std::uint8_t> images;
    std::vector<std::int64_t> labels;
    CIFAR10::read_batch(in, images, labels);
    CHECK(labels == std::vector<std::int64_t>{7, 8, 9});
    REQUIRE(images.size() == 3 * 3072);
    CHECK(images[3072 + 5] == static_cast<std::uint8_t>((7 * 31 + 7 + 5) % 256));
    const std::vector<std::uint8_t> cut(bytes.begin(), bytes.end() - 1);
    data::gz_reader cut_in(cut.data(), cut.size(), "cut.bin");
    CHECK_THAT(batch_error(cut_in), Contains("cut.bin: truncated: 9218 bytes") && Contains("(2 records and 3072 bytes)"));
  }
}
