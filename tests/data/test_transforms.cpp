// Transforms: ToTensor, Normalize, RandomHorizontalFlip, Resize (bilinear, as PyTorch/PIL), Compose.
#include <catch2/catch.hpp>

#include <ctnn/ctnn.hpp>

using namespace ctnn;
using namespace ctnn::data;
using Catch::Matchers::Contains;

TEST_CASE("ToTensor: bytes to [0, 1], interleaved to channel-major", "[data][transforms]") {
  const std::uint8_t bytes[] = {0, 51, 255, 128};
  float out[4];
  ToTensor::convert(bytes, 4, out);
  CHECK(out[0] == 0.0f);
  CHECK(out[1] == Approx(0.2));
  CHECK(out[2] == 1.0f);
  CHECK(out[3] == Approx(128.0 / 255.0));
  // 1 x 2 RGB pixels: [r0 g0 b0 r1 g1 b1] -> [r0 r1 g0 g1 b0 b1]
  const std::uint8_t hwc[] = {255, 0, 51, 0, 255, 102};
  float chw[6];
  ToTensor::convert_hwc(hwc, 1, 2, 3, chw);
  CHECK(chw[0] == 1.0f);
  CHECK(chw[1] == 0.0f);
  CHECK(chw[2] == 0.0f);
  CHECK(chw[3] == 1.0f);
  CHECK(chw[4] == Approx(0.2));
  CHECK(chw[5] == Approx(0.4));
}

TEST_CASE("Normalize: per channel, or one value for every channel", "[data][transforms]") {
  std::vector<float> img = {0.0f, 1.0f, 0.5f, 0.5f, 0.2f, 0.4f};  // 3 channels of 1 x 2
  Normalize({0.4914, 0.4822, 0.4465}, {0.2470, 0.2435, 0.2616})(ImageView{img.data(), 3, 1, 2});
  CHECK(img[0] == Approx((0.0 - 0.4914) / 0.2470));
  CHECK(img[1] == Approx((1.0 - 0.4914) / 0.2470));
  CHECK(img[2] == Approx((0.5 - 0.4822) / 0.2435));
  CHECK(img[5] == Approx((0.4 - 0.4465) / 0.2616));

  std::vector<float> grey = {0.0f, 0.5f, 1.0f};
  Normalize({0.5}, {0.5})(ImageView{grey.data(), 1, 1, 3});
  CHECK(grey == std::vector<float>{-1.0f, 0.0f, 1.0f});

  std::vector<float> two(4);
  CHECK_THROWS_WITH(Normalize({0.5, 0.5, 0.5}, {1, 1, 1})(ImageView{two.data(), 2, 1, 2}),
                    Contains("3 means for an image of 2 channels"));
  CHECK_THROWS_WITH(Normalize({0.5}, {0.0}), Contains("standard deviation 0"));
  CHECK_THROWS_WITH(Normalize({0.5, 0.5}, {0.5}), Contains("2 means and 1 standard deviations"));
}

TEST_CASE("RandomHorizontalFlip: p = 1 mirrors, p = 0 keeps, p = 0.5 about half, seeded", "[data][transforms]") {
  const std::vector<float> original = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};  // 2 channels of 2 x 3
  auto img = original;
  RandomHorizontalFlip(1.0)(ImageView{img.data(), 2, 2, 3});
  CHECK(img == std::vector<float>{3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10});
  img = original;
  RandomHorizontalFlip(0.0)(ImageView{img.data(), 2, 2, 3});
  CHECK(img == original);

  Generator g1(5), g2(5);
  RandomHorizontalFlip a(0.5, g1), b(0.5, g2);
  std::size_t flips = 0;
  for (int k = 0; k < 2000; ++k) {
    auto x = original, y = original;
    a(ImageView{x.data(), 2, 2, 3});
    b(ImageView{y.data(), 2, 2, 3});
    REQUIRE(x == y);  // same seed, same decisions
    flips += x != original;
  }
  CHECK(flips > 900);
  CHECK(flips < 1100);
  // Copies share the stream (as copies of a data set share its transform).
  RandomHorizontalFlip c = a;
  std::size_t copy_flips = 0;
  for (int k = 0; k < 100; ++k) {
    auto x = original, y = original;
    a(ImageView{x.data(), 2, 2, 3});
    c(ImageView{y.data(), 2, 2, 3});
    copy_flips += (x != original) + (y != original);
  }
  CHECK(copy_flips > 0);
  CHECK_THROWS_WITH(RandomHorizontalFlip(1.5), Contains("probability 1.5"));
}

TEST_CASE("Resize: bilinear with half-pixel centres, antialiased when shrinking", "[data][transforms]") {
  // Upscaling 2 x 2 -> 4 x 4 matches F.interpolate(mode="bilinear", align_corners=False).
  const float src[] = {0, 1, 2, 3};
  float up[16];
  resize_bilinear(src, 1, 2, 2, up, 4, 4);
  const float expected[] = {0, 0.25f, 0.75f, 1, 0.5f, 0.75f, 1.25f, 1.5f, 1.5f, 1.75f, 2.25f, 2.5f, 2, 2.25f, 2.75f, 3};
  for (int k = 0; k < 16; ++k) CHECK(up[k] == Approx(expected[k]));

  // Shrinking 1 x 4 -> 1 x 2 with PIL's triangle filter of doubled width.
  const float row[] = {0, 1, 2, 3};
  float down[2];
  Resize{1, 2}(row, 1, 1, 4, down);
  CHECK(down[0] == Approx(1.25 / 1.75));
  CHECK(down[1] == Approx(4.0 / 1.75));

  // A constant image stays constant at any size; equal sizes copy.
  std::vector<float> flat(3 * 17 * 23, 0.25f), out(3 * 64 * 64);
  resize_bilinear(flat.data(), 3, 17, 23, out.data(), 64, 64);
  for (float v : out) REQUIRE(v == Approx(0.25f));
  std::vector<float> small(3 * 5 * 7, 0.75f), out2(3 * 2 * 3);
  resize_bilinear(small.data(), 3, 5, 7, out2.data(), 2, 3);
  for (float v : out2) REQUIRE(v == Approx(0.75f));
  float same[4];
  resize_bilinear(src, 1, 2, 2, same, 2, 2);
  CHECK(std::equal(src, src + 4, same));
  CHECK_THROWS_WITH(resize_bilinear(src, 1, 0, 2, same, 2, 2), Contains("cannot resize 0 x 2"));
}

TEST_CASE("Compose applies its stages in order", "[data][transforms]") {
  std::vector<float> img = {0.0f, 0.5f, 1.0f};
  Compose{ToTensor{}, Normalize({0.5}, {0.5}), RandomHorizontalFlip(1.0), [](ImageView v) { v.data[0] += 10; }}(
      ImageView{img.data(), 1, 1, 3});
  CHECK(img == std::vector<float>{11.0f, 0.0f, -1.0f});
  // A Transform holds any of them.
  Transform t = Compose{Normalize({0.5}, {0.5})};
  t(ImageView{img.data(), 1, 1, 3});
  CHECK(img[1] == -1.0f);
}
