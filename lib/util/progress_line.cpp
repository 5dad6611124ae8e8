#include "lib/util/progress_line.h"

#include <unistd.h>

#include <cmath>

#include "lib/util/log.h"

namespace mopt {

ProgressLine::ProgressLine()
    : live_(isatty(STDERR_FILENO) && verbosity() != Verbosity::kQuiet), last_(std::chrono::steady_clock::now()) {}

void ProgressLine::update(const std::string& text) {
  if (!live_) return;
  const auto now = std::chrono::steady_clock::now();
  if (shown_ && now - last_ < std::chrono::milliseconds(250)) return;
  last_ = now;
  shown_ = true;
  fmt::print(stderr, "\r\033[K{}", text);
  std::fflush(stderr);
}

void ProgressLine::finish(const std::string& text) {
  if (shown_) fmt::print(stderr, "\r\033[K");
  shown_ = false;
  log_info("{}", text);
}

std::string format_duration(double seconds) {
  const auto total = static_cast<int64_t>(std::llround(std::max(0.0, seconds)));
  if (total >= 3600) return fmt::format("{}:{:02}:{:02}", total / 3600, total / 60 % 60, total % 60);
  return fmt::format("{}:{:02}", total / 60, total % 60);
}

}  // namespace mopt
