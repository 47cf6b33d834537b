// Pictures are real PNG files: written atomically, read back with stb_image, with the pixels drawn.
#include <catch2/catch.hpp>

#include <ctnn/ctnn.hpp>
#include <stb/stb_image.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "temp_dir.hpp"

using namespace ctnn;

namespace {
struct Image {
  int w = 0, h = 0, channels = 0;
  std::vector<unsigned char> pixels;
};
Image read(const std::filesystem::path& p) {
  Image im;
  unsigned char* data = stbi_load(p.string().c_str(), &im.w, &im.h, &im.channels, 3);
  REQUIRE(data != nullptr);
  im.pixels.assign(data, data + im.w * im.h * 3);
  stbi_image_free(data);
  return im;
}
}  // namespace

TEST_CASE("write_png writes a PNG that decodes to the same pixels") {
  viz::Canvas c(40, 30, viz::colors::white);
  c.fill_rect(10, 5, 5, 5, viz::colors::red);
  c.line(0, 29, 39, 29, viz::colors::blue);
  const ctnn_test::TempDir dir;
  const auto path = dir / "canvas.png";
  viz::write_png(path, c);
  const Image im = read(path);
  REQUIRE(im.w == 40);
  REQUIRE(im.h == 30);
  auto at = [&](int x, int y) { return std::array<int, 3>{im.pixels[(y * 40 + x) * 3], im.pixels[(y * 40 + x) * 3 + 1], im.pixels[(y * 40 + x) * 3 + 2]}; };
  CHECK(at(12, 7) == std::array<int, 3>{214, 39, 40});
  CHECK(at(0, 0) == std::array<int, 3>{255, 255, 255});
  CHECK(at(20, 29) == std::array<int, 3>{31, 119, 180});
  CHECK_FALSE(std::filesystem::exists(path.string() + ".tmp"));
  // Written by the checkpoints' atomic writer: no temporary of its naming is left either.
  CHECK(dir.files() == std::vector<std::string>{"canvas.png"});
}

TEST_CASE("a failed write names the file and leaves the old picture intact") {
  const ctnn_test::TempDir dir;
  const auto path = dir / "keep.png";
  viz::write_png(path, viz::Canvas(4, 4));
  const auto size = std::filesystem::file_size(path);
  CHECK_THROWS_WITH(viz::write_png(dir / "missing-dir" / "x" / "y.png", viz::Canvas(4, 4)),
                    Catch::Contains("y.png") && Catch::Contains("cannot save") && Catch::Contains("does not exist"));
  CHECK(std::filesystem::file_size(path) == size);
}

TEST_CASE("plots render: loss curves, confusion matrix, image grid") {
  const ctnn_test::TempDir dir;
  const auto curves = viz::loss_curves({0.9, 0.6, 0.5}, {0.8, 0.7, 0.6}, {60, 75, 80}, {62, 70, 78});
  CHECK(curves.width() == 1000);
  viz::write_png(dir / "curves.png", curves);
  CHECK(read(dir / "curves.png").w == 1000);

  std::vector<std::vector<std::size_t>> m = {{5, 1}, {0, 7}};
  const auto cm = viz::confusion_matrix_plot(m, {"T-shirt/top", "Ankle boot"});
  viz::write_png(dir / "cm.png", cm);
  const Image im = read(dir / "cm.png");
  // The darkest cell (7 of 7) is dark blue somewhere in the picture.
  bool dark_blue = false;
  for (std::size_t i = 0; i + 2 < im.pixels.size(); i += 3) dark_blue = dark_blue || (im.pixels[i] < 20 && im.pixels[i + 2] > 90);
  CHECK(dark_blue);
  CHECK_THROWS_AS(viz::confusion_matrix_plot(m, {"only one"}), ctnn::error);

  std::vector<float> white(28 * 28, 1.0f);
  const auto grid = viz::image_grid({{white.data(), "Pred: Bag | Truth: Bag", viz::colors::green}}, 1, 28, 28, 2);
  CHECK(grid.height() == 28 * 2 + 36);
}
