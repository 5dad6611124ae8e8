#include "lib/model/layer_map.h"

#include <nlohmann/json.hpp>
#include <torch/csrc/jit/ir/scope.h>

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "lib/model/graph_walk.h"

// Declared in scope.h but not exported by LibTorch 1.13's libtorch_cpu (no TORCH_API), so nothing
// outside it can build one; this is LibTorch's own definition.
torch::jit::ModuleInstanceInfo::ModuleInstanceInfo(c10::ClassTypePtr module_type, std::string instance_name)
    : module_type_(std::move(module_type)), instance_name_(std::move(instance_name)) {}

namespace mopt {
namespace {

using nlohmann::json;
using torch::jit::InlinedCallStack;
using torch::jit::InlinedCallStackPtr;
using torch::jit::ModuleInstanceInfo;
using torch::jit::Node;

constexpr int kFormat = 1;

// One level of a layer path: the instance's attribute name and its module class.
using LayerLevel = std::pair<std::string, std::string>;
using LayerPath = std::vector<LayerLevel>;

// Ops are the nodes a profile can show: prim:: nodes never reach the dispatcher (and the archive's
// code may print them differently from the graph they came from), except oneDNN's, which
// profile_instrumentation.h makes visible.
bool is_op(const Node* node) { return !node->kind().is_prim() || is_mkldnn_prim(node); }

std::vector<Node*> forward_ops(const torch::jit::Module& module) {
  std::vector<Node*> ops;
  if (!module.find_method("forward")) return ops;
  for (auto* node : all_nodes(module.get_method("forward").graph()->block())) {
    if (is_op(node)) ops.push_back(node);
  }
  return ops;
}

// "quantized::conv2d_relu" replaced "aten::conv2d", "quantized::hardswish" the in-place
// "aten::hardswish_": the fused op's name starts with the original's, in-place mark dropped.
bool fused_from(const std::string& fused, const std::string& original) {
  const auto fused_name = fused.substr(fused.find("::") + 2);
  auto original_name = original.substr(original.find("::") + 2);
  if (!original_name.empty() && original_name.back() == '_') original_name.pop_back();
  return !original_name.empty() && fused_name.rfind(original_name, 0) == 0;
}

LayerPath path_of_stack(const InlinedCallStackPtr& stack) {
  LayerPath path;
  for (const auto& entry : stack->vec()) {
    const auto& info = std::get<2>(entry);
    // "SELF" is a module calling its own method (Conv2d.forward -> _conv_forward): not a layer.
    if (!info || info->instance_name().empty() || info->instance_name() == "SELF") continue;
    const auto& type = info->class_type();
    path.emplace_back(info->instance_name(), type && type->name() ? type->name()->qualifiedName() : std::string());
  }
  return path;
}

LayerPath path_of(const Node* node) { return node->callstack() ? path_of_stack(*node->callstack()) : LayerPath(); }

}  // namespace

std::string layer_path(const torch::jit::Node* node) {
  std::string path;
  for (const auto& level : path_of(node)) path += (path.empty() ? "" : ".") + level.first;
  return path;
}

std::optional<std::string> layer_map_json(const torch::jit::Module& module) {
  std::map<LayerPath, int> layer_index;
  json layers = json::array();
  json ops = json::array();
  for (const auto* node : forward_ops(module)) {
    const auto path = path_of(node);
    int index = -1;
    if (!path.empty()) {
      auto [it, added] = layer_index.emplace(path, static_cast<int>(layers.size()));
      if (added) layers.push_back(path);
      index = it->second;
    }
    ops.push_back(json::array({node->kind().toQualString(), index}));
  }
  if (layers.empty()) return std::nullopt;
  return json{{"format", kFormat}, {"layers", layers}, {"ops", ops}}.dump();
}

size_t restore_layer_map(torch::jit::Module& module, const std::string& text) {
  std::vector<LayerPath> layers;
  std::vector<std::pair<std::string, int>> ops;
  try {
    const auto map = json::parse(text);
    if (map.at("format").get<int>() != kFormat) return 0;
    layers = map.at("layers").get<std::vector<LayerPath>>();
    ops = map.at("ops").get<std::vector<std::pair<std::string, int>>>();
  } catch (const json::exception&) {
    return 0;
  }
  const auto graph_ops = forward_ops(module);
  if (graph_ops.empty()) return 0;
  auto* forward = &module.get_method("forward").function();

  // One call stack per layer, built from the innermost module out, as inlining builds them.
  std::map<std::string, c10::ClassTypePtr> types;
  auto type_named = [&](const std::string& name) {
    auto& type = types[name];
    if (!type && !name.empty()) type = c10::ClassType::create(c10::QualifiedName(name), {}, /*is_module=*/true);
    return type;
  };
  std::map<int, InlinedCallStackPtr> stacks;
  auto stack_of = [&](int layer, const torch::jit::SourceRange& range) -> InlinedCallStackPtr {
    auto& stack = stacks[layer];
    if (stack) return stack;
    const auto& path = layers.at(static_cast<size_t>(layer));
    for (auto level = path.rbegin(); level != path.rend(); ++level) {
      ModuleInstanceInfo info(type_named(level->second), level->first);
      stack = stack ? c10::make_intrusive<InlinedCallStack>(stack, forward, range, info)
                    : c10::make_intrusive<InlinedCallStack>(forward, range, info);
    }
    return stack;
  };

  // Match graph ops to map entries in order, by kind, looking a few entries ahead: an op the map
  // does not have nearby stays unlabelled rather than pulling the rest of the match out of step.
  constexpr size_t kLookahead = 32;
  size_t restored = 0;
  size_t next = 0;
  for (auto* node : graph_ops) {
    const std::string kind = node->kind().toQualString();
    const size_t end = std::min(ops.size(), next + kLookahead);
    size_t k = next;
    while (k < end && ops[k].first != kind) ++k;
    if (k == end) continue;
    next = k + 1;
    const int layer = ops[k].second;
    if (layer < 0 || static_cast<size_t>(layer) >= layers.size() || layers[static_cast<size_t>(layer)].empty()) continue;
    if (node->callstack()) continue;  // never overwrite what the graph itself knows
    node->setCallStack(stack_of(layer, node->sourceRange()));
    ++restored;
  }
  return restored;
}

LayerSnapshot snapshot_layers(const torch::jit::Module& module) {
  LayerSnapshot snapshot;
  for (const auto* node : forward_ops(module)) snapshot.ops.emplace_back(node->kind().toQualString(), node->callstack());
  return snapshot;
}

size_t carry_layers(const LayerSnapshot& before, torch::jit::Module& module) {
  const auto& old_ops = before.ops;
  const auto new_ops = forward_ops(module);
  std::vector<bool> used(old_ops.size(), false);
  // Ops the rewrite kept carry the very call stack object they had before: they pin the match.
  std::vector<long> kept_at(new_ops.size(), -1);
  size_t position = 0;
  for (size_t i = 0; i < new_ops.size(); ++i) {
    const auto stack = new_ops[i]->callstack();
    if (!stack) continue;
    const std::string kind = new_ops[i]->kind().toQualString();
    for (size_t k = position; k < old_ops.size(); ++k) {
      if (old_ops[k].first == kind && old_ops[k].second && old_ops[k].second->get() == stack->get()) {
        kept_at[i] = static_cast<long>(k);
        used[k] = true;
        position = k + 1;
        break;
      }
    }
  }
  // The ops of `before` between the kept neighbours of new op i are what it can have come from.
  auto gap_of = [&](size_t i) {
    long low = -1;
    long high = static_cast<long>(old_ops.size());
    for (size_t j = i; j-- > 0;) {
      if (kept_at[j] >= 0) {
        low = kept_at[j];
        break;
      }
    }
    for (size_t j = i + 1; j < new_ops.size(); ++j) {
      if (kept_at[j] >= 0) {
        high = kept_at[j];
        break;
      }
    }
    return std::make_pair(static_cast<size_t>(low + 1), static_cast<size_t>(high));
  };
  size_t labelled = 0;
  auto label = [&](Node* node, const InlinedCallStackPtr& stack) {
    node->setCallStack(stack);
    ++labelled;
  };
  for (size_t i = 0; i < new_ops.size(); ++i) {
    auto* node = new_ops[i];
    const std::string kind = node->kind().toQualString();
    if (node->callstack() || is_quantize_boundary(kind)) continue;
    const auto [from, to] = gap_of(i);
    // A fused op takes the call stack of the op it is named after (conv2d_relu from conv2d) ...
    bool found = false;
    for (size_t k = from; k < to && !found; ++k) {
      if (used[k] || !old_ops[k].second || !fused_from(kind, old_ops[k].first)) continue;
      label(node, *old_ops[k].second);
      used[k] = found = true;
    }
    if (found) continue;
    // ... else the layer of the ops it replaced, when they all came from one layer (a linear
    // rewritten as matmul + add).
    c10::optional<InlinedCallStackPtr> only;
    bool one_layer = true;
    for (size_t k = from; k < to && one_layer; ++k) {
      if (!old_ops[k].second) continue;
      if (!only) {
        only = old_ops[k].second;
      } else if (path_of_stack(*only) != path_of_stack(*old_ops[k].second)) {
        one_layer = false;
      }
    }
    if (only && one_layer) label(node, *only);
  }
  // Boundaries belong to the layer that reads their output, else to the one that wrote their input.
  for (auto* node : new_ops) {
    if (node->callstack() || !is_quantize_boundary(node->kind().toQualString())) continue;
    c10::optional<InlinedCallStackPtr> stack;
    for (const auto& use : node->output()->uses()) {
      if (use.user->callstack()) {
        stack = use.user->callstack();
        break;
      }
    }
    if (!stack && node->input(0)->node()->callstack()) stack = node->input(0)->node()->callstack();
    if (stack) label(node, *stack);
  }
  return labelled;
}

}  // namespace mopt
