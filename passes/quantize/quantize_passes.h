#pragma once
#include <memory>

#include "lib/pipeline/pass.h"

namespace mopt {

/// `quantize-dynamic`: dynamic INT8 Linear layers. Static INT8 needs calibration data and runs
/// through `mopt quantize` (passes take no data).
std::unique_ptr<Pass> make_quantize_dynamic_pass();

}  // namespace mopt
