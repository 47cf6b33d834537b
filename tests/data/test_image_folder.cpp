// ImageFolder on PNG and JPEG files written into a temporary directory with stb_image_write.
#include <catch2/catch.hpp>

#include <stb/stb_image_write.h>

#include <ctnn/ctnn.hpp>

#include "temp_dir.hpp"

using namespace ctnn;
using namespace ctnn::data;
using Catch::Matchers::Contains;
using ctnn_test::TempDir;

namespace {
// An RGB image whose pixel (r, c) is (base + c, base + 2 r, 255 - base).
std::vector<std::uint8_t> rgb(int w, int h, int base) {
  std::vector<std::uint8_t> px;
  for (int r = 0; r < h; ++r)
    for (int c = 0; c < w; ++c) {
      px.push_back(static_cast<std::uint8_t>(base + c));
      px.push_back(static_cast<std::uint8_t>(base + 2 * r));
      px.push_back(static_cast<std::uint8_t>(255 - base));
    }
  return px;
}
void png(const std::filesystem::path& file, int w, int h, int base) {
  std::filesystem::create_directories(file.parent_path());
  const auto px = rgb(w, h, base);
  REQUIRE(stbi_write_png(file.c_str(), w, h, 3, px.data(), w * 3) != 0);
}
void jpg(const std::filesystem::path& file, int w, int h, std::uint8_t r, std::uint8_t g, std::uint8_t b) {
  std::filesystem::create_directories(file.parent_path());
  std::vector<std::uint8_t> px;
  for (int k = 0; k < w * h; ++k) px.insert(px.end(), {r, g, b});
  REQUIRE(stbi_write_jpg(file.c_str(), w, h, 3, px.data(), 100) != 0);
}
// pizza/ (2 PNG of 8 x 6, 1 JPEG of 16 x 16), steak/ (1 PNG), sushi/ (1 PNG of 20 x 10), plus noise.
void write_food(const std::filesystem::path& root) {
  png(root / "pizza" / "b.png", 8, 6, 10);
  png(root / "pizza" / "a.png", 8, 6, 20);
  jpg(root / "pizza" / "c.JPG", 16, 16, 200, 100, 50);
  png(root / "steak" / "x.png", 8, 6, 30);
  png(root / "sushi" / "big.png", 20, 10, 40);
  ctnn_test::write_bytes(root / "sushi" / "notes.txt", {'h', 'i'});
  ctnn_test::write_bytes(root / "README", {'x'});
}
}  // namespace

static_assert(Dataset<ImageFolder<Shape<3, 64, 64>>>);

TEST_CASE("ImageFolder: classes are the sorted folders, files sorted within", "[data][image_folder]") {
  TempDir dir;
  write_food(dir.path());
  ImageFolder<Shape<3, 6, 8>> ds(dir.path());
  CHECK(ds.classes() == std::vector<std::string>{"pizza", "steak", "sushi"});
  CHECK(ds.class_to_idx() == std::map<std::string, std::int64_t>{{"pizza", 0}, {"steak", 1}, {"sushi", 2}});
  REQUIRE(ds.size() == 5);
  CHECK(ds.path(0).filename() == "a.png");
  CHECK(ds.path(1).filename() == "b.png");
  CHECK(ds.path(2).filename() == "c.JPG");
  CHECK(ds.path(3).filename() == "x.png");
  CHECK(std::vector<std::int64_t>(ds.targets().begin(), ds.targets().end()) == std::vector<std::int64_t>{0, 0, 0, 1, 2});

  // A PNG of the target size decodes exactly: [3, 6, 8] channel-major in [0, 1].
  const auto [x, y] = ds[0];
  CHECK(y == 0);
  REQUIRE(x.size() == 3 * 6 * 8);
  for (std::size_t r = 0; r < 6; ++r)
    for (std::size_t c = 0; c < 8; ++c) {
      REQUIRE(x[(0 * 6 + r) * 8 + c] == Approx((20.0 + static_cast<double>(c)) / 255.0));
      REQUIRE(x[(1 * 6 + r) * 8 + c] == Approx((20.0 + 2.0 * static_cast<double>(r)) / 255.0));
      REQUIRE(x[(2 * 6 + r) * 8 + c] == Approx(235.0 / 255.0));
    }
  // A JPEG of another size: a constant colour stays (almost: JPEG is lossy) that colour.
  const auto jpeg = ds[2];
  for (std::size_t p = 0; p < 48; ++p) {
    REQUIRE(jpeg.x[p] == Approx(200.0 / 255.0).margin(0.02));
    REQUIRE(jpeg.x[48 + p] == Approx(100.0 / 255.0).margin(0.02));
    REQUIRE(jpeg.x[96 + p] == Approx(50.0 / 255.0).margin(0.02));
  }
  // 20 x 10 -> 8 x 6: resized; a channel constant in the source stays constant.
  const auto big = ds[4];
  CHECK(big.y == 2);
  for (std::size_t p = 0; p < 48; ++p) REQUIRE(big.x[96 + p] == Approx(215.0 / 255.0));
  CHECK(big.x[0] < big.x[7]);  // red grows left to right
}

TEST_CASE("ImageFolder: grey images, transforms and a DataLoader (seed 002)", "[data][image_folder]") {
  TempDir dir;
  write_food(dir.path());
  ImageFolder<Shape<1, 6, 8>> grey(dir.path());
  const auto g = grey[2];
  CHECK(g.x[0] == Approx((0.299 * 200 + 0.587 * 100 + 0.114 * 50) / 255.0).margin(0.03));

  // data_transform = Compose([Resize((64, 64)), RandomHorizontalFlip(p=1), ToTensor()])
  ImageFolder<Shape<3, 6, 8>> plain(dir.path());
  ImageFolder<Shape<3, 6, 8>> flipped(dir.path(), Compose{RandomHorizontalFlip(1.0), ToTensor{}});
  const auto a = plain[0], b = flipped[0];
  for (std::size_t r = 0; r < 18; ++r)
    for (std::size_t c = 0; c < 8; ++c) REQUIRE(b.x[r * 8 + c] == a.x[r * 8 + 7 - c]);

  ImageFolder<Shape<3, 64, 64>> train_data(dir.path(), Compose{RandomHorizontalFlip(0.5, manual_seed(42))});
  DataLoader loader(train_data, {.batch_size = 2, .shuffle = true});
  CHECK(loader.size() == 3);
  std::vector<std::int64_t> labels;
  for (const auto& [x, y] : loader) {
    CHECK(x.batch_size() == y.batch_size());
    for (float v : x.values()) REQUIRE((v >= 0.0f && v <= 1.0f));
    labels.insert(labels.end(), y.values().begin(), y.values().end());
  }
  std::sort(labels.begin(), labels.end());
  CHECK(labels == std::vector<std::int64_t>{0, 0, 0, 1, 2});
}

TEST_CASE("ImageFolder: errors name the folder or the file", "[data][image_folder]") {
  TempDir dir;
  using Folder8 = ImageFolder<Shape<3, 8, 8>>;
  CHECK_THROWS_WITH(Folder8(dir / "missing"), Contains((dir / "missing").string()) &&
                                                                      Contains("no such directory"));
  CHECK_THROWS_WITH(Folder8(dir.path()), Contains(dir.path().string()) &&
                                                                 Contains("no class folders"));
  png(dir / "cats" / "1.png", 4, 4, 0);
  std::filesystem::create_directories(dir / "dogs");
  ctnn_test::write_bytes(dir / "dogs" / "readme.txt", {'x'});
  CHECK_THROWS_WITH(Folder8(dir.path()), Contains("no image files") && Contains("dogs"));
  ctnn_test::write_bytes(dir / "dogs" / "broken.png", {'n', 'o', 't', ' ', 'p', 'n', 'g'});
  Folder8 ds(dir.path());
  REQUIRE(ds.size() == 2);
  CHECK(ds[0].y == 0);
  CHECK_THROWS_WITH(ds[1], Contains((dir / "dogs" / "broken.png").string()) && Contains("cannot decode image"));
  // The error of a background load reaches the loop.
  DataLoader loader(ds, {.batch_size = 1, .prefetch = true});
  auto run = [&] {
    for (const auto& b : loader) (void)b;
  };
  CHECK_THROWS_WITH(run(), Contains("broken.png"));
}
