#pragma once
#include <memory>
#include <string>
#include <vector>

#include "lib/pipeline/pass.h"

namespace mopt {

/// `quantize-dynamic`: dynamic INT8 (TorchScript: Linear layers; ONNX: MatMul and LSTM).
std::unique_ptr<Pass> make_quantize_dynamic_pass();

/// `quantize-static`: calibrated static INT8 (TorchScript: LibTorch's quantized ops; ONNX: QDQ).
/// Reads calibration inputs from the PassContext.
std::unique_ptr<Pass> make_quantize_static_pass();

/// `store-weights`: fp16/bf16 weight storage, float32 compute (--mode fp16|bf16).
std::unique_ptr<Pass> make_store_weights_pass();

/// `compute-bf16`: weights and activations in bfloat16 (--mode bf16-compute).
std::unique_ptr<Pass> make_compute_bf16_pass();
/// `compute-fp16`: weights and activations in float16 (--mode fp16 --device cuda).
std::unique_ptr<Pass> make_compute_fp16_pass();

/// The globs of a quantize pass's `skip` option ("features.0,classifier.*"); empty parts dropped.
std::vector<std::string> split_skip_option(const std::string& text);

}  // namespace mopt
