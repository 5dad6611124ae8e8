#pragma once
// stdout carries the short human summary; stderr carries progress and logs (docs/design.md "Core contracts", Report).
#include <fmt/format.h>

#include <cstdio>

namespace mopt {

/// --quiet silences stdout and stderr (the report is still written); --verbose adds detail.
enum class Verbosity { kQuiet, kNormal, kVerbose };

void set_verbosity(Verbosity verbosity);
Verbosity verbosity();

/// A line of the human summary on stdout (silent with --quiet).
template <typename... Args>
void say(fmt::format_string<Args...> format, Args&&... args) {
  if (verbosity() == Verbosity::kQuiet) return;
  fmt::print(stdout, "{}\n", fmt::format(format, std::forward<Args>(args)...));
}

/// A progress/log line on stderr (silent with --quiet).
template <typename... Args>
void log_info(fmt::format_string<Args...> format, Args&&... args) {
  if (verbosity() == Verbosity::kQuiet) return;
  fmt::print(stderr, "{}\n", fmt::format(format, std::forward<Args>(args)...));
}

/// A detail line on stderr, only with --verbose.
template <typename... Args>
void log_verbose(fmt::format_string<Args...> format, Args&&... args) {
  if (verbosity() != Verbosity::kVerbose) return;
  fmt::print(stderr, "{}\n", fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace mopt
