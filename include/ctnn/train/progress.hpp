#pragma once
// A tqdm-like progress bar for long loops:
//   45%|#########           | 844/1875 [00:02<00:03, 402.10it/s, loss=0.5101]
// On a terminal it redraws one line; when the stream is not a terminal (CI logs, pipes) it prints a
// plain line at every 25% instead, so logs stay readable.
#include <chrono>
#include <cstdio>
#include <ostream>
#include <string>

#if __has_include(<unistd.h>)
#include <unistd.h>
#endif

namespace ctnn {

class ProgressBar {
 public:
  using clock = std::chrono::steady_clock;

  ProgressBar(std::size_t total, std::string description, std::ostream& out, bool interactive)
      : total_(total), description_(std::move(description)), out_(&out), interactive_(interactive), start_(clock::now()) {}

  // A bar on standard error, redrawn in place when standard error is a terminal.
  ProgressBar(std::size_t total, std::string description, std::ostream& err_stream)
      : ProgressBar(total, std::move(description), err_stream, stderr_is_terminal()) {}

  // Advances by n steps; postfix is shown after the rate ("loss=0.5101").
  void update(std::size_t n = 1, const std::string& postfix = {}) {
    done_ += n;
    postfix_ = postfix;
    if (interactive_) {
      const auto now = clock::now();
      if (done_ < total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
      last_draw_ = now;
      *out_ << '\r' << line() << std::flush;
      if (done_ >= total_) *out_ << '\n';
    } else if (total_ > 0) {
      const std::size_t quarter = done_ * 4 / total_;
      if (quarter > last_quarter_ || done_ == total_) {
        last_quarter_ = quarter;
        *out_ << line() << '\n' << std::flush;
      }
    }
  }

  std::size_t done() const { return done_; }
  double elapsed_seconds() const { return std::chrono::duration<double>(clock::now() - start_).count(); }

  // The text of the bar at the current state.
  std::string line() const {
    const double elapsed = elapsed_seconds();
    const double fraction = total_ ? static_cast<double>(done_) / static_cast<double>(total_) : 1.0;
    const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
    const double remaining = rate > 0 ? static_cast<double>(total_ - std::min(done_, total_)) / rate : 0.0;
    constexpr int width = 20;
    const int filled = static_cast<int>(fraction * width);
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%3d%%|", static_cast<int>(fraction * 100));
    std::string s = description_.empty() ? std::string() : description_ + ": ";
    s += buffer;
    s += std::string(static_cast<std::size_t>(filled), '#') + std::string(static_cast<std::size_t>(width - filled), ' ');
    std::snprintf(buffer, sizeof buffer, "| %zu/%zu [", done_, total_);
    s += buffer + clock_string(elapsed) + "<" + clock_string(remaining);
    std::snprintf(buffer, sizeof buffer, ", %.2fit/s", rate);
    s += buffer;
    if (!postfix_.empty()) s += ", " + postfix_;
    return s + "]";
  }

  static bool stderr_is_terminal() {
#if __has_include(<unistd.h>)
    return isatty(STDERR_FILENO) != 0;
#else
    return false;
#endif
  }

 private:
  static std::string clock_string(double seconds) {
    const auto s = static_cast<long>(seconds);
    char buffer[32];
    if (s >= 3600) std::snprintf(buffer, sizeof buffer, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else std::snprintf(buffer, sizeof buffer, "%02ld:%02ld", s / 60, s % 60);
    return buffer;
  }

  std::size_t total_;
  std::size_t done_ = 0;
  std::size_t last_quarter_ = 0;
  std::string description_;
  std::string postfix_;
  std::ostream* out_;
  bool interactive_;
  clock::time_point start_;
  clock::time_point last_draw_{};
};

}  // namespace ctnn
