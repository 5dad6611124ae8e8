#pragma once
// ReLU6 (hardtanh(x, 0, b)) after an INT8 conv, linear or add, folded into the op's fused ReLU form
// with output qparams covering [0, b]. Graph-mode quantization leaves `quantized::conv2d` followed
// by `aten::hardtanh_` on the quantized tensor, which LibTorch computes out of place and copies
// back: 35 extra buffers per MobileNetV2 call, which made glibc return and re-map memory on every
// call (~700 page faults, 13 ms instead of 3.4 ms at 1 thread here). The fused op clamps at 0 by
// its ReLU and at b by saturating at 255 * scale, and its finer scale only loses the values the
// clamp would have cut anyway.
#include <torch/script.h>

#include <cstdint>

namespace mopt::quant {

/// Rewrites aten::relu6(_)(x) (torch.nn.functional.relu6, inlined first) as aten::hardtanh(_)(x,
/// 0., 6.) in every method of `module` and its submodules, before observers go in: the same
/// function, but LibTorch 1.13's graph-mode quantization keeps hardtanh INT8 and dequantizes around
/// relu6. Edits the method graphs in place (call it on a clone). Returns the ops rewritten, per graph.
int64_t relu6_as_hardtanh(torch::jit::Module& module);

/// Folds `aten::hardtanh(_)(q, 0, b)` and `aten::relu6(_)(q)` into the producer of q when q is the
/// uint8 output of quantized::conv1d/2d/3d, linear or add (or their _relu forms), has no other use,
/// and the producer's output scale and zero point are constants: the producer becomes its _relu
/// form with scale u / 255 and zero point 0, u = min(b, the largest value the old qparams held).
/// Meant for the forward() graph of a finalized (frozen) INT8 module; edits it in place. Returns
/// the number of clamps folded.
int64_t fold_relu6_into_quantized_ops(torch::jit::Graph& graph);

}  // namespace mopt::quant
