#include "lib/onnx/import/fusions.h"

namespace mopt::onnx_import {

bool is_op(const onnx::NodeProto* node, const char* op) {
  return node && node->domain().empty() && node->op_type() == op && node->output_size() >= 1;
}

const onnx::NodeProto* only_reader(const NodeContext& context, const std::string& value, const char* op) {
  auto readers = context.readers_of(value);
  return readers.size() == 1 && is_op(readers[0], op) ? readers[0] : nullptr;
}

const std::string& other_input(const onnx::NodeProto& node, const std::string& value) {
  return node.input(0) == value ? node.input(1) : node.input(0);
}

std::optional<double> scalar_constant(const NodeContext& context, const std::string& value) {
  auto* tensor = context.constant_of(value);
  if (!tensor || tensor->numel() != 1 || !tensor->is_floating_point()) return std::nullopt;
  return tensor->item<double>();
}

bool try_fusions(NodeContext& context) {
  for (auto fusion : {fuse_layer_norm, fuse_hardswish}) {
    if (fusion(context)) return true;
  }
  return false;
}

}  // namespace mopt::onnx_import
