#include "lib/onnx/import/onnx_importer.h"

#include <fmt/format.h>
#include <onnx/inliner/inliner.h>
#include <onnx/shape_inference/implementation.h>

#include <functional>
#include <map>
#include <set>

#include "lib/data/dataset.h"
#include "lib/data/dtype_names.h"
#include "lib/errors.h"
#include "lib/onnx/constant_folding.h"
#include "lib/onnx/fed_inputs.h"
#include "lib/onnx/graph_utils.h"
#include "lib/onnx/import/converter_table.h"
#include "lib/onnx/import/graph_builder.h"
#include "lib/onnx/import/graph_validation.h"
#include "lib/onnx/onnx_tensors.h"
#include "lib/util/checked_size.h"
#include "lib/util/log.h"

namespace mopt {
namespace {

// Shape inference gives converters element types and ranks. Strict mode turns type and rank
// mismatches into errors, which is what a malformed model deserves.
void infer_shapes(onnx::ModelProto& model) {
  try {
    onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions(/*check_type=*/true, /*strict_mode=*/1));
  } catch (const std::exception& e) {
    std::string message = e.what();
    auto inconsistent = [](const std::string& why) {
      return invalid_input(fmt::format("the ONNX graph is inconsistent (type or shape mismatch): {}", why));
    };
    // Exporters of the opset-6 era wrote int64 Constants that Constant-1's schema did not allow
    // yet; every runtime accepts them, so only that complaint falls back to lenient inference.
    const bool constant = message.find("(op_type:Constant)") != std::string::npos ||
                          message.find("(op_type:Constant,") != std::string::npos;  // ", node name: ..."
    if (!constant) throw inconsistent(message);
    try {
      onnx::shape_inference::InferShapes(model);
    } catch (const std::exception& lenient) {
      throw inconsistent(lenient.what());
    }
  }
}

// An input's declared dims, for the export to declare them again: a size, a symbol's name, or null.
nlohmann::json declared_dims(const onnx::ValueInfoProto& value) {
  nlohmann::json dims = nlohmann::json::array();
  for (const auto& dim : value.type().tensor_type().shape().dim()) {
    if (dim.has_dim_value()) dims.push_back(dim.dim_value());
    else if (!dim.dim_param().empty()) dims.push_back(dim.dim_param());
    else dims.push_back(nullptr);
  }
  return dims;
}

// The dynamo exporter (onnxscript) may write model-local functions; their bodies are plain ops.
// ONNX's inliner refuses recursive ones.
onnx::ModelProto with_functions_inlined(const onnx::ModelProto& input) {
  onnx::ModelProto model = input;
  if (model.functions_size() == 0) return model;  // the copy import_onnx makes anyway
  try {
    onnx::inliner::InlineLocalFunctions(model, /*convert_version=*/true);
  } catch (const std::exception& e) {
    throw invalid_input(fmt::format("the model's local functions could not be inlined: {}", e.what()));
  }
  model.clear_functions();
  return model;
}

}  // namespace

std::vector<UnsupportedOp> unsupported_ops(const onnx::ModelProto& model) {
  if (model.functions_size() > 0) return unsupported_ops(with_functions_inlined(model));
  int64_t opset = 0;
  try {
    opset = onnx_import::model_opset(model);
  } catch (const Error&) {
    return {{"", "(no ai.onnx opset)", 0, {}}};
  }
  std::map<std::pair<std::string, std::string>, UnsupportedOp> found;
  std::function<void(const onnx::GraphProto&)> look_into = [&](const onnx::GraphProto& graph) {
    for (const auto& node : graph.node()) {
      for (const auto* branch : subgraphs_of(node)) look_into(*branch);
      if (node.op_type() == "Constant" && node.domain().empty()) continue;
      if (onnx_import::find_converter(node.domain(), node.op_type(), opset)) continue;
      auto& op = found[{node.domain(), node.op_type()}];
      op.domain = node.domain();
      op.op_type = node.op_type();
      op.opset = opset;
      op.nodes.push_back(node.name().empty() ? (node.output_size() ? node.output(0) : "?") : node.name());
    }
  };
  look_into(model.graph());
  std::vector<UnsupportedOp> ops;
  for (auto& [key, op] : found) ops.push_back(std::move(op));
  return ops;
}

std::string describe_unsupported(const std::vector<UnsupportedOp>& ops) {
  std::vector<std::string> parts;
  for (const auto& op : ops) {
    std::vector<std::string> shown(op.nodes.begin(), op.nodes.begin() + std::min<size_t>(op.nodes.size(), 3));
    if (op.nodes.size() > 3) shown.push_back(fmt::format("and {} more", op.nodes.size() - 3));
    parts.push_back(fmt::format("{}{} (opset {}): node{} {}", op.domain.empty() ? "" : op.domain + ".", op.op_type,
                                op.opset, op.nodes.size() == 1 ? "" : "s", fmt::join(shown, ", ")));
  }
  return fmt::format("{}", fmt::join(parts, "; "));
}

ImportedOnnx import_onnx(const onnx::ModelProto& input, ImportFolding folding) {
  onnx::ModelProto model = with_functions_inlined(input);
  onnx_import::validate_graph(model);
  auto unsupported = unsupported_ops(model);
  if (!unsupported.empty()) {
    throw invalid_input(fmt::format("mopt cannot import this ONNX model: no converter for {}",
                                    describe_unsupported(unsupported)));
  }
  if (folding == ImportFolding::kFold) {
    // Weight arithmetic an exporter left in the graph (gate reorders, transposes, scales) would
    // otherwise run on every call; quantized structure stays, since converters read it.
    FoldOptions options;
    options.no_growth = true;
    options.keep_quantization = true;
    fold_constants(model, options);
  }
  infer_shapes(model);
  onnx_import::GraphBuilder builder(model);
  ImportedOnnx imported;
  imported.module = builder.build();
  imported.source = builder.source();
  std::vector<std::string> inputs, outputs;
  nlohmann::json input_dims = nlohmann::json::array();
  for (int position : fed_inputs(model.graph())) {
    const auto& value = model.graph().input(position);
    inputs.push_back(value.name());
    input_dims.push_back(declared_dims(value));
  }
  for (const auto& value : model.graph().output()) outputs.push_back(value.name());
  imported.names = {{"inputs", inputs},
                    {"input_dims", input_dims},
                    {"outputs", outputs},
                    {"arguments", builder.argument_names()},
                    {"parameters", builder.parameter_names()},
                    {"opset", onnx_import::model_opset(model)}};
  log_verbose("imported ONNX graph ({} nodes) as TorchScript:\n{}", model.graph().node_size(), imported.source);
  return imported;
}

Model to_torchscript(const Model& model) {
  if (model.is_torchscript()) return model;
  ImportedOnnx imported;
  try {
    imported = import_onnx(model.onnx());
  } catch (const Error& e) {  // name the file the problem is in
    if (model.source_path().empty()) throw;
    throw Error(e.code(), fmt::format("{}: {}", model.source_path().string(), e.what()));
  }
  auto converted = Model::from_torchscript(imported.module);
  converted.set_source_path(model.source_path());
  // ONNX names are arbitrary bytes; JSON wants UTF-8 (invalid sequences become U+FFFD).
  converted.set_extra_file(kOnnxNamesFile, imported.names.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  return converted;
}


Model load_executable(const std::filesystem::path& path) {
  auto model = Model::load(path);
  if (model.is_torchscript()) return model;
  log_info("importing ONNX model {} ...", path.string());
  return to_torchscript(model);
}

Model load_runnable(const std::filesystem::path& path) {
  return detect_format(path) == ModelFormat::kAotiPackage ? Model::load_aoti_package(path) : load_executable(path);
}

Model as_given(const std::filesystem::path& path, const Model& loaded) {
  return loaded.is_torchscript() && detect_format(path) == ModelFormat::kOnnx ? Model::load(path) : loaded;
}

int64_t declared_batch(const onnx::ModelProto& model) {
  const auto inputs = fed_inputs(model.graph());
  if (inputs.empty()) return 0;
  const auto& shape = model.graph().input(inputs.front()).type().tensor_type().shape();
  return shape.dim_size() > 0 && shape.dim(0).has_dim_value() ? shape.dim(0).dim_value() : 0;
}

void check_fits_declared_inputs(const onnx::ModelProto& model, const std::vector<at::Tensor>& inputs,
                                const std::string& source) {
  const auto positions = fed_inputs(model.graph());
  for (size_t k = 0; k < positions.size() && k < inputs.size(); ++k) {
    const auto& input = model.graph().input(positions[k]);
    if (!input.type().tensor_type().has_shape()) continue;
    const auto& shape = input.type().tensor_type().shape();
    std::vector<std::string> declared;
    std::string mismatch;
    for (int i = 0; i < shape.dim_size(); ++i) {
      const auto& dim = shape.dim(i);
      const bool fixed = dim.has_dim_value() && dim.dim_value() > 0;
      declared.push_back(fixed ? std::to_string(dim.dim_value()) : dim.has_dim_param() ? dim.dim_param() : "?");
      if (i > 0 && fixed && i < inputs[k].dim() && inputs[k].size(i) != dim.dim_value() && mismatch.empty()) {
        mismatch = fmt::format("dim {} is {}, declared {}", i, inputs[k].size(i), dim.dim_value());
      }
    }
    if (inputs[k].dim() != shape.dim_size()) mismatch = fmt::format("rank {}, declared {}", inputs[k].dim(), shape.dim_size());
    if (mismatch.empty()) continue;
    throw invalid_input(fmt::format("{} gives input '{}' the shape [{}], but the model declares [{}] ({}); ONNX Runtime runs "
                                    "only the declared shape: give inputs of that shape, or re-export the model with that dim dynamic",
                                    source, input.name(), fmt::join(inputs[k].sizes(), ", "), fmt::join(declared, ", "), mismatch));
  }
}

std::string graph_input_spec(const onnx::ModelProto& model) {
  std::vector<std::string> specs, dynamic;
  // A named dim that some input has first is the batch wherever it appears (h0 [layers, N, H] beside x [N, T, F]).
  std::set<std::string> batch_names;
  for (int position : fed_inputs(model.graph())) {
    const auto& shape = model.graph().input(position).type().tensor_type().shape();
    if (shape.dim_size() > 0 && shape.dim(0).has_dim_param()) batch_names.insert(shape.dim(0).dim_param());
  }
  for (int position : fed_inputs(model.graph())) {
    const auto& input = model.graph().input(position);
    const auto& tensor = input.type().tensor_type();
    auto dtype = torch_dtype(tensor.elem_type());
    if (tensor.elem_type() == onnx::TensorProto::STRING) {
      throw invalid_input(fmt::format("the model's input '{}' is a string tensor; mopt imports string ops but its "
                                      "commands feed numeric inputs only", input.name()));
    }
    std::vector<std::string> dims, missing;
    std::vector<int64_t> sizes;
    for (int i = 0; i < tensor.shape().dim_size(); ++i) {
      const auto& dim = tensor.shape().dim(i);
      if (dim.has_dim_value() && dim.dim_value() > 0) {
        dims.push_back(std::to_string(dim.dim_value()));
        sizes.push_back(dim.dim_value());
      } else if (i == 0 || (dim.has_dim_param() && batch_names.count(dim.dim_param()))) {
        dims.push_back("1");  // batch
      } else {
        missing.push_back(dim.has_dim_param() ? dim.dim_param() : fmt::format("dim {}", i));
        dims.push_back("?");
      }
    }
    if (!tensor.has_shape() || !dtype) {
      throw usage_error(fmt::format("the model's input '{}' has no declared shape or dtype: give --input-shape", input.name()));
    }
    auto spec = fmt::format("{}:{}:{}", escape_input_name(input.name()), fmt::join(dims, "x"),
                            data_detail::dtype_name(*dtype));
    if (!missing.empty()) dynamic.push_back(fmt::format("'{}' ({})", input.name(), fmt::join(missing, ", ")));
    specs.push_back(spec);
    if (!missing.empty()) continue;
    auto elements = checked_byte_count(sizes);
    if (!elements || *elements > kMaxSyntheticElements) {
      throw invalid_input(fmt::format("the model's input '{}' declares shape {} (over {} elements), too large to feed; "
                                      "the file is corrupt, or give a smaller --input-shape",
                                      input.name(), fmt::join(dims, "x"), kMaxSyntheticElements));
    }
  }
  if (specs.empty()) throw usage_error("the ONNX model has no inputs to feed");
  if (!dynamic.empty()) {
    throw usage_error(fmt::format("the model's input{} {} {} dynamic dims; give them with --input-shape, e.g. '{}'",
                                  dynamic.size() > 1 ? "s" : "", fmt::join(dynamic, ", "), dynamic.size() > 1 ? "have" : "has",
                                  fmt::join(specs, ";")));
  }
  return fmt::format("{}", fmt::join(specs, ";"));
}

}  // namespace mopt
