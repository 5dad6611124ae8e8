// The layer each op of a frozen graph came from: kept across save/load, carried across rewrites
// that drop it, and used by the profiler (including the oneDNN prim ops it cannot see by itself).
#include <torch/csrc/jit/passes/freeze_module.h>
#include <torch/csrc/jit/passes/frozen_linear_transpose.h>

#include <map>

#include "lib/bench/op_profile.h"
#include "lib/bench/profile_instrumentation.h"
#include "lib/model/graph_walk.h"
#include "lib/model/layer_map.h"
#include "test_helpers.h"

using namespace mopt;
using namespace mopt::test;

namespace {

// "features.0" for each op kind's nodes, in graph order ("" for a node with no module).
std::multimap<std::string, std::string> layers_by_kind(const torch::jit::Module& module) {
  std::multimap<std::string, std::string> out;
  for (auto* node : all_nodes(module.get_method("forward").graph()->block())) {
    if (node->kind().is_prim() && !is_mkldnn_prim(node)) continue;
    out.emplace(node->kind().toQualString(), layer_path(node));
  }
  return out;
}

bool has(const std::multimap<std::string, std::string>& layers, const std::string& kind, const std::string& layer) {
  auto [from, to] = layers.equal_range(kind);
  for (auto it = from; it != to; ++it) {
    if (it->second == layer) return true;
  }
  return false;
}

Model frozen_cnn() {
  auto module = Model::load(committed("fashion_cnn.pt")).torchscript().clone();
  module.eval();
  return Model::from_torchscript(torch::jit::freeze(module));
}

}  // namespace

TEST_SUITE("layer-map") {
  TEST_CASE("a frozen model saved and loaded again keeps each op's layer") {
    auto frozen = frozen_cnn();
    CHECK(has(layers_by_kind(frozen.torchscript()), "aten::conv2d", "features.4"));
    const auto dir = temp_dir("layer-map");
    frozen.save(dir / "frozen.pt");
    // Plain LibTorch loses them: the archive stores the graph as code.
    auto plain = torch::jit::load((dir / "frozen.pt").string());
    CHECK_FALSE(has(layers_by_kind(plain), "aten::conv2d", "features.4"));
    const auto layers = layers_by_kind(Model::load(dir / "frozen.pt").torchscript());
    CHECK(has(layers, "aten::conv2d", "features.0"));
    CHECK(has(layers, "aten::conv2d", "features.4"));
    CHECK(has(layers, "aten::linear", "classifier.2"));
    CHECK(has(layers, "aten::linear", "classifier.5"));
    std::filesystem::remove_all(dir);
  }

  TEST_CASE("a map that does not fit restores nothing and never throws") {
    auto module = torch::jit::load(committed("fashion_cnn.pt").string());
    auto frozen = torch::jit::freeze([&] { module.eval(); return module; }());
    const auto map = layer_map_json(frozen);
    REQUIRE(map);
    auto fresh = frozen.clone();
    CHECK(restore_layer_map(fresh, "not json") == 0);
    CHECK(restore_layer_map(fresh, R"({"format": 99, "layers": [], "ops": []})") == 0);
    CHECK(restore_layer_map(fresh, R"({"format": 1, "layers": [], "ops": [["aten::conv2d", 7]]})") == 0);
    // An unfrozen module names its layers through its own methods: there is no map to write.
    CHECK_FALSE(layer_map_json(torch::jit::load(committed("fashion_cnn.pt").string())));
  }

  TEST_CASE("rewrites of a frozen graph keep the layers: pipeline passes and quantization") {
    // optimize-for-inference rewrites linear as matmul + add and conv into oneDNN prim ops.
    auto result = run_text(Model::load(committed("fashion_cnn.pt")), "freeze,optimize-for-inference{mkldnn=true}");
    const auto layers = layers_by_kind(result.model.torchscript());
    CHECK(has(layers, "prim::mkldnn_convolution", "features.0"));
    CHECK(has(layers, "prim::mkldnn_convolution", "features.4"));
    CHECK((has(layers, "aten::matmul", "classifier.2") || has(layers, "aten::mm", "classifier.2") ||
           has(layers, "aten::linear", "classifier.2")));

    // LibTorch's own rewrite, run directly: linear with a pre-transposed weight.
    auto transposed = frozen_cnn();
    const auto snapshot = snapshot_layers(transposed.torchscript());
    auto transposed_graph = transposed.torchscript().get_method("forward").graph();
    torch::jit::FrozenLinearTranspose(transposed_graph);
    carry_layers(snapshot, transposed.torchscript());
    CHECK(has(layers_by_kind(transposed.torchscript()), "aten::matmul", "classifier.5"));

    // A rewrite that builds new nodes (which have no call stack): they get the replaced op's layer.
    auto frozen = frozen_cnn();
    auto before = snapshot_layers(frozen.torchscript());
    for (auto& op : before.ops) {
      if (op.first == "aten::relu") op.first = "aten::relu_";  // as a model with nn.ReLU(inplace=True) has them
    }
    auto graph = frozen.torchscript().get_method("forward").graph();
    // In-place originals count too: "quantized::relu" stands for "aten::relu_".
    const std::map<std::string, std::string> renamed{{"aten::linear", "aten::linear"}, {"aten::relu", "quantized::relu"}};
    size_t replaced = 0;
    for (auto* node : all_nodes(graph->block())) {
      const auto to = renamed.find(node->kind().toQualString());
      if (to == renamed.end()) continue;
      auto* fresh = graph->create(c10::Symbol::fromQualString(to->second), node->inputs(), 1)->insertBefore(node);
      fresh->output()->setType(node->output()->type());
      node->output()->replaceAllUsesWith(fresh->output());
      node->destroy();
      ++replaced;
    }
    REQUIRE(replaced >= 4);
    CHECK(carry_layers(before, frozen.torchscript()) == replaced);
    const auto carried = layers_by_kind(frozen.torchscript());
    CHECK(has(carried, "aten::linear", "classifier.2"));
    CHECK(has(carried, "aten::linear", "classifier.5"));
    CHECK(has(carried, "quantized::relu", "features.2"));
  }

  TEST_CASE("the profiler sees oneDNN prim ops, in their layers") {
    auto result = run_text(Model::load(committed("fashion_cnn.pt")), "freeze,optimize-for-inference{mkldnn=true}");
    auto& module = result.model.torchscript();
    CHECK(record_mkldnn_prims(module) == 2);
    auto input = torch::randn({1, 1, 28, 28});
    for (int i = 0; i < 3; ++i) module.forward({input});
    const auto capture = capture_op_profile([&] { module.forward({input}); }, 2);
    std::map<std::string, std::string> conv_layers;
    for (const auto& e : capture.events) {
      if (e.is_op && e.name == "prim::mkldnn_convolution") conv_layers[module_path_text(e.module_path)] = e.module_type;
    }
    CHECK(conv_layers.count("features.0") == 1);
    CHECK(conv_layers.count("features.4") == 1);
    CHECK(conv_layers["features.0"] == "Conv2d");
  }
}
