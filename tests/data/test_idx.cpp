// The IDX reader (MNIST / Fashion-MNIST files): plain and gzip files read the same; every broken file
// is a ctnn::error naming the file and the problem.
#include <catch2/catch.hpp>

#include <ctnn/ctnn.hpp>

#include <sys/stat.h>

#include <span>

#include "data_files.hpp"
#include "temp_dir.hpp"

using namespace ctnn;
using namespace ctnn::data;
using Catch::Matchers::Contains;
using ctnn_test::TempDir;

namespace {
std::vector<std::uint8_t> some_pixels(std::size_t n) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>((i * 7 + 3) % 256);
  return v;
}
}  // namespace

TEST_CASE("IDX: plain and gzip files give the same array", "[data][idx]") {
  TempDir dir;
  const auto bytes = ctnn_test::idx_bytes(0x803, {5, 4, 3}, some_pixels(60));
  ctnn_test::write_bytes(dir / "images", bytes);
  ctnn_test::write_gz(dir / "images.gz", bytes);
  const idx::Array raw = idx::read_images(dir / "images");
  const idx::Array gz = idx::read_images(dir / "images.gz");
  CHECK(raw.dims == std::vector<std::size_t>{5, 4, 3});
  CHECK(raw.count() == 5);
  CHECK(raw.data == some_pixels(60));
  CHECK(gz.dims == raw.dims);
  CHECK(gz.data == raw.data);
}

TEST_CASE("IDX: labels are checked against the number of classes", "[data][idx]") {
  TempDir dir;
  ctnn_test::write_bytes(dir / "ok", ctnn_test::idx_bytes(0x801, {4}, {0, 9, 3, 9}));
  CHECK(idx::read_labels(dir / "ok", 10).data == std::vector<std::uint8_t>{0, 9, 3, 9});
  ctnn_test::write_bytes(dir / "bad", ctnn_test::idx_bytes(0x801, {4}, {0, 9, 10, 1}));
  CHECK_THROWS_AS(idx::read_labels(dir / "bad", 10), ctnn::error);
  CHECK_THROWS_WITH(idx::read_labels(dir / "bad", 10),
                    Contains((dir / "bad").string()) && Contains("label 10 of sample 2 is out of range") &&
                        Contains("0 to 9"));
}

TEST_CASE("IDX: broken files are errors that name the file and the problem", "[data][idx]") {
  TempDir dir;
  const auto good = ctnn_test::idx_bytes(0x803, {3, 28, 28}, some_pixels(3 * 784));

  SECTION("missing file") {
    CHECK_THROWS_WITH(idx::read_images(dir / "nothing-here"), Contains((dir / "nothing-here").string()) &&
                                                                  Contains("no such file"));
  }
  SECTION("wrong magic: a labels file read as images") {
    ctnn_test::write_bytes(dir / "labels", ctnn_test::idx_bytes(0x801, {3}, {1, 2, 3}));
    CHECK_THROWS_WITH(idx::read_images(dir / "labels"), Contains((dir / "labels").string()) &&
                                                            Contains("wrong magic number 0x00000801") &&
                                                            Contains("expected 0x00000803"));
  }
  SECTION("wrong magic: not an IDX file at all") {
    const std::string html = "<html>not found</html>";
    ctnn_test::write_bytes(dir / "page", std::vector<std::uint8_t>(html.begin(), html.end()));
    CHECK_THROWS_WITH(idx::read_images(dir / "page"), Contains("wrong magic number") && Contains("not an IDX file"));
  }
  SECTION("truncated data, plain") {
    auto cut = good;
    cut.resize(cut.size() - 100);
    ctnn_test::write_bytes(dir / "cut", cut);
    CHECK_THROWS_WITH(idx::read_images(dir / "cut"), Contains((dir / "cut").string()) && Contains("truncated") &&
                                                         Contains("3 x 28 x 28 = 2352 bytes") &&
                                                         Contains("holds 2252"));
  }
  SECTION("truncated data, a cut gzip stream") {
    ctnn_test::write_gz(dir / "full.gz", good);
    auto gz = ctnn_test::read_bytes(dir / "full.gz");
    gz.resize(gz.size() / 2);
    ctnn_test::write_bytes(dir / "cut.gz", gz);
    CHECK_THROWS_WITH(idx::read_images(dir / "cut.gz"), Contains((dir / "cut.gz").string()) && Contains("truncated"));
  }
  SECTION("truncated header") {
    ctnn_test::write_bytes(dir / "short", {0, 0, 8, 3, 0, 0});
    CHECK_THROWS_WITH(idx::read_images(dir / "short"), Contains((dir / "short").string()) && Contains("truncated") &&
                                                           Contains("3 dimensions"));
    ctnn_test::write_bytes(dir / "tiny", {0, 0});
    CHECK_THROWS_WITH(idx::read_images(dir / "tiny"), Contains("truncated") && Contains("magic"));
  }
  SECTION("bytes after the data") {
    auto longer = good;
    longer.push_back(7);
    ctnn_test::write_bytes(dir / "long", longer);
    CHECK_THROWS_WITH(idx::read_images(dir / "long"), Contains((dir / "long").string()) && Contains("bytes after"));
  }
  SECTION("a corrupt header declaring huge dimensions reports truncation") {
    ctnn_test::write_bytes(dir / "huge", ctnn_test::idx_bytes(0x803, {0xffffffffu, 0xffffffffu, 2}, {1, 2, 3}));
    CHECK_THROWS_WITH(idx::read_images(dir / "huge"), Contains((dir / "huge").string()));
  }
}

TEST_CASE("FashionMNIST from files: plain and gzip sets, and their errors", "[data][idx][fashion_mnist]") {
  TempDir dir;
  SECTION("plain and gzip files load the same samples") {
    ctnn_test::write_fake_fashion_mnist(dir / "raw", "train", 12, false);
    ctnn_test::write_fake_fashion_mnist(dir / "gz", "train", 12, true);
    FashionMNIST a(dir / "raw"), b(dir / "gz");
    REQUIRE(a.size() == 12);
    REQUIRE(b.size() == 12);
    CHECK(a.image_file() == dir / "raw" / "train-images-idx3-ubyte");
    CHECK(b.image_file() == dir / "gz" / "train-images-idx3-ubyte.gz");
    for (std::size_t i = 0; i < 12; ++i) {
      const auto ea = a[i], eb = b[i];
      CHECK(ea.y == static_cast<std::int64_t>(i % 10));
      CHECK(ea.y == eb.y);
      CHECK(ea.x == eb.x);
      CHECK(ea.x[5] == Approx(static_cast<double>((i + 5) % 256) / 255.0));
    }
  }
  SECTION("the test split reads t10k files") {
    ctnn_test::write_fake_fashion_mnist(dir.path(), "t10k", 3, true);
    FashionMNIST t(dir.path(), false);
    CHECK(t.size() == 3);
    CHECK_FALSE(t.train());
  }
  SECTION("images and labels of different counts") {
    ctnn_test::write_fake_fashion_mnist(dir.path(), "train", 4, false);
    ctnn_test::write_bytes(dir / "train-labels-idx1-ubyte", ctnn_test::idx_bytes(0x801, {3}, {1, 2, 3}));
    CHECK_THROWS_WITH(FashionMNIST(dir.path()), Contains((dir / "train-images-idx3-ubyte").string()) &&
                                                    Contains((dir / "train-labels-idx1-ubyte").string()) &&
                                                    Contains("4 images") && Contains("3 labels"));
  }
  SECTION("labels out of range") {
    ctnn_test::write_fake_fashion_mnist(dir.path(), "train", 3, false);
    ctnn_test::write_bytes(dir / "train-labels-idx1-ubyte", ctnn_test::idx_bytes(0x801, {3}, {1, 12, 3}));
    CHECK_THROWS_WITH(FashionMNIST(dir.path()), Contains((dir / "train-labels-idx1-ubyte").string()) &&
                                                    Contains("label 12 of sample 1 is out of range"));
  }
  SECTION("images of another size") {
    ctnn_test::write_bytes(dir / "train-images-idx3-ubyte", ctnn_test::idx_bytes(0x803, {1, 27, 28}, some_pixels(27 * 28)));
    ctnn_test::write_bytes(dir / "train-labels-idx1-ubyte", ctnn_test::idx_bytes(0x801, {1}, {1}));
    CHECK_THROWS_WITH(FashionMNIST(dir.path()), Contains((dir / "train-images-idx3-ubyte").string()) &&
                                                    Contains("27 x 28") && Contains("expected 28 x 28"));
  }
  SECTION("a truncated images file") {
    ctnn_test::write_fake_fashion_mnist(dir.path(), "train", 3, false);
    auto bytes = ctnn_test::read_bytes(dir / "train-images-idx3-ubyte");
    bytes.resize(bytes.size() - 1);
    ctnn_test::write_bytes(dir / "train-images-idx3-ubyte", bytes);
    CHECK_THROWS_WITH(FashionMNIST(dir.path()), Contains((dir / "train-images-idx3-ubyte").string()) &&
                                                    Contains("truncated"));
  }
  SECTION("a directory with the images but not the labels") {
    ctnn_test::write_fake_fashion_mnist(dir.path(), "train", 3, true);
    std::filesystem::remove(dir / "train-labels-idx1-ubyte.gz");
    CHECK_THROWS_WITH(FashionMNIST(dir.path()), Contains(dir.path().string()) &&
                                                    Contains("train-images-idx3-ubyte.gz") &&
                                                    Contains("but not train-labels-idx1-ubyte"));
  }
}

// ---- untrusted files: special files, huge headers, decompression bombs, gzip framing ------------------

namespace {
std::vector<std::uint8_t> gzip_of(const std::vector<std::uint8_t>& bytes) {
  TempDir dir;
  ctnn_test::write_gz(dir / "x.gz", bytes);
  return ctnn_test::read_bytes(dir / "x.gz");
}
std::string read_error(const std::filesystem::path& p, std::uint32_t magic = idx::images_magic) {
  try {
    (void)idx::read(p, magic);
  } catch (const ctnn::error& e) {
    return e.what();
  }
  return "(no error)";
}
std::string read_error(const std::vector<std::uint8_t>& bytes, std::uint32_t magic = idx::images_magic) {
  try {
    (void)idx::read(std::span<const std::uint8_t>(bytes), "mem.idx", magic);
  } catch (const ctnn::error& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

TEST_CASE("IDX: only regular files are read: a FIFO, /dev/zero, a directory are errors, not hangs", "[data][idx][untrusted]") {
  TempDir dir;
  const auto fifo = dir / "train-images-idx3-ubyte";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_THAT(read_error(fifo), Contains(fifo.string()) && Contains("is a FIFO (named pipe), not a regular file"));
  CHECK_THAT(read_error("/dev/zero"), Contains("/dev/zero: is a character device, not a regular file"));
  CHECK_THAT(read_error(dir.path()), Contains("is a directory, not a regular file"));
  // The data set constructors do not take what is not a regular file for a data file when they search.
  ctnn_test::write_bytes(dir / "train-labels-idx1-ubyte", ctnn_test::idx_bytes(0x801, {1}, {0}));
  CHECK_THROWS_WITH(FashionMNIST(dir.path()), Contains(dir.path().string()) &&
                                                  Contains("holds train-labels-idx1-ubyte but not train-images-idx3-ubyte"));
}

TEST_CASE("IDX: a header claiming more than the file can hold is an error before any allocation", "[data][idx][untrusted]") {
  // 2^31 - 1 images of 28 x 28 (a 1.7 TB claim) in a 100-byte file.
  auto huge = ctnn_test::idx_bytes(0x803, {0x7fffffffu, 28, 28}, std::vector<std::uint8_t>(84, 1));
  REQUIRE(huge.size() == 100);
  CHECK_THAT(read_error(huge), Contains("mem.idx: truncated: the header declares 2147483647 x 28 x 28 = 1683627179248 "
                                        "bytes of data, the file holds 84"));
  TempDir dir;
  ctnn_test::write_bytes(dir / "huge", huge);
  CHECK_THAT(read_error(dir / "huge"), Contains("the file holds 84"));
  // The same gzip-compressed: more than a 100-byte gzip file could ever decompress to (1032 : 1).
  const auto gz = gzip_of(huge);
  CHECK_THAT(read_error(gz), Contains("corrupt header or truncated") && Contains("gzip file can hold"));
  // 2^31 labels in a 100-byte file.
  CHECK_THAT(read_error(ctnn_test::idx_bytes(0x801, {0x80000000u}, std::vector<std::uint8_t>(92, 0)), idx::labels_magic),
             Contains("2147483648 bytes of data, the file holds 92"));
  // Dimensions whose product overflows 64 bits, and a zero dimension that makes the rest harmless.
  CHECK_THAT(read_error(ctnn_test::idx_bytes(0x803, {0xffffffffu, 0xffffffffu, 0xffffffffu}, {})), Contains("overflow"));
  const auto empty = ctnn_test::idx_bytes(0x803, {0, 0xffffffffu, 0xffffffffu}, {});
  CHECK(idx::read(std::span<const std::uint8_t>(empty), "e", idx::images_magic).data.empty());
}

TEST_CASE("IDX: a decompression bomb stops at max_decompressed_bytes", "[data][idx][untrusted]") {
  // A header that honestly declares 64 MiB of zeros: 65 KB compressed, within deflate's ratio.
  const std::size_t n = std::size_t{1} << 26;
  std::vector<std::uint8_t> bytes = ctnn_test::idx_bytes(0x801, {static_cast<std::uint32_t>(n)}, {});
  bytes.resize(bytes.size() + n, 0);
  const auto gz = gzip_of(bytes);
  CHECK(gz.size() < 100'000);
  const std::uint64_t saved = data::max_decompressed_bytes;
  data::max_decompressed_bytes = std::uint64_t{1} << 20;  // 1 MiB
  CHECK_THAT(read_error(gz, idx::labels_magic), Contains("gzip file can hold") && Contains("max_decompressed_bytes"));
  // Without a header claim (CIFAR-10 style: read to the end), the stream itself is cut at the limit.
  {
    data::gz_reader in(gz.data(), gz.size(), "bomb.gz");
    CHECK_THROWS_WITH(data::read_all(in), Contains("bomb.gz: decompresses to more than 1048576 bytes") &&
                                              Contains("decompression bomb"));
  }
  data::max_decompressed_bytes = saved;
  CHECK(idx::read(std::span<const std::uint8_t>(gz), "ok.gz", idx::labels_magic).data.size() == n);
}

TEST_CASE("IDX: gzip framing: members, trailing bytes, corrupt and cut streams", "[data][idx][untrusted]") {
  const auto good = ctnn_test::idx_bytes(0x803, {2, 3, 3}, some_pixels(18));
  const auto gz = gzip_of(good);
  CHECK(idx::read(std::span<const std::uint8_t>(gz), "x.gz", idx::images_magic).data == some_pixels(18));
  // Two members concatenated read as one stream, as gunzip does.
  std::vector<std::uint8_t> first(good.begin(), good.begin() + 10), second(good.begin() + 10, good.end());
  auto two = gzip_of(first);
  const auto tail = gzip_of(second);
  two.insert(two.end(), tail.begin(), tail.end());
  CHECK(idx::read(std::span<const std::uint8_t>(two), "two.gz", idx::images_magic).data == some_pixels(18));
  // Trailing garbage after the last member.
  auto trailing = gz;
  trailing.push_back('x');
  trailing.push_back('y');
  CHECK_THAT(read_error(trailing), Contains("2 bytes after the end of the gzip stream are not another gzip member"));
  // A flipped data byte: corrupt data or a CRC mismatch.
  auto flipped = gz;
  flipped[flipped.size() - 6] ^= 0x55;
  CHECK_THAT(read_error(flipped), Contains("corrupt gzip data"));
  // Cut in the middle: truncated, naming zlib's words.
  const std::vector<std::uint8_t> cut(gz.begin(), gz.begin() + static_cast<std::ptrdiff_t>(gz.size() / 2));
  CHECK_THAT(read_error(cut), Contains("truncated"));
  // Empty input, and a lone gzip magic byte.
  CHECK_THAT(read_error(std::vector<std::uint8_t>{}), Contains("truncated: 0 bytes"));
  CHECK_THAT(read_error(std::vector<std::uint8_t>{0x1f, 0x8b}), Contains("truncated"));
}
