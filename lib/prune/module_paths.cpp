#include "lib/prune/module_paths.h"

#include <fmt/format.h>

#include <sstream>

#include "lib/errors.h"

namespace mopt::prune {

torch::jit::Module submodule_at(const torch::jit::Module& module, const std::string& path) {
  torch::jit::Module current = module;
  if (path.empty()) return current;
  std::stringstream parts(path);
  std::string part;
  while (std::getline(parts, part, '.')) {
    const auto& type = current.type();
    if (!type->hasAttribute(part) || !type->getAttribute(part)->is_module()) {
      throw usage_error(fmt::format("the model has no submodule '{}'", path));
    }
    current = current.attr(part).toModule();
  }
  return current;
}

std::string type_name(const torch::jit::Module& module) {
  const auto& name = module.type()->name();
  return name ? name->qualifiedName() : std::string();
}

bool is_transposed_conv(const torch::jit::Module& module) {
  return type_name(module).find("ConvTranspose") != std::string::npos;
}

bool is_prunable_layer(const torch::jit::Module& module) {
  // Scripted types keep the Python class in their name (possibly mangled:
  // __torch__.torch.nn.modules.conv.___torch_mangle_3.Conv2d), which is all we can go by.
  const std::string name = type_name(module);
  const auto dot = name.rfind('.');
  const std::string leaf = dot == std::string::npos ? name : name.substr(dot + 1);
  if (leaf.find("Conv") == std::string::npos && leaf.find("Linear") == std::string::npos) return false;
  const auto& type = module.type();
  const auto slot = type->findAttributeSlot("weight");
  if (!slot || !type->is_parameter(*slot)) return false;
  const auto value = module._ivalue()->getSlot(*slot);
  return value.isTensor() && value.toTensor().defined() && value.toTensor().dim() >= 2;
}

torch::Tensor tensor_attr(const torch::jit::Module& module, const std::string& name) {
  const auto slot = module.type()->findAttributeSlot(name);
  if (!slot) return {};
  const auto value = module._ivalue()->getSlot(*slot);
  return value.isTensor() ? value.toTensor() : torch::Tensor();
}

void replace_tensor_attr(torch::jit::Module& module, const std::string& name, torch::Tensor value) {
  const auto& type = module.type();
  const auto slot = type->findAttributeSlot(name);
  if (!slot) throw runtime_failure(fmt::format("module has no tensor attribute '{}'", name));
  if (type->is_parameter(*slot)) {
    const auto old = tensor_attr(module, name);
    value = value.detach();
    value.set_requires_grad(old.defined() ? old.requires_grad() : true);
  }
  module._ivalue()->setSlot(*slot, std::move(value));
}

int64_t own_parameter_count(const torch::jit::Module& module) {
  int64_t count = 0;
  for (const auto& parameter : module.named_parameters(/*recurse=*/false)) count += parameter.value.numel();
  return count;
}

}  // namespace mopt::prune
