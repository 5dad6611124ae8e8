#pragma once
// LibTorch warnings that say nothing to a mopt user, filtered out before LibTorch's handler prints them.
#include <c10/util/Exception.h>

#include <functional>
#include <string>

namespace mopt {

/// A LibTorch warning handler that drops the warnings whose message `drop` matches and passes every
/// other one on to the handler in effect when it was made. Install it with
/// c10::WarningUtils::WarningHandlerGuard (for a scope) or set_warning_handler (for the process).
class WarningFilter : public c10::WarningHandler {
 public:
  explicit WarningFilter(std::function<bool(const std::string&)> drop);
  void process(const c10::Warning& warning) override;

 private:
  std::function<bool(const std::string&)> drop_;
  c10::WarningHandler* next_;
};

/// Installs, for the whole process, a WarningFilter for LibTorch 2.x's notice that quantized tensor
/// creation (quantize_per_tensor and friends) is deprecated: every INT8 file mopt makes or measures
/// runs those ops, so each command would print it.
void drop_quantized_deprecation_warnings();

}  // namespace mopt
