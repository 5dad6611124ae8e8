// Recurrent layers: aten::lstm, aten::gru and aten::rnn_tanh (nn.LSTM / nn.GRU / nn.RNN, any layers,
// uni- or bidirectional, batch first or not) -> one ONNX LSTM/GRU/RNN node per layer, fed
// sequence-first; their cells (nn.LSTMCell / nn.GRUCell / nn.RNNCell) -> one step of the same node.
//
// PyTorch stacks gates as (i, f, g, o) for LSTM and (r, z, n) for GRU; ONNX as (i, o, f, c) and
// (z, r, h), so weights and biases are reordered. PyTorch's GRU applies the reset gate after the
// hidden projection: ONNX's linear_before_reset = 1. Zero initial states (what nn.LSTM builds when
// no state is passed) are left out, which ONNX defines as zeros; the exporter does not translate
// the aten::zeros (or aten::full of 0) that built them (the entries' ignores_input).
#include <fmt/format.h>

#include <array>
#include <functional>

#include "lib/onnx/export/export_context.h"

namespace mopt::onnx_export {
namespace {

struct RecurrentKind {
  const char* onnx_op;
  int64_t gates;
  std::vector<int64_t> onnx_order;  ///< PyTorch gate index for each ONNX gate slot
};

const RecurrentKind kLstm{"LSTM", 4, {0, 3, 1, 2}};
const RecurrentKind kGru{"GRU", 3, {1, 0, 2}};
const RecurrentKind kRnnTanh{"RNN", 1, {0}};  // ONNX RNN's default activation is Tanh

// [gates*H, ...] in PyTorch's gate order -> ONNX's.
at::Tensor reorder_gates(const at::Tensor& w, const RecurrentKind& kind) {
  auto chunks = w.chunk(kind.gates, 0);
  std::vector<at::Tensor> ordered;
  for (auto i : kind.onnx_order) ordered.push_back(chunks[static_cast<size_t>(i)]);
  return at::cat(ordered, 0);
}

// Whether the initial state is all zeros (ONNX's default when left out): aten::zeros (nn.LSTM's
// own), aten::full(size, 0.) (an imported ONNX ConstantOfShape), or a slice of either (an imported
// multi-layer RNN's per-layer state).
bool recurrent_state_is_zeros(const torch::jit::Node* node) {
  std::function<bool(const torch::jit::Value*)> is_zeros = [&](const torch::jit::Value* v) {
    const auto* n = v->node();
    if (n->kind() == c10::aten::zeros) return true;
    if (n->kind() == c10::aten::slice) return is_zeros(n->input(0));
    if (n->kind() != c10::aten::full) return false;
    auto fill = torch::jit::toIValue(n->input(1));
    return fill && (fill->isDouble() || fill->isInt()) && fill->toScalar().toDouble() == 0.0;
  };
  const auto* hx = node->input(1);
  if (hx->node()->kind() != c10::prim::ListConstruct) return is_zeros(hx);
  for (const auto* state : hx->node()->inputs()) {
    if (!is_zeros(state)) return false;
  }
  return true;
}

// A zero initial state (input 1) is left out of the ONNX node, so what built it is not exported.
bool ignores_zero_state(const torch::jit::Node* node, size_t index) { return index == 1 && recurrent_state_is_zeros(node); }

// A weight or bias given at run time ([gates*H, ...] in PyTorch's gate order) in ONNX's order, with
// a leading direction dim of 1.
std::string runtime_gates(ExportContext& c, const std::string& w, const RecurrentKind& kind) {
  const auto ordered = kind.gates > 1 ? reorder_blocks(c, w, kind.onnx_order) : w;
  auto one = c.fresh("direction_weight");
  c.add_node("Unsqueeze", {ordered, c.add_ints({0}, "axes")}, {one});
  return one;
}

template <typename T>
T constant_or_fail(const std::optional<T>& value, const torch::jit::Node* node, const char* what) {
  if (!value) unsupported(node, fmt::format("{} computed at run time", what));
  return *value;
}

// aten::lstm(input, hx[], params[], has_biases, num_layers, dropout, train, bidirectional, batch_first)
// aten::gru(input, hx, params[], has_biases, num_layers, dropout, train, bidirectional, batch_first)
void translate_recurrent(ExportContext& c, const torch::jit::Node* node, const RecurrentKind& kind) {
  const bool lstm = kind.gates == 4;
  const bool has_biases = constant_or_fail(c.constant_int(node->input(3)), node, "has_biases") != 0;
  const int64_t layers = constant_or_fail(c.constant_int(node->input(4)), node, "num_layers");
  if (c.constant_int(node->input(6)).value_or(1) != 0) unsupported(node, "a recurrent layer in training mode");
  const int64_t directions = constant_or_fail(c.constant_int(node->input(7)), node, "bidirectional") != 0 ? 2 : 1;
  const bool batch_first = constant_or_fail(c.constant_int(node->input(8)), node, "batch_first") != 0;
  const size_t per_direction = has_biases ? 4 : 2;
  const size_t expected = static_cast<size_t>(layers * directions) * per_direction;

  // Weights: constants (a trained layer) become initializers in ONNX's layout; weights computed at
  // run time (an imported ONNX layer whose W, R, B are graph inputs) are reordered in the graph.
  std::vector<at::Tensor> weights;
  std::vector<const torch::jit::Value*> runtime;
  int64_t hidden = 0;
  if (auto params = c.constant(node->input(2)); params && params->isTensorList()) {
    weights = params->toTensorVector();
    if (weights.size() != expected) unsupported(node, "projections (proj_size) or an unexpected weight layout");
    hidden = weights[1].size(1);  // w_hh: [gates*H, H]
  } else {
    const auto* list = node->input(2)->node();
    if (list->kind() != c10::prim::ListConstruct || list->inputs().size() != expected) {
      unsupported(node, "weights computed at run time in an unexpected layout");
    }
    runtime.assign(list->inputs().begin(), list->inputs().end());
    auto recurrent = c.example_sizes(runtime[1]);  // w_hh: [gates*H, H] on the examples
    if (!recurrent || recurrent->size() != 2) unsupported(node, "run-time weights of unknown size");
    hidden = (*recurrent)[1];
  }
  // One layer's W, R and B (or "") as ONNX values: [directions, gates*H, ...] in ONNX's gate order.
  auto layer_weights = [&](int64_t layer) {
    std::array<std::string, 3> names;
    if (runtime.empty()) {
      std::vector<at::Tensor> w, r, b;
      for (int64_t d = 0; d < directions; ++d) {
        const size_t base = static_cast<size_t>(layer * directions + d) * per_direction;
        w.push_back(reorder_gates(weights[base], kind));
        r.push_back(reorder_gates(weights[base + 1], kind));
        if (has_biases) b.push_back(at::cat({reorder_gates(weights[base + 2], kind), reorder_gates(weights[base + 3], kind)}));
      }
      names = {c.add_initializer(at::stack(w).contiguous(), "W"), c.add_initializer(at::stack(r).contiguous(), "R"),
               has_biases ? c.add_initializer(at::stack(b).contiguous(), "B") : ""};
      return names;
    }
    std::array<std::vector<std::string>, 3> parts;
    for (int64_t d = 0; d < directions; ++d) {
      const size_t base = static_cast<size_t>(layer * directions + d) * per_direction;
      parts[0].push_back(runtime_gates(c, c.name(runtime[base]), kind));
      parts[1].push_back(runtime_gates(c, c.name(runtime[base + 1]), kind));
      if (!has_biases) continue;
      auto bias = c.fresh("bias");  // ONNX's B: [input biases, recurrent biases] of each direction
      set_int(c.add_node("Concat", {runtime_gates(c, c.name(runtime[base + 2]), kind), runtime_gates(c, c.name(runtime[base + 3]), kind)},
                         {bias}),
              "axis", 1);
      parts[2].push_back(bias);
    }
    for (size_t i = 0; i < 3; ++i) {
      if (parts[i].empty()) continue;
      names[i] = c.fresh(i == 0 ? "W" : i == 1 ? "R" : "B");
      set_int(c.add_node("Concat", parts[i], {names[i]}), "axis", 0);
    }
    return names;
  };

  // Initial states: [layers*directions, N, H], or none when they are zeros.
  std::vector<std::string> initial;  // h0 (and c0 for LSTM)
  if (!recurrent_state_is_zeros(node)) {
    if (lstm) {
      const auto* list = node->input(1)->node();
      if (list->kind() != c10::prim::ListConstruct || list->inputs().size() != 2) unsupported(node, "hidden state given as a run-time list");
      initial = {c.name(list->input(0)), c.name(list->input(1))};
    } else {
      initial = {c.name(node->input(1))};
    }
  }

  auto x = c.name(node->input(0));
  if (batch_first) {
    auto t = c.fresh("seq_first");
    set_ints(c.add_node("Transpose", {x}, {t}), "perm", {1, 0, 2});
    x = t;
  }
  const auto merge_directions = c.add_ints({0, 0, -1}, "merge_directions");
  std::vector<std::string> final_h, final_c;
  for (int64_t layer = 0; layer < layers; ++layer) {
    const auto [w, r, b] = layer_weights(layer);
    std::vector<std::string> inputs = {x, w, r, b, ""};
    for (const auto& state : initial) {  // this layer's slice of [layers*directions, N, H]
      auto slice = c.fresh("initial_state");
      c.add_node("Slice", {state, c.add_ints({layer * directions}, "start"), c.add_ints({(layer + 1) * directions}, "end"),
                           c.add_ints({0}, "axis")},
                 {slice});
      inputs.push_back(slice);
    }
    while (inputs.back().empty()) inputs.pop_back();  // trailing optional inputs left out
    auto y = c.fresh("y"), y_h = c.fresh("y_h"), y_c = c.fresh("y_c");
    auto& rnn = c.add_node(kind.onnx_op, inputs, lstm ? std::vector<std::string>{y, y_h, y_c} : std::vector<std::string>{y, y_h});
    set_int(rnn, "hidden_size", hidden);
    set_string(rnn, "direction", directions == 2 ? "bidirectional" : "forward");
    if (kind.gates == 3) set_int(rnn, "linear_before_reset", 1);
    final_h.push_back(y_h);
    final_c.push_back(y_c);
    // [T, directions, N, H] -> [T, N, directions*H]: the next layer's input.
    auto moved = c.fresh("y_directions_last");
    set_ints(c.add_node("Transpose", {y}, {moved}), "perm", {0, 2, 1, 3});
    x = c.fresh("layer_output");
    c.add_node("Reshape", {moved, merge_directions}, {x});
  }
  if (batch_first) {
    auto t = c.fresh(node->output(0));
    set_ints(c.add_node("Transpose", {x}, {t}), "perm", {1, 0, 2});
  } else {
    c.bind(node->output(0), x);
  }
  auto states = [&](const std::vector<std::string>& parts, const torch::jit::Value* out) {
    if (out->uses().empty()) return;
    set_int(c.add_node("Concat", parts, {c.fresh(out)}), "axis", 0);
  };
  states(final_h, node->output(1));
  if (lstm) states(final_c, node->output(2));
}

// aten::lstm_cell(input [N, I], hx [h, c], w_ih, w_hh, b_ih?, b_hh?) -> (h', c'), aten::gru_cell and
// aten::rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih?, b_hh?) -> h' (nn.LSTMCell, nn.GRUCell, nn.RNNCell):
// one step of the sequence op, X = input[None] with the states as its initial ones.
void translate_cell(ExportContext& c, const torch::jit::Node* node, const RecurrentKind& kind) {
  const bool lstm = kind.gates == 4;
  if (auto sizes = c.example_sizes(node->input(0)); sizes && sizes->size() != 2) {
    unsupported(node, "an unbatched (1-D) input");
  }
  auto tensor = [&](size_t index, const char* what) {
    auto value = c.constant(node->input(index));
    if (!value || !value->isTensor()) unsupported(node, fmt::format("{} computed at run time", what));
    return value->toTensor();
  };
  const auto w_ih = tensor(2, "the input weights"), w_hh = tensor(3, "the recurrent weights");
  const int64_t hidden = w_hh.size(1);
  std::string bias;
  if (!c.is_none(node->input(4)) || !c.is_none(node->input(5))) {
    auto b = [&](size_t index) { return c.is_none(node->input(index)) ? at::zeros({kind.gates * hidden}) : tensor(index, "a bias"); };
    bias = c.add_initializer(at::cat({reorder_gates(b(4), kind), reorder_gates(b(5), kind)}).unsqueeze(0), "B");
  }
  const auto axis0 = c.add_ints({0}, "axes");
  auto step = [&](const std::string& value, const char* hint) {  // [N, ...] -> [1, N, ...]
    auto out = c.fresh(hint);
    c.add_node("Unsqueeze", {value, axis0}, {out});
    return out;
  };
  std::vector<std::string> inputs = {step(c.name(node->input(0)), "step_input"),
                                     c.add_initializer(reorder_gates(w_ih, kind).unsqueeze(0).contiguous(), "W"),
                                     c.add_initializer(reorder_gates(w_hh, kind).unsqueeze(0).contiguous(), "R"), bias, ""};
  if (lstm) {
    const auto* list = node->input(1)->node();
    if (list->kind() != c10::prim::ListConstruct || list->inputs().size() != 2) {
      unsupported(node, "hidden state given as a run-time list");
    }
    inputs.push_back(step(c.name(list->input(0)), "initial_h"));
    inputs.push_back(step(c.name(list->input(1)), "initial_c"));
  } else {
    inputs.push_back(step(c.name(node->input(1)), "initial_h"));
  }
  auto y_h = c.fresh("y_h"), y_c = c.fresh("y_c");
  auto& rnn = c.add_node(kind.onnx_op, inputs, lstm ? std::vector<std::string>{"", y_h, y_c} : std::vector<std::string>{"", y_h});
  set_int(rnn, "hidden_size", hidden);
  if (kind.gates == 3) set_int(rnn, "linear_before_reset", 1);
  c.add_node("Squeeze", {y_h, axis0}, {c.fresh(node->output(0))});
  if (lstm) c.add_node("Squeeze", {y_c, axis0}, {c.fresh(node->output(1))});
}

void translate_lstm(ExportContext& c, const torch::jit::Node* node) { translate_recurrent(c, node, kLstm); }
void translate_gru(ExportContext& c, const torch::jit::Node* node) { translate_recurrent(c, node, kGru); }
void translate_rnn_tanh(ExportContext& c, const torch::jit::Node* node) { translate_recurrent(c, node, kRnnTanh); }
void translate_lstm_cell(ExportContext& c, const torch::jit::Node* node) { translate_cell(c, node, kLstm); }
void translate_gru_cell(ExportContext& c, const torch::jit::Node* node) { translate_cell(c, node, kGru); }
void translate_rnn_tanh_cell(ExportContext& c, const torch::jit::Node* node) { translate_cell(c, node, kRnnTanh); }

}  // namespace

std::vector<TranslatorEntry> recurrent_translators() {
  return {
      {"aten::lstm", translate_lstm, ignores_zero_state},
      {"aten::gru", translate_gru, ignores_zero_state},
      {"aten::rnn_tanh", translate_rnn_tanh, ignores_zero_state},
      {"aten::lstm_cell", translate_lstm_cell},
      {"aten::gru_cell", translate_gru_cell},
      {"aten::rnn_tanh_cell", translate_rnn_tanh_cell},
  };
}

}  // namespace mopt::onnx_export
