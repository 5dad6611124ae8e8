#include "lib/model/graph_stats.h"

#include <fmt/format.h>
#include <torch/csrc/jit/passes/inliner.h>

#include <limits>

#include "lib/errors.h"
#include "lib/model/aoti_package.h"
#include "lib/onnx/graph_utils.h"
#include "lib/util/checked_size.h"

namespace mopt {
namespace {

void count_block(const torch::jit::Block* block, std::map<std::string, int64_t>& histogram) {
  for (const auto* node : block->nodes()) {
    if (node->kind() != c10::prim::Constant) ++histogram[node->kind().toQualString()];
    for (const auto* sub : node->blocks()) count_block(sub, histogram);
  }
}

std::shared_ptr<torch::jit::Graph> inlined_forward(const torch::jit::Module& module) {
  auto method = module.find_method("forward");
  if (!method) return nullptr;
  auto graph = method->graph()->copy();
  torch::jit::Inline(*graph);
  return graph;
}

int64_t tensor_bytes(const at::Tensor& t) { return t.numel() * static_cast<int64_t>(t.element_size()); }

int64_t onnx_element_size(int32_t data_type) {
  switch (data_type) {
    case onnx::TensorProto::DOUBLE:
    case onnx::TensorProto::INT64:
    case onnx::TensorProto::UINT64: return 8;
    case onnx::TensorProto::FLOAT16:
    case onnx::TensorProto::BFLOAT16:
    case onnx::TensorProto::INT16:
    case onnx::TensorProto::UINT16: return 2;
    case onnx::TensorProto::INT8:
    case onnx::TensorProto::UINT8:
    case onnx::TensorProto::BOOL: return 1;
    default: return 4;
  }
}

}  // namespace

std::map<std::string, int64_t> op_histogram(const Model& model) {
  std::map<std::string, int64_t> histogram;
  if (model.is_onnx()) {
    for_each_onnx_node(model.onnx().graph(), [&](const onnx::NodeProto& node) { ++histogram[node.op_type()]; });
    return histogram;
  }
  if (auto graph = inlined_forward(model.torchscript())) count_block(graph->block(), histogram);
  return histogram;
}

int64_t op_count(const Model& model, const std::string& kind) {
  auto histogram = op_histogram(model);
  auto it = histogram.find(kind);
  return it == histogram.end() ? 0 : it->second;
}

int64_t ops_removed(const std::map<std::string, int64_t>& before, const std::map<std::string, int64_t>& after) {
  int64_t removed = 0;
  for (const auto& [kind, count] : before) {
    auto it = after.find(kind);
    removed += std::max<int64_t>(0, count - (it == after.end() ? 0 : it->second));
  }
  return removed;
}

int64_t total_ops(const std::map<std::string, int64_t>& histogram) {
  int64_t total = 0;
  for (const auto& [kind, count] : histogram) total += count;
  return total;
}

ParameterTotals parameter_totals(const Model& model) {
  constexpr int64_t kMaxTotal = std::numeric_limits<int64_t>::max();
  ParameterTotals totals;
  if (model.is_onnx()) {
    auto add = [&](const onnx::TensorProto& tensor) {
      // Dims come from the file: a product that overflows is a corrupt tensor, not a size.
      auto elements = checked_byte_count(tensor.dims());
      auto bytes = checked_byte_count(tensor.dims(), onnx_element_size(tensor.data_type()));
      if (!elements || !bytes || *elements > kMaxTotal - totals.count || *bytes > kMaxTotal - totals.bytes) {
        throw invalid_input(fmt::format("{}: ONNX tensor '{}' declares dims [{}]: negative or too large for any file",
                                        model.source_path().string(), tensor.name(), fmt::join(tensor.dims(), ", ")));
      }
      totals.count += *elements;
      totals.bytes += *bytes;
    };
    // Every graph's: If/Loop bodies hold initializers too (Silero VAD keeps all its weights there).
    for_each_onnx_graph(model.onnx().graph(), [&](const onnx::GraphProto& graph) {
      for (const auto& init : graph.initializer()) add(init);
      // paddle2onnx and others keep weights in Constant nodes: they are weights all the same.
      for (const auto& node : graph.node()) {
        if (node.op_type() != "Constant" || !node.domain().empty()) continue;
        for (const auto& attr : node.attribute()) {
          if (attr.name() == "value") add(attr.t());
        }
      }
    });
    return totals;
  }
  auto add = [&](const torch::Tensor& tensor) {
    const auto bytes = tensor_bytes(tensor);
    totals.count += tensor.numel();
    totals.bytes += bytes;
    if (tensor.scalar_type() == torch::kFloat) totals.float32_bytes += bytes;
    if (tensor.scalar_type() == torch::kHalf || tensor.scalar_type() == torch::kBFloat16) totals.half_bytes += bytes;
  };
  if (model.is_aoti_package()) {
    for (const auto& [name, tensor] : model.aoti_package().constants()) add(tensor);
    return totals;
  }
  const auto& module = model.torchscript();
  for (const auto& param : module.parameters(/*recurse=*/true)) add(param);
  if (totals.count > 0) return totals;
  // Frozen modules keep their weights as tensor constants in the graph, or (oneDNN form) as tensor
  // attributes, packed when the file is loaded.
  for (const auto& attribute : module.named_attributes(/*recurse=*/false)) {
    if (attribute.value.isTensor()) add(attribute.value.toTensor());
  }
  if (auto method = module.find_method("forward")) {
    for (const auto* node : method->graph()->nodes()) {
      if (node->kind() != c10::prim::Constant || !node->output()->type()->cast<c10::TensorType>()) continue;
      auto value = torch::jit::toIValue(node->output());
      if (value && value->isTensor()) add(value->toTensor());
    }
  }
  return totals;
}

}  // namespace mopt
