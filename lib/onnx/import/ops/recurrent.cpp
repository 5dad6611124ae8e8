// LSTM, GRU and RNN (one ONNX node = one layer, forward or bidirectional) as torch.nn.LSTM/GRU/RNN
// layers running aten::lstm/gru/rnn_tanh on real parameters.
//
// ONNX stacks gates as LSTM [i, o, f, c], GRU [z, r, h]; torch as LSTM [i, f, g, o], GRU [r, z, n].
// ONNX bias B = [Wb, Rb] per direction = torch's bias_ih, bias_hh. Outputs: ONNX Y is
// [seq, dirs, batch, H] (layout 0) where torch returns [seq, batch, dirs*H]; Y_h/Y_c are
// [dirs, batch, H] in both. GRU maps only with linear_before_reset=1 (what torch computes).
#include <fmt/format.h>

#include "lib/onnx/import/converter_table.h"

namespace mopt::onnx_import {
namespace {

enum class Cell { kLstm, kGru, kRnn };

// Reorders the gate blocks of a [gates*H, ...] tensor from ONNX's order to torch's.
at::Tensor reorder_gates(const at::Tensor& tensor, Cell cell) {
  if (cell == Cell::kRnn) return tensor;
  auto chunks = tensor.chunk(cell == Cell::kLstm ? 4 : 3, 0);
  if (cell == Cell::kLstm) return at::cat({chunks[0], chunks[2], chunks[3], chunks[1]}, 0);  // iofc -> ifco
  return at::cat({chunks[1], chunks[0], chunks[2]}, 0);                                       // zrh -> rzh
}

template <Cell kCell>
void convert_recurrent(NodeContext& c) {
  const char* names[] = {"LSTM", "GRU", "RNN"};
  const char* name = names[static_cast<int>(kCell)];
  auto* w = c.constant(1);
  auto* r = c.constant(2);
  c.require(w && r, "recurrent weights given as run-time values");
  c.require(!c.has_input(4), "sequence_lens (variable-length batches)");
  c.require(!c.attribute("clip"), "cell clipping");
  c.require(!c.attribute("activations"), "non-default activations");
  if (kCell == Cell::kLstm) {
    c.require(!c.has_input(7), "peephole connections");
    c.require(c.attr_int("input_forget", 0) == 0, "input_forget");
  }
  if (kCell == Cell::kGru) c.require(c.attr_int("linear_before_reset", 0) == 1, "GRU with linear_before_reset=0");
  auto direction = c.attr_string("direction", "forward");
  c.require(direction == "forward" || direction == "bidirectional", "direction " + direction);
  bool bidirectional = direction == "bidirectional";
  int64_t dirs = bidirectional ? 2 : 1;
  int64_t hidden = c.attr_int("hidden_size", r->size(2));
  bool batch_first = c.attr_int("layout", 0) == 1;
  auto* bias = c.constant(3);
  c.require(bias || !c.has_input(3), "recurrent bias given as a run-time value");

  LayerSpec layer;
  layer.type_name = std::string("torch.nn.modules.rnn.") + name;
  layer.name_hint = c.node().input(1);
  std::vector<std::string> flat;
  for (int64_t d = 0; d < dirs; ++d) {
    auto suffix = d == 0 ? std::string("_l0") : std::string("_l0_reverse");
    layer.tensors.push_back({"weight_ih" + suffix, reorder_gates((*w)[d], kCell), d == 0 ? c.node().input(1) : ""});
    layer.tensors.push_back({"weight_hh" + suffix, reorder_gates((*r)[d], kCell), d == 0 ? c.node().input(2) : ""});
    auto gates = (*w)[d].size(0);
    auto b = bias ? (*bias)[d] : at::zeros({2 * gates}, w->options());
    layer.tensors.push_back({"bias_ih" + suffix, reorder_gates(b.slice(0, 0, gates), kCell), d == 0 && bias ? c.node().input(3) : ""});
    layer.tensors.push_back({"bias_hh" + suffix, reorder_gates(b.slice(0, gates, 2 * gates), kCell), ""});
    for (const char* part : {"weight_ih", "weight_hh", "bias_ih", "bias_hh"}) flat.push_back(fmt::format("self.{}{}", part, suffix));
  }
  auto params = fmt::format("[{}]", fmt::join(flat, ", "));
  auto flags = fmt::format("True, 1, 0.0, False, {}, {}", bidirectional ? "True" : "False", batch_first ? "True" : "False");
  auto batch_dim = batch_first ? 0 : 1;
  auto zeros = fmt::format("torch.zeros([{}, input.size({}), {}], dtype=input.dtype)", dirs, batch_dim, hidden);
  // Initial states: ONNX layout 1 keeps them batch-first, torch never does.
  auto state = [&](const std::string& v) { return batch_first ? fmt::format("{}.transpose(0, 1)", v) : v; };
  if (kCell == Cell::kLstm) {
    layer.forward_source = fmt::format(
        "def forward(self, input: Tensor, h0: Optional[Tensor], c0: Optional[Tensor]) -> Tuple[Tensor, Tensor, Tensor]:\n"
        "    h = {0} if h0 is None else {1}\n"
        "    c = {0} if c0 is None else {2}\n"
        "    return torch.lstm(input, [h, c], {3}, {4})\n",
        zeros, state("h0"), state("c0"), params, flags);
  } else {
    layer.forward_source = fmt::format(
        "def forward(self, input: Tensor, h0: Optional[Tensor]) -> Tuple[Tensor, Tensor]:\n"
        "    h = {0} if h0 is None else {1}\n"
        "    return torch.{2}(input, h, {3}, {4})\n",
        zeros, state("h0"), kCell == Cell::kGru ? "gru" : "rnn_tanh", params, flags);
  }
  auto module = c.add_layer(std::move(layer));
  auto result = c.temp();
  auto h0 = c.has_input(5) ? c.input(5) : "None";
  if (kCell == Cell::kLstm) {
    auto c0 = c.has_input(6) ? c.input(6) : "None";
    c.emit(fmt::format("{} = {}({}, {}, {})", result, module, c.input(0), h0, c0));
  } else {
    c.emit(fmt::format("{} = {}({}, {})", result, module, c.input(0), h0));
  }
  if (c.output_used(0)) {
    // torch: [seq, batch, dirs*H] (batch-first: [batch, seq, dirs*H]) -> ONNX [seq, dirs, batch, H] / [batch, seq, dirs, H]
    auto y = fmt::format("{}[0]", result);
    if (batch_first) {
      c.assign(0, fmt::format("{0}.reshape([{0}.size(0), {0}.size(1), {1}, {2}])", y, dirs, hidden));
    } else {
      c.assign(0, fmt::format("{0}.reshape([{0}.size(0), {0}.size(1), {1}, {2}]).transpose(1, 2)", y, dirs, hidden));
    }
  }
  for (int i = 1; i < (kCell == Cell::kLstm ? 3 : 2); ++i) {
    if (c.output_used(i)) c.assign(i, state(fmt::format("{}[{}]", result, i)));
  }
}

}  // namespace

std::vector<ConverterEntry> recurrent_converters() {
  return {
      {"", "LSTM", 1, kMaxOpset, convert_recurrent<Cell::kLstm>},
      {"", "GRU", 1, kMaxOpset, convert_recurrent<Cell::kGru>},
      {"", "RNN", 1, kMaxOpset, convert_recurrent<Cell::kRnn>},
  };
}

}  // namespace mopt::onnx_import
