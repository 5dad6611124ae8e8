#include "lib/onnx/import/node_evaluator.h"

#include <set>

#include "lib/onnx/import/node_context.h"
#include "lib/onnx/import/onnx_importer.h"
#include "lib/onnx/onnx_tensors.h"

namespace mopt {

std::optional<std::vector<at::Tensor>> evaluate_onnx_node(const onnx::NodeProto& node,
                                                          const std::vector<at::Tensor>& inputs, int64_t opset) {
  if (!node.domain().empty() && node.domain() != "ai.onnx") return std::nullopt;
  // A one-node model whose inputs are initializers; its forward takes no arguments.
  onnx::ModelProto model;
  model.set_ir_version(8);
  auto* import = model.add_opset_import();
  import->set_domain("");
  import->set_version(opset);
  auto* graph = model.mutable_graph();
  graph->set_name("evaluate");
  std::set<std::string> named;
  for (int i = 0; i < node.input_size(); ++i) {
    const auto& name = node.input(i);
    if (name.empty() || named.count(name)) continue;
    if (i >= static_cast<int>(inputs.size()) || !inputs[i].defined()) return std::nullopt;
    if (!onnx_dtype(inputs[i].scalar_type())) return std::nullopt;
    // uint16/32/64 are computed in int64 (compute_dtype): their folded values would come back as int64.
    if (onnx_import::is_wide_unsigned(*onnx_dtype(inputs[i].scalar_type()))) return std::nullopt;
    *graph->add_initializer() = torch_to_tensor(inputs[i], name);
    named.insert(name);
  }
  for (const auto& attribute : node.attribute()) {
    if ((attribute.name() == "to" && onnx_import::is_wide_unsigned(static_cast<int32_t>(attribute.i()))) ||
        (attribute.name() == "value" && onnx_import::is_wide_unsigned(attribute.t().data_type()))) {
      return std::nullopt;
    }
  }
  *graph->add_node() = node;
  std::vector<int> produced;
  for (int i = 0; i < node.output_size(); ++i) {
    if (node.output(i).empty()) continue;
    graph->add_output()->set_name(node.output(i));
    produced.push_back(i);
  }
  try {
    if (!unsupported_ops(model).empty()) return std::nullopt;
    auto imported = import_onnx(model, ImportFolding::kNone);
    torch::NoGradGuard no_grad;
    auto result = imported.module.forward({});
    std::vector<at::Tensor> outputs(node.output_size());
    if (produced.size() == 1) {
      outputs[produced[0]] = result.toTensor().contiguous();
    } else {
      const auto& elements = result.toTupleRef().elements();
      for (size_t k = 0; k < produced.size(); ++k) outputs[produced[k]] = elements[k].toTensor().contiguous();
    }
    return outputs;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace mopt
