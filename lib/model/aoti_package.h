#pragma once
// PyTorch 2's C++ deployment format: an AOTInductor package (.pt2), made in Python by
// torch._inductor.aoti_compile_and_package and run in C++ by AOTIModelPackageLoader. It is compiled
// code (a shared library and its weights), not a graph: mopt inspects and benchmarks it like any
// artifact, and the commands that transform a model refuse it, naming the model it was made from.
#include <torch/types.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace torch::inductor {
class AOTIModelPackageLoader;
}

namespace mopt {

/// Whether `path` is a PyTorch 2 package: a zip archive whose `archive_format` record reads "pt2".
bool is_pt2_package(const std::filesystem::path& path);

/// A loaded AOTInductor package, ready to run. Input shapes are checked on every call (a package
/// compiled for a fixed shape otherwise reads past a smaller input's end).
class AotiPackage {
 public:
  /// invalid_input (exit 4) naming the file when the package does not load here (another CPU's
  /// ISA, a CUDA package on a CPU build, a truncated archive).
  explicit AotiPackage(const std::filesystem::path& path);
  ~AotiPackage();

  /// The model's outputs for `inputs` (one tensor per input, in the exported forward's order).
  /// invalid_input when the package refuses them (shape or dtype the package was not compiled for).
  std::vector<torch::Tensor> run(const std::vector<torch::Tensor>& inputs) const;

  /// What the package records of its build: platform, machine, CPU ISA, device.
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  /// Its constants (weights and buffers) by original name.
  std::map<std::string, torch::Tensor> constants() const;
  /// How many tensors the exported forward takes (positional), from the package's call spec; -1
  /// when the spec is not the (args, kwargs) tree torch.export writes.
  int64_t input_count() const;

 private:
  std::filesystem::path path_;
  std::unique_ptr<torch::inductor::AOTIModelPackageLoader> loader_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace mopt
