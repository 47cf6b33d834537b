// Image decoding (data/image_decode.hpp): PNG through libpng, JPEG through libjpeg-turbo.
//  * Every fixture of tests/fixtures/images (written by make_images.py: every PNG colour type and bit
//    depth, tRNS, Adam7, JPEG baseline/progressive/grey/CMYK) decodes to exactly the bytes expected:
//    the samples the PNG encoder wrote, and PIL's Image.convert("L"/"LA"/"RGB"/"RGBA") of each file.
//  * Bad input of every kind is a ctnn::error naming the file and the fault, found from the header
//    before anything large is allocated: malformed Huffman tables, truncation, wrong magic, other
//    formats, decompression bombs, empty files, directories, FIFOs, oversized files.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <new>
#include <sstream>

#include <ctnn/ctnn.hpp>

#include "temp_dir.hpp"
#include "test_files.hpp"

using namespace ctnn;
using namespace ctnn::data;
using Catch::Matchers::Contains;
using ctnn_test::TempDir;

// The largest single operator new while `track_largest` is set: a header bomb must be refused before
// the pixel buffer (a std::vector) is allocated. Sanitizers bring their own operator new: off there.
#if defined(__SANITIZE_ADDRESS__)
#define CTNN_TEST_TRACK_NEW 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define CTNN_TEST_TRACK_NEW 0
#endif
#endif
#ifndef CTNN_TEST_TRACK_NEW
#define CTNN_TEST_TRACK_NEW 1
#endif
namespace {
std::atomic<bool> track_largest{false};
std::atomic<std::size_t> largest{0};
}  // namespace
#if CTNN_TEST_TRACK_NEW
namespace {
[[gnu::noinline]] void* tracked_alloc(std::size_t n) {
  if (track_largest.load(std::memory_order_relaxed) && n > largest.load(std::memory_order_relaxed)) largest = n;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void tracked_free(void* p) noexcept { std::free(p); }
}  // namespace
void* operator new(std::size_t n) { return tracked_alloc(n); }
void* operator new[](std::size_t n) { return tracked_alloc(n); }
void operator delete(void* p) noexcept { tracked_free(p); }
void operator delete[](void* p) noexcept { tracked_free(p); }
void operator delete(void* p, std::size_t) noexcept { tracked_free(p); }
void operator delete[](void* p, std::size_t) noexcept { tracked_free(p); }
#endif

namespace {

using bytes = std::vector<std::uint8_t>;

const std::filesystem::path fixtures = std::filesystem::path(CTNN_FIXTURES_DIR) / "images";

bytes from_hex(const std::string& hex) {
  bytes out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
  return out;
}

struct expected_image {
  std::string file;
  std::size_t width = 0, height = 0, channels = 0;
  bytes native;
  bytes pil[5];  // PIL's convert() to 1 (L), 2 (LA), 3 (RGB), 4 (RGBA) channels; index 0 unused
  bool has_pil = false;
};

std::vector<expected_image> expected_images() {
  std::ifstream in(fixtures / "expected.txt");
  REQUIRE(in);
  std::vector<expected_image> all;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    expected_image e;
    std::string native, l, la, rgb, rgba;
    ls >> e.file >> e.width >> e.height >> e.channels >> native >> l >> la >> rgb >> rgba;
    REQUIRE(ls);
    e.native = from_hex(native);
    e.has_pil = l != "-";
    if (e.has_pil) {
      e.pil[1] = from_hex(l);
      e.pil[2] = from_hex(la);
      e.pil[3] = from_hex(rgb);
      e.pil[4] = from_hex(rgba);
    }
    all.push_back(std::move(e));
  }
  return all;
}

// Differences between two decodings: how many bytes differ, and by how much at most.
struct difference {
  std::size_t count = 0;
  int largest = 0;
};
difference compare(const bytes& a, const bytes& b) {
  difference d;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i)
    if (a[i] != b[i]) {
      ++d.count;
      d.largest = std::max(d.largest, std::abs(int(a[i]) - int(b[i])));
    }
  return d;
}

// A PNG chunk with its CRC.
void put_chunk(bytes& out, const char* kind, const bytes& data) {
  auto be32 = [&](std::uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(v >> s));
  };
  be32(static_cast<std::uint32_t>(data.size()));
  bytes body(kind, kind + 4);
  body.insert(body.end(), data.begin(), data.end());
  out.insert(out.end(), body.begin(), body.end());
  be32(static_cast<std::uint32_t>(crc32(0, body.data(), static_cast<uInt>(body.size()))));
}
bytes ihdr(std::uint32_t w, std::uint32_t h, std::uint8_t depth = 8, std::uint8_t type = 2) {
  bytes d;
  for (std::uint32_t v : {w, h})
    for (int s = 24; s >= 0; s -= 8) d.push_back(static_cast<std::uint8_t>(v >> s));
  d.insert(d.end(), {depth, type, 0, 0, 0});
  return d;
}
bytes png_header(std::uint32_t w, std::uint32_t h) {
  bytes out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  put_chunk(out, "IHDR", ihdr(w, h));
  return out;
}

bytes fixture(const std::string& name) { return ctnn_test::read_bytes(fixtures / name); }

template <class F>
double seconds(F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST_CASE("decode_image: every fixture decodes to the expected bytes and to PIL's conversions", "[data][image_decode]") {
  const auto all = expected_images();
  REQUIRE(all.size() == 27);
  std::size_t png = 0, jpeg = 0, pil_checked = 0;
  for (const auto& e : all) {
    INFO(e.file);
    const auto file = fixtures / e.file;
    const DecodedImage native = read_image(file, 0);
    CHECK(native.width == e.width);
    CHECK(native.height == e.height);
    CHECK(native.channels == e.channels);
    REQUIRE(native.pixels.size() == e.width * e.height * e.channels);
    CHECK(native.pixels == e.native);
    (e.file.ends_with(".png") ? png : jpeg) += 1;
    if (!e.has_pil) continue;
    for (std::size_t c = 1; c <= 4; ++c) {
      INFO("converted to " << c << " channels");
      const DecodedImage im = read_image(file, c);
      REQUIRE(im.channels == c);
      REQUIRE(im.pixels.size() == e.pil[c].size());
      const difference d = compare(im.pixels, e.pil[c]);
      INFO(d.count << " bytes differ, by up to " << d.largest);
      CHECK(d.count == 0);
    }
    ++pil_checked;
  }
  CHECK(png == 22);
  CHECK(jpeg == 5);
  CHECK(pil_checked == 25);  // all but the two 16-bit grey PNGs, which PIL clips instead of scaling
}

TEST_CASE("decode_image: from memory, the format by signature, channel conversion", "[data][image_decode]") {
  const bytes png = fixture("rgb8.png");
  CHECK(image_format(png) == "PNG");
  CHECK(image_format(fixture("progressive.jpg")) == "JPEG");
  const DecodedImage a = decode_image(png, 3, {}, "mem.png");
  const DecodedImage b = read_image(fixtures / "rgb8.png", 3);
  CHECK(a.pixels == b.pixels);
  // The signature decides, not the name.
  CHECK(decode_image(png, 3, {}, "looks_like.jpg").pixels == a.pixels);

  // to_channels on a hand-made image: grey = (19595 R + 38470 G + 7471 B + 2^15) >> 16, alpha 255.
  DecodedImage px{2, 1, 3, {255, 0, 0, 10, 200, 30}};
  const auto grey = to_channels(px, 1);
  CHECK(grey.pixels == bytes{76, 124});
  CHECK(to_channels(px, 4).pixels == bytes{255, 0, 0, 255, 10, 200, 30, 255});
  CHECK(to_channels(to_channels(px, 2), 4).pixels == bytes{76, 76, 76, 255, 124, 124, 124, 255});
  CHECK_THROWS_WITH(decode_image(png, 5, {}, "x.png"), Contains("x.png") && Contains("5 channels"));
}

TEST_CASE("decode_image: malformed JPEGs are errors naming the file and the fault", "[data][image_decode]") {
  // SOI, then a DHT whose 16 counts sum to 512 > 256 (stb_image 2.27 wrote past its 257-byte table).
  bytes huff = {0xff, 0xd8, 0xff, 0xc4, 0x00, 0x13, 0x00};
  huff.insert(huff.end(), 16, 0x20);
  CHECK_THROWS_WITH(decode_image(huff, 3, {}, "images/cat/1.jpg"),
                    Contains("images/cat/1.jpg: JPEG: Bogus Huffman table definition"));
  // The 9-byte form: counts of 255, 255 and then the end of the file.
  const bytes nine = {0xff, 0xd8, 0xff, 0xc4, 0x00, 0xff, 0x00, 0xff, 0xff};
  CHECK_THROWS_WITH(decode_image(nine, 3, {}, "nine.jpg"), Contains("nine.jpg: JPEG: ") && Contains("Premature end"));
  // Truncated: half of a valid file, a baseline and a progressive one.
  for (const char* name : {"rgb420.jpg", "progressive.jpg"}) {
    bytes cut = fixture(name);
    cut.resize(cut.size() / 2);
    CHECK_THROWS_WITH(decode_image(cut, 3, {}, name), Contains(cat(name, ": JPEG: Premature end of JPEG file")));
  }
  // Only SOI.
  CHECK_THROWS_WITH(decode_image(bytes{0xff, 0xd8, 0xff}, 3, {}, "soi.jpg"), Contains("soi.jpg: JPEG: "));
  // Corrupt entropy-coded data: the scan's bytes overwritten.
  bytes noisy = fixture("rgb420.jpg");
  std::size_t sos = 0;
  for (std::size_t i = 2; i + 1 < noisy.size(); ++i)
    if (noisy[i] == 0xff && noisy[i + 1] == 0xda) sos = i;
  REQUIRE(sos != 0);
  for (std::size_t i = sos + 2 + 12; i < noisy.size() - 2; ++i) noisy[i] = static_cast<std::uint8_t>(i * 37 % 255);
  CHECK_THROWS_WITH(decode_image(noisy, 3, {}, "noisy.jpg"), Contains("noisy.jpg: JPEG: Corrupt JPEG data"));
}

TEST_CASE("decode_image: JPEG dimensions over the limits are refused from the header", "[data][image_decode]") {
  // Patch SOF0's height and width of a valid file.
  bytes big = fixture("rgb420.jpg");
  std::size_t sof = 0;
  for (std::size_t i = 2; i + 1 < big.size(); ++i)
    if (big[i] == 0xff && big[i + 1] == 0xc0) {
      sof = i;
      break;
    }
  REQUIRE(sof != 0);
  auto set_size = [&](std::uint16_t h, std::uint16_t w) {
    big[sof + 5] = static_cast<std::uint8_t>(h >> 8), big[sof + 6] = static_cast<std::uint8_t>(h);
    big[sof + 7] = static_cast<std::uint8_t>(w >> 8), big[sof + 8] = static_cast<std::uint8_t>(w);
  };
  set_size(65000, 65000);
  largest = 0;
  track_largest = true;
  double t = seconds([&] {
    CHECK_THROWS_WITH(decode_image(big, 3, {}, "big.jpg"),
                      Contains("big.jpg: JPEG: 65000 x 65000 = 4225000000 pixels is more than the limit of 67108864 "
                               "pixels (DecodeLimits::max_pixels)"));
  });
  track_largest = false;
  CHECK(t < 1.0);
  if (CTNN_TEST_TRACK_NEW) CHECK(largest < (1u << 20));
  // A settable limit.
  set_size(13, 21);
  CHECK(decode_image(big, 3).width == 21);
  CHECK_THROWS_WITH(decode_image(big, 3, {.max_pixels = 200}, "small.jpg"),
                    Contains("small.jpg: JPEG: 21 x 13 = 273 pixels is more than the limit of 200 pixels"));
  CHECK_THROWS_WITH(decode_image(big, 3, {.max_side = 16}, "side.jpg"),
                    Contains("side.jpg: JPEG: 21 x 13 pixels: a side is longer than the limit of 16 pixels"));
  set_size(0, 21);
  CHECK_THROWS_WITH(decode_image(big, 3, {}, "zero.jpg"), Contains("zero.jpg: JPEG: "));
  // A progressive JPEG of more scans than allowed.
  CHECK_THROWS_WITH(decode_image(fixture("progressive.jpg"), 3, {.max_jpeg_scans = 2}, "p.jpg"),
                    Contains("p.jpg: JPEG: more than 2 scans (DecodeLimits::max_jpeg_scans)"));
}

TEST_CASE("decode_image: malformed PNGs are errors naming the file and the fault", "[data][image_decode]") {
  const bytes good = fixture("rgb8.png");
  bytes cut = good;
  cut.resize(cut.size() / 2);
  CHECK_THROWS_WITH(decode_image(cut, 3, {}, "half.png"), Contains("half.png: PNG: the file ends early (truncated)"));
  cut.resize(8 + 10);
  CHECK_THROWS_WITH(decode_image(cut, 3, {}, "short.png"), Contains("short.png: PNG: the file ends early (truncated)"));
  // A bad CRC in IHDR (a critical chunk).
  bytes crc = good;
  crc[8 + 8 + 13] ^= 0xff;
  CHECK_THROWS_WITH(decode_image(crc, 3, {}, "crc.png"), Contains("crc.png: PNG: IHDR: CRC error"));
  // Garbage in place of the compressed image data (CRCs recomputed, so only zlib can tell).
  bytes garbage = png_header(13, 7);
  put_chunk(garbage, "IDAT", bytes(64, 0x5a));
  put_chunk(garbage, "IEND", {});
  CHECK_THROWS_WITH(decode_image(garbage, 3, {}, "garbage.png"), Contains("garbage.png: PNG: "));
  // An image with no IDAT at all.
  bytes no_data = png_header(13, 7);
  put_chunk(no_data, "IEND", {});
  CHECK_THROWS_WITH(decode_image(no_data, 3, {}, "nodata.png"), Contains("nodata.png: PNG: "));
  // An invalid bit depth for the colour type.
  bytes depth = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  put_chunk(depth, "IHDR", ihdr(4, 4, 3, 2));
  put_chunk(depth, "IEND", {});
  CHECK_THROWS_WITH(decode_image(depth, 3, {}, "depth.png"), Contains("depth.png: PNG: "));
}

TEST_CASE("decode_image: PNG header bombs are refused before allocating", "[data][image_decode]") {
  bytes huge = png_header(100000, 100000);
  put_chunk(huge, "IEND", {});
  largest = 0;
  track_largest = true;
  double t = seconds([&] {
    CHECK_THROWS_WITH(decode_image(huge, 3, {}, "huge.png"),
                      Contains("huge.png: PNG: 100000 x 100000 pixels: a side is longer than the limit of 65535 pixels "
                               "(DecodeLimits::max_side)"));
  });
  bytes wide = png_header(60000, 60000);
  put_chunk(wide, "IEND", {});
  t += seconds([&] {
    CHECK_THROWS_WITH(decode_image(wide, 3, {}, "wide.png"),
                      Contains("wide.png: PNG: 60000 x 60000 = 3600000000 pixels is more than the limit of 67108864 "
                               "pixels (DecodeLimits::max_pixels)"));
  });
  // Within the limits, but more pixels than the file could hold at deflate's best ratio.
  bytes deflated = png_header(4000, 4000);
  put_chunk(deflated, "IDAT", bytes(20, 0));
  put_chunk(deflated, "IEND", {});
  t += seconds([&] {
    CHECK_THROWS_WITH(decode_image(deflated, 3, {}, "ratio.png"),
                      Contains("ratio.png: PNG: 4000 x 4000 pixels need at least 48004000 bytes of image data, more "
                               "than 77 bytes of file can hold (deflate expands at most 1032:1): truncated or a "
                               "decompression bomb"));
  });
  track_largest = false;
  CHECK(t < 1.0);
  if (CTNN_TEST_TRACK_NEW) CHECK(largest < (1u << 20));
  // Width 2^31 - 1 is what PNG allows; libpng's own limit (a million) answers first.
  bytes widest = png_header(0x7fffffff, 1);
  put_chunk(widest, "IEND", {});
  CHECK_THROWS_WITH(decode_image(widest, 3, {}, "widest.png"), Contains("widest.png: PNG: "));
  CHECK_THROWS_WITH(decode_image(fixture("rgb8.png"), 3, {.max_pixels = 90}, "limit.png"),
                    Contains("limit.png: PNG: 13 x 7 = 91 pixels is more than the limit of 90 pixels"));
}

TEST_CASE("decode_image: other formats, wrong magic and empty input are refused by name", "[data][image_decode]") {
  // The 18-byte TGA header of a 16000 x 8000 image (stb_image decoded it at 1.9 GB), under a TGA and a PNG name.
  bytes tga = {0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x3e, 0x40, 0x1f, 0x18, 0x00};
  CHECK_THROWS_WITH(decode_image(tga, 3, {}, "bomb.tga"),
                    Contains("bomb.tga: a TGA image (by its name; the bytes have no PNG or JPEG signature: 00 00 02 00 "
                             "00 00 00 00): ImageFolder decodes PNG and JPEG only"));
  CHECK_THROWS_WITH(decode_image(tga, 3, {}, "bomb.png"),
                    Contains("bomb.png: not a PNG or JPEG file (it starts with 00 00 02 00 00 00 00 00)"));
  using namespace std::string_literals;
  const std::vector<std::pair<std::string, std::string>> magic = {
      {"BM\x36\x00\x00\x00"s, "BMP"}, {"GIF89a\x01\x00"s, "GIF"}, {"8BPS\x00\x01"s, "PSD"},
      {"#?RADIANCE\n"s, "HDR"},       {"P6\n16000 8000\n255\n"s, "PNM"}, {"II*\x00\x08\x00"s, "TIFF"},
      {"RIFF\x10\x00\x00\x00WEBPVP8 "s, "WebP"}, {"\x00\x00\x01\x00\x01\x00"s, "ICO"}};
  for (const auto& [head, format] : magic) {
    const bytes b(head.begin(), head.end());
    CHECK(image_format(b) == format);
    CHECK_THROWS_WITH(decode_image(b, 3, {}, "x.png"),
                      Contains(cat("x.png: a ", format, " image: ImageFolder decodes PNG and JPEG only")));
  }
  const std::string text = "not a png";
  CHECK_THROWS_WITH(decode_image(bytes(text.begin(), text.end()), 3, {}, "text.png"),
                    Contains("text.png: not a PNG or JPEG file (it starts with 6e 6f 74 20 61 20 70 6e)"));
  // The PNG signature cut short is no signature.
  CHECK_THROWS_WITH(decode_image(bytes{0x89, 'P', 'N'}, 3, {}, "sig.png"), Contains("sig.png: not a PNG or JPEG file"));
  CHECK_THROWS_WITH(decode_image(bytes{}, 3, {}, "empty.png"), Contains("empty.png: empty file (0 bytes)"));
}

TEST_CASE("read_image: regular files only, of a bounded size", "[data][image_decode]") {
  TempDir dir;
  ctnn_test::write_bytes(dir / "empty.jpg", {});
  CHECK_THROWS_WITH(read_image(dir / "empty.jpg", 3), Contains(cat((dir / "empty.jpg").string(), ": empty file")));
  CHECK_THROWS_WITH(read_image(dir / "missing.png", 3), Contains(cat((dir / "missing.png").string(), ": no such file")));
  std::filesystem::create_directories(dir / "folder.png");
  CHECK_THROWS_WITH(read_image(dir / "folder.png", 3), Contains(cat((dir / "folder.png").string(), ": is a directory")));
  REQUIRE(::mkfifo((dir / "pipe.png").c_str(), 0600) == 0);
  const double t = seconds([&] {
    CHECK_THROWS_WITH(read_image(dir / "pipe.png", 3), Contains(cat((dir / "pipe.png").string(), ": is a FIFO")));
  });
  CHECK(t < 1.0);  // refused at once, not blocked waiting for a writer
  CHECK_THROWS_WITH(read_image("/dev/zero", 3), Contains("/dev/zero: is a character device"));
  ctnn_test::write_bytes(dir / "ok.png", fixture("rgb8.png"));
  CHECK(read_image(dir / "ok.png", 3).width == 13);
  CHECK_THROWS_WITH(read_image(dir / "ok.png", 3, {.max_file_bytes = 100}),
                    Contains(cat((dir / "ok.png").string(),
                                 ": the file is 348 bytes, more than the limit of 100 bytes (DecodeLimits::max_file_bytes)")));
}
