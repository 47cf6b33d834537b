// ImageFolder on PNG and JPEG files written into a temporary directory with stb_image_write (and
// decoded by libpng and libjpeg-turbo: tests/data/test_image_decode.cpp tests the decoders).
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <stb/stb_image_write.h>

#include <ctnn/ctnn.hpp>

#include "temp_dir.hpp"
#include "test_files.hpp"

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
  CHECK_THROWS_WITH(ds[1], Contains(cat((dir / "dogs" / "broken.png").string(),
                                        ": not a PNG or JPEG file (it starts with 6e 6f 74 20 70 6e 67)")));
  // The error of a background load reaches the loop.
  DataLoader loader(ds, {.batch_size = 1, .prefetch = true});
  auto run = [&] {
    for (const auto& b : loader) (void)b;
  };
  CHECK_THROWS_WITH(run(), Contains("broken.png"));
}

TEST_CASE("ImageFolder: untrusted files: limits, other formats, directories and FIFOs", "[data][image_folder]") {
  TempDir dir;
  png(dir / "cats" / "1.png", 8, 6, 0);
  png(dir / "cats" / "2.png", 20, 10, 0);
  using Folder = ImageFolder<Shape<3, 6, 8>>;
  // The default limits, and a smaller max_pixels: the 20 x 10 image is refused by its header.
  Folder plain(dir.path());
  CHECK(plain.limits().max_pixels == (std::uint64_t{1} << 26));
  CHECK(plain.limits().max_side == 65535u);
  CHECK(plain.limits().max_file_bytes == (std::uint64_t{1} << 28));
  Folder strict(dir.path(), {}, {.max_pixels = 100});
  CHECK(strict[0].y == 0);
  CHECK_THROWS_WITH(strict[1], Contains(cat((dir / "cats" / "2.png").string(),
                                            ": PNG: 20 x 10 = 200 pixels is more than the limit of 100 pixels "
                                            "(DecodeLimits::max_pixels)")));
  Folder small_files(dir.path(), {}, {.max_file_bytes = 10});
  CHECK_THROWS_WITH(small_files[0], Contains(cat((dir / "cats" / "1.png").string(), ": the file is ")) &&
                                        Contains("more than the limit of 10 bytes (DecodeLimits::max_file_bytes)"));

  // A directory named like an image is no image (an empty one is left out of the listing).
  std::filesystem::create_directories(dir / "cats" / "folder.png");
  CHECK(Folder(dir.path()).size() == 2);

  // A file replaced by a FIFO after the listing: refused at once, not waited on.
  Folder before(dir.path());
  std::filesystem::remove(dir / "cats" / "2.png");
  REQUIRE(::mkfifo((dir / "cats" / "2.png").c_str(), 0600) == 0);
  CHECK_THROWS_WITH(before[1], Contains(cat((dir / "cats" / "2.png").string(), ": is a FIFO (named pipe), not a regular file")));
  // FIFOs are no regular files: the listing leaves them out.
  CHECK(Folder(dir.path()).size() == 1);

  // A TGA header bomb (16000 x 8000) named .png: refused by its bytes, before any decoding.
  ctnn_test::write_bytes(dir / "cats" / "3.png", {0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x3e, 0x40, 0x1f, 0x18, 0});
  Folder with_tga(dir.path());
  REQUIRE(with_tga.size() == 2);
  CHECK_THROWS_WITH(with_tga[1], Contains(cat((dir / "cats" / "3.png").string(),
                                              ": not a PNG or JPEG file (it starts with 00 00 02 00 00 00 00 00)")));
  // An empty file.
  ctnn_test::write_bytes(dir / "cats" / "4.jpg", {});
  CHECK_THROWS_WITH(Folder(dir.path())[2], Contains(cat((dir / "cats" / "4.jpg").string(), ": empty file (0 bytes)")));

  // Files of formats ImageFolder no longer decodes are an error when the folder is read, not left out.
  ctnn_test::write_bytes(dir / "cats" / "old.bmp", {'B', 'M'});
  ctnn_test::write_bytes(dir / "cats" / "bomb.TGA", {0, 0, 2, 0});
  CHECK_THROWS_WITH(Folder(dir.path()),
                    Contains(cat("ImageFolder: ", dir.path().string(), ": 2 image file(s) in a format ImageFolder does "
                                 "not decode (PNG and JPEG only: .png .jpg .jpeg): ")) &&
                        Contains((dir / "cats" / "bomb.TGA").string()) && Contains((dir / "cats" / "old.bmp").string()));
}

TEST_CASE("ImageFolder: grey, palette and 16-bit PNGs and progressive JPEGs load like PIL's convert(\"RGB\")",
          "[data][image_folder]") {
  // Fixtures made by tests/fixtures/images/make_images.py; their pixels are checked exactly against
  // PIL in test_image_decode.cpp. Here: the same bytes arrive as ImageFolder's floats.
  TempDir dir;
  const auto fixtures = std::filesystem::path(CTNN_FIXTURES_DIR) / "images";
  std::filesystem::create_directories(dir / "a");
  for (const char* f : {"g4.png", "p8_trns.png", "rgb16.png", "rgba16_adam7.png"})
    std::filesystem::copy_file(fixtures / f, dir / "a" / f);
  ImageFolder<Shape<3, 7, 13>> ds(dir.path());
  REQUIRE(ds.size() == 4);
  for (std::size_t i = 0; i < ds.size(); ++i) {
    INFO(ds.path(i));
    const auto rgb = read_image(ds.path(i), 3);
    const auto sample = ds[i];
    for (std::size_t c = 0; c < 3; ++c)
      for (std::size_t p = 0; p < 7 * 13; ++p)
        REQUIRE(sample.x[c * 91 + p] == static_cast<float>(rgb.pixels[p * 3 + c]) * (1.0f / 255.0f));
  }
}
