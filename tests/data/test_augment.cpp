// Augmentation (issue 11): RandomCrop, RandomErasing, ColorJitter and TrivialAugmentWide against
// torchvision 0.14 (fixtures from tests/fixtures/make_data_fixtures.py: the operations with fixed
// parameters; the random draws by their distribution), the multi-worker DataLoader (batches that do not
// depend on the worker count, bounded prefetch, errors, early exit), and precision / recall / F1 as
// torchmetrics computes them.
#include <catch2/catch.hpp>
#include <ctnn/ctnn.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "fixture.hpp"

using namespace ctnn;
using namespace ctnn::data;
using Catch::Matchers::Contains;
using TA = TrivialAugmentWide;

namespace {

std::vector<std::uint8_t> bytes_of(const ctnn_test::FixtureTensor& t) {
  std::vector<std::uint8_t> out;
  for (double v : t.values) out.push_back(static_cast<std::uint8_t>(v));
  return out;
}

// An image data set of random pixels in [0, 1] that applies a transform in load(), as FashionMNIST does.
template <std::size_t C, std::size_t H, std::size_t W>
class Pictures : public dataset_ops<Pictures<C, H, W>> {
 public:
  using sample_shape = Shape<C, H, W>;
  using target_type = std::int64_t;
  Pictures(std::size_t n, Transform t) : n_(n), transform_(std::move(t)) {}
  std::size_t size() const { return n_; }
  void load(std::size_t i, float* x, std::int64_t* y) const {
    for (std::size_t k = 0; k < sample_shape::size; ++k)
      x[k] = static_cast<float>(std::nearbyint(rng::uniform(i, k) * 255.0) / 255.0);
    if (transform_) transform_(ImageView{x, C, H, W});
    *y = static_cast<std::int64_t>(i);
  }

 private:
  std::size_t n_;
  Transform transform_;
};

// Every batch of `epochs` epochs, flattened.
template <class D>
std::vector<std::vector<float>> epochs_of(const D& ds, LoaderOptions options, std::size_t epochs) {
  Generator g(99);
  DataLoader loader(ds, options, g);
  std::vector<std::vector<float>> out;
  for (std::size_t e = 0; e < epochs; ++e)
    for (const auto& [x, y] : loader) {
      out.emplace_back(x.data(), x.data() + x.size());
      for (std::size_t i = 0; i < y.size(); ++i) out.back().push_back(static_cast<float>(y.data()[i]));
    }
  return out;
}

}  // namespace

// ---- torchvision parity ------------------------------------------------------------------------------

TEST_CASE("TrivialAugmentWide: the 14 ops and their bins as torchvision 0.14 on uint8 images", "[data][augment]") {
  const auto fx = ctnn_test::load_fixture("transforms_uint8");
  TA ta;
  for (std::size_t k = 0; k < TA::op_count; ++k) {
    const auto op = static_cast<TA::Op>(k);
    const std::string name(TA::op_names[k]);
    if (TA::has_magnitude(op)) {
      const auto& mags = fx.at("magnitudes_" + name).values;
      REQUIRE(mags.size() == 31);
      for (std::size_t b = 0; b < 31; ++b) CHECK(ta.magnitude(op, b) == mags[b]);
    }
    std::vector<std::pair<std::string, double>> cases;
    if (!TA::has_magnitude(op)) cases.push_back({"", 0.0});
    else
      for (std::size_t b : {0, 7, 19, 30}) {
        cases.push_back({std::to_string(b), ta.magnitude(op, b)});
        if (TA::is_signed(op)) cases.push_back({std::to_string(b) + "m", -ta.magnitude(op, b)});
      }
    for (const auto& [suffix, mag] : cases)
      for (const std::string image : {"image3", "image1"}) {
        const auto& in = fx.at(image);
        auto pixels = bytes_of(in);
        TA::apply(functional::ByteImage{pixels.data(), in.shape[0], in.shape[1], in.shape[2]}, op, mag);
        const auto want = bytes_of(fx.at(name + "_" + suffix + "_" + image));
        std::size_t wrong = 0;
        for (std::size_t i = 0; i < want.size(); ++i) wrong += pixels[i] != want[i];
        INFO(name << "_" << suffix << "_" << image);
        CHECK(wrong == 0);
      }
  }
}

TEST_CASE("ColorJitter's operations as torchvision 0.14 on float images", "[data][augment]") {
  const auto fx = ctnn_test::load_fixture("transforms_float");
  for (const std::string image : {"image3", "image1"}) {
    const auto& in = fx.at(image);
    auto run = [&](auto op, float f, const std::string& key) {
      std::vector<float> x(in.values.begin(), in.values.end());
      op(ImageView{x.data(), in.shape[0], in.shape[1], in.shape[2]}, f);
      const auto& want = fx.at(key + "_" + image).values;
      double worst = 0;
      for (std::size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::abs(x[i] - want[i]));
      INFO(key << "_" << image);
      CHECK(worst <= 2e-6);  // float32 arithmetic in another order (the mean, the HSV round trip)
    };
    for (float f : {0.3f, 1.7f}) {
      const std::string s = f < 1 ? "0.3" : "1.7";
      run([](ImageView v, float g) { functional::adjust_brightness(v, g); }, f, "brightness_" + s);
      run([](ImageView v, float g) { functional::adjust_contrast(v, g); }, f, "contrast_" + s);
      run([](ImageView v, float g) { functional::adjust_saturation(v, g); }, f, "saturation_" + s);
    }
    run([](ImageView v, float g) { functional::adjust_hue(v, g); }, -0.4f, "hue_-0.4");
    run([](ImageView v, float g) { functional::adjust_hue(v, g); }, 0.15f, "hue_0.15");
    run([](ImageView v, float g) { functional::adjust_hue(v, g); }, 0.5f, "hue_0.5");
  }
}

// ---- the random draws ----------------------------------------------------------------------------------

TEST_CASE("RandomCrop: zero padding, uniform offsets, pad_if_needed, errors", "[data][augment]") {
  Generator g(3);
  RandomCrop<4, 1> crop(false, 0.0f, g);
  std::map<std::pair<int, int>, int> offsets;
  for (int k = 0; k < 2700; ++k) {
    std::vector<float> img(2 * 16);
    for (std::size_t i = 0; i < img.size(); ++i) img[i] = static_cast<float>(i + 1);
    const auto original = img;
    crop(ImageView{img.data(), 2, 4, 4});
    // The result is the 6 x 6 zero-padded image's window at some (i, j) in 0..2.
    bool found = false;
    for (int i = 0; i <= 2 && !found; ++i)
      for (int j = 0; j <= 2 && !found; ++j) {
        bool same = true;
        for (int c = 0; c < 2; ++c)
          for (int y = 0; y < 4; ++y)
            for (int x = 0; x < 4; ++x) {
              const int sy = i + y - 1, sx = j + x - 1;
              const float want = sy < 0 || sy > 3 || sx < 0 || sx > 3 ? 0.0f : original[static_cast<std::size_t>(c * 16 + sy * 4 + sx)];
              same = same && img[static_cast<std::size_t>(c * 16 + y * 4 + x)] == want;
            }
        if (same) {
          found = true;
          ++offsets[{i, j}];
        }
      }
    REQUIRE(found);
  }
  REQUIRE(offsets.size() == 9);
  for (const auto& [ij, count] : offsets) CHECK(std::abs(count - 300) < 75);  // about 6 standard deviations

  // A 2 x 3 image cropped to 4 x 4 with pad_if_needed: padded by 2 and 1 on both sides (6 x 5), filled 7.
  RandomCrop<4> grow(true, 7.0f, g);
  const float small[] = {1, 2, 3, 4, 5, 6};
  float out[16];
  for (int k = 0; k < 50; ++k) {
    grow(small, 1, 2, 3, out);
    int image_pixels = 0, filled = 0;
    for (float v : out) (v == 7.0f ? filled : image_pixels) += 1;
    CHECK(image_pixels + filled == 16);
    CHECK(image_pixels >= 2);  // every 4 x 4 window of the 6 x 5 canvas holds part of the image
  }
  CHECK_THROWS_WITH(RandomCrop<4>(false, 0.0f, g)(small, 1, 2, 3, out), Contains("larger than the input image size"));
  std::vector<float> wrong(25);
  CHECK_THROWS_AS(RandomCrop<4>()(ImageView{wrong.data(), 1, 5, 5}), ctnn::error);
}

TEST_CASE("RandomErasing: one rectangle of the value, inside scale and ratio, with probability p", "[data][augment]") {
  Generator g(4);
  RandomErasing always(1.0, {0.02, 0.33}, {0.3, 3.3}, {0.25, 0.5, 0.75}, g);
  int erased = 0;
  for (int k = 0; k < 500; ++k) {
    std::vector<float> img(3 * 20 * 30, 1.0f);
    always(ImageView{img.data(), 3, 20, 30});
    std::size_t count = 0, top = 99, left = 99, bottom = 0, right = 0;
    for (std::size_t y = 0; y < 20; ++y)
      for (std::size_t x = 0; x < 30; ++x)
        if (img[y * 30 + x] != 1.0f) {
          ++count;
          top = std::min(top, y), left = std::min(left, x), bottom = std::max(bottom, y), right = std::max(right, x);
          CHECK(img[y * 30 + x] == 0.25f);
          CHECK(img[600 + y * 30 + x] == 0.5f);
          CHECK(img[1200 + y * 30 + x] == 0.75f);
        }
    if (count == 0) continue;  // a rectangle rounded to nothing, or 10 tries without a fit
    ++erased;
    const double h = static_cast<double>(bottom - top + 1), w = static_cast<double>(right - left + 1);
    REQUIRE(static_cast<double>(count) == h * w);  // one rectangle
    const double scale = h * w / 600.0, ratio = h / w;
    CHECK(scale >= 0.5 * 0.02);  // rounding of h and w widens the ranges a little
    CHECK(scale <= 0.45);
    CHECK(ratio >= 0.3 * 0.6);
    CHECK(ratio <= 3.3 / 0.6);
  }
  CHECK(erased > 450);

  RandomErasing half(0.5, {0.1, 0.2}, {0.5, 2.0}, {}, g);  // value "random": normal noise
  int changed = 0;
  double sum = 0, sq = 0, n = 0;
  for (int k = 0; k < 1000; ++k) {
    std::vector<float> img(1 * 16 * 16, 100.0f);
    half(ImageView{img.data(), 1, 16, 16});
    bool any = false;
    for (float v : img)
      if (v != 100.0f) any = true, sum += v, sq += double(v) * v, n += 1;
    changed += any;
  }
  CHECK(std::abs(changed - 500) < 80);
  CHECK(std::abs(sum / n) < 0.05);
  CHECK(std::abs(sq / n - 1.0) < 0.05);
  CHECK_THROWS_WITH(RandomErasing(1.5), Contains("probability 1.5"));
}

TEST_CASE("ColorJitter: factor ranges, a random order, one channel", "[data][augment]") {
  Generator g(5);
  ColorJitter jitter(0.4, 0.3, 0.2, 0.1, g);
  std::map<std::size_t, int> first;
  for (int k = 0; k < 2400; ++k) {
    draws d(static_cast<std::uint64_t>(k));
    const auto p = jitter.draw(d);
    CHECK(p.factor[0] >= 0.6);
    CHECK(p.factor[0] < 1.4);
    CHECK(p.factor[1] >= 0.7);
    CHECK(p.factor[1] < 1.3);
    CHECK(p.factor[2] >= 0.8);
    CHECK(p.factor[2] < 1.2);
    CHECK(std::abs(p.factor[3]) <= 0.1);
    ++first[p.order[0]];
  }
  for (const auto& [op, count] : first) CHECK(std::abs(count - 600) < 120);
  // Only brightness: the other three are off.
  ColorJitter only(0.5, 0, 0, 0, g);
  draws d(1);
  const auto p = only.draw(d);
  CHECK(p.use == std::array<bool, 4>{true, false, false, false});
  // Saturation and hue leave one channel alone; red shifted by a third of the hue circle is green.
  std::vector<float> gray = {0.2f, 0.6f};
  functional::adjust_saturation(ImageView{gray.data(), 1, 1, 2}, 0.0f);
  functional::adjust_hue(ImageView{gray.data(), 1, 1, 2}, 0.3f);
  CHECK(gray == std::vector<float>{0.2f, 0.6f});
  std::vector<float> red = {1.0f, 0.0f, 0.0f};
  functional::adjust_hue(ImageView{red.data(), 3, 1, 1}, 1.0f / 3.0f);
  CHECK(red[0] == Approx(0.0f).margin(1e-6));
  CHECK(red[1] == Approx(1.0f));
  CHECK(red[2] == Approx(0.0f).margin(1e-6));
  CHECK_THROWS_WITH(ColorJitter(0, 0, 0, 0.7), Contains("hue 0.7"));
}

TEST_CASE("TrivialAugmentWide: ops, bins and signs drawn uniformly; [0, 1] in and out", "[data][augment]") {
  TA ta;
  std::map<TA::Op, int> ops;
  int negative = 0, signed_draws = 0;
  for (std::uint64_t k = 0; k < 14000; ++k) {
    draws d(k);
    const auto p = ta.draw(d);
    ++ops[p.op];
    if (TA::is_signed(p.op) && p.magnitude != 0) ++signed_draws, negative += p.magnitude < 0;
  }
  REQUIRE(ops.size() == 14);
  for (const auto& [op, count] : ops) CHECK(std::abs(count - 1000) < 160);
  CHECK(std::abs(negative - signed_draws / 2) < 4 * std::sqrt(signed_draws / 4.0));
  // A float image goes through uint8: the values come back as multiples of 1/255.
  Generator g(6);
  TA seeded(31, g);
  std::vector<float> img(3 * 8 * 8);
  for (std::size_t i = 0; i < img.size(); ++i) img[i] = static_cast<float>(i % 256) / 255.0f;
  for (int k = 0; k < 20; ++k) seeded(ImageView{img.data(), 3, 8, 8});
  for (float v : img) CHECK(std::abs(v * 255.0f - std::nearbyint(v * 255.0f)) < 1e-4);
  std::vector<float> two(2 * 4);
  CHECK_THROWS_WITH(ta(ImageView{two.data(), 2, 2, 2}), Contains("2 channels"));
}

// ---- the multi-worker DataLoader ------------------------------------------------------------------------

TEST_CASE("DataLoader: 0, 1, 2 and 4 workers give bit-identical batches, augmentations included",
          "[data][augment][loader]") {
  Generator g(8);
  Pictures<3, 12, 12> ds(61, Compose{RandomCrop<12, 2>(false, 0.0f, g), RandomHorizontalFlip(0.5, g),
                                     TrivialAugmentWide(31, g), ColorJitter(0.4, 0.4, 0.4, 0.1, g),
                                     RandomErasing(0.5, {0.02, 0.33}, {0.3, 3.3}, {0.0}, g)});
  const auto serial = epochs_of(ds, {.batch_size = 8, .shuffle = true, .prefetch = false}, 2);
  REQUIRE(serial.size() == 16);
  CHECK(serial[0] != serial[8]);  // another epoch, another order and other augmentations
  CHECK(epochs_of(ds, {.batch_size = 8, .shuffle = true, .prefetch = true}, 2) == serial);
  for (std::size_t workers : {1, 2, 4}) {
    INFO(workers << " workers");
    CHECK(epochs_of(ds, {.batch_size = 8, .shuffle = true, .num_workers = workers}, 2) == serial);
    CHECK(epochs_of(ds, {.batch_size = 8, .shuffle = true, .num_workers = workers, .prefetch_factor = 1}, 2) == serial);
  }
}

namespace {
// Counts loads; sample `fail_at` throws `Error`.
template <class Error>
struct Counting : dataset_ops<Counting<Error>> {
  using sample_shape = Shape<1>;
  using target_type = std::int64_t;
  std::shared_ptr<std::atomic<std::size_t>> loads = std::make_shared<std::atomic<std::size_t>>(0);
  std::size_t n = 100, fail_at = static_cast<std::size_t>(-1);
  std::size_t size() const { return n; }
  void load(std::size_t i, float* x, std::int64_t* y) const {
    if (i == fail_at) throw Error("sample " + std::to_string(i) + " is broken");
    loads->fetch_add(1);
    *x = static_cast<float>(i);
    *y = static_cast<std::int64_t>(i);
  }
};
}  // namespace

TEST_CASE("DataLoader workers: bounded prefetch, errors as ctnn::error, early exit and shutdown",
          "[data][augment][loader]") {
  SECTION("at most prefetch_factor * num_workers batches ahead") {
    Counting<std::runtime_error> ds;
    DataLoader loader(ds, {.batch_size = 2, .num_workers = 2, .prefetch_factor = 2});
    // Waits (up to 10 s, for loaded or sanitized runs) until the workers reach `n` loads, then gives
    // them time to overshoot.
    auto settle = [&](std::size_t n) {
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (ds.loads->load() < n && std::chrono::steady_clock::now() < give_up)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      return ds.loads->load();
    };
    auto it = loader.begin();
    CHECK(settle(2 * (1 + 4)) == 2 * (1 + 4));  // the current batch and 4 ahead
    ++it;
    CHECK(settle(2 * (2 + 4)) == 2 * (2 + 4));
  }
  SECTION("a worker's std::exception reaches the loop as ctnn::error, at its batch") {
    Counting<std::runtime_error> ds;
    ds.fail_at = 13;
    DataLoader loader(ds, {.batch_size = 4, .num_workers = 3});
    std::size_t reached = 0;
    auto loop = [&] {
      for (const auto& b : loader) reached += b.x.batch_size();
    };
    CHECK_THROWS_AS(loop(), ctnn::error);
    CHECK(reached == 12);
    CHECK_THROWS_WITH(loop(), Contains("batch 3") && Contains("sample 13 is broken"));
    Counting<ctnn::error> ds2;
    ds2.fail_at = 0;
    DataLoader loader2(ds2, {.batch_size = 4, .num_workers = 2});
    CHECK_THROWS_WITH(loader2.begin(), Catch::Equals("ctnn: sample 0 is broken"));  // a ctnn::error as it is
  }
  SECTION("leaving an epoch early, starting the next, destroying the loader mid-epoch") {
    Counting<std::runtime_error> ds;
    ds.n = 1000;
    std::vector<float> firsts;
    {
      DataLoader loader(ds, {.batch_size = 10, .num_workers = 4});
      for (int epoch = 0; epoch < 3; ++epoch)
        for (const auto& [x, y] : loader) {
          firsts.push_back(x.data()[0]);
          break;
        }
      auto it = loader.begin();
      ++it;
      ++it;
      CHECK((*it).x.data()[0] == 20.0f);
    }  // joins 4 workers with batches in flight
    CHECK(firsts == std::vector<float>{0, 0, 0});
    CHECK(ds.loads->load() < 1000);
  }
  CHECK_THROWS_WITH(DataLoader(Counting<std::runtime_error>{}, {.num_workers = 1, .prefetch_factor = 0}),
                    Contains("prefetch_factor"));
}

// ---- metrics --------------------------------------------------------------------------------------------

TEST_CASE("precision, recall and F1 as torchmetrics (micro, macro, weighted, per class)", "[metrics]") {
  const auto fx = ctnn_test::load_fixture("metrics_multiclass");
  std::vector<std::int64_t> target, preds;
  for (double v : fx.at("target").values) target.push_back(static_cast<std::int64_t>(v));
  for (double v : fx.at("preds").values) preds.push_back(static_cast<std::int64_t>(v));
  metrics::ConfusionMatrix cm(6);
  cm.add(target, preds);
  using metrics::Average;
  const std::pair<std::string, Average> averages[] = {
      {"micro", Average::micro}, {"macro", Average::macro}, {"weighted", Average::weighted}};
  for (const auto& [name, avg] : averages) {
    INFO(name);
    CHECK(cm.precision(avg) == Approx(fx.at("precision_" + name).values[0]).epsilon(1e-12));
    CHECK(cm.recall(avg) == Approx(fx.at("recall_" + name).values[0]).epsilon(1e-12));
    CHECK(cm.f1_score(avg) == Approx(fx.at("f1_" + name).values[0]).epsilon(1e-12));
  }
  auto close = [](const std::vector<double>& a, const std::vector<double>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (std::abs(a[i] - b[i]) > 1e-12) return false;
    return true;
  };
  CHECK(close(cm.precision_per_class(), fx.at("precision_none").values));
  CHECK(close(cm.recall_per_class(), fx.at("recall_none").values));
  CHECK(close(cm.f1_per_class(), fx.at("f1_none").values));
  CHECK(cm.precision(Average::micro) == Approx(cm.accuracy() / 100));
  CHECK(cm.precision_per_class()[3] == 0.0);  // never predicted: 0 / 0 is 0
  CHECK(metrics::ConfusionMatrix(3).f1_score() == 0.0);
}
