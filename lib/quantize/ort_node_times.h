#pragma once
// Where ONNX Runtime spends its time, node by node of the model mopt quantized, read from ORT's
// session profiles of the fp32 file and of the QDQ file. ORT renames the nodes it fuses, so each
// kernel is traced back to the source node it runs: QLinearConv "Conv_3_token_41" runs node
// "Conv_3"; the NCHWc convolution "x.7_nchwc" computes tensor "x.7", made by the Conv itself or by
// the activation ORT fused into it. Q/DQ, layout reorders and transposes belong to no source node.
#include <onnx/onnx_pb.h>

#include <map>
#include <string>
#include <vector>

#include "lib/runtime/onnxruntime_runner.h"

namespace mopt::quant {

/// One source node's kernel in one profile: time per call, and the kernel ORT ran for it.
struct NodeTime {
  double us = 0;
  std::string kernel;  ///< "QLinearConv", "Conv", "FusedConv", ...
};

/// Kernel time per call of each source node (labelled as node_label() names them) that the profile
/// can be traced back to.
std::map<std::string, NodeTime> ort_node_times(const OrtProfile& profile, const onnx::GraphProto& source);

/// A node whose INT8 kernel ran slower than its fp32 kernel.
struct SlowerNode {
  std::string node, op_type;
  double fp32_us = 0, int8_us = 0;
};

/// The INT8 kernel must be this much slower, and by at least kSlowerMinUs, before a node is named:
/// profiles of 20 calls disagree by less than that, and the whole files are measured anyway.
constexpr double kSlowerRatio = 1.1;
constexpr double kSlowerMinUs = 10.0;

/// Nodes at the INT8 region's input edge (every activation they read is a graph input, like a
/// network's first convolution on 3-channel images) that ORT ran slower as an INT8 kernel than as
/// fp32. Returning such a node to fp32 moves its Quantize to its output and adds no Q/DQ pair;
/// inside the region it would add one on each side, which measured slower than the kernel gained.
std::vector<SlowerNode> slower_at_input_edge(const onnx::GraphProto& source, const std::map<std::string, NodeTime>& fp32,
                                             const std::map<std::string, NodeTime>& int8);

}  // namespace mopt::quant
