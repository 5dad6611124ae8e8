#include "lib/model/aoti_package.h"

#include <caffe2/serialize/inline_container.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <torch/csrc/inductor/aoti_package/model_package_loader.h>

#include <cstdlib>

#include "lib/errors.h"
#include "lib/util/zip_check.h"

namespace mopt {

bool is_pt2_package(const std::filesystem::path& path) {
  try {
    check_zip_file(path);  // LibTorch's zip reader trusts the offsets an archive declares
    caffe2::serialize::PyTorchStreamReader reader(path.string());
    if (!reader.hasRecord("archive_format")) return false;
    auto [data, size] = reader.getRecord("archive_format");
    return std::string(static_cast<const char*>(data.get()), size) == "pt2";
  } catch (const std::exception&) {
    return false;  // not an archive LibTorch reads: the TorchScript loader says what is wrong
  }
}

AotiPackage::AotiPackage(const std::filesystem::path& path) : path_(path) {
  check_zip_file(path);
  // The generated code checks each input's sizes and strides only when this is set; without it a
  // package compiled for batch 2 runs on batch 1 and reads past the end of the input.
  setenv("AOTI_RUNTIME_CHECK_INPUTS", "1", /*overwrite=*/0);
  try {
    loader_ = std::make_unique<torch::inductor::AOTIModelPackageLoader>(path.string());
    for (const auto& [key, value] : loader_->get_metadata()) metadata_[key] = value;
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    throw invalid_input(fmt::format("'{}' is an AOTInductor package that does not load here: {} (a package runs only on "
                                    "the device and CPU features it was compiled for; compile it again on this machine)",
                                    path.string(), short_torch_message(e.what())));
  }
}

AotiPackage::~AotiPackage() = default;

std::vector<torch::Tensor> AotiPackage::run(const std::vector<torch::Tensor>& inputs) const {
  std::vector<torch::Tensor> contiguous;
  for (const auto& input : inputs) contiguous.push_back(input.contiguous());  // the package was compiled for dense strides
  try {
    return loader_->run(contiguous);
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    std::vector<std::string> shapes;
    for (const auto& input : inputs) shapes.push_back(fmt::format("{} ({})", fmt::join(input.sizes(), "x"), c10::toString(input.scalar_type())));
    throw invalid_input(fmt::format("the AOTInductor package '{}' cannot run on inputs of shape {}: {} (a package takes the "
                                    "shapes it was exported with; export with dynamic_shapes for others)",
                                    path_.string(), fmt::join(shapes, ", "), short_torch_message(e.what())));
  }
}

int64_t AotiPackage::input_count() const {
  // in_spec: [version, {"type": "builtins.tuple", "children_spec": [args tuple, kwargs dict]}]
  const auto spec = nlohmann::json::parse(loader_->get_call_spec().at(0), nullptr, /*allow_exceptions=*/false);
  if (!spec.is_array() || spec.size() < 2) return -1;
  const auto& top = spec[1];
  if (!top.contains("children_spec") || top["children_spec"].empty()) return -1;
  const auto& args = top["children_spec"][0];
  return args.contains("children_spec") && args["children_spec"].is_array() ? static_cast<int64_t>(args["children_spec"].size()) : -1;
}

std::map<std::string, torch::Tensor> AotiPackage::constants() const {
  std::map<std::string, torch::Tensor> result;
  auto* runner = loader_->get_runner();
  const auto original = runner->getConstantNamesToOriginalFQNs();
  for (const auto& [name, tensor] : runner->extract_constants_map(/*use_inactive=*/false)) {
    auto it = original.find(name);
    result[it == original.end() || it->second.empty() ? name : it->second] = tensor;
  }
  return result;
}

}  // namespace mopt
