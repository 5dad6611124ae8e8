#include "lib/train/feature_taps.h"

#include <fmt/format.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/library.h>


#include "lib/errors.h"
#include "lib/model/graph_walk.h"
#include "lib/model/layer_map.h"

namespace mopt::train {
namespace {

std::map<int64_t, at::Tensor>* g_captured = nullptr;

at::Tensor tap_op(const at::Tensor& x, int64_t tap_id) {
  if (g_captured) (*g_captured)[tap_id] = x;
  return x;
}

bool inside(const std::string& path, const std::string& layer) {
  return path == layer || (path.size() > layer.size() && path.compare(0, layer.size(), layer) == 0 && path[layer.size()] == '.');
}

std::string known_layers(const torch::jit::Module& model) {
  std::vector<std::string> names;
  for (const auto& m : model.named_modules()) {
    if (!m.name.empty()) names.push_back(m.name);
  }
  return fmt::format("{}", fmt::join(names, ", "));
}

}  // namespace

// A fragment: passes/quantize defines the `mopt` library itself.
TORCH_LIBRARY_FRAGMENT(mopt, m) {
  m.def(torch::schema("tap(Tensor x, int tap_id) -> Tensor", c10::AliasAnalysisKind::CONSERVATIVE), &tap_op);
}

void insert_feature_taps(torch::jit::Module& model, const std::vector<std::string>& layers, int64_t first_id) {
  auto graph = model.get_method("forward").graph();
  torch::jit::Inline(*graph);
  const auto nodes = all_nodes(graph->block());
  for (size_t i = 0; i < layers.size(); ++i) {
    const auto& layer = layers[i];
    bool exists = false;
    for (const auto& m : model.named_modules()) exists = exists || m.name == layer;
    if (!exists) throw usage_error(fmt::format("no layer '{}' in the model; layers: {}", layer, known_layers(model)));
    // The layer's output: a value made inside the layer and used outside it (or returned).
    std::vector<torch::jit::Value*> outputs;
    for (auto* node : nodes) {
      if (!inside(layer_path(node), layer)) continue;
      for (auto* value : node->outputs()) {
        bool used_outside = false;
        for (const auto& use : value->uses()) {
          used_outside = used_outside || use.user->kind() == c10::prim::Return || !inside(layer_path(use.user), layer);
        }
        if (used_outside && value->type()->isSubtypeOf(*c10::TensorType::get())) outputs.push_back(value);
      }
    }
    if (outputs.size() != 1) {
      throw usage_error(fmt::format("layer '{}' has {} tensor outputs in the traced forward; feature pairs need a layer with "
                                    "exactly one (pick a leaf such as a Conv, ReLU or a block)",
                                    layer, outputs.size()));
    }
    torch::jit::WithInsertPoint guard(outputs[0]->node()->next());
    graph->insert(c10::Symbol::fromQualString("mopt::tap"), {outputs[0], first_id + static_cast<int64_t>(i)});
  }
}

FeatureCapture::FeatureCapture() {
  if (g_captured) throw runtime_failure("a feature capture is already active");
  g_captured = new std::map<int64_t, at::Tensor>();
}

FeatureCapture::~FeatureCapture() {
  delete g_captured;
  g_captured = nullptr;
}

torch::Tensor FeatureCapture::get(int64_t id) const {
  auto it = g_captured->find(id);
  if (it == g_captured->end()) throw runtime_failure(fmt::format("feature tap {} did not fire in the forward pass", id));
  return it->second;
}

void FeatureCapture::clear() { g_captured->clear(); }

}  // namespace mopt::train
