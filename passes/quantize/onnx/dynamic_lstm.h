#pragma once
// Dynamic INT8 LSTM for ONNX Runtime: an ai.onnx LSTM with constant W and R becomes ORT's
// com.microsoft DynamicQuantizeLSTM (input quantized per call inside the kernel; weights int8
// symmetric, one scale per direction, stored transposed to [num_directions, input, 4*hidden] as the
// kernel reads them; schema in onnxruntime/core/graph/contrib_ops/quantization_defs.cc).
#include <onnx/onnx_pb.h>

#include <functional>
#include <string>

namespace mopt::onnx_quant {

/// Why `node` (an LSTM) cannot become DynamicQuantizeLSTM, or "" when it can.
std::string dynamic_lstm_blocker(const onnx::GraphProto& graph, const onnx::NodeProto& node);

/// The DynamicQuantizeLSTM node replacing `node`; its int8 weights, scales and zero points are added
/// to `model` under names from `unique` (the fp32 W and R are left for the caller to remove); int8
/// weights lie in [-weight_limit, weight_limit] (int8_weights.h).
onnx::NodeProto make_dynamic_lstm(onnx::ModelProto& model, const onnx::NodeProto& node,
                                  const std::function<std::string(const std::string&)>& unique, int64_t weight_limit);

}  // namespace mopt::onnx_quant
