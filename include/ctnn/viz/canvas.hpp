#pragma once
// An RGB image to draw on: lines, rectangles, text (stb_easy_font's segment font, scaled), and
// grayscale tiles. Enough for loss curves, confusion matrices and image grids, with no plotting
// library behind it.
#include <stb/stb_easy_font.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace ctnn::viz {

struct Color {
  std::uint8_t r, g, b;
};
namespace colors {
inline constexpr Color white{255, 255, 255}, black{0, 0, 0}, gray{160, 160, 160}, light_gray{225, 225, 225},
    blue{31, 119, 180}, orange{255, 127, 14}, green{44, 160, 44}, red{214, 39, 40}, purple{148, 103, 189};
// Matplotlib's default cycle, for several curves in one plot.
inline constexpr Color cycle[] = {blue, orange, green, red, purple};
}  // namespace colors

class Canvas {
 public:
  Canvas(int width, int height, Color background = colors::white)
      : width_(width), height_(height), pixels_(static_cast<std::size_t>(width * height) * 3) {
    fill_rect(0, 0, width, height, background);
  }

  int width() const { return width_; }
  int height() const { return height_; }
  const std::uint8_t* data() const { return pixels_.data(); }

  void set(int x, int y, Color c) {
    if (x < 0 || y < 0 || x >= width_ || y >= height_) return;
    std::uint8_t* p = &pixels_[(static_cast<std::size_t>(y) * static_cast<std::size_t>(width_) + static_cast<std::size_t>(x)) * 3];
    p[0] = c.r;
    p[1] = c.g;
    p[2] = c.b;
  }
  Color get(int x, int y) const {
    const std::uint8_t* p = &pixels_[(static_cast<std::size_t>(y) * static_cast<std::size_t>(width_) + static_cast<std::size_t>(x)) * 3];
    return {p[0], p[1], p[2]};
  }

  void fill_rect(int x, int y, int w, int h, Color c) {
    for (int j = std::max(0, y); j < std::min(height_, y + h); ++j)
      for (int i = std::max(0, x); i < std::min(width_, x + w); ++i) set(i, j, c);
  }
  void rect(int x, int y, int w, int h, Color c) {
    line(x, y, x + w - 1, y, c);
    line(x, y + h - 1, x + w - 1, y + h - 1, c);
    line(x, y, x, y + h - 1, c);
    line(x + w - 1, y, x + w - 1, y + h - 1, c);
  }

  // A line of the given thickness (Bresenham, each step stamped as a small square).
  void line(int x0, int y0, int x1, int y1, Color c, int thickness = 1) {
    const int dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0);
    const int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    int err = dx + dy;
    const int r0 = -(thickness - 1) / 2, r1 = thickness / 2;
    for (;;) {
      for (int j = r0; j <= r1; ++j)
        for (int i = r0; i <= r1; ++i) set(x0 + i, y0 + j, c);
      if (x0 == x1 && y0 == y1) break;
      const int e2 = 2 * err;
      if (e2 >= dy) {
        err += dy;
        x0 += sx;
      }
      if (e2 <= dx) {
        err += dx;
        y0 += sy;
      }
    }
  }

  // Text with its top-left corner at (x, y); scale 2 gives characters about 12 pixels high.
  void text(int x, int y, const std::string& s, Color c, int scale = 2) {
    std::vector<char> vertices(s.size() * 300 + 1000);
    std::string copy = s;
    const int quads = stb_easy_font_print(0, 0, copy.data(), nullptr, vertices.data(), static_cast<int>(vertices.size()));
    for (int q = 0; q < quads; ++q) {
      const float* v0 = reinterpret_cast<const float*>(vertices.data() + q * 64);
      const float* v2 = reinterpret_cast<const float*>(vertices.data() + q * 64 + 32);
      fill_rect(x + static_cast<int>(v0[0]) * scale, y + static_cast<int>(v0[1]) * scale,
                static_cast<int>(v2[0] - v0[0]) * scale, static_cast<int>(v2[1] - v0[1]) * scale, c);
    }
  }
  // Text rotated a quarter turn, read from bottom to top, starting at (x, y) (its bottom-left).
  void text_up(int x, int y, const std::string& s, Color c, int scale = 2) {
    std::vector<char> vertices(s.size() * 300 + 1000);
    std::string copy = s;
    const int quads = stb_easy_font_print(0, 0, copy.data(), nullptr, vertices.data(), static_cast<int>(vertices.size()));
    for (int q = 0; q < quads; ++q) {
      const float* v0 = reinterpret_cast<const float*>(vertices.data() + q * 64);
      const float* v2 = reinterpret_cast<const float*>(vertices.data() + q * 64 + 32);
      // (u, v) in text space goes to (x + v, y - u).
      fill_rect(x + static_cast<int>(v0[1]) * scale, y - static_cast<int>(v2[0]) * scale,
                static_cast<int>(v2[1] - v0[1]) * scale, static_cast<int>(v2[0] - v0[0]) * scale, c);
    }
  }

  static int text_width(const std::string& s, int scale = 2) {
    std::string copy = s;
    return stb_easy_font_width(copy.data()) * scale;
  }
  static int text_height(int scale = 2) { return 7 * scale; }

  // A grayscale image (values in [lo, hi], row-major h x w) drawn as a w*zoom x h*zoom tile.
  template <class T>
  void gray_image(int x, int y, const T* values, int w, int h, int zoom, double lo = 0.0, double hi = 1.0) {
    for (int j = 0; j < h; ++j)
      for (int i = 0; i < w; ++i) {
        const double v = (static_cast<double>(values[j * w + i]) - lo) / (hi - lo);
        const auto g = static_cast<std::uint8_t>(std::clamp(v, 0.0, 1.0) * 255.0 + 0.5);
        fill_rect(x + i * zoom, y + j * zoom, zoom, zoom, Color{g, g, g});
      }
  }

 private:
  int width_, height_;
  std::vector<std::uint8_t> pixels_;
};

}  // namespace ctnn::viz
