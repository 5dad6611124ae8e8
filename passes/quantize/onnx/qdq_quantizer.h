#pragma once
// Static INT8 for ONNX in QDQ form, laid out so that ONNX Runtime's CPU provider fuses the pairs
// into its INT8 kernels (rules from onnxruntime/core/optimizer/qdq_transformer/):
//   - weights int8 symmetric ([-127, 127], zero point 0), per output channel (axis 0) for Conv and
//     for Gemm with transB=1 (ORT's QGemm takes per-column B scales), per column (axis 1) for MatMul
//     and plain Gemm [K, N] weights (QLinearMatMul takes per-column b scales);
//   - activations uint8 affine (or int8 symmetric), one Q after the producer, one DQ per consumer;
//   - Conv/Gemm bias int32 with scale = input scale x weight scale, zero point 0;
//   - data-movement ops (MaxPool, Reshape, Flatten, Transpose, ...) keep their input's parameters
//     on their output, so ORT can drop the Q/DQ around them;
//   - a Relu (or Clip(0, max)) after a quantized op is removed when the uint8 output range starts
//     at 0: the Q's saturation at zero point 0 is the Relu.
// Planning (which tensors need a range) is separate from rewriting, so calibration runs in between.
#include <nlohmann/json.hpp>
#include <onnx/onnx_pb.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "calibration/calibrator.h"

namespace mopt::onnx_quant {

/// What the user asked for.
struct QdqOptions {
  bool per_channel = true;             ///< weights: one scale per output channel (false: one per tensor)
  bool symmetric_activations = false;  ///< int8 activations with zero point 0 (keeps Relu nodes)
  std::vector<std::string> skip;       ///< globs on node names or weight initializer names: left fp32
  std::map<std::string, std::string> keep_fp32;  ///< node labels returned to fp32 by the workflow -> why
  int64_t weight_limit = 127;  ///< largest |q| of an int8 weight (63: 7 bits, int8_weights.h)
};

/// A node left in fp32 and why.
struct SkippedNode {
  std::string node, op_type, reason;
};

/// The decisions made from the graph alone.
struct QdqPlan {
  std::vector<int> targets;                          ///< node indices quantized (compute ops)
  std::vector<int> passthrough;                      ///< data-movement nodes whose output shares the input's params
  std::map<int, int> folded_activation;              ///< target node -> its Relu/Clip node, removed
  std::vector<std::string> calibrate;                ///< activation tensors that need a range
  std::map<std::string, std::string> shares_params;  ///< tensor -> tensor whose params it reuses
  std::vector<SkippedNode> skipped;                  ///< quantizable-kind nodes left fp32
  std::map<std::string, int> fp32_op_types;          ///< float ops of kinds not quantized nor folded: count
};

/// Quantized nodes that compute or read `tensor`, the producer first: where an error measured on an
/// activation is returned to fp32 (labels as node_label() gives them).
std::vector<std::string> nodes_touching(const onnx::ModelProto& model, const QdqPlan& plan, const std::string& tensor);

/// Plans the QDQ layout. Throws invalid_input for models whose opset has no QuantizeLinear (< 10),
/// or per-channel weights below opset 13 (then --per-tensor is the way).
QdqPlan plan_qdq(const onnx::ModelProto& model, const QdqOptions& options);

/// Rewrites a copy of the model with Q/DQ pairs, using a calibrated range for every tensor in
/// plan.calibrate. `summary` receives per-op-type counts, the weights quantized and skipped nodes.
onnx::ModelProto apply_qdq(const onnx::ModelProto& model, const QdqPlan& plan,
                           const std::map<std::string, Range>& ranges, const QdqOptions& options,
                           nlohmann::json& summary);

}  // namespace mopt::onnx_quant
