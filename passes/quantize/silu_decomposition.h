#pragma once
// SiLU rewritten as x * sigmoid(x) before static INT8. LibTorch 1.13 has no quantized SiLU, so
// graph-mode quantization dequantizes around every SiLU (EfficientNet-B0: 49 of them, and its 16
// squeeze-excite multiplies fall out of INT8 with them); it does have a quantized sigmoid (fixed
// output scale 1/256) and quantized::mul, which keep the chain INT8.
#include <torch/script.h>

#include <cstdint>

namespace mopt::quant {

/// Rewrites aten::silu(x) and aten::silu_(x) as aten::mul(x, aten::sigmoid(x)) in every method of
/// `module` and its submodules, inlining the function calls that compute SiLU
/// (torch.nn.functional.silu) first. An in-place silu_ is rewritten only where nothing can see the
/// mutation it would have made: its input has no other use in its graph and is no module attribute,
/// view or in-place result; when that input is a method argument (nn.SiLU(inplace=True).forward),
/// every call of that method passes such a value of the caller's own. Edits the method graphs in place: call it on a clone. Returns the number of SiLU
/// ops rewritten, counted per module instance (EfficientNet-B0's 49 nn.SiLU share one graph).
int64_t decompose_silu(torch::jit::Module& module);

}  // namespace mopt::quant
