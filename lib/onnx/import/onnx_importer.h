#pragma once
// ONNX -> TorchScript: builds a scripted module whose forward computes the ONNX graph's outputs,
// so LibTorch executes ONNX models for every subcommand (docs/design.md "Core contracts", Runtime).
#include <nlohmann/json.hpp>
#include <onnx/onnx_pb.h>
#include <torch/script.h>

#include <filesystem>
#include <string>
#include <vector>

#include "lib/model/model.h"

namespace mopt {

/// The imported module and what it was made from.
struct ImportedOnnx {
  torch::jit::Module module;
  std::string source;    ///< generated TorchScript of forward and its helpers
  nlohmann::json names;  ///< {"inputs": [...], "outputs": [...], "parameters": {ts path: onnx name}, "opset": N}
};

/// Ops in a model that the importer has no converter for, grouped by (domain, op type).
struct UnsupportedOp {
  std::string domain, op_type;
  int64_t opset = 0;
  std::vector<std::string> nodes;  ///< node names (or first outputs) that use it
};

/// Every op the importer cannot convert (empty when the whole graph is supported).
std::vector<UnsupportedOp> unsupported_ops(const onnx::ModelProto& model);

/// "Resize (opset 17): nodes a, b; NonMaxSuppression (opset 17): node c".
std::string describe_unsupported(const std::vector<UnsupportedOp>& ops);

/// How the importer treats values fixed at load time.
enum class ImportFolding {
  kFold,  ///< evaluate weight arithmetic (in If/Loop bodies too) once, before converting
  kNone,  ///< convert every node as it is (the node evaluator's one-node models: folding is what calls it)
};

/// Imports an ONNX model. Throws invalid_input (exit 4) for unsupported ops (all listed at once),
/// structural errors (cycle, undefined input, type/rank mismatch, bad initializer), naming nodes.
ImportedOnnx import_onnx(const onnx::ModelProto& model, ImportFolding folding = ImportFolding::kFold);

/// Name of the extra file in an imported model's archive that records the ONNX names.
inline constexpr const char* kOnnxNamesFile = "onnx_import.json";

/// The model as TorchScript: itself when it already is, otherwise imported (the source path is
/// kept, and the ONNX names go into the archive as kOnnxNamesFile).
Model to_torchscript(const Model& model);

/// Loads a model for execution: TorchScript as it is, ONNX through the importer. Errors name the file.
Model load_executable(const std::filesystem::path& path);

/// load_executable, or an AOTInductor package (.pt2): for the commands that only run a model
/// (bench, inspect).
Model load_runnable(const std::filesystem::path& path);

/// What a command measures its result against: the input as its user runs it. For an .onnx file
/// that is the file itself (mopt runs it in ONNX Runtime, as `mopt bench` does), not `loaded`, the
/// import into LibTorch that the passes work on; for anything else it is `loaded`.
Model as_given(const std::filesystem::path& path, const Model& loaded);

/// The first graph input's fixed batch (dim 0), or 0 when it is symbolic or unknown. ONNX Runtime
/// enforces it; LibTorch's import does not.
int64_t declared_batch(const onnx::ModelProto& model);

/// Checks that `inputs` (one sample batch per fed graph input, in order) have the rank and every
/// fixed non-batch dim the graph declares. ONNX Runtime refuses any other shape, LibTorch's import
/// runs many of them silently: invalid_input naming `source` (the flag or file the data came
/// from), the input, the declared and the given shape.
void check_fits_declared_inputs(const onnx::ModelProto& model, const std::vector<at::Tensor>& inputs,
                                const std::string& source);

/// Synthetic-input specs ("name:1x3x224x224:float32") for every graph input, ';' between them, from
/// their declared types. A symbolic batch dim (dim 0) becomes 1; any other symbolic dim is a
/// usage_error that names the dims, since only the user knows the image size or sequence length.
std::string graph_input_spec(const onnx::ModelProto& model);

}  // namespace mopt
