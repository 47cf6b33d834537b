// Fashion-MNIST: the real set (Debian's dataset-fashion-mnist, or $CTNN_DATA), as seeds 000 and 001
// print it; and where the files are searched for. Without the real set the real-data cases warn and
// pass.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <memory>
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
// Loaded once for the whole executable; nullptr when the real set is not installed.
const FashionMNIST* real_dataset(bool train) {
  static auto load = [](bool t) -> std::unique_ptr<FashionMNIST> {
    try {
      return std::make_unique<FashionMNIST>("", t);
    } catch (const ctnn::error& e) {
      if (std::string(e.what()).find("not found") == std::string::npos) throw;
      return nullptr;
    }
  };
  static const std::unique_ptr<FashionMNIST> train_set = load(true), test_set = load(false);
  return train ? train_set.get() : test_set.get();
}
#define REQUIRE_REAL_SET(ds)                                                   \
  if (!(ds)) {                                                                 \
    WARN("Fashion-MNIST is not installed (dataset-fashion-mnist): skipped");  \
    return;                                                                    \
  }

// Restores an environment variable at scope exit.
struct EnvGuard {
  std::string name;
  std::optional<std::string> old;
  EnvGuard(std::string n, const std::string& value) : name(std::move(n)) {
    if (const char* v = std::getenv(name.c_str())) old = v;
    ::setenv(name.c_str(), value.c_str(), 1);
  }
  ~EnvGuard() {
    if (old) ::setenv(name.c_str(), old->c_str(), 1);
    else ::unsetenv(name.c_str());
  }
};
}  // namespace

TEST_CASE("Fashion-MNIST: sizes, labels and the first image as seed 001 prints them", "[data][fashion_mnist][real]") {
  const FashionMNIST* train = real_dataset(true);
  const FashionMNIST* test = real_dataset(false);
  REQUIRE_REAL_SET(train);
  REQUIRE(test);
  CHECK(train->size() == 60000);
  CHECK(test->size() == 10000);
  CHECK(FashionMNIST::classes() == std::vector<std::string>{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"});
  // train_data.targets: tensor([9, 0, 0, ..., 3, 0, 5])
  const auto t = train->targets();
  CHECK(t[0] == 9);
  CHECK(t[1] == 0);
  CHECK(t[2] == 0);
  CHECK(t[59997] == 3);
  CHECK(t[59998] == 0);
  CHECK(t[59999] == 5);
  CHECK(FashionMNIST::classes()[static_cast<std::size_t>(t[0])] == "Ankle boot");

  const auto first = (*train)[0];
  const std::vector<float>& image = first.x;
  const std::int64_t label = first.y;
  CHECK(label == 9);
  REQUIRE(image.size() == 784);
  auto px = [&](std::size_t r, std::size_t c) { return static_cast<double>(image[r * 28 + c]); };
  // Values printed (4 decimals) in seed 001.
  CHECK(px(0, 0) == 0.0);
  CHECK(px(3, 12) == Approx(0.0039).margin(5e-5));
  CHECK(px(3, 15) == Approx(0.0510).margin(5e-5));
  CHECK(px(3, 16) == Approx(0.2863).margin(5e-5));
  CHECK(px(14, 12) == Approx(0.9294).margin(5e-5));
  CHECK(px(14, 25) == Approx(1.0000).margin(5e-5));
  CHECK(px(17, 1) == Approx(0.2235).margin(5e-5));
  CHECK(px(27, 27) == 0.0);
}

TEST_CASE("Fashion-MNIST: every pixel is in [0, 1], with Normalize(0.5, 0.5) in [-1, 1]", "[data][fashion_mnist][real]") {
  const FashionMNIST* train = real_dataset(true);
  REQUIRE_REAL_SET(train);
  std::vector<float> x(784);
  std::int64_t y = 0;
  float lo = 1, hi = 0;
  std::size_t counts[10] = {};
  for (std::size_t i = 0; i < train->size(); ++i) {
    train->load(i, x.data(), &y);
    for (float v : x) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    REQUIRE((y >= 0 && y < 10));
    counts[y]++;
  }
  CHECK(lo == 0.0f);
  CHECK(hi == 1.0f);
  for (auto c : counts) CHECK(c == 6000);

  // Seed 000: Compose([ToTensor(), Normalize((0.5,), (0.5,))]) on the same files.
  FashionMNIST normalized(train->image_file().parent_path(), true, Compose{ToTensor{}, Normalize({0.5}, {0.5})});
  const auto a = (*train)[0], b = normalized[0];
  for (std::size_t k = 0; k < 784; ++k) REQUIRE(b.x[k] == Approx(2.0 * a.x[k] - 1.0).margin(1e-6));
}

TEST_CASE("Fashion-MNIST: t-shirts vs ankle boots (seed 000)", "[data][fashion_mnist][real]") {
  const FashionMNIST* train = real_dataset(true);
  const FashionMNIST* test = real_dataset(false);
  REQUIRE_REAL_SET(train);
  auto binary_train = train->select_classes({0, 9});
  auto binary_test = test->select_classes({0, 9});
  CHECK(binary_train.size() == 12000);
  CHECK(binary_test.size() == 2000);
  CHECK(binary_train.classes() == std::vector<std::string>{"T-shirt/top", "Ankle boot"});
  // Image 0 is an ankle boot: label 9 -> 1.
  CHECK(binary_train.target(0) == 1);
  CHECK(binary_train.base().index(0) == 0);
  CHECK(binary_train.target(1) == 0);

  // labels = torch.FloatTensor([x if x == 0 else 1 for x in labels]): float targets for BCELoss.
  auto bce_train = binary_train.float_targets();
  static_assert(std::is_same_v<decltype(bce_train)::target_type, Shape<1>>);
  DataLoader loader(bce_train, {.batch_size = 64, .shuffle = true}, manual_seed(42));
  CHECK(loader.size() == 188);  // ceil(12000 / 64)
  std::size_t ones = 0, total = 0;
  for (const auto& [x, y] : loader) {
    static_assert(std::is_same_v<std::remove_cvref_t<decltype(y)>, Batch<Shape<1>>>);
    for (float v : y.values()) {
      REQUIRE((v == 0.0f || v == 1.0f));
      ones += v == 1.0f;
    }
    total += y.batch_size();
  }
  CHECK(total == 12000);
  CHECK(ones == 6000);

  // The same with a filter predicate on the label, as the seed's list comprehension.
  auto filtered = train->filter([](std::int64_t label) { return label == 0 || label == 9; });
  CHECK(filtered.size() == 12000);
}

TEST_CASE("Fashion-MNIST: DataLoader batches as in seed 001", "[data][fashion_mnist][real][dataloader]") {
  const FashionMNIST* train = real_dataset(true);
  const FashionMNIST* test = real_dataset(false);
  REQUIRE_REAL_SET(train);
  DataLoader train_loader(*train, {.batch_size = 32, .shuffle = true}, manual_seed(42));
  DataLoader test_loader(*test, {.batch_size = 32, .shuffle = false});
  CHECK(train_loader.size() == 1875);
  CHECK(test_loader.size() == 313);
  auto it = train_loader.begin();
  const auto [x, y] = *it;
  CHECK(x.batch_size() == 32);  // torch.Size([32, 1, 28, 28])
  CHECK(y.batch_size() == 32);  // torch.Size([32])
  std::size_t batches = 0, last = 0;
  for (const auto& b : test_loader) {
    ++batches;
    last = b.x.batch_size();
  }
  CHECK(batches == 313);
  CHECK(last == 16);  // 10000 - 312 * 32
  // The unshuffled test loader yields the samples in order.
  auto first = test_loader.begin();
  CHECK((*first).y(0) == test->target(0));
}

TEST_CASE("Fashion-MNIST: where the files are searched for", "[data][fashion_mnist]") {
  TempDir dir;
  SECTION("root first, then its fashion-mnist and FashionMNIST/raw subfolders") {
    const auto paths = FashionMNIST::search_paths(dir.path());
    REQUIRE(paths.size() >= 4);
    CHECK(paths[0] == dir.path());
    CHECK(paths[1] == dir / "fashion-mnist");
    CHECK(paths[2] == dir / "FashionMNIST" / "raw");
    CHECK(paths.back() == "/usr/share/datasets/fashion-mnist");
    ctnn_test::write_fake_fashion_mnist(dir / "FashionMNIST" / "raw", "train", 7, true);
    FashionMNIST ds(dir.path());
    CHECK(ds.size() == 7);
  }
  SECTION("$CTNN_DATA and $CTNN_DATA/fashion-mnist") {
    ctnn_test::write_fake_fashion_mnist(dir / "fashion-mnist", "t10k", 5, false);
    EnvGuard env("CTNN_DATA", dir.path().string());
    const auto paths = FashionMNIST::search_paths();
    REQUIRE(paths.size() >= 2);
    CHECK(paths[0] == dir.path());
    CHECK(paths[1] == dir / "fashion-mnist");
    FashionMNIST ds("", false);
    CHECK(ds.size() == 5);
    CHECK(ds.image_file() == dir / "fashion-mnist" / "t10k-images-idx3-ubyte");
  }
  SECTION("nothing found: the error lists every place searched") {
    TempDir other;
    const std::vector<std::filesystem::path> places = {dir.path(), dir / "fashion-mnist", other.path()};
    CHECK_THROWS_WITH(
        locate("Fashion-MNIST", places, {plain_or_gz("train-images-idx3-ubyte"), plain_or_gz("train-labels-idx1-ubyte")}),
        Contains("Fashion-MNIST: not found") && Contains("train-images-idx3-ubyte or train-images-idx3-ubyte.gz") &&
            Contains("\n  " + dir.path().string() + "\n") && Contains((dir / "fashion-mnist").string()) &&
            Contains(other.path().string()) && Contains("CTNN_DATA"));
  }
}

TEST_CASE("Fashion-MNIST: untrusted files: a FIFO, a huge header, a gzip claiming too much", "[data][fashion_mnist][untrusted]") {
  TempDir dir;
  ctnn_test::write_fake_fashion_mnist(dir.path(), "train", 3, false);
  SECTION("a FIFO in place of the labels is not taken for the file (no hang)") {
    std::filesystem::remove(dir / "train-labels-idx1-ubyte");
    REQUIRE(::mkfifo((dir / "train-labels-idx1-ubyte").c_str(), 0600) == 0);
    CHECK_THROWS_WITH(FashionMNIST(dir.path()), Contains("but not train-labels-idx1-ubyte"));
  }
  SECTION("an images header claiming 2^31 images in a small file") {
    ctnn_test::write_bytes(dir / "train-images-idx3-ubyte",
                           ctnn_test::idx_bytes(0x803, {0x80000000u, 28, 28}, std::vector<std::uint8_t>(784, 0)));
    CHECK_THROWS_WITH(FashionMNIST(dir.path()), Contains("train-images-idx3-ubyte: truncated") &&
                                                    Contains("2147483648 x 28 x 28") && Contains("the file holds 784"));
  }
  SECTION("a gzip labels file claiming more than it could decompress to") {
    std::filesystem::remove(dir / "train-labels-idx1-ubyte");
    ctnn_test::write_gz(dir / "train-labels-idx1-ubyte.gz", ctnn_test::idx_bytes(0x801, {0x80000000u}, {1, 2, 3}));
    CHECK_THROWS_WITH(FashionMNIST(dir.path()), Contains("train-labels-idx1-ubyte.gz: corrupt header or truncated") &&
                                                    Contains("gzip file can hold"));
  }
}
