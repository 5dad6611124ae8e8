#include "lib/inspect/model_summary.h"

#include <fmt/format.h>

#include <limits>

#include "lib/model/aoti_package.h"
#include "lib/model/graph_stats.h"
#include "lib/onnx/fed_inputs.h"
#include "lib/onnx/import/onnx_importer.h"
#include "lib/util/checked_size.h"

namespace mopt {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// ---- TorchScript ----

std::string short_type_name(const torch::jit::Module& module) {
  auto name = module.type()->name();
  if (!name) return "Module";
  auto qualified = name->qualifiedName();
  auto dot = qualified.rfind('.');
  return dot == std::string::npos ? qualified : qualified.substr(dot + 1);
}

json tensor_value_json(const std::string& name, const c10::TypePtr& type) {
  json entry = {{"name", name}, {"dtype", type->str()}, {"shape", nullptr}};
  if (auto tensor = type->cast<c10::TensorType>()) {
    if (auto dtype = tensor->scalarType()) entry["dtype"] = c10::toString(*dtype);
    if (auto sizes = tensor->sizes().concrete_sizes()) entry["shape"] = *sizes;
  }
  return entry;
}

void torchscript_io(const torch::jit::Module& module, json& summary) {
  summary["inputs"] = json::array();
  summary["outputs"] = json::array();
  auto method = module.find_method("forward");
  if (!method) return;
  const auto& schema = method->function().getSchema();
  for (size_t i = 1; i < schema.arguments().size(); ++i) {  // argument 0 is self
    const auto& arg = schema.arguments()[i];
    summary["inputs"].push_back(tensor_value_json(arg.name(), arg.type()));
  }
  for (size_t i = 0; i < schema.returns().size(); ++i) {
    summary["outputs"].push_back(tensor_value_json("output" + std::to_string(i), schema.returns()[i].type()));
  }
}

json module_layers(const torch::jit::Module& module) {
  json layers = json::array();
  for (const auto& item : module.named_modules()) {
    int64_t params = 0;
    json shape = nullptr;
    for (const auto& param : item.value.named_parameters(/*recurse=*/false)) {
      params += param.value.numel();
      if (param.name == "weight") shape = param.value.sizes().vec();
    }
    const bool leaf = item.value.children().size() == 0;
    if (params == 0 && !leaf) continue;
    layers.push_back({{"name", item.name.empty() ? "(root)" : item.name},
                      {"kind", short_type_name(item.value)},
                      {"parameters", params},
                      {"shape", shape}});
  }
  return layers;
}

// Frozen modules have no submodules left: list weight-carrying ops with their constant weights.
json frozen_graph_layers(const torch::jit::Module& module) {
  json layers = json::array();
  auto method = module.find_method("forward");
  if (!method) return layers;
  for (const auto* node : method->graph()->nodes()) {
    int64_t params = 0;
    json shape = nullptr;
    for (const auto* input : node->inputs()) {
      if (input->node()->kind() != c10::prim::Constant) continue;
      auto value = torch::jit::toIValue(input);
      if (!value || !value->isTensor()) continue;
      params += value->toTensor().numel();
      if (shape.is_null()) shape = value->toTensor().sizes().vec();
    }
    if (params == 0) continue;
    layers.push_back({{"name", node->output(0)->debugName()},
                      {"kind", node->kind().toQualString()},
                      {"parameters", params},
                      {"shape", shape}});
  }
  return layers;
}

// ---- ONNX ----

std::string onnx_dtype_name(int32_t elem_type) {
  auto name = onnx::TensorProto_DataType_Name(static_cast<onnx::TensorProto_DataType>(elem_type));
  std::transform(name.begin(), name.end(), name.begin(), ::tolower);
  return name.empty() ? "unknown" : name;
}

json onnx_value_json(const onnx::ValueInfoProto& value) {
  json entry = {{"name", value.name()}, {"dtype", "unknown"}, {"shape", nullptr}};
  if (!value.type().has_tensor_type()) return entry;
  const auto& tensor = value.type().tensor_type();
  entry["dtype"] = onnx_dtype_name(tensor.elem_type());
  if (tensor.has_shape()) {
    json dims = json::array();
    for (const auto& dim : tensor.shape().dim()) {
      if (dim.has_dim_value()) dims.push_back(dim.dim_value());
      else dims.push_back(dim.dim_param().empty() ? "?" : dim.dim_param());
    }
    entry["shape"] = dims;
  }
  return entry;
}

void onnx_io_and_layers(const onnx::ModelProto& proto, json& summary) {
  const auto& graph = proto.graph();
  std::map<std::string, const onnx::TensorProto*> initializers;
  for (const auto& init : graph.initializer()) initializers[init.name()] = &init;

  summary["inputs"] = json::array();
  for (int position : fed_inputs(graph)) summary["inputs"].push_back(onnx_value_json(graph.input(position)));
  summary["outputs"] = json::array();
  for (const auto& output : graph.output()) summary["outputs"].push_back(onnx_value_json(output));

  json layers = json::array();
  for (const auto& node : graph.node()) {
    int64_t params = 0;
    json shape = nullptr;
    for (const auto& input : node.input()) {
      auto it = initializers.find(input);
      if (it == initializers.end()) continue;
      // parameter_totals has checked each initializer's dims; a node may still read one many times.
      const int64_t elements = checked_byte_count(it->second->dims()).value_or(0);
      params = elements > std::numeric_limits<int64_t>::max() - params ? std::numeric_limits<int64_t>::max()
                                                                        : params + elements;
      if (shape.is_null()) shape = std::vector<int64_t>(it->second->dims().begin(), it->second->dims().end());
    }
    if (params == 0) continue;
    std::string name = node.name();
    if (name.empty()) name = node.output_size() > 0 ? node.output(0) : "(unnamed " + node.op_type() + ")";
    layers.push_back({{"name", name},
                      {"kind", node.op_type()},
                      {"parameters", params},
                      {"shape", shape}});
  }
  summary["layers"] = layers;
  json opsets = json::object();
  for (const auto& opset : proto.opset_import()) opsets[opset.domain().empty() ? "ai.onnx" : opset.domain()] = opset.version();
  summary["opsets"] = opsets;
}

// An AOTInductor package is compiled code: what it records of its build, its inputs (count only;
// their shapes were fixed at export) and its constants as the layers.
void aoti_package_summary(const AotiPackage& package, json& summary) {
  summary["package"] = package.metadata();
  summary["op_histogram"] = json::object();
  summary["inputs"] = json::array();
  for (int64_t i = 0; i < package.input_count(); ++i) {
    summary["inputs"].push_back({{"name", fmt::format("args[{}]", i)}, {"dtype", "?"}, {"shape", nullptr}});
  }
  summary["outputs"] = json::array();
  summary["layers"] = json::array();
  for (const auto& [name, tensor] : package.constants()) {
    summary["layers"].push_back({{"name", name}, {"kind", "constant"}, {"parameters", tensor.numel()}, {"shape", tensor.sizes().vec()}});
  }
}

}  // namespace

Model load_for_inspection(const fs::path& path) {
  return detect_format(path) == ModelFormat::kAotiPackage ? Model::load_aoti_package(path) : Model::load(path);
}

json summarize_model(const Model& model, const fs::path& path) {
  json summary;
  summary["format"] = format_name(model.format());
  std::error_code ec;
  summary["file_bytes"] = fs::is_regular_file(path, ec) ? static_cast<int64_t>(fs::file_size(path)) : 0;
  auto params = parameter_totals(model);
  summary["parameters"] = params.count;
  summary["parameter_bytes"] = params.bytes;
  if (model.is_aoti_package()) {
    aoti_package_summary(model.aoti_package(), summary);
    return summary;
  }
  summary["op_histogram"] = op_histogram(model);
  if (model.is_onnx()) {
    onnx_io_and_layers(model.onnx(), summary);
    // Whether mopt can execute it (through the importer), and what blocks it if not.
    auto unsupported = unsupported_ops(model.onnx());
    summary["executable"] = unsupported.empty();
    summary["unsupported_ops"] = nlohmann::json::array();
    for (const auto& op : unsupported) {
      summary["unsupported_ops"].push_back({{"domain", op.domain}, {"op_type", op.op_type}, {"opset", op.opset}, {"nodes", op.nodes}});
    }
    if (!unsupported.empty()) summary["unsupported_summary"] = describe_unsupported(unsupported);
  } else {
    const auto& module = model.torchscript();
    torchscript_io(module, summary);
    summary["frozen"] = !module.hasattr("training");
    summary["layers"] = summary["frozen"].get<bool>() ? frozen_graph_layers(module) : module_layers(module);
  }
  return summary;
}

}  // namespace mopt
