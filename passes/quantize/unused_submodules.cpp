#include "passes/quantize/unused_submodules.h"

#include <algorithm>
#include <map>
#include <set>

namespace mopt::quant {
namespace {

using torch::jit::Block;

// Names of the attributes of `self` that `block` reads or writes (prim::GetAttr / prim::SetAttr on
// the method's first input).
void attributes_used(const Block* block, const torch::jit::Value* self, std::set<std::string>& names) {
  for (const auto* node : block->nodes()) {
    if ((node->kind() == c10::prim::GetAttr || node->kind() == c10::prim::SetAttr) && node->input(0) == self) {
      names.insert(node->s(c10::attr::name));
    }
    for (const auto* sub : node->blocks()) attributes_used(sub, self, names);
  }
}

std::set<std::string> attributes_used(const c10::ClassType& type) {
  std::set<std::string> names;
  for (auto* method : type.methods()) {
    auto graph = torch::jit::toGraphFunction(*method).graph();
    attributes_used(graph->block(), graph->inputs().at(0), names);
  }
  return names;
}

}  // namespace

std::vector<std::string> drop_unused_submodules(torch::jit::Module& module) {
  // Modules sharing a type share its methods: an attribute is dropped from all of them or none.
  std::map<c10::ClassTypePtr, std::vector<std::pair<std::string, c10::intrusive_ptr<c10::ivalue::Object>>>> by_type;
  for (const auto& item : module.named_modules()) by_type[item.value.type()].emplace_back(item.name, item.value._ivalue());
  std::vector<std::string> dropped;
  for (auto& [type, objects] : by_type) {
    if (type->methods().empty()) continue;  // a container without forward: read through its parent
    const auto used = attributes_used(*type);
    std::vector<std::string> unused;
    for (size_t i = 0; i < type->numAttributes(); ++i) {
      const auto attribute = type->getAttribute(i)->cast<c10::ClassType>();
      const auto& name = type->getAttributeName(i);
      if (attribute && attribute->is_module() && !used.count(name)) unused.push_back(name);
    }
    for (const auto& name : unused) {
      for (auto& [path, object] : objects) {
        object->unsafeRemoveAttr(name);
        dropped.push_back(path.empty() ? name : path + "." + name);
      }
      type->unsafeRemoveAttribute(name);
    }
  }
  std::sort(dropped.begin(), dropped.end());
  return dropped;
}

}  // namespace mopt::quant
