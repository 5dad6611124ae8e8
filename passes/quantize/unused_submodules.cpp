#include "passes/quantize/unused_submodules.h"

#include <algorithm>
#include <map>
#include <set>

namespace mopt::quant {
namespace {

// Attribute names read or written, by the class type they belong to; nullptr collects the reads
// through a module interface, whose class is not known statically.
using UsedAttributes = std::map<const c10::ClassType*, std::set<std::string>>;

// Every prim::GetAttr / prim::SetAttr in `block`, by the class type it reads from: a module's own
// methods read `self.x`, and a parent reads a container's elements (`self.layers` then "0").
void collect_attribute_uses(const torch::jit::Block* block, UsedAttributes& used) {
  for (const auto* node : block->nodes()) {
    if (node->kind() == c10::prim::GetAttr || node->kind() == c10::prim::SetAttr) {
      const auto& owner = node->input(0)->type();
      if (auto type = owner->cast<c10::ClassType>()) used[type.get()].insert(node->s(c10::attr::name));
      else if (owner->cast<c10::InterfaceType>()) used[nullptr].insert(node->s(c10::attr::name));
    }
    for (const auto* sub : node->blocks()) collect_attribute_uses(sub, used);
  }
}

void collect_attribute_uses(const std::vector<torch::jit::Function*>& functions, UsedAttributes& used) {
  for (auto* function : functions) collect_attribute_uses(torch::jit::toGraphFunction(*function).graph()->block(), used);
}

}  // namespace

std::vector<std::string> drop_unused_submodules(torch::jit::Module& module) {
  // Modules sharing a type share its methods: an attribute is dropped from all of them or none.
  std::map<c10::ClassTypePtr, std::vector<std::pair<std::string, c10::intrusive_ptr<c10::ivalue::Object>>>> by_type;
  for (const auto& item : module.named_modules()) by_type[item.value.type()].emplace_back(item.name, item.value._ivalue());
  UsedAttributes used;
  for (const auto& [type, objects] : by_type) {
    collect_attribute_uses(type->methods(), used);
    collect_attribute_uses(type->getForwardHooks(), used);
    collect_attribute_uses(type->getForwardPreHooks(), used);
  }
  std::vector<std::string> dropped;
  if (used.count(nullptr)) return dropped;  // a module called through an interface: any could be read
  for (auto& [type, objects] : by_type) {
    const auto& read = used[type.get()];
    std::vector<std::string> unused;
    for (size_t i = 0; i < type->numAttributes(); ++i) {
      const auto attribute = type->getAttribute(i)->cast<c10::ClassType>();
      const auto& name = type->getAttributeName(i);
      if (attribute && attribute->is_module() && !read.count(name)) unused.push_back(name);
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
