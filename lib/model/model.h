#pragma once
// Model: one type for a TorchScript module or an ONNX ModelProto (docs/design.md "Core contracts").
#include <onnx/onnx_pb.h>
#include <torch/script.h>

#include <filesystem>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace mopt {

/// Serialization formats mopt reads (and, but for AOTInductor packages, writes).
enum class ModelFormat { kTorchScript, kOnnx, kAotiPackage };

class AotiPackage;

/// "torchscript", "onnx" or "aoti-package" (used in reports and `mopt passes`).
std::string format_name(ModelFormat format);

/// Detects the format from the file's bytes (zip archive, a PyTorch 2 package among them, vs
/// protobuf), never from the extension.
/// Throws invalid_input (exit 4) for missing, empty, directory or unrecognised files.
ModelFormat detect_format(const std::filesystem::path& path);

/// A loaded model. Copies share the underlying module; call clone() for an independent copy.
class Model {
 public:
  /// Loads a model, detecting its format; ONNX external data is read from next to the file. An
  /// AOTInductor package is refused (invalid_input): it is compiled code no pass can change.
  static Model load(const std::filesystem::path& path);
  /// Loads an AOTInductor package (.pt2) to run: for the commands that only run a model.
  static Model load_aoti_package(const std::filesystem::path& path);
  static Model from_torchscript(torch::jit::Module module);
  static Model from_onnx(onnx::ModelProto proto);

  ModelFormat format() const { return format_; }
  bool is_torchscript() const { return format_ == ModelFormat::kTorchScript; }
  bool is_onnx() const { return format_ == ModelFormat::kOnnx; }
  bool is_aoti_package() const { return format_ == ModelFormat::kAotiPackage; }

  /// The TorchScript module; throws if the model is ONNX.
  torch::jit::Module& torchscript();
  const torch::jit::Module& torchscript() const;
  /// The ONNX graph; throws if the model is TorchScript.
  onnx::ModelProto& onnx();
  const onnx::ModelProto& onnx() const;
  /// The loaded AOTInductor package; throws for the other formats.
  const AotiPackage& aoti_package() const;

  /// A deep copy: passes mutate their own copy and the input stays untouched.
  Model clone() const;

  /// The model as a user would get it from the saved file: serialized and loaded back in memory.
  /// Measure this, not the in-memory result of a pass: loading re-packs quantized weights for the
  /// active engine and resets executor state, and the two can differ in speed (2x seen here).
  Model reloaded() const;

  /// Drops LibTorch's cached optimized graphs of every method. Call after editing method graphs
  /// in place: inlining (op counts, freeze) reads the cache, which would otherwise be stale.
  void invalidate_graph_caches();

  /// Writes the model atomically. TorchScript: `.ptl` selects the lite (mobile) format,
  /// anything else the full archive. ONNX: one self-contained protobuf file.
  void save(const std::filesystem::path& path) const;

  /// Extra files stored inside a TorchScript archive (e.g. "mopt.json": how it was made, which
  /// quantized engine it needs); written by save().
  void set_extra_file(const std::string& name, const std::string& contents) { extra_files_[name] = contents; }
  const std::unordered_map<std::string, std::string>& extra_files() const { return extra_files_; }

  /// Where the model was loaded from (empty when built in memory).
  const std::filesystem::path& source_path() const { return source_; }
  void set_source_path(const std::filesystem::path& path) { source_ = path; }

 private:
  ModelFormat format_ = ModelFormat::kTorchScript;
  std::shared_ptr<torch::jit::Module> module_;
  std::shared_ptr<onnx::ModelProto> proto_;
  std::shared_ptr<const AotiPackage> package_;  ///< immutable: copies share it
  std::filesystem::path source_;
  std::unordered_map<std::string, std::string> extra_files_;
};

/// A deep copy of a TorchScript module whose parameters are leaves with the original's
/// requires_grad (Module::clone() alone leaves autograd history on them, which optimizers refuse).
torch::jit::Module clone_module(const torch::jit::Module& module);

/// The tensors a forward() returned, in order: the tensor itself, or the elements of a tuple or list,
/// or the values of a dict in insertion order (torchvision's segmentation models return
/// {"out": ..., "aux": ...}), leaving out None (GoogLeNet's auxiliary logits at inference).
/// Anything else is invalid input.
std::vector<torch::Tensor> output_tensors(const c10::IValue& output);

/// Refuses (usage error, exit 2) an .onnx output path for a command that writes TorchScript.
void require_torchscript_output(const std::filesystem::path& output);

/// Refuses (usage error, exit 2) to write over the input unless `force` is set.
void check_output_path(const std::filesystem::path& input, const std::filesystem::path& output,
                       bool force);

}  // namespace mopt
