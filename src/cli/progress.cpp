#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>

namespace quarry::cli {

std::string human_bytes(double b) {
  char buf[32];
  if (b >= 1e9) {
    std::snprintf(buf, sizeof buf, "%.2f GB", b / 1e9);
  } else if (b >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.1f MB", b / 1e6);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f kB", b / 1e3);
  }
  return buf;
}

ProgressBar::ProgressBar(std::string label)
    : label_(std::move(label)),
      tty_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()),
      last_(start_ - std::chrono::seconds(1)) {}

void ProgressBar::update(uint64_t done, uint64_t total) {
  const auto now = std::chrono::steady_clock::now();
  const double frac = total == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total);
  const double secs = std::chrono::duration<double>(now - start_).count();
  const double rate = secs > 0 ? static_cast<double>(done) / secs : 0.0;
  if (tty_) {
    if (now - last_ < std::chrono::milliseconds(100) && done < total) return;
    last_ = now;
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(frac * kWidth);
    std::string bar(static_cast<size_t>(filled), '#');
    bar.append(static_cast<size_t>(kWidth - filled), '.');
    const double eta = rate > 0 ? static_cast<double>(total - done) / rate : 0.0;
    std::fprintf(stderr, "\r%s [%s] %3d%%  %s/%s  %s/s  ETA %d:%02d ", label_.c_str(), bar.c_str(),
                 static_cast<int>(frac * 100), human_bytes(static_cast<double>(done)).c_str(),
                 human_bytes(static_cast<double>(total)).c_str(), human_bytes(rate).c_str(),
                 static_cast<int>(eta) / 60, static_cast<int>(eta) % 60);
  } else {
    const int decile = static_cast<int>(frac * 10);
    if (decile == last_decile_) return;
    last_decile_ = decile;
    std::fprintf(stderr, "%s %3d%%  %s/%s\n", label_.c_str(), decile * 10,
                 human_bytes(static_cast<double>(done)).c_str(),
                 human_bytes(static_cast<double>(total)).c_str());
  }
  std::fflush(stderr);
}

void ProgressBar::finish(uint64_t total) {
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::fprintf(stderr, "%s%s: %s in %.1f s (%s/s)\n", tty_ ? "\r\x1b[2K" : "", label_.c_str(),
               human_bytes(static_cast<double>(total)).c_str(), secs,
               human_bytes(secs > 0 ? static_cast<double>(total) / secs : 0.0).c_str());
}

}  // namespace quarry::cli
