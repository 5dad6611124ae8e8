#include "lib/runtime/torch_warnings.h"

namespace mopt {

WarningFilter::WarningFilter(std::function<bool(const std::string&)> drop)
    : drop_(std::move(drop)), next_(c10::WarningUtils::get_warning_handler()) {}

void WarningFilter::process(const c10::Warning& warning) {
  if (!drop_(warning.msg())) next_->process(warning);
}

void drop_quantized_deprecation_warnings() {
  static WarningFilter filter([](const std::string& msg) {  // lives until exit
    return msg.find("quantized tensor creation functions") != std::string::npos &&
           msg.find("are deprecated") != std::string::npos;
  });
  c10::WarningUtils::set_warning_handler(&filter);
}

}  // namespace mopt
