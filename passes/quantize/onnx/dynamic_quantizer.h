#pragma once
// Dynamic INT8 for ONNX Runtime: MatMul with a constant 2-D weight becomes
//   DynamicQuantizeLinear(A) -> MatMulInteger(A_q, W_q, A_zp, W_zp) -> Cast(float) -> Mul(A_scale * W_scale)
// which ORT fuses into MatMulIntegerToFloat and then DynamicQuantizeMatMul (its
// matmul_integer_to_float and dynamic_quantize_matmul fusions). Activations are quantized at run
// time (uint8, per call); weights int8 symmetric, one scale per output column (MatMulInteger and
// DynamicQuantizeMatMul take a 1-D b_scale/b_zero_point) or per tensor. No calibration. LSTM with
// constant weights becomes ORT's DynamicQuantizeLSTM (dynamic_lstm.h); GRU stays fp32 (no ORT kernel).
#include <nlohmann/json.hpp>
#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

namespace mopt::onnx_quant {

/// Rewrites a copy; `skip` globs match node or weight names; `per_column` picks the weight scales;
/// int8 weights lie in [-weight_limit, weight_limit] (int8_weights.h).
/// `summary` gets the counts and the MatMul/Gemm/LSTM/GRU nodes left fp32 with their reasons.
/// Opset < 11 (no DynamicQuantizeLinear): invalid_input.
onnx::ModelProto apply_dynamic(const onnx::ModelProto& model, const std::vector<std::string>& skip, bool per_column,
                               int64_t weight_limit, nlohmann::json& summary);

}  // namespace mopt::onnx_quant
