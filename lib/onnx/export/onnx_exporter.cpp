#include "lib/onnx/export/onnx_exporter.h"

#include <algorithm>
#include <fmt/format.h>
#include <onnx/shape_inference/implementation.h>
#include <torch/csrc/jit/api/module.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "lib/errors.h"
#include "lib/model/graph_walk.h"
#include "lib/onnx/export/export_context.h"
#include "lib/onnx/export/export_graph.h"
#include "lib/onnx/graph_utils.h"
#include "lib/onnx/import/onnx_importer.h"
#include "lib/onnx/onnx_tensors.h"

namespace mopt {
namespace {

using torch::jit::Node;

// The top-level node a (possibly nested) node belongs to.
const Node* top_level(const Node* node) {
  while (node->owningBlock()->owningNode()) node = node->owningBlock()->owningNode();
  return node;
}

// The nodes the outputs depend on, as the translators read them: an input a translator leaves
// unread (a recurrent layer's zero initial state) does not make its producer needed. A list that
// something mutates (appends in a loop) also depends on what mutates it, which the data flow alone
// does not show.
std::set<const Node*> needed_nodes(const torch::jit::Graph& graph) {
  std::set<const Node*> needed;
  std::vector<const Node*> stack;
  for (const auto* output : graph.outputs()) stack.push_back(output->node());
  while (!stack.empty()) {
    const auto* node = stack.back();
    stack.pop_back();
    if (node->kind() == c10::prim::Param || !needed.insert(node).second) continue;
    if (node->kind() == c10::prim::ListConstruct) {
      for (const auto& use : node->output()->uses()) {
        const auto* schema = use.user->maybeSchema();
        if (schema && schema->is_mutable()) stack.push_back(top_level(use.user));
      }
    }
    const auto* entry = onnx_export::find_translator(node->kind().toQualString());
    for (size_t i = 0; i < node->inputs().size(); ++i) {
      if (entry && entry->ignores_input && entry->ignores_input(node, i)) continue;
      stack.push_back(node->input(i)->node());
    }
    for (const auto* block : node->blocks()) {  // an If's branches are translated whole
      for (const auto* inner : block->nodes()) stack.push_back(inner);
      for (const auto* output : block->outputs()) stack.push_back(output->node());
    }
  }
  return needed;
}

std::vector<std::string> unsupported_kinds(torch::jit::Graph& graph, const std::set<const Node*>& needed) {
  std::set<std::string> kinds;
  for (const auto* node : all_nodes(graph.block())) {
    if (onnx_export::is_structural(node) || !needed.count(node)) continue;
    if (!onnx_export::find_translator(node->kind().toQualString())) kinds.insert(node->kind().toQualString());
  }
  return {kinds.begin(), kinds.end()};
}

// A tensor value of `dtype`. An input: the dims an imported model declared (`declared`: sizes,
// symbols' names, null for unnamed), else dim 0 a symbolic batch "N" and the rest as the example's.
// An output (no `shape`): the rank's dims all symbolic (ONNX's own inference fills in what it can).
void declare(onnx::ValueInfoProto& info, const std::string& name, at::ScalarType dtype, const std::vector<int64_t>& shape,
             bool known_dims, const nlohmann::json& declared = nullptr) {
  info.set_name(name);
  auto onnx_type = onnx_dtype(dtype);
  if (!onnx_type) throw invalid_input(fmt::format("cannot export to ONNX: '{}' is {}, which ONNX has no type for", name, c10::toString(dtype)));
  auto* tensor = info.mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(*onnx_type);
  auto* dims = tensor->mutable_shape();
  const bool use_declared = known_dims && declared.is_array() && declared.size() == shape.size();
  for (size_t i = 0; i < shape.size(); ++i) {
    auto* dim = dims->add_dim();
    if (use_declared && declared[i].is_number_integer()) dim->set_dim_value(declared[i].get<int64_t>());
    else if (use_declared && declared[i].is_string()) dim->set_dim_param(declared[i].get<std::string>());
    else if (!known_dims || use_declared) dim->set_dim_param(fmt::format("{}_d{}", name, i));
    else if (i == 0) dim->set_dim_param("N");
    else dim->set_dim_value(shape[i]);
  }
}

// Each output of the model run on the examples (its dtype and rank go into the declaration).
std::vector<at::Tensor> example_outputs(const Model& model, const std::vector<at::Tensor>& examples) {
  torch::NoGradGuard no_grad;
  auto module = model.torchscript();
  return output_tensors(module.forward(std::vector<c10::IValue>(examples.begin(), examples.end())));
}

}  // namespace

onnx::ModelProto export_to_onnx(const Model& model, const ExportOptions& options) {
  if (options.opset < kMinExportOpset || options.opset > kMaxExportOpset) {
    throw usage_error(fmt::format("ONNX export writes opsets {}..{}, not {}", kMinExportOpset, kMaxExportOpset, options.opset));
  }
  auto prepared = onnx_export::exportable_graph(model, options.examples);
  const auto& graph = prepared.graph;
  const auto needed = needed_nodes(*graph);
  auto missing = unsupported_kinds(*graph, needed);
  if (!missing.empty()) {
    // A LibTorch INT8 op without a translator (ops/quantized.cpp): the fp32 model quantizes to ONNX.
    const bool int8 = std::any_of(missing.begin(), missing.end(), [](const std::string& kind) {
      return kind.rfind("quantized::", 0) == 0 || kind.rfind("aten::quantized_", 0) == 0;  // quantized_lstm/gru
    });
    throw invalid_input(fmt::format("cannot export to ONNX: no translator for {}{}", fmt::join(missing, ", "),
                                    int8 ? ". Some of these are LibTorch INT8 ops: for INT8 in ONNX Runtime, quantize the fp32 "
                                           "model to ONNX instead (mopt quantize MODEL.pt -o MODEL.int8.onnx --calib DATA)"
                                         : ""));
  }
  // Names an imported model came with.
  std::vector<std::string> input_names, output_names;
  nlohmann::json input_dims = nlohmann::json::array();
  auto names_file = model.extra_files().find(kOnnxNamesFile);
  if (names_file != model.extra_files().end()) {
    auto names = nlohmann::json::parse(names_file->second);
    input_names = names.value("inputs", std::vector<std::string>{});
    input_dims = names.value("input_dims", nlohmann::json::array());
    output_names = names.value("outputs", std::vector<std::string>{});
  } else {
    output_names = prepared.output_names;  // a returned dict's keys
    if (options.examples.size() > 1) {
      // Several inputs are told apart by forward()'s argument names (one input is "input").
      const auto& arguments = model.torchscript().get_method("forward").function().getSchema().arguments();
      for (size_t i = 1; i < arguments.size(); ++i) input_names.push_back(arguments[i].name());
    }
  }

  onnx::ModelProto proto;
  proto.set_ir_version(8);
  proto.set_producer_name("mopt");
  proto.set_producer_version(MOPT_VERSION);
  auto* import = proto.add_opset_import();
  import->set_domain("");
  import->set_version(options.opset);
  auto& onnx_graph = *proto.mutable_graph();
  onnx_graph.set_name("mopt");
  onnx_export::ExportContext context(onnx_graph, options.opset, std::move(prepared.quantized), std::move(prepared.example_sizes));

  auto inputs = graph->inputs();
  for (size_t i = 1; i < inputs.size(); ++i) {  // input 0 is the module itself
    auto name = i - 1 < input_names.size() ? input_names[i - 1] : (inputs.size() == 2 ? "input" : fmt::format("input_{}", i - 1));
    context.bind(inputs[i], name);
    const auto& example = options.examples[i - 1];
    declare(*onnx_graph.add_input(), name, example.scalar_type(), example.sizes().vec(), /*known_dims=*/true,
            i - 1 < input_dims.size() ? input_dims[i - 1] : nlohmann::json());
  }
  for (const auto* node : graph->nodes()) {
    if (!onnx_export::is_structural(node) && needed.count(node)) context.translate(node);
  }
  std::vector<const torch::jit::Value*> results;
  for (const auto* output : graph->outputs()) {
    if (output->node()->kind() == c10::prim::TupleConstruct) {
      for (const auto* element : output->node()->inputs()) {
        // ONNX has no None output: GoogLeNet's auxiliary logits, None at inference, are left out.
        if (element->type()->kind() != c10::TypeKind::NoneType) results.push_back(element);
      }
    } else {
      results.push_back(output);
    }
  }
  // Output dtypes and ranks from one LibTorch run on the examples; their dims stay symbolic (ONNX's
  // own inference fills in what it can), since they may follow the inputs'.
  auto outputs = example_outputs(model, options.examples);
  if (outputs.size() != results.size()) {
    throw runtime_failure(fmt::format("internal error: the graph has {} outputs, the model returned {}", results.size(), outputs.size()));
  }
  for (size_t i = 0; i < results.size(); ++i) {
    auto name = i < output_names.size() ? output_names[i] : (results.size() == 1 ? "output" : fmt::format("output_{}", i));
    context.add_node("Identity", {context.name(results[i])}, {name});
    declare(*onnx_graph.add_output(), name, outputs[i].scalar_type(), outputs[i].sizes().vec(), /*known_dims=*/false);
  }
  // Output shapes come from ONNX's own inference (the checker wants a shape on every output).
  try {
    onnx::shape_inference::InferShapes(proto);
  } catch (const std::exception& e) {
    throw runtime_failure(fmt::format("internal error: the exported ONNX model does not validate: {}", e.what()));
  }
  check_model_strictly(proto, "the exported ONNX model");
  return proto;
}

Model export_like(const Model& model, const std::vector<torch::Tensor>& samples) {
  ExportOptions options;
  options.examples = samples;
  return Model::from_onnx(export_to_onnx(model, options));
}

}  // namespace mopt
