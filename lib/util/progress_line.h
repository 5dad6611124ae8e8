#pragma once
// A live status line on stderr for long work: rewritten in place on a terminal (at most a few
// times a second), silent otherwise; finish() always leaves one ordinary log line behind.
#include <chrono>
#include <string>

namespace mopt {

class ProgressLine {
 public:
  ProgressLine();
  /// Shows `text` (throttled) when stderr is a terminal and output is not --quiet.
  void update(const std::string& text);
  /// Replaces the live line with a permanent log line.
  void finish(const std::string& text);

 private:
  bool live_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_;
};

/// "1:05" / "1:02:03" for an ETA or elapsed time in seconds.
std::string format_duration(double seconds);

}  // namespace mopt
