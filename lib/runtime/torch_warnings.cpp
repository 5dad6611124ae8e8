#include "lib/runtime/torch_warnings.h"

#include <c10/util/Exception.h>

namespace mopt {
namespace {

class QuantizedDeprecationFilter : public c10::WarningHandler {
 public:
  explicit QuantizedDeprecationFilter(c10::WarningHandler* next) : next_(next) {}
  void process(const c10::Warning& warning) override {
    const auto& msg = warning.msg();
    const bool quantized_deprecation = msg.find("quantized tensor creation functions") != std::string::npos &&
                                       msg.find("are deprecated") != std::string::npos;
    if (!quantized_deprecation) next_->process(warning);
  }

 private:
  c10::WarningHandler* next_;
};

}  // namespace

void drop_quantized_deprecation_warnings() {
  static QuantizedDeprecationFilter filter(c10::WarningUtils::get_warning_handler());  // lives until exit
  c10::WarningUtils::set_warning_handler(&filter);
}

}  // namespace mopt
