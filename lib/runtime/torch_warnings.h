#pragma once
// LibTorch warnings that say nothing to a mopt user.

namespace mopt {

/// Installs, for the whole process, a LibTorch warning handler that drops LibTorch 2.x's notice that
/// quantized tensor creation (quantize_per_tensor and friends) is deprecated: every INT8 file mopt
/// makes or measures runs those ops, so each command would print it. Other warnings pass on.
void drop_quantized_deprecation_warnings();

}  // namespace mopt
