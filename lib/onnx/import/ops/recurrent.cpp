// LSTM, GRU and RNN (one ONNX node = one layer, forward or bidirectional) on aten::lstm/gru/rnn_tanh:
// a torch.nn.LSTM/GRU/RNN-like layer with real parameters when the weights are constants, the
// same call with the flat parameter list built in forward when they are run-time inputs.
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

struct CellShape {
  Cell cell;
  int64_t dirs, hidden;
  bool batch_first;
  std::string flags;  // has_biases, num_layers, dropout, train, bidirectional, batch_first

  int64_t gates() const { return (cell == Cell::kLstm ? 4 : cell == Cell::kGru ? 3 : 1) * hidden; }
  const char* torch_name() const { return cell == Cell::kLstm ? "LSTM" : cell == Cell::kGru ? "GRU" : "RNN"; }
  const char* function() const { return cell == Cell::kLstm ? "lstm" : cell == Cell::kGru ? "gru" : "rnn_tanh"; }
  // ONNX layout 1 keeps states batch-first, torch never does.
  std::string state(const std::string& v) const { return batch_first ? fmt::format("{}.transpose(0, 1)", v) : v; }
};

// Reorders the gate blocks of a [gates*H, ...] tensor from ONNX's order to torch's.
at::Tensor reorder_gates(const at::Tensor& tensor, Cell cell) {
  if (cell == Cell::kRnn) return tensor;
  auto chunks = tensor.chunk(cell == Cell::kLstm ? 4 : 3, 0);
  if (cell == Cell::kLstm) return at::cat({chunks[0], chunks[2], chunks[3], chunks[1]}, 0);  // iofc -> ifco
  return at::cat({chunks[1], chunks[0], chunks[2]}, 0);                                       // zrh -> rzh
}

// Weights known at import: a layer with parameters named as torch.nn names them.
std::string emit_layer_cell(NodeContext& c, const CellShape& s, const at::Tensor& w, const at::Tensor& r,
                            const at::Tensor* bias) {
  LayerSpec layer;
  layer.type_name = std::string("torch.nn.modules.rnn.") + s.torch_name();
  layer.name_hint = c.node().input(1);
  std::vector<std::string> flat;
  for (int64_t d = 0; d < s.dirs; ++d) {
    auto suffix = d == 0 ? std::string("_l0") : std::string("_l0_reverse");
    layer.tensors.push_back({"weight_ih" + suffix, reorder_gates(w[d], s.cell), d == 0 ? c.node().input(1) : ""});
    layer.tensors.push_back({"weight_hh" + suffix, reorder_gates(r[d], s.cell), d == 0 ? c.node().input(2) : ""});
    auto b = bias ? (*bias)[d] : at::zeros({2 * s.gates()}, w.options());
    layer.tensors.push_back({"bias_ih" + suffix, reorder_gates(b.slice(0, 0, s.gates()), s.cell), d == 0 && bias ? c.node().input(3) : ""});
    layer.tensors.push_back({"bias_hh" + suffix, reorder_gates(b.slice(0, s.gates(), 2 * s.gates()), s.cell), ""});
    for (const char* part : {"weight_ih", "weight_hh", "bias_ih", "bias_hh"}) flat.push_back(fmt::format("self.{}{}", part, suffix));
  }
  auto params = fmt::format("[{}]", fmt::join(flat, ", "));
  auto zeros = fmt::format("torch.zeros([{}, input.size({}), {}], dtype=input.dtype)", s.dirs, s.batch_first ? 0 : 1, s.hidden);
  if (s.cell == Cell::kLstm) {
    layer.forward_source = fmt::format(
        "def forward(self, input: Tensor, h0: Optional[Tensor], c0: Optional[Tensor]) -> Tuple[Tensor, Tensor, Tensor]:\n"
        "    h = {0} if h0 is None else {1}\n"
        "    c = {0} if c0 is None else {2}\n"
        "    return torch.lstm(input, [h, c], {3}, {4})\n",
        zeros, s.state("h0"), s.state("c0"), params, s.flags);
  } else {
    layer.forward_source = fmt::format(
        "def forward(self, input: Tensor, h0: Optional[Tensor]) -> Tuple[Tensor, Tensor]:\n"
        "    h = {0} if h0 is None else {1}\n"
        "    return torch.{2}(input, h, {3}, {4})\n",
        zeros, s.state("h0"), s.function(), params, s.flags);
  }
  auto module = c.add_layer(std::move(layer));
  auto result = c.temp();
  auto h0 = c.has_input(5) ? c.input(5) : "None";
  if (s.cell == Cell::kLstm) {
    c.emit(fmt::format("{} = {}({}, {}, {})", result, module, c.input(0), h0, c.has_input(6) ? c.input(6) : "None"));
  } else {
    c.emit(fmt::format("{} = {}({}, {})", result, module, c.input(0), h0));
  }
  return result;
}

// Weights given at run time: the flat parameter list (gates reordered, bias split) built in forward.
std::string emit_runtime_cell(NodeContext& c, const CellShape& s) {
  const char* order = s.cell == Cell::kLstm ? "[0, 2, 3, 1]" : s.cell == Cell::kGru ? "[1, 0, 2]" : "[0]";
  auto gates_of = [&](const std::string& t) { return fmt::format("{}({}, {})", c.helper("_gates"), t, order); };
  auto x = c.input(0), w = c.input(1), r = c.input(2);
  std::vector<std::string> params;
  for (int64_t d = 0; d < s.dirs; ++d) {
    auto b = c.has_input(3) ? fmt::format("{}[{}]", c.input(3), d)
                            : fmt::format("torch.zeros([{}], dtype={}.dtype)", 2 * s.gates(), w);
    params.push_back(gates_of(fmt::format("{}[{}]", w, d)));
    params.push_back(gates_of(fmt::format("{}[{}]", r, d)));
    params.push_back(gates_of(fmt::format("{}[0:{}]", b, s.gates())));
    params.push_back(gates_of(fmt::format("{}[{}:{}]", b, s.gates(), 2 * s.gates())));
  }
  auto state = [&](int i) {
    if (c.has_input(i)) return s.state(c.input(i));
    return fmt::format("torch.zeros([{}, {}.size({}), {}], dtype={}.dtype)", s.dirs, x, s.batch_first ? 0 : 1, s.hidden, x);
  };
  auto result = c.temp();
  auto list = fmt::format("[{}]", fmt::join(params, ", "));
  if (s.cell == Cell::kLstm) {
    c.emit(fmt::format("{} = torch.lstm({}, [{}, {}], {}, {})", result, x, state(5), state(6), list, s.flags));
  } else {
    c.emit(fmt::format("{} = torch.{}({}, {}, {}, {})", result, s.function(), x, state(5), list, s.flags));
  }
  return result;
}

template <Cell kCell>
void convert_recurrent(NodeContext& c) {
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
  CellShape s;
  s.cell = kCell;
  s.dirs = direction == "bidirectional" ? 2 : 1;
  auto r_dims = c.input_dims(2);
  s.hidden = c.attr_int("hidden_size", r_dims && r_dims->size() == 3 ? (*r_dims)[2] : -1);
  c.require(s.hidden > 0, "hidden_size unknown");
  s.batch_first = c.attr_int("layout", 0) == 1;
  s.flags = fmt::format("True, 1, 0.0, False, {}, {}", s.dirs == 2 ? "True" : "False", s.batch_first ? "True" : "False");

  auto *w = c.constant(1), *r = c.constant(2), *bias = c.constant(3);
  const auto result = w && r && (bias || !c.has_input(3)) ? emit_layer_cell(c, s, *w, *r, bias) : emit_runtime_cell(c, s);
  if (c.output_used(0)) {
    // torch: [seq, batch, dirs*H] (batch-first: [batch, seq, dirs*H]) -> ONNX [seq, dirs, batch, H] / [batch, seq, dirs, H]
    auto y = fmt::format("{}[0]", result);
    if (s.batch_first) {
      c.assign(0, fmt::format("{0}.reshape([{0}.size(0), {0}.size(1), {1}, {2}])", y, s.dirs, s.hidden));
    } else {
      c.assign(0, fmt::format("{0}.reshape([{0}.size(0), {0}.size(1), {1}, {2}]).transpose(1, 2)", y, s.dirs, s.hidden));
    }
  }
  for (int i = 1; i < (kCell == Cell::kLstm ? 3 : 2); ++i) {
    if (c.output_used(i)) c.assign(i, s.state(fmt::format("{}[{}]", result, i)));
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
