// A progress line on stderr for long writes: "\r[#####.....] 45%  6.2/13.7 GB
// 850 MB/s  ETA 0:09", redrawn at most 10 times a second. On a terminal it
// redraws in place; otherwise it prints one plain line per 10% so logs stay short.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace quarry::cli {

class ProgressBar {
 public:
  explicit ProgressBar(std::string label);
  // (bytes done, bytes in total), as formats::WriteProgress.
  void update(uint64_t done, uint64_t total);
  // Ends the line with the total time and rate.
  void finish(uint64_t total);

 private:
  std::string label_;
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_;
  int last_decile_ = -1;
};

// "13.76 GB", "512.0 MB", "3.2 kB".
std::string human_bytes(double bytes);

}  // namespace quarry::cli
