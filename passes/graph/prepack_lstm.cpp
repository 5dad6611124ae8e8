// prepack-lstm: LSTM layers run oneDNN's RNN primitive on weights packed once, when the file loads.
//   Before: %y, %h, %c = aten::lstm(%x, %hx, [W_ih, W_hh, b_ih, b_hh, ...], ...)   (constant weights)
//   After:  for each layer and direction, aten::mkldnn_rnn_layer(%x_tnc, P_ih, P_hh, b_ih, b_hh, ...)
//           on P_ih/P_hh, weights in oneDNN's packed layout read from a submodule; an input that
//           is not 3-D float32 still goes to aten::lstm on the dense weights (which behaves as before).
// Why: LibTorch's aten::lstm already runs fp32 LSTMs through mkldnn_rnn_layer on x86, but it hands
// the plain weights over and oneDNN reorders them on every call: 151 us per layer of the 2-layer
// 32->64 fixture at 1 thread, where packing them beforehand (what Inductor's freezing does with
// mkldnn::_reorder_mkldnn_rnn_layer_weight) takes the call from 0.38-0.41 ms to 0.21-0.27 ms
// (docs/benchmarks.md, "LSTM weights packed once"). A packed oneDNN tensor cannot be saved, so the
// submodule saves the dense weights (__getstate__) and packs them in __setstate__, as
// reloadable_mkldnn.h does for convolutions.
// The packed layout depends on the batch size oneDNN is told (a mismatch still computes the same
// result: oneDNN reorders again, as before): `batch` (default 1, what mopt compile measures), and the
// sequence length when the graph knows it (else 16).
// Preconditions: the module is frozen first when it is not; weights are dense fp32 constants; no
// projection (proj_size), train=false. LibTorch built with oneDNN (x86): the pass does nothing
// elsewhere, and the file needs oneDNN to load.
// Numerics: the same oneDNN kernel aten::lstm runs here on fp32 input, so outputs are identical.
// Stats: rewrites = LSTM ops rewritten; details give their layer counts.
#include <ATen/Config.h>
#include <fmt/format.h>
#include <torch/csrc/jit/frontend/resolver.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>

#include <string>
#include <vector>

#include "lib/model/graph_walk.h"
#include "passes/graph/graph_passes.h"

namespace mopt {
namespace {

using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

constexpr int64_t kDefaultSequenceLength = 16;

// One aten::lstm.input whose weights are constants, with its constant arguments.
struct LstmSite {
  Node* node = nullptr;
  std::vector<at::Tensor> weights;  // per layer and direction: W_ih, W_hh[, b_ih, b_hh]
  bool has_biases = true;
  int64_t layers = 1;
  bool bidirectional = false;
  bool batch_first = false;
  int64_t hidden = 0;
};

// The tensors of a constant Tensor[] (a constant list, or a ListConstruct of constants).
c10::optional<std::vector<at::Tensor>> constant_tensor_list(Value* list) {
  if (auto constant = torch::jit::toIValue(list); constant && constant->isTensorList()) {
    return constant->toTensorVector();
  }
  if (list->node()->kind() != c10::prim::ListConstruct) return c10::nullopt;
  std::vector<at::Tensor> tensors;
  for (auto* item : list->node()->inputs()) {
    auto constant = torch::jit::toIValue(item);
    if (!constant || !constant->isTensor()) return c10::nullopt;
    tensors.push_back(constant->toTensor());
  }
  return tensors;
}

c10::optional<LstmSite> match_lstm(Node* node) {
  static const auto schema = torch::jit::parseSchema(
      "aten::lstm.input(Tensor input, Tensor[] hx, Tensor[] params, bool has_biases, int num_layers, float dropout, "
      "bool train, bool bidirectional, bool batch_first) -> (Tensor, Tensor, Tensor)");
  if (node->kind() != c10::aten::lstm || !node->matches(schema)) return c10::nullopt;
  auto weights = constant_tensor_list(node->input(2));
  auto has_biases = torch::jit::toIValue(node->input(3));
  auto layers = torch::jit::toIValue(node->input(4));
  auto train = torch::jit::toIValue(node->input(6));
  auto bidirectional = torch::jit::toIValue(node->input(7));
  auto batch_first = torch::jit::toIValue(node->input(8));
  if (!weights || !has_biases || !layers || !train || !bidirectional || !batch_first || train->toBool()) {
    return c10::nullopt;
  }
  LstmSite site{node, *weights, has_biases->toBool(), layers->toInt(), bidirectional->toBool(), batch_first->toBool()};
  const size_t per_unit = site.has_biases ? 4 : 2;  // proj_size adds a fifth (or third) weight: not handled
  const size_t units = static_cast<size_t>(site.layers) * (site.bidirectional ? 2 : 1);
  if (site.layers < 1 || site.weights.size() != units * per_unit) return c10::nullopt;
  for (const auto& w : site.weights) {
    if (w.layout() != at::kStrided || w.scalar_type() != at::kFloat || w.is_quantized()) return c10::nullopt;
  }
  site.hidden = site.weights[1].size(-1);  // W_hh is [4H, H]
  if (site.weights[0].dim() != 2 || site.weights[0].size(0) != 4 * site.hidden) return c10::nullopt;
  return site;
}

// The sequence length the graph knows for the LSTM's input, else the default.
int64_t known_sequence_length(const LstmSite& site) {
  if (auto type = site.node->input(0)->type()->cast<c10::TensorType>()) {
    auto sizes = type->sizes().concrete_sizes();
    if (sizes && sizes->size() == 3) return (*sizes)[site.batch_first ? 1 : 0];
  }
  return kDefaultSequenceLength;
}

std::string py_bool(bool value) { return value ? "True" : "False"; }

// TorchScript of the submodule that owns one LSTM's weights: dense ones saved, packed ones made
// when loaded, and forward() running the layers unrolled on them.
std::string lstm_module_source(const LstmSite& site, int64_t batch, int64_t sequence_length) {
  const int64_t directions = site.bidirectional ? 2 : 1;
  const int64_t per_unit = site.has_biases ? 4 : 2;
  std::string pack, layers;
  for (int64_t layer = 0; layer < site.layers; ++layer) {
    std::vector<std::string> outputs;
    for (int64_t direction = 0; direction < directions; ++direction) {
      const int64_t unit = layer * directions + direction;
      const int64_t w = unit * per_unit;
      const int64_t features = site.weights[w].size(1);
      pack += fmt::format(
          "    p{0} = mkldnn._reorder_mkldnn_rnn_layer_weight(state[{1}], state[{2}], {3}, {4}, {5}, False, "
          "[{6}, {7}, {8}])\n    packed.append(p{0}[0])\n    packed.append(p{0}[1])\n",
          unit, w, w + 1, site.hidden, py_bool(direction == 1), py_bool(site.has_biases), sequence_length, batch,
          features);
      const std::string b_ih = site.has_biases ? fmt::format("self.dense[{}]", w + 2) : "self.zero_bias";
      const std::string b_hh = site.has_biases ? fmt::format("self.dense[{}]", w + 3) : "self.zero_bias";
      layers += fmt::format(
          "    r{0} = torch.mkldnn_rnn_layer(x, self.packed[{1}], self.packed[{2}], {3}, {4}, h0[{0}], c0[{0}], "
          "{5}, empty, 2, {6}, 1, {7}, False, False, False)\n    hs.append(r{0}[1])\n    cs.append(r{0}[2])\n",
          unit, 2 * unit, 2 * unit + 1, b_ih, b_hh, py_bool(direction == 1), site.hidden, py_bool(site.has_biases));
      outputs.push_back(fmt::format("r{}[0]", unit));
    }
    layers += outputs.size() == 1 ? fmt::format("    x = {}\n", outputs[0])
                                  : fmt::format("    x = torch.cat([{}], -1)\n", fmt::join(outputs, ", "));
  }
  const std::string to_tnc = site.batch_first ? "input.transpose(0, 1).contiguous()" : "input.contiguous()";
  const std::string from_tnc = site.batch_first ? "x.transpose(0, 1)" : "x";
  return fmt::format(R"(
def __getstate__(self) -> List[Tensor]:
    return self.dense

def __setstate__(self, state: List[Tensor]) -> None:
    self.training = False
    self.dense = state
    self.zero_bias = torch.zeros([{hidden4}])
    packed: List[Tensor] = []
{pack}    self.packed = packed

def forward(self, input: Tensor, hx: List[Tensor]) -> Tuple[Tensor, Tensor, Tensor]:
    if input.dim() != 3 or input.dtype != 6:  # 6: float32
        return torch.lstm(input, hx, self.dense, {has_biases}, {layers}, 0.0, False, {bidirectional}, {batch_first})
    x = {to_tnc}
    h0 = hx[0].contiguous()
    c0 = hx[1].contiguous()
    empty: List[int] = []
    hs: List[Tensor] = []
    cs: List[Tensor] = []
{body}    return {from_tnc}, torch.stack(hs), torch.stack(cs)
)",
                     fmt::arg("hidden4", 4 * site.hidden), fmt::arg("pack", pack),
                     fmt::arg("has_biases", py_bool(site.has_biases)), fmt::arg("layers", site.layers),
                     fmt::arg("bidirectional", py_bool(site.bidirectional)),
                     fmt::arg("batch_first", py_bool(site.batch_first)), fmt::arg("to_tnc", to_tnc),
                     fmt::arg("body", layers), fmt::arg("from_tnc", from_tnc));
}

// What define() resolves besides `torch`: `mkldnn`, LibTorch's namespace of oneDNN ops (the source
// importer reads them back as ops.mkldnn.*).
struct MkldnnResolver : torch::jit::NativeResolver {
  std::shared_ptr<torch::jit::SugaredValue> resolveValue(const std::string& name, torch::jit::GraphFunction& function,
                                                         const torch::jit::SourceRange& location) override {
    if (name == "mkldnn") return std::make_shared<torch::jit::BuiltinModule>("mkldnn");
    return NativeResolver::resolveValue(name, function, location);
  }
};

// A submodule name `module` does not have yet.
std::string free_submodule_name(const torch::jit::Module& module) {
  for (int64_t i = 0;; ++i) {
    auto name = fmt::format("mopt_lstm_{}", i);
    if (!module.hasattr(name)) return name;
  }
}

// Replaces the site's aten::lstm with the inlined forward() of a new weight-owning submodule.
void rewrite(torch::jit::Module& module, Graph& graph, const LstmSite& site, int64_t batch) {
  const auto name = free_submodule_name(module);
  torch::jit::Module owner(c10::QualifiedName("__torch__.mopt.PackedLstm"), module._ivalue()->compilation_unit(),
                           /*shouldMangle=*/true);
  owner.register_attribute("training", c10::BoolType::get(), false);
  owner.register_attribute("dense", c10::ListType::ofTensors(), c10::List<at::Tensor>(site.weights));
  owner.register_attribute("packed", c10::ListType::ofTensors(), c10::List<at::Tensor>());
  owner.register_attribute("zero_bias", c10::TensorType::get(), at::Tensor());
  owner.define(lstm_module_source(site, batch, known_sequence_length(site)), std::make_shared<MkldnnResolver>());
  std::vector<at::Tensor> state;
  for (const auto& w : site.weights) state.push_back(w.contiguous());
  owner.run_method("__setstate__", c10::List<at::Tensor>(state));
  module.register_module(name, owner);

  Node* node = site.node;
  torch::jit::Node* call = nullptr;
  {
    // Scoped: the guard restores its insert point (this node) when it ends, so it must end before the
    // node is destroyed.
    torch::jit::WithInsertPoint guard(node);
    Value* owner_value = graph.insertGetAttr(graph.inputs().at(0), name);
    owner_value->setType(owner.type());
    call = graph.insertNode(graph.create(c10::prim::CallMethod, {owner_value, node->input(0), node->input(1)}, 1));
    call->s_(c10::attr::name, "forward");
    call->output()->setType(c10::TupleType::create(
        {c10::TensorType::get(), c10::TensorType::get(), c10::TensorType::get()}));
    auto* unpack = graph.insertNode(graph.createTupleUnpack(call->output()));
    for (size_t k = 0; k < 3; ++k) {
      unpack->output(k)->setType(node->output(k)->type());
      node->output(k)->replaceAllUsesWith(unpack->output(k));
    }
  }
  node->destroy();
  // Inlined, so the outputs nobody reads (hy and cy stacks, mostly) are dropped with dead code.
  torch::jit::inlineCallTo(call, &torch::jit::toGraphFunction(owner.get_method("forward").function()));
}

class PrepackLstmPass : public Pass {
 public:
  const PassInfo& info() const override {
    static const PassInfo info{
        "prepack-lstm",
        "fp32 LSTM layers run oneDNN's RNN kernel on weights packed once when the file loads, not on every call "
        "(x86; freezes first; identical outputs)",
        {ModelFormat::kTorchScript},
        {{"batch", OptionType::kInt, "1", "the batch size the packed layout is chosen for (others still run)"}},
        /*libtorch_runtime_only=*/true};
    return info;
  }

  PassStats run(Model& model, const PassOptions& options, const PassContext&) const override {
    PassStats stats;
    if (!AT_MKLDNN_ENABLED()) {
      stats.details = {{"skipped", "LibTorch was built without oneDNN"}};
      return stats;
    }
    auto& module = model.torchscript();
    const bool froze = freeze_unless_frozen(module, /*optimize_numerics=*/true);
    nlohmann::json rewritten = nlohmann::json::array();
    auto graph = module.get_method("forward").graph();
    std::vector<LstmSite> sites;
    for (auto* node : all_nodes(graph->block())) {
      if (auto site = match_lstm(node)) sites.push_back(*site);
    }
    for (const auto& site : sites) {
      rewrite(module, *graph, site, options.get_int("batch"));
      rewritten.push_back({{"layers", site.layers}, {"hidden", site.hidden}, {"bidirectional", site.bidirectional}});
    }
    torch::jit::EliminateDeadCode(graph);
    model.invalidate_graph_caches();
    stats.rewrites = static_cast<int64_t>(sites.size());
    stats.details = {{"froze_first", froze}, {"lstms", rewritten}};
    return stats;
  }
};

}  // namespace

std::unique_ptr<Pass> make_prepack_lstm_pass() { return std::make_unique<PrepackLstmPass>(); }

}  // namespace mopt
