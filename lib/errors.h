#pragma once
// One exception type for every failure a user can see; tools/mopt/main.cpp maps it to the exit code.
#include <stdexcept>
#include <string>

namespace mopt {

/// Process exit codes; documented in README.md and `mopt --help`.
enum class ExitCode : int {
  kSuccess = 0,
  kRuntimeFailure = 1,
  kUsage = 2,
  kGateFailed = 3,
  kInvalidInput = 4,
  kInterrupted = 130,  ///< Ctrl-C/SIGTERM during training: checkpoint saved (128 + SIGINT, as shells do)
};

/// A failure with the exit code it maps to and a message that says what to do.
class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& message)
      : std::runtime_error(without_nul_bytes(message)), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  // what() is a C string: a NUL from a hostile file (a name, a path) would cut the message short.
  static std::string without_nul_bytes(std::string text) {
    for (std::size_t at = text.find('\0'); at != std::string::npos; at = text.find('\0', at + 2))
      text.replace(at, 1, "\\0");
    return text;
  }
  ExitCode code_;
};

/// Bad flags, unknown pass/option, malformed pipeline text (exit 2).
inline Error usage_error(const std::string& message) { return Error(ExitCode::kUsage, message); }
/// Unreadable or corrupt model, bad data, bad profile (exit 4).
inline Error invalid_input(const std::string& message) { return Error(ExitCode::kInvalidInput, message); }
/// Anything that went wrong while doing valid work (exit 1).
inline Error runtime_failure(const std::string& message) { return Error(ExitCode::kRuntimeFailure, message); }

/// Strips LibTorch's C++ backtrace from a c10::Error message so users see only the reason.
std::string short_torch_message(const std::string& what);

}  // namespace mopt
