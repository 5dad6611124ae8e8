#include "lib/onnx/export/dict_outputs.h"

#include <algorithm>
#include <map>
#include <optional>

namespace mopt::onnx_export {
namespace {

using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

std::optional<std::string> constant_key(const Node* node) {
  auto key = torch::jit::toIValue(node->input(1));
  if (!key || !key->isString()) return std::nullopt;
  return key->toStringRef();
}

// The stores and reads of `dict` in program order, or none when it is used any other way.
std::optional<std::vector<Node*>> stores_and_reads(Graph& graph, Value* dict) {
  std::vector<Node*> users;
  for (const auto& use : dict->uses()) {
    Node* user = use.user;
    if (user == graph.return_node() && graph.outputs().size() == 1) continue;
    const bool store_or_read = user->kind() == c10::aten::_set_item || user->kind() == c10::aten::__getitem__;
    if (!store_or_read || use.offset != 0 || user->owningBlock() != graph.block() || !constant_key(user)) return std::nullopt;
    users.push_back(user);
  }
  std::sort(users.begin(), users.end(), [](Node* a, Node* b) { return a->isBefore(b); });  // uses are unordered
  return users;
}

}  // namespace

std::vector<std::string> resolve_constant_key_dicts(Graph& graph) {
  std::vector<Node*> dicts;
  for (Node* node : graph.nodes()) {
    if (node->kind() == c10::aten::dict && node->inputs().empty()) dicts.push_back(node);
  }
  std::vector<std::string> returned_keys;
  for (Node* construct : dicts) {
    Value* dict = construct->output();
    auto users = stores_and_reads(graph, dict);
    if (!users) continue;
    std::vector<std::string> keys;
    std::map<std::string, Value*> values;
    bool resolved = true;
    for (Node* user : *users) {
      const auto key = *constant_key(user);
      if (user->kind() == c10::aten::_set_item) {
        if (!values.count(key)) keys.push_back(key);
        values[key] = user->input(2);
      } else if (values.count(key)) {
        user->output()->replaceAllUsesWith(values[key]);
      } else {
        resolved = false;  // a read of a key not stored yet raises at run time: keep it
      }
    }
    if (!resolved) continue;
    if (dict->hasUses() && graph.return_node()->input(0) == dict) {
      std::vector<Value*> elements;
      for (const auto& key : keys) elements.push_back(values[key]);
      auto* tuple = graph.createTuple(elements);
      tuple->insertBefore(graph.return_node());
      graph.return_node()->replaceInput(0, tuple->output());
      returned_keys = keys;
    }
    for (auto it = users->rbegin(); it != users->rend(); ++it) (*it)->destroy();
    construct->destroy();
  }
  return returned_keys;
}

}  // namespace mopt::onnx_export
