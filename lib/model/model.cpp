#include "lib/model/model.h"

#include <fmt/format.h>

#include <caffe2/serialize/inline_container.h>
#include <nlohmann/json.hpp>
#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/mobile/import.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "lib/errors.h"
#include "lib/model/aoti_package.h"
#include "lib/util/zip_check.h"
#include "lib/model/layer_map.h"
#include "lib/model/onnx_io.h"
#include "lib/runtime/runtime.h"
#include "lib/util/atomic_file.h"

namespace mopt {
namespace fs = std::filesystem;

std::string format_name(ModelFormat format) {
  switch (format) {
    case ModelFormat::kTorchScript: return "torchscript";
    case ModelFormat::kOnnx: return "onnx";
    case ModelFormat::kAotiPackage: return "aoti-package";
  }
  return "unknown";
}

ModelFormat detect_format(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw invalid_input(fmt::format("model file '{}' does not exist", path.string()));
  if (fs::is_directory(path, ec)) {
    throw invalid_input(fmt::format("'{}' is a directory; expected a model file (.pt, .ptl or .onnx)",
                                    path.string()));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw invalid_input(fmt::format("cannot read model file '{}'", path.string()));
  char magic[4] = {0, 0, 0, 0};
  in.read(magic, 4);
  if (in.gcount() == 0) throw invalid_input(fmt::format("model file '{}' is empty", path.string()));
  if (in.gcount() == 4 && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4) {
    // TorchScript archives and PyTorch 2 packages are zip files
    return is_pt2_package(path) ? ModelFormat::kAotiPackage : ModelFormat::kTorchScript;
  }
  return ModelFormat::kOnnx;  // load_onnx() rejects bytes that are not a ModelProto
}

namespace {

// A TorchScript compile error in one line: "undefined value x (code/__torch__.py, line 26)". The
// parser's message is the reason, a source excerpt and a caret; the excerpt says nothing to a user
// who never wrote that code, the file and line do.
std::string compile_error_summary(const std::string& what) {
  std::istringstream lines(what);
  std::string line, reason, where;
  const std::regex location(R"re(File "([^"]+)", line (\d+))re");
  while (std::getline(lines, line)) {
    std::smatch match;
    if (where.empty() && std::regex_search(line, match, location)) {
      where = fmt::format("{}, line {}", match[1].str(), match[2].str());
    } else if (reason.empty() && line.find_first_not_of(" \t") != std::string::npos) {
      reason = line.substr(line.find_first_not_of(" \t"));
      while (!reason.empty() && (reason.back() == ':' || reason.back() == ' ')) reason.pop_back();
      if (reason.size() > 5 && reason.compare(reason.size() - 5, 5, " here") == 0) reason.resize(reason.size() - 5);
    }
  }
  if (reason.empty()) reason = "compile error";
  return where.empty() ? reason : fmt::format("{} ({})", reason, where);
}

// Compiles every method now: LibTorch compiles the archive's code lazily in places, and a broken
// function would otherwise surface on the first forward call as a runtime failure, not bad input.
void compile_all_methods(const torch::jit::Module& module) {
  for (const auto& submodule : module.modules()) {
    for (const auto& method : submodule.get_methods()) method.function().ensure_defined();
  }
}

// An INT8 artifact records the engine it was measured with (mopt.json's quantized_engine); its
// packed weights are re-packed for the active engine as it loads, so that engine becomes active
// first, unless --engine or a profile named one.
void adopt_recorded_engine(const fs::path& path) {
  if (engine_pinned()) return;
  try {
    caffe2::serialize::PyTorchStreamReader reader(path.string());
    if (!reader.hasRecord("extra/mopt.json")) return;
    auto [data, size] = reader.getRecord("extra/mopt.json");
    const auto doc = nlohmann::json::parse(std::string(static_cast<const char*>(data.get()), size), nullptr, false);
    if (doc.is_object() && doc.contains("quantized_engine") && doc["quantized_engine"].is_string()) {
      use_engine(doc["quantized_engine"].get<std::string>());
    }
  } catch (const std::exception&) {
    // a corrupt archive: torch::jit::load below says so in the user's terms
  }
}

}  // namespace

Model Model::load(const fs::path& path) {
  Model model;
  model.source_ = path;
  model.format_ = detect_format(path);
  if (model.format_ == ModelFormat::kAotiPackage) {
    throw invalid_input(fmt::format("'{}' is an AOTInductor package (.pt2): compiled code that `mopt inspect` and `mopt bench` "
                                    "run but no other command can change; give the TorchScript or ONNX model it was made from",
                                    path.string()));
  }
  if (model.format_ == ModelFormat::kOnnx) {
    model.proto_ = std::make_shared<onnx::ModelProto>(load_onnx(path));
    return model;
  }
  check_zip_file(path);  // LibTorch's zip reader trusts the offsets an archive declares
  adopt_recorded_engine(path);
  try {
    // mopt.json: how the artifact was made; onnx_import.json: the ONNX names of an imported model.
    // mopt_layers.json: the module each op of a frozen graph came from (layer_map.h).
    torch::jit::ExtraFilesMap extra{{"mopt.json", ""}, {"onnx_import.json", ""}, {kLayerMapFile, ""}};
    model.module_ = std::make_shared<torch::jit::Module>(torch::jit::load(path.string(), c10::nullopt, extra));
    for (const auto& [name, contents] : extra) {
      if (!contents.empty() && name != kLayerMapFile) model.extra_files_[name] = contents;
    }
    compile_all_methods(*model.module_);
    if (!extra[kLayerMapFile].empty()) restore_layer_map(*model.module_, extra[kLayerMapFile]);
  } catch (const std::bad_alloc&) {
    throw;  // out of memory is not a property of the file
  } catch (const c10::Error& e) {
    throw invalid_input(fmt::format("'{}' is not a loadable TorchScript archive (truncated or corrupt?): {}",
                                    path.string(), short_torch_message(e.what())));
  } catch (const std::exception& e) {
    // The TorchScript frontend does not throw c10::Error: code that does not compile throws
    // torch::jit::ErrorReport, code that does not parse a std::runtime_error; both name a source line.
    if (std::string(e.what()).find("File \"") == std::string::npos) {
      throw invalid_input(fmt::format("'{}' is not a loadable TorchScript archive (truncated or corrupt?): {}",
                                      path.string(), short_torch_message(e.what())));
    }
    throw invalid_input(fmt::format("'{}' is not a valid TorchScript model: its code does not compile: {}. The "
                                    "archive's code/*.py is corrupt or was edited, or it was saved by a PyTorch "
                                    "newer than this LibTorch; re-export it with torch.jit.save",
                                    path.string(), compile_error_summary(e.what())));
  }
  return model;
}

Model Model::from_torchscript(torch::jit::Module module) {
  Model model;
  model.format_ = ModelFormat::kTorchScript;
  model.module_ = std::make_shared<torch::jit::Module>(std::move(module));
  return model;
}

Model Model::from_onnx(onnx::ModelProto proto) {
  Model model;
  model.format_ = ModelFormat::kOnnx;
  model.proto_ = std::make_shared<onnx::ModelProto>(std::move(proto));
  return model;
}

torch::jit::Module& Model::torchscript() {
  if (!module_) throw runtime_failure(fmt::format("model is {}, not TorchScript", format_name(format_)));
  return *module_;
}
const torch::jit::Module& Model::torchscript() const {
  if (!module_) throw runtime_failure(fmt::format("model is {}, not TorchScript", format_name(format_)));
  return *module_;
}
onnx::ModelProto& Model::onnx() {
  if (!proto_) throw runtime_failure(fmt::format("model is {}, not ONNX", format_name(format_)));
  return *proto_;
}
const onnx::ModelProto& Model::onnx() const {
  if (!proto_) throw runtime_failure(fmt::format("model is {}, not ONNX", format_name(format_)));
  return *proto_;
}

std::vector<torch::Tensor> output_tensors(const c10::IValue& output) {
  const bool container = output.isTuple() || output.isList() || output.isGenericDict();
  std::vector<c10::IValue> elements;
  if (output.isTuple()) elements = output.toTupleRef().elements().vec();
  if (output.isList()) elements = output.toListRef().vec();
  if (output.isGenericDict()) {
    for (const auto& entry : output.toGenericDict()) elements.push_back(entry.value());  // insertion order
  }
  if (!container) elements = {output};
  std::vector<torch::Tensor> tensors;
  for (const auto& element : elements) {
    if (element.isNone()) continue;
    if (!element.isTensor()) {
      throw invalid_input(fmt::format("the model's forward() returns a {}: mopt reads tensors, and tuples, lists and dicts of them",
                                      container ? fmt::format("{} holding a {}", output.tagKind(), element.tagKind()) : output.tagKind()));
    }
    tensors.push_back(element.toTensor());
  }
  return tensors;
}

torch::jit::Module clone_module(const torch::jit::Module& module) {
  torch::jit::Module copy;
  {
    torch::NoGradGuard no_grad;  // else cloned parameters carry autograd history and stop being leaves
    // Below autograd entirely: the oneDNN weights of optimize-for-inference{mkldnn=true} can only
    // be copied there (LibTorch asserts otherwise); the copies are still ordinary tensors.
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    copy = module.clone();
  }
  // ... but keep each parameter's requires_grad, so the copy trains (or stays frozen) like the original.
  auto originals = module.parameters();
  auto copies = copy.parameters();
  for (auto o = originals.begin(), c = copies.begin(); o != originals.end() && c != copies.end(); ++o, ++c) {
    (*c).requires_grad_((*o).requires_grad());
  }
  return copy;
}

Model Model::load_aoti_package(const fs::path& path) {
  if (detect_format(path) != ModelFormat::kAotiPackage) {
    throw invalid_input(fmt::format("'{}' is not an AOTInductor package (.pt2)", path.string()));
  }
  Model model;
  model.format_ = ModelFormat::kAotiPackage;
  model.source_ = path;
  model.package_ = std::make_shared<const AotiPackage>(path);
  return model;
}

const AotiPackage& Model::aoti_package() const {
  if (!package_) throw runtime_failure(fmt::format("model is {}, not an AOTInductor package", format_name(format_)));
  return *package_;
}

Model Model::clone() const {
  if (package_) return *this;  // compiled code nothing changes: sharing it is a copy
  Model copy;
  copy.format_ = format_;
  copy.source_ = source_;
  copy.extra_files_ = extra_files_;
  if (module_) copy.module_ = std::make_shared<torch::jit::Module>(clone_module(*module_));
  if (proto_) copy.proto_ = std::make_shared<onnx::ModelProto>(*proto_);
  return copy;
}

Model Model::reloaded() const {
  if (!is_torchscript()) return clone();
  std::stringstream buffer;
  module_->save(buffer);
  Model copy = from_torchscript(torch::jit::load(buffer));
  if (const auto layers = layer_map_json(*module_)) restore_layer_map(*copy.module_, *layers);
  copy.source_ = source_;
  copy.extra_files_ = extra_files_;
  return copy;
}

void Model::invalidate_graph_caches() {
  if (!module_) return;
  for (const auto& submodule : module_->modules()) {
    for (const auto& method : submodule.get_methods()) {
      if (auto* function = torch::jit::tryToGraphFunction(method.function())) function->clear_optimized_graphs();
    }
  }
}

void Model::save(const fs::path& path) const {
  if (package_) throw usage_error("an AOTInductor package is not written by mopt: copy the .pt2 file");
  if (is_onnx()) {
    save_onnx(*proto_, path);
    return;
  }
  require_torchscript_output(path);  // a zip archive named .onnx would only confuse
  const bool lite = path.extension() == ".ptl";
  write_atomically(path, [&](const fs::path& temp) {
    try {
      torch::jit::ExtraFilesMap extra(extra_files_.begin(), extra_files_.end());
      if (const auto layers = layer_map_json(*module_)) extra[kLayerMapFile] = *layers;
      if (lite) {
        // Through a reload: the lite exporter drops submodule methods of clone()d modules
        // (their mangled types), which then fail at run time with "Couldn't find method".
        std::stringstream buffer;
        module_->save(buffer);
        torch::jit::load(buffer)._save_for_mobile(temp.string(), extra);
      } else {
        module_->save(temp.string(), extra);
      }
    } catch (const c10::Error& e) {
      throw runtime_failure(fmt::format("failed to save '{}': {}", path.string(), short_torch_message(e.what())));
    }
    // Some graphs serialize but cannot be read back (e.g. MKLDNN constants); never ship those.
    try {
      if (lite) {
        torch::jit::_load_for_mobile(temp.string());
      } else {
        torch::jit::load(temp.string());
      }
    } catch (const std::exception& e) {
      throw runtime_failure(fmt::format("refusing to write '{}': the saved model cannot be loaded back ({}); "
                                        "drop the pass that produced it (e.g. optimize-for-inference{{mkldnn=true}})",
                                        path.string(), short_torch_message(e.what())));
    }
  });
}

void require_torchscript_output(const fs::path& output) {
  if (output.extension() == ".onnx") {
    throw usage_error(fmt::format("'{}': writing ONNX from a TorchScript model is not supported yet; use .pt or .ptl "
                                  "(ONNX inputs are fine: they are imported)",
                                  output.string()));
  }
}

void check_output_path(const fs::path& input, const fs::path& output, bool force) {
  if (!force && same_file(input, output)) {
    throw usage_error(fmt::format("output '{}' is the input model; choose another path or pass --force",
                                  output.string()));
  }
}

}  // namespace mopt
