#pragma once
// The pictures the tutorials draw with matplotlib: curves (loss/accuracy per epoch), a confusion
// matrix heat map and a grid of images with titles. Each returns a Canvas; write it with write_png.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "canvas.hpp"

namespace ctnn::viz {

struct Series {
  std::string label;
  std::vector<double> values;  // y at x = 1, 2, ... (epochs)
};

namespace detail {
inline std::string format_number(double v) {
  char buffer[32];
  const double a = std::fabs(v);
  std::snprintf(buffer, sizeof buffer, a != 0 && (a < 0.01 || a >= 1e5) ? "%.2g" : (a < 10 ? "%.2f" : "%.1f"), v);
  return buffer;
}
}  // namespace detail

// One panel of curves with axes, ticks, a title and a legend, drawn into a rectangle of canvas.
inline void draw_curves(Canvas& canvas, int x0, int y0, int w, int h, const std::string& title, const std::string& x_label,
                        const std::vector<Series>& series) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  std::size_t points = 0;
  for (const auto& s : series) {
    for (double v : s.values) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    points = std::max(points, s.values.size());
  }
  if (points == 0) throw error(cat("plot '", title, "': no values to draw"));
  if (hi - lo < 1e-12) {
    hi += 0.5;
    lo -= 0.5;
  }
  const double pad = 0.05 * (hi - lo);
  lo -= pad;
  hi += pad;
  const int left = x0 + 70, right = x0 + w - 20, top = y0 + 40, bottom = y0 + h - 50;
  canvas.text(x0 + (w - Canvas::text_width(title)) / 2, y0 + 12, title, colors::black);
  canvas.text(left + (right - left - Canvas::text_width(x_label)) / 2, bottom + 30, x_label, colors::black);
  auto px = [&](double i) {
    return points == 1 ? (left + right) / 2 : left + static_cast<int>(std::lround(i / static_cast<double>(points - 1) * (right - left)));
  };
  auto py = [&](double v) { return bottom - static_cast<int>(std::lround((v - lo) / (hi - lo) * (bottom - top))); };
  for (int t = 0; t <= 4; ++t) {  // horizontal grid and y ticks
    const double v = lo + (hi - lo) * t / 4.0;
    canvas.line(left, py(v), right, py(v), colors::light_gray);
    const std::string label = detail::format_number(v);
    canvas.text(left - 8 - Canvas::text_width(label), py(v) - 6, label, colors::black);
  }
  const std::size_t step = std::max<std::size_t>(1, points / 10);
  for (std::size_t i = 0; i < points; i += step) {  // x ticks: 1-based epochs
    canvas.line(px(static_cast<double>(i)), bottom, px(static_cast<double>(i)), bottom + 5, colors::black);
    const std::string label = std::to_string(i + 1);
    canvas.text(px(static_cast<double>(i)) - Canvas::text_width(label) / 2, bottom + 9, label, colors::black);
  }
  canvas.rect(left, top, right - left + 1, bottom - top + 1, colors::black);
  for (std::size_t k = 0; k < series.size(); ++k) {
    const Color c = colors::cycle[k % std::size(colors::cycle)];
    const auto& v = series[k].values;
    for (std::size_t i = 0; i + 1 < v.size(); ++i)
      canvas.line(px(static_cast<double>(i)), py(v[i]), px(static_cast<double>(i + 1)), py(v[i + 1]), c, 2);
    for (std::size_t i = 0; i < v.size(); ++i) canvas.fill_rect(px(static_cast<double>(i)) - 2, py(v[i]) - 2, 5, 5, c);
  }
  // Legend in a white box at the top right, drawn last so no curve hides it.
  int legend_width = 0;
  for (const auto& s : series) legend_width = std::max(legend_width, Canvas::text_width(s.label) + 36);
  const int box_x = right - 10 - legend_width, box_h = static_cast<int>(series.size()) * 18 + 8;
  canvas.fill_rect(box_x, top + 4, legend_width + 6, box_h, colors::white);
  canvas.rect(box_x, top + 4, legend_width + 6, box_h, colors::gray);
  for (std::size_t k = 0; k < series.size(); ++k) {
    const Color c = colors::cycle[k % std::size(colors::cycle)];
    const int ly = top + 9 + static_cast<int>(k) * 18;
    canvas.line(box_x + 5, ly + 6, box_x + 25, ly + 6, c, 2);
    canvas.text(box_x + 31, ly, series[k].label, colors::black);
  }
}

// The tutorials' plot_loss_curves: loss on the left, accuracy on the right, per epoch.
inline Canvas loss_curves(const std::vector<double>& train_loss, const std::vector<double>& test_loss,
                          const std::vector<double>& train_acc, const std::vector<double>& test_acc) {
  Canvas canvas(1000, 420);
  draw_curves(canvas, 0, 0, 500, 420, "Loss", "Epochs", {{"train_loss", train_loss}, {"test_loss", test_loss}});
  draw_curves(canvas, 500, 0, 500, 420, "Accuracy", "Epochs",
              {{"train_accuracy", train_acc}, {"test_accuracy", test_acc}});
  return canvas;
}

// Heat map of a confusion matrix (rows: true class, columns: predicted), counts in the cells.
inline Canvas confusion_matrix_plot(const std::vector<std::vector<std::size_t>>& matrix,
                                    const std::vector<std::string>& class_names, const std::string& title = "Confusion matrix") {
  const int n = static_cast<int>(matrix.size());
  if (n == 0 || class_names.size() != matrix.size())
    throw error(cat("confusion matrix plot: ", matrix.size(), " rows but ", class_names.size(), " class names"));
  int label_width = 0;
  for (const auto& name : class_names) label_width = std::max(label_width, Canvas::text_width(name));
  const int cell = 56, left = label_width + 40, top = 60;
  Canvas canvas(left + n * cell + 30, top + n * cell + label_width + 60);
  canvas.text((canvas.width() - Canvas::text_width(title)) / 2, 16, title, colors::black);
  std::size_t peak = 1;
  for (const auto& row : matrix) for (std::size_t v : row) peak = std::max(peak, v);
  for (int r = 0; r < n; ++r) {
    for (int c = 0; c < n; ++c) {
      const double t = static_cast<double>(matrix[r][c]) / static_cast<double>(peak);
      const auto shade = [&](int from, int to) { return static_cast<std::uint8_t>(from + (to - from) * t); };
      const Color fill{shade(247, 8), shade(251, 48), shade(255, 107)};  // white to dark blue
      canvas.fill_rect(left + c * cell, top + r * cell, cell, cell, fill);
      const std::string count = std::to_string(matrix[r][c]);
      canvas.text(left + c * cell + (cell - Canvas::text_width(count)) / 2, top + r * cell + cell / 2 - 7, count,
                  t > 0.5 ? colors::white : colors::black);
    }
    canvas.text(left - 10 - Canvas::text_width(class_names[r]), top + r * cell + cell / 2 - 7, class_names[r], colors::black);
  }
  canvas.rect(left, top, n * cell, n * cell, colors::black);
  for (int c = 0; c < n; ++c)  // column labels, rotated as matplotlib does
    canvas.text_up(left + c * cell + cell / 2 - 7, top + n * cell + 10 + Canvas::text_width(class_names[c]),
                   class_names[c], colors::black);
  canvas.text(8, top - 22, "true label (rows) / predicted label (columns)", colors::gray);
  return canvas;
}

// A grid of grayscale images (each h x w floats in [lo, hi]) with a title above each, e.g.
// "Pred: Sandal | Truth: Sandal" in green when right and red when wrong.
struct GridImage {
  const float* pixels;
  std::string title;
  Color title_color = colors::black;
};
inline Canvas image_grid(const std::vector<GridImage>& images, int columns, int w, int h, int zoom = 4, double lo = 0.0,
                         double hi = 1.0) {
  if (images.empty() || columns <= 0) throw error("image grid: no images");
  const int rows = (static_cast<int>(images.size()) + columns - 1) / columns;
  int title_width = 0;
  for (const auto& im : images) title_width = std::max(title_width, Canvas::text_width(im.title));
  const int tile_w = std::max(w * zoom, title_width) + 20, tile_h = h * zoom + 36;
  Canvas canvas(columns * tile_w, rows * tile_h);
  for (std::size_t i = 0; i < images.size(); ++i) {
    const int x = static_cast<int>(i) % columns * tile_w, y = static_cast<int>(i) / columns * tile_h;
    canvas.text(x + (tile_w - Canvas::text_width(images[i].title)) / 2, y + 8, images[i].title, images[i].title_color);
    canvas.gray_image(x + (tile_w - w * zoom) / 2, y + 28, images[i].pixels, w, h, zoom, lo, hi);
  }
  return canvas;
}

}  // namespace ctnn::viz
